"""Coalesced polling: many triggers in one event loop share their status checks, and each still
gets exactly its own job's outcome. Request counts are read at the emulator."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import Any

from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller

FAILURES = [3, 5, 6, 11, 12, 13, 14, 16, 17, 21, 22]


def _trigger(job_id: int, version_id: int, **overrides: Any) -> ModelArtsTrainingJobTrigger:
    kwargs: dict[str, Any] = {
        "job_id": job_id,
        "version_id": version_id,
        "target_statuses": [10],
        "failure_statuses": FAILURES,
        "poll_interval": 0.3,
        "retry_delay": 0.01,
        "end_time": time.time() + 60,
    }
    kwargs.update(overrides)
    return ModelArtsTrainingJobTrigger(**kwargs)


async def _event(trigger: ModelArtsTrainingJobTrigger) -> dict[str, Any]:
    generator = trigger.run()
    try:
        return dict((await asyncio.wait_for(generator.__anext__(), timeout=60)).payload)
    finally:
        await generator.aclose()


def _run_all(triggers: list[ModelArtsTrainingJobTrigger]) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(_event(trigger) for trigger in triggers)))

    events = asyncio.run(main())
    assert SharedStatusPoller.active() == []  # nothing outlives its last user
    return events


def _requests(emu: ModelArtsEmulator) -> Counter[str]:
    return Counter(
        entry["path"].rsplit("/", 2)[-1] if "versions" in entry["path"] else "list" for entry in emu.stats()["requests"]
    )


def test_many_triggers_share_one_list_round_per_interval(emu: ModelArtsEmulator) -> None:
    jobs = []
    for index in range(20):
        final = 11 if index % 4 == 0 else 10
        jobs.append(
            (emu.create_job(job_name=f"fleet-{index}", timeline=[(8, 0.8 + index * 0.02), (final, None)]), final)
        )
    emu.reset()
    events = _run_all([_trigger(job["job_id"], job["version_id"]) for job, _ in jobs])

    for (job, final), event in zip(jobs, events, strict=True):
        assert event["job_id"] == job["job_id"] and event["version_id"] == job["version_id"]
        assert event["status"] == ("success" if final == 10 else "failed")
        assert event["job_status"] == final and event["version"]["version_id"] == job["version_id"]

    stats = emu.stats()
    log = stats["requests"]
    list_indexes = [i for i, entry in enumerate(log) if entry["path"].endswith("/training-jobs")]
    rounds = sum(1 for i in list_indexes if "&page=1&" in f"&{log[i]['query']}&")
    # Each round reads the whole list once for all 20 watchers. How many rounds there are depends on
    # how fast this machine gets to them (under load, one round may already see every job ended).
    assert rounds >= 1 and len(list_indexes) == rounds * math.ceil(2345 / 1000)
    # Nothing else but per-job rounds, which happen only once so few watchers are left that they
    # cost less than the list: after the last list round. Ending triggers make no extra calls.
    details = [i for i, entry in enumerate(log) if entry["path"].count("/versions/") == 1]
    assert all(i > list_indexes[-1] for i in details) and len(details) <= 3 * 3
    assert stats["requests_total"] == len(list_indexes) + len(details)


def test_few_watchers_in_a_big_project_use_per_job_calls(emu: ModelArtsEmulator) -> None:
    first = emu.create_job(job_name="few-1", timeline=[(8, 0.7), (10, None)])
    second = emu.create_job(job_name="few-2", timeline=[(8, 0.7), (10, None)])
    emu.reset()
    events = _run_all(
        [_trigger(first["job_id"], first["version_id"]), _trigger(second["job_id"], second["version_id"])]
    )
    assert [event["status"] for event in events] == ["success", "success"]
    stats = emu.stats()
    # Only the first round reads one list page, to learn the project's size (2345 jobs: 3 pages);
    # from then on 2 per-job calls a round are cheaper than the list.
    assert stats["by_endpoint"]["list_jobs"] == 1
    detail_calls = stats["by_endpoint"]["get_version"]
    assert detail_calls % 2 == 0 and detail_calls >= 4


def test_watchers_of_older_versions_share_one_versions_call_per_job(emu: ModelArtsEmulator) -> None:
    job = emu.create_job(job_name="versions-shared", timeline=[(8, 0.7), (10, None)])
    newer = emu.add_version(job["job_id"], timeline=[(8, None)])
    emu.reset()
    triggers = [_trigger(job["job_id"], job["version_id"]) for _ in range(3)]
    # Past the third round (rounds start at least MIN_ROUND_SPACING, 1 s, apart), which only the
    # newest version's watcher is left for.
    triggers.append(_trigger(job["job_id"], newer["version_id"], end_time=time.time() + 3.0))
    events = _run_all(triggers)
    assert [event["status"] for event in events] == ["success", "success", "success", "timeout"]
    assert events[3]["job_status"] == 8
    stats = emu.stats()
    # While all four waited, each round was one versions call; once only the newest version's
    # watcher was left, one detail call a round.
    paths = [entry["path"] for entry in stats["requests"]]
    versions_calls = [i for i, path in enumerate(paths) if path.endswith("/versions")]
    detail_calls = [i for i, path in enumerate(paths) if path.count("/versions/") == 1]
    assert len(versions_calls) >= 2 and detail_calls and min(detail_calls) > max(versions_calls)
    assert stats["by_endpoint"]["list_jobs"] == 0 and len(paths) == len(versions_calls) + len(detail_calls)


def test_a_cancelled_trigger_does_not_disturb_the_others(emu: ModelArtsEmulator) -> None:
    jobs = [emu.create_job(job_name=f"cancel-{i}", timeline=[(8, 1.0), (10, None)]) for i in range(3)]

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(_event(_trigger(job["job_id"], job["version_id"]))) for job in jobs]
        await asyncio.sleep(0.5)
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[1], asyncio.CancelledError)
    assert results[0]["status"] == results[2]["status"] == "success"
    assert SharedStatusPoller.active() == []


def test_a_failed_round_reaches_every_watcher_as_an_error_not_an_outcome(emu: ModelArtsEmulator) -> None:
    jobs = [emu.create_job(job_name=f"round-error-{i}", timeline=[(10, None)]) for i in range(2)]
    emu.reset()
    emu.add_fault(kind="status", status=500)
    # max_outage=0: the failed round ends both waits (riding it out: test_sensor_outage.py).
    events = _run_all([_trigger(job["job_id"], job["version_id"], retry_limit=1, max_outage=0) for job in jobs])
    assert [event["status"] for event in events] == ["error", "error"]
    assert all("HTTP 500" in event["message"] for event in events)
    assert emu.stats()["requests_total"] == 2  # one round: its first list call, tried twice (retry_limit=1)


def test_a_job_deleted_while_waiting_fails_only_its_own_trigger(emu: ModelArtsEmulator) -> None:
    kept = emu.create_job(job_name="kept", timeline=[(8, 1.0), (10, None)])
    doomed = emu.create_job(job_name="doomed", timeline=[(8, None)])

    async def main() -> list[dict[str, Any]]:
        tasks = [
            asyncio.ensure_future(_event(_trigger(kept["job_id"], kept["version_id"]))),
            asyncio.ensure_future(_event(_trigger(doomed["job_id"], doomed["version_id"]))),
        ]
        await asyncio.sleep(0.5)
        emu.delete_job(doomed["job_id"])
        return list(await asyncio.gather(*tasks))

    kept_event, doomed_event = asyncio.run(main())
    assert kept_event["status"] == "success"
    assert doomed_event["status"] == "failed" and "not found" in doomed_event["message"]
