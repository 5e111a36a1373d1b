"""The submission planner: what a try of the create operator does, given the jobs earlier tries
of its task instance created. Pure logic, no HTTP."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.utils.submission import (
    GENERATION_ANNOTATION,
    TASK_INSTANCE_ANNOTATION,
    Action,
    NameConflictError,
    TaskInstanceIdentity,
    derived_name,
    own_jobs,
    plan_submission,
    retry_name,
    search_name,
    validate_on_name_conflict,
)

BODY: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "resnet-train", "annotations": {"fault-tolerance/job-retry-num": "2"}},
    "algorithm": {"code_dir": "obs://bucket/code/", "boot_file": "obs://bucket/code/train.py"},
    "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
}


def identity(try_number: int = 1, max_tries: int = 3, map_index: int = -1) -> TaskInstanceIdentity:
    return TaskInstanceIdentity("dag", "train", "manual__2026-11-26", map_index, try_number, max_tries)


def job(
    name: str, phase: str, who: TaskInstanceIdentity | None, create_time: int = 1, job_id: str = ""
) -> dict[str, Any]:
    annotations = who.annotations() if who is not None else {}
    return {
        "metadata": {
            "id": job_id or f"id-{name}-{create_time}",
            "name": name,
            "create_time": create_time,
            "annotations": annotations,
        },
        "status": {"phase": phase},
    }


def test_a_first_try_creates_the_job_under_the_users_name_with_its_annotations() -> None:
    before = copy.deepcopy(BODY)
    plan = plan_submission(BODY, identity(), [], None)
    assert plan.action is Action.CREATE and plan.body is not None
    assert plan.body["metadata"]["name"] == "resnet-train"
    assert plan.body["metadata"]["annotations"] == {
        "fault-tolerance/job-retry-num": "2",
        TASK_INSTANCE_ANNOTATION: identity().digest,
        GENERATION_ANNOTATION: "3.0",
    }
    assert before == BODY  # the user's body is never changed


@pytest.mark.parametrize("phase", ["Creating", "Pending", "Running"])
def test_a_retry_reconnects_to_an_active_job_of_its_own(phase: str) -> None:
    earlier = job("resnet-train", phase, identity(try_number=1))
    plan = plan_submission(BODY, identity(try_number=2), [earlier], earlier)
    assert plan.action is Action.RECONNECT and plan.job is earlier


def test_a_retry_does_not_train_again_after_a_completed_job() -> None:
    earlier = job("resnet-train", "Completed", identity(try_number=1))
    plan = plan_submission(BODY, identity(try_number=2), [earlier], earlier)
    assert plan.action is Action.ALREADY_COMPLETED and plan.job is earlier


@pytest.mark.parametrize("phase", ["Failed", "Abnormal", "Terminated", "Terminating"])
def test_a_retry_after_a_failed_or_stopped_job_creates_a_new_one_under_a_derived_name(phase: str) -> None:
    """Terminating too: the job was stopped (by this task's on_kill, mostly: a kill, or a Clear of
    the running task, which Airflow does not tell apart from a retry) and is going away."""
    earlier = job("resnet-train", phase, identity(try_number=1))
    plan = plan_submission(BODY, identity(try_number=2), [earlier], earlier)
    assert plan.action is Action.CREATE and plan.body is not None
    assert plan.body["metadata"]["name"] == f"resnet-train-{identity().digest[:8]}-try2"


def test_a_clear_trains_again_even_after_a_completed_job() -> None:
    """A Clear sets max_tries to try_number + retries: the generation changes."""
    earlier = job("resnet-train", "Completed", identity(try_number=1, max_tries=3))
    plan = plan_submission(BODY, identity(try_number=4, max_tries=6), [earlier], earlier)
    assert plan.action is Action.CREATE and plan.body is not None
    assert plan.body["metadata"]["name"] == f"resnet-train-{identity().digest[:8]}-try4"
    assert plan.body["metadata"]["annotations"][GENERATION_ANNOTATION] == "6.0"
    assert "cleared" in plan.reason


def test_a_name_taken_by_another_task_fails_clearly_by_default() -> None:
    other = job("resnet-train", "Running", identity(map_index=7), job_id="0b1c")
    with pytest.raises(NameConflictError) as caught:
        plan_submission(BODY, identity(), [], other)
    assert isinstance(caught.value, ModelArtsValidationError)
    assert "'resnet-train' already exists (id 0b1c)" in str(caught.value)
    assert "on_name_conflict='suffix'" in str(caught.value)


def test_a_name_taken_by_another_task_gets_a_derived_name_on_request() -> None:
    other = job("resnet-train", "Completed", None)
    plan = plan_submission(BODY, identity(try_number=1), [], other, on_name_conflict="suffix")
    assert plan.action is Action.CREATE and plan.body is not None
    assert plan.body["metadata"]["name"] == f"resnet-train-{identity().digest[:8]}-try1"


def test_derived_names_stay_within_64_characters_and_share_the_search_prefix() -> None:
    long_name = "x" * 64
    name = derived_name(long_name, "-try12")
    assert len(name) == v2.NAME_MAX_LENGTH == 64 and name.endswith("-try12")
    assert name.startswith(search_name({"metadata": {"name": long_name}}))


def test_own_jobs_are_those_of_this_task_instance_newest_first() -> None:
    mine_old = job("resnet-train", "Failed", identity(try_number=1), create_time=1)
    mine_new = job("resnet-train-try2", "Running", identity(try_number=2), create_time=2)
    other_map_index = job("resnet-train-7", "Running", identity(map_index=7), create_time=3)
    stranger = job("resnet-train-x", "Running", None, create_time=4)
    assert own_jobs([mine_old, other_map_index, mine_new, stranger], identity()) == [mine_new, mine_old]


def test_the_task_instance_digest_names_the_instance_not_the_try() -> None:
    assert identity(try_number=1).digest == identity(try_number=5, max_tries=9).digest
    assert identity().digest != identity(map_index=0).digest
    assert len(identity().digest) == 24


def test_on_name_conflict_names_what_is_allowed() -> None:
    with pytest.raises(ModelArtsValidationError, match="on_name_conflict"):
        validate_on_name_conflict("rename")


def test_a_clear_of_a_finished_run_is_seen_even_when_max_tries_did_not_move() -> None:
    """Airflow leaves max_tries as it is when its scheduler cannot find the task; clearing a
    finished run still raises the run's clear_number."""
    earlier = job("resnet-train", "Completed", identity(try_number=1, max_tries=1))
    cleared = TaskInstanceIdentity("dag", "train", "manual__2026-11-26", -1, 2, 1, clear_number=1)
    plan = plan_submission(BODY, cleared, [earlier], earlier)
    assert plan.action is Action.CREATE and "cleared" in plan.reason


def marked_only(job_object: dict[str, Any], who: TaskInstanceIdentity) -> dict[str, Any]:
    """A job as a service that drops unknown annotation keys returns it: the description marker alone."""
    metadata = {**job_object["metadata"], "annotations": {}, "description": f"user text {who.marker()}"}
    return {**job_object, "metadata": metadata}


def test_a_job_marked_only_in_its_description_is_this_task_instances() -> None:
    mine = marked_only(job("resnet-train", "Running", identity()), identity())
    other = marked_only(job("resnet-train-7", "Running", identity(map_index=7)), identity(map_index=7))
    assert own_jobs([mine, other], identity()) == [mine]
    plan = plan_submission(BODY, identity(try_number=2), [mine], mine)
    assert plan.action is Action.RECONNECT and plan.job is mine and plan.stop == ()


def test_the_create_body_carries_the_marker_after_the_users_description() -> None:
    body = {**BODY, "metadata": {**BODY["metadata"], "description": "nightly"}}
    plan = plan_submission(body, identity(), [], None)
    assert plan.body is not None and plan.body["metadata"]["description"] == f"nightly {identity().marker()}"


@pytest.mark.parametrize("phase", ["Creating", "Pending", "Running"])
def test_a_clear_that_finds_the_earlier_job_active_plans_to_stop_it_first(phase: str) -> None:
    earlier = job("resnet-train", phase, identity(try_number=1, max_tries=0))
    cleared = identity(try_number=2, max_tries=1)  # a Clear moved max_tries
    plan = plan_submission(BODY, cleared, [earlier], earlier)
    assert plan.action is Action.CREATE and plan.stop == (earlier,)


@pytest.mark.parametrize("phase", ["Completed", "Failed", "Terminating", "Terminated"])
def test_a_clear_stops_nothing_that_is_not_running(phase: str) -> None:
    earlier = job("resnet-train", phase, identity(try_number=1, max_tries=0))
    plan = plan_submission(BODY, identity(try_number=2, max_tries=1), [earlier], earlier)
    assert plan.action is Action.CREATE and plan.stop == ()


def test_older_active_jobs_are_stopped_even_when_a_newer_one_is_reconnected_to() -> None:
    old = job("resnet-train", "Running", identity(try_number=1, max_tries=0), create_time=1)
    new = job("resnet-train-abc-try2", "Running", identity(try_number=2, max_tries=1), create_time=2)
    plan = plan_submission(BODY, identity(try_number=3, max_tries=1), [new, old], old)
    assert plan.action is Action.RECONNECT and plan.job is new and plan.stop == (old,)


def test_a_copy_of_the_job_under_another_name_is_not_this_task_instances() -> None:
    """A console copy, or the same body submitted by hand, keeps the description and its marker."""
    mine = marked_only(job("resnet-train", "Running", identity()), identity())
    copied = marked_only(job("resnet-train-copy", "Running", identity(), create_time=2), identity())
    retried = marked_only(
        job(retry_name("resnet-train", identity(try_number=2)), "Running", identity(), create_time=3), identity()
    )
    assert own_jobs([mine, copied, retried], identity(), "resnet-train") == [retried, mine]
    plan = plan_submission(
        BODY, identity(try_number=3, max_tries=9), own_jobs([copied], identity(), "resnet-train"), None
    )
    assert plan.stop == () and plan.action is Action.CREATE  # the copy is neither stopped nor adopted


def test_a_derived_name_cut_to_64_characters_is_still_recognised() -> None:
    long_name = "x" * 64
    derived = marked_only(job(retry_name(long_name, identity(try_number=12)), "Running", identity()), identity())
    assert own_jobs([derived], identity(), long_name) == [derived]
