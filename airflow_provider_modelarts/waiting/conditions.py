"""What "waiting for a training job" means, shared by the sensor (poke and reschedule) and the
trigger (deferrable), so every mode reaches the same verdict, with the same message, from the same
status or error.

The rules are generic over how an API version writes its statuses (:class:`StatusScheme`): the v1
API uses integer codes, the v2 API string phases. :class:`WaitCondition` is the v1 condition.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from airflow_provider_modelarts.cloud import v2 as v2_api
from airflow_provider_modelarts.cloud.v1 import (
    FAILURE_STATUSES,
    is_terminal_code,
    job_with_status_name,
    status_name,
    validate_id,
    validate_status_set,
)
from airflow_provider_modelarts.cloud.validation import validate_optional_positive_int
from airflow_provider_modelarts.exceptions import (
    ModelArtsError,
    ModelArtsNotFoundError,
    ModelArtsPermanentError,
    ModelArtsValidationError,
)

Verdict = Literal["success", "failed", "waiting"]
# How a check that raised ends a wait: "failed" when no retry can fix it, "error" when the
# task's own retries may (the hook's retries of the call are spent by then).
ErrorVerdict = Literal["failed", "error"]
StatusT = TypeVar("StatusT", bound=Hashable)

# Errors that a retry cannot fix: wrong credentials or permissions, a bad parameter or
# connection, a request the service refused as such, a job or version that does not exist.
PERMANENT_ERRORS: tuple[type[ModelArtsError], ...] = (ModelArtsPermanentError,)


def is_permanent(error: BaseException) -> bool:
    """True for an error that ends a wait for good: retrying the check would fail the same way."""
    return isinstance(error, PERMANENT_ERRORS)


@dataclass(frozen=True)
class StatusScheme(Generic[StatusT]):
    """How one API version writes job statuses: their names, order and which ones are final.

    :param label: a status as messages show it (v1: ``10 (JOBSTAT_COMPLETED)``).
    :param name: a status's name (v1: ``JOBSTAT_COMPLETED``).
    :param is_terminal: whether a job in that status can still change.
    :param sort_key: orders statuses in messages and trigger kwargs.
    :param default_failures: the statuses that fail a wait unless the user chooses others.
    :param kind: what the API calls a status (v2: ``phase``), as messages say it; ``kinds``, the plural.
    """

    label: Callable[[StatusT], str]
    name: Callable[[StatusT], str]
    is_terminal: Callable[[StatusT], bool]
    sort_key: Callable[[StatusT], Any]
    default_failures: frozenset[StatusT]
    kind: str = "status"
    kinds: str = "statuses"

    def ordered(self, statuses: Iterable[StatusT]) -> list[StatusT]:
        return sorted(statuses, key=self.sort_key)

    def names(self, statuses: Iterable[StatusT]) -> str:
        return ", ".join(self.name(status) for status in self.ordered(statuses))

    def split(
        self,
        target: frozenset[StatusT],
        failure: frozenset[StatusT] | None,
        target_parameter: str,
        failure_parameter: str,
    ) -> frozenset[StatusT]:
        """The failure statuses that go with ``target``.

        Left unset, they are the defaults minus the targets: waiting for a status that is a failure
        by default (e.g. for a job to fail) is what the user asked for, not a conflict. Set by the
        user, they must not overlap the targets, and the error names both parameters.
        """
        if failure is None:
            return self.default_failures - target
        overlap = target & failure
        if overlap:
            raise ModelArtsValidationError(
                failure_parameter,
                f"{self.kinds} that are not also in {target_parameter} (overlap: {self.names(overlap)}); "
                f"remove each from {failure_parameter} or from {target_parameter}",
                self.ordered(failure),
            )
        return failure


def _v1_label(code: int) -> str:
    return f"{code} ({status_name(code)})"


V1_STATUSES: StatusScheme[int] = StatusScheme(
    label=_v1_label,
    name=status_name,
    is_terminal=is_terminal_code,
    sort_key=int,
    default_failures=frozenset(int(status) for status in FAILURE_STATUSES),
)


def status_codes(statuses: Iterable[int]) -> list[int]:
    """Sorted plain ints: what goes into trigger kwargs and messages."""
    return sorted(int(status) for status in statuses)


class StatusWait(ABC, Generic[StatusT]):
    """The verdict rules of a wait, for any status type: which statuses end it, and how.

    Subclasses hold ``target_statuses`` and ``failure_statuses`` and say what is watched
    (:attr:`subject`) and how its statuses read (:attr:`scheme`).
    """

    target_statuses: frozenset[StatusT]
    failure_statuses: frozenset[StatusT]

    @property
    @abstractmethod
    def scheme(self) -> StatusScheme[StatusT]:
        """How the watched API writes statuses."""

    @property
    @abstractmethod
    def subject(self) -> str:
        """What is watched, as messages name it (e.g. ``training job 7 (version 70)``)."""

    def describe(self, status: StatusT) -> str:
        return f"{self.subject} has status {self.scheme.label(status)}"

    def judge(self, status: StatusT) -> tuple[Verdict, str]:
        """The verdict for a status, and a message naming what is watched and the status."""
        description = self.describe(status)
        wanted = self.scheme.names(self.target_statuses)
        kind = self.scheme.kind
        if status in self.target_statuses:
            return "success", f"{description}: a target {kind}"
        if status in self.failure_statuses:
            return "failed", f"{description}: a failure {kind}"
        if self.scheme.is_terminal(status):
            return "failed", f"{description}: terminal, and not a target {kind} ({wanted})"
        return "waiting", f"{description}: waiting for {wanted}"

    def timeout_message(self, timeout: float, last_status: StatusT | None = None) -> str:
        """What a timed-out wait says, in every mode: the timeout, what was awaited, the last status."""
        seconds = int(timeout) if float(timeout).is_integer() else round(timeout, 3)
        wanted = self.scheme.names(self.target_statuses)
        last = "" if last_status is None else f"; last check: {self.scheme.kind} {self.scheme.label(last_status)}"
        return f"Sensor has timed out after {seconds} s waiting for {self.subject} to reach {wanted}{last}."

    def status_of(self, job: Mapping[str, Any]) -> StatusT | None:
        """The status of a job object as the API returned it (``None``: it has none yet); an API
        whose waits judge job objects (:meth:`judge_job`) supplies it."""
        raise NotImplementedError(f"{type(self).__name__} does not read statuses from job objects")

    def outcome(self, job: Mapping[str, Any]) -> str:
        """What a failure message adds about the job (empty: nothing)."""
        return ""

    def judge_job(self, job: Mapping[str, Any]) -> tuple[Verdict, str]:
        """The verdict for a job object; a failure message adds :meth:`outcome`. A job without a
        status yet is still waited for."""
        status = self.status_of(job)
        if status is None:
            wanted = self.scheme.names(self.target_statuses)
            return "waiting", f"{self.subject} has no {self.scheme.kind} yet: waiting for {wanted}"
        verdict, message = self.judge(status)
        outcome = self.outcome(job) if verdict == "failed" else ""
        return verdict, f"{message} ({outcome})" if outcome else message

    def judge_error(self, error: BaseException) -> tuple[ErrorVerdict, str]:
        """How a check that raised ``error`` ends the wait, and the message saying so.

        ``failed`` for errors no retry can fix (see :data:`PERMANENT_ERRORS`), ``error`` for the
        rest (transient errors whose retries are spent): the task's own retries may still help.
        """
        if isinstance(error, ModelArtsNotFoundError):
            return "failed", f"{self.subject} does not exist: {error}"
        if is_permanent(error):
            return "failed", f"checking {self.subject} failed, and a retry would fail the same way: {error}"
        return "error", f"checking {self.subject} failed: {error}"


@dataclass(frozen=True)
class WaitCondition(StatusWait[int]):
    """The v1 wait: the job/version to wait for, and which status codes end the wait how.

    :param job_id: the training job.
    :param version_id: the version; ``None`` until the latest version is pinned.
    :param target_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that end it with a failure. Any other terminal status also
        fails the wait, since the job can no longer reach a target status.
    """

    job_id: int
    version_id: int | None
    target_statuses: frozenset[int]
    failure_statuses: frozenset[int] = field(default_factory=lambda: V1_STATUSES.default_failures)

    @classmethod
    def validate(
        cls,
        job_id: object,
        version_id: object,
        target_statuses: object,
        failure_statuses: object,
    ) -> WaitCondition:
        """Check user values; ``failure_statuses=None`` means the defaults minus the targets."""
        target = frozenset(int(code) for code in validate_status_set(target_statuses, "target_status"))
        chosen = (
            None
            if failure_statuses is None
            else frozenset(int(code) for code in validate_status_set(failure_statuses, "failure_statuses"))
        )
        return cls(
            job_id=validate_id(job_id, "job_id"),
            version_id=validate_optional_positive_int(version_id, "version_id"),
            target_statuses=target,
            failure_statuses=V1_STATUSES.split(target, chosen, "target_status", "failure_statuses"),
        )

    @property
    def scheme(self) -> StatusScheme[int]:
        return V1_STATUSES

    @property
    def subject(self) -> str:
        version = f"version {self.version_id}" if self.version_id else "its latest version"
        return f"training job {self.job_id} ({version})"

    def status_of(self, job: Mapping[str, Any]) -> int:
        """The status code of a version detail (-1, an unknown code, when it has none)."""
        return int(job.get("status", -1))


def version_result(detail: dict[str, Any], job_id: int) -> dict[str, Any]:
    """The version detail as the sensor returns it: API fields plus job_id, job_name, status_name."""
    result = job_with_status_name(detail)
    result.setdefault("job_id", job_id)
    result.setdefault("job_name", detail.get("job_name"))
    return result


# ---------------------------------------------------------------------------------------------
# v2: string phases (Creating ... Abnormal) of jobs with UUID ids
# ---------------------------------------------------------------------------------------------

V2_PHASES: StatusScheme[str] = StatusScheme(
    label=str,
    name=str,
    is_terminal=v2_api.is_terminal_phase,
    sort_key=v2_api.phase_sort_key,
    # Failed, Abnormal and Terminated; with Completed they are the terminal phases.
    default_failures=frozenset(phase.value for phase in v2_api.FAILURE_PHASES),
    kind="phase",
    kinds="phases",
)


@dataclass(frozen=True)
class PhaseWaitCondition(StatusWait[str]):
    """The v2 wait: the training job to wait for, and which phases end the wait how.

    Phases are plain strings (the API's spelling), so they go into trigger kwargs as they are.

    :param training_job_id: the job's UUID.
    :param target_statuses: phases that end the wait successfully.
    :param failure_statuses: phases that end it with a failure. Any other terminal phase also
        fails the wait, since the job can no longer reach a target phase.
    """

    training_job_id: str
    target_statuses: frozenset[str]
    failure_statuses: frozenset[str] = field(default_factory=lambda: V2_PHASES.default_failures)

    @classmethod
    def validate(
        cls,
        training_job_id: object,
        target_phases: object = (v2_api.JobPhase.COMPLETED,),
        failure_phases: object = None,
    ) -> PhaseWaitCondition:
        """Check user values; ``failure_phases=None`` means the defaults minus the targets."""
        target = frozenset(phase.value for phase in v2_api.validate_phases(target_phases, "target_phases"))
        chosen = (
            None
            if failure_phases is None
            else frozenset(phase.value for phase in v2_api.validate_phases(failure_phases, "failure_phases"))
        )
        return cls(
            training_job_id=v2_api.validate_training_job_id(training_job_id),
            target_statuses=target,
            failure_statuses=V2_PHASES.split(target, chosen, "target_phases", "failure_phases"),
        )

    @property
    def scheme(self) -> StatusScheme[str]:
        return V2_PHASES

    @property
    def subject(self) -> str:
        return f"training job {self.training_job_id}"

    def describe(self, status: str) -> str:
        return f"{self.subject} is {status}"

    def status_of(self, job: Mapping[str, Any]) -> str | None:
        return v2_api.phase_of(job)

    def outcome(self, job: Mapping[str, Any]) -> str:
        """``secondary_phase`` and each task's exit code and message."""
        return v2_api.describe_outcome(job)
