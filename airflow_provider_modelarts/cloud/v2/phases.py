"""The phases of a v2 job (``status.phase``): the documented values in lifecycle order, which
of them are in progress, a success, a failure or a stop, and how a phase given by a user or
read from the API is parsed and checked (an undocumented phase counts as in progress).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from airflow_provider_modelarts.cloud.v2._read import _mapping
from airflow_provider_modelarts.exceptions import ModelArtsValidationError


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
