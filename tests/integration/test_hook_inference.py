"""ModelArtsHook's model and service calls against the emulator over real HTTP (issue 19).

Both sides read the v1 model and service pages on their own (the hook in cloud/inference, the
emulator in modelarts_emulator/models and services), so this is where the two readings meet: a
model is registered and published, deployed as a real-time service that answers an invocation
with AK/SK and with a token, refused deletion while the service uses it, and a batch service runs
to ``finished``. Emulated time is moved forward instead of waited for.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.exceptions import ModelArtsModelDeleteError, ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.conftest import api_requests

pytestmark = pytest.mark.xdist_group("inference")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _model(name: str) -> dict[str, Any]:
    return {
        "model_name": name,
        "model_version": "1.0.0",
        "source_location": "obs://bucket/train/output/model/",
        "model_type": "PyTorch",
    }


def _published(hook: ModelArtsHook, emu: ModelArtsEmulator, name: str) -> str:
    model_id = str(hook.create_model(_model(name))["model_id"])
    for _ in range(60):
        if hook.get_model(model_id)["model_status"] == "published":
            return model_id
        emu.advance_time(1)
    raise AssertionError(f"model {model_id} was not published")


def _status(hook: ModelArtsHook, emu: ModelArtsEmulator, service_id: str, wanted: str) -> dict[str, Any]:
    for _ in range(120):
        service = hook.get_service(service_id)
        if service["status"] == wanted:
            return service
        emu.advance_time(1)
    raise AssertionError(f"service {service_id} never reached {wanted}: {service['status']}")


def test_register_deploy_invoke_and_tear_down(
    hook: ModelArtsHook, token_hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    model_id = _published(hook, emu, _name("it-model"))
    created = hook.create_service(
        {
            "service_name": _name("it-svc"),
            "infer_type": "real-time",
            "config": [
                {"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 100}
            ],
        }
    )
    service = _status(hook, emu, created["service_id"], "running")
    assert service["access_address"]

    answer = hook.invoke_service(created["service_id"], {"images": "x"})
    assert answer == token_hook.invoke_service(service["access_address"], {"images": "x"})  # deterministic

    with pytest.raises(ModelArtsModelDeleteError):
        hook.delete_model(model_id)  # still used by the service: 200 with a failed list

    hook.delete_service(created["service_id"])
    for _ in range(30):
        if not hook.find_services(service["service_name"]):
            break
        emu.advance_time(1)
    hook.delete_model(model_id)


def test_a_batch_service_runs_to_finished(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    model_id = _published(hook, emu, _name("it-batch-model"))
    created = hook.create_service(
        {
            "service_name": _name("it-batch"),
            "infer_type": "batch",
            "config": [
                {
                    "model_id": model_id,
                    "specification": "modelarts.vm.cpu.2u",
                    "instance_count": 1,
                    "src_path": "obs://bucket/batch/in/",
                    "dest_path": "obs://bucket/batch/out/",
                    "req_uri": "/",
                    "mapping_type": "file",
                }
            ],
        }
    )
    _status(hook, emu, created["service_id"], "finished")


def test_bad_bodies_send_nothing(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    before = api_requests(emu)
    with pytest.raises(ModelArtsValidationError, match="model_version"):
        hook.create_model({**_model(_name("bad")), "model_version": "1.0"})
    with pytest.raises(ModelArtsValidationError, match="weight"):
        hook.create_service(
            {
                "service_name": _name("bad"),
                "infer_type": "real-time",
                "config": [
                    {"model_id": "m", "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 60}
                ],
            }
        )
    assert api_requests(emu) == before
