"""One poll loop shared by event triggers with the same key, below Airflow 3.3 (3.3's triggerer does
this itself, through ``shared_stream_key``/``open_shared_stream``/``filter_shared_stream``).

The first subscriber of a key starts the loop in the triggerer's event loop; each raw event goes to
every subscriber's queue; the last one to leave stops it. A failure of the loop reaches every
subscriber. Subscribers that join late see the rounds from then on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Failure:
    error: BaseException


@dataclass
class _Group:
    queues: set[asyncio.Queue[Any]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


_groups: dict[tuple[int, Hashable], _Group] = {}


async def subscribe(key: Hashable, open_stream: Callable[[], AsyncIterator[Any]]) -> AsyncIterator[Any]:
    """The raw events of the shared loop for ``key``, started with ``open_stream`` if none runs."""
    loop_key = (id(asyncio.get_running_loop()), key)
    group = _groups.get(loop_key)
    if group is None:
        group = _groups[loop_key] = _Group()
        group.task = asyncio.get_running_loop().create_task(_pump(group, open_stream))
    queue: asyncio.Queue[Any] = asyncio.Queue()
    group.queues.add(queue)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        group.queues.discard(queue)
        if not group.queues and _groups.get(loop_key) is group:
            del _groups[loop_key]
            if group.task is not None:
                group.task.cancel()


async def _pump(group: _Group, open_stream: Callable[[], AsyncIterator[Any]]) -> None:
    try:
        async for raw in open_stream():
            for queue in list(group.queues):
                queue.put_nowait(raw)
    except asyncio.CancelledError:
        raise
    except BaseException as error:
        for queue in list(group.queues):
            queue.put_nowait(_Failure(error))
