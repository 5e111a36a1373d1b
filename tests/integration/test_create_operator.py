"""``ModelArtsCreateTrainingJobOperator`` over real HTTP against the emulator: submit, wait (in the
worker and deferred), stream logs, reconnect across tries, terminate on kill, report lineage.

Time is the emulator's: ``advance_time`` moves the jobs on, and the operator's sleep between checks
is replaced by exactly that, so waits are exact and take no wall-clock time. Airflow's task
instance is the fake of ``airflow_context`` (state across tries and Clears, as Airflow keeps it).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from modelarts_emulator import ModelArtsEmulator
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.operators import training_job_create
from airflow_provider_modelarts.operators.training_job_create import (
    SUBMITTED_JOB_STATE_KEY,
    TRAINING_JOB_ID_XCOM_KEY,
    ModelArtsCreateTrainingJobOperator,
    ModelArtsTrainingJobFailedError,
)
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.utils.submission import NameConflictError
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS, TaskDeferralTimeout
from tests.conftest import api_requests
from tests.integration.airflow_context import TaskInstanceRuns, TaskStateStore
from tests.log_capture import capture_task_logs

CONN_ID = "modelarts_default"
BUCKET = "obs://demo-bucket"


def body(name: str) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name, "description": "integration test"},
        "algorithm": {
            "code_dir": f"{BUCKET}/code/",
            "boot_file": f"{BUCKET}/code/train.py",
            "inputs": [
                {"name": "data_url", "remote": {"obs": {"obs_url": f"{BUCKET}/data/imagenet/"}}},
            ],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"{BUCKET}/models/{name}/"}}}],
            "parameters": [{"name": "epochs", "value": "3"}],
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


RUNS_THEN_COMPLETES = [("Creating", 2), ("Pending", 2), ("Running", 20), ("Completed", None)]
RUNS_THEN_FAILS = [("Creating", 2), ("Pending", 2), ("Running", 20), ("Failed", None)]
LINES = [f"epoch {n}/5 loss=0.{9 - n}" for n in range(1, 6)]
RUNS_FOR_TEN_MINUTES = [("Creating", 2), ("Pending", 2), ("Running", 600), ("Completed", None)]


def operator(name: str, **kwargs: Any) -> ModelArtsCreateTrainingJobOperator:
    kwargs.setdefault("poll_interval", 5)
    return ModelArtsCreateTrainingJobOperator(task_id="train", job=body(name), modelarts_conn_id=CONN_ID, **kwargs)


def runs_of(run_id: str = "manual__a", **kwargs: Any) -> TaskInstanceRuns:
    return TaskInstanceRuns(task_id="train", run_id=run_id, **kwargs)


def printed_lines(entries: list[dict[str, Any]]) -> list[str]:
    return [str(entry["event"]) for entry in entries if str(entry["event"]).startswith("[worker-")]


def jobs_named_like(emu: ModelArtsEmulator, prefix: str) -> list[dict[str, Any]]:
    return [job for job in list(emu.app.training_jobs.jobs.values()) if job.name.startswith(prefix)]


# ---------------------------------------------------------------------------------------------
# Submit and wait in the worker
# ---------------------------------------------------------------------------------------------


def test_the_job_is_created_waited_for_and_its_log_streamed_once_in_order(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_create_plan("it-stream", RUNS_THEN_COMPLETES, logs={"worker-0": LINES})
    runs = TaskInstanceRuns(task_id="train")
    context = runs.context()
    with capture_task_logs() as entries:
        result = operator("it-stream-1").execute(context)
    assert [line for line in printed_lines(entries) if "epoch" in line] == [f"[worker-0] {line}" for line in LINES]
    assert len(printed_lines(entries)) == len(set(printed_lines(entries)))
    assert result["phase"] == "Completed" and result["name"] == "it-stream-1"
    assert result["outputs"] == {"train_url": f"{BUCKET}/models/it-stream-1/"}
    assert result["task_statuses"] == [{"task": "worker-0", "exit_code": 0}]
    assert result["console_url"] and result["id"] in result["console_url"]
    assert len(json.dumps(result)) <= 4096
    # Recorded before the wait: XCom, and the task state store.
    assert context["ti"].xcom[TRAINING_JOB_ID_XCOM_KEY] == result["id"]
    if AIRFLOW_V_3_3_PLUS:  # the only Airflow with a task state store
        assert runs.store.get(SUBMITTED_JOB_STATE_KEY)["training_job_id"] == result["id"]
    assert len(jobs_named_like(emu, "it-stream-1")) == 1


def test_log_requests_cost_at_most_one_per_task_per_poll_and_none_once_read_to_the_end(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_create_plan("it-cost", RUNS_THEN_COMPLETES, logs={"worker-0": LINES})
    emu.reset()
    result = operator("it-cost-1").execute(TaskInstanceRuns(task_id="train").context())
    log_requests = [entry for entry in emu.stats()["requests"] if "/logs/" in entry["path"]]
    job_reads = [
        entry for entry in emu.stats()["requests"] if entry["method"] == "GET" and entry["path"].endswith(result["id"])
    ]
    # One log request per check while the job runs (one task), and the drain once it ended.
    assert len(log_requests) <= len(job_reads) + 1


def test_a_failed_job_fails_the_try_with_its_exit_code_and_the_end_of_its_log(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_create_plan("it-fail", RUNS_THEN_FAILS, exit_code=137, message="OOMKilled", logs={"worker-0": LINES})
    with pytest.raises(ModelArtsTrainingJobFailedError) as failed:
        operator("it-fail-1", print_log=False).execute(TaskInstanceRuns(task_id="train").context())
    message = str(failed.value)
    assert "is Failed" in message and "exit code 137" in message and "OOMKilled" in message
    assert "Last lines of the job's log:" in message and "[worker-0] epoch 5/5" in message


# ---------------------------------------------------------------------------------------------
# One job per task instance
# ---------------------------------------------------------------------------------------------


def test_a_retry_reconnects_to_the_running_job_instead_of_creating_another(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_create_plan("it-retry", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=2)
    first = operator("it-retry-1", wait_for_completion=False).execute(runs.context())
    runs.retry()  # the worker died: a new try of the same task instance
    result = operator("it-retry-1").execute(runs.context())
    assert result["id"] == first["id"] and result["phase"] == "Completed"
    assert len(jobs_named_like(emu, "it-retry-1")) == 1


def test_a_retry_after_a_completed_job_does_not_train_again(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-done", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=2)
    first = operator("it-done-1").execute(runs.context())
    runs.retry()
    emu.reset()
    again = operator("it-done-1").execute(runs.context())
    assert again["id"] == first["id"] and again["phase"] == "Completed"
    assert [
        entry
        for entry in emu.stats()["requests"]
        if entry["method"] == "POST" and entry["path"].endswith("training-jobs")
    ] == []


def test_a_retry_after_a_failed_job_creates_a_new_one_under_a_derived_name(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_create_plan("it-again", RUNS_THEN_FAILS, exit_code=1, message="bug")
    runs = TaskInstanceRuns(task_id="train", retries=2)
    with pytest.raises(ModelArtsTrainingJobFailedError):
        operator("it-again-1", print_log=False).execute(runs.context())
    runs.retry()
    emu.set_create_plan("it-again-1-", RUNS_THEN_COMPLETES)  # the retry's job: it-again-1-<digest>-try2
    result = operator("it-again-1", print_log=False).execute(runs.context())
    assert re.fullmatch(r"it-again-1-[0-9a-f]{8}-try2", result["name"]) and result["phase"] == "Completed"
    assert sorted(job.name for job in jobs_named_like(emu, "it-again-1")) == ["it-again-1", result["name"]]


def test_a_clear_trains_again_after_a_completed_job(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-clear", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=1)
    first = operator("it-clear-1").execute(runs.context())
    runs.clear()
    second = operator("it-clear-1").execute(runs.context())
    assert second["id"] != first["id"] and re.fullmatch(r"it-clear-1-[0-9a-f]{8}-try2", second["name"])


def test_without_a_task_state_store_a_retry_still_finds_its_job_by_name(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    """Below Airflow 3.3 there is no task state store: the job's annotations name the task instance."""
    emu = emulator_time
    emu.set_create_plan("it-nostore", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=2)
    first_context = runs.context()
    del first_context["task_state_store"]
    first = operator("it-nostore-1", wait_for_completion=False).execute(first_context)
    runs.retry()
    context = runs.context()
    del context["task_state_store"]
    result = operator("it-nostore-1").execute(context)
    assert result["id"] == first["id"]
    assert len(jobs_named_like(emu, "it-nostore-1")) == 1


def test_a_name_taken_by_another_task_fails_clearly_or_gets_a_suffix(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_create_plan("it-taken", RUNS_THEN_COMPLETES)
    stranger = emu.create_training_job("it-taken-1", [("Running", None)])
    emu.reset()
    with pytest.raises(NameConflictError) as conflict:
        operator("it-taken-1").execute(TaskInstanceRuns(task_id="train").context())
    assert stranger["id"] in str(conflict.value) and "on_name_conflict='suffix'" in str(conflict.value)
    assert [
        entry
        for entry in emu.stats()["requests"]
        if entry["method"] == "POST" and entry["path"].endswith("training-jobs")
    ] == []
    result = operator("it-taken-1", on_name_conflict="suffix").execute(TaskInstanceRuns(task_id="train").context())
    assert result["name"].startswith("it-taken-1-") and result["name"].endswith("-try1")


def test_a_create_answered_by_a_timeout_makes_one_job(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-timeout", RUNS_THEN_COMPLETES)
    emu.add_fault("drop_mid", count=1, path_contains="/training-jobs")
    result = operator("it-timeout-1").execute(TaskInstanceRuns(task_id="train").context())
    assert result["phase"] == "Completed"
    assert len(jobs_named_like(emu, "it-timeout-1")) == 1


# ---------------------------------------------------------------------------------------------
# Kill
# ---------------------------------------------------------------------------------------------


def test_on_kill_terminates_the_job_and_is_fine_once_it_ended(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-kill", RUNS_THEN_COMPLETES)
    task = operator("it-kill-1", wait_for_completion=False)
    created = task.execute(TaskInstanceRuns(task_id="train").context())
    task.on_kill()
    assert [entry["status"] for entry in emu.terminations(created["id"])] == [202]
    emu.advance_time(10)
    task.on_kill()  # the job ended: a 409 that on_kill takes as done
    assert [entry["status"] for entry in emu.terminations(created["id"])] == [202, 409]


def test_terminate_on_kill_false_leaves_the_job_running(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-keep", RUNS_THEN_COMPLETES)
    task = operator("it-keep-1", wait_for_completion=False, terminate_on_kill=False)
    created = task.execute(TaskInstanceRuns(task_id="train").context())
    task.on_kill()
    assert emu.terminations(created["id"]) == []


# ---------------------------------------------------------------------------------------------
# Deferred
# ---------------------------------------------------------------------------------------------


async def _run_trigger(trigger: ModelArtsTrainingJobPhaseTrigger, emu: ModelArtsEmulator) -> dict[str, Any]:
    """The trigger's only event, with the emulator's clock moving 5 s per 0.1 s of wall time."""
    generator = trigger.run()

    async def move_time() -> None:
        while True:
            await asyncio.sleep(0.1)
            emu.advance_time(5)

    mover = asyncio.ensure_future(move_time())
    try:
        event = await asyncio.wait_for(generator.__anext__(), timeout=60)
    finally:
        mover.cancel()
        await generator.aclose()
    return dict(event.payload)


def test_deferred_the_trigger_streams_the_log_and_the_task_resumes_with_the_result(
    emu: ModelArtsEmulator, plans: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_provider_modelarts.waiting.poller.MIN_ROUND_SPACING", 0.05)
    emu.set_create_plan("it-defer", RUNS_THEN_COMPLETES, logs={"worker-0": LINES})
    runs = TaskInstanceRuns(task_id="train")
    task = operator("it-defer-1", deferrable=True, poll_interval=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(runs.context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, ModelArtsTrainingJobPhaseTrigger)
    classpath, kwargs = trigger.serialize()
    assert kwargs["print_log"] is True and kwargs["terminate_on_kill"] is True
    secrets = (
        emulator_config.DEFAULT_SECRET_KEY,
        emulator_config.DEFAULT_PASSWORD,
        emulator_config.DEFAULT_SECURITY_TOKEN,
    )
    assert not any(secret in json.dumps(kwargs) for secret in secrets)  # trigger kwargs: ids only
    with capture_task_logs() as entries:
        event = asyncio.run(_run_trigger(ModelArtsTrainingJobPhaseTrigger(**kwargs), emu))
    assert event["status"] == "success"
    assert [line for line in printed_lines(entries) if "epoch" in line] == [f"[worker-0] {line}" for line in LINES]
    runs.resume()
    result = task.execute_complete(runs.context(), event)
    assert not any(secret in json.dumps([event, runs.xcom, result], default=str) for secret in secrets)
    assert result["phase"] == "Completed" and result["outputs"] == {"train_url": f"{BUCKET}/models/it-defer-1/"}
    assert result["console_url"] and result["id"] in result["console_url"]  # restored after the resume


def test_the_triggers_on_kill_terminates_the_job(emu: ModelArtsEmulator, plans: None) -> None:
    emu.set_create_plan("it-tkill", RUNS_THEN_COMPLETES)
    task = operator("it-tkill-1", deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(TaskInstanceRuns(task_id="train").context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, ModelArtsTrainingJobPhaseTrigger)
    asyncio.run(trigger.on_kill())
    assert [entry["status"] for entry in emu.terminations(trigger.condition.training_job_id)] == [202]


# ---------------------------------------------------------------------------------------------
# Bad input and lineage
# ---------------------------------------------------------------------------------------------


def test_a_bad_literal_body_is_refused_when_the_dag_is_parsed() -> None:
    bad = body("bad name!")
    with pytest.raises(ModelArtsValidationError, match=r"job\.metadata\.name"):
        ModelArtsCreateTrainingJobOperator(task_id="t", job=bad)


def test_a_templated_body_is_checked_once_rendered_before_any_request(emu: ModelArtsEmulator) -> None:
    templated = body("{{ params.name }}")
    task = ModelArtsCreateTrainingJobOperator(task_id="t", job=templated, modelarts_conn_id=CONN_ID)
    task.job = body("rendered but bad!")
    with pytest.raises(ModelArtsValidationError, match=r"job\.metadata\.name"):
        task.execute(TaskInstanceRuns(task_id="train").context())
    assert api_requests(emu) == 0


def test_lineage_names_the_obs_inputs_and_outputs_and_the_job_id(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-lineage", RUNS_THEN_COMPLETES)
    task = operator("it-lineage-1")
    result = task.execute(TaskInstanceRuns(task_id="train").context())
    emu.reset()
    lineage = task.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("obs://demo-bucket", "data/imagenet/")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("obs://demo-bucket", "models/it-lineage-1/")]
    assert lineage.run_facets["externalQuery"].externalQueryId == result["id"]
    assert api_requests(emu) == 0  # no API call to build it


def test_the_store_of_another_map_index_is_not_this_tasks(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-map", RUNS_THEN_COMPLETES)
    store = TaskStateStore()
    zero = operator("it-map-0").execute(TaskInstanceRuns(task_id="train", map_index=0, store=store).context())
    one = operator("it-map-1").execute(TaskInstanceRuns(task_id="train", map_index=1, store=store).context())
    assert zero["id"] != one["id"]


def test_a_deferral_that_times_out_terminates_the_job(emu: ModelArtsEmulator, plans: None) -> None:
    """Airflow ends a deferral past execution_timeout by resuming the task with ``__fail__`` and
    calls no on_kill: the operator terminates the job itself."""
    emu.set_create_plan("it-dtimeout", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train")
    task = operator("it-dtimeout-1", deferrable=True)
    with pytest.raises(TaskDeferred):
        task.execute(runs.context())
    job_id = runs.xcom[TRAINING_JOB_ID_XCOM_KEY]
    runs.resume()
    resumed = operator("it-dtimeout-1", deferrable=True)  # a new process: a fresh operator object
    with pytest.raises(TaskDeferralTimeout):
        resumed.resume_execution("__fail__", {"error": "Trigger timeout"}, runs.context())
    assert [entry["status"] for entry in emu.terminations(job_id)] == [202]


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the task state store exists from Airflow 3.3")
def test_with_a_task_state_store_a_retry_reconnects_even_if_the_service_dropped_the_annotations(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    """[UNCERTAIN] whether the service keeps unknown annotation keys: if it drops them, Airflow
    3.3's task state store still names the job (with the annotations it was created with)."""
    emu = emulator_time
    emu.set_create_plan("it-dropped", RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", retries=2)
    first = operator("it-dropped-1", wait_for_completion=False).execute(runs.context())
    stored_job = emu.app.training_jobs.get(first["id"])
    assert stored_job is not None and stored_job.request is not None
    stored_job.request["metadata"].pop("annotations")  # as a service that kept no unknown keys
    runs.retry()
    result = operator("it-dropped-1").execute(runs.context())
    assert result["id"] == first["id"] and result["phase"] == "Completed"
    assert len(jobs_named_like(emu, "it-dropped-1")) == 1


# ---------------------------------------------------------------------------------------------
# Deferral bounds, XCom fields, a job gone mid-wait, log pacing
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("emulator_time")
def test_the_deferral_carries_the_rest_of_execution_timeout(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-dto", RUNS_FOR_TEN_MINUTES)
    with pytest.raises(TaskDeferred) as deferred:
        operator("rv-dto-a", deferrable=True, execution_timeout=timedelta(minutes=30)).execute(runs_of().context())
    assert deferred.value.timeout is not None and timedelta(minutes=29) < deferred.value.timeout <= timedelta(
        minutes=30
    )


def test_a_misspelt_xcom_field_warns() -> None:
    task = ModelArtsCreateTrainingJobOperator(task_id="t", job=body("rv-xf"), xcom_fields=["id", "phse"])
    job = {"metadata": {"id": "3f1c1a3e-0000-4000-8000-000000000001", "name": "x"}, "status": {"phase": "Completed"}}
    with capture_task_logs() as entries:
        value = task._result(job)
    assert value == {"id": job["metadata"]["id"]}
    assert any("'phse'" in str(entry["event"]) and "'phase'" in str(entry["event"]) for entry in entries)


@pytest.mark.usefixtures("emulator_time")
def test_a_job_deleted_mid_wait_fails_without_retries_in_both_modes(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.set_create_plan("rv-del", RUNS_FOR_TEN_MINUTES)
    runs = runs_of(retries=2)

    def sleep_and_delete(seconds: float) -> None:
        emu.app.training_jobs.delete(runs.xcom["training_job_id"])

    monkeypatch.setattr(training_job_create, "sleep", sleep_and_delete)
    with pytest.raises(AirflowFailException):
        operator("rv-del-sync", print_log=False).execute(runs.context())

    monkeypatch.setattr("airflow_provider_modelarts.waiting.poller.MIN_ROUND_SPACING", 0.05)
    deferred_runs = runs_of("manual__b", retries=2)
    task = operator("rv-del-defer", poll_interval=0.1, deferrable=True, print_log=False)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(deferred_runs.context())
    _, kwargs = deferred.value.trigger.serialize()
    emu.app.training_jobs.delete(deferred_runs.xcom["training_job_id"])
    event = asyncio.run(_run_trigger(ModelArtsTrainingJobPhaseTrigger(**kwargs), emu))
    deferred_runs.resume()
    with pytest.raises(AirflowFailException):
        task.execute_complete(deferred_runs.context(), event)


@pytest.mark.usefixtures("emulator_time")
def test_log_requests_respect_the_operators_poll_interval(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_provider_modelarts.waiting.poller.MIN_ROUND_SPACING", 0.05)
    emu.set_create_plan(
        "rv-pace",
        [("Creating", 1), ("Pending", 1), ("Running", 3600), ("Completed", None)],
        logs={"worker-0": [[float(i), f"line {i}"] for i in range(3000)]},
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator("rv-pace-1", deferrable=True, poll_interval=5).execute(runs_of().context())
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
