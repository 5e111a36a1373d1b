"""``ModelArtsCreateTrainingJobOperator``: never two active jobs for one task instance, and every
log line printed, across crashes, Clears and kills (issue 16), over real HTTP against the emulator.

The emulator keeps only the annotation keys the API reference lists (its default): the operator's
own annotations are dropped, as a service reading the docs strictly would, so a try can find its
earlier jobs only by the marker at the end of their description (or Airflow 3.3's task state
store, which these tests remove where they say so).
"""

from __future__ import annotations

import re
import signal
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.operators import training_job_create
from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.utils.submission import EarlierJobActiveError
from airflow_provider_modelarts.version_compat import AirflowTaskTerminated, TaskDeferralTimeout
from tests.integration.airflow_context import TaskInstanceRuns
from tests.integration.test_create_operator import (
    CONN_ID,
    LINES,
    RUNS_FOR_TEN_MINUTES,
    RUNS_THEN_COMPLETES,
    body,
    jobs_named_like,
    printed_lines,
    runs_of,
)
from tests.log_capture import capture_task_logs

MARKER = re.compile(r" \[airflow:[0-9a-f]{24}:-?[0-9]+\.[0-9]+\]$")


pytestmark = pytest.mark.usefixtures("plans")  # emulator_time and plans: tests/integration/conftest.py


def operator(name: str, **kwargs: Any) -> ModelArtsCreateTrainingJobOperator:
    kwargs.setdefault("poll_interval", 5)
    return ModelArtsCreateTrainingJobOperator(task_id="train", job=body(name), modelarts_conn_id=CONN_ID, **kwargs)


def without_store(runs: TaskInstanceRuns) -> dict[str, Any]:
    """A context as Airflow below 3.3 gives it: no task state store."""
    context = runs.context()
    del context["task_state_store"]
    return context


def creates_sent(emu: ModelArtsEmulator) -> int:
    return sum(
        entry["method"] == "POST" and entry["path"].endswith("training-jobs") for entry in emu.stats()["requests"]
    )


def streamed(entries: list[dict[str, Any]]) -> list[str]:
    return [str(entry["event"]) for entry in entries if str(entry["event"]).startswith("[worker-0]")]


# ---------------------------------------------------------------------------------------------
# Finding the earlier jobs when the service drops unknown annotation keys
# ---------------------------------------------------------------------------------------------


def test_the_service_drops_the_annotations_and_a_retry_finds_its_job_by_the_description_marker(
    emulator_time: ModelArtsEmulator,
) -> None:
    emu = emulator_time
    emu.set_create_plan("dur-marker", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=2)
    first = operator("dur-marker-1", wait_for_completion=False, xcom_fields="all").execute(without_store(runs))
    assert "annotations" not in first["metadata"]  # dropped by the service
    assert first["metadata"]["description"].startswith("integration test [airflow:")
    assert MARKER.search(first["metadata"]["description"])
    runs.retry()
    result = operator("dur-marker-1").execute(without_store(runs))
    assert result["id"] == first["metadata"]["id"] and result["phase"] == "Completed"
    assert len(jobs_named_like(emu, "dur-marker-1")) == 1


def test_a_service_that_keeps_the_annotations_is_matched_on_them_alone(emulator_time: ModelArtsEmulator) -> None:
    emu = emulator_time
    emu.app.training_jobs.keep_unknown_annotations = True
    emu.set_create_plan("dur-annot", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=2)
    first = operator("dur-annot-1", wait_for_completion=False).execute(without_store(runs))
    stored = emu.app.training_jobs.get(first["id"])
    assert stored is not None
    stored.description = MARKER.sub("", stored.description)  # the marker gone: only the annotations say it
    runs.retry()
    result = operator("dur-annot-1").execute(without_store(runs))
    assert result["id"] == first["id"]
    assert len(jobs_named_like(emu, "dur-annot-1")) == 1


def test_a_long_description_is_cut_to_make_room_for_the_marker() -> None:
    from airflow_provider_modelarts.utils.submission import TaskInstanceIdentity, described

    identity = TaskInstanceIdentity("dag", "task", "run", -1, try_number=1, max_tries=3)
    text = described("x" * 256, identity)
    assert len(text) == 256 and text.endswith(identity.marker()) and text.startswith("x" * 200)
    assert described(text, identity) == text  # a marker already there is replaced, not added twice
    assert described(None, identity) == identity.marker()


# ---------------------------------------------------------------------------------------------
# A Clear never leaves two active jobs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_state_store", [True, False], ids=["store", "no-store"])
def test_a_clear_after_a_crash_stops_the_running_job_before_training_again(
    emulator_time: ModelArtsEmulator, task_state_store: bool
) -> None:
    """retries=0 and the worker killed (-9): the job runs on; the user clears the task. The new
    try stops that job, then trains again: one active job at any time."""
    emu = emulator_time
    emu.set_create_plan("dur-crash", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=0)
    crashed = operator("dur-crash-1", wait_for_completion=False).execute(
        runs.context() if task_state_store else without_store(runs)
    )
    runs.clear()
    with capture_task_logs() as entries:
        result = operator("dur-crash-1").execute(runs.context() if task_state_store else without_store(runs))
    assert [entry["status"] for entry in emu.terminations(crashed["id"])] == [202]
    assert result["id"] != crashed["id"] and result["phase"] == "Completed"
    assert len(jobs_named_like(emu, "dur-crash-1")) == 2
    events = [str(entry["event"]) for entry in entries]
    stopping = next(n for n, event in enumerate(events) if event.startswith(f"Stopping training job {crashed['id']}"))
    creating = next(n for n, event in enumerate(events) if "training again" in event)
    assert stopping < creating


def test_with_terminate_on_kill_false_a_clear_that_finds_the_job_running_fails_naming_it(
    emulator_time: ModelArtsEmulator,
) -> None:
    emu = emulator_time
    emu.set_create_plan("dur-keep", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=0)
    crashed = operator("dur-keep-1", wait_for_completion=False, terminate_on_kill=False).execute(runs.context())
    runs.clear()
    emu.reset()
    with pytest.raises(EarlierJobActiveError) as raised:
        operator("dur-keep-1", terminate_on_kill=False).execute(runs.context())
    assert crashed["id"] in str(raised.value) and "terminate_on_kill=True" in str(raised.value)
    assert creates_sent(emu) == 0 and emu.terminations(crashed["id"]) == []


# ---------------------------------------------------------------------------------------------
# Every line once
# ---------------------------------------------------------------------------------------------


def test_a_retry_that_finds_the_job_completed_prints_its_whole_log(emulator_time: ModelArtsEmulator) -> None:
    emu = emulator_time
    emu.set_create_plan(
        "dur-done", RUNS_THEN_COMPLETES, logs={"worker-0": [[4 + 3 * n, line] for n, line in enumerate(LINES)]}
    )
    runs = TaskInstanceRuns(task_id="train", retries=1)
    first = operator("dur-done-1", wait_for_completion=False).execute(runs.context())
    emu.advance_time(60)  # the job Completed while no task watched it (the worker was lost)
    runs.retry()
    with capture_task_logs() as entries:
        result = operator("dur-done-1").execute(runs.context())
    assert result["id"] == first["id"] and result["phase"] == "Completed"
    assert streamed(entries) == [f"[worker-0] {line}" for line in LINES]


# ---------------------------------------------------------------------------------------------
# Kill
# ---------------------------------------------------------------------------------------------


def test_a_kill_while_the_create_is_in_flight_terminates_the_job_once_the_answer_arrives(
    emulator_time: ModelArtsEmulator,
) -> None:
    """Airflow's SIGTERM handler calls on_kill while the create waits for its answer (no job id
    yet), then lets execute run on: the job the answer names is terminated at once."""
    emu = emulator_time
    emu.set_create_plan("dur-inflight", RUNS_THEN_COMPLETES)
    emu.add_fault(kind="slow", delay=1.0, after=True, path_contains="training-jobs", count=1)
    task = operator("dur-inflight-1")
    previous = signal.signal(signal.SIGALRM, lambda _signum, _frame: task.on_kill())
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(AirflowTaskTerminated):
            task.execute(TaskInstanceRuns(task_id="train").context())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    (job,) = jobs_named_like(emu, "dur-inflight-1")
    assert [entry["status"] for entry in emu.terminations(job.job_id)] == [202]


def test_after_on_kill_the_wait_stops_without_reporting_the_job_as_failed(
    emulator_time: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mark failed: Airflow calls on_kill and kills the process 5 s later. Until then the wait
    must not go on and report the job it terminated as a job that failed by itself."""
    emu = emulator_time
    emu.set_create_plan("dur-marked", RUNS_THEN_COMPLETES)
    task = operator("dur-marked-1", print_log=False)
    sleeps = 0

    def sleep_then_kill(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        emu.advance_time(seconds)
        if sleeps == 2:
            task.on_kill()

    monkeypatch.setattr(training_job_create, "sleep", sleep_then_kill)
    with capture_task_logs() as entries, pytest.raises(AirflowTaskTerminated):
        task.execute(TaskInstanceRuns(task_id="train").context())
    assert task.training_job_id is not None
    assert [entry["status"] for entry in emu.terminations(task.training_job_id)] == [202]  # once, by on_kill
    assert not [entry for entry in entries if entry.get("log_level") == "error"]


# -- a Clear of a running task, a deferral that times out, a failed last log read ------------------


@pytest.mark.usefixtures("emulator_time")
def test_a_clear_of_a_running_task_trains_again_when_on_kill_terminated_the_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-clr", RUNS_FOR_TEN_MINUTES)
    runs = runs_of(retries=0)
    first = operator("rv-clr-a", wait_for_completion=False)
    created = first.execute(runs.context())
    first.on_kill()  # the Clear kills the running task: its job is Terminating
    runs.try_number += 1  # what Airflow does for a running task instance: max_tries kept
    runs.xcom.clear()
    result = operator("rv-clr-a").execute(runs.context())
    assert result["id"] != created["id"] and result["phase"] == "Completed"


@pytest.mark.usefixtures("emulator_time")
def test_a_deferral_timeout_terminates_the_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-dto", RUNS_FOR_TEN_MINUTES)
    runs = runs_of()
    with pytest.raises(TaskDeferred):
        operator("rv-dto-b", deferrable=True, execution_timeout=timedelta(minutes=30)).execute(runs.context())
    job_id = runs.xcom["training_job_id"]
    runs.resume()
    with pytest.raises(TaskDeferralTimeout):
        operator("rv-dto-b", deferrable=True).resume_execution("__fail__", {"error": "Trigger timeout"}, runs.context())
    assert [entry["status"] for entry in emu.terminations(job_id)] == [202]


@pytest.mark.usefixtures("emulator_time")
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
