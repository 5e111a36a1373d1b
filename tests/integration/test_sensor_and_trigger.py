"""The training-job sensor in poke, reschedule and deferrable mode, and its trigger, against
emulator jobs that move through statuses in real time."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.api import JobStatus
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from tests.airflow_names import AirflowRescheduleException, deserialize, serialize
from tests.conftest import api_requests
from tests.integration.airflow_context import TaskStateStore, make_context
from tests.integration.conftest import first_event

FAST = {"poke_interval": 0.2, "timeout": 30, "modelarts_retry_delay": 0.01}


def _job(emu: ModelArtsEmulator, *timeline: tuple[int, float | None]) -> dict[str, Any]:
    return emu.create_job(job_name=f"sensor-test-{time.monotonic_ns()}", timeline=list(timeline))


def test_poke_mode_waits_until_completed_and_returns_the_version(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (7, 0.3), (8, 0.5), (10, None))
    context = make_context()
    result = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], **FAST).execute(context)
    assert result["status"] == 10 and result["status_name"] == "JOBSTAT_COMPLETED"
    assert result["job_id"] == job["job_id"] and result["version_id"] == job["version_id"]
    assert result["job_name"].startswith("sensor-test-")
    assert context["ti"].xcom["version_id"] == job["version_id"]


def test_poke_mode_fails_at_once_on_a_failure_status(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 0.3), (11, None))
    with pytest.raises(AirflowFailException) as error:
        ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], **FAST).execute(make_context())
    message = str(error.value)
    assert f"job {job['job_id']}" in message and f"version {job['version_id']}" in message
    assert "status 11 (JOBSTAT_FAILED)" in message


def test_terminal_status_outside_the_targets_fails(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 0.2), (12, None))
    sensor = ModelArtsTrainingJobSensor(
        task_id="s", job_id=job["job_id"], target_status=[JobStatus.COMPLETED], failure_statuses=[11], **FAST
    )
    with pytest.raises(AirflowFailException, match="JOBSTAT_KILLED.*not a target"):
        sensor.execute(make_context())


def test_custom_target_status_running(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (7, 0.3), (8, None))
    result = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], target_status=8, **FAST).execute(
        make_context()
    )
    assert result["status"] == 8


def test_missing_job_and_missing_version_fail_without_retries(emu: ModelArtsEmulator) -> None:
    with pytest.raises(AirflowFailException, match="Training job 987654 does not exist"):
        ModelArtsTrainingJobSensor(task_id="s", job_id=987654, **FAST).execute(make_context())
    with pytest.raises(AirflowFailException, match=r"Training job 1 \(version 999999999\) does not exist"):
        ModelArtsTrainingJobSensor(task_id="s", job_id=1, version_id=999999999, **FAST).execute(make_context())


def test_soft_fail_skips_instead(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (11, None))
    with pytest.raises(AirflowSkipException):
        ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], soft_fail=True, **FAST).execute(make_context())


def test_transient_5xx_does_not_fail_a_poke(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (10, None))
    emu.add_fault(kind="status", status=503, count=3)
    result = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], **FAST).execute(make_context())
    assert result["status"] == 10
    assert api_requests(emu) == 5  # versions list + detail, plus the three 503s retried


def test_poke_mode_times_out(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], poke_interval=0.1, timeout=0.5)
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute(make_context())


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store arrived in Airflow 3.3")
def test_reschedule_mode_pins_the_version_across_tries(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 1.0), (10, None))
    store = TaskStateStore()
    first = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], mode="reschedule", **FAST)
    with pytest.raises(AirflowRescheduleException):
        first.execute(make_context(store))
    newer = emu.add_version(job["job_id"], timeline=[(8, None)])  # would never complete
    time.sleep(1.2)
    again = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], mode="reschedule", **FAST)
    result = again.execute(make_context(store))
    assert result["version_id"] == job["version_id"] != newer["version_id"]


@pytest.mark.skipif(AIRFLOW_V_3_3_PLUS, reason="the behaviour without task_state_store (Airflow 3.3)")
def test_below_airflow_3_3_each_reschedule_pins_the_latest_version_again(emu: ModelArtsEmulator) -> None:
    """The documented limitation: without a task state store the pin does not survive a reschedule."""
    job = _job(emu, (8, None))
    store = TaskStateStore()
    first = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], mode="reschedule", **FAST)
    with pytest.raises(AirflowRescheduleException):
        first.execute(make_context(store))
    newer = emu.add_version(job["job_id"], timeline=[(10, None)])
    again = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], mode="reschedule", **FAST)
    result = again.execute(make_context(store))
    assert result["version_id"] == newer["version_id"] != job["version_id"]
    assert store.values == {}


def test_deferrable_checks_first_then_defers_with_a_safe_trigger(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 1.0), (10, None))
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], deferrable=True, **FAST)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, ModelArtsTrainingJobTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is not None and deferred.value.timeout.total_seconds() == 30
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs  # JSON primitives only
    assert kwargs["version_id"] == job["version_id"] and kwargs["modelarts_conn_id"] == "modelarts_default"
    text = json.dumps(kwargs)
    for secret in ("EmulatorSecretKey", "Pa55", "SECURITY-TOKEN"):
        assert secret not in text
    event = asyncio.run(first_event(trigger))
    assert event["status"] == "success" and event["version"]["status_name"] == "JOBSTAT_COMPLETED"
    # Resumed as Airflow does it: through resume_execution, on a new operator object.
    resumed = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], deferrable=True, **FAST)
    result = resumed.resume_execution(deferred.value.method_name, {"event": event}, make_context())
    assert result["version_id"] == job["version_id"] and result["job_id"] == job["job_id"]


def test_deferrable_returns_at_once_for_a_finished_job(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (10, None))
    result = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], deferrable=True, **FAST).execute(
        make_context()
    )
    assert result["status"] == 10


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"status": "failed", "message": "job failed"}, AirflowFailException),
        ({"status": "timeout", "message": "too slow"}, AirflowSensorTimeout),
        ({"status": "error", "message": "boom"}, AirflowException),
        (None, AirflowException),
    ],
)
def test_resume_raises_on_anything_but_success(event: dict[str, Any] | None, error: type) -> None:
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=1)
    with pytest.raises(error) as raised:
        sensor.resume_execution("execute_complete", {"event": event}, make_context())
    assert type(raised.value) is error


def test_resume_after_airflow_timed_the_trigger_out_is_a_sensor_timeout() -> None:
    from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason

    timeout = {"error": TriggerFailureReason.TRIGGER_TIMEOUT}
    with pytest.raises(AirflowSensorTimeout):
        ModelArtsTrainingJobSensor(task_id="s", job_id=1).resume_execution(TRIGGER_FAIL_REPR, timeout, make_context())
    with pytest.raises(AirflowSkipException, match="^Skipping due to soft_fail: "):
        ModelArtsTrainingJobSensor(task_id="s", job_id=1, soft_fail=True).resume_execution(
            TRIGGER_FAIL_REPR, timeout, make_context()
        )


def _trigger(job: dict[str, Any], **overrides: Any) -> ModelArtsTrainingJobTrigger:
    kwargs: dict[str, Any] = {
        "job_id": job["job_id"],
        "version_id": job["version_id"],
        "target_statuses": [10],
        "failure_statuses": [3, 5, 6, 11, 12, 13, 14, 16, 17, 21, 22],
        "poll_interval": 0.2,
        "retry_delay": 0.01,
    }
    kwargs.update(overrides)
    return ModelArtsTrainingJobTrigger(**kwargs)


def test_trigger_reports_failure_and_not_found(emu: ModelArtsEmulator) -> None:
    failing = _job(emu, (8, 0.3), (3, None))
    event = asyncio.run(first_event(_trigger(failing)))
    assert event["status"] == "failed" and "JOBSTAT_IMAGE_FAILED" in event["message"]
    assert event["job_status"] == 3
    missing = asyncio.run(first_event(_trigger({"job_id": 424242, "version_id": 1})))
    assert missing["status"] == "failed" and "not found" in missing["message"]


def test_trigger_times_out_at_its_absolute_deadline(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    event = asyncio.run(first_event(_trigger(job, end_time=time.time() + 0.5)))
    assert event["status"] == "timeout" and event["job_status"] == 8


def test_trigger_reports_an_error_once_retries_are_spent(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    emu.add_fault(kind="status", status=500)
    # max_outage=0: no outage is ridden out, so the first round whose retries are spent ends the wait.
    event = asyncio.run(first_event(_trigger(job, retry_limit=2, max_outage=0)))
    assert event["status"] == "error" and "HTTP 500" in event["message"]
    assert api_requests(emu) == 3


def test_trigger_survives_transient_faults(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 0.5), (10, None))
    emu.add_fault(kind="drop", count=2)
    event = asyncio.run(first_event(_trigger(job)))
    assert event["status"] == "success"


def test_trigger_recreated_from_its_serialised_form_mid_wait(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 1.0), (10, None))
    original = _trigger(job)

    async def run_briefly_then_cancel() -> None:
        task = asyncio.ensure_future(first_event(original))
        await asyncio.sleep(0.5)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_briefly_then_cancel())
    classpath, kwargs = original.serialize()
    module, _, name = classpath.rpartition(".")
    recreated = getattr(importlib.import_module(module), name)(**deserialize(serialize(kwargs)))
    assert recreated.serialize() == original.serialize()
    event = asyncio.run(first_event(recreated))
    assert event["status"] == "success" and event["version_id"] == job["version_id"]


def test_trigger_does_not_block_the_event_loop(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (10, None))
    emu.add_fault(kind="slow", delay=0.6, count=1)

    async def measure() -> float:
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        tick_task = asyncio.ensure_future(ticker())
        await first_event(_trigger(job))
        tick_task.cancel()
        return max(b - a for a, b in zip(ticks, ticks[1:], strict=False))

    # The request took 0.6 s; the loop kept ticking meanwhile (a blocked loop would show a 0.6 s gap).
    assert asyncio.run(measure()) < 0.3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"job_id": "abc"},
        {"job_id": 0},
        {"job_id": 1, "version_id": -1},
        {"job_id": 1, "target_status": []},
        {"job_id": 1, "target_status": 77},
        {"job_id": 1, "target_status": [10, 11], "failure_statuses": [11]},
        {"job_id": 1, "failure_statuses": [10]},
    ],
)
def test_sensor_refuses_bad_arguments_at_parse_time(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ModelArtsValidationError):
        ModelArtsTrainingJobSensor(task_id="s", **kwargs)


def test_poke_mode_under_password_auth_fetches_one_token_for_all_pokes(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 0.8), (10, None))
    emu.reset()
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], modelarts_conn_id="modelarts_token", **FAST)
    assert sensor.execute(make_context())["status"] == 10
    stats = emu.stats()
    assert stats["by_endpoint"]["iam_tokens"] == 1 and stats["by_endpoint"]["get_version"] >= 2


def test_execute_complete_reads_the_version_detail_on_the_worker(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (10, None))
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], modelarts_retry_delay=0.01)
    polled = {"job_id": job["job_id"], "version_id": job["version_id"], "status": 10, "job_name": "x"}
    event = {"status": "success", "message": "done", "job_id": job["job_id"], "version_id": job["version_id"]}
    emu.reset()
    result = sensor.execute_complete(make_context(), {**event, "version": polled})
    assert "spec_code" in result and result["status_name"] == "JOBSTAT_COMPLETED"
    assert emu.stats()["by_endpoint"]["get_version"] == 1
    # If the detail cannot be read, a finished wait is not failed: the polled data is returned.
    emu.add_fault(kind="status", status=500)
    fallback = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], modelarts_retry_limit=0).execute_complete(
        make_context(), {**event, "version": polled}
    )
    assert fallback == polled


def test_a_trigger_cancelled_right_after_a_round_stops(emu: ModelArtsEmulator) -> None:
    """Cancellation must never be lost, whatever moment it lands (asyncio.wait_for before 3.12
    could swallow one that arrived just as a round's result was ready)."""
    job = _job(emu, (8, None))

    async def cancel_after_rounds() -> None:
        for _ in range(10):
            task = asyncio.ensure_future(first_event(_trigger(job, poll_interval=0.05, end_time=time.time() + 60)))
            while not SharedStatusPoller.active() or SharedStatusPoller.active()[0].rounds_run < 1:
                await asyncio.sleep(0.001)
            poller = SharedStatusPoller.active()[0]
            rounds = poller.rounds_run
            while poller.rounds_run == rounds:
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done and task.cancelled()
            assert SharedStatusPoller.active() == []

    asyncio.run(cancel_after_rounds())
