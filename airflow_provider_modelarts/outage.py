"""Riding out API outages during a wait: ``max_outage``, shared by every mode of a wait.

A check that fails with a transient error (5xx, 429, timeout, connection error) once the hook's
own retries are spent does not end a wait at once: the wait keeps checking, logging each failure,
until the failures have gone on for ``max_outage`` (counted from the first failed check of the
run of failures). Then the wait fails through the normal path, so the task's retries apply. Any
successful check ends the outage. Errors no retry can fix (authentication, validation, not found)
are never ridden out: :meth:`~airflow_provider_modelarts.job_wait.StatusWait.judge_error` tells
them apart before this module is asked.

The outage start is a Unix timestamp, so it survives a reschedule (in the task state store), a
deferral (in the trigger's kwargs) and a trigger re-created from its serialised form.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta

from airflow_provider_modelarts.exceptions import ModelArtsValidationError

#: How long a wait rides out consecutive failed checks by default.
DEFAULT_MAX_OUTAGE = timedelta(minutes=15)


def wall_clock() -> float:
    """Now, as the Unix time outages are measured in (tests replace it to compress time)."""
    return time.time()


def validate_max_outage(value: object, parameter: str = "max_outage") -> float:
    """``max_outage`` in seconds: a ``timedelta`` or a number of seconds, 0 or more (0: never ride out)."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    raise ModelArtsValidationError(
        parameter, "a timedelta or a number of seconds, 0 or more (0 never rides out an outage)", value
    )


@dataclass
class Outage:
    """The run of consecutive failed checks a wait is in, if any.

    :param max_outage: the longest run it rides out, in seconds.
    :param started_at: when the run's first failed check happened (Unix time); ``None`` when the
        last check succeeded.
    """

    max_outage: float
    started_at: float | None = None

    def failed_check(self, now: float) -> tuple[bool, str]:
        """Record a failed check at ``now``: whether to ride it out, and how long the outage has lasted."""
        if self.started_at is None or self.started_at > now:
            self.started_at = now
        lasted = now - self.started_at
        limit = f"max_outage {self.max_outage:g} s"
        if lasted < self.max_outage:
            return True, f"the API has been failing for {lasted:.1f} s; riding it out (up to {limit})"
        if self.max_outage == 0:
            return False, "max_outage is 0, so no outage is ridden out"
        return False, f"the API has been failing for {lasted:.1f} s, reaching {limit}"

    def succeeded_check(self) -> bool:
        """Record a successful check; True when it ended an outage."""
        ended = self.started_at is not None
        self.started_at = None
        return ended
