"""Deferred waits on a temporary-credential connection: 500 triggers in one event loop (as in one
triggerer) share one credential cache, so each renewal is exactly one metadata call; none of their
requests goes out with expired credentials; their kwargs carry no credentials."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.hooks import credentials
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from tests.integration.conftest import first_event

CONN_ID = "modelarts_fleet_metadata"
WATCHERS = 500
# Long enough that a request signed just before renewal falls due still arrives in time on a loaded
# 2-core machine (renewal is due halfway through such short lives).
LIFETIME = 3.0


@pytest.fixture
def metadata_connection(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    extra = {"region": emulator_config.DEFAULT_REGION, "endpoint": emu.url, "iam_endpoint": emu.url,
             "auth_type": "metadata", "metadata_url": emu.url, "timeout": 20}  # fmt: skip
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({"conn_type": "modelarts", "extra": extra}))
    credentials.forget_all()
    yield
    credentials.forget_all()


def _trigger(job: dict[str, Any], retry_delay: float) -> ModelArtsTrainingJobTrigger:
    return ModelArtsTrainingJobTrigger(
        modelarts_conn_id=CONN_ID,
        job_id=job["job_id"],
        version_id=job["version_id"],
        target_statuses=[10],
        failure_statuses=[3, 5, 6],
        poll_interval=0.3,
        # Two retry settings: two pollers, two hooks, and still one credential cache.
        retry_delay=retry_delay,
        end_time=time.time() + 120,
    )


def test_500_triggers_make_one_metadata_call_per_renewal_and_no_expired_request(
    emu: ModelArtsEmulator, metadata_connection: None
) -> None:
    jobs = [
        emu.create_job(job_name=f"creds-fleet-{i}", timeline=[(8, 3.3 * LIFETIME), (10, None)]) for i in range(WATCHERS)
    ]
    emu.set_credential_settings(temporary_credential_seconds=LIFETIME)
    issued_before = len(emu.temporary_credentials())
    triggers = [_trigger(job, 0.01 if index % 2 else 0.02) for index, job in enumerate(jobs)]
    for trigger in triggers:  # what the triggerer stores: the connection id, never a credential
        serialized = json.dumps(trigger.serialize()[1], default=str)
        assert CONN_ID in serialized and "secret" not in serialized.lower()

    async def main() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(first_event(trigger) for trigger in triggers)))

    events = asyncio.run(main())
    assert SharedStatusPoller.active() == []
    assert [event["status"] for event in events] == ["success"] * WATCHERS

    stats = emu.stats()
    issued = emu.temporary_credentials()[issued_before:]
    renewals = stats["by_endpoint"]["metadata_securitykey"]
    assert renewals >= 3, "the wait outlived several credential lifetimes"
    assert renewals == len(issued)  # exactly one metadata call per renewal, for all 500
    assert stats["by_endpoint"]["metadata_token"] == 1 and stats["by_endpoint"]["iam_projects"] == 1
    assert stats["expired_credential_refusals"] == 0 and stats["auth_failures"] == 0
