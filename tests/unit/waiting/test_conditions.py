"""The wait condition: verdicts and messages shared by the sensor and the trigger, for v1 status
codes and for any other status type."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from airflow_provider_modelarts import api
from airflow_provider_modelarts.exceptions import (
    ModelArtsAuthError,
    ModelArtsConnectionConfigError,
    ModelArtsNotFoundError,
    ModelArtsServerError,
    ModelArtsThrottledError,
    ModelArtsTransportError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.waiting.conditions import (
    V1_STATUSES,
    StatusScheme,
    StatusWait,
    WaitCondition,
    is_permanent,
    status_codes,
)

FAILED, KILLED, COMPLETED = int(api.JobStatus.FAILED), int(api.JobStatus.KILLED), int(api.JobStatus.COMPLETED)


def test_waiting_for_a_failure_status_with_the_default_failures_is_allowed() -> None:
    """target_status=FAILED used to blame failure_statuses, which the user never set."""
    condition = WaitCondition.validate(7, 70, api.JobStatus.FAILED, None)
    assert condition.failure_statuses == frozenset(int(code) for code in api.FAILURE_STATUSES) - {FAILED}
    assert condition.judge(FAILED) == (
        "success",
        "training job 7 (version 70) has status 11 (JOBSTAT_FAILED): a target status",
    )
    assert condition.judge(KILLED)[0] == "failed"
    # Completed is terminal and not the target: waiting for a failure, a success is not one.
    verdict, message = condition.judge(COMPLETED)
    assert verdict == "failed" and message.endswith("terminal, and not a target status (JOBSTAT_FAILED)")


def test_overlapping_statuses_the_user_gave_name_both_parameters() -> None:
    with pytest.raises(ModelArtsValidationError) as raised:
        WaitCondition.validate(7, 70, [COMPLETED, FAILED], [FAILED, KILLED])
    message = str(raised.value)
    assert raised.value.parameter == "failure_statuses"
    assert (
        "target_status" in message
        and "(overlap: JOBSTAT_FAILED); remove each from failure_statuses or from target_status" in message
    )
    assert ". ." not in message and ".." not in message


def test_chosen_failure_statuses_are_kept_as_given() -> None:
    condition = WaitCondition.validate("7", "70", [COMPLETED], [KILLED])
    assert (condition.job_id, condition.version_id) == (7, 70)
    assert condition.failure_statuses == {KILLED}
    assert condition.judge(FAILED)[0] == "failed"  # terminal, not a target
    assert condition.judge(8) == (
        "waiting",
        "training job 7 (version 70) has status 8 (JOBSTAT_RUNNING): waiting for JOBSTAT_COMPLETED",
    )


def test_describe_and_status_codes_keep_their_v1_form() -> None:
    condition = WaitCondition.validate(7, None, [COMPLETED], None)
    assert condition.describe(8) == "training job 7 (its latest version) has status 8 (JOBSTAT_RUNNING)"
    assert status_codes({api.JobStatus.FAILED, 3}) == [3, 11]
    assert condition.scheme is V1_STATUSES


@pytest.mark.parametrize(
    "error",
    [
        ModelArtsAuthError(403, "APIGW.0302", "The IAM user is not authorized to access the API"),
        ModelArtsValidationError("job_id", "a positive integer", 0),
        ModelArtsConnectionConfigError("modelarts_default", "project_id", "is missing"),
    ],
    ids=["auth", "validation", "config"],
)
def test_errors_no_retry_can_fix_fail_the_wait(error: Exception) -> None:
    condition = WaitCondition.validate(7, 70, [COMPLETED], None)
    verdict, message = condition.judge_error(error)
    assert is_permanent(error) and verdict == "failed"
    assert message == f"checking training job 7 (version 70) failed, and a retry would fail the same way: {error}"


def test_a_missing_job_fails_the_wait_and_says_so() -> None:
    error = ModelArtsNotFoundError(404, "ModelArts.0104", "Training job (ID: 7) not found")
    assert WaitCondition.validate(7, 70, [COMPLETED], None).judge_error(error) == (
        "failed",
        f"training job 7 (version 70) does not exist: {error}",
    )


@pytest.mark.parametrize(
    "error",
    [
        ModelArtsServerError(503, "APIGW.0613", "unavailable"),
        ModelArtsThrottledError(429, "APIGW.0308", "throttled"),
        ModelArtsTransportError("connection refused"),
    ],
    ids=["5xx", "throttled", "transport"],
)
def test_transient_errors_whose_retries_are_spent_are_errors_not_outcomes(error: Exception) -> None:
    verdict, message = WaitCondition.validate(7, 70, [COMPLETED], None).judge_error(error)
    assert not is_permanent(error) and verdict == "error"
    assert message == f"checking training job 7 (version 70) failed: {error}"


# A v2-like wait: string job ids and string phases, on the same rules.
PHASES = ["Creating", "Pending", "Running", "Terminating", "Completed", "Failed", "Terminated", "Abnormal"]
V2_PHASES: StatusScheme[str] = StatusScheme(
    label=str,
    name=str,
    is_terminal=lambda phase: phase in {"Completed", "Failed", "Terminated", "Abnormal"},
    sort_key=PHASES.index,
    default_failures=frozenset({"Failed", "Abnormal"}),
)


@dataclass(frozen=True)
class PhaseWait(StatusWait[str]):
    job_id: str
    target_statuses: frozenset[str]
    failure_statuses: frozenset[str]

    @property
    def scheme(self) -> StatusScheme[str]:
        return V2_PHASES

    @property
    def subject(self) -> str:
        return f"training job {self.job_id}"


def test_the_rules_hold_for_string_phases() -> None:
    job_id = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"
    target = frozenset({"Completed"})
    wait = PhaseWait(job_id, target, V2_PHASES.split(target, None, "target_phase", "failure_phases"))
    assert wait.judge("Completed") == ("success", f"training job {job_id} has status Completed: a target status")
    assert wait.judge("Abnormal")[0] == "failed"
    assert wait.judge("Terminated") == (
        "failed",
        f"training job {job_id} has status Terminated: terminal, and not a target status (Completed)",
    )
    assert wait.judge("Running") == ("waiting", f"training job {job_id} has status Running: waiting for Completed")
    failed_target = frozenset({"Failed"})
    assert V2_PHASES.split(failed_target, None, "target_phase", "failure_phases") == {"Abnormal"}
    with pytest.raises(ModelArtsValidationError, match="target_phase"):
        V2_PHASES.split(failed_target, frozenset({"Failed"}), "target_phase", "failure_phases")


def test_a_finished_review_ends_the_wait_instead_of_hanging_until_the_timeout() -> None:
    # Status 20 ("review finished") never moves on: waiting for COMPLETED must fail at once and
    # say how to accept it, while a user who targets 20 succeeds.
    default = WaitCondition.validate(1, 1, api.JobStatus.COMPLETED, None)
    verdict, message = default.judge(int(api.JobStatus.CHECK_RUNNING_COMPLETED))
    assert verdict == "failed"
    assert "terminal, and not a target status" in message
    accepting = WaitCondition.validate(1, 1, [api.JobStatus.COMPLETED, api.JobStatus.CHECK_RUNNING_COMPLETED], None)
    assert accepting.judge(20)[0] == "success"
