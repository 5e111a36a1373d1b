"""The control endpoints (``/_emulator/...``, loopback only, never counted) for models and services.

* ``PUT /_emulator/model-plans/{name_prefix}`` with ``{"timeline", "failure_message", "model_size"}``
  decides what a model created through the API does when its name starts with the prefix
  (longest wins), e.g. ``{"timeline": [["building", 2], ["building_failed", null]],
  "failure_message": "pip could not install numpy==0.0.1"}``; statuses are publishing,
  published, failed, building, building_failed. Answers 200 with the plan. ``GET
  /_emulator/model-plans`` lists them, ``DELETE`` on a prefix removes one, on the list all.
* ``PUT /_emulator/service-plans/{name_prefix}`` with ``{"timeline", "error_msg", "outputs"}`` does
  the same for services: ``[["deploying", 2], ["failed", null]]`` (a deploy that fails, with
  ``error_msg``), ``[["deploying", 2], ["running", 5], ["concerning", null]]``, or for batch
  ``[["deploying", 1], ["running", 4], ["finished", null]]`` with ``outputs`` (the input object
  names, or their count, whose ``<name>_result.txt`` the run writes under dest_path). A start or a
  new config deploys again along the same plan. ``GET``/``DELETE`` as for model plans.
* ``GET /_emulator/models``: ``{"models": [{model_id, model_name, model_version, model_status}]}``;
  ``PUT /_emulator/models/{id}/timeline`` with ``{"timeline"}`` restarts a model's timeline now.
* ``GET /_emulator/services``: ``{"services": [{service_id, service_name, infer_type, status,
  model_ids}]}``; ``PUT /_emulator/services/{id}/timeline`` with ``{"timeline"}`` replaces a
  service's timeline from now on (e.g. ``[["concerning", null]]``); ``GET
  /_emulator/services/{id}/outputs``: ``{"outputs": [...], "written": [...]}`` for a batch run.
* ``POST /_emulator/inference/reset``: forget every model, service and plan (``POST
  /_emulator/reset`` keeps them, as it keeps jobs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from modelarts_emulator.responses import Request, Response, json_response
from modelarts_emulator.services.api import InferenceApi

_PLAN = re.compile(r"^/_emulator/(model|service)-plans/([^/]+)$")
_PLANS = re.compile(r"^/_emulator/(model|service)-plans$")
_TIMELINE = re.compile(r"^/_emulator/(model|service)s/([^/]+)/timeline$")
_OUTPUTS = re.compile(r"^/_emulator/services/([^/]+)/outputs$")


def route_inference(
    api: InferenceApi, method: str, path: str, request: Request, body: Callable[[Request], dict[str, Any]]
) -> Response | None:
    """The answer of a models/services control call, or None when the path is not one."""
    if (method, path) == ("GET", "/_emulator/models"):
        return json_response(200, {"models": api.model_states()})
    if (method, path) == ("GET", "/_emulator/services"):
        return json_response(200, {"services": api.service_states()})
    if (method, path) == ("POST", "/_emulator/inference/reset"):
        api.clear()
        return json_response(200, {"ok": True})
    match = _PLANS.match(path)
    if match:
        plans = api.model_plans if match[1] == "model" else api.service_plans
        if method == "GET":
            return json_response(200, {"plans": plans.list()})
        if method == "DELETE":
            plans.clear()
            return json_response(200, {"ok": True})
    match = _PLAN.match(path)
    if match and method in ("PUT", "DELETE"):
        if method == "DELETE":
            (api.model_plans if match[1] == "model" else api.service_plans).remove(match[2])
            return json_response(200, {"ok": True})
        options = body(request)
        if "timeline" not in options:
            raise ValueError("a plan needs a 'timeline'")
        if match[1] == "model":
            return json_response(200, api.model_plans.put(match[2], **options))
        return json_response(200, api.service_plans.put(match[2], **options))
    match = _TIMELINE.match(path)
    if match and method == "PUT":
        timeline = body(request).get("timeline", ())
        if match[1] == "model":
            api.set_model_timeline(match[2], timeline)
        else:
            api.set_service_timeline(match[2], timeline)
        return json_response(200, {"ok": True})
    match = _OUTPUTS.match(path)
    if match and method == "GET":
        return json_response(200, api.service_outputs(match[1]))
    return None
