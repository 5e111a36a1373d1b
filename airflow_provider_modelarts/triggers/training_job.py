"""``ModelArtsTrainingJobTrigger``: the deferrable half of :class:`ModelArtsTrainingJobSensor`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.triggers.base import ModelArtsBaseTrigger, TriggerSettings
from airflow_provider_modelarts.triggers.shared_checks import shared_checks
from airflow_provider_modelarts.waiting.conditions import WaitCondition, status_codes, version_result

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from airflow_provider_modelarts.waiting.poller import PollerKey


class ModelArtsTrainingJobTrigger(ModelArtsBaseTrigger):
    """Poll one version of a training job until it reaches a target or a terminal status.

    Emits exactly one event, ``{"status": "success" | "failed" | "timeout" | "error", "message",
    "job_id", "version_id", "job_status", "version"}``. Everything it needs is in its kwargs (JSON
    primitives and the connection id, never a secret) and the deadline is absolute, so the
    triggerer can stop it and re-create it from :meth:`serialize` at any time without changing the
    outcome. Triggers of the same connection and project in one triggerer share their status
    checks through :class:`~airflow_provider_modelarts.waiting.poller.SharedStatusPoller`, each
    read with the connection as it is then. Verdicts and messages come from
    :class:`~airflow_provider_modelarts.waiting.conditions.WaitCondition`, as in poke mode; an
    error no retry can fix ends the wait with ``failed``, a transient one is ridden out until
    ``max_outage``, then the event is ``error``. See ``docs/waiting-and-outages.md``.

    :param job_id: the training job.
    :param version_id: the version (the sensor pins the latest one before deferring).
    :param target_statuses: status codes that end the wait successfully.
    :param failure_statuses: status codes that fail it.
    :param modelarts_conn_id: the ModelArts connection id.
    :param settings: the region, project, workspace, pace, deadline, retry and outage keywords of
        :class:`~airflow_provider_modelarts.triggers.base.ModelArtsBaseTrigger`.
    :param last_status: the status the deferring sensor's own check saw: a timeout before this
        trigger's first check (a triggerer that picks it up late) still reports the last status.
    """

    def __init__(
        self,
        job_id: int,
        version_id: int,
        target_statuses: list[int],
        failure_statuses: list[int],
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        *,
        last_status: int | None = None,
        **settings: Unpack[TriggerSettings],
    ) -> None:
        self.condition = WaitCondition.validate(job_id, version_id, target_statuses, failure_statuses)
        super().__init__(modelarts_conn_id=modelarts_conn_id, **settings)
        self.last_status = last_status

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.condition.job_id,
                "version_id": self.condition.version_id,
                "target_statuses": status_codes(self.condition.target_statuses),
                "failure_statuses": status_codes(self.condition.failure_statuses),
                **self._shared_kwargs(),
                "last_status": self.last_status,
            },
        )

    def _event(
        self, status: str, message: str, detail: dict[str, Any] | None = None, job_status: int | None = None
    ) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                "job_id": self.condition.job_id,
                "version_id": self.condition.version_id,
                "job_status": detail.get("status") if detail else job_status,
                "version": version_result(detail, self.condition.job_id) if detail else None,
            }
        )

    def poller_key(self) -> PollerKey:
        from airflow_provider_modelarts.waiting.poller import PollerKey

        return PollerKey(**self._poller_key_fields())

    async def run(self) -> AsyncIterator[TriggerEvent]:
        job_id, version_id = self.condition.job_id, self.condition.version_id
        assert version_id is not None
        watch = (job_id, version_id)
        # Imported when the trigger runs (in the triggerer), not when a DAG file imports the sensor.
        from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
        from airflow_provider_modelarts.waiting.poller_v1 import v1_source_for

        async with SharedStatusPoller.watching(self.poller_key(), watch, self.poll_interval, v1_source_for) as (
            poller,
            watcher_id,
        ):
            snapshot: dict[str, Any] | None = None
            checks = shared_checks(
                poller,
                watcher_id,
                self.end_time,
                self.condition.judge_error,
                self.outage,
                self.log,
                self._describe(None),
            )
            async with aclosing(checks):
                async for check in checks:
                    if check.timed_out:
                        status = snapshot.get("status") if snapshot else self.last_status
                        message = f"timed out waiting for {self._describe(status)}"
                        yield self._event("timeout", message, snapshot, status if isinstance(status, int) else None)
                        return
                    if check.ended is not None:
                        yield self._event(*check.ended)
                        return
                    current = check.snapshot
                    assert current is not None
                    previous, snapshot = snapshot, current
                    verdict, message = self.condition.judge(int(current.get("status", -1)))
                    if verdict != "waiting":
                        poller.stop_checking(watcher_id)  # no round for it while it reports and leaves
                        # The round's data goes into the event as is: the sensor reads the version
                        # detail on the worker, so hundreds of triggers ending together cost the
                        # triggerer no extra calls.
                        yield self._event(verdict, message, current)
                        return
                    # Log changes only: hundreds of triggers share one round, and a line from each
                    # of them on every round would cost the event loop more than the round itself.
                    if previous is None or previous.get("status") != current.get("status"):
                        self.log.info("%s (shared check %d)", message, check.round)

    def _describe(self, status: object) -> str:
        if isinstance(status, int):
            return self.condition.describe(status)
        return f"training job {self.condition.job_id} version {self.condition.version_id}"
