"""``ModelArtsTrainingJobTrigger``: the deferrable half of :class:`ModelArtsTrainingJobSensor`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_modelarts.exceptions import ModelArtsError, ModelArtsNotFoundError
from airflow_provider_modelarts.hooks.modelarts import DEFAULT_RETRY_DELAY, DEFAULT_RETRY_LIMIT, ModelArtsHook
from airflow_provider_modelarts.job_wait import WaitCondition, status_codes, version_result


class ModelArtsTrainingJobTrigger(BaseTrigger):
    """Poll one version of a training job until it reaches a target or a terminal status.

    Emits exactly one event, ``{"status": "success" | "failed" | "timeout" | "error", "message",
    "job_id", "version_id", "job_status", "version"}``. Everything it needs is in its kwargs (JSON
    primitives and the connection id, never a secret) and the deadline is absolute, so the
    triggerer can stop it and re-create it from :meth:`serialize` at any time without changing the
    outcome. The blocking HTTP calls run in a worker thread: the event loop is never blocked.

    :param job_id: the training job.
    :param version_id: the version (the sensor pins the latest one before deferring).
    :param target_statuses: status codes that end the wait successfully.
    :param failure_statuses: status codes that fail it.
    :param poll_interval: seconds between checks.
    :param end_time: the deadline as a Unix timestamp; ``None`` for none.
    """

    def __init__(
        self,
        job_id: int,
        version_id: int,
        target_statuses: list[int],
        failure_statuses: list[int],
        modelarts_conn_id: str = ModelArtsHook.default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        retry_limit: int = DEFAULT_RETRY_LIMIT,
        retry_delay: float = DEFAULT_RETRY_DELAY,
    ) -> None:
        super().__init__()
        self.condition = WaitCondition.validate(job_id, version_id, target_statuses, failure_statuses)
        self.modelarts_conn_id = modelarts_conn_id
        self.region = region
        self.project_id = project_id
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.condition.job_id,
                "version_id": self.condition.version_id,
                "target_statuses": status_codes(self.condition.target_statuses),
                "failure_statuses": status_codes(self.condition.failure_statuses),
                "modelarts_conn_id": self.modelarts_conn_id,
                "region": self.region,
                "project_id": self.project_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "retry_limit": self.retry_limit,
                "retry_delay": self.retry_delay,
            },
        )

    def _event(self, status: str, message: str, detail: dict[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                "job_id": self.condition.job_id,
                "version_id": self.condition.version_id,
                "job_status": detail.get("status") if detail else None,
                "version": version_result(detail, self.condition.job_id) if detail else None,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = ModelArtsHook(
            self.modelarts_conn_id,
            region=self.region,
            project_id=self.project_id,
            retry_limit=self.retry_limit,
            retry_delay=self.retry_delay,
        )
        job_id, version_id = self.condition.job_id, self.condition.version_id
        assert version_id is not None
        try:
            while True:
                try:
                    detail = await asyncio.to_thread(hook.get_job_version, job_id, version_id)
                except ModelArtsNotFoundError as error:
                    yield self._event("failed", f"training job {job_id} version {version_id} not found: {error}")
                    return
                except ModelArtsError as error:
                    # The hook's retries are spent: report it, as a poke would fail.
                    yield self._event("error", f"checking training job {job_id} version {version_id}: {error}")
                    return
                verdict, message = self.condition.judge(int(detail.get("status", -1)))
                if verdict != "waiting":
                    yield self._event(verdict, message, detail)
                    return
                remaining = None if self.end_time is None else self.end_time - time.time()
                if remaining is not None and remaining <= 0:
                    yield self._event("timeout", f"timed out: {message}", detail)
                    return
                self.log.info("%s; next check in %.0f s", message, self.poll_interval)
                await asyncio.sleep(self.poll_interval if remaining is None else min(self.poll_interval, remaining))
        finally:
            await asyncio.to_thread(hook.close)
