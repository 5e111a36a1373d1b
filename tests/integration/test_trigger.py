"""The deferrable trigger over real HTTP against the emulator: when each trigger is checked, which
errors end which triggers, and how each ends (its event matches the sensor's verdict)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from modelarts_emulator import EmulatorConfig, ModelArtsEmulator
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts import api
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.waiting.conditions import WaitCondition
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller, hook_for
from tests.conftest import connection_json

EVENT_KEYS = {"status", "message", "job_id", "version_id", "job_status", "version"}


def _trigger(job: dict[str, Any], **overrides: Any) -> ModelArtsTrainingJobTrigger:
    kwargs: dict[str, Any] = {
        "job_id": job["job_id"],
        "version_id": job["version_id"],
        "target_statuses": [10],
        "failure_statuses": sorted(int(code) for code in api.FAILURE_STATUSES),
        "poll_interval": 0.2,
        "retry_limit": 1,
        "retry_delay": 0.01,
        "retry_max_delay": 0.05,
        "end_time": time.time() + 30,
    }
    kwargs.update(overrides)
    return ModelArtsTrainingJobTrigger(**kwargs)


async def _event(trigger: ModelArtsTrainingJobTrigger) -> dict[str, Any]:
    generator = trigger.run()
    try:
        event = dict((await asyncio.wait_for(generator.__anext__(), timeout=60)).payload)
    finally:
        await generator.aclose()
    assert set(event) == EVENT_KEYS
    return event


def _run_all(*triggers: ModelArtsTrainingJobTrigger) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(_event(trigger) for trigger in triggers)))

    events = asyncio.run(main())
    assert SharedStatusPoller.active() == []
    return events


def test_a_short_interval_trigger_joining_a_long_sleep_is_checked_before_its_deadline(emu: ModelArtsEmulator) -> None:
    """It used to wait out the poller's 30 s sleep and time out, unchecked, after 3 s."""
    slow_job = emu.create_job(job_name="slow-watch", timeline=[(8, None)])

    async def main() -> tuple[dict[str, Any], int]:
        slow = asyncio.ensure_future(_event(_trigger(slow_job, poll_interval=30.0)))
        while not SharedStatusPoller.active() or SharedStatusPoller.active()[0].rounds_run < 1:
            await asyncio.sleep(0.01)
        rounds_before = SharedStatusPoller.active()[0].rounds_run
        fast_job = emu.create_job(job_name="fast-watch", timeline=[(8, 1.8), (10, None)])
        fast = await _event(_trigger(fast_job, poll_interval=1.0, end_time=time.time() + 5))
        rounds = SharedStatusPoller.active()[0].rounds_run - rounds_before
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)
        return fast, rounds

    fast, rounds = asyncio.run(main())
    assert fast["status"] == "success" and fast["job_status"] == 10
    assert rounds >= 2  # checked on its own 1 s rhythm, not the slow watcher's 30 s
    assert SharedStatusPoller.active() == []


def test_an_endless_5xx_on_one_jobs_path_fails_only_its_own_trigger(emu: ModelArtsEmulator) -> None:
    healthy = emu.create_job(job_name="healthy", timeline=[(8, 0.6), (10, None)])
    broken = emu.create_job(job_name="broken", timeline=[(8, None)])
    emu.reset()
    emu.add_fault(kind="status", status=500, path_contains=f"/training-jobs/{broken['job_id']}/")
    # max_outage=0: the first failed check ends the broken job's wait (outages: test_sensor_outage.py).
    healthy_event, broken_event = _run_all(_trigger(healthy), _trigger(broken, max_outage=0))
    assert healthy_event["status"] == "success" and healthy_event["job_status"] == 10
    assert broken_event["status"] == "error" and "HTTP 500" in broken_event["message"]
    assert broken_event["message"].startswith(f"checking training job {broken['job_id']} (version ")
    # The broken job's path was tried twice (retry_limit=1) in the one round that ended its trigger.
    broken_calls = [entry for entry in emu.stats()["requests"] if f"/{broken['job_id']}/" in entry["path"]]
    assert len(broken_calls) == 2


def test_an_auth_error_ends_the_trigger_as_failed_because_no_retry_can_fix_it(emu: ModelArtsEmulator) -> None:
    healthy = emu.create_job(job_name="auth-healthy", timeline=[(8, 0.4), (10, None)])
    forbidden = emu.create_job(job_name="auth-forbidden", timeline=[(8, None)])
    emu.reset()
    emu.add_fault(kind="status", status=403, path_contains=f"/training-jobs/{forbidden['job_id']}/")
    healthy_event, forbidden_event = _run_all(_trigger(healthy), _trigger(forbidden))
    assert healthy_event["status"] == "success"
    assert forbidden_event["status"] == "failed"
    assert "a retry would fail the same way" in forbidden_event["message"] and "HTTP 403" in forbidden_event["message"]
    forbidden_calls = [entry for entry in emu.stats()["requests"] if f"/{forbidden['job_id']}/" in entry["path"]]
    assert len(forbidden_calls) == 1  # never retried: repeated bad credentials lock the AK


def test_events_carry_the_same_verdict_and_message_as_the_sensors_check(emu: ModelArtsEmulator) -> None:
    done = emu.create_job(job_name="msg-done", timeline=[(8, 0.3), (10, None)])
    failed = emu.create_job(job_name="msg-failed", timeline=[(8, 0.3), (11, None)])
    deleted = emu.create_job(job_name="msg-deleted", timeline=[(8, None)])
    emu.delete_job(deleted["job_id"])
    events = _run_all(_trigger(done), _trigger(failed), _trigger(deleted))
    expected = []
    for job, status in ((done, 10), (failed, 11)):
        condition = WaitCondition.validate(job["job_id"], job["version_id"], [10], None)
        expected.append(condition.judge(status))
    assert [(event["status"], event["message"]) for event in events[:2]] == expected
    assert events[2]["status"] == "failed"
    assert events[2]["message"].startswith(
        f"training job {deleted['job_id']} (version {deleted['version_id']}) does not exist: "
    )


def test_retry_max_delay_is_serialized_and_reaches_the_pollers_hook() -> None:
    trigger = ModelArtsTrainingJobTrigger(
        job_id=7, version_id=70, target_statuses=[10], failure_statuses=[11], retry_max_delay=5
    )
    classpath, kwargs = trigger.serialize()
    assert kwargs["retry_max_delay"] == 5.0
    # Everything the trigger serialized before is still there.
    assert {
        "job_id",
        "version_id",
        "target_statuses",
        "failure_statuses",
        "modelarts_conn_id",
        "region",
        "project_id",
        "workspace_id",
        "poll_interval",
        "end_time",
        "retry_limit",
        "retry_delay",
    } <= set(kwargs)
    recreated = ModelArtsTrainingJobTrigger(**kwargs)
    assert recreated.serialize() == (classpath, kwargs)
    assert hook_for(recreated.poller_key()).retry_max_delay == 5.0
    default = ModelArtsTrainingJobTrigger(job_id=7, version_id=70, target_statuses=[10], failure_statuses=[11])
    assert default.serialize()[1]["retry_max_delay"] == api.DEFAULT_RETRY_MAX_DELAY
    assert default.poller_key() != trigger.poller_key()  # different hooks, so different pollers


# -- a poller outlives connection edits ------------------------------------------------------------

MOVING_CONN_ID = "modelarts_moving"
OTHER_AK, OTHER_SK = "NEWAKNEWAKNEWAK00001", "NewSecretKeyForEmulatorB0000000000000000"


def test_a_trigger_deferred_after_the_connection_moved_is_checked_at_the_new_endpoint(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's reproduction: the shared poller kept the connection it read when it was
    created, so a sensor deferred after the user moved the connection (new endpoint, new keys) was
    checked at the old endpoint, with the old keys, for as long as an older trigger kept it alive."""
    variable = f"AIRFLOW_CONN_{MOVING_CONN_ID.upper()}"
    monkeypatch.setenv(
        variable, connection_json(emu, emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY)
    )
    waiting_on_a = emu.create_job(job_name="moving-a", timeline=[(8, None)])
    with ModelArtsEmulator(EmulatorConfig(job_count=3, access_key=OTHER_AK, secret_key=OTHER_SK)) as other:
        done_on_b = other.create_job(job_name="moving-b", timeline=[(10, None)])

        async def main() -> tuple[dict[str, Any], dict[str, Any], int]:
            first = asyncio.ensure_future(
                _event(_trigger(waiting_on_a, modelarts_conn_id=MOVING_CONN_ID, poll_interval=1.0))
            )
            while not SharedStatusPoller.active() or SharedStatusPoller.active()[0].rounds_run < 1:
                await asyncio.sleep(0.01)
            # Between rounds (the next starts a second after this one ended): the user moves the
            # connection to B, with B's keys, and a sensor defers on a job of B.
            monkeypatch.setenv(variable, connection_json(other, OTHER_AK, OTHER_SK))
            served_by_a = emu.stats()["requests_total"]
            other.reset()
            second = await _event(_trigger(done_on_b, modelarts_conn_id=MOVING_CONN_ID, poll_interval=1.0))
            return await first, second, served_by_a

        first, second, served_by_a = asyncio.run(main())
        at_b = other.stats()
    assert SharedStatusPoller.active() == []
    assert second["status"] == "success" and second["job_status"] == 10
    assert second["version"]["version_id"] == done_on_b["version_id"]
    # The trigger deferred before the edit is checked at B too, in the same round: its job is not there.
    assert first["status"] == "failed" and "not found" in first["message"]
    # One round at B: the list (B's size is learnt anew) and the detail of the job it did not show.
    assert at_b["requests_total"] == 2 and at_b["by_endpoint"]["list_jobs"] == 1
    assert at_b["by_endpoint"]["get_version"] == 1
    assert emu.stats()["requests_total"] == served_by_a  # nothing more went to A


def test_a_retry_after_beyond_retry_max_delay_says_why_the_call_was_not_retried(emu: ModelArtsEmulator) -> None:
    job = emu.create_job(job_name="retry-after-too-long", timeline=[(8, None)])
    emu.reset()
    emu.add_fault(kind="status", status=503, retry_after="3600", path_contains=f"/training-jobs/{job['job_id']}/")
    (event,) = _run_all(_trigger(job, retry_limit=2, retry_max_delay=60, max_outage=0))
    assert event["status"] == "error" and "HTTP 503" in event["message"]
    assert "the server asked to retry after 3600 s, longer than modelarts_retry_max_delay 60 s" in event["message"]
    assert emu.stats()["requests_total"] == 1  # not waited for, not retried


def test_a_503_whose_retries_are_spent_does_not_blame_retry_max_delay(emu: ModelArtsEmulator) -> None:
    job = emu.create_job(job_name="retry-after-spent", timeline=[(8, None)])
    emu.reset()
    emu.add_fault(kind="status", status=503, retry_after="3600", path_contains=f"/training-jobs/{job['job_id']}/")
    (event,) = _run_all(_trigger(job, retry_limit=0, retry_max_delay=60, max_outage=0))
    assert event["status"] == "error" and "HTTP 503" in event["message"]
    assert "retry_max_delay" not in event["message"] and emu.stats()["requests_total"] == 1
