"""The v2 search (``POST /v2/{project_id}/training-job-searches``): its parameters and their
limits, the filter conditions (:class:`SearchFilter`), one validated page of it
(:class:`JobSearch`) and how many pages a count needs.

``offset`` is a page number, not a record offset (see :func:`validate_offset`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.cloud.v2.phases import validate_phase, validate_phases
from airflow_provider_modelarts.cloud.validation import LONG_MAX, coerce_int
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

log = logging.getLogger(__name__)

LIMIT_RANGE = (1, 50)
DEFAULT_LIMIT = 50
ORDERS = ("asc", "desc")
DEFAULT_SORT_BY = "create_time"
DEFAULT_ORDER = "desc"
# The keys the search's example uses. The SDK's Filter model does not enumerate keys, so another
# key is only warned about (the API answers ModelArts.2807 for a key it does not support); the
# operators are a closed list (ModelArts.2808 for another).
FILTER_KEYS = ("name", "create_time", "phase", "algorithm_name", "kind", "user_id", "runtime_type")
FILTER_OPERATORS = ("between", "like", "in", "not")
# Job names are 1-64 characters, so a longer "like" fragment can never match.
NAME_MAX_LENGTH = 64
DEFAULT_WORKSPACE_ID = "0"

_WORKSPACE_PATTERN = re.compile(r"^(0|[A-Za-z0-9]{32})$")
_SORT_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FILTER_FIELDS = frozenset({"key", "operator", "value"})


def validate_limit(value: object, parameter: str = "limit") -> int:
    return coerce_int(value, parameter, *LIMIT_RANGE)


def validate_offset(value: object, parameter: str = "offset") -> int:
    # A page number, not a record offset: "Number of pages for querying jobs. The minimum value
    # is 0. For example, if this parameter is set to 0, the query starts from the first page."
    # (https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobs.html and the
    # SDK's JobSearches.offset). The SDK reference's get_job_list describes it as a record offset
    # instead; we follow the API reference.
    return coerce_int(value, parameter, 0, LONG_MAX)


def validate_order(value: object, parameter: str = "order") -> str:
    if isinstance(value, str) and value.strip().lower() in ORDERS:
        return value.strip().lower()
    raise ModelArtsValidationError(parameter, "'asc' or 'desc'", value)


def validate_sort_by(value: object, parameter: str = "sort_by") -> str:
    # The docs name only the default (create_time); the API refuses unsupported fields with
    # ModelArts.2790. Check the shape of a field name so nothing odd reaches the body.
    if isinstance(value, str) and _SORT_KEY_PATTERN.match(value.strip()):
        return value.strip()
    raise ModelArtsValidationError(parameter, "a job field name such as 'create_time'", value)


def validate_workspace_id(value: object, parameter: str = "workspace_id") -> str:
    """``"0"`` (the default workspace) or a 32-character workspace id (SDK ``JobSearches``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _WORKSPACE_PATTERN.match(value.strip()):
        return value.strip()
    raise ModelArtsValidationError(parameter, "'0' (the default workspace) or a 32-character workspace id", value)


def validate_name_fragment(value: object, parameter: str = "name") -> str:
    if isinstance(value, str) and 0 < len(value.strip()) <= NAME_MAX_LENGTH:
        return value.strip()
    raise ModelArtsValidationError(
        parameter, f"a non-empty part of a job name, at most {NAME_MAX_LENGTH} characters", value
    )


@dataclass(frozen=True)
class SearchFilter:
    """One condition of a search: ``{"key", "operator", "value": [str, ...]}``."""

    key: str
    operator: str
    value: tuple[str, ...]

    @classmethod
    def validate(cls, value: object, parameter: str = "filters") -> SearchFilter:
        """Check a condition given as a SearchFilter or a mapping with exactly key, operator, value.

        ``key`` is a job field name; one outside :data:`FILTER_KEYS` is logged as a warning and sent
        (the service answers ``ModelArts.2807`` if it does not support it). ``value`` is a list of
        strings and may be empty, as in the documented example (``"kind" ... "value": []``);
        ``between`` takes two strings when it is not empty.
        """
        if isinstance(value, SearchFilter):
            value = value.body()
        if not isinstance(value, Mapping) or set(value) != _FILTER_FIELDS:
            raise ModelArtsValidationError(
                parameter, "a list of conditions, each a mapping with exactly 'key', 'operator' and 'value'", value
            )
        key, operator, values = value["key"], value["operator"], value["value"]
        if not (isinstance(key, str) and _SORT_KEY_PATTERN.match(key)):
            raise ModelArtsValidationError(
                f"{parameter}[].key", "a job field name such as " + ", ".join(FILTER_KEYS), key
            )
        if key not in FILTER_KEYS:
            log.warning(
                "Search filter key %r is not one the documentation shows (%s); sending it anyway, "
                "the service answers ModelArts.2807 if it does not support it",
                key,
                ", ".join(FILTER_KEYS),
            )
        if operator not in FILTER_OPERATORS:
            raise ModelArtsValidationError(f"{parameter}[].operator", "one of " + ", ".join(FILTER_OPERATORS), operator)
        if not (isinstance(values, (list, tuple)) and all(isinstance(item, str) for item in values)):
            raise ModelArtsValidationError(f"{parameter}[].value", "a list of strings (it may be empty)", values)
        items = tuple(values)
        if operator == "between" and items and len(items) != 2:
            raise ModelArtsValidationError(
                f"{parameter}[].value", "two strings (from, to) for 'between', or an empty list", values
            )
        if key == "phase":
            items = tuple(validate_phase(item, f"{parameter}[].value").value for item in items)
        return cls(key, operator, items)

    def body(self) -> dict[str, Any]:
        return {"key": self.key, "operator": self.operator, "value": list(self.value)}


def validate_filters(value: object, parameter: str = "filters") -> tuple[SearchFilter, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ModelArtsValidationError(
            parameter, "a list of conditions, each a mapping with exactly 'key', 'operator' and 'value'", value
        )
    return tuple(SearchFilter.validate(item, parameter) for item in value)


@dataclass(frozen=True)
class JobSearch:
    """Validated arguments of one page of the v2 search. Build it with :meth:`validate`.

    :param filters: every condition, ``phase`` and ``name`` included, in the order sent.
    :param offset: the page number, 0 for the first page (see :func:`validate_offset`).
    :param workspace_id: ``None`` leaves the workspace to the API (``"0"``) or to the connection.
    """

    filters: tuple[SearchFilter, ...] = ()
    sort_by: str = DEFAULT_SORT_BY
    order: str = DEFAULT_ORDER
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    workspace_id: str | None = None

    @classmethod
    def validate(
        cls,
        phase: object = None,
        name: object = None,
        filters: object = None,
        sort_by: object = DEFAULT_SORT_BY,
        order: object = DEFAULT_ORDER,
        limit: object = DEFAULT_LIMIT,
        offset: object = 0,
        workspace_id: object = None,
    ) -> JobSearch:
        """Check every argument, naming the parameter and what is allowed on the first bad one.

        ``phase`` (one or several) becomes ``{"key": "phase", "operator": "in", ...}``, ``name``
        becomes ``{"key": "name", "operator": "like", ...}``; ``filters`` come after them.
        """
        phases = validate_phases(phase) if phase is not None else ()
        conditions: list[SearchFilter] = []
        if phases:
            conditions.append(SearchFilter("phase", "in", tuple(p.value for p in phases)))
        if name is not None:
            conditions.append(SearchFilter("name", "like", (validate_name_fragment(name),)))
        conditions.extend(validate_filters(filters))
        return cls(
            filters=tuple(conditions),
            sort_by=validate_sort_by(sort_by),
            order=validate_order(order),
            limit=validate_limit(limit),
            offset=validate_offset(offset),
            workspace_id=validate_workspace_id(workspace_id) if workspace_id is not None else None,
        )

    def body(self) -> dict[str, Any]:
        """The JSON body of ``POST /v2/{project_id}/training-job-searches``."""
        body: dict[str, Any] = {
            "offset": self.offset,
            "limit": self.limit,
            "sort_by": self.sort_by,
            "order": self.order,
        }
        if self.workspace_id is not None:
            body["workspace_id"] = self.workspace_id
        if self.filters:
            body["filters"] = [condition.body() for condition in self.filters]
        return body


def pages_needed(count: int, limit: int) -> int:
    """How many pages hold ``count`` matches at ``limit`` per page (at least one, to learn it)."""
    return max(1, -(-count // limit))
