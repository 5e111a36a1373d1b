"""The ModelArts v2 ("new-version") training-job API: paths, job phases, the search body and its
limits, the v2 error codes, and the compact forms of a job that tasks pass on.

Every training job created since Huawei withdrew old-version training (2023-06-30) is a v2 job:
a UUID id, a string ``status.phase``, and a POST search endpoint.

Facts from the Huawei documentation of the v2 training APIs:
querying a training job list, https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobs.html ;
querying a job's details, https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowTrainingJobDetails.html ;
terminating a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/StopTrainingJob.html ;
AOM logs, https://support.huaweicloud.com/api-modelarts/ShowTrainingJobLogsFromAom.html ;
error codes, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html ;
and the official SDK's models (PyPI ``huaweicloudsdkmodelarts``, ``v1/model/job_searches.py``,
``filter.py``, ``status.py``). The same pages are mirrored in
https://github.com/opentelekomcloud-docs/modelarts (``api-ref/source/training_management/``).

Generic validation lives in :mod:`airflow_provider_modelarts.validation`, error parsing in
:mod:`airflow_provider_modelarts.transport`. Nothing here does I/O.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_modelarts import transport
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.validation import LONG_MAX, coerce_int

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


def training_jobs_path(project_id: str) -> str:
    """``POST`` here creates a job (HTTP 201)."""
    return f"/v2/{project_id}/training-jobs"


def training_job_path(project_id: str, training_job_id: str) -> str:
    """``GET`` shows a job; ``DELETE`` deletes it (HTTP 202, empty body)."""
    return f"{training_jobs_path(project_id)}/{training_job_id}"


def training_job_searches_path(project_id: str) -> str:
    """``POST`` with a search body (:meth:`JobSearch.body`) lists jobs, one page at a time."""
    return f"/v2/{project_id}/training-job-searches"


def training_job_actions_path(project_id: str, training_job_id: str) -> str:
    """``POST`` :data:`TERMINATE_ACTION` here terminates a job (HTTP 202, the job as body)."""
    return f"{training_job_path(project_id, training_job_id)}/actions"


def training_job_tasks_path(project_id: str, training_job_id: str) -> str:
    """``GET`` lists a job's tasks (instances)."""
    return f"{training_job_path(project_id, training_job_id)}/tasks"


def training_job_aom_logs_path(project_id: str, training_job_id: str, task_id: str) -> str:
    """``GET`` pages a task's log lines from AOM (query ``base_line``, ``lines`` 1-500, ``order``).

    ``task_id`` is a task name from the job's ``status.tasks``, e.g. ``worker-0``. The answer may
    be HTTP 204 with ``ModelArts.2776`` while the log is not ready yet.
    """
    return f"{training_job_path(project_id, training_job_id)}/logs/{task_id}"


def training_job_log_preview_path(project_id: str, training_job_id: str, task_id: str) -> str:
    """``GET`` the newest part (at most 5 MB) of a task's log."""
    return f"{training_job_tasks_path(project_id, training_job_id)}/{task_id}/logs/preview"


# The only action the actions endpoint accepts (anything else: ModelArts.2812).
TERMINATE_ACTION: Mapping[str, str] = {"action_type": "terminate"}


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------


class JobPhase(str, Enum):
    """The documented values of a v2 job's ``status.phase``, in lifecycle order.

    A member equals its API spelling (``JobPhase.COMPLETED == "Completed"``) and prints as it.
    """

    CREATING = "Creating"
    PENDING = "Pending"
    RUNNING = "Running"
    TERMINATING = "Terminating"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATED = "Terminated"
    ABNORMAL = "Abnormal"

    def __str__(self) -> str:
        return self.value

    @property
    def is_in_progress(self) -> bool:
        """The job can still change phase."""
        return self in IN_PROGRESS_PHASES

    @property
    def is_success(self) -> bool:
        """Completed, and only Completed."""
        return self in SUCCESS_PHASES

    @property
    def is_failure(self) -> bool:
        """A terminal phase that is not a success: Failed, Abnormal or Terminated."""
        return self in FAILURE_PHASES

    @property
    def is_stopped(self) -> bool:
        """Someone stopped the job (a user, or the job's auto-stop): Terminated."""
        return self in STOPPED_PHASES

    @property
    def is_terminal(self) -> bool:
        return not self.is_in_progress


IN_PROGRESS_PHASES: frozenset[JobPhase] = frozenset(
    {JobPhase.CREATING, JobPhase.PENDING, JobPhase.RUNNING, JobPhase.TERMINATING}
)
SUCCESS_PHASES: frozenset[JobPhase] = frozenset({JobPhase.COMPLETED})
# Terminated is a failure of the wait (the training did not finish), like v1's KILLED and
# CANCELED; is_stopped tells it apart. Abnormal is not documented as final, but its example
# (secondary_phase CreateFailed) is a job that will not run: terminal, as the reference proposes.
FAILURE_PHASES: frozenset[JobPhase] = frozenset({JobPhase.FAILED, JobPhase.ABNORMAL, JobPhase.TERMINATED})
STOPPED_PHASES: frozenset[JobPhase] = frozenset({JobPhase.TERMINATED})
TERMINAL_PHASES: frozenset[JobPhase] = SUCCESS_PHASES | FAILURE_PHASES
PHASE_ORDER: tuple[JobPhase, ...] = tuple(JobPhase)

_PHASES_BY_LOWER_NAME = {phase.value.lower(): phase for phase in JobPhase}


def parse_phase(value: str) -> JobPhase | None:
    """The documented phase a string from the API names, or ``None`` for an undocumented one."""
    return _PHASES_BY_LOWER_NAME.get(value.strip().lower())


def is_terminal_phase(phase: str) -> bool:
    """Undocumented phases count as in progress, so a wait keeps going until its timeout."""
    known = parse_phase(phase)
    return known is not None and known.is_terminal


def phase_sort_key(phase: str) -> tuple[int, str]:
    """Lifecycle order for documented phases, then undocumented ones by name."""
    known = parse_phase(phase)
    return (PHASE_ORDER.index(known), "") if known is not None else (len(PHASE_ORDER), phase)


def phase_of(job: Mapping[str, Any]) -> str | None:
    """A job object's ``status.phase``, or ``None`` if it has none."""
    phase = _mapping(job.get("status")).get("phase")
    return phase if isinstance(phase, str) else None


# ---------------------------------------------------------------------------------------------
# Parameters and validation
# ---------------------------------------------------------------------------------------------

LIMIT_RANGE = (1, 50)
DEFAULT_LIMIT = 50
ORDERS = ("asc", "desc")
DEFAULT_SORT_BY = "create_time"
DEFAULT_ORDER = "desc"
# The keys and operators the search documents (its example and the SDK's Filter model). The API
# refuses others with ModelArts.2807 (key) and ModelArts.2808 (operator).
FILTER_KEYS = ("name", "create_time", "phase", "algorithm_name", "kind", "user_id", "runtime_type")
FILTER_OPERATORS = ("between", "like", "in", "not")
# Job names are 1-64 characters, so a longer "like" fragment can never match.
NAME_MAX_LENGTH = 64
DEFAULT_WORKSPACE_ID = "0"

_WORKSPACE_PATTERN = re.compile(r"^(0|[A-Za-z0-9]{32})$")
_SORT_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FILTER_FIELDS = frozenset({"key", "operator", "value"})


def validate_training_job_id(value: object, parameter: str = "training_job_id") -> str:
    """A v2 training job id: a UUID in its usual 8-4-4-4-12 form; returned lower case."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and _UUID_PATTERN.match(value.strip()):
        return value.strip().lower()
    raise ModelArtsValidationError(
        parameter, "a v2 training job id: a UUID such as '3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21'", value
    )


def validate_phase(value: object, parameter: str = "phase") -> JobPhase:
    """A documented phase, as a JobPhase or its name in any case (``"running"``, ``"RUNNING"``)."""
    if isinstance(value, JobPhase):
        return value
    if isinstance(value, str):
        known = parse_phase(value)
        if known is not None:
            return known
    raise ModelArtsValidationError(parameter, "one of " + ", ".join(phase.value for phase in JobPhase), value)


def validate_phases(value: object, parameter: str = "phase") -> tuple[JobPhase, ...]:
    """One phase or a non-empty collection of them, in lifecycle order without repeats."""
    if isinstance(value, str):
        return (validate_phase(value, parameter),)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        phases = {validate_phase(item, parameter) for item in value}
        if phases:
            return tuple(phase for phase in PHASE_ORDER if phase in phases)
    raise ModelArtsValidationError(
        parameter, "a phase or a non-empty list of phases (" + ", ".join(p.value for p in JobPhase) + ")", value
    )


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
        """Check a condition given as a SearchFilter or a mapping with exactly key, operator, value."""
        if isinstance(value, SearchFilter):
            value = value.body()
        if not isinstance(value, Mapping) or set(value) != _FILTER_FIELDS:
            raise ModelArtsValidationError(
                parameter, "a list of conditions, each a mapping with exactly 'key', 'operator' and 'value'", value
            )
        key, operator, values = value["key"], value["operator"], value["value"]
        if key not in FILTER_KEYS:
            raise ModelArtsValidationError(f"{parameter}[].key", "one of " + ", ".join(FILTER_KEYS), key)
        if operator not in FILTER_OPERATORS:
            raise ModelArtsValidationError(f"{parameter}[].operator", "one of " + ", ".join(FILTER_OPERATORS), operator)
        items = _string_list(values)
        if not items:
            raise ModelArtsValidationError(f"{parameter}[].value", "a non-empty list of strings", values)
        if operator == "between" and len(items) != 2:
            raise ModelArtsValidationError(f"{parameter}[].value", "two strings (from, to) for 'between'", values)
        if key == "phase":
            items = tuple(validate_phase(item, f"{parameter}[].value").value for item in items)
        return cls(key, operator, items)

    def body(self) -> dict[str, Any]:
        return {"key": self.key, "operator": self.operator, "value": list(self.value)}


def _string_list(value: object) -> tuple[str, ...]:
    """The strings of a list or tuple of strings; empty for anything else (a bare string too)."""
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return ()


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


# ---------------------------------------------------------------------------------------------
# Compact forms of a job object, for XCom and messages
# ---------------------------------------------------------------------------------------------


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def job_row(job: Mapping[str, Any]) -> dict[str, Any]:
    """One search result as a flat, JSON-serialisable row: what a downstream task needs to pick a
    job, wait for it, or fetch its logs (``tasks`` are the task names the log calls take).

    Times are the API's: ``create_time`` and ``start_time`` in epoch milliseconds, ``duration``
    in milliseconds. Missing fields are ``None``.
    """
    metadata = _mapping(job.get("metadata"))
    status = _mapping(job.get("status"))
    resource = _mapping(_mapping(job.get("spec")).get("resource"))
    return {
        "id": metadata.get("id"),
        "name": metadata.get("name"),
        "kind": job.get("kind"),
        "phase": status.get("phase"),
        "secondary_phase": status.get("secondary_phase"),
        "create_time": metadata.get("create_time"),
        "start_time": status.get("start_time"),
        "duration": status.get("duration"),
        "flavor": resource.get("flavor_id"),
        "node_count": resource.get("node_count"),
        "pool_id": resource.get("pool_id"),
        "workspace_id": metadata.get("workspace_id"),
        "user_name": metadata.get("user_name"),
        "tasks": [task for task in _list(status.get("tasks")) if isinstance(task, str)],
    }


def task_statuses(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each task's ``{task, exit_code, message}`` from ``status.task_statuses``."""
    return [
        {"task": entry.get("task"), "exit_code": entry.get("exit_code"), "message": entry.get("message")}
        for entry in _list(_mapping(job.get("status")).get("task_statuses"))
        if isinstance(entry, Mapping)
    ]


def output_obs_urls(job: Mapping[str, Any]) -> dict[str, str]:
    """The job's OBS outputs by channel name (``algorithm.outputs[].remote.obs.obs_url``)."""
    outputs: dict[str, str] = {}
    for channel in _list(_mapping(job.get("algorithm")).get("outputs")):
        if not isinstance(channel, Mapping):
            continue
        url = _mapping(_mapping(channel.get("remote")).get("obs")).get("obs_url")
        if isinstance(url, str):
            outputs[str(channel.get("name", len(outputs)))] = url
    return outputs


def job_summary(job: Mapping[str, Any]) -> dict[str, Any]:
    """What a wait returns for a finished job: the row, each task's exit code and message, and
    the output OBS paths."""
    return {**job_row(job), "task_statuses": task_statuses(job), "outputs": output_obs_urls(job)}


def describe_outcome(job: Mapping[str, Any]) -> str:
    """``secondary_phase`` and each task's exit code and message, for a failure message.

    ``secondary_phase`` is internal and may change (the docs say so): shown, never relied on.
    """
    parts = []
    secondary = _mapping(job.get("status")).get("secondary_phase")
    if secondary:
        parts.append(f"secondary phase {secondary}")
    for entry in task_statuses(job):
        text = f"task {entry['task']} exit code {entry['exit_code']}"
        if entry["message"]:
            text += f" ({entry['message']})"
        parts.append(text)
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

# Same service, same error-code page as v1: "token expired" is ModelArts.0202 (plus the gateway's).
TOKEN_EXPIRED_CODES = frozenset({"ModelArts.0202"})
# TrainingJobNotFound, answered with HTTP 400 rather than 404.
NOT_FOUND_CODES = frozenset({"ModelArts.2775"})
# ModelArts' own TooManyRequests and the gateway's throttling threshold (both documented as HTTP
# 429; recognised by code too, so a throttle is retried whatever status carries it).
THROTTLED_CODES = frozenset({"ModelArts.2799", "APIG.0308", "APIGW.0308"})
_PROJECT_HINT = "Check the project_id: it must be the project of this region in the same account"
ERROR_TABLE = transport.ErrorTable(
    not_found_codes=NOT_FOUND_CODES,
    token_expired_codes=TOKEN_EXPIRED_CODES,
    throttled_codes=THROTTLED_CODES,
    hints={
        "ModelArts.0210": _PROJECT_HINT,
        "ModelArts.2786": _PROJECT_HINT,
        "ModelArts.2789": "Check filters: the API does not support this filter",
        "ModelArts.2790": "Check sort_by: the API cannot sort by this field",
        "ModelArts.2807": "Check filters: the API does not support this filter key",
        "ModelArts.2808": "Check filters: the API does not support this filter operator",
        "ModelArts.2809": "Check filters: the API does not support this filter value",
    },
)
