"""The ModelArts v2 training-job endpoints: search and show, with the server's validation.

The documented facts are in :mod:`.spec`. Errors use the v2 body
``{"error_code", "error_msg", "error_solution"}``.

Reading of the search body where the docs leave room (each choice is the narrowest one the docs
allow):

* ``offset`` is a page number ("if this parameter is set to 0, the query starts from the first
  page"), so a page starts at record ``offset * limit``.
* Empty strings in a filter's ``value`` are placeholders and impose nothing, and a filter left
  with no value imposes nothing: the docs' request example sends ``{"key": "phase", "operator":
  "in", "value": [""]}`` and ``{"key": "kind", "operator": "in", "value": []}`` and gets an
  Abnormal job of kind ``job`` back.
* ``like`` matches a substring, case-insensitively; ``in`` any of the values exactly; ``not``
  none of them; ``between`` takes ``[from, to]`` epoch milliseconds, inclusive, either may be empty.
* Keys outside the documented ones (``tags``, ``host_ips``, ...) are accepted and not applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelarts_emulator.responses import Response, json_response, v2_error
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.job_object import job_object
from modelarts_emulator.v2.models import JobState, TrainingJob, TrainingJobStore

Matcher = Callable[[TrainingJob, JobState], bool]


class SearchError(ValueError):
    """An invalid search body; carries the documented error and the value its message names."""

    def __init__(self, error: v2_spec.ErrorCode, *args: str) -> None:
        super().__init__(error.code)
        self.error = error
        self.args_for_message = args

    def response(self) -> Response:
        return v2_error(self.error, *self.args_for_message)


@dataclass(frozen=True)
class Condition:
    key: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Search:
    """A validated JobSearches body with the documented defaults."""

    offset: int = 0
    limit: int = v2_spec.LIMIT_DEFAULT
    sort_by: str = v2_spec.SORT_BY_DEFAULT
    order: str = v2_spec.ORDER_DEFAULT
    group_by: str = ""
    workspace_id: str = v2_spec.WORKSPACE_DEFAULT
    conditions: tuple[Condition, ...] = ()


def job_not_found(raw_id: str) -> Response:
    return v2_error(v2_spec.JOB_NOT_FOUND, raw_id)


def _integer(body: dict[str, Any], name: str, low: int, high: int | None, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise SearchError(v2_spec.INVALID_PARAM, name)
    return value


def _string(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise SearchError(v2_spec.INVALID_PARAM, name)
    return value or default


def _condition(raw: Any) -> Condition | None:
    if not isinstance(raw, dict):
        raise SearchError(v2_spec.INVALID_PARAM, "filters")
    key, operator, value = raw.get("key"), raw.get("operator"), raw.get("value", [])
    if not isinstance(key, str) or key not in v2_spec.FILTER_OPERATORS:
        raise SearchError(v2_spec.UNSUPPORTED_CONDITION_KEY, str(key))
    if not isinstance(operator, str) or operator not in v2_spec.FILTER_OPERATORS[key]:
        raise SearchError(v2_spec.UNSUPPORTED_CONDITION_OPERATOR, str(operator))
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SearchError(v2_spec.UNSUPPORTED_CONDITION_VALUE, json.dumps(value, ensure_ascii=False))
    if operator == "between":
        if len(value) != 2 or not all(item == "" or item.isdigit() for item in value):
            raise SearchError(v2_spec.UNSUPPORTED_CONDITION_VALUE, json.dumps(value, ensure_ascii=False))
        if value == ["", ""]:
            return None
        return Condition(key, operator, tuple(value))
    values = tuple(item for item in value if item != "")
    if not values:
        return None
    allowed = {"phase": v2_spec.PHASES, "kind": v2_spec.KINDS}.get(key)
    for item in values:
        if allowed is not None and item not in allowed:
            raise SearchError(v2_spec.UNSUPPORTED_CONDITION_VALUE, item)
    return Condition(key, operator, values)


def parse_search(raw_body: bytes, workspaces: set[str]) -> Search:
    """Validate a JobSearches body (an empty body means every default)."""
    body: Any = {}
    if raw_body.strip():
        try:
            body = json.loads(raw_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SearchError(v2_spec.INVALID_JSON_BODY) from None
    if not isinstance(body, dict):
        raise SearchError(v2_spec.INVALID_JSON_BODY)
    limit = _integer(body, "limit", v2_spec.LIMIT_MIN, v2_spec.LIMIT_MAX, v2_spec.LIMIT_DEFAULT)
    offset = _integer(body, "offset", v2_spec.OFFSET_MIN, None, 0)
    sort_by = _string(body, "sort_by", v2_spec.SORT_BY_DEFAULT)
    if sort_by not in v2_spec.SORT_KEYS:
        raise SearchError(v2_spec.UNSUPPORTED_SORT_BY)
    order = _string(body, "order", v2_spec.ORDER_DEFAULT)
    if order not in v2_spec.ORDERS:
        raise SearchError(v2_spec.INVALID_PARAM, "order")
    group_by = _string(body, "group_by", "")
    train_type = body.get("train_type")
    if train_type is not None and train_type not in v2_spec.TRAIN_TYPES:
        raise SearchError(v2_spec.INVALID_PARAM, "train_type")
    workspace_id = _string(body, "workspace_id", v2_spec.WORKSPACE_DEFAULT)
    if workspace_id not in workspaces:
        raise SearchError(v2_spec.WORKSPACE_NOT_FOUND)
    raw_filters = body.get("filters")
    if raw_filters is None:
        raw_filters = []
    if not isinstance(raw_filters, list):
        raise SearchError(v2_spec.INVALID_PARAM, "filters")
    conditions = tuple(condition for condition in map(_condition, raw_filters) if condition is not None)
    return Search(offset, limit, sort_by, order, group_by, workspace_id, conditions)


def _field(job: TrainingJob, state: JobState, key: str) -> str:
    if key == "phase":
        return state.phase
    if key == "name":
        return job.name
    if key == "algorithm_name":
        return job.algorithm_name
    if key == "kind":
        return job.kind
    if key == "user_id":
        return job.user_id
    return job.runtime_type


def _matches(condition: Condition, job: TrainingJob, state: JobState) -> bool:
    if condition.operator == "between":
        low, high = condition.values
        return (not low or job.create_ms >= int(low)) and (not high or job.create_ms <= int(high))
    value = _field(job, state, condition.key)
    if condition.operator == "like":
        lowered = value.lower()
        return any(needle.lower() in lowered for needle in condition.values)
    if condition.operator == "in":
        return value in condition.values
    return value not in condition.values  # "not"


def _sort_key(sort_by: str) -> Callable[[tuple[TrainingJob, JobState]], Any]:
    if sort_by == "name":
        return lambda pair: pair[0].name
    if sort_by == "duration":
        return lambda pair: pair[1].duration_ms
    if sort_by == "phase":
        return lambda pair: pair[1].phase
    return lambda pair: pair[0].create_ms


def search_training_jobs(store: TrainingJobStore, raw_body: bytes) -> Response:
    """``POST /v2/{project_id}/training-job-searches``."""
    with store.lock:
        try:
            search = parse_search(raw_body, store.workspaces)
        except SearchError as error:
            return error.response()
        now = store.now()
        in_workspace = [job for job in store.jobs.values() if job.workspace_id == search.workspace_id]
        matching = []
        for job in in_workspace:
            state = job.state(now, store.speed)
            if all(_matches(condition, job, state) for condition in search.conditions):
                matching.append((job, state))
        # Ties keep creation order in both directions (a stable sort of the store's order).
        matching.sort(key=_sort_key(search.sort_by), reverse=search.order == "desc")
        first = search.offset * search.limit
        page = matching[first : first + search.limit]
        payload = {
            "total": len(in_workspace),
            "count": len(matching),
            "limit": search.limit,
            "offset": search.offset,
            "sort_by": search.sort_by,
            "order": search.order,
            "group_by": search.group_by,
            "workspace_id": search.workspace_id,
            "ai_project": v2_spec.AI_PROJECT_DEFAULT,
            "items": [job_object(store, job, state) for job, state in page],
        }
    return json_response(200, payload)


def show_training_job(store: TrainingJobStore, raw_id: str) -> Response:
    """``GET /v2/{project_id}/training-jobs/{training_job_id}``; any id not in the store
    (malformed ones included) is the documented 400 ModelArts.2775."""
    with store.lock:
        job = store.get(raw_id)
        if job is None:
            return job_not_found(raw_id)
        payload = job_object(store, job, job.state(store.now(), store.speed))
    return json_response(200, payload)
