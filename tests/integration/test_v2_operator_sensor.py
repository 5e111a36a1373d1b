"""The v2 search operator and the v2 phase sensor (poke, reschedule, deferrable) and its trigger,
over real HTTP against an emulator whose job clock is manual: phases move only with
``advance_time``, so verdicts are exact, and outages are time-compressed by a wall clock that
jumps a minute at every reading (no test waits for the wall clock)."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from modelarts_emulator import (
    DEFAULT_SECRET_KEY,
    DEMO_TRAINING_JOBS,
    ModelArtsEmulator,
)

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.operators.training_jobs_v2 import ModelArtsSearchTrainingJobsOperator
from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_modelarts.waiting import outage
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from tests.airflow_names import (
    AirflowException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
    deserialize,
    serialize,
)
from tests.conftest import api_requests
from tests.integration.airflow_context import TaskInstanceRuns, TaskStateStore, make_context
from tests.integration.conftest import first_event, manual_clock_emulator
from tests.log_capture import capture_task_logs

CONN_ID = "modelarts_v2_manual"
V2_JOBS = 12
FAST: dict[str, Any] = {
    "modelarts_conn_id": CONN_ID,
    "poke_interval": 0.05,
    "timeout": 60,
    "modelarts_retry_limit": 0,
}
MINUTE = 60.0
_REQUEST_ID = re.compile(r"\[request id \w+\]")


@pytest.fixture(scope="module")
def manual_emulator() -> Iterator[ModelArtsEmulator]:
    with manual_clock_emulator(CONN_ID, v2_job_count=V2_JOBS) as emulator:
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


def _job(emu: ModelArtsEmulator, *timeline: tuple[str, float | None], **options: Any) -> str:
    created = emu.create_training_job(f"v2-sensor-{uuid.uuid4().hex[:8]}", list(timeline), **options)
    return str(created["id"])


def _sensor(training_job_id: str, **overrides: Any) -> ModelArtsTrainingJobPhaseSensor:
    return ModelArtsTrainingJobPhaseSensor(task_id="wait", training_job_id=training_job_id, **{**FAST, **overrides})


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
    """One sensor in each mode waiting for the same job; each mode is driven one check at a time."""

    def __init__(self, training_job_id: str, **overrides: Any) -> None:
        self.training_job_id = training_job_id
        self.overrides = overrides
        self.poke = _sensor(training_job_id, **overrides)
        self.poke_runs = TaskInstanceRuns()
        self.reschedule_runs = TaskInstanceRuns(store=TaskStateStore())
        self.poke_context = self.poke_runs.context()

    def check_poke(self) -> tuple[str, Any]:
        def call() -> Any:
            result = self.poke.poke(self.poke_context)
            return result.xcom_value if result.is_done else "waiting"

        return _outcome(call)

    def check_reschedule(self) -> tuple[str, Any]:
        sensor = _sensor(self.training_job_id, mode="reschedule", **self.overrides)
        self.reschedule_runs.reschedule()
        outcome = _outcome(lambda: sensor.execute(self.reschedule_runs.context()))
        return ("return", "waiting") if outcome[0] == "AirflowRescheduleException" else outcome

    def deferrable(self) -> tuple[str, Any]:
        """Execute deferrably, run the trigger to its event, resume as Airflow does."""
        sensor = _sensor(self.training_job_id, deferrable=True, **self.overrides)
        try:
            result = sensor.execute(make_context())
        except TaskDeferred as deferred:
            trigger = deferred.trigger
            assert isinstance(trigger, ModelArtsTrainingJobPhaseTrigger)
            event = asyncio.run(first_event(trigger))
            resumed = _sensor(self.training_job_id, deferrable=True, **self.overrides)
            method = deferred.method_name
            return _outcome(lambda: resumed.resume_execution(method, {"event": event}, make_context()))
        except Exception as error:
            return _described(error)
        return "return", result


# ---------------------------------------------------------------------------------------------
# The search operator
# ---------------------------------------------------------------------------------------------


def test_the_operator_pushes_compact_rows_total_and_count(emu: ModelArtsEmulator) -> None:
    context = make_context()
    operator = ModelArtsSearchTrainingJobsOperator(
        task_id="search", name="demo-v2", limit=50, modelarts_conn_id=CONN_ID
    )
    rows = operator.execute(context)
    assert sorted(row["id"] for row in rows) == sorted(DEMO_TRAINING_JOBS.values())
    assert context["ti"].xcom["count"] == len(DEMO_TRAINING_JOBS)
    assert context["ti"].xcom["total"] > len(DEMO_TRAINING_JOBS)  # every job of the default workspace
    row = next(row for row in rows if row["name"] == "demo-v2-bert-finetune-oom")
    assert set(row) >= {"id", "name", "phase", "create_time", "duration", "flavor", "node_count", "tasks"}
    assert row["node_count"] == 2
    assert len(json.dumps(rows)) < 600 * len(rows)
    assert api_requests(emu) == 1


def test_fetch_all_pages_through_every_match_and_stops_at_max_results(emu: ModelArtsEmulator) -> None:
    context = make_context()
    rows = ModelArtsSearchTrainingJobsOperator(
        task_id="search", fetch_all=True, limit=5, modelarts_conn_id=CONN_ID
    ).execute(context)
    count = context["ti"].xcom["count"]
    assert len(rows) == count and len({row["id"] for row in rows}) == count
    assert api_requests(emu) == -(-count // 50)  # fetch_all reads 50 a page, whatever limit says
    emu.reset()
    capped = ModelArtsSearchTrainingJobsOperator(
        task_id="search", fetch_all=True, max_results=3, modelarts_conn_id=CONN_ID
    ).execute(make_context())
    assert len(capped) == 3 and api_requests(emu) == 1


def test_a_full_page_warns_that_more_jobs_may_match(emu: ModelArtsEmulator) -> None:
    operator = ModelArtsSearchTrainingJobsOperator(task_id="search", limit=2, modelarts_conn_id=CONN_ID)
    with capture_task_logs() as logs:
        assert len(operator.execute(make_context())) == 2
    warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1
    assert "Page 0 came back full (2 job(s), limit=2)" in warnings[0] and "offset=1" in warnings[0]


def test_xcom_fields_all_pushes_the_api_objects(emu: ModelArtsEmulator) -> None:
    rows = ModelArtsSearchTrainingJobsOperator(
        task_id="search", name="demo-v2-queued", xcom_fields="all", modelarts_conn_id=CONN_ID
    ).execute(make_context())
    assert [row["metadata"]["id"] for row in rows] == [DEMO_TRAINING_JOBS["demo-v2-queued"]]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"limit": 51}, "limit"),
        ({"offset": -1}, "offset"),
        ({"order": "up"}, "order"),
        ({"phase": "Done"}, "phase"),
        ({"filters": [{"key": "Color!", "operator": "in", "value": ["x"]}]}, "filters[].key"),
        ({"fetch_all": "yes"}, "fetch_all"),
        ({"max_results": 0}, "max_results"),
    ],
)
def test_bad_literal_arguments_are_refused_at_parse_time(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        ModelArtsSearchTrainingJobsOperator(task_id="search", **kwargs)
    assert error.value.parameter == parameter


def test_run_time_values_are_validated_once_resolved_before_any_request(emu: ModelArtsEmulator) -> None:
    operator = ModelArtsSearchTrainingJobsOperator(
        task_id="search",
        limit="{{ params.limit }}",
        filters=[{"key": "phase", "operator": "in", "value": ["{{ params.phase }}"]}],
        modelarts_conn_id=CONN_ID,
    )
    operator.limit, operator.filters = "500", [{"key": "phase", "operator": "in", "value": ["Running"]}]
    with pytest.raises(ModelArtsValidationError, match="'limit'"):
        operator.execute(make_context())
    assert api_requests(emu) == 0
    operator.limit = "10"
    rows = operator.execute(make_context())
    assert rows and {row["phase"] for row in rows} == {"Running"}


# ---------------------------------------------------------------------------------------------
# The phase sensor: the same verdict and message in every mode
# ---------------------------------------------------------------------------------------------


def test_every_mode_returns_the_same_summary_for_a_completed_job(emu: ModelArtsEmulator) -> None:
    job = _job(emu, ("Running", 30), ("Completed", None))
    modes = ThreeModes(job)
    assert modes.check_poke() == ("return", "waiting")
    assert modes.check_reschedule() == ("return", "waiting")
    emu.advance_time(31)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.deferrable()
    assert poke == reschedule == deferrable
    kind, summary = poke
    assert kind == "return" and summary["id"] == job and summary["phase"] == "Completed"
    assert {"name", "duration", "task_statuses", "outputs"} <= set(summary)
    assert summary["task_statuses"] and all(entry["exit_code"] == 0 for entry in summary["task_statuses"])


def test_a_failed_job_fails_every_mode_at_once_with_its_exit_code(emu: ModelArtsEmulator) -> None:
    job = _job(emu, ("Running", 20), ("Failed", None), exit_code=137, message="OOMKilled")
    modes = ThreeModes(job)
    assert modes.check_poke() == ("return", "waiting")
    emu.advance_time(21)
    poke, reschedule = modes.check_poke(), modes.check_reschedule()
    deferrable = modes.deferrable()  # its first check sees the failure: no deferral needed
    assert poke == reschedule == deferrable
    kind, message = poke
    assert kind == "AirflowFailException"
    assert f"Training job {job} is Failed" in message
    assert "exit code 137" in message and "OOMKilled" in message


def test_the_trigger_reaches_the_same_failure_as_poke_mode(emu: ModelArtsEmulator) -> None:
    job = _job(emu, ("Running", 20), ("Failed", None), exit_code=2, message="No such file")
    modes = ThreeModes(job)
    sensor = _sensor(job, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    emu.advance_time(21)
    event = asyncio.run(first_event(deferred.value.trigger))  # type: ignore[arg-type]
    assert event["status"] == "failed" and event["phase"] == "Failed"
    resumed = _outcome(lambda: sensor.resume_execution("execute_complete", {"event": event}, make_context()))
    assert resumed == modes.check_poke() == modes.check_reschedule()
    assert "exit code 2" in resumed[1] and "No such file" in resumed[1]


def test_an_abnormal_job_fails_a_wait_for_completed_naming_its_secondary_phase(emu: ModelArtsEmulator) -> None:
    job = _job(emu, ("Creating", 5), ("Abnormal", None, "CreateFailed"))
    emu.advance_time(6)
    kind, message = ThreeModes(job).check_poke()
    assert kind == "AirflowFailException" and "Abnormal" in message and "CreateFailed" in message


def test_a_missing_job_fails_at_once_in_every_mode(emu: ModelArtsEmulator) -> None:
    missing = str(uuid.uuid4())
    modes = ThreeModes(missing)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.deferrable()
    assert poke == reschedule == deferrable
    assert poke[0] == "AirflowFailException" and f"Training job {missing} does not exist" in poke[1]
    trigger = ModelArtsTrainingJobPhaseTrigger(missing, ["Completed"], ["Failed"], CONN_ID, poll_interval=0.05)
    event = asyncio.run(first_event(trigger))
    assert event["status"] == "failed" and "does not exist" in event["message"]


def test_soft_fail_skips_a_failure_phase_and_never_fail_any_error(emu: ModelArtsEmulator) -> None:
    job = _job(emu, ("Failed", None), exit_code=1, message="boom")
    with pytest.raises(AirflowSkipException, match="^Skipping due to soft_fail: Training job"):
        _sensor(job, soft_fail=True).execute(make_context())
    emu.add_fault(kind="status", status=500)
    with pytest.raises(AirflowSkipException, match="^Skipping due to never_fail: "):
        _sensor(job, never_fail=True, max_outage=0).execute(make_context())
    emu.clear_faults()


def test_the_trigger_kwargs_are_json_without_secrets_and_survive_re_creation(emu: ModelArtsEmulator) -> None:
    job = _job(emu, ("Running", 10), ("Completed", None))
    with pytest.raises(TaskDeferred) as deferred:
        _sensor(job, deferrable=True, max_outage=timedelta(minutes=5)).execute(make_context())
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs and kwargs["max_outage"] == 300.0
    assert DEFAULT_SECRET_KEY not in json.dumps(kwargs)
    module, _, name = classpath.rpartition(".")
    recreated = getattr(importlib.import_module(module), name)(**deserialize(serialize(kwargs)))
    assert recreated.serialize() == trigger.serialize()
    emu.advance_time(11)
    assert asyncio.run(first_event(recreated))["status"] == "success"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"training_job_id": "42"},
        {"training_job_id": str(uuid.uuid4()), "target_phases": "Done"},
        {"training_job_id": str(uuid.uuid4()), "target_phases": ["Completed"], "failure_phases": ["Completed"]},
        {"training_job_id": str(uuid.uuid4()), "max_outage": -1},
        {"training_job_id": str(uuid.uuid4()), "max_outage": "15m"},
        {"training_job_id": str(uuid.uuid4()), "workspace_id": "not-a-workspace"},
    ],
)
def test_the_sensor_refuses_bad_literal_arguments_at_parse_time(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ModelArtsValidationError):
        ModelArtsTrainingJobPhaseSensor(task_id="wait", **kwargs)


def test_a_templated_job_id_is_validated_once_resolved(emu: ModelArtsEmulator) -> None:
    sensor = _sensor("{{ ti.xcom_pull('search')[0]['id'] }}")
    sensor.training_job_id = "not-a-uuid"
    with pytest.raises(ModelArtsValidationError, match="'training_job_id'"):
        sensor.execute(make_context())
    assert api_requests(emu) == 0


# ---------------------------------------------------------------------------------------------
# Outages: ridden out up to max_outage (default 15 minutes), in every mode
# ---------------------------------------------------------------------------------------------


def _ten_minute_outage(emu: ModelArtsEmulator, job: str) -> None:
    """503 for the next 11 checks of ``job``: 10 minutes on the minute clock."""
    emu.add_fault(kind="status", status=503, count=11, path_contains=job)


def test_poke_and_reschedule_ride_out_a_ten_minute_outage_and_end_in_the_jobs_outcome(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, ("Running", 5), ("Completed", None))
    modes = ThreeModes(job)
    assert modes.check_poke() == ("return", "waiting")
    for check in (modes.check_poke, modes.check_reschedule):
        _ten_minute_outage(emu, job)
        for _ in range(11):
            assert check() == ("return", "waiting")
    emu.advance_time(6)
    assert modes.check_poke()[1]["phase"] == "Completed"
    assert modes.check_reschedule()[1]["phase"] == "Completed"


def test_the_deferrable_mode_rides_out_a_ten_minute_outage(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, ("Running", 5), ("Failed", None), exit_code=3, message="bad input")
    sensor = _sensor(job, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    _ten_minute_outage(emu, job)
    emu.advance_time(6)
    event = asyncio.run(first_event(deferred.value.trigger))  # type: ignore[arg-type]
    assert event["status"] == "failed" and "exit code 3" in event["message"]
    assert emu.stats()["requests_total"] == 1 + 11 + 1  # the first check, 11 failed rounds, the verdict


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store arrived in Airflow 3.3")
def test_an_outage_longer_than_max_outage_fails_through_the_normal_path_in_every_mode(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, ("Running", None))
    modes = ThreeModes(job)
    emu.add_fault(kind="status", status=503, path_contains=job)
    outcomes = []
    for check in (modes.check_poke, modes.check_reschedule):
        results = [check() for _ in range(16)]
        # Checks at 0, 1, ..., 14 minutes are ridden out; the one at 15 minutes fails.
        assert results[:15] == [("return", "waiting")] * 15
        outcomes.append(results[15])
    outcomes.append(modes.deferrable())
    emu.clear_faults()
    for kind, message in outcomes:
        # An AirflowException, not AirflowFailException: the task's retries apply.
        assert kind == "AirflowException"
        assert "failing for 900.0 s, reaching max_outage 900 s" in message and "HTTP 503" in message
    assert outcomes[0] == outcomes[1]


@pytest.mark.skipif(AIRFLOW_V_3_3_PLUS, reason="the behaviour without task_state_store (Airflow 3.3)")
def test_below_airflow_3_3_only_reschedule_mode_restarts_the_outage_count_at_each_reschedule(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    """The documented limitation: without a task state store the outage start does not survive a
    reschedule, so reschedule mode keeps waiting; poke and deferrable mode fail at max_outage."""
    job = _job(emu, ("Running", None))
    modes = ThreeModes(job)
    emu.add_fault(kind="status", status=503, path_contains=job)
    assert [modes.check_reschedule() for _ in range(16)] == [("return", "waiting")] * 16
    poke = [modes.check_poke() for _ in range(16)]
    assert poke[:15] == [("return", "waiting")] * 15
    outcomes = [poke[15], modes.deferrable()]
    emu.clear_faults()
    for kind, message in outcomes:
        assert kind == "AirflowException"
        assert "failing for 900.0 s, reaching max_outage 900 s" in message and "HTTP 503" in message


def test_auth_errors_are_never_ridden_out(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, ("Running", None))
    emu.add_fault(kind="status", status=403, path_contains=job, count=1)
    kind, _ = ThreeModes(job).check_poke()
    assert kind == "AirflowFailException"
    assert api_requests(emu) == 1


def test_a_task_retry_starts_a_fresh_outage(emu: ModelArtsEmulator, minute_clock: None) -> None:
    job = _job(emu, ("Running", None))
    runs = TaskInstanceRuns(retries=1, store=TaskStateStore())
    emu.add_fault(kind="status", status=503, path_contains=job)
    for _ in range(15):
        with pytest.raises(AirflowRescheduleException):
            _sensor(job, mode="reschedule").execute(runs.context())
    with pytest.raises(AirflowException):
        _sensor(job, mode="reschedule").execute(runs.context())
    runs.retry()
    with pytest.raises(AirflowRescheduleException):
        _sensor(job, mode="reschedule").execute(runs.context())
    emu.clear_faults()


def test_a_trigger_re_created_mid_outage_keeps_counting_from_the_outage_start(
    emu: ModelArtsEmulator, minute_clock: None
) -> None:
    job = _job(emu, ("Running", None))
    emu.add_fault(kind="status", status=503, path_contains=job)
    original = ModelArtsTrainingJobPhaseTrigger(
        job, ["Completed"], ["Failed"], CONN_ID, poll_interval=0.3, retry_limit=0
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
    assert kwargs["outage_started_at"] is not None
    module, _, name = classpath.rpartition(".")
    recreated = getattr(importlib.import_module(module), name)(**deserialize(serialize(kwargs)))
    event = asyncio.run(first_event(recreated))
    emu.clear_faults()
    assert event["status"] == "error" and "failing for 900.0 s" in event["message"]
    assert api_requests(emu) == 16  # 3 before the re-creation, 13 after: not 16 more


def test_a_timeout_says_the_same_in_poke_and_deferrable_mode(emu: ModelArtsEmulator) -> None:
    """Airflow words a poke-mode timeout itself and the trigger words its own: the sensor gives
    both the one message (the timeout, the phases awaited and the last phase seen)."""
    job = _job(emu, ("Running", None))
    poke = _sensor(job, timeout=0.3, poke_interval=0.1)
    with pytest.raises(AirflowSensorTimeout) as poked:
        poke.execute(TaskInstanceRuns(task_id="wait").context())
    deferred = _sensor(job, timeout=0.3, deferrable=True)
    runs = TaskInstanceRuns(task_id="wait")
    with pytest.raises(TaskDeferred) as deferral:
        deferred.execute(runs.context())
    trigger = deferral.value.trigger
    assert isinstance(trigger, ModelArtsTrainingJobPhaseTrigger)
    event = asyncio.run(first_event(trigger))
    assert event["status"] == "timeout"
    with pytest.raises(AirflowSensorTimeout) as resumed:
        deferred.resume_execution("execute_complete", {"event": event}, runs.context())
    expected = f"Sensor has timed out after 0.3 s waiting for training job {job} to reach Completed; last check: phase "
    assert str(poked.value).startswith(expected) and str(poked.value) == str(resumed.value)


def test_a_trigger_picked_up_after_its_deadline_still_reports_the_phase_the_sensor_saw(emu: ModelArtsEmulator) -> None:
    """A busy triggerer can start a trigger after its end time: it times out before its own first
    check, and the message still names the last phase seen (the deferring check's), as poke mode's."""
    job = _job(emu, ("Running", None))
    runs = TaskInstanceRuns(task_id="wait")
    with pytest.raises(TaskDeferred) as deferral:
        _sensor(job, deferrable=True).execute(runs.context())
    path, kwargs = deferral.value.trigger.serialize()
    assert path.endswith("ModelArtsTrainingJobPhaseTrigger") and kwargs["last_phase"] == "Running"
    late = ModelArtsTrainingJobPhaseTrigger(**{**kwargs, "end_time": kwargs["end_time"] - 3600})
    event = asyncio.run(first_event(late))
    assert event["status"] == "timeout" and event["phase"] == "Running"
    assert event["message"] == f"timed out waiting for training job {job}: training job {job} is Running"
    with pytest.raises(AirflowSensorTimeout) as resumed:
        _sensor(job, deferrable=True).resume_execution("execute_complete", {"event": event}, runs.context())
    assert str(resumed.value) == (
        f"Sensor has timed out after 60 s waiting for training job {job} to reach Completed; last check: phase Running."
    )
