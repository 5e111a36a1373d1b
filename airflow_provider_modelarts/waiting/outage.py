"""Riding out API outages during a wait: ``max_outage``, shared by every mode of a wait.

A transient failure is ridden out until failures have lasted ``max_outage``; errors no retry can
fix never are. The start survives reschedules, deferrals and re-created triggers. See
``docs/waiting-and-outages.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.version_compat import task_state_store

if TYPE_CHECKING:
    from airflow.sdk import Context

#: How long a wait rides out consecutive failed checks by default.
DEFAULT_MAX_OUTAGE = timedelta(minutes=15)

# The task-state key prefix (one key per watched job) of the current outage's start. Task state
# survives reschedules (XCom does not); the try number scopes it, so a task retry after an outage
# that failed the try starts with a fresh max_outage.
OUTAGE_STARTED_KEY = "modelarts_outage_started_at"


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


def record_failed_check(outage: Outage, message: str) -> tuple[bool, str]:
    """Record a check that failed with ``message`` now: whether the wait rides it out, and what
    to say, the same in every mode (a warning to log, or the message the wait fails with)."""
    rides_out, how_long = outage.failed_check(wall_clock())
    return rides_out, f"{message}: {how_long}" if rides_out else f"{message} ({how_long})"


def outage_key(job: object) -> str:
    """The task-state key of the outage of the wait for ``job``."""
    return f"{OUTAGE_STARTED_KEY}:{job}"


def load_outage(context: Context, key: str, max_outage: float, sensor: object) -> Outage:
    """The outage the earlier checks of this try of ``sensor`` left under ``key``, if any.

    Read from the task state store (it survives reschedules) or, where Airflow has none, from
    the sensor object (which lives for one try in poke mode and through a deferral's first check,
    not across reschedules).
    """
    store = task_state_store(context)
    stored = store.get(key) if store is not None else _without_store(sensor).get(key)
    started = None
    if isinstance(stored, dict) and stored.get("try_number") == _try_number(context):
        started = stored.get("started_at")
    return Outage(max_outage, started if isinstance(started, (int, float)) else None)


def save_outage(context: Context, key: str, outage: Outage, sensor: object) -> None:
    """Keep ``outage`` for the next check of this try of ``sensor`` (see :func:`load_outage`)."""
    store = task_state_store(context)
    if store is None:
        records = _without_store(sensor)
        if outage.started_at is None:
            records.pop(key, None)
        else:
            records[key] = {"started_at": outage.started_at, "try_number": _try_number(context)}
    elif outage.started_at is None:
        store.delete(key)
    else:
        store.set(key, {"started_at": outage.started_at, "try_number": _try_number(context)})


def _without_store(sensor: object) -> MutableMapping[str, Any]:
    """The sensor's own outage records, for an Airflow without a task state store."""
    records: MutableMapping[str, Any] = sensor.__dict__.setdefault("_outage_by_key", {})
    return records


def _try_number(context: Context) -> int:
    return int(getattr(context["ti"], "try_number", 0) or 0)
