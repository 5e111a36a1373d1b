"""The model and service sensors (poke, reschedule, deferrable) and their triggers over real HTTP
against an emulator on a manual clock: statuses move only with ``advance_time``, so every mode's
verdict is exact; outages are time-compressed by a wall clock that jumps a minute per reading."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.sensors.inference import ModelArtsModelSensor, ModelArtsServiceSensor
from airflow_provider_modelarts.triggers.inference import ModelArtsModelTrigger, ModelArtsServiceTrigger
from airflow_provider_modelarts.waiting import outage
from tests.airflow_names import AirflowSkipException, TaskDeferred
from tests.conftest import api_requests
from tests.integration.airflow_context import TaskInstanceRuns, TaskStateStore, make_context
from tests.integration.conftest import first_event, manual_clock_emulator

pytestmark = pytest.mark.xdist_group("inference-sensors")

CONN_ID = "modelarts_inference_manual"
FAST: dict[str, Any] = {"modelarts_conn_id": CONN_ID, "poke_interval": 0.05, "timeout": 60, "modelarts_retry_limit": 0}
_REQUEST_ID = re.compile(r"\[request id \w+\]")


@pytest.fixture(scope="module")
def manual_emulator() -> Iterator[ModelArtsEmulator]:
    with manual_clock_emulator(CONN_ID) as emulator:
        yield emulator


@pytest.fixture
def emu(manual_emulator: ModelArtsEmulator) -> Iterator[ModelArtsEmulator]:
    manual_emulator.reset()
    yield manual_emulator
    manual_emulator.app.inference.clear()
    manual_emulator.reset()


@pytest.fixture
def hook(emu: ModelArtsEmulator) -> Iterator[ModelArtsHook]:
    hook = ModelArtsHook(CONN_ID, retry_limit=0)
    yield hook
    hook.close()


@pytest.fixture
def minute_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count(1_700_000_000.0, 60.0)
    monkeypatch.setattr(outage, "wall_clock", lambda: next(ticks))


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _model(hook: ModelArtsHook, name: str) -> str:
    body = {
        "model_name": name,
        "model_version": "1.0.0",
        "source_location": "obs://bucket/train/output/model/",
        "model_type": "PyTorch",
    }
    return str(hook.create_model(body)["model_id"])


def _published(hook: ModelArtsHook, emu: ModelArtsEmulator) -> str:
    model_id = _model(hook, _name("pub"))
    emu.advance_time(4)
    return model_id


def _service(hook: ModelArtsHook, model_id: str, name: str, batch: bool = False) -> str:
    entry: dict[str, Any] = {"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}
    if batch:
        entry.update(src_path="obs://b/in/", dest_path="obs://b/out/", req_uri="/", mapping_type="file")
    else:
        entry["weight"] = 100
    body = {"service_name": name, "infer_type": "batch" if batch else "real-time", "config": [entry]}
    return str(hook.create_service(body)["service_id"])


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "return", call()
    except Exception as error:
        return type(error).__name__, _REQUEST_ID.sub("[request id]", str(error))


class ThreeModes:
    """One sensor per mode on the same resource, each driven one check at a time."""

    def __init__(self, sensor_class: type[Any], **kwargs: Any) -> None:
        self.sensor_class = sensor_class
        self.kwargs = {**FAST, **kwargs}
        self.poke = sensor_class(task_id="wait", **self.kwargs)
        self.poke_context = TaskInstanceRuns().context()
        self.reschedule_runs = TaskInstanceRuns(store=TaskStateStore())

    def check_poke(self) -> tuple[str, Any]:
        def call() -> Any:
            result = self.poke.poke(self.poke_context)
            return result.xcom_value if result.is_done else "waiting"

        return _outcome(call)

    def check_reschedule(self) -> tuple[str, Any]:
        sensor = self.sensor_class(task_id="wait", mode="reschedule", **self.kwargs)
        self.reschedule_runs.reschedule()
        outcome = _outcome(lambda: sensor.execute(self.reschedule_runs.context()))
        return ("return", "waiting") if outcome[0] == "AirflowRescheduleException" else outcome

    def defer(self) -> tuple[Any, TaskDeferred | None]:
        sensor = self.sensor_class(task_id="wait", deferrable=True, **self.kwargs)
        try:
            return sensor.execute(make_context()), None
        except TaskDeferred as deferred:
            return None, deferred

    def resume(self, deferred: TaskDeferred) -> tuple[str, Any]:
        event = asyncio.run(first_event(deferred.trigger))
        resumed = self.sensor_class(task_id="wait", deferrable=True, **self.kwargs)
        return _outcome(lambda: resumed.resume_execution(deferred.method_name, {"event": event}, make_context()))

    def deferrable(self) -> tuple[str, Any]:
        try:
            result, deferred = self.defer()
        except Exception as error:
            return type(error).__name__, _REQUEST_ID.sub("[request id]", str(error))
        return ("return", result) if deferred is None else self.resume(deferred)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def test_a_published_model_succeeds_in_every_mode_with_its_row(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    model_id = _model(hook, _name("m"))
    modes = ThreeModes(ModelArtsModelSensor, model_id=model_id)
    assert modes.check_poke() == modes.check_reschedule() == ("return", "waiting")
    _, deferred = modes.defer()
    assert isinstance(deferred.trigger, ModelArtsModelTrigger)  # type: ignore[union-attr]
    emu.advance_time(4)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.resume(deferred)  # type: ignore[arg-type]
    assert poke == reschedule == deferrable
    assert poke[1]["model_id"] == model_id and poke[1]["model_status"] == "published"
    assert len(repr(poke[1])) < 4096


def test_a_model_that_fails_to_build_fails_every_mode_with_its_reason(
    hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    emu.app.inference.model_plans.put(
        "broken", [["building", 2], ["building_failed", None]], failure_message="image build failed: no pip"
    )
    model_id = _model(hook, _name("broken"))
    modes = ThreeModes(ModelArtsModelSensor, model_id=model_id)
    _, deferred = modes.defer()
    emu.advance_time(3)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.resume(deferred)  # type: ignore[arg-type]
    assert poke == reschedule == deferrable == modes.deferrable()
    assert poke[0] == "AirflowFailException"
    assert "building_failed" in poke[1] and "image build failed: no pip" in poke[1]


def test_a_missing_model_fails_and_soft_fail_skips(emu: ModelArtsEmulator) -> None:
    modes = ThreeModes(ModelArtsModelSensor, model_id=str(uuid.uuid4()))
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.deferrable()
    assert poke == reschedule == deferrable and poke[0] == "AirflowFailException" and "does not exist" in poke[1]
    soft = ThreeModes(ModelArtsModelSensor, model_id=str(uuid.uuid4()), soft_fail=True)
    assert soft.check_poke()[0] == soft.deferrable()[0] == "AirflowSkipException"
    never = ThreeModes(ModelArtsModelSensor, model_id=str(uuid.uuid4()), never_fail=True)
    assert never.check_reschedule()[0] == "AirflowSkipException"


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------


def test_by_default_a_batch_run_is_awaited_until_finished_in_every_mode(
    hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    """No target_statuses: a batch service's wait ends at ``finished``, not while it runs."""
    service_id = _service(hook, _published(hook, emu), _name("bat"), batch=True)
    modes = ThreeModes(ModelArtsServiceSensor, service_id=service_id)
    _, deferred = modes.defer()
    assert deferred is not None and deferred.trigger.serialize()[1]["target_statuses"] is None
    emu.advance_time(5)  # deploying 3 s, then running 10 s
    assert hook.get_service(service_id)["status"] == "running"
    assert modes.check_poke() == modes.check_reschedule() == ("return", "waiting")
    emu.advance_time(10)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.resume(deferred)
    assert poke == reschedule == deferrable
    assert poke[0] == "return" and poke[1]["status"] == "finished" and poke[1]["dest_paths"]


def test_a_running_service_succeeds_in_every_mode_with_its_access_address(
    hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    service_id = _service(hook, _published(hook, emu), _name("svc"))
    modes = ThreeModes(ModelArtsServiceSensor, service_id=service_id)
    assert modes.check_poke() == modes.check_reschedule() == ("return", "waiting")
    _, deferred = modes.defer()
    assert isinstance(deferred.trigger, ModelArtsServiceTrigger)  # type: ignore[union-attr]
    emu.advance_time(6)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.resume(deferred)  # type: ignore[arg-type]
    assert poke == reschedule == deferrable
    row = poke[1]
    assert row["service_id"] == service_id and row["status"] == "running" and row["access_address"]


def test_a_batch_run_finishes_in_every_mode_with_its_output_paths(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    service_id = _service(hook, _published(hook, emu), _name("batch"), batch=True)
    modes = ThreeModes(ModelArtsServiceSensor, service_id=service_id, target_statuses="finished")
    _, deferred = modes.defer()
    emu.advance_time(14)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.resume(deferred)  # type: ignore[arg-type]
    assert poke == reschedule == deferrable
    assert poke[1]["status"] == "finished" and poke[1]["dest_paths"] == ["obs://b/out/"]


def test_a_failed_deploy_fails_every_mode_with_error_msg_and_last_events(
    hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    emu.app.inference.service_plans.put(
        "doomed", [["deploying", 2], ["failed", None]], error_msg="health check timed out"
    )
    service_id = _service(hook, _published(hook, emu), _name("doomed"))
    modes = ThreeModes(ModelArtsServiceSensor, service_id=service_id)
    _, deferred = modes.defer()
    emu.advance_time(3)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.resume(deferred)  # type: ignore[arg-type]
    assert poke == reschedule == deferrable
    assert poke[0] == "AirflowFailException"
    assert "has status failed" in poke[1] and "health check timed out" in poke[1] and "last events" in poke[1]


@pytest.mark.parametrize(("concerning", "expected"), [("warn", "return"), ("fail", "AirflowFailException")])
def test_concerning_warns_or_fails_as_asked_in_every_mode(
    hook: ModelArtsHook, emu: ModelArtsEmulator, concerning: str, expected: str
) -> None:
    emu.app.inference.service_plans.put("shaky", [["deploying", 1], ["concerning", None]])
    service_id = _service(hook, _published(hook, emu), _name("shaky"))
    modes = ThreeModes(ModelArtsServiceSensor, service_id=service_id, concerning=concerning)
    _, deferred = modes.defer()
    emu.advance_time(2)
    poke, reschedule, deferrable = modes.check_poke(), modes.check_reschedule(), modes.resume(deferred)  # type: ignore[arg-type]
    assert poke == reschedule == deferrable
    assert poke[0] == expected
    if expected == "return":
        assert poke[1]["status"] == "concerning"
    else:
        assert "concerning='fail'" in poke[1]


def test_the_sensor_refuses_bad_literal_arguments_at_parse_time() -> None:
    from airflow_provider_modelarts.exceptions import ModelArtsValidationError

    with pytest.raises(ModelArtsValidationError, match="concerning"):
        ModelArtsServiceSensor(task_id="t", service_id="s-1", concerning="panic")
    with pytest.raises(ModelArtsValidationError, match="target_statuses"):
        ModelArtsServiceSensor(task_id="t", service_id="s-1", target_statuses=["up"])
    with pytest.raises(ModelArtsValidationError, match="model_id"):
        ModelArtsModelSensor(task_id="t", model_id="a/b")
    ModelArtsModelSensor(task_id="t", model_id="{{ ti.xcom_pull('register')['model_id'] }}")  # checked once resolved


def test_xcom_fields_all_and_names(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    model_id = _published(hook, emu)
    everything = ThreeModes(ModelArtsModelSensor, model_id=model_id, xcom_fields="all").check_poke()[1]
    assert everything["model_id"] == model_id and "image_address" in everything
    some = ThreeModes(ModelArtsModelSensor, model_id=model_id, xcom_fields=["model_id", "image_address"])
    assert some.check_poke() == some.check_reschedule() == some.deferrable()
    assert set(some.check_poke()[1]) == {"model_id", "image_address"}


# ---------------------------------------------------------------------------------------------
# Outages and shared rounds
# ---------------------------------------------------------------------------------------------


def test_every_mode_rides_out_a_ten_minute_outage(
    hook: ModelArtsHook, emu: ModelArtsEmulator, minute_clock: None
) -> None:
    service_id = _service(hook, _published(hook, emu), _name("svc"))
    modes = ThreeModes(ModelArtsServiceSensor, service_id=service_id)
    for check in (modes.check_poke, modes.check_reschedule):
        emu.add_fault(kind="status", status=503, count=11, path_contains=service_id)
        for _ in range(11):
            assert check() == ("return", "waiting")
    _, deferred = modes.defer()
    emu.add_fault(kind="status", status=503, count=11, path_contains=service_id)
    emu.advance_time(6)
    deferrable = modes.resume(deferred)  # type: ignore[arg-type]
    assert deferrable == modes.check_poke() == modes.check_reschedule()
    assert deferrable[1]["status"] == "running"


def test_an_outage_longer_than_max_outage_fails_with_task_retries(
    hook: ModelArtsHook, emu: ModelArtsEmulator, minute_clock: None
) -> None:
    model_id = _model(hook, _name("m"))
    emu.add_fault(kind="status", status=503, path_contains=model_id)
    modes = ThreeModes(ModelArtsModelSensor, model_id=model_id, max_outage=300)
    results = [modes.check_poke() for _ in range(7)]
    assert results[:5] == [("return", "waiting")] * 5
    assert results[5][0] == "AirflowException" and "max_outage" in results[5][1]
    kind, message = modes.deferrable()
    emu.clear_faults()
    assert kind == "AirflowException" and "max_outage" in message


def test_many_service_triggers_share_list_rounds(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    model_id = _published(hook, emu)
    ids = [_service(hook, model_id, _name("fleet")) for _ in range(6)]
    emu.advance_time(6)
    before = api_requests(emu)

    async def all_events() -> list[dict[str, Any]]:
        triggers = [
            ModelArtsServiceTrigger(service_id, ["running"], ["failed"], CONN_ID, poll_interval=0.05, retry_limit=0)
            for service_id in ids
        ]
        return list(await asyncio.gather(*(first_event(trigger) for trigger in triggers)))

    events = asyncio.run(all_events())
    assert [event["status"] for event in events] == ["success"] * 6
    assert [event["row"]["service_id"] for event in events] == ids
    assert api_requests(emu) - before == 1  # one list page for six watchers: ceil(W/1000) + 0


def test_skip_reason_is_kept(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    emu.app.inference.service_plans.put("gone", [["deploying", 1], ["failed", None]], error_msg="quota")
    service_id = _service(hook, _published(hook, emu), _name("gone"))
    emu.advance_time(2)
    kind, message = ThreeModes(ModelArtsServiceSensor, service_id=service_id, soft_fail=True).check_poke()
    assert kind == AirflowSkipException.__name__ and "quota" in message
