"""Which v2 training jobs a job-event watcher fires for, and the watermark that makes each fire at
most once: pure functions, no I/O, tested under a fake clock.

A watcher (``ModelArtsTrainingJobEventTrigger``) watches the jobs of one connection and workspace
and fires once per job that reaches one of its phases. Every round of the shared search hands it the
jobs seen; :func:`select_events` picks the new ones and moves the watermark.

The watermark is the end of the last job fired, in epoch milliseconds, with the ids of the jobs that
ended at that same millisecond (so ties neither repeat nor get lost). A job fires when it is in a
watched phase, its name matches, and it ended after the watermark. The first watermark is the
moment the watcher first looked (minus ``lookback``): a job that ended before does not fire. It is
kept where Airflow keeps a watcher's state (the asset state store on 3.3+); see
docs/event-triggers.md for the rule below 3.3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pendulum

from airflow_provider_modelarts.cloud.v2.phases import TERMINAL_PHASES
from airflow_provider_modelarts.cloud.v2.rows import output_obs_urls


@dataclass(frozen=True)
class Watermark:
    """Jobs that ended at or before ``end_ms`` have fired, or were older than the watcher.

    :param end_ms: epoch milliseconds.
    :param ids: the jobs fired that ended exactly at ``end_ms``.
    """

    end_ms: int
    ids: frozenset[str] = field(default_factory=frozenset)

    def covers(self, end_ms: int, job_id: str) -> bool:
        return end_ms < self.end_ms or (end_ms == self.end_ms and job_id in self.ids)

    def after(self, end_ms: int, job_id: str) -> Watermark:
        if end_ms > self.end_ms:
            return Watermark(end_ms, frozenset({job_id}))
        if end_ms == self.end_ms:
            return Watermark(end_ms, self.ids | {job_id})
        return self

    def to_json(self) -> dict[str, Any]:
        return {"end_ms": self.end_ms, "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, value: Any) -> Watermark | None:
        """The stored form, or ``None`` for anything else (nothing stored yet, or not ours)."""
        if not isinstance(value, Mapping) or not isinstance(value.get("end_ms"), int):
            return None
        ids = value.get("ids")
        return cls(value["end_ms"], frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset())


#: The phases a watcher may fire on: the ends of a job (a phase a job only passes through has no
#: time the search reports, so "reached" could not be told apart from "seen").
WATCHABLE_PHASES: frozenset[str] = frozenset(phase.value for phase in TERMINAL_PHASES)


def end_ms(job: Mapping[str, Any]) -> int | None:
    """When the job ended: ``status.start_time + status.duration`` (epoch and duration in ms)."""
    status = job.get("status")
    if not isinstance(status, Mapping):
        return None
    start, duration = status.get("start_time"), status.get("duration")
    if isinstance(start, int) and isinstance(duration, int) and not isinstance(start, bool):
        return start + duration
    return None


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
) -> tuple[list[tuple[int, Mapping[str, Any]]], Watermark]:
    """The jobs to fire for, oldest end first, and the watermark after them.

    A job seen twice in one round (two pages) fires once.
    """
    chosen: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for job in jobs:
        metadata = job.get("metadata")
        status = job.get("status")
        if not isinstance(metadata, Mapping) or not isinstance(status, Mapping):
            continue
        job_id, name, phase = metadata.get("id"), metadata.get("name"), status.get("phase")
        end = end_ms(job)
        if not isinstance(job_id, str) or not isinstance(name, str) or end is None or phase not in phases:
            continue
        if name_matches(name, name_filter) and not watermark.covers(end, job_id):
            chosen[job_id] = (end, job)
    ordered = sorted(chosen.values(), key=lambda item: (item[0], str(item[1]["metadata"]["id"])))
    for end, job in ordered:
        watermark = watermark.after(end, str(job["metadata"]["id"]))
    return ordered, watermark
