"""The job-event watcher against the emulator's own job schedules (jobs created outside Airflow),
on the emulator's manual clock: each job fires once, across re-creation and outages, and watchers
of one connection share one search."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.triggers.job_events import ModelArtsTrainingJobEventTrigger
from airflow_provider_modelarts.waiting import shared_stream
from airflow_provider_modelarts.waiting.job_event_search import JobEventSearch
from airflow_provider_modelarts.waiting.job_events import Watermark, select_events
from tests.integration.conftest import manual_clock_emulator

CONN_ID = "modelarts_job_events"
QUICK = [["Creating", 2], ["Running", 5], ["Completed", None]]


class FakeStateStore:
    """Airflow's asset state store as a trigger sees it: ``aget``/``aset`` on one asset."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


class FakeAccessors:
    def __init__(self, store: FakeStateStore) -> None:
        self._by_name = {"nightly-models": store}
        self._by_uri: dict[str, Any] = {}


@pytest.fixture
def emu() -> Any:
    with manual_clock_emulator(CONN_ID, v2_job_count=0) as emulator:
        yield emulator


def test_each_scheduled_job_is_seen_ending_once_with_one_search_per_round(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("nightly", every=30, count=3, timeline=QUICK, outcomes=["Completed", "Failed"])
    hook = ModelArtsHook(CONN_ID)
    search = JobEventSearch(None)
    watermark = Watermark(int(time.time() * 1000) - 1)
    fired: list[str] = []
    per_round: list[int] = []
    for _ in range(12):
        emu.advance_time(10)
        before = hook.request_count
        found = search.round(hook, int(time.time() * 1000))
        events, watermark = select_events(found.jobs, frozenset({"Completed"}), "nightly-", watermark)
        per_round.append(hook.request_count - before)
        fired += [job["metadata"]["name"] for _, job in events]
    assert fired == ["nightly-1", "nightly-3"]  # nightly-2 ended Failed
    assert per_round == [2] + [1] * 11  # the first round also seeds the jobs in progress


def _event_names(events: list[Any]) -> list[str]:
    return [event.payload["name"] for event in events]


async def _drain(generator: Any, into: list[Any]) -> None:
    async for event in generator:
        into.append(event)


async def _collect(trigger: ModelArtsTrainingJobEventTrigger, emu: ModelArtsEmulator, steps: int) -> list[Any]:
    """Step the emulator's clock 10 s at a time while the trigger runs, as a triggerer would run it."""
    events: list[Any] = []
    generator = trigger.run()
    consumer = asyncio.get_running_loop().create_task(_drain(generator, events))
    try:
        for _ in range(steps):
            emu.advance_time(10)
            await asyncio.sleep(0.3)
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await generator.aclose()
    return events


def test_a_re_created_watcher_does_not_fire_again(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("nightly", every=30, count=3, timeline=QUICK)
    store = FakeStateStore()

    def watcher() -> ModelArtsTrainingJobEventTrigger:
        trigger = ModelArtsTrainingJobEventTrigger(
            modelarts_conn_id=CONN_ID, name_filter="nightly-", poll_interval=0.05
        )
        trigger.asset_state_store = FakeAccessors(store)  # type: ignore[assignment]
        return trigger

    first = asyncio.run(_collect(watcher(), emu, 5))  # nightly-1 ends at 37 s
    second = asyncio.run(_collect(watcher(), emu, 8))  # a triggerer restart: the same state
    assert _event_names(first) == ["nightly-1"] and _event_names(second) == ["nightly-2", "nightly-3"]
    assert shared_stream._groups == {}


def test_jobs_that_end_without_running_fire_once(emu: ModelArtsEmulator) -> None:
    """Abnormal/CreateFailed and Failed from Pending report start_time 0 and no duration: they fire
    when the search sees them end (or by creation time, if no round saw them in progress)."""
    emu.set_job_schedule("create", every=30, count=1, timeline=[["Creating", 12], ["Abnormal", None, "CreateFailed"]])
    emu.set_job_schedule("pending", every=40, count=1, timeline=[["Pending", 25], ["Failed", None]])
    emu.set_job_schedule("instant", every=50, count=1, timeline=[["Abnormal", None, "CreateFailed"]])
    trigger = ModelArtsTrainingJobEventTrigger(
        modelarts_conn_id=CONN_ID, phases=["Abnormal", "Failed"], poll_interval=0.05
    )
    events = asyncio.run(_collect(trigger, emu, 10))
    assert sorted(_event_names(events)) == ["create-1", "instant-1", "pending-1"]
    by_name = {event.payload["name"]: event.payload for event in events}
    assert by_name["create-1"]["phase"] == "Abnormal" and by_name["pending-1"]["phase"] == "Failed"
    assert all(payload["end_time_ms"] > 0 for payload in by_name.values())


def test_an_outage_loses_and_repeats_nothing(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("nightly", every=30, count=2, timeline=QUICK)
    emu.add_fault("status", count=6, path_contains="training-job-searches", status=503)
    trigger = ModelArtsTrainingJobEventTrigger(
        modelarts_conn_id=CONN_ID, poll_interval=0.05, retry_delay=0.01, retry_max_delay=0.02
    )
    events = asyncio.run(_collect(trigger, emu, 10))
    assert emu.stats()["faults_served"] == 6
    assert _event_names(events) == ["nightly-1", "nightly-2"]


def test_watchers_of_one_connection_share_one_search(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("nightly", every=30, count=2, timeline=QUICK)
    emu.set_job_schedule("adhoc", every=45, count=1, timeline=QUICK)
    filters = ["nightly-", "adhoc-", None] * 4

    async def main() -> list[list[Any]]:
        triggers = [
            ModelArtsTrainingJobEventTrigger(modelarts_conn_id=CONN_ID, name_filter=f, poll_interval=0.05)
            for f in filters
        ]
        generators = [t.run() for t in triggers]
        collected: list[list[Any]] = [[] for _ in triggers]
        loop = asyncio.get_running_loop()
        consumers = [loop.create_task(_drain(g, c)) for g, c in zip(generators, collected, strict=True)]
        try:
            for _ in range(8):
                emu.advance_time(10)
                await asyncio.sleep(0.3)
                assert len(shared_stream._groups) == 1
        finally:
            for consumer in consumers:
                consumer.cancel()
            await asyncio.gather(*consumers, return_exceptions=True)
            for generator in generators:
                await generator.aclose()
        return collected

    collected = asyncio.run(main())
    assert [sorted(_event_names(c)) for c in collected[:3]] == [
        ["nightly-1", "nightly-2"],
        ["adhoc-1"],
        ["adhoc-1", "nightly-1", "nightly-2"],
    ]


def test_a_watcher_restarted_with_its_state_fires_what_ended_while_it_was_down(emu: ModelArtsEmulator) -> None:
    """Airflow 3.3+ (the watermark in the asset state store): a triggerer restart loses nothing."""
    emu.set_job_schedule("nightly", every=30, count=3, timeline=QUICK)
    store = FakeStateStore()

    def watcher() -> ModelArtsTrainingJobEventTrigger:
        trigger = ModelArtsTrainingJobEventTrigger(modelarts_conn_id=CONN_ID, poll_interval=0.05)
        trigger.asset_state_store = FakeAccessors(store)  # type: ignore[assignment]
        return trigger

    assert _event_names(asyncio.run(_collect(watcher(), emu, 4))) == ["nightly-1"]
    emu.advance_time(120)  # the triggerer is down: nightly-2 and nightly-3 start and end
    assert _event_names(asyncio.run(_collect(watcher(), emu, 1))) == ["nightly-2", "nightly-3"]
    assert _event_names(asyncio.run(_collect(watcher(), emu, 1))) == []
