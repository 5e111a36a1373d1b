"""ModelArtsHook's v2 lifecycle calls against the emulator over real HTTP: create (and what one
create makes when its answer is lost), find by name, terminate, delete, the task list, and
following a task's AOM log from its first line to the end.

Everything here is written to the documented behaviour (CreateTrainingJob, StopTrainingJob,
DeleteTrainingJob, ListTrainingJobTasks, ShowTrainingJobLogsFromAom), not to the emulator's code:
the emulator reads the same docs on its own, so each checks the other. Request counts are the
emulator's own statistics.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator, airflow_connection
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import (
    ModelArtsDuplicateJobNameError,
    ModelArtsJobEndedError,
    ModelArtsNotFoundError,
    ModelArtsRequestRejectedError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.conftest import api_requests

FAST_TIMEOUT_CONN_ID = "modelarts_fast_timeout"
# The emulated seconds a created job is given to finish: its default timeline is a few seconds.
MAX_EMULATED_STEPS = 600


def _name(prefix: str = "hook12") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _body(name: str, node_count: int = 1) -> dict[str, Any]:
    """A create body shaped like the CreateTrainingJob example (code_dir + boot_file)."""
    return {
        "kind": "job",
        "metadata": {"name": name, "description": "issue 12 hook test"},
        "algorithm": {
            "code_dir": "obs://bucket/code/",
            "boot_file": "obs://bucket/code/train.py",
            # The engine id of the docs' engine list example (GET .../training-job-engines).
            "engine": {"engine_id": "pytorch-cp36-1.4.0-v2"},
            "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": "obs://bucket/data/"}}}],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "obs://bucket/out/"}}}],
            "environments": {"EPOCHS": "3"},
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": node_count}},
    }


@pytest.fixture
def created(emu: ModelArtsEmulator) -> Iterator[list[str]]:
    """Ids of v2 jobs a test made; deleted afterwards so every test sees the same project."""
    ids: list[str] = []
    yield ids
    for job_id in ids:
        # Whatever the control call raises for a job the test already deleted.
        with contextlib.suppress(Exception):
            emu.delete_training_job(job_id)


def _jobs_named(emu: ModelArtsEmulator, name: str) -> list[dict[str, Any]]:
    """Jobs of this exact name, asked with a fresh hook so the test's request counts stay exact."""
    hook = ModelArtsHook("modelarts_default", retry_limit=0)
    try:
        return hook.find_training_jobs_by_name(name)
    finally:
        hook.close()


def _posts_to(emu: ModelArtsEmulator, suffix: str) -> int:
    """POSTs to a v2 path ending in ``suffix`` (not v1's ``/v1/.../training-jobs``, which other
    tests' leftover work could still be sending)."""
    return sum(
        1
        for entry in emu.stats()["requests"]
        if entry["method"] == "POST" and entry["path"].startswith("/v2/") and entry["path"].endswith(suffix)
    )


def _id(job: dict[str, Any]) -> str:
    return str(v2.job_row(job)["id"])


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------


def test_create_answers_the_job_object_and_the_job_exists(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    name = _name()
    job = hook.create_training_job(_body(name, node_count=2))
    created.append(_id(job))
    row = v2.job_row(job)
    assert row["name"] == name and row["node_count"] == 2
    assert v2.output_obs_urls(job) == {"train_url": "obs://bucket/out/"}
    assert api_requests(emu) == 1
    assert emu.stats()["requests"][-1]["status"] == 201
    assert v2.job_row(hook.get_training_job(row["id"]))["name"] == name
    assert [_id(found) for found in hook.find_training_jobs_by_name(name)] == [row["id"]]


def test_a_bad_body_sends_nothing(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    body = _body(_name())
    body["algorithm"]["id"] = "algo-1"  # a second way to name the algorithm
    with pytest.raises(ModelArtsValidationError) as error:
        hook.create_training_job(body)
    assert error.value.parameter == "job.algorithm"
    assert api_requests(emu) == 0


def test_a_taken_name_is_a_duplicate_name_error_and_no_second_job(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    name = _name()
    created.append(_id(hook.create_training_job(_body(name))))
    emu.reset()
    with pytest.raises(ModelArtsDuplicateJobNameError) as error:
        hook.create_training_job(_body(name))
    assert (error.value.job_name, error.value.http_status, error.value.error_code) == (name, 400, "ModelArts.2751")
    assert api_requests(emu) == 1  # never resent
    assert len(_jobs_named(emu, name)) == 1


def test_a_create_whose_answer_is_dropped_makes_exactly_one_job(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    name = _name()
    emu.add_fault(kind="drop_mid", count=1, path_contains="/training-jobs")
    job = hook.create_training_job(_body(name))
    created.append(_id(job))
    assert v2.job_row(job)["name"] == name
    # The create (served, its answer cut off) and one search that found the job: no resend.
    assert api_requests(emu) == 2
    assert _posts_to(emu, "/training-jobs") == 1 and _posts_to(emu, "/training-job-searches") == 1
    assert [_id(found) for found in _jobs_named(emu, name)] == [_id(job)]


@pytest.mark.parametrize(
    ("after", "creates"),
    [(True, 1), (False, 2)],
    ids=["job-made-then-answer-late", "request-late-then-job-made"],
)
def test_a_create_answered_after_the_timeout_makes_exactly_one_job(
    emu: ModelArtsEmulator, created: list[str], monkeypatch: pytest.MonkeyPatch, after: bool, creates: int
) -> None:
    connection = airflow_connection(
        emu.url, emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY, timeout=0.5
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{FAST_TIMEOUT_CONN_ID.upper()}", json.dumps(connection))
    hook = ModelArtsHook(FAST_TIMEOUT_CONN_ID, retry_delay=0.01, retry_max_delay=0.05)
    name = _name()
    delay = 1.5
    emu.add_fault(kind="slow", delay=delay, after=after, count=1, path_contains="/training-jobs")
    try:
        job = hook.create_training_job(_body(name))
    finally:
        hook.close()
    created.append(_id(job))
    # Let the slow attempt finish on the emulator's side (without ``after`` it reaches the
    # service only now, and finds the name taken by the resend).
    time.sleep(delay + 0.5)
    assert [_id(found) for found in _jobs_named(emu, name)] == [_id(job)]
    # after=True: the job existed when the search looked, so no resend. Without it: the search
    # found nothing, so the create was sent again once.
    requests_seen = [(entry["method"], entry["path"], entry["status"]) for entry in emu.stats()["requests"]]
    assert _posts_to(emu, "/training-jobs") == creates, requests_seen


def test_a_gateway_error_before_the_service_is_checked_then_resent_once(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    name = _name()
    emu.add_fault(kind="status", status=502, count=1, path_contains="/training-jobs")
    job = hook.create_training_job(_body(name))
    created.append(_id(job))
    # 502 (nothing made: the fault answers in place of the service), one search, one resend.
    assert [entry["status"] for entry in emu.stats()["requests"]] == [502, 200, 201]
    assert [_id(found) for found in _jobs_named(emu, name)] == [_id(job)]


def test_a_duplicate_name_after_a_lost_answer_of_the_same_call_returns_our_job(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first attempt creates the job but its answer is lost, and the first search does not
    # list the job yet (a lagging index, played by hiding it once): the resend gets 2751.
    name = _name()
    real_find = hook.find_training_jobs_by_name
    lagging = [True]

    def find(job_name: str, workspace_id: str | None = None) -> list[dict[str, Any]]:
        found = real_find(job_name, workspace_id)
        if lagging.pop() if lagging else False:
            return []
        return found

    monkeypatch.setattr(hook, "find_training_jobs_by_name", find)
    emu.add_fault(kind="drop_mid", count=1, path_contains="/training-jobs")
    job = hook.create_training_job(_body(name))
    created.append(_id(job))
    assert [entry["status"] for entry in emu.stats()["requests"] if entry["method"] == "POST"][-2:] == [400, 200]
    assert [_id(found) for found in _jobs_named(emu, name)] == [_id(job)]


# ---------------------------------------------------------------------------------------------
# Terminate, delete, tasks
# ---------------------------------------------------------------------------------------------


def test_terminate_twice_the_second_is_job_ended(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    job_id = _id(hook.create_training_job(_body(_name())))
    created.append(job_id)
    emu.reset()
    terminated = hook.terminate_training_job(job_id)
    assert _id(terminated) == job_id
    assert v2.phase_of(terminated) in {"Terminating", "Terminated"}
    assert emu.stats()["requests"][-1]["status"] == 202
    emu.advance_time(60)
    assert v2.phase_of(hook.get_training_job(job_id)) == "Terminated"
    with pytest.raises(ModelArtsJobEndedError) as error:
        hook.terminate_training_job(job_id)
    assert (error.value.training_job_id, error.value.http_status, error.value.error_code) == (
        job_id,
        409,
        "ModelArts.2796",
    )
    assert api_requests(emu) == 3  # terminate, show, terminate: the 409 is not retried


def test_terminating_a_missing_job_is_not_found(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    with pytest.raises(ModelArtsNotFoundError):
        hook.terminate_training_job(str(uuid.uuid4()))
    assert api_requests(emu) == 1


def test_delete_removes_the_job(hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]) -> None:
    job_id = _id(hook.create_training_job(_body(_name())))
    created.append(job_id)
    emu.reset()
    assert hook.delete_training_job(job_id) is None
    assert [(entry["method"], entry["status"]) for entry in emu.stats()["requests"]] == [("DELETE", 202)]
    with pytest.raises(ModelArtsNotFoundError):
        hook.get_training_job(job_id)
    with pytest.raises(ModelArtsNotFoundError):
        hook.delete_training_job(job_id)


def test_the_task_list_names_one_worker_per_node(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    job_id = _id(hook.create_training_job(_body(_name(), node_count=2)))
    created.append(job_id)
    _run_until(hook, emu, job_id, {"Running", "Completed"})
    tasks = hook.list_training_job_tasks(job_id)
    assert sorted(task["task"] for task in tasks) == ["worker-0", "worker-1"]
    assert all({"task", "ip", "host_ip", "schedule_count"} <= task.keys() for task in tasks)


# ---------------------------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------------------------


def _run_until(hook: ModelArtsHook, emu: ModelArtsEmulator, job_id: str, phases: set[str]) -> dict[str, Any]:
    for _ in range(MAX_EMULATED_STEPS):
        job = hook.get_training_job(job_id)
        if v2.phase_of(job) in phases:
            return job
        emu.advance_time(1)
    pytest.fail(f"job {job_id} never reached {sorted(phases)}")


def test_no_log_yet_is_none_not_an_error(hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]) -> None:
    job = hook.create_training_job(_body(_name()))
    created.append(_id(job))
    assert v2.phase_of(job) in {"Creating", "Pending"}
    emu.reset()
    assert hook.read_training_job_log(_id(job), "worker-0") is None
    assert [(entry["method"], entry["status"]) for entry in emu.stats()["requests"]] == [("GET", 204)]
    cursor, lines = hook.follow_training_job_log(_id(job), "worker-0")
    assert (cursor, lines) == (v2.TaskLogCursor(), [])


def test_following_a_log_to_the_end_gets_every_line_once_in_order(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    job_id = _id(hook.create_training_job(_body(_name(), node_count=2)))
    created.append(job_id)
    tasks = ("worker-0", "worker-1")
    cursors = {task: v2.TaskLogCursor() for task in tasks}
    followed: dict[str, list[str]] = {task: [] for task in tasks}
    reads_with_lines = 0
    for _ in range(MAX_EMULATED_STEPS):
        ended = v2.is_terminal_phase(v2.phase_of(hook.get_training_job(job_id)) or "")
        for task in tasks:
            cursors[task], lines = hook.follow_training_job_log(job_id, task, cursors[task])
            followed[task].extend(lines)
            reads_with_lines += bool(lines)
        if ended:
            break
        emu.advance_time(0.5)
    else:
        pytest.fail("the job never ended")
    # The log grew while the job ran, so it took several reads with new lines.
    assert reads_with_lines > len(tasks)
    for task in tasks:
        # Nothing more comes once the job ended and everything was read.
        cursors[task], more = hook.follow_training_job_log(job_id, task, cursors[task])
        assert more == []
        whole = hook.read_training_job_log(job_id, task, lines=500, order="asc")
        assert whole is not None and 0 < whole.line_count < 500
        assert followed[task] == whole.lines()
        assert cursors[task].lines_read == len(followed[task])


def test_a_follower_that_starts_after_the_job_ended_still_gets_every_line(
    hook: ModelArtsHook, emu: ModelArtsEmulator, created: list[str]
) -> None:
    job_id = _id(hook.create_training_job(_body(_name())))
    created.append(job_id)
    _run_until(hook, emu, job_id, {"Completed", "Failed", "Terminated", "Abnormal"})
    whole = hook.read_training_job_log(job_id, "worker-0", lines=500, order="asc")
    assert whole is not None and 3 < whole.line_count < 500
    emu.reset()
    # Pages of 3: the first page is full, so older lines may exist and are read first.
    cursor, lines = hook.follow_training_job_log(job_id, "worker-0", v2.TaskLogCursor(page_size=3))
    first_call_requests = api_requests(emu)
    for _ in range(whole.line_count):
        cursor, more = hook.follow_training_job_log(job_id, "worker-0", cursor)
        lines += more
    assert lines == whole.lines()
    assert cursor.lines_read == whole.line_count
    # One asc page, then at most one desc page per 3 older lines, plus one that finds the start.
    assert first_call_requests <= 2 + -(-(whole.line_count - 3) // 3)


def _broken(change: str) -> dict[str, Any]:
    body = _body(_name("refused"))
    algorithm, resource = body["algorithm"], body["spec"]["resource"]
    if change == "name":
        body["metadata"]["name"] = "train.resnet"
    elif change == "node_count":
        resource["node_count"] = 0
    elif change == "two algorithm ways":
        algorithm["id"] = "algo-1"
    elif change == "half an algorithm way":
        del algorithm["boot_file"]
    elif change == "no flavor or pool":
        body["spec"]["resource"] = {"node_count": 1}
    elif change == "two engine ways":
        algorithm["engine"]["image_url"] = "swr.example/team/train:1"
    elif change == "environments as a list":
        algorithm["environments"] = [{"EPOCHS": "3"}]
    elif change == "input without a name":
        del algorithm["inputs"][0]["name"]
    elif change == "description":
        body["metadata"]["description"] = "d" * 257
    return body


@pytest.mark.parametrize(
    "change",
    [
        "name",
        "node_count",
        "two algorithm ways",
        "half an algorithm way",
        "no flavor or pool",
        "two engine ways",
        "environments as a list",
        "input without a name",
        "description",
    ],
)
def test_a_body_the_client_refuses_the_service_refuses_too(
    hook: ModelArtsHook, emu: ModelArtsEmulator, change: str
) -> None:
    # The client and the emulator read the create docs independently: the body the client stops
    # before sending, sent raw, gets the service's own 400.
    body = _broken(change)
    with pytest.raises(ModelArtsValidationError):
        v2.validate_job_create(body)
    path = v2.training_jobs_path(hook.settings.project_id)
    with pytest.raises(ModelArtsRequestRejectedError) as error:
        hook.request("POST", path, json_body=body, idempotent=False, error_table=v2.ERROR_TABLE)
    assert error.value.http_status == 400
    if change != "name":  # a name the search would refuse too
        assert _jobs_named(emu, body["metadata"]["name"]) == []
