"""Restart safety: a deferred trigger that the triggerer cancels mid-wait and re-creates from its
serialised form reaches the same outcome as one that ran undisturbed; and sensors or triggers that
watch the same job never disturb one another."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import pytest
from airflow.triggers.base import TriggerEvent
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from tests.airflow_names import AirflowFailException, deserialize, serialize
from tests.integration.airflow_context import make_context

from .support import record_result

POLL = 0.2
FAILURES = [3, 5, 6, 11, 12, 13, 14, 16, 17, 21, 22]
EVENT_TIMEOUT = 60.0


async def first_event(trigger: ModelArtsTrainingJobTrigger) -> dict[str, Any]:
    generator = cast(AsyncGenerator[TriggerEvent, None], trigger.run())
    try:
        event = await asyncio.wait_for(generator.__anext__(), timeout=EVENT_TIMEOUT)
    finally:
        await generator.aclose()
    return dict(event.payload)


def make_trigger(job: dict[str, Any], **overrides: Any) -> ModelArtsTrainingJobTrigger:
    kwargs: dict[str, Any] = {
        "job_id": job["job_id"],
        "version_id": job["version_id"],
        "target_statuses": [10],
        "failure_statuses": FAILURES,
        "poll_interval": POLL,
        "end_time": time.time() + EVENT_TIMEOUT,
        "retry_delay": 0.01,
    }
    kwargs.update(overrides)
    return ModelArtsTrainingJobTrigger(**kwargs)


def recreate(trigger: ModelArtsTrainingJobTrigger) -> ModelArtsTrainingJobTrigger:
    """What the triggerer does after a restart: import the class path, rebuild from stored kwargs."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    recreated: ModelArtsTrainingJobTrigger = cls(**cast(dict[str, Any], deserialize(serialize(kwargs))))
    return recreated


def run_in_thread(coroutine_factory: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run a coroutine in its own event loop (another triggerer) in a background thread."""
    box: dict[str, Any] = {}

    def target() -> None:
        box["event"] = asyncio.run(coroutine_factory())

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


@dataclass(frozen=True)
class Scenario:
    name: str
    timeline: tuple[tuple[int, float | None], ...]
    status: str  # the event both triggers must end with
    job_status: int | None
    deadline_in: float = EVENT_TIMEOUT
    delete_while_down: bool = False


SCENARIOS = (
    Scenario("completes_after_restart", ((8, 3.0), (10, None)), "success", 10),
    Scenario("fails_after_restart", ((8, 3.0), (11, None)), "failed", 11),
    Scenario("deadline_passes_after_restart", ((8, None),), "timeout", 8, deadline_in=2.5),
    Scenario("job_deleted_while_triggerer_down", ((8, None),), "failed", None, delete_while_down=True),
)


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name) for s in SCENARIOS])
def test_trigger_recreated_from_its_serialised_form_reaches_the_same_outcome(
    emu: ModelArtsEmulator, scenario: Scenario
) -> None:
    job = emu.create_job(job_name=f"restart-{scenario.name}", timeline=list(scenario.timeline))
    original = make_trigger(job, end_time=time.time() + scenario.deadline_in)
    # The same trigger in another triggerer that is never interrupted: the reference outcome.
    reference_thread, reference = run_in_thread(lambda: first_event(recreate(original)))

    loops: list[asyncio.AbstractEventLoop] = []

    async def run_then_cancel() -> None:
        loops.append(asyncio.get_running_loop())
        task = asyncio.ensure_future(first_event(original))
        await asyncio.sleep(POLL * 4)  # a few rounds of waiting
        assert not task.done(), "the trigger ended before the restart"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_then_cancel())
    # The cancelled trigger left no poller (no thread, no session) behind in its event loop.
    assert not [key for key in SharedStatusPoller._registry if key[0] is loops[0]]
    if scenario.delete_while_down:
        emu.delete_job(job["job_id"])

    recreated = recreate(original)
    assert recreated.serialize() == original.serialize()  # same job, version, statuses and deadline
    event = asyncio.run(first_event(recreated))
    reference_thread.join(timeout=EVENT_TIMEOUT)
    assert not reference_thread.is_alive()
    expected = reference["event"]

    assert event["status"] == expected["status"] == scenario.status, (event, expected)
    assert event["job_status"] == expected["job_status"] == scenario.job_status
    assert event["version_id"] == expected["version_id"] == job["version_id"]
    if scenario.status == "timeout":
        # The deadline is absolute: the restart did not extend it.
        assert time.time() >= original.end_time  # type: ignore[operator]
    if scenario.status == "success":
        assert event["version"]["status_name"] == expected["version"]["status_name"] == "JOBSTAT_COMPLETED"
    record_result("restart_safety", {"case": scenario.name, "outcome": event["status"]})


def test_two_poke_sensors_on_one_job_each_get_their_own_outcome(emu: ModelArtsEmulator) -> None:
    job = emu.create_job(job_name="two-sensors", timeline=[(7, 0.6), (8, 3.0), (10, None)])
    contexts = [make_context(), make_context()]
    running = ModelArtsTrainingJobSensor(
        task_id="wait_running", job_id=job["job_id"], target_status=8, poke_interval=POLL, timeout=60
    )
    completed = ModelArtsTrainingJobSensor(task_id="wait_done", job_id=job["job_id"], poke_interval=POLL, timeout=60)
    finished: dict[str, float] = {}

    def run(sensor: ModelArtsTrainingJobSensor, context: dict[str, Any]) -> Any:
        result = sensor.execute(context)  # type: ignore[arg-type]
        finished[sensor.task_id] = time.monotonic()
        return result

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(run, running, contexts[0]), pool.submit(run, completed, contexts[1])]
        results = [future.result(timeout=EVENT_TIMEOUT) for future in futures]

    assert results[0]["status"] == 8 and results[1]["status"] == 10
    assert finished["wait_running"] < finished["wait_done"]
    for context in contexts:
        # Each sensor pinned the same version in its own task state, and pushed only its own XComs.
        assert context["ti"].xcom["version_id"] == job["version_id"]
        assert context["task_state_store"].values == {
            f"modelarts_pinned_version_id:{job['job_id']}": {
                "version_id": job["version_id"],
                "max_tries": 0,
                "clear_number": 0,
            }
        }
    record_result("restart_safety", {"case": "two_poke_sensors_same_job", "outcome": "success"})


def test_sensors_that_pinned_different_versions_follow_their_own(emu: ModelArtsEmulator) -> None:
    job = emu.create_job(job_name="pinned-versions", timeline=[(8, 1.5), (10, None)])
    first_context: Any = make_context()
    first = ModelArtsTrainingJobSensor(task_id="first", job_id=job["job_id"], poke_interval=POLL, timeout=60)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first_future = pool.submit(first.execute, first_context)
        deadline = time.monotonic() + 10
        while "version_id" not in first_context["ti"].xcom and time.monotonic() < deadline:
            time.sleep(0.02)
        # A newer version appears while the first sensor waits; it will fail.
        newer = emu.add_version(job["job_id"], timeline=[(8, 0.5), (11, None)])
        second = ModelArtsTrainingJobSensor(task_id="second", job_id=job["job_id"], poke_interval=POLL, timeout=60)
        second_future = pool.submit(second.execute, cast(Any, make_context()))
        with pytest.raises(AirflowFailException, match=f"version {newer['version_id']}"):
            second_future.result(timeout=EVENT_TIMEOUT)
        result = first_future.result(timeout=EVENT_TIMEOUT)
    assert result["version_id"] == job["version_id"] and result["status"] == 10
    record_result("restart_safety", {"case": "two_sensors_pinned_versions", "outcome": "success"})


def test_triggers_sharing_a_poller_do_not_disturb_each_other(emu: ModelArtsEmulator) -> None:
    job = emu.create_job(job_name="shared-poller", timeline=[(7, 0.6), (8, 3.0), (10, None)])

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        running = asyncio.ensure_future(first_event(make_trigger(job, target_statuses=[8])))
        done = asyncio.ensure_future(first_event(make_trigger(job)))
        doomed = asyncio.ensure_future(first_event(make_trigger(job)))
        await asyncio.sleep(POLL * 2)
        assert len(SharedStatusPoller.active()) == 1  # one shared poller for the three watches
        doomed.cancel()  # a third task on the same job is killed: the other two carry on
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return await running, await done

    running_event, done_event = asyncio.run(scenario())
    assert running_event["status"] == "success" and running_event["job_status"] == 8
    assert done_event["status"] == "success" and done_event["job_status"] == 10
    assert SharedStatusPoller.active() == []
    record_result("restart_safety", {"case": "triggers_sharing_a_poller", "outcome": "success"})
