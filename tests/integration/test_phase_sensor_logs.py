"""``ModelArtsTrainingJobPhaseSensor(print_log=True)``: the job's log in the task log, in poke and
reschedule mode, across reschedules with and without Airflow 3.3's task state store."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from tests.integration.airflow_context import TaskInstanceRuns
from tests.log_capture import capture_task_logs

LINES = [f"epoch {n}/6" for n in range(1, 7)]


def job_with_log(emu: ModelArtsEmulator) -> str:
    created = emu.create_training_job(
        "sensor-log",
        [("Running", 30), ("Completed", None)],
        logs={"worker-0": [[5 * n, line] for n, line in enumerate(LINES)]},
    )
    return str(created["id"])


def sensor(job_id: str, **kwargs: Any) -> ModelArtsTrainingJobPhaseSensor:
    return ModelArtsTrainingJobPhaseSensor(
        task_id="wait", training_job_id=job_id, print_log=True, poke_interval=1, modelarts_retry_delay=0.01, **kwargs
    )


def streamed(entries: list[dict[str, Any]]) -> list[str]:
    return [str(entry["event"]) for entry in entries if str(entry["event"]).startswith("[worker-0]")]


def test_pokes_print_each_line_once_in_order(emu: ModelArtsEmulator) -> None:
    job_id = job_with_log(emu)
    task = sensor(job_id)
    runs = TaskInstanceRuns(task_id="wait")
    with capture_task_logs() as entries:
        for _ in range(8):
            if task.poke(runs.context()).is_done:
                break
            emu.advance_time(6)
    assert streamed(entries) == [f"[worker-0] {line}" for line in LINES]


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the task state store exists from Airflow 3.3")
def test_reschedules_with_a_task_state_store_repeat_nothing(emu: ModelArtsEmulator) -> None:
    job_id = job_with_log(emu)
    runs = TaskInstanceRuns(task_id="wait")
    with capture_task_logs() as entries:
        for _ in range(8):
            done = sensor(job_id, mode="reschedule").poke(runs.context()).is_done  # a new process each time
            if done:
                break
            runs.reschedule()
            emu.advance_time(6)
    assert streamed(entries) == [f"[worker-0] {line}" for line in LINES]


def test_reschedules_without_a_task_state_store_print_the_log_once_when_the_job_ends(emu: ModelArtsEmulator) -> None:
    """Below Airflow 3.3 nothing keeps the position across reschedules: no poke reads the log
    while the job runs (no request, nothing reprinted), and the poke that sees the end prints
    every line once, unmarked."""
    job_id = job_with_log(emu)
    runs = TaskInstanceRuns(task_id="wait")
    log_requests_while_running = None
    with capture_task_logs() as entries:
        for poke in range(8):
            context = runs.context()
            del context["task_state_store"]
            if poke:
                context["ti"].first_reschedule_date = datetime(2026, 3, 1, tzinfo=timezone.utc)
            if sensor(job_id, mode="reschedule").poke(context).is_done:
                break
            log_requests_while_running = sum("/logs" in entry["path"] for entry in emu.stats()["requests"])
            runs.reschedule()
            emu.advance_time(6)
    assert log_requests_while_running == 0
    assert streamed(entries) == [f"[worker-0] {line}" for line in LINES]
    notices = [entry for entry in entries if "printed when it ends" in str(entry["event"])]
    assert len(notices) == 1  # said once, by the first poke


def test_after_a_ridden_out_outage_the_log_is_read_through_the_sensors_current_hook(emu: ModelArtsEmulator) -> None:
    """A check the outage failed closes the sensor's hook; the follower must not keep reading
    through that closed hook (a session and token cache the end of the try never closes)."""
    job_id = job_with_log(emu)
    task = sensor(job_id, modelarts_retry_limit=0)
    runs = TaskInstanceRuns(task_id="wait")
    with capture_task_logs() as entries:
        assert not task.poke(runs.context()).is_done
        emu.add_fault(kind="status", status=503, path_contains=job_id)
        assert not task.poke(runs.context()).is_done  # ridden out: the hook is closed
        assert "_poke_hook" not in task.__dict__
        emu.clear_faults()
        for _ in range(8):
            emu.advance_time(6)
            done = task.poke(runs.context()).is_done
            assert task._logs is not None and task._logs.reader is task.__dict__["_poke_hook"]
            if done:
                break
    assert streamed(entries) == [f"[worker-0] {line}" for line in LINES]
