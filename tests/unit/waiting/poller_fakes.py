"""Fakes shared by the poller tests (test_poller.py, test_poller_v1.py): a virtual-time event
loop, an inline runner and a fake source; no HTTP, no wall-clock sleeps."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from airflow_provider_modelarts import api
from airflow_provider_modelarts.waiting.poller import RoundOutcome, SharedStatusPoller, StatusSource

_R = TypeVar("_R")
RUNNING, COMPLETED = int(api.JobStatus.RUNNING), int(api.JobStatus.COMPLETED)

# Virtual time: the loop's clock jumps to the next timer instead of waiting for it.
# ---------------------------------------------------------------------------------------------


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready:
            return ready  # type: ignore[no-any-return]
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        self.loop.now += max(timeout, 0.0)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[VirtualTimeLoop], Any]) -> Any:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


async def inline(func: Callable[[], _R]) -> _R:
    """Runs a round on the event loop itself: deterministic, and the clock stands still meanwhile."""
    return func()


class UnchangingConnection:
    """The hook of a :class:`FakeSource`: its connection never changes."""

    def __init__(self) -> None:
        self.reads = 0

    def refresh_connection(self) -> bool:
        self.reads += 1
        return False


class FakeSource(StatusSource[Hashable]):
    """Every watch is RUNNING unless told otherwise; records when each round ran and what it read."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(hook=UnchangingConnection())  # type: ignore[arg-type]
        self.loop = loop
        self.rounds: list[tuple[float, frozenset[Hashable]]] = []
        self.statuses: dict[Hashable, int] = {}
        self.released = 0

    def read(self, watches: set[Hashable]) -> RoundOutcome[Hashable]:
        self.rounds.append((self.loop.time(), frozenset(watches)))
        return RoundOutcome(0, snapshots={watch: {"status": self.statuses.get(watch, RUNNING)} for watch in watches})

    def release(self) -> None:
        self.released += 1

    @property
    def times(self) -> list[float]:
        return [when for when, _ in self.rounds]


def _poller(source: StatusSource[Hashable], run_blocking: Any = inline) -> SharedStatusPoller[Hashable]:
    return SharedStatusPoller("key", lambda _key: source, run_blocking=run_blocking)


# ---------------------------------------------------------------------------------------------
# When rounds run
# ---------------------------------------------------------------------------------------------
