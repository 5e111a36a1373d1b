"""Training lifecycle reliability: kills, retries and crashes of the create operator never leave a
duplicate job or a job running that nobody waits for; a create answered with a fault makes at most
one job; a log followed through restarts loses no line.

Every case runs the real operator over HTTP against the emulator, with Airflow's task instance
faked as Airflow keeps it (``tests.integration.airflow_context``), and counts the jobs at the
emulator afterwards.
"""

from __future__ import annotations

import contextlib
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


# ---------------------------------------------------------------------------------------------
# Models and services (issue 19): the same questions for the model and deploy operators
# ---------------------------------------------------------------------------------------------
# Recorded as the ``inference_lifecycle`` suite, which scripts/reliability_report.py reads into its
# own "Models and services" row (the training row stays as it is).

MODEL_SOURCE = "obs://rel-bucket/models/resnet/"
LIVE_SERVICE = {"deploying", "running", "concerning", "pending", "waiting"}


@pytest.fixture
def inference_emu(
    emulator: ModelArtsEmulator, reliability_conns: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModelArtsEmulator]:
    from airflow_provider_modelarts.operators import inference_base

    emulator.reset()
    monkeypatch.setattr(inference_base, "sleep", emulator.advance_time)
    yield emulator
    emulator.clear_faults()
    emulator.app.inference.clear()
    emulator.reset()


def model_operator(name: str, **kwargs: Any) -> Any:
    from airflow_provider_modelarts.operators.models import ModelArtsCreateModelOperator

    kwargs.setdefault("poll_interval", 1)
    kwargs.setdefault("modelarts_conn_id", AKSK_CONN_ID)
    model = {"model_name": name, "model_version": "1.0.0", "source_location": MODEL_SOURCE, "model_type": "PyTorch"}
    return ModelArtsCreateModelOperator(task_id="register", model=model, **kwargs)


def deploy_operator(name: str, model_id: str, **kwargs: Any) -> Any:
    from airflow_provider_modelarts.operators.services import ModelArtsDeployServiceOperator

    kwargs.setdefault("poll_interval", 1)
    kwargs.setdefault("modelarts_conn_id", AKSK_CONN_ID)
    entry = {"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 100}
    service = {"service_name": name, "infer_type": "real-time", "config": [entry]}
    return ModelArtsDeployServiceOperator(task_id="deploy", service=service, **kwargs)


def published_model(name: str) -> str:
    return str(model_operator(name).execute(TaskInstanceRuns(task_id="register").context())["model_id"])


def resources_of(emu: ModelArtsEmulator, kind: str, name: str) -> list[dict[str, Any]]:
    rows = emu.app.inference.model_states() if kind == "model" else emu.app.inference.service_states()
    return [row for row in rows if row[f"{kind}_name"] == name]


def record_inference(
    case: str, kind: str, resource: str, emu: ModelArtsEmulator, name: str, expected: int, waited: set[str]
) -> list[dict[str, Any]]:
    """Count the models or services of that name, and the live services nobody waits for."""
    rows = resources_of(emu, resource, name)
    orphans = [
        row
        for row in rows
        if resource == "service" and row["status"] in LIVE_SERVICE and row["service_id"] not in waited
    ]
    record_result(
        "inference_lifecycle",
        {"case": case, "kind": kind, "resource": resource, "count": len(rows), "expected": expected,
         "orphans": len(orphans)},
    )  # fmt: skip
    assert len(rows) == expected, rows
    assert orphans == []
    return rows


@pytest.mark.parametrize(("action", "after"), [("stop", ["stopped"]), ("delete", []), ("none", ["running"])])
def test_a_deploy_killed_while_it_waits_stops_deletes_or_leaves_its_service(
    inference_emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, action: str, after: list[str]
) -> None:
    from airflow_provider_modelarts.operators import inference_base
    from airflow_provider_modelarts.version_compat import AirflowTaskTerminated

    name = fresh_name(f"kill-deploy-{action}")
    task = deploy_operator(name, published_model(name), on_kill_action=action)

    def sleep(seconds: float) -> None:  # Airflow's SIGTERM handler calls on_kill during the wait
        task.on_kill()
        inference_emu.advance_time(seconds)

    monkeypatch.setattr(inference_base, "sleep", sleep)
    with pytest.raises(AirflowTaskTerminated):
        task.execute(TaskInstanceRuns(task_id="deploy").context())
    inference_emu.advance_time(10)
    rows = record_inference(f"kill_deploy_{action}", "kill", "service", inference_emu, name, len(after),
                            waited={row["service_id"] for row in resources_of(inference_emu, "service", name)}
                            if action == "none" else set())  # fmt: skip
    assert [row["status"] for row in rows] == after


def test_a_model_registration_killed_while_it_waits_leaves_one_model(
    inference_emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model runs nothing: a kill while it builds ends the try, and the retry uses that model."""
    from airflow_provider_modelarts.operators import inference_base
    from airflow_provider_modelarts.version_compat import AirflowTaskTerminated

    name = fresh_name("kill-model")
    task = model_operator(name)

    def sleep(seconds: float) -> None:
        task.on_kill()
        inference_emu.advance_time(seconds)

    monkeypatch.setattr(inference_base, "sleep", sleep)
    runs = TaskInstanceRuns(task_id="register", retries=1)
    with contextlib.suppress(AirflowTaskTerminated):  # the model operator may not end its wait on a kill
        task.execute(runs.context())
    monkeypatch.setattr(inference_base, "sleep", inference_emu.advance_time)
    runs.retry()
    result = model_operator(name).execute(runs.context())
    assert result["model_status"] == "published"
    record_inference("kill_model", "kill", "model", inference_emu, name, 1, waited=set())


@pytest.mark.parametrize("crash_after", [0, 1, 30])
def test_a_crashed_registration_and_deploy_retried_make_no_duplicate(
    inference_emu: ModelArtsEmulator, crash_after: float
) -> None:
    """The worker dies ``crash_after`` seconds after the create (building/deploying, or done);
    the retry finds the model and the service of that name and uses them."""
    name = fresh_name("crash-inference")
    runs = TaskInstanceRuns(task_id="register", retries=1)
    first = model_operator(name, wait_for_completion=False).execute(runs.context())
    inference_emu.advance_time(crash_after)
    runs.retry()
    model = model_operator(name).execute(runs.context())
    assert model["model_id"] == first["model_id"] and model["model_status"] == "published"
    record_inference(f"crash_model_{crash_after}", "retry", "model", inference_emu, name, 1, waited=set())

    deploys = TaskInstanceRuns(task_id="deploy", retries=1)
    created = deploy_operator(name, model["model_id"], wait_for_completion=False).execute(deploys.context())
    inference_emu.advance_time(crash_after)
    deploys.retry()
    service = deploy_operator(name, model["model_id"]).execute(deploys.context())
    assert service["service_id"] == created["service_id"] and service["status"] == "running"
    record_inference(f"crash_deploy_{crash_after}", "retry", "service", inference_emu, name, 1,
                     waited={service["service_id"]})  # fmt: skip


INFERENCE_CREATE_FAULTS: dict[str, dict[str, Any]] = {
    "dropped_mid_answer": {"kind": "drop_mid"},
    "answer_after_timeout": {"kind": "slow", "delay": 3.0, "after": True},
    "gateway_502": {"kind": "status", "status": 502},
    "dropped_before_service": {"kind": "drop"},
}


def arm_before_create(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, method: str, path: str, fault: str
) -> None:
    """The fault meets the create's POST itself: it is armed by the call, not before the deploy's lookup."""
    original = getattr(ModelArtsHook, method)
    options = dict(INFERENCE_CREATE_FAULTS[fault])

    def create(self: ModelArtsHook, *args: Any, **kwargs: Any) -> Any:
        emu.add_fault(options.pop("kind"), count=1, path_contains=path, **options) if "kind" in options else None
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ModelArtsHook, method, create)


@pytest.mark.parametrize("fault", sorted(INFERENCE_CREATE_FAULTS))
def test_a_model_create_answered_with_a_fault_makes_at_most_one_model(
    inference_emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    name = fresh_name(f"create-model-{fault}")
    arm_before_create(inference_emu, monkeypatch, "create_model", "/models", fault)
    conn_id = SHORT_TIMEOUT_CONN_ID if fault == "answer_after_timeout" else AKSK_CONN_ID
    result = model_operator(name, modelarts_conn_id=conn_id).execute(TaskInstanceRuns(task_id="register").context())
    assert result["model_status"] == "published"
    assert inference_emu.app.faults.list() == []  # the POST met the fault
    record_inference(f"create_model_{fault}", "create", "model", inference_emu, name, 1, waited=set())


@pytest.mark.parametrize("fault", sorted(INFERENCE_CREATE_FAULTS))
def test_a_service_create_answered_with_a_fault_makes_at_most_one_service(
    inference_emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    name = fresh_name(f"create-svc-{fault}")
    model_id = published_model(name)
    arm_before_create(inference_emu, monkeypatch, "create_service", "/services", fault)
    conn_id = SHORT_TIMEOUT_CONN_ID if fault == "answer_after_timeout" else AKSK_CONN_ID
    result = deploy_operator(name, model_id, modelarts_conn_id=conn_id).execute(
        TaskInstanceRuns(task_id="deploy").context()
    )
    assert result["status"] == "running"
    assert inference_emu.app.faults.list() == []  # the POST met the fault
    record_inference(f"create_service_{fault}", "create", "service", inference_emu, name, 1,
                     waited={result["service_id"]})  # fmt: skip
