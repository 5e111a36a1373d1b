"""Everything this provider knows about the ModelArts v1 training-job API, in one place.

Paths, parameter names and limits, status codes and their meaning, validation of user input
(before any request is sent), and the parsing of every documented error body. The facts come from
``reference/modelarts-api.md`` (§1-§5); where the sources disagree we take the stricter reading and
say so in a comment.

Nothing here does I/O, so the hook, the operators, the sensor, the trigger and the emulator can all
share it.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import pendulum

from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsServerError,
    ModelArtsSignatureExpiredError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsValidationError,
)

# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------

DEFAULT_ENDPOINT_TEMPLATE = "https://modelarts.{region}.myhuaweicloud.com"
DEFAULT_IAM_ENDPOINT_TEMPLATE = "https://iam.{region}.myhuaweicloud.com"
DEFAULT_CONSOLE_TEMPLATE = "https://console.huaweicloud.com/modelarts/?region={region}"
IAM_TOKENS_PATH = "/v3/auth/tokens"


def training_jobs_path(project_id: str) -> str:
    return f"/v1/{project_id}/training-jobs"


def job_versions_path(project_id: str, job_id: int) -> str:
    return f"{training_jobs_path(project_id)}/{job_id}/versions"


def job_version_path(project_id: str, job_id: int, version_id: int) -> str:
    return f"{job_versions_path(project_id, job_id)}/{version_id}"


# ---------------------------------------------------------------------------------------------
# Status codes (§4)
# ---------------------------------------------------------------------------------------------


class JobStatus(IntEnum):
    """Training job status codes of the v1 API, with their documented names."""

    JOBSTAT_UNKNOWN = 0
    JOBSTAT_INIT = 1
    JOBSTAT_IMAGE_CREATING = 2
    JOBSTAT_IMAGE_FAILED = 3
    JOBSTAT_SUBMIT_TRYING = 4
    JOBSTAT_SUBMIT_FAILED = 5
    JOBSTAT_DELETE_FAILED = 6
    JOBSTAT_WAITING = 7
    JOBSTAT_RUNNING = 8
    JOBSTAT_KILLING = 9
    JOBSTAT_COMPLETED = 10
    JOBSTAT_FAILED = 11
    JOBSTAT_KILLED = 12
    JOBSTAT_CANCELED = 13
    JOBSTAT_LOST = 14
    JOBSTAT_SCALING = 15
    JOBSTAT_SUBMIT_MODEL_FAILED = 16
    JOBSTAT_DEPLOY_SERVICE_FAILED = 17
    JOBSTAT_CHECK_INIT = 18
    JOBSTAT_CHECK_RUNNING = 19
    JOBSTAT_CHECK_RUNNING_COMPLETED = 20
    JOBSTAT_CHECK_FAILED = 21
    MOUNT_FAILED = 22

    # Short aliases so DAG code can say JobStatus.COMPLETED.
    UNKNOWN = 0
    INIT = 1
    IMAGE_CREATING = 2
    IMAGE_FAILED = 3
    SUBMIT_TRYING = 4
    SUBMIT_FAILED = 5
    DELETE_FAILED = 6
    WAITING = 7
    RUNNING = 8
    KILLING = 9
    COMPLETED = 10
    FAILED = 11
    KILLED = 12
    CANCELED = 13
    LOST = 14
    SCALING = 15
    SUBMIT_MODEL_FAILED = 16
    DEPLOY_SERVICE_FAILED = 17
    CHECK_INIT = 18
    CHECK_RUNNING = 19
    CHECK_RUNNING_COMPLETED = 20
    CHECK_FAILED = 21

    @property
    def is_success(self) -> bool:
        return self in SUCCESS_STATUSES

    @property
    def is_failure(self) -> bool:
        return self in FAILURE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_in_progress(self) -> bool:
        return not self.is_terminal


# 10 is the only success. 20 ("review finished") is deliberately *not* success: nothing says
# training is done at that point (§4). 12 and 13 end a job that someone stopped: terminal, not
# success, unlike the Huawei provider that counts "Terminated" as success.
SUCCESS_STATUSES: frozenset[JobStatus] = frozenset({JobStatus.COMPLETED})
FAILURE_STATUSES: frozenset[JobStatus] = frozenset(
    {
        JobStatus.IMAGE_FAILED,
        JobStatus.SUBMIT_FAILED,
        JobStatus.DELETE_FAILED,
        JobStatus.FAILED,
        JobStatus.KILLED,
        JobStatus.CANCELED,
        JobStatus.LOST,
        JobStatus.SUBMIT_MODEL_FAILED,
        JobStatus.DEPLOY_SERVICE_FAILED,
        JobStatus.CHECK_FAILED,
        JobStatus.MOUNT_FAILED,
    }
)
TERMINAL_STATUSES: frozenset[JobStatus] = SUCCESS_STATUSES | FAILURE_STATUSES
VALID_STATUS_CODES = range(0, 23)


def status_name(code: int) -> str:
    """The documented name of a status code; unknown codes get ``UNDOCUMENTED_<code>``."""
    try:
        return JobStatus(code).name
    except ValueError:
        return f"UNDOCUMENTED_{code}"


def is_terminal_code(code: int) -> bool:
    """Undocumented codes count as in progress (§4), so a sensor keeps waiting until its timeout."""
    return code in VALID_STATUS_CODES and JobStatus(code).is_terminal


# ---------------------------------------------------------------------------------------------
# Parameters and validation (§1, §2)
# ---------------------------------------------------------------------------------------------

PER_PAGE_RANGE = (1, 1000)
PAGE_RANGE = (1, 65535)
DEFAULT_PER_PAGE = 10
ORDERS = ("asc", "desc")
# REST lists version_count; the old SDK doc lists engine_type in the same slot. Both are accepted.
SORT_KEYS = ("job_name", "job_desc", "status", "duration", "version_count", "create_time", "engine_type")
# REST says 64, the SDK doc 100: enforce the stricter one.
SEARCH_CONTENT_MAX_LENGTH = 64
# Job and version ids are Longs.
ID_MAX = 2**63 - 1
SORT_PARAM_AKSK = "sortBy"
SORT_PARAM_TOKEN = "sort_by"

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")
_TEMPLATE_MARKERS = ("{{", "{%")


def is_template(value: object) -> bool:
    """True for a string Airflow has not rendered yet: validate it after rendering instead."""
    return isinstance(value, str) and any(marker in value for marker in _TEMPLATE_MARKERS)


def coerce_int(value: object, parameter: str, minimum: int, maximum: int) -> int:
    """Accept an int or a string of digits (templates and URI connections give strings)."""
    allowed = f"an integer from {minimum} to {maximum}"
    if isinstance(value, bool):
        raise ModelArtsValidationError(parameter, allowed, value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdecimal():
        number = int(value.strip())
    else:
        raise ModelArtsValidationError(parameter, allowed, value)
    if not minimum <= number <= maximum:
        raise ModelArtsValidationError(parameter, allowed, value)
    return number


def validate_per_page(value: object, parameter: str = "per_page") -> int:
    return coerce_int(value, parameter, *PER_PAGE_RANGE)


def validate_page(value: object, parameter: str = "page") -> int:
    return coerce_int(value, parameter, *PAGE_RANGE)


def validate_id(value: object, parameter: str) -> int:
    """Job and version ids: positive integers, as int or digit string."""
    return coerce_int(value, parameter, 1, ID_MAX)


def validate_optional_positive_int(value: object, parameter: str) -> int | None:
    if value is None:
        return None
    return coerce_int(value, parameter, 1, ID_MAX)


def validate_status(value: object, parameter: str = "status") -> JobStatus:
    """A status code 0-22, given as a JobStatus, an int, a digit string or a status name."""
    allowed = "a ModelArts job status code from 0 to 22 or its name (e.g. 8 or 'RUNNING')"
    if isinstance(value, str) and not value.strip().isdecimal():
        name = value.strip().upper()
        member = JobStatus.__members__.get(name) or JobStatus.__members__.get(f"JOBSTAT_{name}")
        if member is None:
            raise ModelArtsValidationError(parameter, allowed, value)
        return member
    try:
        return JobStatus(coerce_int(value, parameter, 0, 22))
    except ModelArtsValidationError:
        raise ModelArtsValidationError(parameter, allowed, value) from None


def validate_status_set(value: object, parameter: str) -> frozenset[JobStatus]:
    """One status or a non-empty collection of them."""
    if isinstance(value, (str, int)):
        return frozenset({validate_status(value, parameter)})
    if isinstance(value, Iterable):
        statuses = frozenset(validate_status(item, parameter) for item in value)
        if statuses:
            return statuses
    raise ModelArtsValidationError(parameter, "a status code, a JobStatus or a non-empty collection of them", value)


def validate_order(value: object, parameter: str = "order") -> str:
    if isinstance(value, str) and value.strip().lower() in ORDERS:
        return value.strip().lower()
    raise ModelArtsValidationError(parameter, "'asc' or 'desc'", value)


def validate_sort_by(value: object, parameter: str = "sort_by") -> str:
    if isinstance(value, str) and value.strip() in SORT_KEYS:
        return value.strip()
    raise ModelArtsValidationError(parameter, "one of " + ", ".join(SORT_KEYS), value)


def validate_search_content(value: object, parameter: str = "search_content") -> str:
    if isinstance(value, str) and len(value) <= SEARCH_CONTENT_MAX_LENGTH:
        return value
    raise ModelArtsValidationError(parameter, f"a string of at most {SEARCH_CONTENT_MAX_LENGTH} characters", value)


def validate_name(value: object, parameter: str) -> str:
    """Project and workspace ids: letters, digits, '-' and '_' (they become part of the path)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _NAME_PATTERN.match(value.strip()):
        return value.strip()
    raise ModelArtsValidationError(parameter, "1 to 64 letters, digits, '-' or '_'", value)


def validate_region(value: object, parameter: str = "region") -> str:
    if isinstance(value, str) and _REGION_PATTERN.match(value.strip()):
        return value.strip()
    raise ModelArtsValidationError(parameter, "a Huawei Cloud region id such as 'cn-north-4'", value)


@dataclass(frozen=True)
class JobListFilters:
    """Validated arguments of the list-jobs call (§1). Build it with :meth:`validate`."""

    per_page: int = DEFAULT_PER_PAGE
    page: int = 1
    status: JobStatus | None = None
    sort_by: str | None = None
    # The v1 docs order "asc" by default, the SDK doc "desc": always send it so both read the same.
    order: str = "asc"
    search_content: str | None = None
    workspace_id: str | None = None

    @classmethod
    def validate(
        cls,
        status: object = None,
        per_page: object = DEFAULT_PER_PAGE,
        page: object = 1,
        sort_by: object = None,
        order: object = None,
        search_content: object = None,
        workspace_id: object = None,
    ) -> JobListFilters:
        """Check every argument, naming the parameter and what is allowed on the first bad one."""
        return cls(
            per_page=validate_per_page(per_page),
            page=validate_page(page),
            status=validate_status(status) if status is not None else None,
            sort_by=validate_sort_by(sort_by) if sort_by is not None else None,
            order=validate_order(order) if order is not None else "asc",
            search_content=validate_search_content(search_content) if search_content else None,
            workspace_id=validate_name(workspace_id, "workspace_id") if workspace_id is not None else None,
        )

    def query(self, sort_param: str) -> list[tuple[str, str]]:
        """The query pairs to send.

        :param sort_param: ``sortBy`` under AK/SK auth, ``sort_by`` under token auth (SDK doc).
        """
        pairs = [("per_page", str(self.per_page)), ("page", str(self.page)), ("order", self.order)]
        if self.status is not None:
            pairs.append(("status", str(int(self.status))))
        if self.sort_by is not None:
            pairs.append((sort_param, self.sort_by))
        if self.search_content is not None:
            pairs.append(("search_content", self.search_content))
        if self.workspace_id is not None:
            pairs.append(("workspace_id", self.workspace_id))
        return pairs


def sort_param_for(auth_type: str) -> str:
    """The sort parameter's name on the wire for an auth type ("aksk" or "password")."""
    return SORT_PARAM_AKSK if auth_type == "aksk" else SORT_PARAM_TOKEN


# Retries of each API call (the hook's policy; the operators, sensor and trigger pass them on).
DEFAULT_RETRY_LIMIT = 4
DEFAULT_RETRY_DELAY = 1.0
DEFAULT_RETRY_MAX_DELAY = 60.0


def validate_retry_settings(
    retry_limit: object, retry_delay: object, retry_max_delay: object = DEFAULT_RETRY_MAX_DELAY
) -> tuple[int, float, float]:
    """Check the retry knobs shared by the hook, the operators, the sensor and the trigger."""
    return (
        coerce_int(retry_limit, "retry_limit", 0, 20),
        _positive_float(retry_delay, "retry_delay"),
        _positive_float(retry_max_delay, "retry_max_delay"),
    )


def _positive_float(value: object, parameter: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ModelArtsValidationError(parameter, "a number of seconds greater than 0", value)


def list_versions_query(per_page: object = None, page: object = None) -> list[tuple[str, str]]:
    """Without paging arguments, ``page=0`` asks for every version (the API's own rule, §2)."""
    if per_page is None and page is None:
        return [("page", "0")]
    return [
        ("per_page", str(validate_per_page(per_page if per_page is not None else DEFAULT_PER_PAGE))),
        ("page", str(validate_page(page if page is not None else 1))),
    ]


# ---------------------------------------------------------------------------------------------
# Errors (§5)
# ---------------------------------------------------------------------------------------------

RETRYABLE_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
TOKEN_EXPIRED_CODES = frozenset({"APIGW.0307", "APIG.0307", "ModelArts.0202"})
NOT_FOUND_CODES = frozenset({"ModelArts.2775"})
_SECRET_PLACEHOLDER = "***"
_MESSAGE_LIMIT = 500
_CANONICAL_ECHO = "canonicalRequest:"


def _first_pair(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (code, message) pair of any documented error shape, searching nested objects too."""
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
            found = _first_pair(value)
            if found:
                return found
    return None


def _hint(http_status: int, code: str, message: str) -> str | None:
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
    if code in TOKEN_EXPIRED_CODES:
        return "The IAM token expired or belongs to another region"
    if code in {"ModelArts.0210", "APIGW.0310"}:
        return "Check the project_id: it must be the project of this region in the same account"
    if http_status == 404 and code.startswith(("APIGW.", "APIG.")):
        return "No such API at this endpoint: check the region and the endpoint URL"
    if http_status == 429:
        return "The API is throttling this account: poll less often or coalesce the sensors"
    if code.startswith("IAM.") or http_status == 401:
        return "Check the user name, password and domain name (account) of the connection"
    return None


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


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - pendulum.now("UTC")).total_seconds())


def error_from_response(
    http_status: int,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
) -> ModelArtsApiError:
    """Build the typed error for an error response (or a 2xx body with ``is_success`` false)."""
    parsed = parse_json_body(body)
    code, message = "", ""
    request_id = headers.get("X-Request-Id") or headers.get("x-request-id")
    if isinstance(parsed, Mapping):
        pair = _first_pair(parsed)
        if pair:
            code, message = pair
        request_id = request_id or parsed.get("request_id")
    if not message:
        message = body.decode("utf-8", "replace").strip()[:_MESSAGE_LIMIT] or f"HTTP {http_status}"
    # IAM's legacy body gives a numeric code; keep the HTTP status in http_status only.
    if code.isdigit():
        code = ""
    # The gateway may echo its canonical request after a signature failure: useful to compare
    # with ours when debugging, but twenty lines of noise in a task log or a UI toast.
    message, _, echoed = message.partition(_CANONICAL_ECHO)
    message = redact(message.rstrip(" ,"), secrets)[:_MESSAGE_LIMIT]
    hint = _hint(http_status, code, message)
    error_class: type[ModelArtsApiError]
    if http_status in (401, 403):
        if code in TOKEN_EXPIRED_CODES:
            error_class = ModelArtsTokenExpiredError
        elif "signature expired" in message.lower():
            error_class = ModelArtsSignatureExpiredError
        else:
            error_class = ModelArtsAuthError
    elif http_status == 429:
        return ModelArtsThrottledError(
            http_status, code, message, request_id, hint, retry_after=parse_retry_after(headers.get("Retry-After"))
        )
    elif code in NOT_FOUND_CODES or (http_status == 404 and not code.startswith(("APIGW.", "APIG."))):
        error_class = ModelArtsNotFoundError
    elif http_status >= 500:
        error_class = ModelArtsServerError
    else:
        error_class = ModelArtsApiError
    error = error_class(http_status, code, message, request_id, hint)
    error.server_canonical_request = redact(echoed.replace("|", "\n"), secrets) if echoed else None
    return error


def parse_iam_token_times(body: Any, now: pendulum.DateTime) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """``(issued_at, expires_at)`` of an IAM token response body (§6b).

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


def job_with_status_name(job: Mapping[str, Any]) -> dict[str, Any]:
    """A job or version dict with the API's fields unchanged plus ``status_name``."""
    enriched = dict(job)
    status = job.get("status")
    if isinstance(status, int):
        enriched["status_name"] = status_name(status)
    return enriched
