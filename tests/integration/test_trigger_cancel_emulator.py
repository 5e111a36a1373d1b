"""A cancelled deferred wait of ``ModelArtsTrainingJobPhaseTrigger(terminate_on_kill=True)``, over
real HTTP against the emulator: below Airflow 3.3 the cancelled ``run()`` terminates the job only
when the task instance left DEFERRED (a user's mark failed / success or clear); on a triggerer
restart, an unreadable state or a cancel after the event it leaves the job alone. On 3.3+ the
cancel does nothing and ``on_kill`` terminates it.

The task instance's state is a fake of the Task SDK's ``RuntimeTaskInstance.get_task_states``
(what the triggerer answers through ``GetTaskStates``); terminations are counted at the emulator.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts import version_compat
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from tests.log_capture import capture_task_logs

if TYPE_CHECKING:
    from airflow.sdk import Context

TASK_INSTANCE: dict[str, Any] = {
    "dag_id": "train_dag",
    "task_id": "train",
    "run_id": "manual__2025-01-01",
    "map_index": -1,
}
NEVER_ENDS: list[tuple[str, float | None]] = [("Running", None)]


class FakeStates:
    """``RuntimeTaskInstance.get_task_states`` answering one task instance's state, or raising."""

    def __init__(self, state: str | None = None, error: Exception | None = None) -> None:
        self.state, self.error = state, error
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return {TASK_INSTANCE["run_id"]: {TASK_INSTANCE["task_id"]: self.state}}


@pytest.fixture
def below_3_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on Airflow 3.0 to 3.2: the triggerer never calls the trigger's on_kill."""
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)


@pytest.fixture(autouse=True)
def fast_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airflow_provider_modelarts.waiting.poller.MIN_ROUND_SPACING", 0.05)


def fake_states(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> FakeStates:
    fake = FakeStates(**kwargs)
    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(fake))
    return fake


def job(emu: ModelArtsEmulator, timeline: list[tuple[str, float | None]] = NEVER_ENDS) -> str:
    return str(emu.create_training_job(f"cancel-{uuid.uuid4().hex[:8]}", timeline)["id"])


def trigger(job_id: str, **overrides: Any) -> ModelArtsTrainingJobPhaseTrigger:
    kwargs: dict[str, Any] = {
        "training_job_id": job_id,
        "target_phases": ["Completed"],
        "failure_phases": ["Failed", "Abnormal", "Terminated"],
        "poll_interval": 0.1,
        "retry_limit": 1,
        "retry_delay": 0.01,
        "retry_max_delay": 0.05,
        "end_time": time.time() + 60,
        "terminate_on_kill": True,
        "task_instance": dict(TASK_INSTANCE),
    }
    kwargs.update(overrides)
    return ModelArtsTrainingJobPhaseTrigger(**kwargs)


async def _consume(trigger: ModelArtsTrainingJobPhaseTrigger, events: list[dict[str, Any]]) -> None:
    """What the triggerer's run_trigger does with ``run()``."""
    async for event in trigger.run():
        events.append(dict(event.payload))


def cancel_while_waiting(trigger: ModelArtsTrainingJobPhaseTrigger) -> list[dict[str, Any]]:
    """Run the trigger until its first shared check, then cancel it as the triggerer does; the
    CancelledError must come out of ``run()``. Returns the events it yielded (none)."""

    async def main() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        task = asyncio.create_task(_consume(trigger, events))
        deadline = time.monotonic() + 30
        while not SharedStatusPoller.active() or SharedStatusPoller.active()[0].rounds_run < 1:
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return events

    events = asyncio.run(main())
    assert SharedStatusPoller.active() == []
    return events


def statuses(emu: ModelArtsEmulator, job_id: str) -> list[int]:
    return [entry["status"] for entry in emu.terminations(job_id)]


def _text(entry: dict[str, Any]) -> str:
    event, args = str(entry["event"]), entry.get("positional_args")
    return event % tuple(args) if args else event


# ---------------------------------------------------------------------------------------------
# Airflow 3.0 to 3.2: the cancelled run() decides
# ---------------------------------------------------------------------------------------------


def test_a_triggerer_restart_leaves_the_job_running(
    emu: ModelArtsEmulator, below_3_3: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while the task is still deferred (a restart, or the trigger moved): no terminate."""
    states = fake_states(monkeypatch, state="deferred")
    job_id = job(emu)
    assert cancel_while_waiting(trigger(job_id)) == []
    assert statuses(emu, job_id) == []
    assert states.calls == [
        {
            "dag_id": "train_dag",
            "task_ids": ["train"],
            "run_ids": ["manual__2025-01-01"],
            "map_index": -1,
        }
    ]


@pytest.mark.parametrize(
    "state",
    [
        pytest.param("failed", id="mark-failed"),
        pytest.param("success", id="mark-success"),
        pytest.param(None, id="clear"),
        pytest.param("scheduled", id="scheduled"),
        pytest.param("up_for_retry", id="up-for-retry"),
    ],
)
def test_a_task_no_longer_deferred_terminates_the_job_once(
    emu: ModelArtsEmulator, below_3_3: None, monkeypatch: pytest.MonkeyPatch, state: str | None
) -> None:
    states = fake_states(monkeypatch, state=state)
    job_id = job(emu)
    with capture_task_logs() as entries:
        assert cancel_while_waiting(trigger(job_id)) == []
    assert statuses(emu, job_id) == [202]
    assert len(states.calls) == 1
    assert any(f"Terminated training job {job_id}" in _text(entry) for entry in entries)


def test_a_state_that_cannot_be_read_leaves_the_job_running_with_a_warning(
    emu: ModelArtsEmulator, below_3_3: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_states(monkeypatch, error=RuntimeError("API server unreachable"))
    job_id = job(emu)
    with capture_task_logs() as entries:
        cancel_while_waiting(trigger(job_id))
    assert statuses(emu, job_id) == []
    warnings = [_text(entry) for entry in entries if entry.get("log_level") == "warning"]
    assert len(warnings) == 1
    assert "could not be read" in warnings[0] and "API server unreachable" in warnings[0]
    assert f"training job {job_id} was left running" in warnings[0]
    assert "ModelArts console" in warnings[0] and "API server" in warnings[0]


def test_a_task_instance_airflow_does_not_know_leaves_the_job_running(
    emu: ModelArtsEmulator, below_3_3: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer without this task instance (a deleted DAG run) is no state: nothing is stopped."""
    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(lambda **_: {}))
    job_id = job(emu)
    with capture_task_logs() as entries:
        cancel_while_waiting(trigger(job_id))
    assert statuses(emu, job_id) == []
    assert any("knows no task instance" in _text(entry) for entry in entries if entry.get("log_level") == "warning")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"terminate_on_kill": False}, id="terminate_on_kill-false"),
        pytest.param({"task_instance": None}, id="no-task_instance"),
    ],
)
def test_without_terminate_on_kill_or_task_instance_nothing_is_looked_up_or_stopped(
    emu: ModelArtsEmulator, below_3_3: None, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any]
) -> None:
    states = fake_states(monkeypatch, state="failed")
    job_id = job(emu)
    cancel_while_waiting(trigger(job_id, **overrides))
    assert statuses(emu, job_id) == []
    assert states.calls == []


def test_a_cancel_after_the_event_was_yielded_never_terminates(
    emu: ModelArtsEmulator, below_3_3: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the event is out the task leaves DEFERRED: a cancel then is no kill, whatever the state."""
    states = fake_states(monkeypatch, state="scheduled")
    job_id = job(emu, [("Running", 1), ("Completed", None)])

    async def main() -> dict[str, Any]:
        generator = trigger(job_id).run()
        assert isinstance(generator, AsyncGenerator)
        event = await asyncio.wait_for(generator.__anext__(), timeout=30)
        # The triggerer's task is cancelled while the generator sits at its yield.
        with pytest.raises(asyncio.CancelledError):
            await generator.athrow(asyncio.CancelledError())
        return dict(event.payload)

    event = asyncio.run(main())
    assert event["status"] == "success"
    assert statuses(emu, job_id) == []
    assert states.calls == []
    assert SharedStatusPoller.active() == []


def test_an_older_releases_serialized_kwargs_still_load_and_the_new_one_round_trips(emu: ModelArtsEmulator) -> None:
    job_id = job(emu)
    classpath, kwargs = trigger(job_id).serialize()
    assert kwargs["task_instance"] == TASK_INSTANCE
    again = ModelArtsTrainingJobPhaseTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    old = {key: value for key, value in kwargs.items() if key != "task_instance"}
    assert ModelArtsTrainingJobPhaseTrigger(**old).serialize()[1]["task_instance"] is None


def test_the_triggerers_own_task_instance_does_not_replace_the_kwarg(emu: ModelArtsEmulator) -> None:
    """The triggerer sets BaseTrigger.task_instance to its task instance object after creating the
    trigger: the kwarg lives under another attribute, and is what serialize() writes."""

    class TriggererTaskInstance:
        dag_id, task_id, run_id, map_index = "other_dag", "other_task", "other_run", 3

    created = trigger(job(emu))
    created.task_instance = TriggererTaskInstance()  # type: ignore[assignment]
    assert created.serialize()[1]["task_instance"] == TASK_INSTANCE


# ---------------------------------------------------------------------------------------------
# Airflow 3.3+: on_kill does it, the cancel does not
# ---------------------------------------------------------------------------------------------


def test_on_3_3_a_cancel_looks_nothing_up_and_on_kill_terminates_once(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", True)
    states = fake_states(monkeypatch, state="failed")
    job_id = job(emu)
    created = trigger(job_id)
    cancel_while_waiting(created)  # the triggerer's user-action cancel ...
    assert statuses(emu, job_id) == []
    assert states.calls == []
    asyncio.run(created.on_kill())  # ... then its on_kill
    assert statuses(emu, job_id) == [202]


# ---------------------------------------------------------------------------------------------
# Through the create operator: the kwargs it defers with
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "terminations"), [("failed", [202]), ("deferred", [])])
def test_the_create_operators_deferral_terminates_its_job_on_a_mark_failed_only(
    emu: ModelArtsEmulator,
    below_3_3: None,
    monkeypatch: pytest.MonkeyPatch,
    state: str,
    terminations: list[int],
) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
    from tests.integration.airflow_context import TaskInstanceRuns
    from tests.integration.test_create_operator import RUNS_THEN_COMPLETES, body

    name = f"it-cancel-{uuid.uuid4().hex[:6]}"
    emu.set_create_plan(name, RUNS_THEN_COMPLETES)
    runs = TaskInstanceRuns(task_id="train", map_index=2)
    task = ModelArtsCreateTrainingJobOperator(
        task_id="train", job=body(name), deferrable=True, poll_interval=0.1, print_log=False
    )
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(cast("Context", runs.context()))
    _, kwargs = deferred.value.trigger.serialize()
    ti = runs.context()["ti"]
    assert kwargs["task_instance"] == {"dag_id": ti.dag_id, "task_id": "train", "run_id": ti.run_id, "map_index": 2}
    calls: list[dict[str, Any]] = []

    def get_task_states(**query: Any) -> dict[str, Any]:
        calls.append(query)
        return {ti.run_id: {"train_2": state}}  # a mapped instance's key, as the API server writes it

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(get_task_states))
    resumed = ModelArtsTrainingJobPhaseTrigger(**kwargs)  # as the triggerer re-creates it
    cancel_while_waiting(resumed)
    assert statuses(emu, resumed.condition.training_job_id) == terminations
    assert [call["map_index"] for call in calls] == [2]
