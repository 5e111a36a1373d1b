"""What "waiting for a training job" means, shared by the sensor (poke and reschedule) and the
trigger (deferrable), so every mode reaches the same verdict from the same status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_modelarts import api
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

Verdict = Literal["success", "failed", "waiting"]


def status_codes(statuses: Iterable[int]) -> list[int]:
    """Sorted plain ints: what goes into trigger kwargs and messages."""
    return sorted(int(status) for status in statuses)


@dataclass(frozen=True)
class WaitCondition:
    """The job/version to wait for, and which statuses end the wait how.

    :param job_id: the training job.
    :param version_id: the version; ``None`` until the latest version is pinned.
    :param target_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that end it with a failure. Any other terminal status also
        fails the wait, since the job can no longer reach a target status.
    """

    job_id: int
    version_id: int | None
    target_statuses: frozenset[int]
    failure_statuses: frozenset[int] = field(default_factory=lambda: frozenset(api.FAILURE_STATUSES))

    @classmethod
    def validate(
        cls,
        job_id: object,
        version_id: object,
        target_statuses: object,
        failure_statuses: object,
    ) -> WaitCondition:
        target = api.validate_status_set(target_statuses, "target_status")
        failure = (
            frozenset(api.FAILURE_STATUSES)
            if failure_statuses is None
            else api.validate_status_set(failure_statuses, "failure_statuses")
        )
        overlap = target & failure
        if overlap:
            raise ModelArtsValidationError(
                "failure_statuses",
                "statuses that are not also in target_status (overlap: "
                + ", ".join(api.status_name(code) for code in sorted(overlap))
                + ")",
                status_codes(failure),
            )
        return cls(
            job_id=api.validate_id(job_id, "job_id"),
            version_id=api.validate_optional_positive_int(version_id, "version_id"),
            target_statuses=frozenset(int(code) for code in target),
            failure_statuses=frozenset(int(code) for code in failure),
        )

    def describe(self, status: int) -> str:
        version = f"version {self.version_id}" if self.version_id else "its latest version"
        return f"training job {self.job_id} ({version}) has status {status} ({api.status_name(status)})"

    def judge(self, status: int) -> tuple[Verdict, str]:
        """The verdict for a status, and a message naming the job, the version and the code."""
        description = self.describe(status)
        if status in self.target_statuses:
            return "success", f"{description}: a target status"
        if status in self.failure_statuses:
            return "failed", f"{description}: a failure status"
        if api.is_terminal_code(status):
            wanted = ", ".join(api.status_name(code) for code in status_codes(self.target_statuses))
            return "failed", f"{description}: terminal, and not a target status ({wanted})"
        return "waiting", f"{description}: waiting for " + ", ".join(
            api.status_name(code) for code in status_codes(self.target_statuses)
        )


def version_result(detail: dict[str, Any], job_id: int) -> dict[str, Any]:
    """The version detail as the sensor returns it: API fields plus job_id, job_name, status_name."""
    result = api.job_with_status_name(detail)
    result.setdefault("job_id", job_id)
    result.setdefault("job_name", detail.get("job_name"))
    return result
