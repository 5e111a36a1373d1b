"""Injected faults: throttling, gateway errors, dropped connections, bad bodies.

A fault matches API requests (never control requests) whose path contains ``path_contains``;
each match consumes one of its ``count`` (``None``: until cleared). The first matching fault in
insertion order wins. Faults apply *before* authentication, as a gateway throttles first.

Faults that lose an answer the service has already acted on (a create that made its job, a
terminate that went through), as a client with a read timeout or a cut connection sees them:

* ``drop_mid``: the request is processed normally, then the connection closes halfway through
  the response body (its ``Content-Length`` announces the whole body).
* ``slow`` with ``after=True``: the request is processed, then the answer waits ``delay`` seconds
  (a client whose timeout is shorter gives up while the job already exists). Without ``after``
  the wait comes first and the request reaches the service only after it.
* ``drop`` never reaches the service: nothing is processed.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.responses import (
    Response,
    apigw_error,
    json_response,
    modelarts_error,
)
from modelarts_emulator.v2 import spec as v2_spec

FAULT_KINDS = (
    "status",
    "drop",
    "drop_mid",
    "slow",
    "not_json",
    "truncated",
    "success_false",
    "token_expired",
)
# Kinds that still run the request normally and only change how (or when) it is delivered.
DELIVERY_KINDS = frozenset({"drop_mid", "slow", "truncated"})

THROTTLE_MESSAGE = "The throttling threshold has been reached: policy user over ratelimit,limit:200,time:1 minute"
# Default (code, message) per HTTP status, from the gateway error table:
# https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html
_GATEWAY_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("APIGW.0201", "Request error"),
    401: ("APIGW.0301", "Incorrect IAM authentication information"),
    403: ("APIGW.0302", "The IAM user is not authorized to access the API"),
    404: ("APIGW.0101", "API not found"),
    429: ("APIGW.0308", THROTTLE_MESSAGE),
    502: ("APIGW.0201", "Backend unavailable"),
    503: ("APIGW.0613", "IAM service is currently unavailable"),
    504: ("APIGW.0201", "Backend timeout"),
}
HTML_BODY = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>\n"
)


@dataclass
class Fault:
    """One injected fault; ``options`` holds the kind's own settings (status, delay, ...)."""

    fault_id: int
    kind: str
    count: int | None = None
    path_contains: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.fault_id,
            "kind": self.kind,
            "count": self.count,
            "path_contains": self.path_contains,
            **self.options,
        }


def _validate(kind: str, count: int | None, options: dict[str, Any]) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer or None")
    if kind == "status":
        status = options.get("status", 500)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("a status fault needs an HTTP error status 400-599")
    if kind == "slow":
        delay = options.get("delay", 2.0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
            raise ValueError("delay must be 0-600 seconds")
        if not isinstance(options.get("after", False), bool):
            raise ValueError("after must be true or false")


class FaultRegistry:
    """The active faults, consumed by matching requests. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, kind: str, count: int | None = None, path_contains: str | None = None, **options: Any) -> Fault:
        _validate(kind, count, options)
        with self._lock:
            fault = Fault(next(self._ids), kind, count, path_contains, dict(options))
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def take(self, path: str) -> Fault | None:
        """The fault this request gets, if any, consuming one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is not None and fault.path_contains not in path:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                return fault
        return None


def fault_response(fault: Fault, request_id: str, v2: bool = False) -> Response | None:
    """The response that replaces the real one, or ``None`` for delivery-only kinds and drop.

    ``v2``: the request was for a v2 path, so a ``ModelArts.*`` code comes in the v2 error body.
    """
    options = fault.options
    if fault.kind == "status":
        return _status_response(options, request_id, v2)
    if fault.kind == "not_json":
        return Response(200, HTML_BODY, content_type="text/html")
    if fault.kind == "success_false":
        return modelarts_error(
            200,
            str(options.get("error_code", "ModelArts.0104")),
            str(options.get("error_message", "Invalid request parameters. Please check and try again.")),
        )
    if fault.kind == "token_expired":
        return apigw_error(401, "APIGW.0307", "The token must be updated.", request_id)
    return None


def _modelarts_fault(status: int, code: str, message: str | None, v2: bool, v1_default: str) -> Response:
    if not v2:
        return modelarts_error(status, code, message if message is not None else v1_default)
    # The v2 body; the documented throttling code keeps its documented message and solution.
    documented = v2_spec.TOO_MANY_REQUESTS if code == v2_spec.TOO_MANY_REQUESTS.code else None
    payload = {
        "error_code": code,
        "error_msg": message if message is not None else (documented.message if documented else "Internal error."),
        "error_solution": documented.solution if documented else "Please try again later",
    }
    return json_response(status, payload)


def _status_response(options: dict[str, Any], request_id: str, v2: bool = False) -> Response:
    status = int(options.get("status", 500))
    headers = []
    if options.get("retry_after") is not None:
        headers.append(("Retry-After", str(options["retry_after"])))
    message = str(options["error_message"]) if "error_message" in options else None
    if status == 500 and "error_code" not in options:
        # A ModelArts backend failure rather than a gateway one.
        response = _modelarts_fault(500, "ModelArts.0010", message, v2, "Internal error.")
        response.headers = headers
        return response
    default_code, default_message = _GATEWAY_DEFAULTS.get(
        status, ("APIGW.0201" if status < 500 else "APIGW.0601", "Gateway error")
    )
    code = str(options.get("error_code", default_code))
    if code.startswith("ModelArts."):
        response = _modelarts_fault(status, code, message, v2, default_message)
    else:
        response = apigw_error(status, code, message if message is not None else default_message, request_id)
    response.headers = headers
    return response
