"""A user's kill of a deferred deploy or batch task (mark failed or success, clear) stops or deletes
the service, as ``on_kill_action`` / ``stop_on_kill`` say, over real HTTP against an emulator on a
manual clock: on Airflow 3.3+ through the trigger's ``on_kill``; below, through the cancelled
``run()``, which acts only when the task instance is no longer deferred (a triggerer restart leaves
the service alone). The task instance's state is a fake of the Task SDK's
``RuntimeTaskInstance.get_task_states``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts import version_compat
from airflow_provider_modelarts.exceptions import ModelArtsNotFoundError, ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.services import (
    SERVICE_ID_XCOM_KEY,
    ModelArtsBatchInferenceOperator,
    ModelArtsDeployServiceOperator,
)
from airflow_provider_modelarts.triggers.inference import ModelArtsServiceTrigger
from airflow_provider_modelarts.version_compat import TaskDeferralTimeout
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from tests.airflow_names import TaskDeferred
from tests.integration.airflow_context import TaskInstanceRuns, make_context
from tests.integration.conftest import manual_clock_emulator

pytestmark = pytest.mark.xdist_group("service-trigger-kill")
CONN_ID = "modelarts_service_kill"
TASK_INSTANCE: dict[str, Any] = {"dag_id": "serve", "task_id": "deploy", "run_id": "manual__1", "map_index": -1}


@pytest.fixture(scope="module")
def manual_emulator() -> Iterator[ModelArtsEmulator]:
    with manual_clock_emulator(CONN_ID) as emulator:
        yield emulator


@pytest.fixture
def hook(manual_emulator: ModelArtsEmulator) -> Iterator[ModelArtsHook]:
    manual_emulator.reset()
    hook = ModelArtsHook(CONN_ID, retry_limit=0)
    yield hook
    hook.close()
    manual_emulator.app.inference.clear()
    manual_emulator.reset()


@pytest.fixture(autouse=True)
def fast_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airflow_provider_modelarts.waiting.poller.MIN_ROUND_SPACING", 0.05)


def task_state(monkeypatch: pytest.MonkeyPatch, state: str) -> None:
    answer = {TASK_INSTANCE["run_id"]: {TASK_INSTANCE["task_id"]: state}}
    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(lambda **_: answer))


def published_model(hook: ModelArtsHook, emu: ModelArtsEmulator, name: str) -> str:
    model = {"model_name": name, "model_version": "1.0.0", "source_location": "obs://b/m/", "model_type": "PyTorch"}
    model_id = str(hook.create_model(model)["model_id"])
    emu.advance_time(4)
    return model_id


def deploying_service(hook: ModelArtsHook, emu: ModelArtsEmulator) -> str:
    """A published model's real-time service, deploying until the clock moves on."""
    model_id = published_model(hook, emu, f"kill-{uuid.uuid4().hex[:8]}")
    config = [{"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 100}]
    body = {"service_name": f"kill-{uuid.uuid4().hex[:8]}", "infer_type": "real-time", "config": config}
    return str(hook.create_service(body)["service_id"])


def trigger(service_id: str, action: str) -> ModelArtsServiceTrigger:
    return ModelArtsServiceTrigger(
        service_id,
        ["running"],
        ["failed"],
        CONN_ID,
        on_kill_action=action,
        task_instance=dict(TASK_INSTANCE),
        poll_interval=0.1,
        end_time=time.time() + 60,
        retry_limit=0,
    )


def cancel_after_first_round(service_trigger: ModelArtsServiceTrigger) -> None:
    """Run the trigger until its first shared check, then cancel it as the triggerer does."""

    async def consume() -> None:
        async for _ in service_trigger.run():
            raise AssertionError("no event expected: the service is still deploying")

    async def main() -> None:
        task = asyncio.create_task(consume())
        deadline = time.monotonic() + 30
        while not SharedStatusPoller.active() or SharedStatusPoller.active()[0].rounds_run < 1:
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def status(hook: ModelArtsHook, service_id: str) -> str:
    try:
        return str(hook.get_service(service_id)["status"])
    except ModelArtsNotFoundError:
        return "gone"


@pytest.mark.parametrize(("action", "expected"), [("delete", "deleting"), ("stop", "stopping"), ("none", "deploying")])
def test_on_kill_ends_the_service_as_asked(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, action: str, expected: str
) -> None:
    """Airflow 3.3+: the triggerer calls on_kill when a user kills the deferred task."""
    service_id = deploying_service(hook, manual_emulator)
    asyncio.run(trigger(service_id, action).on_kill())
    assert status(hook, service_id) == expected


def test_below_3_3_a_cancelled_run_deletes_the_service_of_a_killed_task(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    task_state(monkeypatch, "failed")  # marked failed
    service_id = deploying_service(hook, manual_emulator)
    cancel_after_first_round(trigger(service_id, "delete"))
    assert status(hook, service_id) == "deleting"


def test_below_3_3_a_triggerer_restart_leaves_the_service_alone(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    task_state(monkeypatch, "deferred")  # still deferred: the trigger moves on, the task was not killed
    service_id = deploying_service(hook, manual_emulator)
    cancel_after_first_round(trigger(service_id, "delete"))
    assert status(hook, service_id) == "deploying"


def test_from_3_3_a_cancelled_run_leaves_the_service_to_on_kill(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", True)
    task_state(monkeypatch, "failed")
    service_id = deploying_service(hook, manual_emulator)
    cancel_after_first_round(trigger(service_id, "stop"))
    assert status(hook, service_id) == "deploying"


def test_the_trigger_refuses_an_unknown_action() -> None:
    with pytest.raises(ModelArtsValidationError, match="on_kill_action"):
        trigger(str(uuid.uuid4()), "kill")


def _deferred(operator: Any) -> ModelArtsServiceTrigger:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context())
    service_trigger = deferred.value.trigger
    assert isinstance(service_trigger, ModelArtsServiceTrigger)
    return service_trigger


def test_the_deferred_deploy_hands_its_kill_action_to_the_trigger(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator
) -> None:
    model_id = published_model(hook, manual_emulator, "kill-deploy")
    config = [{"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 100}]
    service = {"service_name": "kill-deploy", "infer_type": "real-time", "config": config}
    created = _deferred(
        ModelArtsDeployServiceOperator(
            task_id="deploy", service=service, deferrable=True, on_kill_action="delete", modelarts_conn_id=CONN_ID
        )
    )
    kwargs = created.serialize()[1]
    assert kwargs["on_kill_action"] == "delete"
    assert kwargs["task_instance"] is not None and kwargs["task_instance"]["dag_id"] == "modelarts_test_dag"
    # A retry that finds the service this task created uses it as it is: a kill leaves it alone.
    reused = _deferred(
        ModelArtsDeployServiceOperator(
            task_id="deploy", service=service, deferrable=True, on_kill_action="delete", modelarts_conn_id=CONN_ID
        )
    )
    assert reused.serialize()[1]["on_kill_action"] == "none"


def test_the_deferred_batch_stops_its_service_on_kill(hook: ModelArtsHook, manual_emulator: ModelArtsEmulator) -> None:
    model_id = published_model(hook, manual_emulator, "kill-batch")
    entry = {
        "model_id": model_id,
        "specification": "modelarts.vm.cpu.2u",
        "instance_count": 1,
        "src_path": "obs://b/in/",
        "dest_path": "obs://b/out/",
        "req_uri": "/",
        "mapping_type": "file",
    }
    service = {"service_name": "kill-batch", "infer_type": "batch", "config": [entry]}
    batch = _deferred(
        ModelArtsBatchInferenceOperator(task_id="batch", service=service, deferrable=True, modelarts_conn_id=CONN_ID)
    )
    assert batch.serialize()[1]["on_kill_action"] == "stop"
    asyncio.run(batch.on_kill())
    assert status(hook, batch.resource_id) == "stopping"


def test_a_deferral_that_times_out_deletes_the_service_it_created(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator
) -> None:
    """Airflow resumes a deferral past execution_timeout with ``__fail__`` and calls no on_kill:
    the resumed task (a new operator object) deletes the service as on_kill_action says."""
    model_id = published_model(hook, manual_emulator, "kill-dto")
    config = [{"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 100}]
    service = {"service_name": "kill-dto", "infer_type": "real-time", "config": config}

    def build() -> ModelArtsDeployServiceOperator:
        return ModelArtsDeployServiceOperator(
            task_id="deploy", service=service, deferrable=True, on_kill_action="delete", modelarts_conn_id=CONN_ID
        )

    runs = TaskInstanceRuns(task_id="deploy")
    with pytest.raises(TaskDeferred):
        build().execute(runs.context())
    service_id = runs.xcom[SERVICE_ID_XCOM_KEY]
    runs.resume()
    with pytest.raises(TaskDeferralTimeout):
        build().resume_execution("__fail__", {"error": "Trigger timeout"}, runs.context())
    assert status(hook, service_id) == "deleting"
