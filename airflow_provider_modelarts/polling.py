"""Coalesced status polling: many waiting triggers, a handful of API calls.

Triggers that run in one event loop (one triggerer process) and watch jobs of the same project
through the same connection share a :class:`SharedStatusPoller`. The poller runs one *round* per
poll interval for every job/version watched at that moment, and picks the cheapest way to serve it:

* the job list, 1000 jobs per request, whose rows carry each job's latest version and its status:
  ``ceil(T / 1000)`` requests for a project of T jobs, however many triggers wait;
* or one call per job, when that is fewer requests (a few watchers in a project with many jobs):
  the version detail for a job's latest version, or the job's version list (one call per job,
  shared by everyone watching any of its versions) for older versions.

A job that the list did not show (deleted, in another workspace, or shifted between pages while the
list changed) is asked about directly, so the list is never taken as proof that a job is gone.

Correctness rules: every trigger gets its own job's status; a round's error reaches every trigger
that waited on it (as an error, never as an outcome); a trigger that is cancelled or re-created
only adds or removes its own watch; and the poller, its thread work and its HTTP session end with
its last user. Blocking HTTP runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, ClassVar

from asgiref.sync import sync_to_async

from airflow_provider_modelarts import api
from airflow_provider_modelarts.exceptions import ModelArtsNotFoundError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

WatchKey = tuple[int, int]  # (job_id, version_id)
# Lets triggers that start together (a triggerer restart, a fan-out DAG) join the first round.
FIRST_ROUND_DELAY = 0.2


@dataclass(frozen=True)
class PollerKey:
    """What makes two triggers' status checks interchangeable."""

    conn_id: str
    region: str | None
    project_id: str | None
    workspace_id: str | None
    retry_limit: int
    retry_delay: float


@dataclass
class RoundOutcome:
    """What one round found for each watch: a status snapshot or the error that stopped it."""

    number: int
    snapshots: dict[WatchKey, dict[str, Any]] = field(default_factory=dict)
    errors: dict[WatchKey, BaseException] = field(default_factory=dict)


class RoundPlanner:
    """Fetch the statuses of a set of watches with as few requests as the API allows (sync)."""

    def __init__(self, hook: ModelArtsHook) -> None:
        self.hook = hook
        # job_total_count from the last list call: how many list pages a round would cost.
        self.known_total: int | None = None

    def fetch(self, watches: Iterable[WatchKey]) -> RoundOutcome:
        watches = set(watches)
        outcome = RoundOutcome(number=0)
        latest = self._from_list({job_id for job_id, _ in watches})
        direct: dict[int, set[int]] = {}
        for job_id, version_id in watches:
            row = latest.get(job_id)
            if row is not None and row.get("version_id") == version_id:
                outcome.snapshots[(job_id, version_id)] = dict(row)
            else:
                direct.setdefault(job_id, set()).add(version_id)
        for job_id, version_ids in direct.items():
            self._fetch_job(job_id, version_ids, job_is_listed=job_id in latest, outcome=outcome)
        return outcome

    def _list_pages(self) -> int:
        return max(1, math.ceil((self.known_total or 0) / api.PER_PAGE_RANGE[1]))

    def _from_list(self, job_ids: set[int]) -> dict[int, dict[str, Any]]:
        """Latest-version rows of the jobs, read from the job list while that is the cheaper way."""
        found: dict[int, dict[str, Any]] = {}
        # create_time ascending keeps pages stable while new jobs are created (they go last).
        filters = api.JobListFilters.validate(per_page=api.PER_PAGE_RANGE[1], sort_by="create_time", order="asc")
        page = 1
        while len(found) < len(job_ids):
            pages_left = self._list_pages() - page + 1
            if pages_left >= len(job_ids) - len(found):
                break  # asking each remaining job directly costs no more
            body = self.hook.list_training_jobs_page(dataclasses.replace(filters, page=page))
            if isinstance(body.get("job_total_count"), int):
                self.known_total = body["job_total_count"]
            jobs = body.get("jobs") or []
            found.update((job["job_id"], job) for job in jobs if job.get("job_id") in job_ids)
            if len(jobs) < filters.per_page:
                break
            page += 1
        return found

    def _fetch_job(self, job_id: int, version_ids: set[int], job_is_listed: bool, outcome: RoundOutcome) -> None:
        try:
            if len(version_ids) == 1 and not job_is_listed:
                # Probably the latest version of a job the list did not cover: one detail call.
                (version_id,) = version_ids
                outcome.snapshots[(job_id, version_id)] = self.hook.get_job_version(job_id, version_id)
                return
            # Older versions: one call for all the job's versions serves every watcher of the job.
            body = self.hook.list_job_versions(job_id)
        except ModelArtsNotFoundError as error:
            for version_id in version_ids:
                outcome.errors[(job_id, version_id)] = error
            return
        by_id = {version.get("version_id"): version for version in body.get("versions") or []}
        for version_id in version_ids:
            version = by_id.get(version_id)
            if version is None:
                outcome.errors[(job_id, version_id)] = ModelArtsNotFoundError(
                    404, "", f"Training job version (ID: {version_id}) not found in job {job_id}"
                )
            else:
                outcome.snapshots[(job_id, version_id)] = {
                    "job_id": job_id,
                    "job_name": body.get("job_name"),
                    **version,
                }


def hook_for(key: PollerKey) -> ModelArtsHook:
    """The hook a poller uses: the triggers' connection, project and retry settings."""
    return ModelArtsHook(
        key.conn_id,
        region=key.region,
        project_id=key.project_id,
        workspace_id=key.workspace_id,
        retry_limit=key.retry_limit,
        retry_delay=key.retry_delay,
    )


class SharedStatusPoller:
    """One per (event loop, :class:`PollerKey`): runs rounds while anyone watches.

    Use :meth:`watching` from a trigger; it registers the watch and yields the poller, whose
    :meth:`next_status` returns the watch's snapshot from the next round.
    """

    _registry: ClassVar[dict[tuple[asyncio.AbstractEventLoop, PollerKey], SharedStatusPoller]] = {}
    _watcher_ids: ClassVar[itertools.count[int]] = itertools.count(1)

    def __init__(self, key: PollerKey, hook_factory: Callable[[PollerKey], ModelArtsHook]) -> None:
        self.key = key
        self.hook = hook_factory(key)
        self.planner = RoundPlanner(self.hook)
        self.intervals: dict[int, float] = {}  # watcher id -> its poll interval
        self.watches: dict[int, WatchKey] = {}  # watcher id -> what it watches
        self.rounds_run = 0
        self._latest: RoundOutcome | None = None
        self._round_done = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    @asynccontextmanager
    async def watching(
        cls,
        key: PollerKey,
        watch: WatchKey,
        interval: float,
        hook_factory: Callable[[PollerKey], ModelArtsHook],
    ) -> AsyncIterator[tuple[SharedStatusPoller, int]]:
        """Register a watch for the duration of the ``async with`` block."""
        loop = asyncio.get_running_loop()
        poller = cls._registry.get((loop, key))
        if poller is None:
            poller = cls(key, hook_factory)
            cls._registry[(loop, key)] = poller
        watcher_id = next(cls._watcher_ids)
        poller.watches[watcher_id] = watch
        poller.intervals[watcher_id] = interval
        poller._ensure_running()
        try:
            yield poller, watcher_id
        finally:
            poller.watches.pop(watcher_id, None)
            poller.intervals.pop(watcher_id, None)
            if not poller.watches:
                await poller._close(loop)

    @classmethod
    def active(cls) -> list[SharedStatusPoller]:
        """The pollers alive in this process (for tests and diagnostics)."""
        return list(cls._registry.values())

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"modelarts-poller-{self.key}")

    async def _run(self) -> None:
        await asyncio.sleep(FIRST_ROUND_DELAY)
        while self.watches:
            watches = set(self.watches.values())
            try:
                # asgiref's thread, not asyncio.to_thread: on Airflow 3.0 the triggerer's comms channel
                # (read by the fetch's Connection lookup) is only safe from threads asgiref started.
                outcome = await sync_to_async(self.planner.fetch, thread_sensitive=False)(watches)
            except Exception as error:  # the whole round failed: every watcher hears about it
                outcome = RoundOutcome(number=0, errors=dict.fromkeys(watches, error))
            self.rounds_run += 1
            outcome.number = self.rounds_run
            async with self._round_done:
                self._latest = outcome
                self._round_done.notify_all()
            await asyncio.sleep(min(self.intervals.values(), default=0))

    async def next_status(self, watcher_id: int, after_round: int) -> tuple[int, dict[str, Any]]:
        """The watch's snapshot from the first round numbered above ``after_round``.

        Raises the round's error for this watch (e.g. ``ModelArtsNotFoundError``, or the error that
        ended the whole round once the hook's retries were spent).
        """
        watch = self.watches[watcher_id]
        async with self._round_done:
            await self._round_done.wait_for(
                lambda: self._latest is not None and self._latest.number > after_round and self._covers(watch)
            )
            outcome = self._latest
        assert outcome is not None
        if watch in outcome.errors:
            raise outcome.errors[watch]
        return outcome.number, outcome.snapshots[watch]

    def _covers(self, watch: WatchKey) -> bool:
        latest = self._latest
        return latest is not None and (watch in latest.snapshots or watch in latest.errors)

    async def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._registry.get((loop, self.key)) is self:
            del self._registry[(loop, self.key)]
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
        await asyncio.to_thread(self.hook.close)
