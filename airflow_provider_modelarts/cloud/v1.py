"""The ModelArts v1 ("old-version") training-job API: paths, status codes, query parameters and
their limits, and the v1 error codes.

Facts from the Huawei documentation of the v1 training APIs (now under "Historical APIs"):
querying training jobs, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0046.html ;
the versions of a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0049.html ;
one version's details, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0047.html ;
status codes, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0074.html ;
error codes, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html ;
and the ModelArts SDK's ``Estimator.get_job_list``,
https://support.huaweicloud.com/intl/en-us/sdkreference-modelarts/modelarts_04_0160.html .
Where the sources disagree we take the stricter reading and say so in a comment.

Generic validation lives in :mod:`airflow_provider_modelarts.cloud.validation`, error parsing in
:mod:`airflow_provider_modelarts.cloud.transport`. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from airflow_provider_modelarts.cloud import transport
from airflow_provider_modelarts.cloud.validation import LONG_MAX, coerce_int, validate_name
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsValidationError

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


def training_jobs_path(project_id: str) -> str:
    return f"/v1/{project_id}/training-jobs"


def job_versions_path(project_id: str, job_id: int) -> str:
    return f"{training_jobs_path(project_id)}/{job_id}/versions"


def job_version_path(project_id: str, job_id: int, version_id: int) -> str:
    return f"{job_versions_path(project_id, job_id)}/{version_id}"


# ---------------------------------------------------------------------------------------------
# Status codes
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


# 10 is the only success. 12 and 13 end a job that someone stopped: terminal, not success, unlike
# the Huawei provider that counts "Terminated" as success. 20 ("review finished",
# https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0074.html) ends the review
# flow: the version will not move on, so it is terminal, but nothing says training succeeded, so it
# is not a success either. A sensor waiting for COMPLETED then fails at once instead of hanging until
# its timeout; put 20 in target_status to accept a finished review.
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
# Terminal, but neither a success nor a failure: see the comment above.
REVIEW_FINISHED_STATUSES: frozenset[JobStatus] = frozenset({JobStatus.CHECK_RUNNING_COMPLETED})
TERMINAL_STATUSES: frozenset[JobStatus] = SUCCESS_STATUSES | FAILURE_STATUSES | REVIEW_FINISHED_STATUSES
VALID_STATUS_CODES = range(0, 23)


def status_name(code: int) -> str:
    """The documented name of a status code; unknown codes get ``UNDOCUMENTED_<code>``."""
    try:
        return JobStatus(code).name
    except ValueError:
        return f"UNDOCUMENTED_{code}"


def is_terminal_code(code: int) -> bool:
    """Undocumented codes count as in progress, so a sensor keeps waiting until its timeout."""
    return code in VALID_STATUS_CODES and JobStatus(code).is_terminal


# ---------------------------------------------------------------------------------------------
# Parameters and validation
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
ID_MAX = LONG_MAX
SORT_PARAM_AKSK = "sortBy"
SORT_PARAM_TOKEN = "sort_by"


def validate_per_page(value: object, parameter: str = "per_page") -> int:
    return coerce_int(value, parameter, *PER_PAGE_RANGE)


def validate_page(value: object, parameter: str = "page") -> int:
    return coerce_int(value, parameter, *PAGE_RANGE)


def validate_id(value: object, parameter: str) -> int:
    """Job and version ids: positive integers, as int or digit string."""
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


@dataclass(frozen=True)
class JobListFilters:
    """Validated arguments of the list-jobs call. Build it with :meth:`validate`."""

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


def list_versions_query(per_page: object = None, page: object = None) -> list[tuple[str, str]]:
    """Without paging arguments, ``page=0`` asks for every version (the API's own rule)."""
    if per_page is None and page is None:
        return [("page", "0")]
    return [
        ("per_page", str(validate_per_page(per_page if per_page is not None else DEFAULT_PER_PAGE))),
        ("page", str(validate_page(page if page is not None else 1))),
    ]


def job_with_status_name(job: Mapping[str, Any]) -> dict[str, Any]:
    """A job or version dict with the API's fields unchanged plus ``status_name``."""
    enriched = dict(job)
    status = job.get("status")
    if isinstance(status, int):
        enriched["status_name"] = status_name(status)
    return enriched


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

# "Token expired": the gateway's codes and ModelArts' own ModelArts.0202.
TOKEN_EXPIRED_CODES = transport.GATEWAY_TOKEN_EXPIRED_CODES | frozenset({"ModelArts.0202"})
# TrainingJobNotFound, answered with HTTP 400 rather than 404.
NOT_FOUND_CODES = frozenset({"ModelArts.2775"})
ERROR_TABLE = transport.ErrorTable(
    not_found_codes=NOT_FOUND_CODES,
    token_expired_codes=TOKEN_EXPIRED_CODES,
    hints={"ModelArts.0210": "Check the project_id: it must be the project of this region in the same account"},
    # A v1 answer can be HTTP 200 with ``is_success`` false and an error code.
    success_flag="is_success",
)


def error_from_response(
    http_status: int,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
) -> ModelArtsApiError:
    """The typed error of a v1 error response (or a 2xx body with ``is_success`` false)."""
    return transport.error_from_response(http_status, body, headers, secrets, table=ERROR_TABLE)
