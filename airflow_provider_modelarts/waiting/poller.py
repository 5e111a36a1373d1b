"""Coalesced status polling: many waiting triggers, a handful of API calls.

Triggers of one event loop that watch jobs through the same connection and project share a
:class:`SharedStatusPoller`, which runs rounds; a :class:`StatusSource`, one per API version
(``poller_v1``, ``poller_v2``), reads a round's watches. This module imports no API version.
How rounds are timed, which connection a round uses and the correctness rules: see
``docs/waiting-and-outages.md``.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Hashable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from asgiref.sync import sync_to_async

from airflow_provider_modelarts.cloud.validation import DEFAULT_RETRY_MAX_DELAY, TASK_RETRY_PARAMETERS
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

WatchT = TypeVar("WatchT", bound=Hashable)
_R = TypeVar("_R")
# Lets triggers that start together (a triggerer restart, a fan-out DAG) join the first round.
FIRST_ROUND_DELAY = 0.2
# The shortest time from the end of one round to the start of the next, in seconds. A round serves
# every trigger of the poller, so a single tiny poll_interval would otherwise make rounds run back
# to back for all of them, against the API's rate limits. Read at run time (tests may lower it).
MIN_ROUND_SPACING = 1.0


@dataclass(frozen=True)
class PollerKey:
    """What makes two triggers' status checks interchangeable (and their hooks identical)."""

    conn_id: str
    region: str | None
    project_id: str | None
    workspace_id: str | None
    retry_limit: int
    retry_delay: float
    retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY


@dataclass
class RoundOutcome(Generic[WatchT]):
    """What one round found for each watch: a status snapshot or the error that stopped it."""

    number: int
    snapshots: dict[WatchT, dict[str, Any]] = field(default_factory=dict)
    errors: dict[WatchT, BaseException] = field(default_factory=dict)


class SourceClosedError(Exception):
    """The source was closed: a round that was still running stops before its next request."""


class StatusSource(ABC, Generic[WatchT]):
    """Reads the state of a round's watches (blocking; the poller calls it in a worker thread).

    Subclasses implement :meth:`read` (calling :meth:`check_open` before each request) and
    :meth:`release`, and may override :meth:`connection_changed`. Each round starts by re-reading
    the hook's connection (:meth:`ModelArtsHook.refresh_connection`: one connection lookup per
    round, no request to ModelArts), so a round always uses the connection as it is then.

    :meth:`close` may be called from another thread while a round runs: the round then makes no
    new request (so it creates no session and fetches no token after the close), and
    the round's own thread releases the resources once it ends, so they are released exactly once
    and never while in use.
    """

    def __init__(self, hook: ModelArtsHook) -> None:
        self.hook = hook
        self._lock = threading.Lock()
        self._rounds_running = 0
        self._closed = False
        self._released = False

    def fetch(self, watches: Iterable[WatchT]) -> RoundOutcome[WatchT]:
        """One round: a snapshot or an error for every watch (errors are kept per watch)."""
        with self._lock:
            if self._closed:
                raise SourceClosedError
            self._rounds_running += 1
        try:
            # In the round's worker thread, like every other read of the connection: a lookup may
            # block (a secrets backend, or the API server from the triggerer).
            if self.hook.refresh_connection():
                self.connection_changed()
            return self.read(set(watches))
        finally:
            with self._lock:
                self._rounds_running -= 1
            self._release_if_idle()

    def close(self) -> None:
        """Stop new requests, and release the resources now or when the running round ends."""
        with self._lock:
            self._closed = True
        self._release_if_idle()

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        """Raise :class:`SourceClosedError` once closed: call before each request."""
        if self._closed:
            raise SourceClosedError

    def _release_if_idle(self) -> None:
        with self._lock:
            if not self._closed or self._rounds_running or self._released:
                return
            self._released = True
        self.release()

    def connection_changed(self) -> None:
        """Forget what was learnt through the old connection settings (another endpoint or
        project may look different). The hook has already closed its old session."""

    @abstractmethod
    def read(self, watches: set[WatchT]) -> RoundOutcome[WatchT]:
        """Read the watches' states; errors that concern only some watches go into ``errors``."""

    def release(self) -> None:
        """Close the HTTP session (called once, after the last round)."""
        self.hook.close()


def hook_for(key: PollerKey) -> ModelArtsHook:
    """The hook a poller uses: the triggers' connection, project and retry settings."""
    return ModelArtsHook(
        key.conn_id,
        region=key.region,
        project_id=key.project_id,
        workspace_id=key.workspace_id,
        retry_limit=key.retry_limit,
        retry_delay=key.retry_delay,
        retry_max_delay=key.retry_max_delay,
        # Triggers are deferred by the sensors, whose users wrote modelarts_retry_*.
        retry_parameter_names=TASK_RETRY_PARAMETERS,
    )


class BlockingRunner(Protocol):
    """Runs blocking work off the event loop (a worker thread; tests may run it inline)."""

    def __call__(self, func: Callable[[], _R], /) -> Awaitable[_R]: ...


# Builds the source of a poller from its key.
SourceFactory = Callable[[Any], "StatusSource[Any]"]


async def run_in_worker_thread(function: Callable[[], _R]) -> _R:
    """Run ``function`` in a worker thread that asgiref started, not ``asyncio.to_thread``'s.

    A round reads the Airflow connection, and on Airflow 3.0 the triggerer's channel to the
    supervisor is only safe from threads asgiref started: from ``asyncio.to_thread`` its replies
    come back out of order ("Response read out of order") and the triggerer crashes.
    """
    return await sync_to_async(function, thread_sensitive=False)()


_Joined = TypeVar("_Joined")


class _Watching(Generic[_Joined]):
    """The ``async with`` of :meth:`SharedStatusPoller.watching` and :meth:`SharedStatusPoller.watch`:
    joins on enter, leaves on exit.

    Not an ``@asynccontextmanager``: see "Why the poller's context manager is a class" in
    ``docs/waiting-and-outages.md``.
    """

    __slots__ = ("_join", "_leave", "_joined")

    def __init__(self, join: Callable[[], _Joined], leave: Callable[[_Joined], Awaitable[None]]) -> None:
        self._join = join
        self._leave = leave
        self._joined: _Joined | None = None

    async def __aenter__(self) -> _Joined:
        self._joined = joined = self._join()
        return joined

    async def __aexit__(self, *exc_info: object) -> None:
        joined, self._joined = self._joined, None
        if joined is not None:
            await self._leave(joined)


class SharedStatusPoller(Generic[WatchT]):
    """One per (event loop, key): runs rounds while anyone watches.

    Use :meth:`watching` from a trigger; it registers the watch and yields the poller, whose
    :meth:`next_status` returns the watch's snapshot from the next round that checked it.

    :param key: what the watchers share (e.g. a :class:`PollerKey`); equal keys share one poller,
        so a key must also tell apart sources that read differently (e.g. API versions).
    :param source_factory: builds the :class:`StatusSource` for the key.
    :param run_blocking: how a round runs off the event loop (default: a worker thread started by asgiref).
    """

    _registry: ClassVar[dict[tuple[asyncio.AbstractEventLoop, Hashable], SharedStatusPoller[Any]]] = {}
    _watcher_ids: ClassVar[itertools.count[int]] = itertools.count(1)

    def __init__(
        self,
        key: Hashable,
        source_factory: SourceFactory,
        *,
        run_blocking: BlockingRunner = run_in_worker_thread,
    ) -> None:
        self.key = key
        source = source_factory(key)
        if not isinstance(source, StatusSource):
            raise TypeError(f"source_factory must return a StatusSource, not {type(source).__name__}")
        self.source: StatusSource[WatchT] = source
        self.intervals: dict[int, float] = {}  # watcher id -> its poll interval
        self.watches: dict[int, WatchT] = {}  # watcher id -> what it watches
        self.rounds_run = 0
        self._run_blocking = run_blocking
        # watcher id -> the event-loop time by which a round must start that checks it.
        self._due: dict[int, float] = {}
        # When the last round ended (event-loop time): the next starts MIN_ROUND_SPACING later.
        self._last_round_end = -math.inf
        self._latest: RoundOutcome[WatchT] | None = None
        self._round_done = asyncio.Condition()
        self._schedule_changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def hook(self) -> ModelArtsHook:
        """The source's hook (its ``request_count`` shows what the rounds cost)."""
        return self.source.hook

    @property
    def planner(self) -> StatusSource[WatchT]:
        """The source (the name of the v1 source's class, ``RoundPlanner``, kept for old callers)."""
        return self.source

    @classmethod
    def watching(
        cls,
        key: Hashable,
        watch: Hashable,
        interval: float,
        source_factory: SourceFactory,
    ) -> _Watching[tuple[SharedStatusPoller[Any], int]]:
        """Register a watch for the duration of the ``async with`` block, on the shared poller
        of this event loop and key (created on first use, closed with its last watcher)."""

        def join() -> tuple[SharedStatusPoller[Any], int]:
            poller = cls._shared(asyncio.get_running_loop(), key, source_factory)
            return poller, poller._join(watch, interval)

        return _Watching(join, lambda joined: joined[0]._leave(joined[1]))

    @classmethod
    def _shared(
        cls, loop: asyncio.AbstractEventLoop, key: Hashable, source_factory: SourceFactory
    ) -> SharedStatusPoller[Any]:
        poller = cls._registry.get((loop, key))
        if poller is None:
            poller = cls._registry[(loop, key)] = cls(key, source_factory)
        return poller

    def watch(self, watch: WatchT, interval: float) -> _Watching[int]:
        """Register one watch; the poller closes when its last watch leaves."""
        return _Watching(lambda: self._join(watch, interval), self._leave)

    def _join(self, watch: WatchT, interval: float) -> int:
        watcher_id = next(self._watcher_ids)
        starting = not self.watches
        self.watches[watcher_id] = watch
        self.intervals[watcher_id] = interval
        # A new poller waits a moment for the watchers starting with it; a running one checks the
        # newcomer by its own interval at the latest (sooner if another watcher's round comes first).
        delay = min(FIRST_ROUND_DELAY, interval) if starting else interval
        self._due[watcher_id] = asyncio.get_running_loop().time() + delay
        self._schedule_changed.set()
        self._ensure_running()
        return watcher_id

    def stop_checking(self, watcher_id: int) -> None:
        """The watcher's wait has ended (it is about to leave): no round is started, or checks
        its watch, on its behalf any more, however long it takes to leave (a loaded triggerer)."""
        self._due.pop(watcher_id, None)
        self._schedule_changed.set()

    async def _leave(self, watcher_id: int) -> None:
        self.watches.pop(watcher_id, None)
        self.intervals.pop(watcher_id, None)
        self._due.pop(watcher_id, None)
        if not self.watches:
            await self._close(asyncio.get_running_loop())

    @classmethod
    def active(cls) -> list[SharedStatusPoller[Any]]:
        """The pollers alive in this process (for tests and diagnostics)."""
        return list(cls._registry.values())

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"modelarts-poller-{self.key}")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.watches:
            if not self._due:  # every watcher's wait has ended: nothing to check until one joins
                await self._sleep_until_due_or_changed(None)
                continue
            start = max(min(self._due.values()), self._last_round_end + MIN_ROUND_SPACING)
            delay = start - loop.time()
            if delay > 0:
                await self._sleep_until_due_or_changed(delay)
                continue  # watchers may have joined or left meanwhile: look again
            checked = {watcher_id: watch for watcher_id, watch in self.watches.items() if watcher_id in self._due}
            outcome = await self._round(set(checked.values()))
            # Counted from the round's end, as poke mode sleeps after each poke: a round slowed by
            # retries is not followed at once by another against the same struggling service, and
            # its watchers get to act on its outcome (and leave) before anything is sent again.
            ended = self._last_round_end = loop.time()
            for watcher_id in checked.keys() & self._due.keys():
                self._due[watcher_id] = ended + self.intervals[watcher_id]
            self.rounds_run += 1
            outcome.number = self.rounds_run
            async with self._round_done:
                self._latest = outcome
                self._round_done.notify_all()

    async def _sleep_until_due_or_changed(self, delay: float | None) -> None:
        self._schedule_changed.clear()
        # Not asyncio.wait_for: before Python 3.12 it can swallow the cancellation that closes us.
        waiter = asyncio.ensure_future(self._schedule_changed.wait())
        try:
            await asyncio.wait({waiter}, timeout=delay)
        finally:
            waiter.cancel()

    async def _round(self, watches: set[WatchT]) -> RoundOutcome[WatchT]:
        try:
            return await self._run_blocking(functools.partial(self.source.fetch, watches))
        except Exception as error:  # the source itself broke: every watcher of the round hears of it
            return RoundOutcome(number=0, errors=dict.fromkeys(watches, error))

    async def next_status(self, watcher_id: int, after_round: int) -> tuple[int, dict[str, Any]]:
        """The watch's snapshot from the first round numbered above ``after_round`` that checked it.

        Raises the round's error for this watch (e.g. ``ModelArtsNotFoundError``, or the error
        that stopped its calls once the hook's retries were spent).
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

    def _covers(self, watch: WatchT) -> bool:
        latest = self._latest
        return latest is not None and (watch in latest.snapshots or watch in latest.errors)

    async def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._registry.get((loop, self.key)) is self:
            del self._registry[(loop, self.key)]
        # First stop the source: a round still running in its thread (cancelling our task does
        # not stop it) makes no new request, and releases the session itself when it ends.
        await self._run_blocking(self.source.close)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
