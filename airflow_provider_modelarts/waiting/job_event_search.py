"""The shared search of job-event watchers: one search per connection and workspace per interval,
whatever the watchers' filters, reading back only as far as a job could have ended since the
previous round. Blocking; the trigger runs it in a worker thread.

Why this depth: the search sorts by ``create_time`` only, so a job that ends now may be older than
the newest page. A round reads pages newest first until it passes both the previous round's newest
job (everything newer is new) and the oldest job the previous round saw in progress (it may have
ended since). The first round seeds that set with an in-progress search, and reads back over the
jobs created in the last day (or the lookback, if longer), so watchers that resume from a stored
watermark after a restart see what ended meanwhile. A watcher that joins a group after its first
round (a late subscriber: re-created while the group ran on, or slower than the others after a
restart) reads back the same way once on its own (:func:`deep_round`).

A job that ends without ever running (``Abnormal``/``CreateFailed``, ``Failed`` from ``Pending``)
reports ``start_time`` 0, so it has no end to order it by: a round records when it saw such a job
final after the previous round saw it in progress (:attr:`SearchRound.observed_ends`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.cloud.v2.phases import IN_PROGRESS_PHASES
from airflow_provider_modelarts.waiting.job_events import WATCHABLE_PHASES, never_ran

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook


#: How far back (by creation time) a group's first round reads: a restarted triggerer's watchers
#: resume from their stored watermarks, and a job that ended while it was down may have been created
#: long before. Jobs created earlier than this that ended during the downtime do not fire.
FIRST_ROUND_HORIZON_MS = 24 * 3600 * 1000
#: Read this much further back than strictly needed: a job may show up in the search a little after
#: its creation time (and clocks differ), and a job seen twice is harmless (the watermark).
CREATION_MARGIN_MS = 60_000


def _create_ms(job: Mapping[str, Any]) -> int | None:
    metadata = job.get("metadata")
    value = metadata.get("create_time") if isinstance(metadata, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_IN_PROGRESS = frozenset(phase.value for phase in IN_PROGRESS_PHASES)


def _status(job: Mapping[str, Any]) -> Mapping[str, Any]:
    status = job.get("status")
    return status if isinstance(status, Mapping) else {}


def _in_progress(job: Mapping[str, Any]) -> bool:
    return _status(job).get("phase") in _IN_PROGRESS


@dataclass(frozen=True)
class SearchRound:
    """What one round of the shared search hands every watcher of its group.

    :param jobs: the jobs read, newest first.
    :param deep: whether it read back as a group's first round does (a day, or the lookback).
    :param observed_ends: ``{job id: epoch ms}`` of the jobs that ended without running and were
        seen in progress by the round before: when this round saw them final.
    :param at_ms: when the round read the jobs (epoch ms).
    """

    jobs: list[dict[str, Any]]
    deep: bool
    observed_ends: Mapping[str, int]
    at_ms: int

    def joined(self, later: SearchRound) -> SearchRound:
        """This deep round and a later round of the group, as one deep round: the later one's view
        of a job wins."""
        return SearchRound(
            [*self.jobs, *later.jobs],
            True,
            {**self.observed_ends, **later.observed_ends},
            max(self.at_ms, later.at_ms),
        )


@dataclass
class JobEventSearch:
    """What one group of watchers remembers between rounds (in memory: a new triggerer starts over,
    and the watermark, kept elsewhere, decides what fires).

    :param workspace_id: the workspace searched (``None``: the connection's).
    :param lookback_ms: how far back the first round reads, by creation time.
    """

    workspace_id: str | None
    lookback_ms: int = 0
    newest_ms: int | None = None
    in_progress: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    def round(self, hook: ModelArtsHook, now_ms: int) -> SearchRound:
        """The jobs a watcher must look at this round (newest first)."""
        before = hook.request_count
        deep = self.newest_ms is None
        if self.newest_ms is None:
            seed = hook.iter_training_jobs_v2(
                phase=[p.value for p in IN_PROGRESS_PHASES], workspace_id=self.workspace_id
            )
            self.in_progress = {str(job["metadata"]["id"]): c for job in seed if (c := _create_ms(job)) is not None}
            self.newest_ms = now_ms - max(self.lookback_ms, FIRST_ROUND_HORIZON_MS)
        floor = min([self.newest_ms, *self.in_progress.values()]) - CREATION_MARGIN_MS
        seen: list[dict[str, Any]] = []
        # Lazy pages: the loop stops fetching once it passes the floor.
        for job in hook.iter_training_jobs_v2(workspace_id=self.workspace_id):
            created = _create_ms(job)
            if created is not None and created < floor:
                break
            seen.append(job)
        self.newest_ms = max([self.newest_ms, *(c for job in seen if (c := _create_ms(job)) is not None)])
        observed_ends = {
            job_id: now_ms
            for job in seen
            if (job_id := str(job["metadata"]["id"])) in self.in_progress
            and _status(job).get("phase") in WATCHABLE_PHASES
            and never_ran(job)
        }
        self.in_progress = {
            str(job["metadata"]["id"]): c for job in seen if _in_progress(job) and (c := _create_ms(job)) is not None
        }
        self.requests += hook.request_count - before
        return SearchRound(seen, deep, observed_ends, now_ms)


def deep_round(hook: ModelArtsHook, workspace_id: str | None, lookback_ms: int, now_ms: int) -> SearchRound:
    """A first round of a group of its own: what a watcher that joins a group late reads once."""
    return JobEventSearch(workspace_id, lookback_ms).round(hook, now_ms)
