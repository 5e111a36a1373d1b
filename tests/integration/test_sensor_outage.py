"""The v1 training-job sensor and its trigger ride out API outages up to ``max_outage``, in poke,
reschedule and deferrable mode, over real HTTP against an emulator whose job clock is manual:
statuses move only with ``advance_time``, and outages are time-compressed by a wall clock that
jumps a minute at every reading (no test waits for the wall clock)."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from modelarts_emulator import (
    DEFAULT_SECRET_KEY,
    ModelArtsEmulator,
)

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_modelarts.waiting import outage
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from tests.airflow_names import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    TaskDeferred,
    deserialize,
    serialize,
)
from tests.conftest import api_requests
from tests.integration.airflow_context import TaskInstanceRuns, TaskStateStore, make_context
from tests.integration.conftest import first_event, manual_clock_emulator

CONN_ID = "modelarts_v1_manual"
FAST: dict[str, Any] = {
    "modelarts_conn_id": CONN_ID,
    "poke_interval": 0.05,
    "timeout": 60,
    "modelarts_retry_limit": 0,
}
MINUTE = 60.0
RUNNING, COMPLETED, FAILED = 8, 10, 11
_REQUEST_ID = re.compile(r"\[request id \w+\]")


@pytest.fixture(scope="module")
def manual_emulator() -> Iterator[ModelArtsEmulator]:
    with manual_clock_emulator(CONN_ID) as emulator:
        yield emulator


@pytest.fixture
def emu(manual_emulator: ModelArtsEmulator) -> ModelArtsEmulator:
    manual_emulator.reset()
    return manual_emulator


@pytest.fixture
def minute_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outages measured on a clock that moves one minute at each failed check."""
    ticks = itertools.count(1_700_000_000.0, MINUTE)
    monkeypatch.setattr(outage, "wall_clock", lambda: next(ticks))


def _job(emu: ModelArtsEmulator, *timeline: tuple[int, float | None]) -> dict[str, Any]:
    created = emu.create_job(job_name=f"v1-outage-{next(_names)}", timeline=list(timeline))
    emu.reset()  # counts start after the set-up
    return created


_names = itertools.count()


def _sensor(job: dict[str, Any], **overrides: Any) -> ModelArtsTrainingJobSensor:
    return ModelArtsTrainingJobSensor(task_id="wait", job_id=job["job_id"], **{**FAST, **overrides})


def _outage(emu: ModelArtsEmulator, job: dict[str, Any], checks: int | None = None) -> None:
    """503 on every request for ``job`` (both the version list and the version detail), for the
    next ``checks`` requests or until cleared."""
    emu.add_fault(kind="status", status=503, count=checks, path_contains=f"/training-jobs/{job['job_id']}/")


def _ten_minute_outage(emu: ModelArtsEmulator, job: dict[str, Any]) -> None:
    """503 for the next 11 checks of ``job``: 10 minutes on the minute clock."""
    _outage(emu, job, 11)


def _outcome(call: Any) -> tuple[str, Any]:
    """What a sensor call ended in: ("return", value) or (exception type name, message without
    the request id, which differs from one request to the next)."""
    try:
        return "return", call()
    except Exception as error:
        return _described(error)


def _described(error: Exception) -> tuple[str, str]:
    return type(error).__name__, _REQUEST_ID.sub("[request id]", str(error))


class ThreeModes:
    """One sensor in each mode waiting for the same job; poke and reschedule are driven one check
    at a time, the deferrable mode from its first check to its resumption."""

    def __init__(self, job: dict[str, Any], **overrides: Any) -> None:
        self.job = job
        self.overrides = overrides
        self.poke = _sensor(job, **overrides)
        self.poke_context = TaskInstanceRuns().context()
        self.reschedule_runs = TaskInstanceRuns(store=TaskStateStore())

    def check_poke(self) -> tuple[str, Any]:
        def call() -> Any:
            result = self.poke.poke(self.poke_context)  # type: ignore[arg-type]
            return result.xcom_value if result.is_done else "waiting"

        return _outcome(call)

    def check_reschedule(self) -> tuple[str, Any]:
        sensor = _sensor(self.job, mode="reschedule", **self.overrides)
        self.reschedule_runs.reschedule()
        outcome = _outcome(lambda: sensor.execute(self.reschedule_runs.context()))  # type: ignore[arg-type]
        return ("return", "waiting") if outcome[0] == "AirflowRescheduleException" else outcome

    def deferrable(self) -> tuple[str, Any]:
        """Execute deferrably, run the trigger to its event, resume as Airflow does."""
        runs = TaskInstanceRuns(store=TaskStateStore())
        sensor = _sensor(self.job, deferrable=True, **self.overrides)
        try:
            result = sensor.execute(runs.context())  # type: ignore[arg-type]
        except TaskDeferred as deferred:
            assert isinstance(deferred.trigger, ModelArtsTrainingJobTrigger)
            event = asyncio.run(first_event(deferred.trigger))
            runs.resume()
            resumed = _sensor(self.job, deferrable=True, **self.overrides)
            method = deferred.method_name
            return _outcome(lambda: resumed.resume_execution(method, {"event": event}, runs.context()))  # type: ignore[arg-type]
        except Exception as error:
            return _described(error)
        return "return", result


# ---------------------------------------------------------------------------------------------
# A ten-minute outage in the middle of a wait: ridden out, the wait ends in the job's outcome
# ---------------------------------------------------------------------------------------------


def test_poke_and_reschedule_ride_out_a_ten_minute_outage_and_end_in_the_jobs_outcome(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, (RUNNING, 5), (COMPLETED, None))
    modes = ThreeModes(job)
    assert modes.check_poke() == ("return", "waiting")
    for check in (modes.check_poke, modes.check_reschedule):
        # The reschedule sensor meets the outage at its first check, before it has pinned the version.
        _ten_minute_outage(emu, job)
        for _ in range(11):
            assert check() == ("return", "waiting")
    emu.advance_time(6)
    for check in (modes.check_poke, modes.check_reschedule):
        kind, value = check()
        assert kind == "return" and value["status"] == COMPLETED and value["version_id"] == job["version_id"]


def test_poke_mode_rides_out_a_ten_minute_outage_through_execute(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, (COMPLETED, None))
    _ten_minute_outage(emu, job)
    result = _sensor(job, version_id=job["version_id"]).execute(make_context())  # type: ignore[arg-type]
    assert result["status"] == COMPLETED
    assert api_requests(emu) == 11 + 1  # 11 failed checks, then the one that saw the status


def test_a_successful_check_ends_the_outage_so_the_next_one_gets_the_full_max_outage(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, (RUNNING, None))
    modes = ThreeModes(job, version_id=job["version_id"])
    for _ in range(2):
        _ten_minute_outage(emu, job)
        assert [modes.check_poke() for _ in range(11)] == [("return", "waiting")] * 11
        assert modes.check_poke() == ("return", "waiting")  # the API answers: the outage is over
    # 22 failed checks in all, but never 15 minutes of them in a row.
    assert api_requests(emu) == 2 * 12


def test_the_deferrable_mode_rides_out_a_ten_minute_outage(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, (RUNNING, 5), (FAILED, None))
    runs = TaskInstanceRuns(store=TaskStateStore())
    with pytest.raises(TaskDeferred) as deferred:
        _sensor(job, deferrable=True).execute(runs.context())  # type: ignore[arg-type]
    assert api_requests(emu) == 2  # pinned the latest version, read its status
    _ten_minute_outage(emu, job)
    emu.advance_time(6)
    event = asyncio.run(first_event(deferred.value.trigger))  # type: ignore[arg-type]
    assert event["status"] == "failed" and "status 11 (JOBSTAT_FAILED)" in event["message"]
    assert api_requests(emu) == 2 + 11 + 1  # the first check, 11 failed rounds, the verdict
    runs.resume()
    with pytest.raises(AirflowFailException, match=r"status 11 \(JOBSTAT_FAILED\): a failure status"):
        _sensor(job, deferrable=True).resume_execution(
            deferred.value.method_name,
            {"event": event},
            runs.context(),  # type: ignore[arg-type]
        )


def test_a_deferrable_sensor_rides_out_an_outage_that_hides_the_version_to_pin(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, (RUNNING, None))
    _outage(emu, job, 3)
    with pytest.raises(TaskDeferred) as deferred:
        _sensor(job, deferrable=True).execute(make_context())  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    assert isinstance(trigger, ModelArtsTrainingJobTrigger)
    _, kwargs = trigger.serialize()
    # Three failed pins, then the pin and the status read; the trigger watches the pinned version.
    assert kwargs["version_id"] == job["version_id"] and api_requests(emu) == 3 + 2
    assert kwargs["outage_started_at"] is None  # the check before deferring answered


def test_the_outage_the_first_check_met_goes_on_in_the_trigger(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, (RUNNING, None))
    _outage(emu, job, 1)
    with pytest.raises(TaskDeferred) as deferred:
        _sensor(job, deferrable=True, version_id=job["version_id"]).execute(make_context())  # type: ignore[arg-type]
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["outage_started_at"] == 1_700_000_000.0


# ---------------------------------------------------------------------------------------------
# Past max_outage: the task fails through the normal path, with the same message in every mode
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS,
    reason="task_state_store arrived in Airflow 3.3: below it a reschedule restarts the outage count",
)
def test_an_outage_longer_than_max_outage_fails_through_the_normal_path_in_every_mode(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, (RUNNING, None))
    modes = ThreeModes(job, version_id=job["version_id"])
    _outage(emu, job)
    outcomes = []
    for check in (modes.check_poke, modes.check_reschedule):
        results = [check() for _ in range(16)]
        # Checks at 0, 1, ..., 14 minutes are ridden out; the one at 15 minutes fails.
        assert results[:15] == [("return", "waiting")] * 15
        outcomes.append(results[15])
    # Deferrable: the check before deferring fails at minute 0, the trigger's rounds at 1 to 15.
    outcomes.append(modes.deferrable())
    emu.clear_faults()
    expected = (
        f"Checking training job {job['job_id']} (version {job['version_id']}) failed: ModelArts API error (HTTP 503"
    )
    for kind, message in outcomes:
        # An AirflowException, not AirflowFailException: the task's retries apply.
        assert kind == "AirflowException"
        assert message.startswith(expected)
        assert message.endswith("(the API has been failing for 900.0 s, reaching max_outage 900 s)")
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert api_requests(emu) == 16 + 16 + 16


def test_max_outage_takes_a_timedelta_and_zero_rides_out_nothing(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, (RUNNING, None))
    _outage(emu, job)
    five_minutes = ThreeModes(job, version_id=job["version_id"], max_outage=timedelta(minutes=5))
    assert [five_minutes.check_poke()[0] for _ in range(6)] == ["return"] * 5 + ["AirflowException"]
    kind, message = ThreeModes(job, version_id=job["version_id"], max_outage=0).check_poke()
    assert kind == "AirflowException" and message.endswith("(max_outage is 0, so no outage is ridden out)")
    emu.clear_faults()


@pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS,
    reason="task_state_store arrived in Airflow 3.3: below it a reschedule restarts the outage count",
)
def test_a_task_retry_starts_a_fresh_outage(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, (RUNNING, None))
    runs = TaskInstanceRuns(retries=1, store=TaskStateStore())
    _outage(emu, job)
    for _ in range(15):
        with pytest.raises(AirflowRescheduleException):
            _sensor(job, mode="reschedule").execute(runs.context())  # type: ignore[arg-type]
        runs.reschedule()
    with pytest.raises(AirflowException) as failed:
        _sensor(job, mode="reschedule").execute(runs.context())  # type: ignore[arg-type]
    assert type(failed.value) is AirflowException
    runs.retry()
    with pytest.raises(AirflowRescheduleException):
        _sensor(job, mode="reschedule").execute(runs.context())  # type: ignore[arg-type]
    emu.clear_faults()


# ---------------------------------------------------------------------------------------------
# Errors no retry can fix are never ridden out
# ---------------------------------------------------------------------------------------------


def test_auth_errors_are_never_ridden_out_in_any_mode(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, (RUNNING, None))
    modes = ThreeModes(job, version_id=job["version_id"])
    outcomes = []
    for check in (modes.check_poke, modes.check_reschedule, modes.deferrable):
        emu.add_fault(kind="status", status=403, path_contains=f"/training-jobs/{job['job_id']}/", count=1)
        outcomes.append(check())
    assert api_requests(emu) == 3  # one request each: not retried, not ridden out
    for kind, message in outcomes:
        assert kind == "AirflowFailException"
        assert "a retry would fail the same way" in message and "HTTP 403" in message
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_the_trigger_does_not_ride_out_a_403(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, (RUNNING, None))
    emu.add_fault(kind="status", status=403, path_contains=f"/training-jobs/{job['job_id']}/")
    trigger = ModelArtsTrainingJobTrigger(
        job["job_id"], job["version_id"], [COMPLETED], [FAILED], CONN_ID, poll_interval=0.05, retry_limit=0
    )
    event = asyncio.run(first_event(trigger))
    emu.clear_faults()
    assert event["status"] == "failed" and "HTTP 403" in event["message"]
    assert api_requests(emu) == 1


# ---------------------------------------------------------------------------------------------
# The trigger's kwargs carry the outage, so a re-created trigger keeps counting
# ---------------------------------------------------------------------------------------------


def test_the_trigger_kwargs_carry_max_outage_as_json_and_survive_re_creation(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (RUNNING, 10), (COMPLETED, None))
    with pytest.raises(TaskDeferred) as deferred:
        _sensor(job, deferrable=True, max_outage=timedelta(minutes=5)).execute(make_context())  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["max_outage"] == 300.0 and kwargs["outage_started_at"] is None
    assert DEFAULT_SECRET_KEY not in json.dumps(kwargs)
    module, _, name = classpath.rpartition(".")
    recreated = getattr(importlib.import_module(module), name)(**deserialize(serialize(kwargs)))
    assert recreated.serialize() == trigger.serialize()
    emu.advance_time(11)
    assert asyncio.run(first_event(recreated))["status"] == "success"


def test_a_trigger_re_created_mid_outage_keeps_counting_from_the_outage_start(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, (RUNNING, None))
    _outage(emu, job)
    original = ModelArtsTrainingJobTrigger(
        job["job_id"], job["version_id"], [COMPLETED], [FAILED], CONN_ID, poll_interval=0.3, retry_limit=0
    )

    async def run_three_failed_rounds_then_cancel() -> None:
        task = asyncio.ensure_future(first_event(original))
        while not SharedStatusPoller.active() or SharedStatusPoller.active()[0].rounds_run < 3:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the trigger has handled round 3; round 4 is 0.25 s away
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_three_failed_rounds_then_cancel())
    classpath, kwargs = original.serialize()
    assert kwargs["outage_started_at"] == 1_700_000_000.0
    module, _, name = classpath.rpartition(".")
    recreated = getattr(importlib.import_module(module), name)(**deserialize(serialize(kwargs)))
    event = asyncio.run(first_event(recreated))
    emu.clear_faults()
    assert event["status"] == "error" and "failing for 900.0 s" in event["message"]
    assert api_requests(emu) == 16  # 3 before the re-creation, 13 after: not 16 more


# ---------------------------------------------------------------------------------------------
# Bad max_outage values are refused when the DAG is parsed
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, "15m", float("nan"), True])
def test_a_bad_max_outage_is_refused_at_parse_time_naming_it(value: object) -> None:
    with pytest.raises(ModelArtsValidationError, match="'max_outage'"):
        ModelArtsTrainingJobSensor(task_id="wait", job_id=1, max_outage=value)  # type: ignore[arg-type]


def test_a_deferrable_sensor_whose_pin_outage_outlasts_its_timeout_times_out(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, (RUNNING, None))
    _outage(emu, job)
    expected = rf"^Sensor has timed out after 0.2 s waiting for training job {job['job_id']} "
    with pytest.raises(AirflowSensorTimeout, match=expected):
        _sensor(job, deferrable=True, timeout=0.2).execute(make_context())  # type: ignore[arg-type]
    emu.clear_faults()


def test_without_a_task_state_store_poke_mode_keeps_the_outage_on_the_sensor(
    emu: ModelArtsEmulator, minute_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow before 3.3 has no task state store: the outage is counted on the sensor object."""
    monkeypatch.setattr(outage, "task_state_store", lambda context: None)
    job = _job(emu, (RUNNING, None))
    _outage(emu, job)
    modes = ThreeModes(job, version_id=job["version_id"])
    results = [modes.check_poke() for _ in range(16)]
    emu.clear_faults()
    assert results[:15] == [("return", "waiting")] * 15
    assert results[15][0] == "AirflowException" and "reaching max_outage 900 s" in results[15][1]
