"""Regression tests for the bugs an independent review proved in the create operator (issue 12),
each as the reviewer reproduced it: retry names unique per task instance, one workspace for create
and lookups, a Clear of a running task, a deferral that times out, logs drained despite a failed
read, misspelt xcom_fields, the same verdict deferred and in the worker for a job that is gone,
and log requests paced by the operator's own poll_interval."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.operators import training_job_create
from airflow_provider_modelarts.operators.training_job_create import (
    ModelArtsCreateTrainingJobOperator,
    ModelArtsTrainingJobFailedError,
)
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.version_compat import TaskDeferralTimeout
from tests.integration.airflow_context import TaskInstanceRuns
from tests.integration.test_create_operator import CONN_ID, _run_trigger, body, printed_lines
from tests.log_capture import capture_task_logs

RUNS = [("Creating", 2), ("Pending", 2), ("Running", 600), ("Completed", None)]
FAILS = [("Creating", 1), ("Pending", 1), ("Running", 3), ("Failed", None)]
SECOND_WORKSPACE = "5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b"  # a workspace of the emulated project


@pytest.fixture(autouse=True)
def emulator_sleep(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_job_create, "sleep", emu.advance_time)


def op(name: str, **kwargs: Any) -> ModelArtsCreateTrainingJobOperator:
    kwargs.setdefault("poll_interval", 5)
    return ModelArtsCreateTrainingJobOperator(task_id="train", job=body(name), modelarts_conn_id=CONN_ID, **kwargs)


def runs_of(run_id: str = "manual__a", **kwargs: Any) -> TaskInstanceRuns:
    return TaskInstanceRuns(task_id="train", run_id=run_id, **kwargs)


# -- 1. retry names are unique to the task instance ------------------------------------------------


def test_retries_of_two_runs_sharing_a_name_never_collide(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-sfx", FAILS, exit_code=1, message="boom")
    names = []
    for run_id in ("manual__a", "manual__b"):
        runs = runs_of(run_id, retries=1)
        for _ in range(2):
            with pytest.raises(ModelArtsTrainingJobFailedError):
                op("rv-sfx", on_name_conflict="suffix", print_log=False).execute(runs.context())
            runs.retry()
        names += [job.name for job in emu.app.training_jobs.jobs.values() if job.name.startswith("rv-sfx")]
    assert len(set(names)) == 4 and all(re.fullmatch(r"rv-sfx(-[0-9a-f]{8}-try[12])?", name) for name in names)


# -- 2. one workspace for the create, the lookups and the shared search ----------------------------


def test_the_job_is_created_in_the_operators_workspace(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-ws", RUNS)
    created = op("rv-ws-1", workspace_id=SECOND_WORKSPACE, wait_for_completion=False).execute(runs_of().context())
    assert emu.app.training_jobs.jobs[created["id"]].workspace_id == SECOND_WORKSPACE


def test_a_body_workspace_is_where_the_lookups_search(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-wsb", RUNS)
    job = body("rv-wsb-1")
    job["metadata"]["workspace_id"] = SECOND_WORKSPACE
    kwargs: dict[str, Any] = {
        "task_id": "train",
        "job": job,
        "modelarts_conn_id": CONN_ID,
        "on_name_conflict": "suffix",
    }
    ModelArtsCreateTrainingJobOperator(**kwargs, wait_for_completion=False).execute(runs_of("manual__a").context())
    second = ModelArtsCreateTrainingJobOperator(**kwargs, wait_for_completion=False).execute(
        runs_of("manual__b").context()
    )
    assert second["name"] != "rv-wsb-1"  # the holder was seen, in the body's workspace


def test_a_lost_create_answer_in_a_workspace_still_makes_one_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-wsd", RUNS)
    emu.add_fault("drop_mid", count=1, path_contains="/training-jobs")
    created = op(
        "rv-wsd-1", workspace_id=SECOND_WORKSPACE, wait_for_completion=False, modelarts_retry_delay=0.01
    ).execute(runs_of().context())
    assert created["name"] == "rv-wsd-1"
    assert [job.name for job in emu.app.training_jobs.jobs.values() if job.name == "rv-wsd-1"] == ["rv-wsd-1"]


def test_a_body_workspace_that_contradicts_the_operators_is_refused(emu: ModelArtsEmulator) -> None:
    job = body("rv-wsx-1")
    job["metadata"]["workspace_id"] = "0"
    task = ModelArtsCreateTrainingJobOperator(
        task_id="train", job=job, modelarts_conn_id=CONN_ID, workspace_id=SECOND_WORKSPACE
    )
    with pytest.raises(ModelArtsValidationError, match=r"job\.metadata\.workspace_id"):
        task.execute(runs_of().context())


# -- 3. a Clear of a running task (Airflow keeps max_tries: RESTARTING) -----------------------------


def test_a_clear_of_a_running_task_trains_again_when_on_kill_terminated_the_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-clr", RUNS)
    runs = runs_of(retries=0)
    first = op("rv-clr-a", wait_for_completion=False)
    created = first.execute(runs.context())
    first.on_kill()  # the Clear kills the running task: its job is Terminating
    runs.try_number += 1  # what Airflow does for a running task instance: max_tries kept
    runs.xcom.clear()
    result = op("rv-clr-a").execute(runs.context())
    assert result["id"] != created["id"] and result["phase"] == "Completed"


# -- 4. a deferral is bounded by execution_timeout, and its timeout terminates the job ---------------


def test_the_deferral_carries_the_rest_of_execution_timeout(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-dto", RUNS)
    with pytest.raises(TaskDeferred) as deferred:
        op("rv-dto-a", deferrable=True, execution_timeout=timedelta(minutes=30)).execute(runs_of().context())
    assert deferred.value.timeout is not None and timedelta(minutes=29) < deferred.value.timeout <= timedelta(
        minutes=30
    )


def test_a_deferral_timeout_terminates_the_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-dto", RUNS)
    runs = runs_of()
    with pytest.raises(TaskDeferred):
        op("rv-dto-b", deferrable=True, execution_timeout=timedelta(minutes=30)).execute(runs.context())
    job_id = runs.xcom["training_job_id"]
    runs.resume()
    with pytest.raises(TaskDeferralTimeout):
        op("rv-dto-b", deferrable=True).resume_execution("__fail__", {"error": "Trigger timeout"}, runs.context())
    assert [entry["status"] for entry in emu.terminations(job_id)] == [202]


# -- 5. one failed log read at the end loses no line ----------------------------------------------


def test_one_failed_log_read_at_the_end_loses_no_lines(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emu.set_create_plan(
        "rv-drain",
        [("Creating", 2), ("Pending", 2), ("Running", 10), ("Completed", None)],
        logs={"worker-0": ["a1", "a2", "a3"], "worker-1": ["b1", "b2", "b3"]},
    )
    job = body("rv-drain-1")
    job["spec"]["resource"]["node_count"] = 2
    task = ModelArtsCreateTrainingJobOperator(
        task_id="train", job=job, modelarts_conn_id=CONN_ID, poll_interval=60, modelarts_retry_limit=0
    )

    def sleep_then_fault(seconds: float) -> None:  # the next check sees the job ended; its log read fails once
        emu.advance_time(seconds)
        emu.add_fault("status", count=1, path_contains="/logs/worker-0", status=503)

    monkeypatch.setattr(training_job_create, "sleep", sleep_then_fault)
    with capture_task_logs() as entries:
        result = task.execute(runs_of().context())
    assert result["phase"] == "Completed"
    expected = ["[worker-0] a1", "[worker-0] a2", "[worker-0] a3", "[worker-1] b1", "[worker-1] b2", "[worker-1] b3"]
    printed = printed_lines(entries)
    for task in ("worker-0", "worker-1"):  # every line, in order per task (the tasks interleave)
        assert [line for line in printed if line.startswith(f"[{task}]")] == [e for e in expected if task in e]


# -- 6. a misspelt xcom_fields name warns ----------------------------------------------------------


def test_a_misspelt_xcom_field_warns() -> None:
    task = ModelArtsCreateTrainingJobOperator(task_id="t", job=body("rv-xf"), xcom_fields=["id", "phse"])
    job = {"metadata": {"id": "3f1c1a3e-0000-4000-8000-000000000001", "name": "x"}, "status": {"phase": "Completed"}}
    with capture_task_logs() as entries:
        value = task._result(job)
    assert value == {"id": job["metadata"]["id"]}
    assert any("'phse'" in str(entry["event"]) and "'phase'" in str(entry["event"]) for entry in entries)


# -- 7. a job gone mid-wait: the same verdict deferred as in the worker ----------------------------


def test_a_job_deleted_mid_wait_fails_without_retries_in_both_modes(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.set_create_plan("rv-del", RUNS)
    runs = runs_of(retries=2)

    def sleep_and_delete(seconds: float) -> None:
        emu.app.training_jobs.delete(runs.xcom["training_job_id"])

    monkeypatch.setattr(training_job_create, "sleep", sleep_and_delete)
    with pytest.raises(AirflowFailException):
        op("rv-del-sync", print_log=False).execute(runs.context())

    monkeypatch.setattr("airflow_provider_modelarts.polling.MIN_ROUND_SPACING", 0.05)
    deferred_runs = runs_of("manual__b", retries=2)
    task = op("rv-del-defer", poll_interval=0.1, deferrable=True, print_log=False)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(deferred_runs.context())
    _, kwargs = deferred.value.trigger.serialize()
    emu.app.training_jobs.delete(deferred_runs.xcom["training_job_id"])
    event = asyncio.run(_run_trigger(ModelArtsTrainingJobPhaseTrigger(**kwargs), emu))
    deferred_runs.resume()
    with pytest.raises(AirflowFailException):
        task.execute_complete(deferred_runs.context(), event)


# -- 8. log requests follow the operator's poll_interval, not the shared rounds --------------------


def test_log_requests_respect_the_operators_poll_interval(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_provider_modelarts.polling.MIN_ROUND_SPACING", 0.05)
    emu.set_create_plan(
        "rv-pace",
        [("Creating", 1), ("Pending", 1), ("Running", 3600), ("Completed", None)],
        logs={"worker-0": [[float(i), f"line {i}"] for i in range(3000)]},
    )
    with pytest.raises(TaskDeferred) as deferred:
        op("rv-pace-1", deferrable=True, poll_interval=5).execute(runs_of().context())
    _, kwargs = deferred.value.trigger.serialize()
    kwargs["log_xcom"] = None  # no Airflow metadata database here: the follower's state stays in memory
    job_id = kwargs["training_job_id"]
    emu.advance_time(10)  # the job is Running and logging
    other = emu.create_training_job("rv-pace-other", [("Running", None)])
    sensor_trigger = ModelArtsTrainingJobPhaseTrigger(
        training_job_id=other["id"],
        target_phases=["Completed"],
        failure_phases=["Failed"],
        modelarts_conn_id=CONN_ID,
        poll_interval=0.25,
    )
    create_trigger = ModelArtsTrainingJobPhaseTrigger(**kwargs)
    emu.reset()

    async def run_both(seconds: float) -> None:
        async def first_event(trigger: ModelArtsTrainingJobPhaseTrigger) -> None:
            async for _ in trigger.run():
                return

        tasks = [asyncio.ensure_future(first_event(trigger)) for trigger in (create_trigger, sensor_trigger)]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run_both(3.0))
    log_requests = [entry for entry in emu.stats()["requests"] if f"{job_id}/logs/" in entry["path"]]
    assert len(log_requests) == 1  # one task, one poll within its 5 s interval


# -- second review: mapped tasks sharing a name, running in parallel --------------------------------


@pytest.mark.parametrize("on_name_conflict", ["suffix", "fail"])
def test_a_name_taken_between_the_lookup_and_the_create_follows_on_name_conflict(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, on_name_conflict: str
) -> None:
    """Map index 1 has searched (the name was free) when map index 0 creates under that name."""
    from airflow_provider_modelarts.exceptions import ModelArtsDuplicateJobNameError
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from tests.integration.airflow_context import TaskStateStore

    name = f"rv-race-{on_name_conflict}"
    emu.set_create_plan(name, RUNS)
    store = TaskStateStore()
    real_create = ModelArtsHook.create_training_job
    sibling: list[dict[str, Any]] = []
    started: list[bool] = []

    def mapped(index: int) -> tuple[ModelArtsCreateTrainingJobOperator, dict[str, Any]]:
        task = op(name, on_name_conflict=on_name_conflict, wait_for_completion=False)
        return task, TaskInstanceRuns(task_id="train", map_index=index, store=store).context()

    def create_after_sibling(self: ModelArtsHook, job: Any) -> dict[str, Any]:
        if not started:  # the first create is map index 1's: map index 0 gets in first
            started.append(True)
            task, context = mapped(0)
            sibling.append(task.execute(context))
        return real_create(self, job)

    monkeypatch.setattr(ModelArtsHook, "create_training_job", create_after_sibling)
    task, context = mapped(1)
    if on_name_conflict == "fail":
        with pytest.raises(ModelArtsDuplicateJobNameError):
            task.execute(context)
        return
    second = task.execute(context)
    assert sibling[0]["name"] == name
    assert re.fullmatch(rf"{name}-[0-9a-f]{{8}}-try1", second["name"]) and second["id"] != sibling[0]["id"]
