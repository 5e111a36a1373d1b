"""The sensor reaches the same verdict, with the same message, in poke, reschedule and deferrable
mode (soft_fail and never_fail included); its pinned version belongs to one job and one Clear; its
arguments may be resolved at run time; its console link never looks up a missing XCom.

Each mode runs as Airflow runs it: ``execute`` for each try or reschedule, the trigger's own
``run()`` for the deferral, and ``resume_execution`` to resume, with task contexts that keep
task state and XComs as Airflow 3.3 does (``airflow_context.TaskInstanceRuns``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk import DAG, task
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.exceptions import ModelArtsServerError, ModelArtsValidationError
from airflow_provider_modelarts.links import CONSOLE_LINK_XCOM_KEY, ModelArtsConsoleLink
from airflow_provider_modelarts.sensors.training_job import PINNED_VERSION_KEY, ModelArtsTrainingJobSensor
from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from tests.airflow_names import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
    TriggerFailureReason,
)
from tests.conftest import api_requests
from tests.integration.airflow_context import TaskInstanceRuns, TaskStateStore, make_context
from tests.integration.conftest import first_event
from tests.log_capture import capture_task_logs

FAST = {"poke_interval": 0.1, "timeout": 30, "modelarts_retry_delay": 0.01}
MODES = ("poke", "reschedule", "deferrable")


def _job(emu: ModelArtsEmulator, *timeline: tuple[int, float | None]) -> dict[str, Any]:
    return emu.create_job(job_name=f"verdict-{time.monotonic_ns()}", timeline=list(timeline))


def _sensor(mode: str, job_id: Any, **kwargs: Any) -> ModelArtsTrainingJobSensor:
    if mode == "deferrable":
        return ModelArtsTrainingJobSensor(task_id="s", job_id=job_id, deferrable=True, **FAST, **kwargs)
    return ModelArtsTrainingJobSensor(task_id="s", job_id=job_id, mode=mode, deferrable=False, **FAST, **kwargs)


def _run_until_done(mode: str, job_id: Any, runs: TaskInstanceRuns | None = None, **kwargs: Any) -> Any:
    """Run the sensor as Airflow would in ``mode`` until it returns or raises its verdict."""
    runs = runs or TaskInstanceRuns(task_id="s")
    if mode == "poke":
        return _sensor(mode, job_id, **kwargs).execute(runs.context())  # type: ignore[arg-type]
    if mode == "reschedule":
        for _ in range(300):
            try:
                return _sensor(mode, job_id, **kwargs).execute(runs.context())  # type: ignore[arg-type]
            except AirflowRescheduleException:
                runs.reschedule()
                time.sleep(FAST["poke_interval"])
        raise AssertionError("the rescheduled sensor never finished")
    try:
        return _sensor(mode, job_id, **kwargs).execute(runs.context())  # type: ignore[arg-type]
    except TaskDeferred as deferred:
        event = asyncio.run(first_event(deferred.trigger))  # type: ignore[arg-type]
        runs.resume()
        resumed = _sensor(mode, job_id, **kwargs)  # a resumed task runs in a new process
        return resumed.resume_execution(deferred.method_name, {"event": event}, runs.context())  # type: ignore[arg-type]


def _outcome(mode: str, job_id: Any, **kwargs: Any) -> tuple[type[BaseException], str]:
    with pytest.raises(AirflowException) as raised:
        _run_until_done(mode, job_id, **kwargs)
    return type(raised.value), str(raised.value)


# -- item 1f: soft_fail and never_fail --------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected_type", "prefix"),
    [
        ({}, AirflowFailException, ""),
        ({"soft_fail": True}, AirflowSkipException, "Skipping due to soft_fail: "),
        ({"never_fail": True}, AirflowSkipException, "Skipping due to never_fail: "),
    ],
)
def test_a_failure_status_gets_the_same_verdict_and_message_in_every_mode(
    emu: ModelArtsEmulator, flags: dict[str, bool], expected_type: type, prefix: str
) -> None:
    outcomes = {}
    for mode in MODES:
        # Running when checked first, so the deferrable sensor defers and the trigger decides.
        job = _job(emu, (8, 0.6), (11, None))
        outcomes[mode] = _outcome(mode, job["job_id"], **flags)
        expected = (
            f"{prefix}Training job {job['job_id']} (version {job['version_id']}) has status 11 (JOBSTAT_FAILED): "
            "a failure status"
        )
        assert outcomes[mode] == (expected_type, expected), mode


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_does_not_skip_an_api_outage_so_task_retries_apply(emu: ModelArtsEmulator, mode: str) -> None:
    job = _job(emu, (8, None))
    if mode == "deferrable":
        # The first check passes; the outage starts once the trigger polls.
        with pytest.raises(TaskDeferred) as deferred:
            # max_outage=0: the outage fails the try at once (these tests are about soft_fail).
            _sensor(mode, job["job_id"], soft_fail=True, modelarts_retry_limit=0, max_outage=0).execute(make_context())
        emu.add_fault(kind="status", status=500)
        event = asyncio.run(first_event(deferred.value.trigger))  # type: ignore[arg-type]
        assert event["status"] == "error"
        with pytest.raises(AirflowException) as raised:
            _sensor(mode, job["job_id"], soft_fail=True).resume_execution(
                "execute_complete", {"event": event}, make_context()
            )
        # Before: BaseSensorOperator.resume_execution skipped any AirflowException under soft_fail.
        assert type(raised.value) is AirflowException and "HTTP 500" in str(raised.value)
        return
    emu.add_fault(kind="status", status=500)
    with pytest.raises(AirflowException) as raised:
        _run_until_done(mode, job["job_id"], soft_fail=True, modelarts_retry_limit=0, max_outage=0)
    # The outage hits the request that pins the latest version: worded as every check error is.
    assert type(raised.value) is AirflowException and type(raised.value.__cause__) is ModelArtsServerError
    assert str(raised.value).startswith(f"Checking training job {job['job_id']} (its latest version) failed: ")


@pytest.mark.parametrize("mode", MODES)
def test_never_fail_skips_an_api_outage_with_its_reason(emu: ModelArtsEmulator, mode: str) -> None:
    job = _job(emu, (8, None))
    emu.add_fault(kind="status", status=500)
    with pytest.raises(AirflowSkipException, match=r"^Skipping due to never_fail: .*HTTP 500"):
        _run_until_done(mode, job["job_id"], never_fail=True, modelarts_retry_limit=0, max_outage=0)


def test_never_fail_is_honoured_on_the_check_before_deferring(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (11, None))
    sensor = _sensor("deferrable", job["job_id"], never_fail=True)
    with pytest.raises(AirflowSkipException, match=r"^Skipping due to never_fail: .*JOBSTAT_FAILED"):
        sensor.execute(make_context())  # type: ignore[arg-type]


def test_a_soft_fail_skip_in_poke_mode_keeps_the_reason(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (11, None))
    with pytest.raises(AirflowSkipException, match=r"^Skipping due to soft_fail: .*status 11 \(JOBSTAT_FAILED\)"):
        _sensor("poke", job["job_id"], soft_fail=True).execute(make_context())  # type: ignore[arg-type]


# -- item 1n: reschedule with deferrable ------------------------------------------------------


@pytest.mark.parametrize("sensor_class", [ModelArtsTrainingJobSensor, ModelArtsTrainingJobPhaseSensor])
def test_reschedule_mode_with_deferrable_warns_that_it_has_no_effect_at_the_dag_files_line(
    sensor_class: type[ModelArtsTrainingJobSensor | ModelArtsTrainingJobPhaseSensor],
) -> None:
    job = {"job_id": 1} if sensor_class is ModelArtsTrainingJobSensor else {"training_job_id": str(uuid.uuid4())}
    with pytest.warns(UserWarning, match=r"mode='reschedule' has no effect with deferrable=True") as warned:
        sensor_class(task_id="s", mode="reschedule", deferrable=True, **job)  # type: ignore[arg-type]
    # Past the sensor's own frames and Airflow's __init__ wrapper, on every Airflow version.
    ours = [record.filename for record in warned if "has no effect with deferrable=True" in str(record.message)]
    assert ours == [__file__]


# -- item 1d: the pinned version ---------------------------------------------------------------


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store arrived in Airflow 3.3")
def test_the_pin_survives_reschedules_and_retries_and_a_clear_pins_the_latest_again(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    runs = TaskInstanceRuns(task_id="s", retries=2)

    def check() -> Any:
        sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], mode="reschedule", retries=2, **FAST)
        with pytest.raises(AirflowRescheduleException):
            sensor.execute(runs.context())  # type: ignore[arg-type]
        return runs.context()["ti"].xcom["version_id"]

    assert check() == job["version_id"]
    second = emu.add_version(job["job_id"], timeline=[(8, None)])
    runs.reschedule()
    assert check() == job["version_id"]
    runs.retry()  # a task retry in the same run keeps watching the same version
    assert check() == job["version_id"]
    runs.clear()  # the user asks for the wait again: the latest version, as on a first run
    assert check() == second["version_id"]
    third = emu.add_version(job["job_id"], timeline=[(8, None)])
    runs.retry()
    assert check() == second["version_id"] != third["version_id"]
    runs.clear()
    assert check() == third["version_id"]


def test_a_cleared_sensor_reports_the_new_version_not_the_old_result(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (10, None))
    runs = TaskInstanceRuns(task_id="s")
    first = _run_until_done("poke", job["job_id"], runs)
    assert first["version_id"] == job["version_id"] and first["status"] == 10
    newer = emu.add_version(job["job_id"], timeline=[(11, None)])
    runs.clear()
    with pytest.raises(AirflowFailException, match=f"version {newer['version_id']}.*JOBSTAT_FAILED"):
        _run_until_done("poke", job["job_id"], runs)


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store arrived in Airflow 3.3")
def test_a_pin_belongs_to_its_job(emu: ModelArtsEmulator) -> None:
    first, second = _job(emu, (10, None)), _job(emu, (10, None))
    store = TaskStateStore()
    result = _run_until_done("poke", first["job_id"], TaskInstanceRuns(task_id="s", store=store))
    assert result["version_id"] == first["version_id"]
    # The same task instance state, another job_id (e.g. templated from params): its own latest version.
    result = _run_until_done("poke", second["job_id"], TaskInstanceRuns(task_id="s", store=store))
    assert result["version_id"] == second["version_id"]
    assert set(store.values) == {f"{PINNED_VERSION_KEY}:{first['job_id']}", f"{PINNED_VERSION_KEY}:{second['job_id']}"}


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store arrived in Airflow 3.3")
def test_mapped_sensors_keep_their_pins_apart(emu: ModelArtsEmulator) -> None:
    jobs = [_job(emu, (10, None)), _job(emu, (10, None))]
    store = TaskStateStore()
    for index, job in enumerate(jobs):
        runs = TaskInstanceRuns(task_id="s", map_index=index, store=store)
        assert _run_until_done("reschedule", job["job_id"], runs)["version_id"] == job["version_id"]
    assert [list(store.for_map_index(index).values) for index in (0, 1)] == [
        [f"{PINNED_VERSION_KEY}:{job['job_id']}"] for job in jobs
    ]


# -- item 1a: arguments resolved at run time ------------------------------------------------------


def test_taskflow_outputs_and_mapped_arguments_are_accepted_at_parse_time() -> None:
    from airflow.sdk import task_group

    with DAG("parse", schedule=None, start_date=datetime(2026, 1, 1)):

        @task
        def pick() -> int:
            return 1

        ModelArtsTrainingJobSensor(task_id="plain", job_id=pick(), version_id=pick())
        ModelArtsTrainingJobSensor.partial(task_id="mapped").expand(job_id=[1, 2])

        @task_group
        def per_job(job_id: int) -> None:
            ModelArtsTrainingJobSensor(task_id="in_group", job_id=job_id)  # job_id is a MappedArgument here

        per_job.expand(job_id=[1, 2])


def test_a_resolved_bad_job_id_is_refused_before_any_request(emu: ModelArtsEmulator) -> None:
    with DAG("parse", schedule=None, start_date=datetime(2026, 1, 1)):

        @task
        def pick() -> int:
            return 1

        sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=pick(), **FAST)
    sensor.job_id = "abc"  # what the XComArg resolved to
    with pytest.raises(ModelArtsValidationError, match="job_id"):
        sensor.execute(make_context())  # type: ignore[arg-type]
    assert api_requests(emu) == 0


# -- item 1j: what the sensor pushes -------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_result_has_no_api_envelope_flag_and_xcom_fields_narrows_it(emu: ModelArtsEmulator, mode: str) -> None:
    job = _job(emu, (8, 0.3), (10, None))
    result = _run_until_done(mode, job["job_id"])
    assert "is_success" not in result and {"job_id", "version_id", "status_name", "spec_code"} <= set(result)
    narrow = _run_until_done(mode, job["job_id"], xcom_fields=["version_id", "status_name", "train_url"])
    expected = {"version_id": job["version_id"], "status_name": "JOBSTAT_COMPLETED", "train_url": result["train_url"]}
    assert narrow == expected


# -- item 1h: retry_max_delay ----------------------------------------------------------------------


def test_retry_max_delay_reaches_the_hook_and_the_trigger(emu: ModelArtsEmulator) -> None:
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=1, deferrable=True, modelarts_retry_max_delay=7.5)
    assert sensor.hook().retry_max_delay == 7.5
    job = _job(emu, (8, None))
    deferring = ModelArtsTrainingJobSensor(
        task_id="s", job_id=job["job_id"], deferrable=True, modelarts_retry_max_delay=7.5, **FAST
    )
    with pytest.raises(TaskDeferred) as deferred:
        deferring.execute(make_context())  # type: ignore[arg-type]
    assert deferred.value.trigger.serialize()[1]["retry_max_delay"] == 7.5


def test_retry_max_delay_is_validated_naming_the_parameter() -> None:
    with pytest.raises(ModelArtsValidationError, match="'modelarts_retry_max_delay'"):
        ModelArtsTrainingJobSensor(task_id="s", job_id=1, modelarts_retry_max_delay=0)
    with pytest.raises(ModelArtsValidationError, match="'modelarts_retry_limit'"):
        ModelArtsTrainingJobSensor(task_id="s", job_id=1, modelarts_retry_limit=100)


# -- item 1l: the console link -----------------------------------------------------------------------


def test_the_console_link_of_a_try_that_failed_early_is_empty_and_looks_nothing_up(emu: ModelArtsEmulator) -> None:
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=987654, **FAST)
    with pytest.raises(AirflowFailException, match="does not exist"):
        sensor.execute(make_context())  # type: ignore[arg-type]
    # Before: an XCom lookup for "modelarts_console", which Airflow logs as "XCom not found".
    assert ModelArtsConsoleLink().get_link(sensor, ti_key=None) == ""  # type: ignore[arg-type]


def test_the_console_link_survives_a_deferral_into_the_resumed_process(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, 0.4), (10, None))
    runs = TaskInstanceRuns(task_id="s")
    sensor = _sensor("deferrable", job["job_id"])
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(runs.context())  # type: ignore[arg-type]
    link = ModelArtsConsoleLink().get_link(sensor, ti_key=None)  # type: ignore[arg-type]
    assert f"jobId={job['job_id']}&versionId={job['version_id']}" in link
    event = asyncio.run(first_event(deferred.value.trigger))  # type: ignore[arg-type]
    runs.resume()
    resumed = _sensor("deferrable", job["job_id"])
    context = runs.context()
    assert CONSOLE_LINK_XCOM_KEY in context["ti"].xcom
    resumed.resume_execution("execute_complete", {"event": event}, context)  # type: ignore[arg-type]
    assert ModelArtsConsoleLink().get_link(resumed, ti_key=None) == link  # type: ignore[arg-type]


# -- review fixes: the same timeout and outage message in every mode ----------------------------------


def _timeout_outcome(mode: str, job_id: int, **flags: Any) -> tuple[type[BaseException], str]:
    """Run the sensor in ``mode`` on a job that never finishes, with ``timeout=1``, until it times out."""
    runs = TaskInstanceRuns(task_id="s")
    kwargs: dict[str, Any] = {**FAST, "timeout": 1, **flags}
    with pytest.raises(AirflowException) as raised:
        if mode == "reschedule":
            context = runs.context()
            # Airflow counts a rescheduled sensor's timeout from its first reschedule: long ago here.
            context["ti"].first_reschedule_date = datetime.now(timezone.utc) - timedelta(minutes=5)
            ModelArtsTrainingJobSensor(task_id="s", job_id=job_id, mode=mode, deferrable=False, **kwargs).execute(
                context  # type: ignore[arg-type]
            )
        elif mode == "poke":
            ModelArtsTrainingJobSensor(task_id="s", job_id=job_id, deferrable=False, **kwargs).execute(
                runs.context()  # type: ignore[arg-type]
            )
        else:
            sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job_id, deferrable=True, **kwargs)
            try:
                sensor.execute(runs.context())  # type: ignore[arg-type]
            except TaskDeferred as deferred:
                event = asyncio.run(first_event(deferred.trigger))  # type: ignore[arg-type]
                assert event["status"] == "timeout"
                runs.resume()
                resumed = ModelArtsTrainingJobSensor(task_id="s", job_id=job_id, deferrable=True, **kwargs)
                resumed.resume_execution(deferred.method_name, {"event": event}, runs.context())  # type: ignore[arg-type]
    return type(raised.value), str(raised.value)


@pytest.mark.parametrize(
    ("flags", "expected_type", "prefix"),
    [
        ({}, AirflowSensorTimeout, ""),
        ({"soft_fail": True}, AirflowSkipException, "Skipping due to soft_fail: "),
        ({"never_fail": True}, AirflowSkipException, "Skipping due to never_fail: "),
    ],
)
def test_a_timeout_gets_the_same_verdict_and_message_in_every_mode(
    emu: ModelArtsEmulator, flags: dict[str, bool], expected_type: type, prefix: str
) -> None:
    job = _job(emu, (8, None))
    expected = (
        f"{prefix}Sensor has timed out after 1 s waiting for training job {job['job_id']} (version "
        f"{job['version_id']}) to reach JOBSTAT_COMPLETED; last check: status 8 (JOBSTAT_RUNNING)."
    )
    for mode in MODES:
        # Before: poke/reschedule said "Sensor has timed out; run duration of X seconds exceeds ..." (and
        # skipped without "Skipping due to soft_fail: "), deferrable "Timed out waiting for ... has status 8".
        assert _timeout_outcome(mode, job["job_id"], **flags) == (expected_type, expected), mode


def test_a_trigger_picked_up_after_its_deadline_still_reports_the_status_the_sensor_saw(emu: ModelArtsEmulator) -> None:
    """A busy triggerer can start a trigger after its end time: it times out before its own first
    check, and the message still names the last status seen (the deferring check's), as poke mode's."""
    job = _job(emu, (8, None))
    runs = TaskInstanceRuns(task_id="s")
    with pytest.raises(TaskDeferred) as deferral:
        _sensor("deferrable", job["job_id"]).execute(runs.context())  # type: ignore[arg-type]
    _, kwargs = deferral.value.trigger.serialize()
    assert kwargs["last_status"] == 8
    late = ModelArtsTrainingJobTrigger(**{**kwargs, "end_time": kwargs["end_time"] - 3600})
    event = asyncio.run(first_event(late))
    assert event["status"] == "timeout" and event["job_status"] == 8
    runs.resume()
    with pytest.raises(AirflowSensorTimeout) as resumed:
        _sensor("deferrable", job["job_id"]).resume_execution(  # type: ignore[arg-type]
            "execute_complete", {"event": event}, runs.context()
        )
    assert str(resumed.value) == (
        f"Sensor has timed out after 30 s waiting for training job {job['job_id']} (version "
        f"{job['version_id']}) to reach JOBSTAT_COMPLETED; last check: status 8 (JOBSTAT_RUNNING)."
    )


def test_a_deferral_timeout_that_beats_the_trigger_says_what_was_awaited(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    runs = TaskInstanceRuns(task_id="s")
    with pytest.raises(TaskDeferred):
        _sensor("deferrable", job["job_id"], soft_fail=True).execute(runs.context())  # type: ignore[arg-type]
    runs.resume()
    resumed = _sensor("deferrable", job["job_id"], soft_fail=True)
    with pytest.raises(AirflowSkipException) as raised:
        resumed.resume_execution("__fail__", {"error": TriggerFailureReason.TRIGGER_TIMEOUT}, runs.context())  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"Skipping due to soft_fail: Sensor has timed out after 30 s waiting for training job {job['job_id']} "
        f"(version {job['version_id']}) to reach JOBSTAT_COMPLETED."
    )
    assert type(raised.value.__cause__) is AirflowSensorTimeout


def _outage_outcome(emu: ModelArtsEmulator, mode: str, job: dict[str, Any], **flags: Any) -> BaseException:
    """The error of the sensor in ``mode`` when every request for the job answers 503 once it waits."""
    # max_outage=0: the first failed check ends the wait (riding outages out: test_sensor_outage.py).
    kwargs: dict[str, Any] = {"version_id": job["version_id"], "modelarts_retry_limit": 0, "max_outage": 0, **flags}
    fault = {"kind": "status", "status": 503, "path_contains": f"/training-jobs/{job['job_id']}"}
    runs = TaskInstanceRuns(task_id="s")
    with pytest.raises(AirflowException) as raised:
        if mode != "deferrable":
            emu.add_fault(**fault)
            _run_until_done(mode, job["job_id"], runs, **kwargs)
        else:
            try:
                _sensor(mode, job["job_id"], **kwargs).execute(runs.context())  # type: ignore[arg-type]
            except TaskDeferred as deferred:
                emu.add_fault(**fault)  # the outage starts once the trigger polls
                event = asyncio.run(first_event(deferred.trigger))  # type: ignore[arg-type]
                runs.resume()
                _sensor(mode, job["job_id"], **kwargs).resume_execution(  # type: ignore[arg-type]
                    deferred.method_name, {"event": event}, runs.context()
                )
    emu.clear_faults()
    return raised.value


@pytest.mark.parametrize(
    ("flags", "expected_type", "prefix"),
    [
        ({}, AirflowException, ""),
        ({"soft_fail": True}, AirflowException, ""),
        ({"never_fail": True}, AirflowSkipException, "Skipping due to never_fail: "),
    ],
)
def test_an_outage_gets_the_same_verdict_and_message_in_every_mode(
    emu: ModelArtsEmulator, flags: dict[str, bool], expected_type: type, prefix: str
) -> None:
    job = _job(emu, (8, None))
    expected = (
        f"{prefix}Checking training job {job['job_id']} (version {job['version_id']}) failed: "
        "ModelArts API error (HTTP 503"
    )
    for mode in MODES:
        error = _outage_outcome(emu, mode, job, **flags)
        # Before: deferrable said "Waiting for the training job failed: checking ...", poke the bare API error.
        assert type(error) is expected_type, (mode, error)
        assert str(error).startswith(expected), (mode, str(error))
        if mode != "deferrable":  # the typed error stays reachable where the sensor saw it
            cause = error.__cause__.__cause__ if prefix else error.__cause__
            assert type(cause) is ModelArtsServerError, mode


# -- review fixes: run-time values on arguments that are not templated --------------------------------


@pytest.mark.parametrize(
    "parameter", ["target_status", "failure_statuses", "xcom_fields", "modelarts_retry_limit", "max_outage"]
)
def test_a_taskflow_output_on_an_argument_that_is_not_templated_is_refused_naming_it(parameter: str) -> None:
    with DAG("parse", schedule=None, start_date=datetime(2026, 1, 1)):

        @task
        def pick() -> int:
            return 10

        # Before: a raw TypeError (or a generic validation error) that broke the whole DAG file.
        with pytest.raises(ModelArtsValidationError, match=rf"'{parameter}': .*{parameter} is not templated"):
            ModelArtsTrainingJobSensor(task_id="s", job_id=1, **{parameter: pick()})


def test_jinja_on_target_status_is_refused_and_the_message_lists_the_templated_arguments() -> None:
    with pytest.raises(
        ModelArtsValidationError, match=r"templated arguments of ModelArtsTrainingJobSensor are: job_id"
    ):
        ModelArtsTrainingJobSensor(task_id="s", job_id=1, target_status="{{ params.status }}")


# -- review fixes: editing retries without a Clear keeps the pin ---------------------------------------


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store arrived in Airflow 3.3")
def test_editing_retries_in_the_dag_without_a_clear_keeps_the_pin(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    runs = TaskInstanceRuns(task_id="s", retries=2)

    def check(retries: int) -> tuple[Any, list[str]]:
        sensor = ModelArtsTrainingJobSensor(
            task_id="s", job_id=job["job_id"], mode="reschedule", retries=retries, **FAST
        )
        with capture_task_logs() as logs, pytest.raises(AirflowRescheduleException):
            sensor.execute(runs.context())  # type: ignore[arg-type]
        return runs.context()["ti"].xcom["version_id"], [entry["event"] for entry in logs]

    assert check(retries=2)[0] == job["version_id"]
    newer = emu.add_version(job["job_id"], timeline=[(8, None)])
    runs.reschedule()
    # The DAG file now says retries=3; Airflow leaves the task instance's max_tries alone.
    version, lines = check(retries=3)
    assert version == job["version_id"], "the pin switched without a Clear"
    assert not any("Pinned" in line for line in lines)
    runs.retries = 3
    runs.clear()
    version, lines = check(retries=3)
    assert version == newer["version_id"]
    assert any("Pinned" in line and "(the task was cleared since the last pin)" in line for line in lines)


def test_the_first_pin_does_not_claim_a_clear(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], mode="reschedule", **FAST)
    with capture_task_logs() as logs, pytest.raises(AirflowRescheduleException):
        sensor.execute(make_context())  # type: ignore[arg-type]
    pinned = [entry["event"] for entry in logs if "Pinned" in entry["event"]]
    assert pinned == [f"Pinned training job {job['job_id']} to its latest version {job['version_id']}"]


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store arrived in Airflow 3.3")
def test_a_pin_stored_in_the_earlier_format_is_kept_until_a_clear(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (8, None))
    newer = emu.add_version(job["job_id"], timeline=[(8, None)])
    runs = TaskInstanceRuns(task_id="s", retries=1)
    key = f"{PINNED_VERSION_KEY}:{job['job_id']}"
    runs.store.set(key, {"version_id": job["version_id"], "clear_generation": 0})

    def check() -> Any:
        sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], mode="reschedule", retries=1, **FAST)
        with pytest.raises(AirflowRescheduleException):
            sensor.execute(runs.context())  # type: ignore[arg-type]
        return runs.context()["ti"].xcom["version_id"]

    assert check() == job["version_id"]
    runs.clear()
    assert check() == newer["version_id"]
    assert runs.store.get(key) == {"version_id": newer["version_id"], "max_tries": runs.max_tries, "clear_number": 0}


# -- review fixes: a misspelt xcom_fields warns -----------------------------------------------------------


def test_a_misspelt_xcom_field_warns_with_the_nearest_field(emu: ModelArtsEmulator) -> None:
    job = _job(emu, (10, None))
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=job["job_id"], xcom_fields=["version_id", "staus"], **FAST)
    with capture_task_logs() as logs:
        result = sensor.execute(make_context())  # type: ignore[arg-type]
    assert result == {"version_id": job["version_id"]}
    warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1
    assert "xcom_fields asks for 'staus', which the version does not have" in warnings[0]
    assert "Did you mean 'status'?" in warnings[0]
