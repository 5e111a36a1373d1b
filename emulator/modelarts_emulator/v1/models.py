"""The emulated project's training jobs: timelines, the job store and its list queries.

A version's status is not stored but computed from its *timeline*, a list of
``(status_code, duration_seconds)`` steps that starts at the version's start instant; the last
step's duration may be ``None`` (it holds forever). The emulated time elapsed since the start is
``offset + (monotonic_now - anchor) * speed``: ``offset`` lets a version be created "already
running for a while", ``speed`` lets a demo run a one-minute job in three seconds.

The API reports times on the wall clock only: ``start_time`` is when the timeline began, and
``duration`` the real span since then (seeded history as it is, the rest divided by ``speed``),
so ``start_time + duration`` is when the version reached its terminal status.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.tables import ENGINES
from modelarts_emulator.v1.spec import (
    ORDER_DEFAULT,
    PAGE_DEFAULT,
    PER_PAGE_DEFAULT,
    SORT_KEY_DEFAULT,
    SORT_KEYS,
    STATUS_CODES,
    WORKSPACE_DEFAULT,
    is_terminal,
)

TimelineStep = tuple[int, float | None]
Timeline = tuple[TimelineStep, ...]

# Sort keys whose value changes over time: they cannot be served from the sort cache.
DYNAMIC_SORT_KEYS = frozenset({"status", "duration"})


def normalize_timeline(raw: Iterable[Sequence[Any]]) -> Timeline:
    """Validate a timeline given as ``[(status, seconds_or_None), ...]`` (lists from JSON too).

    :raises ValueError: on an empty timeline, an unknown status, a non-positive duration or a
        ``None`` duration before the last step (the steps after it could never be reached).
    """
    steps: list[TimelineStep] = []
    for item in raw:
        if len(item) != 2:
            raise ValueError(f"timeline step {item!r} is not a (status, duration) pair")
        status, duration = item
        if isinstance(status, bool) or not isinstance(status, int) or status not in STATUS_CODES:
            raise ValueError(f"timeline status {status!r} is not a status code 0-22")
        if duration is not None:
            if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
                raise ValueError(f"timeline duration {duration!r} must be a positive number or None")
            duration = float(duration)
        steps.append((status, duration))
    if not steps:
        raise ValueError("a timeline needs at least one step")
    if any(duration is None for _, duration in steps[:-1]):
        raise ValueError("only the last timeline step may have no duration")
    return tuple(steps)


def step_starts(timeline: Timeline) -> tuple[float, ...]:
    """Emulated second at which each step begins (the first begins at 0)."""
    starts = [0.0]
    for _, duration in timeline[:-1]:
        starts.append(starts[-1] + (duration or 0.0))
    return tuple(starts)


@dataclass(slots=True)
class Version:
    """One version of a training job. ``profile`` seeds its descriptive fields (see catalog)."""

    version_id: int
    version_name: str
    pre_version_id: int
    timeline: Timeline
    starts: tuple[float, ...]
    offset: float
    anchor: float
    create_ms: int
    start_ms: int
    engine: int
    spec: int
    profile: int

    def state(self, now: float, speed: float) -> tuple[int, int]:
        """``(status, duration_ms)`` at monotonic time ``now``.

        The duration is frozen once a terminal status is reached: it is the time spent before it.
        It is real time, as ``start_time`` is (see :meth:`wall_offset_ms`): at ``speed`` 20 a
        version that takes 60 emulated seconds reports 3,000 ms.
        """
        elapsed = max(0.0, self.offset + (now - self.anchor) * speed)
        index = max(0, bisect.bisect_right(self.starts, elapsed) - 1)
        status = self.timeline[index][0]
        if is_terminal(status):
            elapsed = self.starts[index]
        return status, self.wall_offset_ms(elapsed, speed)

    def wall_offset_ms(self, moment: float, speed: float) -> int:
        """Real milliseconds from the version's start (``start_ms``) to the emulated second
        ``moment`` of its timeline: seeded history (before ``offset``) is kept as it is, the rest
        runs ``speed`` times faster. Each part is rounded as ``start_ms`` and the store's
        ``wall_ms`` are, so ``start_ms`` plus this is exactly the wall instant (and a manual
        clock's instants stay exact)."""
        ahead = moment - self.offset
        if ahead <= 0:
            return round(moment * 1000)
        return round(self.offset * 1000) + round(ahead / speed * 1000)

    def restart(self, timeline: Timeline, now: float, wall_ms: int) -> None:
        """Replace the timeline and start it over at this instant."""
        self.timeline = timeline
        self.starts = step_starts(timeline)
        self.offset = 0.0
        self.anchor = now
        self.start_ms = wall_ms


@dataclass(slots=True)
class Job:
    """A training job; ``versions`` are kept oldest first."""

    job_id: int
    job_name: str
    job_desc: str
    workspace_id: str
    create_ms: int
    versions: list[Version] = field(default_factory=list)
    name_lower: str = ""

    def __post_init__(self) -> None:
        self.name_lower = self.job_name.lower()

    @property
    def latest(self) -> Version:
        return self.versions[-1]

    def find_version(self, version_id: int) -> Version | None:
        for version in self.versions:
            if version.version_id == version_id:
                return version
        return None


@dataclass(frozen=True)
class ListQuery:
    """The validated list-jobs filters, with the documented defaults."""

    status: int | None = None
    per_page: int = PER_PAGE_DEFAULT
    page: int = PAGE_DEFAULT
    sort_by: str = SORT_KEY_DEFAULT
    order: str = ORDER_DEFAULT
    search_content: str = ""
    workspace_id: str = WORKSPACE_DEFAULT


class JobStore:
    """Thread-safe store of the project's jobs with cached orderings for the list endpoint.

    Orderings on static keys are computed once per (key, order) and kept until a job is added,
    changed or deleted, so a list request costs O(page) instead of O(N log N).
    """

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        self.clock = clock
        self.anchor = clock()
        self.anchor_wall_ms = int(time.time() * 1000)
        self.lock = threading.RLock()
        self.jobs: dict[int, Job] = {}
        self.workspaces: set[str] = {WORKSPACE_DEFAULT}
        self.next_job_id = 1
        self.next_version_id = 100001
        self._sort_cache: dict[tuple[str, str], list[Job]] = {}

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def wall_ms(self, now: float | None = None) -> int:
        """Epoch milliseconds of a monotonic instant (real time, not emulated)."""
        moment = self.now() if now is None else now
        return self.anchor_wall_ms + round((moment - self.anchor) * 1000)

    # -- mutation -----------------------------------------------------------------------------

    def allocate_version_id(self) -> int:
        with self.lock:
            version_id = self.next_version_id
            self.next_version_id += 1
            return version_id

    def add(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.job_id] = job
            self.workspaces.add(job.workspace_id)
            self.next_job_id = max(self.next_job_id, job.job_id + 1)
            self._sort_cache.clear()

    def touch(self) -> None:
        """Forget cached orderings after a change that can affect a sort key."""
        with self.lock:
            self._sort_cache.clear()

    def delete(self, job_id: int) -> bool:
        with self.lock:
            removed = self.jobs.pop(job_id, None)
            self._sort_cache.clear()
            return removed is not None

    def get(self, job_id: int) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def total(self) -> int:
        with self.lock:
            return len(self.jobs)

    # -- queries ------------------------------------------------------------------------------

    def _static_key(self, key: str) -> Callable[[Job], Any]:
        if key == "job_name":
            return lambda job: job.job_name
        if key == "job_desc":
            return lambda job: job.job_desc
        if key == "version_count":
            return lambda job: len(job.versions)
        if key == "create_time":
            return lambda job: job.create_ms
        if key == "engine_type":
            return lambda job: ENGINES[job.latest.engine].engine_type
        raise ValueError(f"not a static sort key: {key}")

    def _ordered(self, key: str, order: str, now: float) -> list[Job]:
        """Jobs sorted by ``key``; ties keep job_id ascending in both orders (stable sort)."""
        if key not in SORT_KEYS:
            raise ValueError(f"unknown sort key {key}")
        by_id = sorted(self.jobs.values(), key=lambda job: job.job_id)
        if key in DYNAMIC_SORT_KEYS:
            # Status and duration move with time, so they are sorted per request.
            position = 0 if key == "status" else 1
            values = {job.job_id: job.latest.state(now, self.speed)[position] for job in by_id}
            return sorted(by_id, key=lambda job: values[job.job_id], reverse=order == "desc")
        cached = self._sort_cache.get((key, order))
        if cached is None:
            cached = sorted(by_id, key=self._static_key(key), reverse=order == "desc")
            self._sort_cache[(key, order)] = cached
        return cached

    def list_page(self, query: ListQuery) -> tuple[list[tuple[Job, int, int]], int]:
        """The requested page as ``(job, status, duration_ms)`` triples, and the total job count.

        Filtering stops as soon as the page is full: the response has no filtered total.
        """
        with self.lock:
            now = self.now()
            ordered = self._ordered(query.sort_by, query.order, now)
            needle = query.search_content.lower()
            skip = (query.page - 1) * query.per_page
            page: list[tuple[Job, int, int]] = []
            for job in _matching(ordered, query.workspace_id, needle):
                status, duration = job.latest.state(now, self.speed)
                if query.status is not None and status != query.status:
                    continue
                if skip:
                    skip -= 1
                    continue
                page.append((job, status, duration))
                if len(page) == query.per_page:
                    break
            return page, len(self.jobs)


def _matching(jobs: Iterable[Job], workspace_id: str, needle: str) -> Iterator[Job]:
    for job in jobs:
        if job.workspace_id == workspace_id and (not needle or needle in job.name_lower):
            yield job
