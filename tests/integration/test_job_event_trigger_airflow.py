"""The job-event watcher as Airflow's own machinery runs it, against the emulator's job schedules on
its manual clock:

* on 3.3+, through Airflow's ``SharedStreamManager`` (``airflow.triggers.shared_stream``), as the
  triggerer's ``run_trigger`` drives a ``BaseEventTrigger`` with a ``shared_stream_key``: one
  ``open_shared_stream`` per group, each watcher its own events;
* on 3.3+, with its watermark in the asset state store, injected as the triggerer injects it
  (``AssetStateStoreAccessors`` over the watched assets, talking to a fake supervisor channel that
  answers the Get/Set messages from a dict, as the API server's table would): read at the start,
  written before each event leaves, kept per watcher when two watch one asset;
* on every minor, ``serialize()`` gives the same kwargs at every parse of a DAG file, so
  ``BaseEventTrigger.hash`` (how the DAG processor matches the stored trigger row) is stable;
* what a restart fires (docs/event-triggers.md): on 3.3+, a job that ended while the triggerer was
  down fires once if it was created within the last day (or the lookback, if longer); below 3.3 a
  restart starts from "now".
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.triggers.job_events import STATE_KEY_PREFIX, ModelArtsTrainingJobEventTrigger
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_modelarts.waiting.job_events import Watermark
from tests.integration.conftest import manual_clock_emulator

CONN_ID = "modelarts_job_events_airflow"
QUICK = [["Creating", 2], ["Running", 5], ["Completed", None]]
ASSET = "nightly-models"

requires_33 = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS, reason="Airflow 3.3+: shared streams and the asset state store"
)


@pytest.fixture
def emu() -> Iterator[ModelArtsEmulator]:
    with manual_clock_emulator(CONN_ID, v2_job_count=0) as emulator:
        yield emulator


class FakeSupervisor:
    """The triggerer's channel to its supervisor, as far as a watcher uses it: the asset state
    store's Get/Set messages by asset name, answered from ``rows`` ((asset, key) -> value) and kept
    in ``messages``; the connection read's ``MaskSecret`` (no answer)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Any] = {}
        self.messages: list[Any] = []

    def send(self, message: Any) -> Any:
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time.comms import (
            AssetStateStoreResult,
            ErrorResponse,
            GetAssetStateStoreByName,
            MaskSecret,
            OKResponse,
            SetAssetStateStoreByName,
        )

        if isinstance(message, MaskSecret):
            return None
        self.messages.append(message)
        if isinstance(message, GetAssetStateStoreByName):
            if (message.name, message.key) not in self.rows:
                return ErrorResponse(error=ErrorType.ASSET_STORE_NOT_FOUND)
            return AssetStateStoreResult(value=self.rows[(message.name, message.key)])
        if isinstance(message, SetAssetStateStoreByName):
            self.rows[(message.name, message.key)] = message.value
            return OKResponse(ok=True)
        raise AssertionError(f"a watcher sent {message!r}")

    async def asend(self, message: Any) -> Any:
        return self.send(message)


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> FakeSupervisor:
    from airflow.sdk.execution_time import task_runner

    fake = FakeSupervisor()
    # Set in a real triggerer's subprocess at start; the accessors import it at each call.
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
    return fake


def _watcher(*assets: str, **kwargs: Any) -> ModelArtsTrainingJobEventTrigger:
    """A watcher re-created from its serialized form, with the state store the 3.3 triggerer
    injects for a trigger that watches ``assets`` (``TriggerRunner.create_triggers``)."""
    classpath, serialized = ModelArtsTrainingJobEventTrigger(
        modelarts_conn_id=CONN_ID, poll_interval=0.05, **kwargs
    ).serialize()
    assert classpath.endswith(".ModelArtsTrainingJobEventTrigger")
    trigger = ModelArtsTrainingJobEventTrigger(**serialized)
    if assets:  # 3.3+ only: the accessors do not exist below
        from airflow.sdk import Asset
        from airflow.sdk.execution_time.context import AssetStateStoreAccessors

        trigger.asset_state_store = AssetStateStoreAccessors(
            inlets=[Asset(name=name, uri=f"modelarts://{name}") for name in assets]
        )
    return trigger


async def _step(emu: ModelArtsEmulator, steps: int) -> None:
    """The emulator's clock 10 s forward at a time, while the watchers run."""
    for _ in range(steps):
        emu.advance_time(10)
        await asyncio.sleep(0.3)


async def _run_all(
    streams: list[AsyncIterator[Any]], emu: ModelArtsEmulator, steps: int, on_event: Any = None
) -> list[list[Any]]:
    collected: list[list[Any]] = [[] for _ in streams]

    async def drain(index: int, stream: AsyncIterator[Any]) -> None:
        async for event in stream:
            if on_event is not None:
                on_event(index, event)
            collected[index].append(event)

    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(drain(index, stream)) for index, stream in enumerate(streams)]
    try:
        await _step(emu, steps)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return collected


def _fired(events: list[Any]) -> frozenset[tuple[str, int]]:
    """The ``(job id, end)`` pairs a watermark holds after these events (all within the grace)."""
    return frozenset((event.payload["training_job_id"], event.payload["end_time_ms"]) for event in events)


def _names(events: list[Any]) -> list[str]:
    return [event.payload["name"] for event in events]


# -- 3.3: Airflow's SharedStreamManager ----------------------------------------------------------


@requires_33
def test_watchers_run_through_airflow_33_shared_streams_one_open_per_group(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.triggers.shared_stream import SharedStreamManager

    emu.set_job_schedule("nightly", every=30, count=2, timeline=QUICK, outcomes=["Completed", "Failed"])
    emu.set_job_schedule("adhoc", every=45, count=1, timeline=QUICK)
    opened: list[dict[str, Any]] = []
    original = ModelArtsTrainingJobEventTrigger.open_shared_stream

    def counted(cls: type[ModelArtsTrainingJobEventTrigger], kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        opened.append(kwargs)
        return original(kwargs)

    monkeypatch.setattr(ModelArtsTrainingJobEventTrigger, "open_shared_stream", classmethod(counted))
    # Two groups: the key is (connection, workspace, interval, lookback), whatever the filters.
    specs: list[dict[str, Any]] = [
        {"name_filter": "nightly-"},
        {"name_filter": "adhoc-"},
        {"name_filter": None},
        {"name_filter": "nightly-", "phases": ["Failed"]},
        {"name_filter": None, "phases": ["Completed", "Failed"]},
        {"name_filter": "nightly-", "poll_interval": 0.07},
        {"name_filter": None, "poll_interval": 0.07, "phases": ["Failed"]},
    ]
    triggers = [
        ModelArtsTrainingJobEventTrigger(**{"modelarts_conn_id": CONN_ID, "poll_interval": 0.05, **spec})
        for spec in specs
    ]

    async def main() -> tuple[list[list[Any]], int]:
        manager = SharedStreamManager()
        # As TriggerRunner.run_trigger: subscribe with the trigger's key, filter the broadcast.
        keys = [trigger.shared_stream_key() for trigger in triggers]
        streams = [
            trigger.filter_shared_stream(manager.subscribe(trigger_id=index, trigger=trigger, key=key))
            for index, (trigger, key) in enumerate(zip(triggers, keys, strict=True))
        ]
        groups = len(manager._groups)
        collected = await _run_all(streams, emu, 9)
        for index, key in enumerate(keys):
            await manager.unsubscribe(index, key)
        assert manager._groups == {}
        return collected, groups

    collected, groups = asyncio.run(main())
    assert groups == 2 and len(opened) == 2
    assert sorted(kwargs["poll_interval"] for kwargs in opened) == [0.05, 0.07]
    assert [sorted(_names(events)) for events in collected] == [
        ["nightly-1"],  # nightly-2 ended Failed
        ["adhoc-1"],
        ["adhoc-1", "nightly-1"],
        ["nightly-2"],
        ["adhoc-1", "nightly-1", "nightly-2"],
        ["nightly-1"],
        ["nightly-2"],
    ]
    for events, spec in zip(collected, specs, strict=True):
        for event in events:
            assert event.payload["phase"] in spec.get("phases", ["Completed"])
            assert event.payload["training_job_id"] and event.payload["console_url"]


@requires_33
def test_a_watcher_that_joins_a_running_group_late_reads_back_once_and_fires_what_ended_meanwhile(
    emu: ModelArtsEmulator, supervisor: FakeSupervisor
) -> None:
    """Paused and unpaused (or re-created on another triggerer) while other watchers keep the
    group's search going: the group's rounds no longer read back to a job that ended meanwhile, so
    the returning watcher reads back once on its own (one deep round) and fires it, once."""
    from airflow.triggers.shared_stream import SharedStreamManager

    # nightly-1 runs 10 minutes; adhoc jobs, one a minute, move the group's newest job far past it.
    emu.set_job_schedule(
        "nightly", every=DAY, count=1, start_after=0, timeline=[["Creating", 2], ["Running", 600], ["Completed", None]]
    )
    emu.set_job_schedule("adhoc", every=60, count=40, timeline=QUICK)

    async def step(minutes: int) -> None:
        for _ in range(minutes):
            emu.advance_time(60)
            await asyncio.sleep(0.2)

    async def main() -> tuple[list[Any], list[Any], list[Any]]:
        manager = SharedStreamManager()
        keeper = _watcher(ASSET, name_filter="adhoc-")
        late = _watcher(ASSET, name_filter="nightly-")
        key = keeper.shared_stream_key()
        assert late.shared_stream_key() == key
        kept: list[Any] = []
        before: list[Any] = []
        after: list[Any] = []

        async def drain(stream: AsyncIterator[Any], into: list[Any]) -> None:
            async for event in stream:
                into.append(event)

        loop = asyncio.get_running_loop()
        keeping = loop.create_task(
            drain(keeper.filter_shared_stream(manager.subscribe(trigger_id=0, trigger=keeper, key=key)), kept)
        )
        first = loop.create_task(
            drain(late.filter_shared_stream(manager.subscribe(trigger_id=1, trigger=late, key=key)), before)
        )
        await step(2)  # the late watcher stores its watermark; nightly-1 is Running
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await manager.unsubscribe(1, key)
        await step(15)  # nightly-1 completes while the watcher is away; the group goes on
        returned = _watcher(ASSET, name_filter="nightly-")
        searches = emu.stats()["by_endpoint"].get("search_training_jobs", 0)
        second = loop.create_task(
            drain(returned.filter_shared_stream(manager.subscribe(trigger_id=2, trigger=returned, key=key)), after)
        )
        await step(5)
        for task in (keeping, second):
            task.cancel()
        await asyncio.gather(keeping, second, return_exceptions=True)
        await manager.unsubscribe(0, key)
        await manager.unsubscribe(2, key)
        assert emu.stats()["by_endpoint"].get("search_training_jobs", 0) > searches
        return kept, before, after

    kept, before, after = asyncio.run(main())
    assert before == [] and _names(after) == ["nightly-1"]
    assert len(kept) > 10 and all(name.startswith("adhoc-") for name in _names(kept))


# -- 3.3: the asset state store ------------------------------------------------------------------


@requires_33
def test_the_watermark_is_read_from_and_written_to_the_asset_state_store(
    emu: ModelArtsEmulator, supervisor: FakeSupervisor
) -> None:
    from airflow.sdk.execution_time.comms import GetAssetStateStoreByName, SetAssetStateStoreByName

    emu.set_job_schedule("nightly", every=30, count=3, timeline=QUICK)
    checked: list[bool] = []

    def saved_before_it_left(trigger: ModelArtsTrainingJobEventTrigger) -> Any:
        key = trigger._state_key()

        def check(_: int, event: Any) -> None:
            # The event has left the trigger: its job is already under the stored watermark.
            for asset in (ASSET, "nightly-reports"):
                stored = Watermark.from_json(supervisor.rows[(asset, key)])
                assert stored is not None
                checked.append(stored.covers(event.payload["end_time_ms"], event.payload["training_job_id"]))

        return check

    first = _watcher(ASSET, "nightly-reports", name_filter="nightly-")
    events = asyncio.run(_run_all([first.run()], emu, 5, saved_before_it_left(first)))[0]
    key = first._state_key()
    assert key.startswith(STATE_KEY_PREFIX)
    assert _names(events) == ["nightly-1"] and checked == [True, True]
    # Read first (nothing stored), then the first watermark written to both watched assets.
    assert [type(message) for message in supervisor.messages[:4]] == [
        GetAssetStateStoreByName,
        GetAssetStateStoreByName,
        SetAssetStateStoreByName,
        SetAssetStateStoreByName,
    ]
    assert {message.key for message in supervisor.messages} == {key}
    stored = Watermark.from_json(supervisor.rows[(ASSET, key)])
    assert stored is not None and stored.fired == _fired(events)
    assert supervisor.rows[("nightly-reports", key)] == supervisor.rows[(ASSET, key)]

    # A triggerer restart: a new instance, new accessors, the same store. nightly-1 does not repeat.
    second = _watcher(ASSET, "nightly-reports", name_filter="nightly-")
    assert second._state_key() == key
    later = asyncio.run(_run_all([second.run()], emu, 8, saved_before_it_left(second)))[0]
    assert _names(later) == ["nightly-2", "nightly-3"] and checked == [True] * 6
    stored = Watermark.from_json(supervisor.rows[(ASSET, key)])
    assert stored is not None and stored.fired == _fired(events + later)


@requires_33
def test_two_watchers_on_one_asset_keep_separate_watermarks(emu: ModelArtsEmulator, supervisor: FakeSupervisor) -> None:
    emu.set_job_schedule("nightly", every=30, count=2, timeline=QUICK)
    emu.set_job_schedule("adhoc", every=45, count=1, timeline=QUICK)

    def pair() -> list[ModelArtsTrainingJobEventTrigger]:
        return [_watcher(ASSET, name_filter="nightly-"), _watcher(ASSET, name_filter="adhoc-")]

    nightly, adhoc = pair()
    events = asyncio.run(_run_all([nightly.run(), adhoc.run()], emu, 8))
    assert [_names(e) for e in events] == [["nightly-1", "nightly-2"], ["adhoc-1"]]
    # Keyed by each watcher's own kwargs: two rows on the one asset, each its own last job.
    assert nightly._state_key() != adhoc._state_key()
    assert {asset for asset, _ in supervisor.rows} == {ASSET} and len(supervisor.rows) == 2
    for trigger, fired in zip((nightly, adhoc), events, strict=True):
        stored = Watermark.from_json(supervisor.rows[(ASSET, trigger._state_key())])
        assert stored is not None and stored.fired == _fired(fired)

    # Both re-created (a restart): each reads its own watermark back; nothing fires again, and a
    # job that ends now fires for the watcher it matches only.
    emu.set_job_schedule("late", every=30, count=1, timeline=QUICK, job_name="adhoc-late-{n}")
    again = asyncio.run(_run_all([trigger.run() for trigger in pair()], emu, 5))
    assert [_names(e) for e in again] == [[], ["adhoc-late-1"]]


# -- every minor: the same kwargs, the same hash ---------------------------------------------------

DAG_FILE = textwrap.dedent(
    """
    from airflow.sdk import DAG, Asset, AssetWatcher

    from airflow_provider_modelarts.triggers.job_events import ModelArtsTrainingJobEventTrigger

    # A set on purpose: its order changes with the interpreter's hash seed.
    watcher = ModelArtsTrainingJobEventTrigger(
        modelarts_conn_id="modelarts_default",
        phases={"Failed", "Completed", "Terminated"},
        name_filter="nightly-",
        poll_interval=30,
    )
    nightly = Asset("modelarts-nightly", watchers=[AssetWatcher(name="nightly_done", trigger=watcher)])

    with DAG("on_nightly_training", schedule=[nightly]):
        pass
    """
)

PRINT_KWARGS = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("parsed_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps([list({"Failed", "Completed", "Terminated"}), module.nightly.watchers[0].trigger.serialize()]))
"""


def _parse(path: Path, name: str) -> Any:
    """One parse of the DAG file: a fresh import, as each DAG processor run does."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serialize_and_the_trigger_hash_are_the_same_at_every_parse(tmp_path: Path) -> None:
    from airflow.models.trigger import Trigger
    from airflow.triggers.base import BaseEventTrigger

    path = tmp_path / "on_nightly_training.py"
    path.write_text(DAG_FILE, encoding="utf-8")
    parses = [_parse(path, f"on_nightly_training_{n}") for n in range(2)]
    serialized = [module.nightly.watchers[0].trigger.serialize() for module in parses]
    assert serialized[0] == serialized[1]
    classpath, kwargs = serialized[0]
    assert kwargs["phases"] == ["Completed", "Failed", "Terminated"] and kwargs["poll_interval"] == 30.0
    hashes = [BaseEventTrigger.hash(*pair) for pair in serialized]
    assert hashes[0] == hashes[1]
    # The row the DAG processor stored after the first parse hashes the same as the second parse.
    row = Trigger(classpath=classpath, kwargs=kwargs)
    assert BaseEventTrigger.hash(row.classpath, row.kwargs) == hashes[1]

    # Parses in other interpreters, whose set orders differ: the same kwargs (the hash's input).
    outputs = []
    for seed in ("0", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", PRINT_KWARGS, str(path)], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert outputs[0][0] != outputs[1][0]  # the seeds do order the set differently
    assert outputs[0][1] == outputs[1][1] == [classpath, kwargs]


# -- restarts: what fires after the triggerer was down -------------------------------------------

DAY = 24 * 3600


@pytest.fixture
def emulated_now(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher's "now" (its first watermark, the first round's depth) on the emulator's clock,
    so that a downtime can be emulated: ``advance_time`` with no watcher running."""
    from airflow_provider_modelarts.triggers import job_events

    clock = SimpleNamespace(time=lambda: emu.app.training_jobs.wall_ms() / 1000, monotonic=time.monotonic)
    monkeypatch.setattr(job_events, "time", clock)


@requires_33
@pytest.mark.usefixtures("emulated_now")
def test_after_a_restart_a_job_that_ended_while_down_fires_if_created_within_a_day_or_the_lookback(
    emu: ModelArtsEmulator, supervisor: FakeSupervisor
) -> None:
    # long-1: created at 30 s, runs 25 hours; short-1: created 19 minutes before the restart.
    emu.set_job_schedule(
        "long", every=30, count=1, timeline=[["Creating", 2], ["Running", DAY + 3600], ["Completed", None]]
    )
    emu.set_job_schedule(
        "short", every=2 * DAY, start_after=DAY + 2500, count=1, timeline=[["Running", 600], ["Completed", None]]
    )

    def pair() -> list[ModelArtsTrainingJobEventTrigger]:
        return [_watcher(ASSET, name_filter="-1"), _watcher(ASSET, name_filter="-1", lookback=2 * DAY)]

    assert asyncio.run(_run_all([trigger.run() for trigger in pair()], emu, 5)) == [[], []]
    emu.advance_time(DAY + 3600)  # the triggerer is down for 25 hours; both jobs end
    after = asyncio.run(_run_all([trigger.run() for trigger in pair()], emu, 3))
    # The first search after the restart reads back over the jobs created in the last day, or the
    # lookback if longer: without a lookback, a job created 25 hours before is not read again.
    assert [_names(events) for events in after] == [["short-1"], ["short-1", "long-1"]]
    again = asyncio.run(_run_all([trigger.run() for trigger in pair()], emu, 3))
    assert again == [[], []]


@pytest.mark.usefixtures("emulated_now")
def test_below_33_a_restart_starts_from_now_and_repeats_nothing(emu: ModelArtsEmulator) -> None:
    # No asset state store (3.0-3.2): the watermark lives in the trigger instance.
    emu.set_job_schedule("nightly", every=30, count=3, timeline=QUICK)
    first = asyncio.run(_run_all([_watcher(name_filter="nightly-").run()], emu, 5))[0]  # nightly-1 ends at 37 s
    emu.advance_time(30)  # down while nightly-2 ends (67 s)
    second = asyncio.run(_run_all([_watcher(name_filter="nightly-").run()], emu, 5))[0]  # nightly-3 ends at 97 s
    assert _names(first) == ["nightly-1"] and _names(second) == ["nightly-3"]
