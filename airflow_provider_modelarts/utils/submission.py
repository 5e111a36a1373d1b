"""One training job per task instance, across retries, crashes and Clears: what a try submits.

The single owner of "which earlier jobs belong to this task instance":
:func:`plan_try` searches for them (and reads the one the task state store names),
:func:`plan_submission` decides (reconnect, already Completed, or create under which name), and
:func:`create_planned` sends the create. The rules, the marks a job carries and why:
docs/durable-execution.md.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.v2.create import ValidatedJob
from airflow_provider_modelarts.exceptions import (
    ModelArtsDuplicateJobNameError,
    ModelArtsError,
    ModelArtsJobEndedError,
    ModelArtsNotFoundError,
    ModelArtsPermanentError,
    ModelArtsValidationError,
)

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

TASK_INSTANCE_ANNOTATION = "airflow-task-instance"
GENERATION_ANNOTATION = "airflow-generation"
OWN_ANNOTATIONS = (TASK_INSTANCE_ANNOTATION, GENERATION_ANNOTATION)
#: Choices of ``on_name_conflict``.
NAME_CONFLICT_CHOICES = ("fail", "suffix")
# Derived names keep this much of the user's name, so one search (like) finds them all.
NAME_SEARCH_PREFIX = 48


@dataclass(frozen=True)
class TaskInstanceIdentity:
    """The task instance a job belongs to, and the try and generation that create it."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    try_number: int
    max_tries: int
    clear_number: int = 0

    @property
    def digest(self) -> str:
        """24 hex characters identifying the task instance (any try, any generation)."""
        raw = "\x1f".join((self.dag_id, self.task_id, self.run_id, str(self.map_index)))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]

    @property
    def generation(self) -> str:
        """Changes with each Clear, never with a retry: a Clear sets ``max_tries`` to
        ``try_number + retries`` (left as it is when the scheduler cannot find the task), and
        clearing a finished run raises the run's ``clear_number``; one of the two always moves."""
        return f"{self.max_tries}.{self.clear_number}"

    def annotations(self) -> dict[str, str]:
        return {TASK_INSTANCE_ANNOTATION: self.digest, GENERATION_ANNOTATION: self.generation}

    def marker(self) -> str:
        """The mark at the end of a job's description (see the module docstring)."""
        return f"{MARKER_OPENING}{self.digest}:{self.generation}]"


MARKER_OPENING = "[airflow:"
# The marker a job's description ends with: the task-instance digest and the generation.
_MARKER = re.compile(r"\[airflow:(?P<digest>[0-9a-f]{24}):(?P<generation>-?[0-9]+\.[0-9]+)\]$")


class Action(enum.Enum):
    CREATE = "create"
    RECONNECT = "reconnect"
    ALREADY_COMPLETED = "already_completed"


@dataclass(frozen=True)
class Plan:
    """What a try does: create ``body`` (the job to send), or use ``job`` (an earlier try's).

    ``stop``: earlier jobs of this task instance that are still active and are not ``job``
    (mostly one from before a Clear whose task crashed or was deferred, so nothing stopped it):
    they must be stopped first, so that the task instance never has two active jobs.
    """

    action: Action
    reason: str
    job: dict[str, Any] | None = None
    body: ValidatedJob | None = None
    stop: tuple[dict[str, Any], ...] = ()


class EarlierJobActiveError(ModelArtsPermanentError):
    """A Clear found this task instance's earlier job still active, and ``terminate_on_kill`` is off."""

    def __init__(self, job: Mapping[str, Any]) -> None:
        row = v2.job_row(job)
        super().__init__(
            f"Training job {row['id']} ({row['name']}), created by this task before it was cleared, is still "
            f"{v2.phase_of(job) or 'active'}. The task does not train again while it runs (terminate_on_kill is "
            "False, so it does not stop it): stop it in the ModelArts console and clear the task again, or set "
            "terminate_on_kill=True"
        )
        self.training_job_id = row["id"]


class NameConflictError(ModelArtsValidationError):
    """The job's name is taken by a job this task did not create."""

    def __init__(self, name: str, taken_by: str | None) -> None:
        super().__init__(
            "job.metadata.name",
            "a name no other job in the project has; or on_name_conflict='suffix' to create the job "
            "under a derived name",
            name,
        )
        self.name = name
        self.taken_by = taken_by
        self.args = (
            f"A training job named {name!r} already exists (id {taken_by}) and was not created by this task. "
            "Choose another job.metadata.name, or set on_name_conflict='suffix' to create the job under a "
            "derived name",
        )


def validate_on_name_conflict(value: object) -> str:
    if value in NAME_CONFLICT_CHOICES:
        return str(value)
    raise ModelArtsValidationError("on_name_conflict", " or ".join(repr(c) for c in NAME_CONFLICT_CHOICES), value)


def search_name(body: Mapping[str, Any]) -> str:
    """The ``like`` term that finds the job's name and every name derived from it."""
    return str(body["metadata"]["name"])[:NAME_SEARCH_PREFIX]


def derived_name(name: str, suffix: str) -> str:
    """``name`` plus ``suffix``, cut to the API's 64 characters by shortening ``name``."""
    return name[: v2.NAME_MAX_LENGTH - len(suffix)] + suffix


def own_jobs(
    candidates: Iterable[Mapping[str, Any]], identity: TaskInstanceIdentity, name: str | None = None
) -> list[dict[str, Any]]:
    """The candidates this task instance created (any generation), newest first: those whose
    annotation or description marker names it and, given the user's ``name``, whose name is that
    name or one this operator derives from it (``<name>-<digest>-try<N>``). A job copied in the
    console, or submitted by hand from the same body, keeps the description and its marker under
    another name: it is not this task's, so a Clear never stops it and a retry never adopts it."""
    mine = [
        dict(job)
        for job in candidates
        if _owner(job) == identity.digest and (name is None or _named_by(job, name, identity))
    ]
    return sorted(mine, key=lambda job: _create_time(job), reverse=True)


_DERIVED_NAME = re.compile(r"^(?P<base>.*)-(?P<digest>[0-9a-f]{8})-try(?P<try>[0-9]+)$")


def _named_by(job: Mapping[str, Any], name: str, identity: TaskInstanceIdentity) -> bool:
    """Whether the job's name is ``name``, or a name :func:`retry_name` derives from it for this
    task instance (the user's name cut to fit 64 characters, plus the digest and a try)."""
    job_name = v2.job_row(job)["name"]
    if job_name == name:
        return True
    derived = _DERIVED_NAME.match(job_name) if isinstance(job_name, str) else None
    return (
        derived is not None
        and derived["digest"] == identity.digest[:8]
        and name.startswith(derived["base"])
        and job_name == retry_name(name, replace(identity, try_number=int(derived["try"])))
    )


def described(description: str | None, identity: TaskInstanceIdentity) -> str:
    """The user's ``description`` with this try's marker at its end, within the API's 256
    characters (the user's text is cut to make room; a marker already there is replaced)."""
    text = _MARKER.sub("", description or "").rstrip()
    marker = identity.marker()
    room = v2.DESCRIPTION_MAX_LENGTH - len(marker) - 1
    text = text[:room].rstrip() if room > 0 else ""
    return f"{text} {marker}" if text else marker


def plan_submission(
    body: Mapping[str, Any] | ValidatedJob,
    identity: TaskInstanceIdentity,
    earlier: list[dict[str, Any]],
    name_holder: Mapping[str, Any] | None,
    on_name_conflict: str = "fail",
) -> Plan:
    """Decide what this try does (docs/durable-execution.md, "What a try does").

    :param body: the create body (its ``metadata.name`` is the user's name); validated here unless
        it is a :class:`ValidatedJob` already.
    :param identity: this try's task instance.
    :param earlier: the jobs earlier tries of this task instance created, newest first
        (:func:`own_jobs`; a job from the task state store goes first).
    :param name_holder: the job now holding the user's name, if any.
    :param on_name_conflict: ``"fail"`` or ``"suffix"``.
    """
    latest = earlier[0] if earlier else None
    plan = _decide(ValidatedJob.validate(body), identity, latest, name_holder, on_name_conflict)
    kept = v2.job_row(plan.job)["id"] if plan.job is not None else None
    stop = tuple(job for job in earlier if _is_active(job) and v2.job_row(job)["id"] != kept)
    return Plan(plan.action, plan.reason, plan.job, plan.body, stop)


def _is_active(job: Mapping[str, Any]) -> bool:
    """Running or about to (a job Terminating is already being stopped)."""
    phase = v2.parse_phase(v2.phase_of(job) or "")
    return phase is None or (phase.is_in_progress and phase is not v2.JobPhase.TERMINATING)


def _decide(
    body: ValidatedJob,
    identity: TaskInstanceIdentity,
    latest: dict[str, Any] | None,
    name_holder: Mapping[str, Any] | None,
    on_name_conflict: str,
) -> Plan:
    name = str(body["metadata"]["name"])
    if latest is not None:
        phase = v2.parse_phase(v2.phase_of(latest) or "")
        job_id, job_name = v2.job_row(latest)["id"], v2.job_row(latest)["name"]
        same_generation = _generation(latest) == identity.generation
        # A job Terminating was stopped (by this task's on_kill, mostly): it is going away, not back.
        if same_generation and _is_active(latest):
            return Plan(
                Action.RECONNECT,
                f"reconnecting to training job {job_id} ({job_name}), created by an earlier try",
                job=latest,
            )
        if same_generation and phase is not None and phase.is_success:
            return Plan(
                Action.ALREADY_COMPLETED,
                f"training job {job_id} ({job_name}), created by an earlier try, already Completed: not training again",
                job=latest,
            )
        why = (
            f"the task was cleared since training job {job_id} ({job_name}) was created: training again"
            if not same_generation
            else f"training job {job_id} ({job_name}) of an earlier try ended {phase}: creating a new job"
        )
        return Plan(Action.CREATE, why, body=_with_name(body, identity, retry_name(name, identity)))
    if name_holder is not None:
        holder_id = v2.job_row(name_holder)["id"]
        if on_name_conflict != "suffix":
            raise NameConflictError(name, holder_id if isinstance(holder_id, str) else None)
        return Plan(
            Action.CREATE,
            f"the name {name!r} is taken by training job {holder_id}: creating the job under a derived name",
            body=_with_name(body, identity, retry_name(name, identity)),
        )
    return Plan(Action.CREATE, f"creating training job {name!r}", body=_with_name(body, identity, name))


def retry_name(name: str, identity: TaskInstanceIdentity) -> str:
    """The name of a job a later try creates: ``<name>-<8 digest characters>-try<N>``, unique to the
    task instance and the try (mapped tasks and other runs may share ``name``), cut to 64 characters."""
    return derived_name(name, f"-{identity.digest[:8]}-try{identity.try_number}")


def _with_name(body: ValidatedJob, identity: TaskInstanceIdentity, name: str) -> ValidatedJob:
    """A copy of ``body`` with ``name`` and this task instance's marks: its annotations (the user's
    own kept) and the marker at the end of the description. Still valid: a derived name is made of
    the name's characters, hex digits and ``-try<N>`` within 64; the marks are strings, the
    description kept within 256 characters."""
    job = copy.deepcopy(body.body)
    metadata = dict(job.get("metadata") or {})
    metadata["name"] = name
    metadata["annotations"] = {**dict(metadata.get("annotations") or {}), **identity.annotations()}
    metadata["description"] = described(metadata.get("description"), identity)
    job["metadata"] = metadata
    return ValidatedJob(job)


def renamed(body: ValidatedJob, name: str) -> ValidatedJob:
    """A copy of a planned create body under another (derived, so valid) name."""
    job = copy.deepcopy(body.body)
    job["metadata"] = {**job["metadata"], "name": name}
    return ValidatedJob(job)


def _annotation(job: Mapping[str, Any], key: str) -> str | None:
    metadata = job.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    value = annotations.get(key) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) else None


def _description_mark(job: Mapping[str, Any]) -> re.Match[str] | None:
    metadata = job.get("metadata")
    description = metadata.get("description") if isinstance(metadata, Mapping) else None
    return _MARKER.search(description) if isinstance(description, str) else None


def _owner(job: Mapping[str, Any]) -> str | None:
    """The task-instance digest a job is marked with: its annotation, else its description marker."""
    mark = _description_mark(job)
    return _annotation(job, TASK_INSTANCE_ANNOTATION) or (mark["digest"] if mark else None)


def _generation(job: Mapping[str, Any]) -> str | None:
    mark = _description_mark(job)
    return _annotation(job, GENERATION_ANNOTATION) or (mark["generation"] if mark else None)


def _create_time(job: Mapping[str, Any]) -> int:
    value = v2.job_row(job)["create_time"]
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def terminate_quietly(hook: ModelArtsHook, training_job_id: str, log: _Log) -> None:
    """Terminate a job on kill: a job that already ended is fine, and an error is logged, not
    raised (Airflow is already ending the task; the message says what to check by hand)."""
    try:
        hook.terminate_training_job(training_job_id)
    except ModelArtsJobEndedError:
        log.info("Training job %s had already ended: nothing to terminate", training_job_id)
        return
    except ModelArtsError as error:
        log.warning(
            "Could not terminate training job %s (%s): it may still be running; stop it in the ModelArts console",
            training_job_id,
            error,
        )
        return
    log.info("Terminated training job %s", training_job_id)


def workspace_for(
    body: ValidatedJob, given: str | None, connection: Callable[[], str | None]
) -> tuple[ValidatedJob, str | None]:
    """The workspace the job is created and looked for in, and ``body`` carrying it: the body's
    ``metadata.workspace_id``, else the operator's ``given``, else ``connection()``'s (else none:
    the API's default, ``"0"``). The create and the lookups must agree on it, or a retry would not
    find the job an earlier try made."""
    in_body = body["metadata"].get("workspace_id")
    if in_body is not None and given is not None and in_body != given:
        raise ModelArtsValidationError(
            "job.metadata.workspace_id",
            f"the operator's workspace_id {given!r}, or left out (the two must agree)",
            in_body,
        )
    workspace = in_body or given or connection()
    if workspace is None:
        return body, None
    job = copy.deepcopy(body.body)
    job["metadata"]["workspace_id"] = workspace  # checked by the search, which comes first
    return ValidatedJob(job), workspace


def plan_try(
    hook: ModelArtsHook,
    body: ValidatedJob,
    identity: TaskInstanceIdentity,
    workspace: str | None,
    stored: Callable[[], dict[str, Any] | None],
    on_name_conflict: str,
) -> Plan:
    """Find this task instance's earlier jobs and plan the try: one search (like the user's name,
    one request per 50 matches), then ``stored()``, the job the task state store names (Airflow
    3.3+; its record's annotations win over what the search showed), then :func:`plan_submission`."""
    name = str(body["metadata"]["name"])
    candidates = list(hook.iter_training_jobs_v2(name=search_name(body), workspace_id=workspace))
    kept = stored()
    if kept is not None:
        kept_id = v2.job_row(kept)["id"]
        candidates = [job for job in candidates if v2.job_row(job)["id"] != kept_id] + [kept]
    earlier = own_jobs(candidates, identity, name)
    holder = next((job for job in candidates if v2.job_row(job)["name"] == name), None)
    return plan_submission(body, identity, earlier, holder, on_name_conflict)


def with_recorded_annotations(job: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """``job`` with the annotations a task-state record kept for it (put back if the service dropped them)."""
    metadata = dict(job.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    annotations.update({key: str(value) for key, value in (record.get("annotations") or {}).items()})
    metadata["annotations"] = annotations
    return {**job, "metadata": metadata}


def stop_earlier(hook: ModelArtsHook, plan: Plan, terminate_on_kill: bool, log: _Log) -> None:
    """Stop this task instance's earlier jobs that are still active (:attr:`Plan.stop`) before
    training again; with ``terminate_on_kill`` off, raise :class:`EarlierJobActiveError` instead."""
    for job in plan.stop:
        row = v2.job_row(job)
        if not terminate_on_kill:
            raise EarlierJobActiveError(job)
        log.info(
            "Stopping training job %s (%s), created by this task before it was cleared and still %s: "
            "a task instance never has two active jobs",
            row["id"],
            row["name"],
            v2.phase_of(job) or "active",
        )
        try:
            hook.terminate_training_job(str(row["id"]))
        except (ModelArtsJobEndedError, ModelArtsNotFoundError):
            log.info("Training job %s had ended meanwhile", row["id"])


def submit(
    hook: ModelArtsHook, plan: Plan, name: str, identity: TaskInstanceIdentity, on_name_conflict: str, log: _Log
) -> tuple[dict[str, Any], dict[str, str]]:
    """Carry out a plan: the job (created, or the earlier try's) and the marks it was created with.

    ``name`` is the user's job name. A name taken between the lookup and the create (mapped tasks
    sharing a name run in parallel) is what ``on_name_conflict`` says for a name taken by another
    job: fail, or a name derived from ``name``.
    """
    if plan.action is not Action.CREATE:
        assert plan.job is not None
        sent = (plan.job.get("metadata") or {}).get("annotations") or {}
        return plan.job, {key: sent[key] for key in OWN_ANNOTATIONS if key in sent}
    body = plan.body
    assert body is not None
    try:
        job = hook.create_training_job(body)
    except ModelArtsDuplicateJobNameError:
        if on_name_conflict != "suffix":
            raise
        body = renamed(body, retry_name(name, identity))
        log.info("The name %r was taken meanwhile: creating %r", name, body["metadata"]["name"])
        job = hook.create_training_job(body)
    sent = body["metadata"]["annotations"]
    return job, {key: sent[key] for key in OWN_ANNOTATIONS if key in sent}
