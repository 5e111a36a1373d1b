"""A user's Mark failed or Mark success of a deferred deploy or batch task stops or deletes the
service, as ``on_kill_action`` / ``stop_on_kill`` say, over real HTTP against an emulator on a
manual clock: on Airflow 3.3+ through the trigger's ``on_kill``; below, through the cancelled
``run()``. Either acts only when the task instance ended: a Clear leaves the service to the new try,
a triggerer restart leaves it alone. The task instance's state is a fake of the Task SDK's
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


def task_state(monkeypatch: pytest.MonkeyPatch, state: str | None) -> None:
    """What the triggerer answers for the deferred task's state (``None``: cleared)."""

    def states(**query: Any) -> dict[str, Any]:
        return {query["run_ids"][0]: {query["task_ids"][0]: state}}

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(states))


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
def test_on_kill_after_mark_failed_ends_the_service_as_asked(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, action: str, expected: str
) -> None:
    """Airflow 3.3+: the triggerer calls on_kill when a user marks the deferred task failed."""
    task_state(monkeypatch, "failed")
    service_id = deploying_service(hook, manual_emulator)
    asyncio.run(trigger(service_id, action).on_kill())
    assert status(hook, service_id) == expected


@pytest.mark.parametrize("state", [None, "scheduled", "queued", "running", "deferred"])
def test_on_kill_after_a_clear_leaves_the_service_to_the_new_try(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, state: str | None
) -> None:
    """A Clear also reaches on_kill, and the new try may already run (a reviewer's finding): it
    finds this service by its name and goes on with it, so the trigger leaves it alone."""
    task_state(monkeypatch, state)
    service_id = deploying_service(hook, manual_emulator)
    asyncio.run(trigger(service_id, "delete").on_kill())
    assert status(hook, service_id) == "deploying"


def test_on_kill_without_a_readable_state_leaves_the_service(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(**_: Any) -> dict[str, Any]:
        raise ConnectionError("the API server is down")

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(unreachable))
    service_id = deploying_service(hook, manual_emulator)
    asyncio.run(trigger(service_id, "delete").on_kill())
    assert status(hook, service_id) == "deploying"


def test_below_3_3_a_cancelled_run_deletes_the_service_of_a_killed_task(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    task_state(monkeypatch, "failed")  # marked failed
    service_id = deploying_service(hook, manual_emulator)
    cancel_after_first_round(trigger(service_id, "delete"))
    assert status(hook, service_id) == "deleting"


@pytest.mark.parametrize("state", ["deferred", None])
def test_below_3_3_a_triggerer_restart_or_a_clear_leaves_the_service_alone(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, state: str | None
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    task_state(monkeypatch, state)  # still deferred (a restart), or cleared (None): not ended
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


def test_the_deferred_batch_stops_its_service_on_kill(
    hook: ModelArtsHook, manual_emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    task_state(monkeypatch, "success")  # marked success
    own = batch.serialize()[1]["task_instance"]
    from airflow.providers.common.compat.sdk import XCom

    # The kill record the task wrote before deferring, as the triggerer would read it back.
    monkeypatch.setattr(XCom, "get_one", staticmethod(lambda **_: {"try_number": own["try_number"]}))
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


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"service_id": "-", "action": "delete", "try_number": 1}, "deleting"),  # marked failed: this try's kill
        (None, "deploying"),  # cleared, and try 2 already succeeded with this service
        ({"service_id": "-", "action": "delete", "try_number": 2}, "deploying"),  # try 2 deferred again
    ],
)
def test_on_kill_acts_only_for_its_own_try(
    hook: ModelArtsHook,
    manual_emulator: ModelArtsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    record: dict[str, Any] | None,
    expected: str,
) -> None:
    """A Clear right as the service turned running: try 2 takes it over and succeeds at once, and
    try 1's on_kill then reads an ended task (a reviewer's finding). The kill record that try 1
    wrote before deferring is gone (a new try clears the task's XComs) or is try 2's: hands off."""
    from airflow.providers.common.compat.sdk import XCom

    task_state(monkeypatch, "success")
    monkeypatch.setattr(XCom, "get_one", staticmethod(lambda **_: record))
    service_id = deploying_service(hook, manual_emulator)
    keyed = ModelArtsServiceTrigger(
        service_id, ["running"], ["failed"], CONN_ID, on_kill_action="delete",
        task_instance={**TASK_INSTANCE, "try_number": 1}, poll_interval=0.1, retry_limit=0,
    )  # fmt: skip
    asyncio.run(keyed.on_kill())
    assert status(hook, service_id) == expected
