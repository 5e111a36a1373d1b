"""``ModelArtsTrainingJobSensor``: wait until a training job version reaches a status code."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    conf,
)
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_modelarts import api
from airflow_provider_modelarts.conn_fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.exceptions import ModelArtsError, ModelArtsNotFoundError
from airflow_provider_modelarts.job_wait import WaitCondition, status_codes, version_result
from airflow_provider_modelarts.links import ModelArtsConsoleLink, persist_console_link
from airflow_provider_modelarts.operators.base import ModelArtsTaskMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

# Survives reschedules (XCom does not: a rescheduled try starts with its XComs cleared).
PINNED_VERSION_KEY = "modelarts_pinned_version_id"


class ModelArtsTrainingJobSensor(ModelArtsTaskMixin, BaseSensorOperator):
    """Wait until a version of a ModelArts training job reaches a target status.

    Succeeds when the status is one of ``target_status`` and returns (XCom ``return_value``) the
    version's details plus ``job_id``, ``job_name`` and ``status_name``. Fails at once, without
    using task retries, when the status is a failure status, when the job reaches any other
    terminal status, or when the job or version does not exist. The same ``timeout`` applies in
    poke, reschedule and deferrable mode, counted from the first check.

    :param job_id: the training job id (templated).
    :param version_id: the version to watch (templated). When omitted, the job's latest version
        at the first check is pinned, logged and pushed to XCom (key ``version_id``), so a version
        created later does not switch the target.
    :param target_status: a status code, a :class:`JobStatus`, or a collection of them
        (default ``JobStatus.COMPLETED``).
    :param failure_statuses: statuses that fail the sensor (default: every terminal failure code).
    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``).
    :param modelarts_conn_id: the ModelArts connection id (templated).
    :param region: overrides the connection's region (templated).
    :param project_id: overrides the connection's project (templated).
    :param modelarts_retry_limit: retries of each API call on transient errors (see ``ModelArtsHook``).
    :param modelarts_retry_delay: first backoff delay of those retries, in seconds.
    """

    template_fields: Sequence[str] = ("job_id", "version_id", "modelarts_conn_id", "region", "project_id")
    operator_extra_links = (ModelArtsConsoleLink(),)
    ui_color = "#f5e6ff"

    def __init__(
        self,
        *,
        job_id: int | str,
        version_id: int | str | None = None,
        target_status: int | api.JobStatus | Collection[int] = api.JobStatus.COMPLETED,
        failure_statuses: Collection[int] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        project_id: str | None = None,
        modelarts_retry_limit: int = api.DEFAULT_RETRY_LIMIT,
        modelarts_retry_delay: float = api.DEFAULT_RETRY_DELAY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Refuse bad values at DAG parse time; templated ones are checked once rendered.
        condition = WaitCondition.validate(
            1 if api.is_template(job_id) else job_id,
            None if api.is_template(version_id) else version_id,
            target_status,
            failure_statuses,
        )
        self.job_id = job_id
        self.version_id = version_id
        self.target_statuses = condition.target_statuses
        self.failure_statuses = condition.failure_statuses
        self.deferrable = deferrable
        self.set_connection_args(modelarts_conn_id, region, project_id, modelarts_retry_limit, modelarts_retry_delay)

    def _condition(self, context: Context, hook: ModelArtsHook) -> WaitCondition:
        """The rendered, validated condition, with the version pinned on the first check."""
        condition = WaitCondition.validate(self.job_id, self.version_id, self.target_statuses, self.failure_statuses)
        if condition.version_id is not None:
            return condition
        store = context.get("task_state_store")
        pinned = store.get(PINNED_VERSION_KEY) if store is not None else getattr(self, "_pinned_version", None)
        if pinned is None:
            pinned = self._latest_version(hook, condition.job_id)
            self.log.info("Pinned training job %s to its latest version %s", condition.job_id, pinned)
            self._pinned_version = pinned
            if store is not None:
                store.set(PINNED_VERSION_KEY, pinned)
        return dataclasses.replace(condition, version_id=api.validate_id(pinned, "version_id"))

    def _latest_version(self, hook: ModelArtsHook, job_id: int) -> int:
        try:
            versions = hook.list_job_versions(job_id, per_page=1, page=1).get("versions") or []
        except ModelArtsNotFoundError as error:
            raise AirflowFailException(f"Training job {job_id} does not exist: {error}") from None
        if not versions:
            raise AirflowFailException(f"Training job {job_id} has no versions")
        return int(versions[0]["version_id"])

    def _check(self, context: Context) -> tuple[WaitCondition, dict[str, Any] | None]:
        """One check: the condition (version pinned) and, once the wait succeeded, the result.

        Raises ``AirflowFailException`` (no task retries) for a failure or foreign terminal
        status and for a job or version that does not exist.
        """
        # One hook for all pokes of this try: one session, and one IAM token under password auth.
        hook = self._poke_hook
        try:
            condition = self._condition(context, hook)
            persist_console_link(context, hook, condition.job_id, condition.version_id)
            context["ti"].xcom_push(key="version_id", value=condition.version_id)
            try:
                detail = hook.get_job_version(condition.job_id, condition.version_id)  # type: ignore[arg-type]
            except ModelArtsNotFoundError as error:
                raise AirflowFailException(
                    f"Training job {condition.job_id} version {condition.version_id} does not exist: {error}"
                ) from None
        except BaseException:
            self._close_poke_hook()
            raise
        verdict, message = condition.judge(int(detail.get("status", -1)))
        message = message[0].upper() + message[1:]
        if verdict == "failed":
            raise AirflowFailException(message)
        self.log.info(message)
        return condition, version_result(detail, condition.job_id) if verdict == "success" else None

    @cached_property
    def _poke_hook(self) -> ModelArtsHook:
        return self.hook()

    def _close_poke_hook(self) -> None:
        if "_poke_hook" in self.__dict__:
            self.__dict__.pop("_poke_hook").close()

    def poke(self, context: Context) -> PokeReturnValue:
        _, result = self._check(context)
        return PokeReturnValue(is_done=result is not None, xcom_value=result)

    def execute(self, context: Context) -> Any:
        try:
            return self._execute(context)
        finally:
            self._close_poke_hook()

    def _execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        started = pendulum.now("UTC")
        try:
            # Check once first: a finished job needs no round trip through the triggerer.
            condition, result = self._check(context)
        except AirflowFailException as error:
            if self.soft_fail:
                raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
            raise
        if result is not None:
            return result
        # Imported only when deferring: the trigger pulls in Airflow's triggerer base classes.
        from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger

        self.defer(
            trigger=ModelArtsTrainingJobTrigger(
                job_id=condition.job_id,
                version_id=condition.version_id,  # type: ignore[arg-type]
                target_statuses=status_codes(condition.target_statuses),
                failure_statuses=status_codes(condition.failure_statuses),
                modelarts_conn_id=self.modelarts_conn_id,
                region=self.region,
                project_id=self.project_id,
                poll_interval=self.poke_interval,
                end_time=started.add(seconds=self.timeout).timestamp(),
                retry_limit=self.modelarts_retry_limit,
                retry_delay=self.modelarts_retry_delay,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event: return the version data, or raise."""
        if not event:
            raise AirflowException("The ModelArts trigger ended without an event")
        status, message = event.get("status"), str(event.get("message", ""))
        if status == "success":
            self.log.info(message)
            return self._version_data(event)
        if status == "failed":
            raise AirflowFailException(message)
        if status == "timeout":
            raise AirflowSensorTimeout(message)
        raise AirflowException(f"Waiting for the training job failed: {message}")

    def _version_data(self, event: dict[str, Any]) -> dict[str, Any]:
        """The version detail, read here on the worker rather than by the shared trigger rounds.

        The wait succeeded on the status in the event; if the detail cannot be read now, the
        event's data (from the status round) is returned rather than failing a finished wait.
        """
        polled: dict[str, Any] = event.get("version") or {}
        hook = self.hook()
        try:
            detail = hook.get_job_version(event["job_id"], event["version_id"])
        except ModelArtsError as error:
            self.log.warning("Could not read the version detail (%s); returning the polled data", error)
            return polled
        finally:
            hook.close()
        # The outcome was decided on the polled status; keep it if the job has moved on since.
        return version_result({**detail, "status": polled.get("status", detail.get("status"))}, event["job_id"])
