"""Unauthenticated control endpoints under ``/_emulator/``, answered to loopback clients only.

They mirror the Python API so that a test or a demo in another process (or another language) can
steer the emulator. They are never counted as API requests and never faulted.

v2 training jobs:

* ``POST /_emulator/v2/training-jobs`` with ``{"name", "timeline", ...}`` creates a job whose
  timeline starts now, e.g. ``{"name": "my-job", "timeline": [["Creating", 1], ["Pending", 2],
  ["Running", 5], ["Failed", null]], "exit_code": 137, "message": "OOMKilled"}``; answers 201
  ``{"id", "name"}``. Optional: ``workspace_id``, ``description``, ``node_count``, ``flavor_id``,
  ``exit_code``/``message`` (worker-0 of a job that ends Failed) or ``task_statuses``,
  ``algorithm_name``, ``runtime_type``, ``job_id`` (a UUID), ``offset`` (seconds already elapsed),
  ``tasks`` (its task names, e.g. ``["worker-0", "server-0"]``; default ``worker-0`` ... one per
  node), ``logs`` (the lines tasks print, as for a create plan below).
  A step may name its secondary phase third: ``["Abnormal", null, "CreateFailed"]``.
* ``PUT /_emulator/v2/training-jobs/{id}/timeline`` with ``{"timeline"}`` restarts it on a new one.
* ``POST /_emulator/v2/training-jobs/{id}/terminate``: Terminating, then Terminated (409 when the
  phase is not Creating, Pending or Running).
* ``DELETE /_emulator/v2/training-jobs/{id}``.

* ``PUT /_emulator/v2/create-plans/{name_prefix}`` with ``{"timeline", "exit_code", "message",
  "task_statuses", "logs", "tasks"}`` (all but ``timeline`` optional) decides what a job created through
  the API (``POST /v2/{project_id}/training-jobs``) does when its name starts with
  ``name_prefix`` (the longest matching prefix wins; plans stay until removed, like jobs):
  ``{"timeline": [["Creating", 1], ["Pending", 1], ["Running", 6], ["Failed", null]],
  "exit_code": 137, "message": "OOMKilled", "logs": {"worker-0": ["epoch 1", "epoch 2"]}}``.
  ``logs`` maps a task to its lines, spread evenly over Running with the first at its start, or
  to ``[seconds_after_running_began, line]`` pairs; ``tasks`` names the created jobs' tasks
  (``["worker-0", "server-0"]``; default one ``worker-N`` per node). Answers 200 with the plan.
  ``GET /_emulator/v2/create-plans`` lists them; ``DELETE`` on a prefix removes one, on
  ``/_emulator/v2/create-plans`` all.
* ``PUT /_emulator/v2/job-schedules/{name}`` with ``{"every", "count", "start_after", "job_name",
  "timeline", "final_phase" | "outcomes", "exit_code", "message", "outputs", "workspace_id",
  "description", "flavor_id", "node_count"}`` (all but ``every`` optional) makes the emulator
  create v2 jobs by itself, on its clock: ``{"every": 30, "count": 3, "job_name":
  "nightly-{date}-{n}", "outcomes": ["Completed", "Failed"], "outputs":
  ["obs://bucket/{name}/model/"]}`` creates ``nightly-<date>-1`` at 30 s, ``-2`` at 60 s (Failed),
  ``-3`` at 90 s (see :mod:`modelarts_emulator.v2.schedules`). Answers 200 with the schedule as
  ``GET /_emulator/v2/job-schedules`` lists it (``{"schedules": [{..., "created", "jobs": [{"id",
  "name", "create_time", "outcome"}], "skipped", "done", "next_in"}]}``). ``DELETE`` on a name
  stops one, on ``/_emulator/v2/job-schedules`` all (their jobs stay); reset keeps them.
* ``GET /_emulator/v2/terminations``: ``{"terminations": [{"id", "name", "phase_before",
  "status", "time"}]}``, every terminate action the API received (202 or 409), in order, since
  the last ``POST /_emulator/reset``.
* ``GET /_emulator/v2/training-jobs/{id}/logs/{task}``: ``{"lines": [...]}``, the task's whole log
  at this instant (what a client that read every page should have seen).

* ``GET``/``PUT /_emulator/v2/aom-logs`` with ``{"enabled": false}`` withdraws the AOM log API
  (``GET /v2/{project_id}/training-jobs/{id}/logs/{task_id}`` then answers the gateway's 404
  APIGW.0101, as on Open Telekom Cloud and the EU site); ``true`` publishes it again. Answers
  ``{"enabled"}``. ``POST /_emulator/reset`` restores the configured value.
* ``GET``/``PUT /_emulator/v2/log-preview`` with ``{"max_bytes": n}`` sets the log preview's cap
  on ``content`` (1 to 5 MB; reset restores the configured value). Answers ``{"max_bytes"}``.

Models and services: plans (``/_emulator/model-plans/{prefix}``, ``/_emulator/service-plans/{prefix}``),
their state (``GET /_emulator/models``, ``GET /_emulator/services``, ``.../{id}/timeline``,
``.../services/{id}/outputs``) and ``POST /_emulator/inference/reset``: see
:mod:`modelarts_emulator.services.control`.

Temporary credentials (:mod:`modelarts_emulator.credentials`):

* ``GET``/``PUT /_emulator/credentials`` with any of ``{"metadata_agency": bool,
  "metadata_session_token": bool, "temporary_credential_seconds": number | null}`` reads or
  changes the metadata service's switches and the lifetime of credentials issued from now on;
  answers those three. ``POST /_emulator/reset`` restores the configured values.
* ``POST /_emulator/credentials/expire`` expires every issued temporary credential, IAM token and
  metadata session token now (the gateway then answers 401 APIGW.0307); answers ``{"expired":
  {"temporary_credentials", "iam_tokens", "metadata_session_tokens"}}``, how many were still valid.

``POST /_emulator/advance`` with ``{"seconds"}`` moves every job, model and service timeline that
much real time forward at once (``speed`` times as many emulated seconds).

Bad input answers 400 ``{"error"}``, an unknown job 404.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from modelarts_emulator.app import EmulatorApp
from modelarts_emulator.responses import Request, Response, json_response
from modelarts_emulator.services.control import route_inference

_JOB = re.compile(r"^/_emulator/jobs/([0-9]+)$")
_VERSIONS = re.compile(r"^/_emulator/jobs/([0-9]+)/versions$")
_TIMELINE = re.compile(r"^/_emulator/jobs/([0-9]+)/versions/([0-9]+)/timeline$")
_V2_JOB = re.compile(r"^/_emulator/v2/training-jobs/([^/]+)$")
_V2_TIMELINE = re.compile(r"^/_emulator/v2/training-jobs/([^/]+)/timeline$")
_V2_TERMINATE = re.compile(r"^/_emulator/v2/training-jobs/([^/]+)/terminate$")
_V2_PLAN = re.compile(r"^/_emulator/v2/create-plans/([^/]+)$")
_V2_SCHEDULE = re.compile(r"^/_emulator/v2/job-schedules/([^/]+)$")
_V2_LOG = re.compile(r"^/_emulator/v2/training-jobs/([^/]+)/logs/([^/]+)$")


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return payload


def handle_control(app: EmulatorApp, request: Request) -> Response:
    if not _is_loopback(request.client_host):
        return json_response(403, {"error": "control endpoints answer loopback clients only"})
    try:
        return _route(app, request)
    except KeyError as error:
        return json_response(404, {"error": str(error.args[0]) if error.args else "not found"})
    except (TypeError, ValueError) as error:
        return json_response(400, {"error": str(error)})


def _route(app: EmulatorApp, request: Request) -> Response:
    method, path = request.method, request.raw_path.rstrip("/")
    if (method, path) == ("GET", "/_emulator/stats"):
        return json_response(200, app.stats.snapshot())
    if (method, path) == ("GET", "/_emulator/health"):
        return json_response(200, {"ok": True})
    if (method, path) == ("POST", "/_emulator/reset"):
        app.reset()
        return json_response(200, {"ok": True})
    if path == "/_emulator/faults":
        if method == "GET":
            return json_response(200, {"faults": app.faults.list()})
        if method == "DELETE":
            app.faults.clear()
            return json_response(200, {"ok": True})
        if method == "POST":
            options = _body(request)
            kind = options.pop("kind", None)
            if not isinstance(kind, str):
                raise ValueError("a fault needs a 'kind'")
            return json_response(201, app.faults.add(kind, **options).describe())
    if (method, path) == ("PUT", "/_emulator/clock"):
        app.set_clock_skew(_body(request).get("skew_seconds", 0.0))
        return json_response(200, {"ok": True, "skew_seconds": app.gateway.clock_skew})
    if path == "/_emulator/credentials" and method in ("GET", "PUT"):
        if method == "PUT":
            app.credentials.settings.update(_body(request))
        return json_response(200, app.credentials.settings.as_dict())
    if (method, path) == ("POST", "/_emulator/credentials/expire"):
        return json_response(200, {"expired": app.credentials.expire_all()})
    if (method, path) == ("POST", "/_emulator/advance"):
        app.advance_time(_body(request).get("seconds", 0.0))
        return json_response(200, {"ok": True})
    if (method, path) == ("POST", "/_emulator/jobs"):
        body = _body(request)
        return json_response(201, app.create_job(**body))
    match = _VERSIONS.match(path)
    if match and method == "POST":
        return json_response(201, app.add_version(int(match[1]), _body(request).get("timeline", ())))
    match = _TIMELINE.match(path)
    if match and method == "PUT":
        app.set_timeline(int(match[1]), int(match[2]), _body(request).get("timeline", ()))
        return json_response(200, {"ok": True})
    match = _JOB.match(path)
    if match and method == "DELETE":
        app.delete_job(int(match[1]))
        return json_response(200, {"ok": True})
    inference = route_inference(app.inference, method, path, request, _body)
    if inference is not None:
        return inference
    return _route_v2(app, method, path, request) or json_response(
        404, {"error": f"no control endpoint {method} {path}"}
    )


def _route_v2(app: EmulatorApp, method: str, path: str, request: Request) -> Response | None:
    """v2 training jobs: create with a phase timeline, replace the timeline, terminate, delete."""
    app.job_schedules.catch_up()  # scheduled jobs that fell due exist before any v2 control call
    if path == "/_emulator/v2/job-schedules":
        if method == "GET":
            return json_response(200, {"schedules": app.job_schedules.list()})
        if method == "DELETE":
            app.job_schedules.clear()
            return json_response(200, {"ok": True})
    match = _V2_SCHEDULE.match(path)
    if match and method == "PUT":
        spec = _body(request)
        if spec.pop("name", match[1]) != match[1]:
            raise ValueError("the body's 'name' differs from the schedule name in the path")
        return json_response(200, app.job_schedules.put(match[1], **spec))
    if match and method == "DELETE":
        app.job_schedules.remove(match[1])
        return json_response(200, {"ok": True})
    if (method, path) == ("POST", "/_emulator/v2/training-jobs"):
        body = _body(request)
        if "name" not in body or "timeline" not in body:
            raise ValueError("a v2 training job needs a 'name' and a 'timeline'")
        return json_response(201, app.create_training_job(**body))
    if path == "/_emulator/v2/create-plans":
        if method == "GET":
            return json_response(200, {"plans": app.create_plans.list()})
        if method == "DELETE":
            app.create_plans.clear()
            return json_response(200, {"ok": True})
    match = _V2_PLAN.match(path)
    if match and method == "PUT":
        body = _body(request)
        if "timeline" not in body:
            raise ValueError("a create plan needs a 'timeline'")
        return json_response(200, app.create_plans.put(match[1], **body))
    if match and method == "DELETE":
        app.create_plans.remove(match[1])
        return json_response(200, {"ok": True})
    if path == "/_emulator/v2/aom-logs" and method in ("GET", "PUT"):
        if method == "PUT":
            enabled: Any = _body(request).get("enabled")
            app.set_aom_logs(enabled)
        return json_response(200, {"enabled": app.aom_logs})
    if path == "/_emulator/v2/log-preview" and method in ("GET", "PUT"):
        if method == "PUT":
            max_bytes: Any = _body(request).get("max_bytes")
            app.set_log_preview_max_bytes(max_bytes)
        return json_response(200, {"max_bytes": app.log_preview_max_bytes})
    if (method, path) == ("GET", "/_emulator/v2/terminations"):
        return json_response(200, {"terminations": app.terminations()})
    match = _V2_LOG.match(path)
    if match and method == "GET":
        return json_response(200, {"lines": app.task_log(match[1], match[2])})
    match = _V2_TIMELINE.match(path)
    if match and method == "PUT":
        app.set_training_job_timeline(match[1], _body(request).get("timeline", ()))
        return json_response(200, {"ok": True})
    match = _V2_TERMINATE.match(path)
    if match and method == "POST":
        if not app.terminate_training_job(match[1]):
            return json_response(409, {"error": "the job's phase does not allow terminating it"})
        return json_response(200, {"ok": True})
    match = _V2_JOB.match(path)
    if match and method == "DELETE":
        app.delete_training_job(match[1])
        return json_response(200, {"ok": True})
    return None
