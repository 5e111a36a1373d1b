"""The check loop the v1 and the v2 trigger share: a watcher's answers from the coalesced poller,
with the deadline and API outages handled once, the same way for both.

Each trigger keeps only what is its own: how to judge a snapshot, and which event to emit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airflow_provider_modelarts.exceptions import ModelArtsError
from airflow_provider_modelarts.waiting.outage import Outage, record_failed_check

if TYPE_CHECKING:
    from airflow_provider_modelarts.waiting.poller import SharedStatusPoller

_T = TypeVar("_T")


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


@dataclass(frozen=True)
class Check:
    """One answer to a watcher: the watched object's ``snapshot`` from round ``round``; or the end
    of the wait without one: ``timed_out``, or ``ended`` = ``(outcome, message)`` for an error
    (``"failed"`` when no retry can fix it, ``"error"`` once an outage outlasted ``max_outage``)."""

    round: int
    snapshot: dict[str, Any] | None = None
    ended: tuple[str, str] | None = None
    timed_out: bool = False


async def shared_checks(
    poller: SharedStatusPoller[Any],
    watcher_id: int,
    end_time: float | None,
    judge_error: Callable[[BaseException], tuple[str, str]],
    outage: Outage,
    log: _Log,
    subject: str,
) -> AsyncGenerator[Check, None]:
    """Yield each round's snapshot for ``watcher_id``, until the deadline or an error ends the wait.

    A transient error (the hook's retries spent) is ridden out, logged, up to ``max_outage``; the
    round that failed is the latest, so the next answer comes from a later round.
    """
    seen_round = poller.rounds_run
    while True:
        remaining = None if end_time is None else end_time - time.time()
        if remaining is not None and remaining <= 0:
            poller.stop_checking(watcher_id)
            yield Check(seen_round, timed_out=True)
            return
        try:
            result = await within(poller.next_status(watcher_id, seen_round), remaining)
            if result is None:
                continue  # the deadline passed while waiting: reported at the top of the loop
            seen_round, current = result
        except ModelArtsError as error:
            outcome, message = judge_error(error)
            if outcome == "error":
                rides_out, message = record_failed_check(outage, message)
                if rides_out:
                    log.warning(message)
                    seen_round = poller.rounds_run
                    continue
            poller.stop_checking(watcher_id)
            yield Check(seen_round, ended=(outcome, message))
            return
        if outage.succeeded_check():
            log.info("%s answered again: the API outage is over", subject)
        yield Check(seen_round, snapshot=current)


async def within(awaitable: Coroutine[Any, Any, _T], timeout: float | None) -> _T | None:
    """``awaitable``'s result, or ``None`` once ``timeout`` seconds have passed.

    Not ``asyncio.wait_for``: before Python 3.12 it can swallow a cancellation that arrives just as
    the awaited result is ready, and a cancelled trigger would then keep polling.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        return None
    return task.result()
