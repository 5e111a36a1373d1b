"""Training lifecycle reliability: kills, retries and crashes of the create operator never leave a
duplicate job or a job running that nobody waits for; a create answered with a fault makes at most
one job; a log followed through restarts loses no line.

Every case runs the real operator over HTTP against the emulator, with Airflow's task instance
faked as Airflow keeps it (``tests.integration.airflow_context``), and counts the jobs at the
emulator afterwards.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators import training_job_create
from airflow_provider_modelarts.operators.training_job_create import (
    SUBMITTED_JOB_STATE_KEY,
    ModelArtsCreateTrainingJobOperator,
    ModelArtsTrainingJobFailedError,
)
from airflow_provider_modelarts.waiting.logs import REPEATED_MARK, JobLogFollower
from tests.integration.airflow_context import TaskInstanceRuns

from .support import AKSK_CONN_ID, SHORT_TIMEOUT_CONN_ID, record_result

ACTIVE = {"Creating", "Pending", "Running", "Terminating"}
COMPLETES = [("Creating", 2), ("Pending", 2), ("Running", 30), ("Completed", None)]
FAILS = [("Creating", 2), ("Pending", 2), ("Running", 30), ("Failed", None)]
_names = itertools.count()


@pytest.fixture
def emu(
    emulator: ModelArtsEmulator, reliability_conns: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModelArtsEmulator]:
    emulator.reset()
    monkeypatch.setattr(training_job_create, "sleep", emulator.advance_time)
    yield emulator
    emulator.clear_faults()
    emulator.clear_create_plans()
    emulator.reset()


def body(name: str) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {"code_dir": "obs://rel-bucket/code/", "boot_file": "obs://rel-bucket/code/train.py"},
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


def operator(name: str, **kwargs: Any) -> ModelArtsCreateTrainingJobOperator:
    kwargs.setdefault("poll_interval", 5)
    kwargs.setdefault("print_log", False)
    kwargs.setdefault("modelarts_conn_id", AKSK_CONN_ID)
    return ModelArtsCreateTrainingJobOperator(task_id="train", job=body(name), **kwargs)


def fresh_name(case: str) -> str:
    return f"rel-{case.replace('_', '-')}-{next(_names)}"


def jobs_of(emu: ModelArtsEmulator, name: str) -> list[Any]:
    """The emulator's jobs whose name is ``name`` or derived from it, with their phase now."""
    store = emu.app.training_jobs
    return [
        (job, job.state(store.now(), store.speed).phase)
        for job in list(store.jobs.values())
        if job.name == name or job.name.startswith(name + "-")
    ]


def record(case: str, kind: str, emu: ModelArtsEmulator, name: str, expected_jobs: int, waited: set[str]) -> None:
    """Count the jobs and the running ones nobody waits for; record them for the report."""
    jobs = jobs_of(emu, name)
    orphans = [job.job_id for job, phase in jobs if phase in ACTIVE and job.job_id not in waited]
    record_result(
        "training_lifecycle",
        {"case": case, "kind": kind, "jobs": len(jobs), "expected_jobs": expected_jobs, "orphans": len(orphans)},
    )
    assert len(jobs) == expected_jobs, [job.name for job, _ in jobs]
    assert orphans == []


# ---------------------------------------------------------------------------------------------
# Kill: the job stops with the task
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase_at_kill", ["Creating", "Pending", "Running"])
def test_a_killed_running_task_terminates_its_job(emu: ModelArtsEmulator, phase_at_kill: str) -> None:
    name = fresh_name(f"kill-{phase_at_kill}")
    emu.set_create_plan(name, COMPLETES)
    task = operator(name, wait_for_completion=False)
    created = task.execute(TaskInstanceRuns(task_id="train").context())
    emu.advance_time({"Creating": 0, "Pending": 2.5, "Running": 5}[phase_at_kill])
    task.on_kill()  # what Airflow calls on SIGTERM (mark failed / success) and on execution_timeout
    emu.advance_time(5)
    assert [entry["status"] for entry in emu.terminations(created["id"])] == [202]
    record(f"kill_{phase_at_kill.lower()}", "kill", emu, name, 1, waited=set())


def test_a_killed_deferred_task_terminates_its_job_through_the_trigger(emu: ModelArtsEmulator) -> None:
    import asyncio

    name = fresh_name("kill-deferred")
    emu.set_create_plan(name, COMPLETES)
    with pytest.raises(TaskDeferred) as deferred:
        operator(name, deferrable=True).execute(TaskInstanceRuns(task_id="train").context())
    trigger = deferred.value.trigger
    asyncio.run(trigger.on_kill())  # type: ignore[attr-defined]  # Airflow 3.3+ calls it on a user's kill
    emu.advance_time(5)
    record("kill_deferred", "kill", emu, name, 1, waited=set())


# ---------------------------------------------------------------------------------------------
# Retries and crashes: one job per task instance
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crash_after", [0, 2.5, 5, 40])
def test_a_crashed_worker_retried_reconnects_and_never_duplicates(emu: ModelArtsEmulator, crash_after: float) -> None:
    """The worker dies ``crash_after`` seconds into the job (Creating, Pending, Running, or after
    it Completed); the retry finds the job and waits for it, or returns its result."""
    name = fresh_name("crash")
    emu.set_create_plan(name, COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=3)
    created = operator(name, wait_for_completion=False).execute(runs.context())
    emu.advance_time(crash_after)
    runs.retry()
    result = operator(name).execute(runs.context())
    assert result["id"] == created["id"] and result["phase"] == "Completed"
    record(f"crash_after_{crash_after:g}s", "retry", emu, name, 1, waited={created["id"]})


def test_a_crash_between_the_create_and_its_record_still_finds_the_job(emu: ModelArtsEmulator) -> None:
    """The window Airflow's ResumableJobMixin documents as a duplicate: the job exists, the task
    state store does not know it. The job's annotations name the task instance."""
    name = fresh_name("crash-before-record")
    emu.set_create_plan(name, COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=3)
    created = operator(name, wait_for_completion=False).execute(runs.context())
    runs.store.delete(SUBMITTED_JOB_STATE_KEY)
    runs.retry()
    result = operator(name).execute(runs.context())
    assert result["id"] == created["id"]
    record("crash_before_record", "retry", emu, name, 1, waited={created["id"]})


def test_retries_after_failed_jobs_make_exactly_one_new_job_each(emu: ModelArtsEmulator) -> None:
    name = fresh_name("retry-failed")
    emu.set_create_plan(name, FAILS, exit_code=1, message="boom")
    runs = TaskInstanceRuns(task_id="train", retries=2)
    for _ in range(3):
        with pytest.raises(ModelArtsTrainingJobFailedError):
            operator(name).execute(runs.context())
        runs.retry()
    record("retries_after_failures", "retry", emu, name, 3, waited=set())


def test_a_clear_while_the_job_runs_terminates_it_and_trains_again(emu: ModelArtsEmulator) -> None:
    """A Clear kills the running task (on_kill terminates its job), then the task runs again."""
    name = fresh_name("clear")
    emu.set_create_plan(name, COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=1)
    task = operator(name, wait_for_completion=False)
    first = task.execute(runs.context())
    emu.advance_time(5)
    task.on_kill()
    runs.clear()
    second = operator(name).execute(runs.context())
    assert second["id"] != first["id"] and second["phase"] == "Completed"
    record("clear_while_running", "retry", emu, name, 2, waited={second["id"]})


# ---------------------------------------------------------------------------------------------
# A create whose answer is lost
# ---------------------------------------------------------------------------------------------

CREATE_FAULTS: dict[str, Callable[[ModelArtsEmulator], Any]] = {
    "dropped_mid_answer": lambda emu: emu.add_fault("drop_mid", count=1, path_contains="/training-jobs"),
    # With the short-timeout connection (1.5 s): the job is made, its answer comes too late.
    "answer_after_timeout": lambda emu: emu.add_fault(
        "slow", count=1, path_contains="/training-jobs", delay=3.0, after=True
    ),
    "gateway_502": lambda emu: emu.add_fault("status", count=1, path_contains="/training-jobs", status=502),
    "dropped_before_service": lambda emu: emu.add_fault("drop", count=1, path_contains="/training-jobs"),
}


@pytest.mark.parametrize("fault", sorted(CREATE_FAULTS))
def test_a_create_answered_with_a_fault_makes_at_most_one_job(emu: ModelArtsEmulator, fault: str) -> None:
    name = fresh_name(f"create-{fault}")
    emu.set_create_plan(name, COMPLETES)
    CREATE_FAULTS[fault](emu)
    conn_id = SHORT_TIMEOUT_CONN_ID if fault == "answer_after_timeout" else AKSK_CONN_ID
    result = operator(name, modelarts_conn_id=conn_id).execute(TaskInstanceRuns(task_id="train").context())
    assert result["phase"] == "Completed"
    record(f"create_{fault}", "create", emu, name, 1, waited={result["id"]})


# ---------------------------------------------------------------------------------------------
# Logs through restarts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_a_log_followed_through_restarts_loses_no_line(emu: ModelArtsEmulator, seed: int) -> None:
    """A follower rebuilt from its last saved state at random moments (a triggerer restart):
    every line reaches the task log, and a line printed twice is always marked repeated."""
    rng = random.Random(seed)
    name = fresh_name("logs")
    lines = [f"step {n} loss {rng.random():.4f}" for n in range(rng.randint(50, 1200))]
    created = emu.create_training_job(
        name,
        [("Running", 60), ("Completed", None)],
        logs={"worker-0": [[60 * n / len(lines), line] for n, line in enumerate(lines)]},
    )
    hook = ModelArtsHook(AKSK_CONN_ID)
    printed: list[str] = []
    saved: list[dict[str, Any]] = [{}]
    follower = JobLogFollower(hook, created["id"], printed.append, save=saved.append)
    restarts = 0
    try:
        while True:
            job = hook.get_training_job(created["id"])
            follower.poll(job)
            if job["status"]["phase"] == "Completed":
                break
            emu.advance_time(rng.choice([1, 3, 7]))
            if rng.random() < 0.4:  # the triggerer restarts: a new follower from the last saved state
                restarts += 1
                follower = JobLogFollower(hook, created["id"], printed.append, state=saved[-1], save=saved.append)
    finally:
        hook.close()
    shown = [line.removeprefix("[worker-0] ") for line in printed]
    unmarked = [line for line in shown if not line.startswith(REPEATED_MARK)]
    every = [line.removeprefix(REPEATED_MARK) for line in shown]
    expected = emu.task_log(created["id"], "worker-0")
    lost = [line for line in expected if line not in set(every)]
    repeated_unmarked = len(unmarked) - len(set(unmarked))
    record_result(
        "training_lifecycle",
        {
            "case": f"logs_seed_{seed}",
            "kind": "logs",
            "lines": len(expected),
            "restarts": restarts,
            "lost": len(lost),
            "repeated_unmarked": repeated_unmarked,
            "printed": len(printed),
        },
    )
    assert lost == [] and repeated_unmarked == 0
    assert list(dict.fromkeys(every)) == expected  # first sightings in the log's own order
