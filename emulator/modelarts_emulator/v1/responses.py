"""The three ModelArts v1 read endpoints, with the server's parameter validation.

List jobs (modelarts_03_0046), list versions (modelarts_03_0049) and version detail
(modelarts_03_0047) of https://support.huaweicloud.com/intl/en-us/api-modelarts/; the documented
facts they rely on are in :mod:`.spec`.

Each handler returns the response and the names of query parameters it ignored (unknown ones,
and the sort spelling that does not match the auth mode), which the request log records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelarts_emulator.gateway import MODE_TOKEN
from modelarts_emulator.responses import (
    Response,
    bad_parameter,
    json_response,
    modelarts_error,
)
from modelarts_emulator.v1 import spec
from modelarts_emulator.v1.catalog import list_item, version_fields
from modelarts_emulator.v1.models import JobStore, ListQuery

_DIGITS = re.compile(r"^[0-9]{1,19}$")
Handled = tuple[Response, list[str]]


class ParameterError(ValueError):
    """A query parameter is out of range; becomes a 400 ModelArts.0101 naming it."""

    def __init__(self, parameter: str, allowed: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter
        self.allowed = allowed


@dataclass
class Params:
    """First value of each query parameter; tracks which ones a handler used."""

    values: dict[str, str]
    used: set[str]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> Params:
        values: dict[str, str] = {}
        for key, value in pairs:
            values.setdefault(key, value)
        return cls(values, set())

    def get(self, name: str) -> str | None:
        """The value, or ``None`` when absent or empty (an empty value means "not given")."""
        self.used.add(name)
        value = self.values.get(name)
        return value if value else None

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if not _DIGITS.match(value) or not low <= int(value) <= high:
            raise ParameterError(name, f"must be an integer from {low} to {high}")
        return int(value)

    def ignored(self) -> list[str]:
        return sorted(set(self.values) - self.used)


def parse_id(raw: str) -> int | None:
    """A positive Long id from a path segment, or ``None`` (which then reads as not found)."""
    return int(raw) if _DIGITS.match(raw) and int(raw) > 0 else None


def job_not_found(job_id: int | str) -> Response:
    return modelarts_error(spec.HTTP_JOB_NOT_FOUND, spec.CODE_JOB_NOT_FOUND, f"Training job (ID: {job_id}) not found")


def version_not_found(version_id: int | str) -> Response:
    # No code of its own is documented for a missing version: the job's code, with its message shape.
    message = f"Training job version (ID: {version_id}) not found"
    return modelarts_error(spec.HTTP_JOB_NOT_FOUND, spec.CODE_JOB_NOT_FOUND, message)


def list_query(params: Params, auth_mode: str | None, workspaces: set[str]) -> ListQuery:
    """Validate the list-jobs parameters. ``sortBy`` is read under AK/SK auth, ``sort_by`` under
    token auth (the SDK doc modelarts_04_0160); the other spelling is left unread, so it is logged
    as ignored."""
    status_text = params.get("status")
    status = None
    if status_text is not None:
        if not _DIGITS.match(status_text) or int(status_text) not in spec.STATUS_CODES:
            raise ParameterError(
                "status", f"must be a status code from {min(spec.STATUS_CODES)} to {max(spec.STATUS_CODES)}"
            )
        status = int(status_text)
    sort_param = spec.SORT_PARAM_TOKEN if auth_mode == MODE_TOKEN else spec.SORT_PARAM_AKSK
    sort_by = params.get(sort_param) or spec.SORT_KEY_DEFAULT
    if sort_by not in spec.SORT_KEYS:
        raise ParameterError(sort_param, "must be one of " + ", ".join(spec.SORT_KEYS))
    order = params.get("order") or spec.ORDER_DEFAULT
    if order not in spec.ORDERS:
        raise ParameterError("order", "must be " + " or ".join(spec.ORDERS))
    search = params.get("search_content") or ""
    if len(search) > spec.SEARCH_CONTENT_MAX:
        raise ParameterError("search_content", f"must be at most {spec.SEARCH_CONTENT_MAX} characters")
    workspace_id = params.get("workspace_id") or spec.WORKSPACE_DEFAULT
    if workspace_id not in workspaces:
        raise ParameterError("workspace_id", "workspace does not exist")
    return ListQuery(
        status=status,
        per_page=params.integer("per_page", spec.PER_PAGE_MIN, spec.PER_PAGE_MAX, spec.PER_PAGE_DEFAULT),
        page=params.integer("page", spec.PAGE_MIN, spec.PAGE_MAX, spec.PAGE_DEFAULT),
        sort_by=sort_by,
        order=order,
        search_content=search,
        workspace_id=workspace_id,
    )


def _parameter_error(error: ParameterError) -> Response:
    if error.parameter == "workspace_id":
        message = "Invalid parameter workspace_id: workspace does not exist."
        return modelarts_error(400, spec.CODE_NO_WORKSPACE, message)
    return bad_parameter(error.parameter, error.allowed)


def list_jobs(store: JobStore, pairs: list[tuple[str, str]], auth_mode: str | None, quotas: int) -> Handled:
    params = Params.from_pairs(pairs)
    try:
        with store.lock:
            query = list_query(params, auth_mode, store.workspaces)
    except ParameterError as error:
        return _parameter_error(error), params.ignored()
    page, total = store.list_page(query)
    payload = {
        "is_success": True,
        "job_total_count": total,
        "job_count_limit": max(0, quotas - total),
        "quotas": quotas,
        "jobs": [list_item(job, status, duration) for job, status, duration in page],
    }
    return json_response(200, payload), params.ignored()


def list_versions(store: JobStore, raw_job_id: str, pairs: list[tuple[str, str]]) -> Handled:
    params = Params.from_pairs(pairs)
    try:
        per_page = params.integer("per_page", spec.PER_PAGE_MIN, spec.PER_PAGE_MAX, spec.PER_PAGE_DEFAULT)
        # page 0 (the default) means no paging: every version.
        page = params.integer("page", 0, spec.PAGE_MAX, spec.VERSIONS_PAGE_DEFAULT)
    except ParameterError as error:
        return _parameter_error(error), params.ignored()
    job_id = parse_id(raw_job_id)
    with store.lock:
        job = store.get(job_id) if job_id is not None else None
        if job is None:
            return job_not_found(raw_job_id), params.ignored()
        now = store.now()
        newest_first = list(reversed(job.versions))
        if page:
            newest_first = newest_first[(page - 1) * per_page : page * per_page]
        versions = [version_fields(job, v, *v.state(now, store.speed), detail=False) for v in newest_first]
        payload = {
            "is_success": True,
            "job_id": job.job_id,
            "job_name": job.job_name,
            "job_desc": job.job_desc,
            "version_count": len(job.versions),
            "versions": versions,
        }
    return json_response(200, payload), params.ignored()


def get_version(store: JobStore, raw_job_id: str, raw_version_id: str, pairs: list[tuple[str, str]]) -> Handled:
    params = Params.from_pairs(pairs)
    job_id = parse_id(raw_job_id)
    version_id = parse_id(raw_version_id)
    with store.lock:
        job = store.get(job_id) if job_id is not None else None
        if job is None:
            return job_not_found(raw_job_id), params.ignored()
        version = job.find_version(version_id) if version_id is not None else None
        if version is None:
            return version_not_found(raw_version_id), params.ignored()
        payload = version_fields(job, version, *version.state(store.now(), store.speed), detail=True)
    return json_response(200, payload), params.ignored()
