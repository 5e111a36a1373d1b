"""A trigger run the way ``airflow dags test`` runs it: ``asyncio.run(anext(trigger.run(), None))``
(Airflow's ``InProcessTestSupervisor.run_trigger_in_process``), which takes the first event and
leaves ``run()`` suspended, for ``asyncio.run``'s ``shutdown_asyncgens`` to close.

Regression: that shutdown closed the trigger's generator and, at the same time, the generator of
the ``SharedStatusPoller.watching`` context manager the trigger's exit was still running, and
logged "aclose(): asynchronous generator is already running" after every deferred wait of ``make
demo``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller


def _first_event_as_dags_test_takes_it(trigger: Any, caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    async def _run_trigger() -> Any:
        return await anext(trigger.run(), None)

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        event = asyncio.run(_run_trigger())
    assert event is not None
    errors = [record for record in caplog.records if record.name == "asyncio" and record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
    assert "already running" not in caplog.text
    # The shutdown still ran the trigger's exit: its watch left, and the poller closed with it.
    assert SharedStatusPoller.active() == []
    return dict(event.payload)


def test_the_phase_trigger_dropped_after_its_event_closes_without_an_aclose_error(
    emu: ModelArtsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    trigger = ModelArtsTrainingJobPhaseTrigger(
        training_job_id=emu.create_training_job(
            "first-event-v2", [("Running", 0.5), ("Completed", None)], logs={"worker-0": ["epoch 1/1"]}
        )["id"],
        target_phases=["Completed"],
        failure_phases=["Failed"],
        poll_interval=0.2,
        print_log=True,  # the create operator's deferral: the log follower's hook is closed too
    )
    payload = _first_event_as_dags_test_takes_it(trigger, caplog)
    assert payload["status"] == "success" and payload["phase"] == "Completed"


def test_the_v1_trigger_dropped_after_its_event_closes_without_an_aclose_error(
    emu: ModelArtsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    job = emu.create_job(job_name="first-event-v1", timeline=[(8, 0.5), (10, None)])
    trigger = ModelArtsTrainingJobTrigger(
        job_id=job["job_id"],
        version_id=job["version_id"],
        target_statuses=[10],
        failure_statuses=[3],
        poll_interval=0.2,
    )
    payload = _first_event_as_dags_test_takes_it(trigger, caplog)
    assert payload["status"] == "success"
