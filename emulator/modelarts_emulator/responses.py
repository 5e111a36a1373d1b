"""Response values and the documented error body shapes.

Three families of error body exist and clients must tell them apart, so each has one builder:

* API gateway: ``{"error_msg", "error_code": "APIGW.xxxx", "request_id"}``
  (https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html)
* ModelArts v1: ``{"is_success": false, "error_code": "ModelArts.xxxx", "error_message"}``
  (the v1 pages under https://support.huaweicloud.com/intl/en-us/api-modelarts/)
* ModelArts v2: ``{"error_code": "ModelArts.xxxx", "error_msg", "error_solution"}`` (the failure
  example of https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateTrainingJob.html)
* IAM: the legacy Keystone ``{"error": {"code", "message", "title"}}`` or ``{"error_msg", "error_code"}``
  (https://support.huaweicloud.com/intl/en-us/api-iam/iam_02_0006.html for the latter)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.v1 import spec
from modelarts_emulator.v2 import spec as v2_spec

JSON_CONTENT_TYPE = "application/json"


@dataclass
class Response:
    """What the handler sends: status, body and any extra headers.

    ``error_code`` is kept for the request log so stats show why a request failed.
    """

    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    error_code: str | None = None


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    error_code = payload.get("error_code") if isinstance(payload, dict) else None
    return Response(status, body, headers=list(headers or []), error_code=error_code)


def apigw_error(status: int, code: str, message: str, request_id: str) -> Response:
    """An API gateway error (it answers before ModelArts is reached)."""
    return json_response(status, {"error_msg": message, "error_code": code, "request_id": request_id})


def modelarts_error(status: int, code: str, message: str) -> Response:
    """A ModelArts v1 error body: the v1 REST pages and their failure samples use ``error_message``
    (e.g. https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0046.html)."""
    return json_response(status, {"is_success": False, "error_code": code, "error_message": message})


def v2_error(error: v2_spec.ErrorCode, *args: str) -> Response:
    """A ModelArts v2 error body; ``args`` fill the ``%s`` of the documented message."""
    message = error.message % args if args else error.message
    return json_response(
        error.status, {"error_code": error.code, "error_msg": message, "error_solution": error.solution}
    )


def bad_parameter(parameter: str, allowed: str) -> Response:
    return modelarts_error(400, spec.CODE_BAD_PARAMETER, f"Invalid parameter {parameter}: {allowed}.")


def not_found_api(request_id: str) -> Response:
    return apigw_error(404, "APIGW.0101", "API not found", request_id)


# APIG's error-code table (https://support.huaweicloud.com/intl/en-us/usermanual-apig/apig_03_0048.html):
# 404 APIG.0101 "The API does not exist or has not been published in the environment."
NOT_PUBLISHED_MESSAGE = "The API does not exist or has not been published in the environment."


def api_not_published(request_id: str) -> Response:
    """An API the gateway of this cloud does not publish (the AOM log API on Open Telekom Cloud
    and the EU site, see EmulatorConfig.aom_logs): the gateway's 404, before any authentication."""
    return apigw_error(404, "APIGW.0101", NOT_PUBLISHED_MESSAGE, request_id)


@dataclass(frozen=True)
class Request:
    """An incoming request as the gateway sees it: raw wire path and query, headers, body."""

    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_host: str
    request_id: str

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None
