"""Which v2 training jobs a job-event watcher fires for, and the watermark that makes each fire at
most once: pure functions, no I/O, tested under a fake clock.

A watcher (``ModelArtsTrainingJobEventTrigger``) watches the jobs of one connection and workspace
and fires once per job that reaches one of its phases. Every round of the shared search hands it the
jobs seen; :func:`select_events` picks the new ones and moves the watermark.

The watermark is a horizon, in epoch milliseconds, and the ids of the jobs fired that ended after it.
A job fires when it is in a watched phase, its name matches, it ended after the horizon, and it has
not fired. The first horizon is the moment the watcher first looked (minus ``lookback``): a job that
ended before does not fire. The horizon then trails the newest end fired by
:data:`LATE_END_GRACE_MS`, so a job whose end reaches the search late (after a later job's end has
fired: its phase updated late, or it sat on a page the round did not reach) still fires, once; ties
need nothing special. The state stays small: the jobs that ended within that window. It is kept
where Airflow keeps a watcher's state (the asset state store on 3.3+); see docs/event-triggers.md for
the rule below 3.3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import pendulum

from airflow_provider_modelarts.cloud.v2.phases import TERMINAL_PHASES
from airflow_provider_modelarts.cloud.v2.rows import output_obs_urls

#: How long after the newest end fired a job with an earlier end still fires (its end reached the
#: search late). Older ends are covered by the horizon.
LATE_END_GRACE_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class Watermark:
    """Which job ends have fired.

    :param end_ms: the horizon, epoch milliseconds: jobs that ended at or before it fired, or ended
        before the watcher first looked.
    :param fired: ``(job id, end_ms)`` of the jobs fired that ended after the horizon.
    """

    end_ms: int
    fired: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    def covers(self, end_ms: int, job_id: str) -> bool:
        return end_ms <= self.end_ms or any(fired_id == job_id for fired_id, _ in self.fired)

    def after(self, end_ms: int, job_id: str) -> Watermark:
        """The watermark once ``job_id``, which ended at ``end_ms``, has fired."""
        if self.covers(end_ms, job_id):
            return self
        fired = self.fired | {(job_id, end_ms)}
        horizon = max(self.end_ms, max(end for _, end in fired) - LATE_END_GRACE_MS)
        return Watermark(horizon, frozenset(pair for pair in fired if pair[1] > horizon))

    def to_json(self) -> dict[str, Any]:
        return {"end_ms": self.end_ms, "fired": {job_id: end for job_id, end in sorted(self.fired)}}

    @classmethod
    def from_json(cls, value: Any) -> Watermark | None:
        """The stored form, or ``None`` for anything else (nothing stored yet, or not ours)."""
        if not isinstance(value, Mapping) or not _is_int(value.get("end_ms")):
            return None
        fired = value.get("fired")
        pairs = fired.items() if isinstance(fired, Mapping) else ()
        return cls(value["end_ms"], frozenset((str(job_id), end) for job_id, end in pairs if _is_int(end)))


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


#: The phases a watcher may fire on: the ends of a job (a phase a job only passes through has no
#: time the search reports, so "reached" could not be told apart from "seen").
WATCHABLE_PHASES: frozenset[str] = frozenset(phase.value for phase in TERMINAL_PHASES)


def never_ran(job: Mapping[str, Any]) -> bool:
    """Whether the job reports no start of Running (``start_time`` 0 or missing)."""
    status = job.get("status")
    start = status.get("start_time") if isinstance(status, Mapping) else None
    return not (_is_int(start) and start > 0)


def end_ms(job: Mapping[str, Any], observed_ends: Mapping[str, int] | None = None) -> int | None:
    """When the job ended: ``status.start_time + status.duration`` (epoch and duration in ms); for a
    job that never ran (``start_time`` 0), when the search saw it end (``observed_ends``, by job
    id), if it did; else ``None`` (see :func:`select_events`)."""
    status = job.get("status")
    metadata = job.get("metadata")
    if not isinstance(status, Mapping) or not isinstance(metadata, Mapping):
        return None
    if not never_ran(job):
        start, duration = status["start_time"], status.get("duration")
        return start + duration if _is_int(duration) else None
    return (observed_ends or {}).get(str(metadata.get("id")))


def name_matches(name: str, name_filter: str | None) -> bool:
    """The search API's ``like`` on names: the filter is a substring of the name."""
    return name_filter is None or name_filter in name


def event_payload(job: Mapping[str, Any], end: int, console_url: str | None) -> dict[str, Any]:
    """What the scheduled DAG reads from ``triggering_asset_events``: small, JSON, no secret."""
    metadata = job.get("metadata") if isinstance(job.get("metadata"), Mapping) else {}
    status = job.get("status") if isinstance(job.get("status"), Mapping) else {}
    assert isinstance(metadata, Mapping) and isinstance(status, Mapping)
    return {
        "training_job_id": metadata.get("id"),
        "name": metadata.get("name"),
        "phase": status.get("phase"),
        "end_time": pendulum.from_timestamp(end / 1000, tz="UTC").isoformat(),
        "end_time_ms": end,
        "outputs": output_obs_urls(job),
        "console_url": console_url,
    }


def select_events(
    jobs: Iterable[Mapping[str, Any]],
    phases: frozenset[str],
    name_filter: str | None,
    watermark: Watermark,
    observed_ends: Mapping[str, int] | None = None,
    seen_at_ms: int | None = None,
) -> tuple[list[tuple[int, Mapping[str, Any]]], Watermark]:
    """The jobs to fire for, oldest end first, and the watermark after them.

    A job seen twice in one round (two pages) fires once. A job that never ran has no end of its
    own: it ends when the search saw it end (``observed_ends``), else, if it was created after the
    horizon, when this round saw it (``seen_at_ms``). Either is recent, so the job stays among the
    fired ids until the horizon passes it, and by then it is older than the horizon: it fires once
    whichever way a later round sees it.

    :param observed_ends: when the search saw jobs that never ran end, by job id.
    :param seen_at_ms: when this round read the jobs (epoch ms).
    """
    chosen: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for job in jobs:
        metadata = job.get("metadata")
        status = job.get("status")
        if not isinstance(metadata, Mapping) or not isinstance(status, Mapping):
            continue
        job_id, name, phase = metadata.get("id"), metadata.get("name"), status.get("phase")
        end = end_ms(job, observed_ends)
        created = metadata.get("create_time")
        if end is None and never_ran(job) and seen_at_ms is not None and _is_int(created):
            end = seen_at_ms if created > watermark.end_ms else None
        if not isinstance(job_id, str) or not isinstance(name, str) or end is None or phase not in phases:
            continue
        if name_matches(name, name_filter) and not watermark.covers(end, job_id):
            chosen[job_id] = (end, job)
    ordered = sorted(chosen.values(), key=lambda item: (item[0], str(item[1]["metadata"]["id"])))
    for end, job in ordered:
        watermark = watermark.after(end, str(job["metadata"]["id"]))
    return ordered, watermark
