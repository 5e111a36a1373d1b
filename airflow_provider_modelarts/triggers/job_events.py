"""``ModelArtsTrainingJobEventTrigger``: start a DAG when a v2 training job ends (an asset watcher).

Every watcher of a connection shares one search per interval (Airflow's shared streams on 3.3+,
``waiting/shared_stream.py`` below), and keeps its own watermark: in the asset state store on 3.3+,
in memory below. See docs/event-triggers.md for the rules it implements and the delivery guarantee
on each Airflow minor.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from airflow.providers.common.compat.triggers import BaseEventTrigger
from airflow.triggers.base import TriggerEvent

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.endpoints import console_job_url
from airflow_provider_modelarts.cloud.validation import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    positive_seconds,
    validate_retry_settings,
)
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.exceptions import ModelArtsPermanentError, ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_modelarts.waiting.job_event_search import JobEventSearch, SearchRound, deep_round
from airflow_provider_modelarts.waiting.job_events import WATCHABLE_PHASES, Watermark, event_payload, select_events
from airflow_provider_modelarts.waiting.poller import run_in_worker_thread
from airflow_provider_modelarts.waiting.shared_stream import subscribe

STATE_KEY_PREFIX = "modelarts.training_job_events."


def _phases(value: str | Iterable[str]) -> tuple[str, ...]:
    phases = (value,) if isinstance(value, str) else tuple(value)
    if not phases or any(phase not in WATCHABLE_PHASES for phase in phases):
        raise ModelArtsValidationError("phases", f"one or more of {', '.join(sorted(WATCHABLE_PHASES))}", value)
    return tuple(sorted(set(phases)))


class ModelArtsTrainingJobEventTrigger(BaseEventTrigger):
    """Fire one event per v2 training job of a connection that ends in one of ``phases``.

    :param modelarts_conn_id: the ModelArts connection.
    :param phases: the phases to fire on, among Completed, Failed, Terminated and Abnormal.
    :param name_filter: a job fires only if its name contains this (the search API's ``like``).
    :param workspace_id: the workspace watched (default: the connection's).
    :param poll_interval: seconds between searches.
    :param lookback: seconds; jobs that ended this long before the watcher first looked fire too.
    """

    def __init__(
        self,
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        phases: str | Iterable[str] = ("Completed",),
        name_filter: str | None = None,
        workspace_id: str | None = None,
        poll_interval: float = 60.0,
        lookback: float | None = None,
        retry_delay: float = DEFAULT_RETRY_DELAY,
        retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY,
    ) -> None:
        super().__init__()
        if not isinstance(modelarts_conn_id, str) or not modelarts_conn_id.strip():
            raise ModelArtsValidationError("modelarts_conn_id", "the id of a ModelArts connection", modelarts_conn_id)
        self.modelarts_conn_id = modelarts_conn_id
        self.phases = _phases(phases)
        self.name_filter = v2.validate_name_fragment(name_filter, "name_filter") if name_filter is not None else None
        self.workspace_id = v2.validate_workspace_id(workspace_id) if workspace_id is not None else None
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        if lookback is not None and (
            isinstance(lookback, bool)
            or not isinstance(lookback, (int, float))
            or not math.isfinite(lookback)
            or lookback < 0
        ):
            raise ModelArtsValidationError("lookback", "a finite number of seconds, 0 or more, or None", lookback)
        if lookback is not None and not AIRFLOW_V_3_3_PLUS:
            # Without the asset state store a re-created watcher would start from now - lookback
            # again, and fire the jobs of the lookback a second time.
            raise ModelArtsValidationError(
                "lookback", "None below Airflow 3.3 (it needs the asset state store to fire each job once)", lookback
            )
        self.lookback = float(lookback) if lookback is not None else None
        # Checked here, at parse time, as the search's hook would check them in the triggerer.
        _, self.retry_delay, self.retry_max_delay = validate_retry_settings(
            DEFAULT_RETRY_LIMIT, retry_delay, retry_max_delay
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # The same kwargs at every parse: Airflow matches the stored trigger row by their hash.
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "modelarts_conn_id": self.modelarts_conn_id,
                "phases": list(self.phases),
                "name_filter": self.name_filter,
                "workspace_id": self.workspace_id,
                "poll_interval": self.poll_interval,
                "lookback": self.lookback,
                "retry_delay": self.retry_delay,
                "retry_max_delay": self.retry_max_delay,
            },
        )

    # -- sharing one search ---------------------------------------------------------------------

    def shared_stream_key(self) -> tuple[Any, ...]:
        """Watchers of one connection, workspace, interval, lookback and retry settings share one
        search (3.3+): everything the search itself is made of, none of the watchers' filters."""
        return (
            "modelarts-training-job-events",
            self.modelarts_conn_id,
            self.workspace_id,
            self.poll_interval,
            self.lookback,
            self.retry_delay,
            self.retry_max_delay,
        )

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """One search per interval; each raw event is the :class:`SearchRound` of a round."""
        hook = _search_hook(kwargs)
        search = JobEventSearch(kwargs.get("workspace_id"), _lookback_ms(kwargs))
        interval = float(kwargs.get("poll_interval", 60.0))
        try:
            while True:
                started = time.monotonic()
                try:
                    found = await run_in_worker_thread(lambda: search.round(hook, int(time.time() * 1000)))
                except ModelArtsPermanentError:
                    raise
                except Exception as error:  # ridden out: the next round catches up, nothing is lost
                    hook.log.warning("ModelArts job-event search failed (%s); trying again next round", error)
                else:
                    yield found
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            hook.close()

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        watermark, resuming = await self._load_watermark()
        console_url: str | None = None
        async for found in shared_stream:
            if resuming and not found.deep:
                # Joined a group after its first round: read back once as that round did, or a
                # job that ended while this watcher was away would never be seen.
                caught_up = await self._catch_up()
                if caught_up is None:
                    continue  # tried again next round: the catch-up reads back over this round too
                found = caught_up.joined(found)
            resuming = False
            events, _ = select_events(
                found.jobs, frozenset(self.phases), self.name_filter, watermark, found.observed_ends, found.at_ms
            )
            if events and console_url is None:
                # Read when first needed, not at start: the watcher may start before its connection
                # exists (the search rides that out; this must not end the trigger either).
                console_url = await self._console_url()
            for end, job in events:
                watermark = watermark.after(end, str(job["metadata"]["id"]))
                # Saved before the event leaves: a crash now loses it rather than repeating it.
                await self._save_watermark(watermark)
                link = console_job_url(console_url, job["metadata"]["id"], None) if console_url else None
                yield TriggerEvent(event_payload(job, end, link))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Below 3.3 the triggerer calls run(): the same filter over the provider's shared loop.
        kwargs = self.serialize()[1]
        stream = subscribe(self.shared_stream_key(), lambda: type(self).open_shared_stream(kwargs))
        async for event in self.filter_shared_stream(stream):
            yield event

    async def _console_url(self) -> str | None:
        """The connection's console URL (in a worker thread: it reads the connection); ``None``,
        and read again at the next event, if the connection cannot be read now."""
        hook = ModelArtsHook(self.modelarts_conn_id)
        try:
            return await run_in_worker_thread(lambda: hook.settings.console_url)
        except Exception as error:
            self.log.warning("The events go without a console URL for now: %s", error)
            return None
        finally:
            hook.close()

    # -- the watermark --------------------------------------------------------------------------

    async def _catch_up(self) -> SearchRound | None:
        """A deep round for a watcher that joined its group late; ``None`` if the search failed.

        Watchers of one group that join late together (a triggerer restart) share one deep round:
        it stays shared for one poll interval after it started, then is dropped (a failed one at
        once), so nothing outlives its use.
        """
        loop = asyncio.get_running_loop()
        key = (id(loop), self.shared_stream_key())
        shared = _CATCH_UPS.get(key)
        if shared is None:
            shared = _CATCH_UPS[key] = loop.create_task(self._deep_round())
            loop.call_later(self.poll_interval, _forget_catch_up, key, shared)
            shared.add_done_callback(lambda done: _forget_catch_up(key, done) if _failed(done) else None)
        # Shielded: a watcher cancelled while it waits must not cancel the others' read.
        return await asyncio.shield(shared)

    async def _deep_round(self) -> SearchRound | None:
        kwargs = self.serialize()[1]
        hook = _search_hook(kwargs)
        try:
            return await run_in_worker_thread(
                lambda: deep_round(hook, self.workspace_id, _lookback_ms(kwargs), int(time.time() * 1000))
            )
        except ModelArtsPermanentError:
            raise
        except Exception as error:
            self.log.warning("ModelArts job-event catch-up search failed (%s); trying again next round", error)
            return None
        finally:
            hook.close()

    def _state_key(self) -> str:
        """The watcher's key in the asset state store: what decides which jobs fire (connection,
        workspace, phases, name filter, lookback), not how it polls, so that tuning
        ``poll_interval`` or the retries keeps the watermark and fires nothing again. A new
        ``lookback`` is a new watcher: the jobs in its window fire."""
        identity = {
            "modelarts_conn_id": self.modelarts_conn_id,
            "workspace_id": self.workspace_id,
            "phases": list(self.phases),
            "name_filter": self.name_filter,
            "lookback": self.lookback,
        }
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        return STATE_KEY_PREFIX + digest

    def _accessors(self) -> list[Any]:
        """The state store of every asset this watcher fires for (the triggerer injects
        ``asset_state_store`` on 3.3+; none below).

        One trigger row serves every asset whose watcher has the same kwargs, and Airflow's
        accessors have no public way to list their assets, so their two maps are read; if a later
        Airflow renames them, the public single-asset methods are used (one asset) rather than
        losing the watermark silently.
        """
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return []
        by_name, by_uri = getattr(store, "_by_name", None), getattr(store, "_by_uri", None)
        if isinstance(by_name, dict) and isinstance(by_uri, dict):
            return [*by_name.values(), *by_uri.values()]
        return [store]

    async def _load_watermark(self) -> tuple[Watermark, bool]:
        """The stored watermark, else a new one at now - lookback (stored at once); and whether
        the watcher resumes (a stored watermark, or a lookback): then it must read back."""
        for accessor in self._accessors():
            stored = Watermark.from_json(await accessor.aget(self._state_key()))
            if stored is not None:
                return stored, True
        first = Watermark(int((time.time() - (self.lookback or 0.0)) * 1000))
        await self._save_watermark(first)
        return first, bool(self.lookback)

    async def _save_watermark(self, watermark: Watermark) -> None:
        for accessor in self._accessors():
            await accessor.aset(self._state_key(), watermark.to_json())


# The catch-up read of late watchers, shared per event loop and group (see ``_catch_up``).
_CATCH_UPS: dict[tuple[int, tuple[Any, ...]], asyncio.Task[SearchRound | None]] = {}


def _forget_catch_up(key: tuple[int, tuple[Any, ...]], task: asyncio.Task[SearchRound | None]) -> None:
    if _CATCH_UPS.get(key) is task:
        del _CATCH_UPS[key]


def _failed(task: asyncio.Task[SearchRound | None]) -> bool:
    return task.cancelled() or task.exception() is not None or task.result() is None


def _search_hook(kwargs: dict[str, Any]) -> ModelArtsHook:
    return ModelArtsHook(
        kwargs.get("modelarts_conn_id", DEFAULT_CONN_ID),
        retry_delay=kwargs.get("retry_delay", DEFAULT_RETRY_DELAY),
        retry_max_delay=kwargs.get("retry_max_delay", DEFAULT_RETRY_MAX_DELAY),
    )


def _lookback_ms(kwargs: dict[str, Any]) -> int:
    return int((kwargs.get("lookback") or 0) * 1000)
