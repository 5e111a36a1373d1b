"""Calling a deployed real-time service: ``POST <access_address>[/<model API path>]``, that is
``POST /v1/infers/{service_id}[/...]`` on the emulator's own port, authenticated like every other
API call (an IAM token in ``X-Auth-Token``, as the UMN's "Accessing a Real-Time Service
(Token-based Authentication)" shows, or an AK/SK signature [UNCERTAIN: documented through an APIG
app, not read]).

While the service is running (or concerning) the answer is 200 and a deterministic JSON payload
derived from the request: which model version took it (chosen by the config weights from the
body's hash), the sub-path, the body's SHA-256 and size, and the JSON body echoed back when it is
JSON. Otherwise the docs name no answer: the emulator says 503 with the error code
``ModelArts.Emulator.NotServing`` (plainly its own), and 404 ModelArts.3502 for an unknown service.
Every call counts in ``invocation_times`` and a refused one in ``failed_times``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modelarts_emulator.models.responses import error_response
from modelarts_emulator.responses import Response, json_response
from modelarts_emulator.services import spec
from modelarts_emulator.services.state import ServiceStore


def _pick(models: list[tuple[str, str, str]], weights: list[int], digest: bytes) -> tuple[str, str, str]:
    point = int.from_bytes(digest[:4], "big") % max(1, sum(weights))
    for model, weight in zip(models, weights, strict=True):
        if point < weight:
            return model
        point -= weight
    return models[0]


def invoke(store: ServiceStore, service_id: str, sub_path: str, body: bytes) -> Response:
    with store.lock:
        service = store.get(service_id)
        if service is None:
            return error_response(spec.SERVICE_NOT_FOUND, service_id)
        status = store.status(service)
        service.invocation_times += 1
        if service.infer_type != spec.REAL_TIME or status not in spec.SERVING:
            service.failed_times += 1
            message = f"Service {service_id} is {status}; only a running real-time service answers inference requests."
            return json_response(503, {"error_code": spec.NOT_SERVING_CODE, "error_msg": message})
        weights = [int(entry.get("weight", 0)) for entry in service.config]
        models = list(service.models)
    digest = hashlib.sha256(body).digest()
    model_id, name, version = _pick(models, weights, digest)
    echo: Any = None
    try:
        echo = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError):
        echo = None
    payload = {
        "service_id": service_id,
        "model_id": model_id,
        "model_name": name,
        "model_version": version,
        "path": sub_path or "/",
        "request_sha256": digest.hex(),
        "request_bytes": len(body),
        "input": echo,
        # A stand-in "prediction": a score in [0, 1) from the body's hash, the same every time.
        "result": {"score": round(int.from_bytes(digest[4:8], "big") / 2**32, 6)},
    }
    return json_response(200, payload)
