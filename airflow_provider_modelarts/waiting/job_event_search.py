"""The shared search of job-event watchers: one search per connection and workspace per interval,
whatever the watchers' filters, reading back only as far as a job could have ended since the
previous round. Blocking; the trigger runs it in a worker thread.

Why this depth: the search sorts by ``create_time`` only, so a job that ends now may be older than
the newest page. A round reads pages newest first until it passes both the previous round's newest
job (everything newer is new) and the oldest job the previous round saw in progress (it may have
ended since). The first round seeds that set with an in-progress search, and reads back over the
jobs created in the last day (or the lookback, if longer), so watchers that resume from a stored
watermark after a restart see what ended meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.cloud.v2.phases import IN_PROGRESS_PHASES

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


def _in_progress(job: Mapping[str, Any]) -> bool:
    status = job.get("status")
    phase = status.get("phase") if isinstance(status, Mapping) else None
    return phase in {p.value for p in IN_PROGRESS_PHASES}


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

    def round(self, hook: ModelArtsHook, now_ms: int) -> list[dict[str, Any]]:
        """The jobs a watcher must look at this round (newest first)."""
        before = hook.request_count
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
        self.in_progress = {
            str(job["metadata"]["id"]): c for job in seen if _in_progress(job) and (c := _create_ms(job)) is not None
        }
        self.requests += hook.request_count - before
        return seen
