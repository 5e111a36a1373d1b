"""``version_compat.task_instance_state`` and ``safe_to_cancel``: how a cancelled trigger reads its
task instance's state through the Task SDK (the ``GetTaskStates`` message to the triggerer's
supervisor), and what it decides on each Airflow minor.

The supervisor's channel is a fake that records each message and answers as the API server's
``GET /execution/task-instances/states`` does: ``{run_id: {task_id or f"{task_id}_{map_index}": state}}``.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult
from airflow.utils.state import TaskInstanceState

from airflow_provider_modelarts import version_compat
from airflow_provider_modelarts.version_compat import (
    DEFERRED_STATE,
    TaskStateUnavailableError,
    safe_to_cancel,
    task_instance_state,
)

TI: dict[str, Any] = {"dag_id": "train_dag", "task_id": "train", "run_id": "manual__1", "map_index": -1}


class FakeComms:
    """The triggerer's ``SUPERVISOR_COMMS``: answers ``GetTaskStates`` with ``states``."""

    def __init__(self, states: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.states, self.error = states or {}, error
        self.sent: list[Any] = []

    def send(self, msg: Any) -> Any:
        self.sent.append(msg)
        if self.error is not None:
            raise self.error
        assert isinstance(msg, GetTaskStates)
        return TaskStatesResult(task_states=self.states)


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> FakeComms:
    fake = FakeComms()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
    return fake


def test_the_lookup_sends_one_get_task_states_for_exactly_this_task_instance(comms: FakeComms) -> None:
    comms.states = {"manual__1": {"train": "deferred", "other": "failed"}}
    assert task_instance_state(TI) == DEFERRED_STATE == TaskInstanceState.DEFERRED.value
    assert [msg.model_dump(exclude_defaults=True) for msg in comms.sent] == [
        {"dag_id": "train_dag", "task_ids": ["train"], "run_ids": ["manual__1"], "map_index": -1}
    ]


def test_a_mapped_instance_is_read_under_the_key_the_api_server_gives_it(comms: FakeComms) -> None:
    """The API server keys a mapped instance ``f"{task_id}_{map_index}"``, an unmapped one ``task_id``."""
    comms.states = {"manual__1": {"train_3": "failed"}}
    assert task_instance_state({**TI, "map_index": 3}) == "failed"
    assert comms.sent[0].map_index == 3


@pytest.mark.parametrize(
    ("answered", "expected"),
    [
        pytest.param("failed", "failed", id="mark-failed"),
        pytest.param("success", "success", id="mark-success"),
        pytest.param(None, None, id="clear"),
        pytest.param(TaskInstanceState.UP_FOR_RETRY, "up_for_retry", id="enum"),
    ],
)
def test_the_state_comes_back_as_its_string_or_none(comms: FakeComms, answered: Any, expected: str | None) -> None:
    comms.states = {"manual__1": {"train": answered}}
    assert task_instance_state(TI) == expected


def test_a_missing_map_index_means_an_unmapped_instance(comms: FakeComms) -> None:
    comms.states = {"manual__1": {"train": "deferred"}}
    assert task_instance_state({key: value for key, value in TI.items() if key != "map_index"}) == "deferred"
    assert comms.sent[0].map_index == -1


@pytest.mark.parametrize(
    "states",
    [
        pytest.param({}, id="no-run"),
        pytest.param({"manual__1": {}}, id="no-task"),
        pytest.param({"manual__1": {"train_0": "failed"}}, id="only-a-mapped-one"),
    ],
)
def test_an_answer_without_this_task_instance_is_unavailable(comms: FakeComms, states: dict[str, Any]) -> None:
    comms.states = states
    with pytest.raises(TaskStateUnavailableError, match=r"knows no task instance train_dag\.train in run manual__1"):
        task_instance_state(TI)


def test_an_error_of_the_channel_is_unavailable(comms: FakeComms) -> None:
    comms.error = RuntimeError("Response read out of order")
    with pytest.raises(TaskStateUnavailableError, match="RuntimeError: Response read out of order"):
        task_instance_state(TI)


def test_outside_a_triggerer_or_task_the_state_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(task_runner, "SUPERVISOR_COMMS", raising=False)
    with pytest.raises(TaskStateUnavailableError):
        task_instance_state(TI)


@pytest.mark.parametrize("bad", [{}, {"dag_id": "d", "task_id": "t"}, {**TI, "map_index": "x"}])
def test_a_malformed_task_instance_is_unavailable(comms: FakeComms, bad: dict[str, Any]) -> None:
    with pytest.raises(TaskStateUnavailableError, match="not a task instance"):
        task_instance_state(bad)
    assert comms.sent == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("deferred", False),
        ("failed", True),
        ("success", True),
        (None, True),
        ("scheduled", True),
        ("up_for_retry", True),
    ],
)
def test_below_3_3_safe_to_cancel_is_no_longer_deferred(
    comms: FakeComms, monkeypatch: pytest.MonkeyPatch, state: str | None, expected: bool
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    comms.states = {"manual__1": {"train": state}}
    assert safe_to_cancel(TI) is expected
    assert len(comms.sent) == 1


def test_below_3_3_an_unreadable_state_raises_rather_than_deciding(
    comms: FakeComms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    comms.error = RuntimeError("boom")
    with pytest.raises(TaskStateUnavailableError):
        safe_to_cancel(TI)


def test_from_3_3_safe_to_cancel_is_false_without_a_lookup(comms: FakeComms, monkeypatch: pytest.MonkeyPatch) -> None:
    """The triggerer calls on_kill there: the cancel must not terminate a second time."""
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", True)
    comms.states = {"manual__1": {"train": "failed"}}
    assert version_compat.triggerer_calls_on_kill() is True
    assert safe_to_cancel(TI) is False
    assert comms.sent == []


def test_on_the_installed_airflow_the_triggerer_calls_on_kill_from_3_3() -> None:
    assert version_compat.triggerer_calls_on_kill() is (version_compat.AIRFLOW_VERSION >= (3, 3, 0))
