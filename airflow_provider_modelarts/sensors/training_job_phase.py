"""``ModelArtsTrainingJobPhaseSensor``: wait until a v2 training job reaches a phase."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

import pendulum
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    conf,
)
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_modelarts import api, v2
from airflow_provider_modelarts.conn_fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.exceptions import ModelArtsError
from airflow_provider_modelarts.job_wait import PhaseWaitCondition
from airflow_provider_modelarts.operators.base import ModelArtsTaskMixin, resolved_at_runtime
from airflow_provider_modelarts.outage import (
    DEFAULT_MAX_OUTAGE,
    OUTAGE_STARTED_KEY,
    Outage,
    load_outage,
    outage_key,
    record_failed_check,
    save_outage,
    validate_max_outage,
)
from airflow_provider_modelarts.sensors.base import sentence, skip_or_raise
from airflow_provider_modelarts.version_compat import TaskDeferralTimeout

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

__all__ = ["OUTAGE_STARTED_KEY", "ModelArtsTrainingJobPhaseSensor"]
# Stands in for a training_job_id Airflow resolves at run time, for the checks at DAG parse time.
_PLACEHOLDER_JOB_ID = "00000000-0000-0000-0000-000000000000"
# Errors a task retry cannot fix: under soft_fail they skip the task (as for the v1 sensor).


class ModelArtsTrainingJobPhaseSensor(ModelArtsTaskMixin, BaseSensorOperator):
    """Wait until a v2 ModelArts training job (UUID id, string ``status.phase``) reaches a target phase.

    Succeeds on a phase in ``target_phases`` and returns (XCom ``return_value``) a compact summary
    (:func:`~airflow_provider_modelarts.v2.job_summary`): ``id``, ``name``, ``phase``,
    ``duration`` and the other row fields, ``task_statuses`` (each task's exit code and message)
    and ``outputs`` (the output OBS paths by channel). Fails at once, without task retries, on a
    phase in ``failure_phases``, on any other terminal phase, and when the job does not exist; the
    message names the phase, ``secondary_phase`` and each task's exit code and message. Poke,
    reschedule and deferrable mode reach the same verdict with the same message, and apply
    ``timeout``, ``soft_fail`` and ``never_fail`` alike (as the v1 sensor does).

    API outages are ridden out: a check that fails with a transient error (5xx, 429, timeout,
    connection error) once the hook's retries are spent is logged and the wait goes on, until the
    failed checks have lasted ``max_outage``; then the task fails as any error fails it, so its
    retries apply. Authentication, validation and not-found errors are never ridden out.

    :param training_job_id: the job's UUID (templated).
    :param target_phases: a phase or several (default ``("Completed",)``); any case.
    :param failure_phases: phases that fail the sensor (default: Failed, Abnormal and Terminated,
        minus the targets).
    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``); ``mode="reschedule"`` has no effect with it.
    :param max_outage: how long a run of failed checks is ridden out: a ``timedelta`` or seconds
        (default 15 minutes; 0 fails at the first failed check, as the v1 sensor does).
    :param modelarts_conn_id: the ModelArts connection id (templated).
    :param region: overrides the connection's region (templated).
    :param project_id: overrides the connection's project (templated).
    :param workspace_id: the workspace the deferrable mode's shared search looks in (templated;
        default: the connection's). A job elsewhere is still found, read on its own.
    :param modelarts_retry_limit: retries of each API call on transient errors (see ``ModelArtsHook``).
    :param modelarts_retry_delay: first backoff delay of those retries, in seconds.
    :param modelarts_retry_max_delay: longest wait between those retries, in seconds.
    """

    template_fields: Sequence[str] = ("training_job_id", "modelarts_conn_id", "region", "project_id", "workspace_id")
    ui_color = "#f5e6ff"

    def __init__(
        self,
        *,
        training_job_id: str,
        target_phases: str | Collection[str] = (v2.JobPhase.COMPLETED.value,),
        failure_phases: Collection[str] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        project_id: str | None = None,
        workspace_id: str | None = None,
        modelarts_retry_limit: int = api.DEFAULT_RETRY_LIMIT,
        modelarts_retry_delay: float = api.DEFAULT_RETRY_DELAY,
        modelarts_retry_max_delay: float = api.DEFAULT_RETRY_MAX_DELAY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Refuse bad literal values at DAG parse time; a templated id is checked once resolved.
        condition = PhaseWaitCondition.validate(
            _PLACEHOLDER_JOB_ID if resolved_at_runtime(training_job_id) else training_job_id,
            target_phases,
            failure_phases,
        )
        self.training_job_id = training_job_id
        self.target_phases = condition.target_statuses
        self.failure_phases = condition.failure_statuses
        if workspace_id is not None and not resolved_at_runtime(workspace_id):
            v2.validate_workspace_id(workspace_id)
        self.deferrable = deferrable
        self.max_outage = validate_max_outage(max_outage)
        self.workspace_id = workspace_id
        self.set_connection_args(
            modelarts_conn_id,
            region,
            project_id,
            modelarts_retry_limit,
            modelarts_retry_delay,
            modelarts_retry_max_delay,
        )
        if deferrable and self.mode == "reschedule":
            warnings.warn(
                f"ModelArtsTrainingJobPhaseSensor {self.task_id!r}: mode='reschedule' has no effect with "
                "deferrable=True; the sensor waits in the triggerer, which frees the worker slot already. "
                "Drop mode='reschedule', or set deferrable=False to reschedule instead.",
                UserWarning,
                stacklevel=2,
            )

    def _condition(self) -> PhaseWaitCondition:
        """The condition with the resolved ``training_job_id``, validated before any request
        (and ``workspace_id``, which the deferrable mode's search uses)."""
        if self.workspace_id is not None:
            self.workspace_id = v2.validate_workspace_id(self.workspace_id)
        return PhaseWaitCondition.validate(self.training_job_id, self.target_phases, self.failure_phases)

    # ------------------------------------------------------------------ the outage, across tries

    def _outage(self, context: Context, condition: PhaseWaitCondition) -> Outage:
        return load_outage(context, outage_key(condition.training_job_id), self.max_outage, self)

    def _save_outage(self, context: Context, condition: PhaseWaitCondition, outage: Outage) -> None:
        save_outage(context, outage_key(condition.training_job_id), outage, self)

    # ------------------------------------------------------------------ checks

    def _check(self, context: Context) -> tuple[PhaseWaitCondition, dict[str, Any] | None, Outage]:
        """One check: the condition, the summary once the wait succeeded, and the outage state.

        Raises ``AirflowFailException`` (no task retries) on a failure or foreign terminal phase
        and for a job that does not exist; a transient error past ``max_outage`` as it is.
        """
        condition = self._condition()
        outage = self._outage(context, condition)
        hook = self._poke_hook
        try:
            job = hook.get_training_job(condition.training_job_id)
        except ModelArtsError as error:
            self._close_poke_hook()
            error_verdict, error_message = condition.judge_error(error)
            if error_verdict == "failed":
                raise AirflowFailException(sentence(error_message)) from error
            rides_out, message = record_failed_check(outage, sentence(error_message))
            self._save_outage(context, condition, outage)
            if rides_out:
                self.log.warning(message)
                return condition, None, outage
            raise AirflowException(message) from error
        except BaseException:
            self._close_poke_hook()
            raise
        if outage.succeeded_check():
            self.log.info("%s answered again: the API outage is over", condition.subject)
            self._save_outage(context, condition, outage)
        verdict, message = condition.judge_job(job)
        message = sentence(message)
        if verdict == "failed":
            raise AirflowFailException(message)
        self.log.info(message)
        return condition, v2.job_summary(job) if verdict == "success" else None, outage

    @cached_property
    def _poke_hook(self) -> ModelArtsHook:
        return self.hook()

    def _close_poke_hook(self) -> None:
        if "_poke_hook" in self.__dict__:
            self.__dict__.pop("_poke_hook").close()

    def _skip_or_raise(self, error: BaseException) -> NoReturn:
        skip_or_raise(error, soft_fail=self.soft_fail, never_fail=self.never_fail)

    def poke(self, context: Context) -> PokeReturnValue:
        try:
            _, result, _ = self._check(context)
        except Exception as error:
            self._skip_or_raise(error)
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
            condition, result, outage = self._check(context)
        except Exception as error:
            self._skip_or_raise(error)
        if result is not None:
            return result
        from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger

        self.defer(
            trigger=ModelArtsTrainingJobPhaseTrigger(
                training_job_id=condition.training_job_id,
                target_phases=condition.scheme.ordered(condition.target_statuses),
                failure_phases=condition.scheme.ordered(condition.failure_statuses),
                modelarts_conn_id=self.modelarts_conn_id,
                region=self.region,
                project_id=self.project_id,
                workspace_id=self.workspace_id,
                poll_interval=self.poke_interval,
                end_time=started.add(seconds=self.timeout).timestamp(),
                retry_limit=self.modelarts_retry_limit,
                retry_delay=self.modelarts_retry_delay,
                retry_max_delay=self.modelarts_retry_max_delay,
                max_outage=self.max_outage,
                outage_started_at=outage.started_at,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral, with ``soft_fail``/``never_fail`` applied as in poke mode."""
        try:
            try:
                return super(BaseSensorOperator, self).resume_execution(next_method, next_kwargs, context)
            except TaskDeferralTimeout as error:
                raise AirflowSensorTimeout(*error.args) from error
        except Exception as error:
            self._skip_or_raise(error)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event: return the job summary, or raise."""
        if not event:
            raise AirflowException("The ModelArts trigger ended without an event")
        status, message = event.get("status"), sentence(str(event.get("message", "")))
        if status == "success":
            self.log.info(message)
            return event.get("summary")
        if status == "failed":
            raise AirflowFailException(message)
        if status == "timeout":
            raise AirflowSensorTimeout(message)
        # "error": an outage outlasted max_outage; this fails the try, so task retries apply.
        raise AirflowException(message)
