"""Helpers of the model and service tests: the documented v1 paths and bodies, written from the
reference on their own, and calls signed by Huawei's official SDK signer (:mod:`emulator_client`).

The emulator under test has a manual clock: a test moves time with ``advance_time`` and never
waits for the wall clock.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from emulator_client import AKSK, PROJECT
from modelarts_emulator import ModelArtsEmulator

MODELS = f"/v1/{PROJECT}/models"
SERVICES = f"/v1/{PROJECT}/services"
# The create example of "Creating an AI Application" (trimmed to what it needs).
DOC_MODEL: dict[str, Any] = {
    "model_name": "mnist",
    "model_version": "1.0.0",
    "source_location": "https://models.obs.xxxxx.com/mnist",
    "source_job_id": "55",
    "source_job_version": "V100",
    "model_type": "TensorFlow",
    "runtime": "python2.7",
    "description": "mnist model",
    "dependencies": [
        {
            "installer": "pip",
            "packages": [{"package_name": "numpy", "package_version": "1.5.0", "restraint": "ATLEAST"}],
        }
    ],
}


def call(emu: ModelArtsEmulator, method: str, path: str, body: Any = None, **query: Any) -> requests.Response:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"} if data is not None else {}
    return requests.request(
        method, f"{emu.url}{path}", params=query or None, data=data, headers=headers, auth=AKSK, timeout=10
    )


def ok(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    message: str = body["error_msg"]
    return message


def model_body(name: str = "mnist", version: str = "1.0.0", **fields: Any) -> dict[str, Any]:
    return {**DOC_MODEL, "model_name": name, "model_version": version, **fields}


def create_model(emu: ModelArtsEmulator, name: str = "mnist", version: str = "1.0.0", **fields: Any) -> str:
    model_id: str = ok(call(emu, "POST", MODELS, model_body(name, version, **fields)))["model_id"]
    return model_id


def show_model(emu: ModelArtsEmulator, model_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(call(emu, "GET", f"{MODELS}/{model_id}"))
    return body


def published_model(emu: ModelArtsEmulator, name: str = "mnist", version: str = "1.0.0", **fields: Any) -> str:
    model_id = create_model(emu, name, version, **fields)
    emu.advance_time(60)
    assert show_model(emu, model_id)["model_status"] == "published"
    return model_id


def real_time_body(name: str, *models: tuple[str, Any], **fields: Any) -> dict[str, Any]:
    """The deploy page's real-time example; ``models`` are (model_id, weight) pairs."""
    config = [
        {"model_id": model_id, "weight": weight, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}
        for model_id, weight in models
    ]
    return {"service_name": name, "infer_type": "real-time", "description": "mnist service", "config": config, **fields}


def batch_body(name: str, model_id: str, **entry: Any) -> dict[str, Any]:
    """The deploy page's batch example (mapping_type file)."""
    config = {
        "model_id": model_id,
        "specification": "modelarts.vm.cpu.2u",
        "instance_count": 1,
        "src_path": "https://infers-data.obs.xxxxx.com/xgboosterdata/",
        "dest_path": "https://infers-data.obs.xxxxx.com/output/",
        "req_uri": "/",
        "mapping_type": "file",
        **entry,
    }
    return {"service_name": name, "description": "", "infer_type": "batch", "config": [config]}


def deploy(emu: ModelArtsEmulator, body: dict[str, Any]) -> str:
    service_id: str = ok(call(emu, "POST", SERVICES, body))["service_id"]
    return service_id


def show_service(emu: ModelArtsEmulator, service_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(call(emu, "GET", f"{SERVICES}/{service_id}"))
    return body


def status(emu: ModelArtsEmulator, service_id: str) -> str:
    return str(show_service(emu, service_id)["status"])


def events(emu: ModelArtsEmulator, service_id: str, **query: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(call(emu, "GET", f"{SERVICES}/{service_id}/events", **query))["events"]
    return found
