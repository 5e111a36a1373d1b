"""cloud/v2/phases.py: the documented phases, their classes and order, and the v2 wait built on
them (waiting.conditions' V2_PHASES and PhaseWaitCondition)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.v2 import JobPhase
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.waiting.conditions import V2_PHASES, PhaseWaitCondition
from tests.unit.hooks.fakes import FAILED_JOB, JOB_ID


def test_phases_are_the_documented_eight_in_lifecycle_order() -> None:
    assert [phase.value for phase in JobPhase] == [
        "Creating",
        "Pending",
        "Running",
        "Terminating",
        "Completed",
        "Failed",
        "Terminated",
        "Abnormal",
    ]


def test_phase_classes_tell_progress_success_failure_and_stopped_apart() -> None:
    assert {p for p in JobPhase if p.is_in_progress} == {
        JobPhase.CREATING,
        JobPhase.PENDING,
        JobPhase.RUNNING,
        JobPhase.TERMINATING,
    }
    assert [p for p in JobPhase if p.is_success] == [JobPhase.COMPLETED]
    assert {p for p in JobPhase if p.is_failure} == {JobPhase.FAILED, JobPhase.ABNORMAL, JobPhase.TERMINATED}
    assert [p for p in JobPhase if p.is_stopped] == [JobPhase.TERMINATED]
    assert {p for p in JobPhase if p.is_terminal} == v2.TERMINAL_PHASES == {JobPhase.COMPLETED} | v2.FAILURE_PHASES
    # Terminating is still in progress: the job may end Terminated, or finish first.
    assert JobPhase.TERMINATING.is_in_progress and not JobPhase.TERMINATING.is_stopped


def test_a_phase_equals_and_prints_as_the_api_spelling() -> None:
    assert JobPhase.COMPLETED == "Completed" and "Completed" in {JobPhase.COMPLETED}  # type: ignore[comparison-overlap]
    assert JobPhase.COMPLETED in {"Completed"}
    assert f"{JobPhase.RUNNING}" == str(JobPhase.RUNNING) == "Running"
    assert json.dumps([JobPhase.FAILED]) == '["Failed"]'


def test_undocumented_phases_count_as_in_progress_and_sort_last() -> None:
    assert v2.is_terminal_phase("Completed") and v2.is_terminal_phase("Abnormal")
    assert not v2.is_terminal_phase("Running") and not v2.is_terminal_phase("Queuing")
    assert sorted(["Queuing", "Failed", "Creating"], key=v2.phase_sort_key) == ["Creating", "Failed", "Queuing"]
    assert v2.phase_of({"status": {"phase": "Pending"}}) == "Pending"
    assert v2.phase_of({"status": None}) is None and v2.phase_of({}) is None


def test_the_v2_scheme_fails_on_failed_abnormal_and_terminated_by_default() -> None:
    assert V2_PHASES.default_failures == {"Failed", "Abnormal", "Terminated"}
    wait = PhaseWaitCondition.validate(JOB_ID)
    assert wait.target_statuses == {"Completed"}
    assert wait.failure_statuses == {"Failed", "Abnormal", "Terminated"}
    assert {phase.value for phase in JobPhase if V2_PHASES.is_terminal(phase.value)} == {
        "Completed",
        "Failed",
        "Terminated",
        "Abnormal",
    }


def test_the_v2_wait_judges_a_job_and_names_the_failure() -> None:
    wait = PhaseWaitCondition.validate(JOB_ID.upper(), ["Completed"])
    subject = f"training job {JOB_ID}"
    assert wait.judge_job(FAILED_JOB) == (
        "failed",
        f"{subject} is Failed: a failure phase (secondary phase Failed; task worker-0 exit code 0; "
        "task worker-1 exit code 137 (OOMKilled))",
    )
    assert wait.judge_job({"status": {"phase": "Completed"}}) == ("success", f"{subject} is Completed: a target phase")
    assert wait.judge_job({"status": {"phase": "Running"}}) == (
        "waiting",
        f"{subject} is Running: waiting for Completed",
    )
    assert wait.judge_job({"status": {"phase": "Queuing"}})[0] == "waiting"
    assert wait.judge_job({"status": {}})[0] == "waiting"


def test_a_terminal_phase_outside_both_sets_fails_the_wait() -> None:
    wait = PhaseWaitCondition.validate(JOB_ID, "Completed", failure_phases=["Failed"])
    verdict, message = wait.judge_job({"status": {"phase": "Terminated", "secondary_phase": "Terminated"}})
    assert verdict == "failed"
    assert "Terminated: terminal, and not a target phase (Completed)" in message


def test_waiting_for_a_failure_phase_removes_it_from_the_default_failures() -> None:
    wait = PhaseWaitCondition.validate(JOB_ID, ["terminated", "Failed"])
    assert wait.failure_statuses == {"Abnormal"}
    assert wait.judge("Terminated")[0] == "success"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"training_job_id": "7"}, "training_job_id"),
        ({"target_phases": "Done"}, "target_phases"),
        ({"target_phases": []}, "target_phases"),
        ({"failure_phases": ["Broken"]}, "failure_phases"),
        ({"failure_phases": ["Completed"]}, "failure_phases"),
    ],
)
def test_bad_wait_arguments_name_the_parameter(kwargs: dict[str, Any], parameter: str) -> None:
    arguments: dict[str, Any] = {"training_job_id": JOB_ID, "target_phases": ["Completed"], **kwargs}
    with pytest.raises(ModelArtsValidationError) as error:
        PhaseWaitCondition.validate(**arguments)
    assert error.value.parameter == parameter
