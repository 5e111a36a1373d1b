"""What every Huawei Cloud API call shares, whatever the API version: error bodies, redaction,
``Retry-After``, which HTTP statuses a retry can fix, and the IAM token's validity window.

The API-specific knowledge (which error codes mean "not found" or "token expired", hints for a
service's own codes) comes in as an :class:`ErrorTable`, so the v1 module and a v2 module each
describe their codes as data and share the parsing. The gateway's own codes (``APIGW.*``) are
the same in front of every API and live here. Nothing here does I/O or imports ``requests``
(DAG files import this through the operators); the retry policy of a request, which needs
``requests``' exception types, is in :mod:`airflow_provider_modelarts.cloud.retry`.

Sources: the API gateway error codes,
https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html, and the
ModelArts error codes, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pendulum

from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsRequestRejectedError,
    ModelArtsServerError,
    ModelArtsSignatureExpiredError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
)

# 429 and the 5xx that announce a passing condition. 501 (Not Implemented) and 505 (HTTP Version
# Not Supported) say the request can never succeed as sent, so they are not retried.
RETRYABLE_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
# "The token must be updated": expired, or a token of another region. Both prefixes occur.
GATEWAY_TOKEN_EXPIRED_CODES = frozenset({"APIGW.0307", "APIG.0307"})
GATEWAY_CODE_PREFIXES = ("APIGW.", "APIG.")

_SECRET_PLACEHOLDER = "***"
_MESSAGE_LIMIT = 500
_CANONICAL_ECHO = "canonicalRequest:"
# Retry-After as delay-seconds (RFC 9110 allows only digits; a fraction is accepted too).
_DELAY_SECONDS = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class ErrorTable:
    """The error codes of one API, as data.

    :param not_found_codes: codes that mean the object does not exist, whatever the HTTP status
        (ModelArts answers a missing training job with HTTP 400).
    :param token_expired_codes: the service's own "token expired" codes (the gateway's are added).
    :param hints: what to check, per error code.
    :param success_flag: a field of a 2xx body that is false when the call failed (v1's
        ``is_success``); ``None`` when the API reports failures by HTTP status only.
    :param throttled_codes: codes that mean the request was throttled, whatever the HTTP status
        (HTTP 429 always does).
    """

    not_found_codes: frozenset[str] = frozenset()
    token_expired_codes: frozenset[str] = frozenset()
    hints: Mapping[str, str] = field(default_factory=dict)
    success_flag: str | None = None
    throttled_codes: frozenset[str] = frozenset()

    @property
    def all_token_expired_codes(self) -> frozenset[str]:
        return GATEWAY_TOKEN_EXPIRED_CODES | self.token_expired_codes

    def reports_failure(self, body: Mapping[str, Any]) -> bool:
        """Whether a 2xx body says the call failed."""
        return self.success_flag is not None and body.get(self.success_flag) is False


# IAM (the token request) and the gateway in front of it: no service codes of their own to add.
IAM_ERROR_TABLE = ErrorTable()


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in ``text`` (gateway messages may echo signed header values)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _SECRET_PLACEHOLDER)
    return text


def parse_json_body(body: bytes) -> Any:
    """Decode a JSON body; ``None`` if it is not JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def parse_retry_after(value: str | None, now: pendulum.DateTime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay seconds or an HTTP date (RFC 9110).

    Anything else (``nan``, ``inf``, a negative number, garbage, a date without a zone) is treated
    as absent, so it is never slept on. A date in the past means "now" (0).
    """
    if not value:
        return None
    text = value.strip()
    if _DELAY_SECONDS.match(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or pendulum.now("UTC"))).total_seconds())


def is_retryable_status(http_status: int) -> bool:
    return http_status in RETRYABLE_HTTP_STATUSES


def first_error_pair(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (code, message) pair of any documented error shape, searching nested objects too.

    Shapes: ModelArts v1 ``{error_code, error_message}``, ModelArts v2 and the gateway
    ``{error_code, error_msg}``, IAM ``{"error": {code, message}}`` and ``{errorCode, errorMsg}``.
    """
    for code_key, message_keys in (
        ("error_code", ("error_message", "error_msg")),
        ("errorCode", ("errorMsg",)),
        ("code", ("message",)),
    ):
        if code_key in body:
            for message_key in message_keys:
                if message_key in body:
                    return str(body[code_key]), str(body[message_key])
    for value in body.values():
        if isinstance(value, Mapping):
            found = first_error_pair(value)
            if found:
                return found
    return None


def _gateway_hint(http_status: int, code: str, message: str, table: ErrorTable) -> str | None:
    lowered = message.lower()
    if "signature expired" in lowered:
        return (
            "Check this machine's clock: the gateway refuses requests whose X-Sdk-Date is more than "
            "15 minutes off (for temporary credentials, also check that they have not expired)"
        )
    if "reach the limit" in lowered or ("forbidden" in lowered and code.endswith("0301")):
        return (
            "The gateway locks an AK for 5 minutes after more than 5 bad signatures in a row: fix the keys, then wait"
        )
    if code.endswith(".0301"):
        return (
            "Check the Access Key ID and Secret Access Key (and the security token for temporary "
            "credentials); more than 5 failures in a row lock the AK for 5 minutes"
        )
    if code in table.all_token_expired_codes:
        return (
            "The IAM token expired or belongs to another region: check that the connection's region "
            "matches its endpoint"
        )
    if code in table.hints:
        return table.hints[code]
    if code in {"APIGW.0310", "APIG.0310"}:
        return "Check the project_id: it must be the project of this region in the same account"
    if http_status == 404 and code.startswith(GATEWAY_CODE_PREFIXES):
        return "No such API at this endpoint: check the region and the endpoint URL"
    if http_status == 429:
        return "The API is throttling this account: poll less often or coalesce the sensors"
    if code.startswith("IAM.") or http_status == 401:
        return "Check the user name, password and domain name (account) of the connection"
    if http_status == 403:
        return "Check that the credentials' user may use ModelArts in this project and region (IAM permissions)"
    return None


# 4xx answers that may change without the request changing: a request timeout, a conflict with the
# object's current state (e.g. terminating a job that already ended), "too early".
_STATE_DEPENDENT_4XX = frozenset({408, 409, 425})
_NOT_FOUND_HINT = "Check the id: the object may have been deleted, or belong to another project or region"


def error_from_response(
    http_status: int,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
    *,
    table: ErrorTable,
) -> ModelArtsApiError:
    """Build the typed error for an error response (or a 2xx body that reports a failure)."""
    parsed = parse_json_body(body)
    code, message = "", ""
    request_id = headers.get("X-Request-Id") or headers.get("x-request-id")
    solution: str | None = None
    if isinstance(parsed, Mapping):
        pair = first_error_pair(parsed)
        if pair:
            code, message = pair
        request_id = request_id or parsed.get("request_id")
        # The v2 shape says what to do about the error; keep it as a hint when we have none.
        raw_solution = parsed.get("error_solution")
        solution = redact(str(raw_solution), secrets)[:_MESSAGE_LIMIT] if raw_solution else None
    if not message:
        message = body.decode("utf-8", "replace").strip()[:_MESSAGE_LIMIT] or f"HTTP {http_status}"
    # IAM's legacy body gives a numeric code; keep the HTTP status in http_status only.
    if code.isdigit():
        code = ""
    # The gateway may echo its canonical request after a signature failure: useful to compare
    # with ours when debugging, but twenty lines of noise in a task log or a UI toast.
    message, _, echoed = message.partition(_CANONICAL_ECHO)
    message = redact(message.rstrip(" ,"), secrets)[:_MESSAGE_LIMIT]
    hint = _gateway_hint(http_status, code, message, table) or solution
    throttled = http_status == 429 or code in table.throttled_codes
    retry_after = (
        parse_retry_after(headers.get("Retry-After")) if throttled or is_retryable_status(http_status) else None
    )
    error_class: type[ModelArtsApiError]
    if http_status in (401, 403):
        if code in table.all_token_expired_codes:
            error_class = ModelArtsTokenExpiredError
        elif "signature expired" in message.lower():
            error_class = ModelArtsSignatureExpiredError
        else:
            error_class = ModelArtsAuthError
    elif throttled:
        error_class = ModelArtsThrottledError
    elif code in table.not_found_codes or (http_status == 404 and not code.startswith(GATEWAY_CODE_PREFIXES)):
        error_class = ModelArtsNotFoundError
    elif http_status >= 500:
        error_class = ModelArtsServerError
    elif 400 <= http_status < 500 and http_status not in _STATE_DEPENDENT_4XX:
        error_class = ModelArtsRequestRejectedError
    else:
        error_class = ModelArtsApiError
    if error_class is ModelArtsNotFoundError and hint is None:
        hint = _NOT_FOUND_HINT
    error = error_class(http_status, code, message, request_id, hint, retry_after=retry_after)
    error.server_canonical_request = redact(echoed.replace("|", "\n"), secrets) if echoed else None
    return error


def parse_iam_token_times(body: Any, now: pendulum.DateTime) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """``(issued_at, expires_at)`` of an IAM token response body (``token.issued_at`` and
    ``token.expires_at``, https://support.huaweicloud.com/intl/en-us/api-iam/iam_30_0001.html).

    Without a readable expiry, assume one hour: IAM tokens last 24 hours, so this only costs an
    early refresh.
    """
    token = body.get("token") if isinstance(body, Mapping) else None
    try:
        expires_at = pendulum.parse(token["expires_at"])  # type: ignore[index]
        issued_at = pendulum.parse(token.get("issued_at") or now.isoformat())  # type: ignore[union-attr]
    except (KeyError, TypeError, ValueError, AttributeError):
        return now, now.add(hours=1)
    if not isinstance(expires_at, pendulum.DateTime) or not isinstance(issued_at, pendulum.DateTime):
        return now, now.add(hours=1)
    return issued_at, expires_at
