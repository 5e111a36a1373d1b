"""The ModelArts v2 ("new-version") training-job API: paths, job phases, the search body and its
limits, the v2 error codes, and the compact forms of a job that tasks pass on.

Every training job created since Huawei withdrew old-version training (2023-06-30) is a v2 job:
a UUID id, a string ``status.phase``, and a POST search endpoint.

Facts from the Huawei documentation of the v2 training APIs:
querying a training job list, https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobs.html ;
querying a job's details, https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowTrainingJobDetails.html ;
terminating a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/StopTrainingJob.html ;
AOM logs, https://support.huaweicloud.com/api-modelarts/ShowTrainingJobLogsFromAom.html ;
creating a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateTrainingJob.html ;
deleting a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/DeleteTrainingJob.html ;
error codes, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html ;
and the official SDK's models (PyPI ``huaweicloudsdkmodelarts``, ``v1/model/job_searches.py``,
``filter.py``, ``status.py``). The same pages are mirrored in
https://github.com/opentelekomcloud-docs/modelarts (``api-ref/source/training_management/``).

Generic validation lives in :mod:`airflow_provider_modelarts.cloud.validation`, error parsing in
:mod:`airflow_provider_modelarts.cloud.transport`. Nothing here does I/O.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import quote

from airflow_provider_modelarts.cloud import transport
from airflow_provider_modelarts.cloud.validation import LONG_MAX, coerce_int
from airflow_provider_modelarts.connection import fields as conn_fields
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

log = logging.getLogger(__name__)

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

    ``task_id`` is a task name from the job's ``status.tasks``, e.g. ``worker-0`` or ``server-0``
    (see :func:`validate_task_id`); it is URL-quoted here. The answer may be HTTP 204 with
    ``ModelArts.2776`` while the log is not ready yet.
    """
    return f"{training_job_path(project_id, training_job_id)}/logs/{_path_segment(task_id)}"


def training_job_log_preview_path(project_id: str, training_job_id: str, task_id: str) -> str:
    """``GET`` the newest part (at most 5 MB) of a task's log; ``task_id`` is URL-quoted."""
    return f"{training_job_tasks_path(project_id, training_job_id)}/{_path_segment(task_id)}/logs/preview"


def _path_segment(value: str) -> str:
    """One path segment, every reserved character (``/`` too) percent-encoded."""
    return quote(value, safe="")


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


# ---------------------------------------------------------------------------------------------
# The create body (``POST /v2/{project_id}/training-jobs``)
# ---------------------------------------------------------------------------------------------

# The job kinds of the SDK's Job model; the create page documents only "job" (the default).
JOB_KINDS = (
    "job",
    "federated_pool_job",
    "edge_job",
    "hetero_job",
    "mrs_job",
    "autosearch_job",
    "diag_job",
    "visualization_job",
)
DEFAULT_JOB_KIND = "job"
# metadata.name: "1 to 64 characters consisting of only digits, letters, underscores (_), and
# hyphens (-)" (CreateTrainingJob, JobMetadata).
JOB_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JOB_NAME_ALLOWED = "1 to 64 characters, each a letter, a digit, '_' or '-'"
DESCRIPTION_MAX_LENGTH = 256
# algorithm.environments in a request: a map of strings, at most 100 pairs, keys up to 8192
# characters and values up to 4096 (SDK JobAlgorithm; responses give a list of maps instead).
# "The variable name can contain only letters, digits, and underscores, and must start with a
# letter or underscore. Note: Variables cannot contain $." (CreateTrainingJob Table 4; the SDK's
# JobAlgorithm says "$ cannot be used to reference variables"): whether the $ rule is about values
# is ambiguous, so a $ in a value is only warned about.
ENVIRONMENTS_MAX_PAIRS = 100
ENVIRONMENT_KEY_MAX_LENGTH = 8192
ENVIRONMENT_VALUE_MAX_LENGTH = 4096
ENVIRONMENT_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The three named ways to give the algorithm, each a set of keys that go together
# (CreateTrainingJob, JobAlgorithm). A fourth way is a custom image: engine.image_url + command
# (code_dir optional, no boot_file; the documented custom-image example names no algorithm at
# all, and the service answers ModelArts.2806 "MustHaveCmdAndImage" when either is missing).
ALGORITHM_WAYS: tuple[tuple[str, ...], ...] = (
    ("id",),
    ("subscription_id", "item_version_id"),
    ("code_dir", "boot_file"),
)
CUSTOM_IMAGE_WAY = ("engine.image_url", "command")
# The engine: engine_id alone, or engine_name + engine_version, or image_url; a preset framework
# with a custom image gives engine_name + engine_version + image_url together ("If you use a preset
# framework and custom image to create a training job, you must set both this parameter and
# image_url", JobEngine). Only engine_id combined with another form is a conflict.
ENGINE_WAYS: tuple[tuple[str, ...], ...] = (("engine_id",), ("engine_name", "engine_version"), ("image_url",))
ENGINE_ALLOWED = (
    "engine_id alone | engine_name + engine_version | image_url | engine_name + engine_version + image_url "
    "(a preset framework with a custom image)"
)
# spec.resource: a public flavor, a dedicated pool, or (kind federated_pool_job, where it is
# required) a pool group (SDK SpecResource).
FEDERATED_POOL_JOB_KIND = "federated_pool_job"


def _ways_text(ways: tuple[tuple[str, ...], ...]) -> str:
    return " | ".join(" + ".join(way) for way in ways)


def validate_job_name(value: object, parameter: str = "name") -> str:
    """A whole training job name: 1-64 letters, digits, ``_`` or ``-`` (not stripped: a space is
    an error the API would report too)."""
    if isinstance(value, str) and JOB_NAME_PATTERN.fullmatch(value):
        return value
    raise ModelArtsValidationError(parameter, JOB_NAME_ALLOWED, value)


def validate_job_create(job: object, parameter: str = "job") -> dict[str, Any]:
    """Check a create body before it is sent, and return a normalised copy (the input is never
    changed): ``kind`` defaults to ``"job"``, ``metadata.workspace_id`` and ``node_count`` given
    as digit strings (a rendered template) become ``"0"``-style strings and ints.

    The rules are the documented ones the service enforces (CreateTrainingJob and the SDK's
    ``Job`` model); each error names the exact path the user wrote, e.g. ``job.metadata.name``,
    ``job.algorithm``, ``job.spec.resource.node_count``, ``job.algorithm.inputs[1].remote``:

    - the body, ``metadata``, ``algorithm``, ``spec`` and ``spec.resource`` are mappings;
    - ``metadata.name`` is 1-64 letters, digits, ``_`` or ``-``; ``description`` at most 256
      characters; ``annotations`` a map of strings; ``workspace_id`` ``"0"`` or 32 characters;
    - the algorithm is given one of four ways: ``id`` | ``subscription_id`` + ``item_version_id``
      | ``code_dir`` + ``boot_file`` | a custom image, ``engine.image_url`` + ``command`` (with
      or without ``code_dir``, no ``boot_file``). At most one of the three named ways; a
      half-given way names its missing key (an image without a command names
      ``algorithm.command``: the service answers ``ModelArts.2806`` for it);
    - ``algorithm.engine``, if given: ``engine_id`` alone | ``engine_name`` + ``engine_version``
      | ``image_url`` | ``engine_name`` + ``engine_version`` + ``image_url`` (a preset framework
      with a custom image); only ``engine_id`` with another form is a conflict;
    - every ``inputs`` entry has a ``name`` and ``remote.obs.obs_url`` or ``remote.dataset``
      (with ``id`` and ``version_id``); every ``outputs`` entry has a ``name`` and
      ``remote.obs.obs_url`` (outputs go to OBS only);
    - ``environments`` is a map of strings (the request form; responses carry a list of maps),
      names made of letters, digits and ``_``, not starting with a digit; a ``$`` in a value is
      logged as a warning, never refused (the documented "$" rule may be about names only);
    - ``spec.resource`` has ``flavor_id`` (public pool) or ``pool_id`` (dedicated pool), or for
      ``kind`` ``federated_pool_job`` ``pool_group_id`` (required there); ``node_count``, if
      given, is an integer >= 1 (its maximum depends on the flavor: the service answers
      ``ModelArts.2793`` above it).

    Everything else, ``parameters``, ``policies`` (``auto_search`` included), ``spec.volumes``,
    ``spec.log_export_path`` and the rest, passes through unchanged.
    """
    body = _plain_mapping(job, parameter, "a mapping: the create body (kind, metadata, algorithm, spec, ...)")
    kind = body.get("kind", DEFAULT_JOB_KIND)
    if kind not in JOB_KINDS:
        raise ModelArtsValidationError(f"{parameter}.kind", "one of " + ", ".join(JOB_KINDS), kind)
    body["kind"] = kind
    body["metadata"] = _validate_metadata(body.get("metadata"), f"{parameter}.metadata")
    body["algorithm"] = _validate_algorithm(body.get("algorithm"), f"{parameter}.algorithm")
    body["spec"] = _validate_spec(body.get("spec"), f"{parameter}.spec", kind)
    return body


def job_name_of(body: Mapping[str, Any]) -> str:
    """``metadata.name`` of a body :func:`validate_job_create` returned."""
    return str(_mapping(body.get("metadata"))["name"])


def _plain(value: object) -> Any:
    """A deep copy made of plain dicts and lists, so the normalised body never shares (and never
    changes) the caller's objects, and any mapping type serialises as JSON."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _plain_mapping(value: object, parameter: str, allowed: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise ModelArtsValidationError(parameter, allowed, value)
    copied: dict[str, Any] = _plain(value)
    return copied


def _non_empty_string(value: object, parameter: str, allowed: str = "a non-empty string") -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise ModelArtsValidationError(parameter, allowed, value)


def _string_map(value: object, parameter: str, allowed: str) -> dict[str, str]:
    if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return dict(value)
    raise ModelArtsValidationError(parameter, allowed, value)


def _validate_metadata(value: object, parameter: str) -> dict[str, Any]:
    metadata = _plain_mapping(value, parameter, "a mapping with at least 'name'")
    metadata["name"] = validate_job_name(metadata.get("name"), f"{parameter}.name")
    if metadata.get("workspace_id") is not None:
        metadata["workspace_id"] = validate_workspace_id(metadata["workspace_id"], f"{parameter}.workspace_id")
    description = metadata.get("description")
    if description is not None and not (isinstance(description, str) and len(description) <= DESCRIPTION_MAX_LENGTH):
        raise ModelArtsValidationError(
            f"{parameter}.description", f"a string of at most {DESCRIPTION_MAX_LENGTH} characters", description
        )
    if metadata.get("annotations") is not None:
        _string_map(metadata["annotations"], f"{parameter}.annotations", "a map of strings to strings")
    return metadata


def _algorithm_ways_text() -> str:
    custom = " + ".join(CUSTOM_IMAGE_WAY)
    return f"{_ways_text(ALGORITHM_WAYS)} | {custom} (a custom image; code_dir optional, no boot_file)"


def _validate_algorithm(value: object, parameter: str) -> dict[str, Any]:
    algorithm = _plain_mapping(
        value, parameter, f"a mapping that names the algorithm one way: {_algorithm_ways_text()}"
    )
    engine: dict[str, Any] = {}
    if algorithm.get("engine") is not None:
        engine = _plain_mapping(
            algorithm["engine"], f"{parameter}.engine", f"a mapping naming the engine: {ENGINE_ALLOWED}"
        )
        _validate_engine(engine, f"{parameter}.engine")
    _validate_algorithm_way(algorithm, engine, parameter)
    for channel in ("inputs", "outputs"):
        if algorithm.get(channel) is not None:
            _validate_channels(algorithm[channel], f"{parameter}.{channel}", outputs=channel == "outputs")
    if algorithm.get("environments") is not None:
        _validate_environments(algorithm["environments"], f"{parameter}.environments")
    return algorithm


def _validate_algorithm_way(algorithm: Mapping[str, Any], engine: Mapping[str, Any], parameter: str) -> None:
    """One of the three named ways, or a custom image (``engine.image_url`` + ``command``)."""
    named = [way for way in ALGORITHM_WAYS if any(algorithm.get(key) is not None for key in way)]
    if len(named) > 1:
        given = {key: algorithm[key] for way in named for key in way if algorithm.get(key) is not None}
        raise ModelArtsValidationError(parameter, "at most one of: " + _ways_text(ALGORITHM_WAYS), given)
    for key in (key for way in ALGORITHM_WAYS for key in way if key in algorithm):
        _non_empty_string(algorithm[key], f"{parameter}.{key}")
    if algorithm.get("command") is not None:
        _non_empty_string(algorithm["command"], f"{parameter}.command", "the container's start command (a string)")
    image = engine.get("image_url") is not None
    command = algorithm.get("command") is not None
    preset = engine.get("engine_name") is not None and engine.get("engine_version") is not None
    if image and not command and not preset:
        # A custom image is started by its command, whatever else names the code (the console's
        # custom-image mode has no boot file). [UNCERTAIN] A preset framework with a custom image
        # (engine_name + engine_version + image_url) runs its boot file through the framework, so
        # no command is asked for there.
        raise ModelArtsValidationError(
            f"{parameter}.command",
            "the start command of the custom image's container (e.g. 'cd /home/ma-user/code && sh run.sh'): "
            "a custom-image job needs engine.image_url and command (the service answers ModelArts.2806 "
            "without it), unless the image runs a preset framework (engine_name + engine_version)",
            None,
        )
    code_dir_only = named == [("code_dir", "boot_file")] and algorithm.get("boot_file") is None
    if named and not (code_dir_only and (image or command)):
        way = named[0]
        for key in way:
            if algorithm.get(key) is None:
                others = " + ".join(k for k in way if k != key)
                raise ModelArtsValidationError(
                    f"{parameter}.{key}",
                    f"given with {others} (the algorithm is one of: {_algorithm_ways_text()})",
                    None,
                )
        return
    if not (image or command):
        raise ModelArtsValidationError(parameter, "exactly one of: " + _algorithm_ways_text(), dict(algorithm))
    if not command:
        raise ModelArtsValidationError(
            f"{parameter}.command",
            "the start command of the custom image's container (e.g. 'cd /home/ma-user/code && sh run.sh'): "
            "a custom-image job needs engine.image_url and command (the service answers ModelArts.2806 "
            "without it)",
            None,
        )
    if not image:
        raise ModelArtsValidationError(
            f"{parameter}.engine.image_url",
            "the custom image's SWR address, given with command (a custom-image job needs both), or name the "
            f"algorithm another way: {_ways_text(ALGORITHM_WAYS)}",
            None,
        )


def _validate_engine(engine: Mapping[str, Any], parameter: str) -> None:
    given = [key for way in ENGINE_WAYS for key in way if engine.get(key) is not None]
    if "engine_id" in given and len(given) > 1:
        raise ModelArtsValidationError(
            parameter, f"engine_id alone, or no engine_id ({ENGINE_ALLOWED})", {key: engine[key] for key in given}
        )
    name, version = engine.get("engine_name") is not None, engine.get("engine_version") is not None
    if name != version:
        missing = "engine_version" if name else "engine_name"
        present = "engine_name" if name else "engine_version"
        raise ModelArtsValidationError(f"{parameter}.{missing}", f"given with {present} ({ENGINE_ALLOWED})", None)
    for key in given:
        _non_empty_string(engine[key], f"{parameter}.{key}")


def _validate_environments(value: object, parameter: str) -> None:
    allowed = (
        f"a map of strings to strings (at most {ENVIRONMENTS_MAX_PAIRS} pairs; keys up to "
        f"{ENVIRONMENT_KEY_MAX_LENGTH} characters, values up to {ENVIRONMENT_VALUE_MAX_LENGTH}); "
        "the list-of-maps form is how responses show it, not what a create takes"
    )
    pairs = _string_map(value, parameter, allowed)
    too_long = any(
        len(k) > ENVIRONMENT_KEY_MAX_LENGTH or len(v) > ENVIRONMENT_VALUE_MAX_LENGTH for k, v in pairs.items()
    )
    if len(pairs) > ENVIRONMENTS_MAX_PAIRS or too_long:
        raise ModelArtsValidationError(parameter, allowed, value)
    for name, item in pairs.items():
        if not ENVIRONMENT_NAME_PATTERN.fullmatch(name):
            raise ModelArtsValidationError(
                f"{parameter}.{name}" if name else parameter,
                "a variable name of letters, digits and underscores, starting with a letter or underscore",
                name,
            )
        if "$" in item:
            log.warning(
                "%s.%s contains '$': the service does not expand variable references ('$' is not supported "
                "there), so the value may reach the job literally or be refused",
                parameter,
                name,
            )


def _validate_channels(value: object, parameter: str, *, outputs: bool) -> None:
    obs_form = "{'obs': {'obs_url': 'obs://bucket/path/'}}"
    dataset_form = "{'dataset': {'id': ..., 'version_id': ...}}"
    remote_allowed = f"{obs_form} (outputs go to OBS only)" if outputs else f"{obs_form} or {dataset_form}"
    allowed = f"a list of channels, each {{'name': ..., 'remote': {remote_allowed}}}"
    if not isinstance(value, (list, tuple)):
        raise ModelArtsValidationError(parameter, allowed, value)
    for index, channel in enumerate(value):
        where = f"{parameter}[{index}]"
        if not isinstance(channel, Mapping):
            raise ModelArtsValidationError(where, allowed, channel)
        _non_empty_string(channel.get("name"), f"{where}.name")
        remote = channel.get("remote")
        if not isinstance(remote, Mapping):
            raise ModelArtsValidationError(f"{where}.remote", remote_allowed, remote)
        obs, dataset = remote.get("obs"), remote.get("dataset")
        if outputs and dataset is not None:
            raise ModelArtsValidationError(f"{where}.remote.dataset", f"no dataset: an output is {obs_form}", dataset)
        if obs is not None and dataset is not None:
            raise ModelArtsValidationError(f"{where}.remote", "one of " + remote_allowed, remote)
        if obs is not None:
            url = obs.get("obs_url") if isinstance(obs, Mapping) else None
            _non_empty_string(url, f"{where}.remote.obs.obs_url", "an OBS path such as 'obs://bucket/path/'")
        elif dataset is not None:
            for key, what in (("id", "the dataset's id"), ("version_id", "the id of the dataset's version")):
                item = dataset.get(key) if isinstance(dataset, Mapping) else None
                _non_empty_string(item, f"{where}.remote.dataset.{key}", what)
        else:
            raise ModelArtsValidationError(f"{where}.remote", remote_allowed, remote)


def _validate_spec(value: object, parameter: str, kind: str = DEFAULT_JOB_KIND) -> dict[str, Any]:
    federated = kind == FEDERATED_POOL_JOB_KIND
    forms = "'flavor_id' (a public pool's flavor) or 'pool_id' (a dedicated pool, with its flavor_id)"
    forms += ", or 'pool_group_id' (kind federated_pool_job only, where it is required)"
    spec = _plain_mapping(value, parameter, "a mapping with 'resource'")
    resource = _plain_mapping(spec.get("resource"), f"{parameter}.resource", f"a mapping with {forms}")
    keys = ("flavor_id", "pool_id", "pool_group_id") if federated else ("flavor_id", "pool_id")
    given = [key for key in keys if resource.get(key) is not None]
    group = resource.get("pool_group_id")
    if federated and not (isinstance(group, str) and group.strip()):
        raise ModelArtsValidationError(
            f"{parameter}.resource.pool_group_id",
            "the id of the pool group (pool_group_id), required for kind federated_pool_job",
            group,
        )
    if not given:
        raise ModelArtsValidationError(f"{parameter}.resource", forms, dict(resource))
    for key in given:
        _non_empty_string(resource[key], f"{parameter}.resource.{key}")
    if resource.get("node_count") is not None:
        resource["node_count"] = coerce_int(resource["node_count"], f"{parameter}.resource.node_count", 1, LONG_MAX)
    spec["resource"] = resource
    return spec


# ---------------------------------------------------------------------------------------------
# Tasks and their logs (AOM)
# ---------------------------------------------------------------------------------------------

# "worker-0" for one node, "worker-0", "worker-1", ... for several (ShowTrainingJobLogsFromAom), but
# not a closed set: the create example's answer lists "worker-0", "server-0", and other job kinds
# name theirs launcher-0, ps-0, master-0... (status.tasks is a list of free strings in the SDK).
# Any path-safe name is accepted; the paths URL-quote it anyway.
_TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOG_LINES_RANGE = (1, 500)
DEFAULT_LOG_LINES = 500
DEFAULT_LOG_ORDER = "asc"


def validate_task_id(value: object, parameter: str = "task_id") -> str:
    """A task name from ``status.tasks``: ``worker-0``, ``worker-1``, ``server-0``, ``launcher-0``,
    ``ps-0``, ... (1-128 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit)."""
    if isinstance(value, str) and _TASK_ID_PATTERN.fullmatch(value):
        return value
    raise ModelArtsValidationError(
        parameter,
        "a task name from the job's status.tasks such as 'worker-0' or 'server-0': 1 to 128 letters, digits, "
        "'.', '_' or '-', starting with a letter or digit",
        value,
    )


def validate_log_lines(value: object, parameter: str = "lines") -> int:
    return coerce_int(value, parameter, *LOG_LINES_RANGE)


def validate_base_line(value: object, parameter: str = "base_line") -> str | None:
    """A cursor from an earlier page (its ``start_line`` or ``end_line``), or ``None``."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= 128 and value.isprintable():
        return value.strip()
    raise ModelArtsValidationError(parameter, "a position from an earlier page (its start_line or end_line)", value)


def log_query(base_line: str | None, lines: int, order: str) -> list[tuple[str, str]]:
    """The query of one AOM page; no ``base_line`` at all when there is none (the docs' "empty")."""
    query = [("lines", str(lines)), ("order", order)]
    if base_line is not None:
        query.insert(0, ("base_line", base_line))
    return query


@dataclass(frozen=True)
class TaskLogPage:
    """One page of a task's log from AOM (``GET .../training-jobs/{id}/logs/{task_id}``).

    :param start_line: the position of the page's first line, as the API gives it (a string;
        the v1 docs' example is a nanosecond-like number such as ``"1551252759254000002"``).
    :param end_line: the position of its last line (see :class:`TaskLogCursor` for how it is used).
    :param line_count: the API's ``lines``: how many lines the page holds.
    :param content: the lines, joined by ``\\n``.
    """

    start_line: str | None
    end_line: str | None
    line_count: int
    content: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TaskLogPage:
        content = body.get("content")
        count = body.get("lines")
        # The v1 example gives "lines" as a string ("1"): accept both.
        if isinstance(count, str) and count.strip().isdecimal():
            count = int(count)
        text = content if isinstance(content, str) else ""
        return cls(
            start_line=_position(body.get("start_line")),
            end_line=_position(body.get("end_line")),
            line_count=count if isinstance(count, int) and not isinstance(count, bool) else len(_split_lines(text)),
            content=text,
        )

    def lines(self) -> list[str]:
        """The page's lines, without their line ends (``\\r\\n`` too); a final newline does not
        make an empty last line."""
        return _split_lines(self.content)


def _position(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text or None


def _split_lines(content: str) -> list[str]:
    if not content:
        return []
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


@dataclass(frozen=True)
class TaskLogCursor:
    """Where a follower of one task's log is, and what it learned about the API's positions.

    How a task's log is followed from its first line, every line once and in order (the exact
    reading implemented by :meth:`next_query` and :meth:`advance`):

    1. **First call**: no ``base_line`` at all, ``order=asc``, ``lines=500``. The docs say an
       empty ``base_line`` "starts from the newest log" and that ``asc`` is "oldest to newest",
       which reads two ways: the log from its first line (oldest first), or the newest 500 lines
       (oldest of them first). While the log is shorter than a page both give the whole log. When
       the first page is *full*, older lines may exist (second reading), so the follower walks
       back once (:func:`read_older_lines`): ``order=desc`` from the oldest position it has, page
       after page, until a short or empty page, at most :data:`MAX_BACKFILL_PAGES` pages; those
       lines come first, oldest first. Under the first reading that walk costs one request and
       finds nothing. Only this first call can cost more than one request.
       (:meth:`ModelArtsHook.follow_training_job_log` does the walk; a caller that drives
       :meth:`advance` itself calls :func:`read_older_lines` after a full first page.)
    2. **Every later call**: ``base_line`` = the previous page's ``end_line``, ``order=asc``.
       The v2 page defines ``asc`` as "oldest to newest"; the v1 ``aom-log`` page defined the
       same word the other way round ("desc: query next records, asc: query previous records").
       We follow the v2 page, the one for this endpoint.
    3. **Is ``base_line`` inclusive?** The docs do not say, so both readings are handled:
       - *inclusive* (the page starts *at* ``base_line``): the new page's ``start_line`` equals
         the previous ``end_line`` and its first line is the previous page's last line again. That
         first line is dropped.
       - *exclusive* (the page starts after it): ``start_line`` differs from the previous
         ``end_line``, and every line is new.
       - *half-open positions*: ``end_line`` may be where the *next* line will go rather than
         the last line's own position (the v1 docs' example gives ``start_line`` ...002 and
         ``end_line`` ...003 for a one-line page). Then a page starting at the previous
         ``end_line`` starts with a *new* line, which must be kept.
       The cursor tells these apart from what it sees (:attr:`repeats_end_line`): a one-line page
       whose ``start_line`` equals its ``end_line`` proves ``end_line`` is the last line's own
       position (so a page starting there repeats it: drop); a one-line page with two different
       positions, or a page starting at the previous ``end_line`` with a *different* first line,
       proves the positions are half-open (never drop). Until either is learned, a first line at
       exactly the previous ``end_line`` with exactly the previous last line's text is taken as
       the repeat. The one case this cannot tell apart: half-open positions *and* a task that
       printed the same line twice across a page boundary before any one-line page was seen.
       (If the service skipped the line at an exclusive, half-open ``base_line``, no client
       reading could recover it; nothing in the docs suggests that combination.)
    4. **No new lines**: an empty page (or a page whose only line is the repeat) leaves the
       cursor where it was, so the next call asks from the same position. HTTP 204 /
       ``ModelArts.2776`` (the log does not exist yet) is not a page: the cursor stays at the
       start, and the next call is a first call again.
    5. A page without an ``end_line`` keeps the previous ``base_line`` (nothing to move to).

    :param base_line: the ``base_line`` of the next call (``None``: the first call).
    :param last_line: the text of the last line returned so far, to recognise its repeat.
    :param repeats_end_line: whether a page that starts at the previous ``end_line`` starts with
        the previous last line again, once learned (``None``: not yet; see point 3).
    :param lines_read: how many lines were returned so far (repeats not counted).
    :param page_size: ``lines`` per request, 1-500.
    """

    base_line: str | None = None
    last_line: str | None = None
    repeats_end_line: bool | None = None
    lines_read: int = 0
    page_size: int = field(default=DEFAULT_LOG_LINES)

    def next_query(self) -> list[tuple[str, str]]:
        """The query of the next call (see the class docstring, points 1 and 2)."""
        return log_query(self.base_line, self.page_size, DEFAULT_LOG_ORDER)

    def advance(self, page: TaskLogPage | None) -> tuple[TaskLogCursor, list[str]]:
        """The cursor after ``page`` (the answer to :meth:`next_query`; ``None`` for 204), and the
        page's lines that were not returned before, in order."""
        if page is None:
            return self, []
        lines = page.lines()
        repeats = self.repeats_end_line
        if page.line_count == 1 and len(lines) == 1 and page.start_line and page.end_line:
            repeats = page.start_line == page.end_line
        at_previous_end = (
            self.base_line is not None and page.start_line is not None and page.start_line == self.base_line
        )
        if at_previous_end and lines and self.last_line is not None:
            if repeats is None and lines[0] != self.last_line:
                repeats = False  # a new line at the old end: the positions are half-open
            if repeats is True or (repeats is None and lines[0] == self.last_line):
                lines = lines[1:]
        if not lines:
            return TaskLogCursor(self.base_line, self.last_line, repeats, self.lines_read, self.page_size), []
        cursor = TaskLogCursor(
            base_line=page.end_line or self.base_line,
            last_line=lines[-1],
            repeats_end_line=repeats,
            lines_read=self.lines_read + len(lines),
            page_size=self.page_size,
        )
        return cursor, lines


# A follower that starts late reads at most this many pages of older lines on its first call
# (10,000 lines at 500 a page): a task log longer than that is a console's job, not a task log's.
MAX_BACKFILL_PAGES = 20


def _number(position: str | None) -> int | None:
    return int(position) if position is not None and position.isdecimal() else None


def chronological_lines(page: TaskLogPage) -> list[str]:
    """The lines of an ``order=desc`` page, oldest first.

    The docs say desc is "newest to oldest". Positions are line numbers ("基线行号"), so when both
    are numbers the page's own ``start_line`` and ``end_line`` say which way its content runs
    (``start_line`` > ``end_line``: newest first); otherwise the docs' order is assumed.
    """
    lines = page.lines()
    start, end = _number(page.start_line), _number(page.end_line)
    if start is not None and end is not None and start <= end:
        return lines
    return lines[::-1]


def _desc_page_bounds(page: TaskLogPage) -> tuple[str | None, str | None]:
    """``(oldest, newest)`` position of an ``order=desc`` page."""
    start, end = _number(page.start_line), _number(page.end_line)
    if start is not None and end is not None and start <= end:
        return page.start_line, page.end_line
    return page.end_line, page.start_line


def read_older_lines(
    read_before: Callable[[str], TaskLogPage | None],
    first: TaskLogPage,
    page_size: int,
    max_pages: int = MAX_BACKFILL_PAGES,
) -> tuple[list[str], bool]:
    """The lines older than a full first page, oldest first (point 1 of :class:`TaskLogCursor`).

    :param read_before: reads one ``order=desc`` page from a ``base_line`` (the hook's request).
    :param first: the first page (``order=asc``, no ``base_line``), which was full.
    :return: the older lines, and whether the walk reached the start of the log (``False``: it
        stopped after ``max_pages`` pages, and still older lines were not read).
    """
    first_lines = first.lines()
    oldest_position = first.start_line
    oldest_text = first_lines[0] if first_lines else None
    older: list[str] = []
    for _ in range(max_pages):
        if oldest_position is None:
            return older, True
        page = read_before(oldest_position)
        if page is None:
            return older, True
        lines = chronological_lines(page)
        page_oldest, page_newest = _desc_page_bounds(page)
        # An inclusive base_line gives back the line at it (our oldest) as the page's newest.
        if lines and page_newest == oldest_position and lines[-1] == oldest_text:
            lines = lines[:-1]
        if not lines or page_oldest == oldest_position:
            return older, True
        older[:0] = lines
        oldest_position, oldest_text = page_oldest, lines[0]
        if page.line_count < page_size:
            return older, True
    return older, False


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
# The log preview, events and auto search trials
# ---------------------------------------------------------------------------------------------


def training_job_events_path(project_id: str, training_job_id: str) -> str:
    """``GET`` a job's events, one page (:class:`EventQuery`), newest or oldest first."""
    return f"{training_job_path(project_id, training_job_id)}/events"


def training_job_autosearch_trials_path(project_id: str, training_job_id: str) -> str:
    """``GET`` the trials of an auto search (hyperparameter search) job, one page of a table
    (query ``limit``, ``offset``); see :func:`trial_rows`."""
    return f"{training_job_path(project_id, training_job_id)}/autosearch-trials"


# Which API reads a task's log (the connection's ``log_api``): the paged AOM endpoint, the
# preview (the newest 5 MB, the only one Open Telekom Cloud and the EU region document), or AOM
# until the gateway answers that it does not exist there, then the preview.
# The values are the connection field's (conn_fields).
LOG_API_AOM = conn_fields.LOG_API_AOM
LOG_API_PREVIEW = conn_fields.LOG_API_PREVIEW
LOG_API_AUTO = conn_fields.LOG_API_AUTO
LOG_APIS = conn_fields.LOG_APIS
DEFAULT_LOG_API = conn_fields.DEFAULT_LOG_API
# "The maximum size is 5 MB" (ShowTrainingJobLogsPreview, current_size).
PREVIEW_MAX_BYTES = 5 * 1024 * 1024
# The gateway's "API not found / not published" (HTTP 404): an endpoint this cloud does not serve.
API_NOT_FOUND_CODES = frozenset({"APIGW.0101", "APIG.0101"})


def validate_log_api(value: object, parameter: str = "log_api") -> str:
    """``aom``, ``preview`` or ``auto`` (any case)."""
    if isinstance(value, str) and value.strip().lower() in LOG_APIS:
        return value.strip().lower()
    raise ModelArtsValidationError(parameter, "one of " + ", ".join(LOG_APIS), value)


def is_api_not_found(http_status: int, error_code: str | None) -> bool:
    """Whether an error answer says the endpoint itself does not exist (the gateway's 404
    ``APIGW.0101``), as opposed to a missing job or task (a ModelArts code)."""
    return http_status == 404 and (error_code or "") in API_NOT_FOUND_CODES


def _size(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    return value if isinstance(value, int) and value >= 0 else None


@dataclass(frozen=True)
class TaskLogPreview:
    """A task's log preview (``GET .../training-jobs/{id}/tasks/{task_id}/logs/preview``,
    https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowTrainingJobLogsPreview.html):
    the whole log while it is at most 5 MB, else its newest 5 MB.

    :param content: the text (the field was ``context`` before 2022-03-01; both are read).
    :param current_size: the bytes returned, as the API gives it (``None`` if missing).
    :param full_size: the bytes of the whole log (``None`` if missing): the content is its last
        ``current_size`` bytes.
    """

    content: str
    current_size: int | None
    full_size: int | None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TaskLogPreview:
        content = body.get("content")
        if not isinstance(content, str):
            content = body.get("context")
        return cls(
            content=content if isinstance(content, str) else "",
            current_size=_size(body.get("current_size")),
            full_size=_size(body.get("full_size")),
        )

    def lines(self) -> list[str]:
        """The lines, without their line ends (see :meth:`TaskLogPage.lines`)."""
        return _split_lines(self.content)


# ListTrainingJobEvents (https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobEvents.html):
# limit 1-100 (default 50), level Info|Error|Warning, pattern up to 256 characters, source
# K8S|Job|Task, start_time and end_time only together. The SDK's response: {total, limit, offset
# (a page number), order, start_time, end_time, events: [{message, level, time, source}]}.
EVENTS_LIMIT_RANGE = (1, 100)
DEFAULT_EVENTS_LIMIT = 50
EVENT_LEVELS = ("Info", "Warning", "Error")
EVENT_SOURCES = ("K8S", "Job", "Task")
EVENT_PATTERN_MAX_LENGTH = 256
_EVENT_TIME_MAX_LENGTH = 64


def _one_of(value: object, allowed: tuple[str, ...], parameter: str) -> str:
    if isinstance(value, str):
        for item in allowed:
            if value.strip().lower() == item.lower():
                return item
    raise ModelArtsValidationError(parameter, "one of " + ", ".join(allowed), value)


def _event_time(value: object, parameter: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= _EVENT_TIME_MAX_LENGTH and value.isprintable():
        return value.strip()
    raise ModelArtsValidationError(parameter, "a time as the API takes it (a string, or epoch milliseconds)", value)


@dataclass(frozen=True)
class EventQuery:
    """Validated arguments of one page of a job's events. Build it with :meth:`validate`."""

    offset: int = 0
    limit: int = DEFAULT_EVENTS_LIMIT
    order: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    level: str | None = None
    pattern: str | None = None
    source: str | None = None

    @classmethod
    def validate(
        cls,
        offset: object = 0,
        limit: object = DEFAULT_EVENTS_LIMIT,
        order: object = None,
        start_time: object = None,
        end_time: object = None,
        level: object = None,
        pattern: object = None,
        source: object = None,
    ) -> EventQuery:
        if (start_time is None) != (end_time is None):
            raise ModelArtsValidationError(
                "start_time" if end_time is None else "end_time",
                "given together with " + ("end_time" if end_time is None else "start_time"),
                start_time if end_time is None else end_time,
            )
        if pattern is not None and not (
            isinstance(pattern, str) and 0 < len(pattern) <= EVENT_PATTERN_MAX_LENGTH and pattern.isprintable()
        ):
            raise ModelArtsValidationError(
                "pattern", f"a non-empty text of at most {EVENT_PATTERN_MAX_LENGTH} characters", pattern
            )
        return cls(
            offset=coerce_int(offset, "offset", 0, LONG_MAX),
            limit=coerce_int(limit, "limit", *EVENTS_LIMIT_RANGE),
            order=validate_order(order) if order is not None else None,
            start_time=_event_time(start_time, "start_time") if start_time is not None else None,
            end_time=_event_time(end_time, "end_time") if end_time is not None else None,
            level=_one_of(level, EVENT_LEVELS, "level") if level is not None else None,
            pattern=pattern if isinstance(pattern, str) else None,
            source=_one_of(source, EVENT_SOURCES, "source") if source is not None else None,
        )

    def query(self) -> list[tuple[str, str]]:
        pairs = [("offset", str(self.offset)), ("limit", str(self.limit))]
        for name in ("order", "start_time", "end_time", "level", "pattern", "source"):
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, value))
        return pairs


def event_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of an answer (``events``, or ``items``), each as the API gives it."""
    events = body.get("events")
    if not isinstance(events, list):
        events = body.get("items")
    return [dict(event) for event in _list(events) if isinstance(event, Mapping)]


def _event_time_text(value: object) -> str:
    """An event's time as ISO 8601 UTC when it is epoch milliseconds (or seconds), else as given."""
    text = str(value).strip() if value is not None else ""
    if text.isdecimal() and len(text) in (10, 13):
        from datetime import datetime, timezone

        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text or "-"


def format_event(event: Mapping[str, Any]) -> str:
    """``<time> <level> <message>`` (``[source]`` before the message when there is one)."""
    level = str(event.get("level") or "-")
    source = event.get("source")
    message = str(event.get("message") or "").strip()
    return f"{_event_time_text(event.get('time'))} {level} " + (f"[{source}] " if source else "") + message


# Auto search trials (ShowAutoSearchTrials): query limit and offset ("Offset of a data entry");
# the answer is {total, count, limit, offset, group_by, items: {header: [...], data: [[...]]}}.
TRIALS_PAGE_LIMIT = 50
# The reward columns of a trial, best first: its best reward, then the reward attribute's value.
REWARD_COLUMNS = ("best_reward", "reward_attr", "reward")
REWARD_MODES = ("max", "min")


def trial_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The trials of one answer as rows by column name (``items.header`` names ``items.data``'s
    columns). Every column is kept, unknown ones too; a value past the header's end is kept under
    ``column_<index>``, and a repeated column name gets ``_<index>`` added."""
    items = _mapping(body.get("items"))
    header = [str(name) if name is not None else "" for name in _list(items.get("header"))]
    names: list[str] = []
    for index, name in enumerate(header):
        names.append(f"{name}_{index}" if name in names else name)
    rows = []
    for data in _list(items.get("data")):
        if not isinstance(data, list):
            continue
        rows.append({(names[i] if i < len(names) else f"column_{i}"): value for i, value in enumerate(data)})
    return rows


def auto_search_of(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A job body's ``algorithm.policies.auto_search``, or ``None`` (a job that does not search;
    the documented example of a plain job sends ``"auto_search": null``)."""
    auto_search = _mapping(_mapping(job.get("algorithm")).get("policies")).get("auto_search")
    return auto_search if isinstance(auto_search, Mapping) else None


def reward_of(auto_search: Mapping[str, Any]) -> tuple[str | None, str]:
    """The first reward attribute's name and mode (``max`` unless it says ``min``)."""
    first = next((attr for attr in _list(auto_search.get("reward_attrs")) if isinstance(attr, Mapping)), {})
    name = first.get("name")
    mode = first.get("mode")
    return (
        name if isinstance(name, str) and name else None,
        mode.strip().lower() if isinstance(mode, str) and mode.strip().lower() in REWARD_MODES else "max",
    )


def _reward_value(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None
    return number if number is not None and number == number and abs(number) != float("inf") else None


def best_trial(rows: Iterable[Mapping[str, Any]], auto_search: Mapping[str, Any]) -> dict[str, Any] | None:
    """The trial with the best reward: the first of :data:`REWARD_COLUMNS` the rows have, else
    the column named by the first ``reward_attrs`` entry; highest for mode ``max`` (the
    default), lowest for ``min``. Rows without a readable reward are passed over; ``None`` when
    no row has one. The first of equal rewards wins."""
    rows = list(rows)
    name, mode = reward_of(auto_search)
    columns = [column for column in (*REWARD_COLUMNS, name) if column]
    column = next((c for c in columns if any(_reward_value(row.get(c)) is not None for row in rows)), None)
    if column is None:
        return None
    best: tuple[float, Mapping[str, Any]] | None = None
    for row in rows:
        value = _reward_value(row.get(column))
        if value is None:
            continue
        if best is None or (value > best[0] if mode == "max" else value < best[0]):
            best = (value, row)
    return dict(best[1]) if best is not None else None


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
# The lifecycle codes the hook turns into typed errors (see the hook's create, terminate and log
# calls) or reads as "no data yet".
DUPLICATE_NAME_CODE = "ModelArts.2751"  # 400 DuplicateTrainingJobName
NOT_ALLOWED_TO_TERMINATE_CODE = "ModelArts.2796"  # 409: the job has already ended
UNSUPPORTED_ACTION_CODE = "ModelArts.2812"  # 400: an action_type other than terminate
# "Not ready to fetch the log" (HTTP 204) and "the log has not been generated" (400): both mean
# no line exists yet, which a follower reads as an empty answer, never as a failure.
LOG_NOT_READY_CODES = frozenset({"ModelArts.2776", "ModelArts.2818"})
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
        DUPLICATE_NAME_CODE: "A training job with this name already exists: choose another metadata.name",
        "ModelArts.2755": "Check algorithm.id (or subscription_id and item_version_id): no such algorithm",
        "ModelArts.2763": "Check spec.resource.flavor_id: the flavor is not valid for this job",
        "ModelArts.2780": "Check algorithm.engine: no such engine (GET .../training-job-engines lists them)",
        "ModelArts.2781": "Check spec.resource.flavor_id: no such flavor (GET .../training-job-flavors lists them)",
        "ModelArts.2791": "Check the OBS paths of the body (code_dir, boot_file, inputs and outputs)",
        "ModelArts.2793": "Check spec.resource.node_count: it is above the flavor's maximum",
        "ModelArts.2806": "A custom image needs both algorithm.engine.image_url and algorithm.command",
        "ModelArts.2815": "The training job quota is used up: delete finished jobs or raise the quota",
        "ModelArts.2833": "The free flavor allows fewer running jobs: wait, or choose another flavor",
        NOT_ALLOWED_TO_TERMINATE_CODE: "The job has ended: only Creating, Pending and Running jobs can be terminated",
        UNSUPPORTED_ACTION_CODE: "The actions endpoint accepts only {'action_type': 'terminate'}",
        "ModelArts.2776": "The task's log is not ready yet: ask again later",
        "ModelArts.2818": "The task has not written any log yet: ask again later",
        "ModelArts.2819": "The task's log was already cleared (logs stay 30 days unless exported to OBS)",
    },
)
