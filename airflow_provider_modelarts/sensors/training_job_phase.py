"""``ModelArtsTrainingJobPhaseSensor``: wait until a v2 training job reaches a phase."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    conf,
)

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.validation import validate_flag
from airflow_provider_modelarts.exceptions import sentence
from airflow_provider_modelarts.sensors.base import ModelArtsBaseSensor
from airflow_provider_modelarts.utils.mixins import resolved_at_runtime
from airflow_provider_modelarts.version_compat import task_state_store
from airflow_provider_modelarts.waiting.check import check_phase
from airflow_provider_modelarts.waiting.conditions import PhaseWaitCondition
from airflow_provider_modelarts.waiting.logs import JobLogFollower
from airflow_provider_modelarts.waiting.outage import (
    DEFAULT_MAX_OUTAGE,
    OUTAGE_STARTED_KEY,
    Outage,
    load_outage,
    outage_key,
    save_outage,
    validate_max_outage,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


__all__ = ["OUTAGE_STARTED_KEY", "ModelArtsTrainingJobPhaseSensor"]
# The task-state key prefix (one key per watched job) of the log follower's position.
LOG_POSITION_KEY = "modelarts_log_position"
# Stands in for a training_job_id Airflow resolves at run time, for the checks at DAG parse time.
_PLACEHOLDER_JOB_ID = "00000000-0000-0000-0000-000000000000"


class ModelArtsTrainingJobPhaseSensor(ModelArtsBaseSensor):
    """Wait until a v2 ModelArts training job (UUID id, string ``status.phase``) reaches a target phase.

    Succeeds on a phase in ``target_phases`` and returns (XCom ``return_value``) a compact summary
    (:func:`~airflow_provider_modelarts.cloud.v2.job_summary`): ``id``, ``name``, ``phase``,
    ``duration`` and the other row fields, ``task_statuses`` (each task's exit code and message)
    and ``outputs`` (the output OBS paths by channel). Fails at once, without task retries, on a
    phase in ``failure_phases``, on any other terminal phase, and when the job does not exist; the
    message names the phase, ``secondary_phase`` and each task's exit code and message. Poke,
    reschedule and deferrable mode reach the same verdict with the same message, and apply
    ``timeout``, ``soft_fail`` and ``never_fail`` alike (as the v1 sensor does).

    API outages are ridden out for ``max_outage`` (see ``docs/waiting-and-outages.md``); with
    ``print_log`` the job's logs are followed (see ``docs/logs.md``).

    :param training_job_id: the job's UUID (templated).
    :param target_phases: a phase or several (default ``("Completed",)``); any case.
    :param failure_phases: phases that fail the sensor (default: Failed, Abnormal and Terminated,
        minus the targets).
    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``); ``mode="reschedule"`` has no effect with it.
    :param max_outage: how long a run of failed checks is ridden out: a ``timedelta`` or seconds
        (default 15 minutes; 0 fails at the first failed check, as the v1 sensor does).
    :param print_log: stream the job's task logs into the task log while waiting (default False):
        one log request per job task per check while it runs, the rest of each log once it ended.
        In reschedule mode the position survives reschedules in the task state store (Airflow
        3.3+). Below 3.3 nothing a poke keeps survives a reschedule (Airflow clears the task's
        XComs at each one), so in reschedule mode the log is printed once, whole, by the poke that
        sees the job end, and no log request is sent while it runs.
    :param workspace_id: the workspace the deferrable mode's shared search looks in (templated;
        default: the connection's). A job elsewhere is still found, read on its own.

    The connection and API-retry arguments (``modelarts_conn_id``, ``region``, ``project_id``,
    ``modelarts_retry_*``) are those of :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin`.
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
        print_log: bool = False,
        workspace_id: str | None = None,
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
        self.require_literal(deferrable, "deferrable")
        self.deferrable = validate_flag(deferrable, "deferrable")
        self.max_outage = validate_max_outage(max_outage)
        self.require_literal(print_log, "print_log")
        self.print_log = validate_flag(print_log, "print_log")
        self._logs: JobLogFollower | None = None
        self.workspace_id = workspace_id
        self._warn_if_reschedule_has_no_effect()

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
        started_at = outage.started_at
        try:
            verdict, message, job = check_phase(self._poke_hook, condition, outage, self.log)
        except BaseException:
            self._close_poke_hook()
            raise
        finally:
            if outage.started_at != started_at:
                self._save_outage(context, condition, outage)
        if job is None:
            self._close_poke_hook()
            return condition, None, outage
        self._last_phase = v2.phase_of(job)
        if self.print_log:
            self._follow_log(context, condition, job)
        if verdict == "failed":
            raise AirflowFailException(message)
        self.log.info(message)
        return condition, v2.job_summary(job) if verdict == "success" else None, outage

    def _follow_log(self, context: Context, condition: PhaseWaitCondition, job: dict[str, Any]) -> None:
        """Print the job's new log lines; the position survives reschedules where Airflow has a
        task state store (see ``print_log``). A log that cannot be read never fails the wait."""
        store = task_state_store(context)
        key = f"{LOG_POSITION_KEY}:{condition.training_job_id}"
        try_number = context["ti"].try_number
        if store is None and self.reschedule and not v2.is_terminal_phase(v2.phase_of(job) or ""):
            # Below 3.3 a reschedule keeps no position: the poke that sees the end prints the log.
            if not _rescheduled_before(context):
                self.log.info(
                    "The job's log is printed when it ends: below Airflow 3.3 a sensor in reschedule mode "
                    "keeps no log position between pokes"
                )
            return
        if self._logs is None:
            saved = store.get(key) if store is not None else None
            state = saved.get("cursors") if isinstance(saved, dict) and saved.get("try_number") == try_number else None

            def save(cursors: dict[str, Any]) -> None:
                if store is not None:
                    store.set(key, {"try_number": try_number, "cursors": cursors})

            self._logs = JobLogFollower(self._poke_hook, condition.training_job_id, self.log.info, state, save)
        # A check an outage failed closed the hook the follower began with: read through this one.
        self._logs.reader = self._poke_hook
        self._logs.poll_or_warn(job, self.log.warning)
        if store is not None:
            store.set(key, {"try_number": try_number, "cursors": self._logs.state()})

    def _poke_result(self, context: Context) -> dict[str, Any] | None:
        return self._check(context)[1]

    def _check_then_defer(self, context: Context) -> Any:
        started = pendulum.now("UTC")
        try:
            # Check once first: a finished job needs no round trip through the triggerer.
            condition, result, outage = self._check(context)
        except Exception as error:
            self._skip_or_raise(error)
        if result is not None:
            return result
        from airflow_provider_modelarts.triggers.training_job_phase import (
            ModelArtsTrainingJobPhaseTrigger,
            log_xcom_for,
        )

        log_state = self._logs.state() if self._logs is not None else None
        self.defer(
            trigger=ModelArtsTrainingJobPhaseTrigger(
                training_job_id=condition.training_job_id,
                target_phases=condition.scheme.ordered(condition.target_statuses),
                failure_phases=condition.scheme.ordered(condition.failure_statuses),
                **self.trigger_connection_args(),
                workspace_id=self.workspace_id,
                poll_interval=self.poke_interval,
                end_time=started.add(seconds=self.timeout).timestamp(),
                max_outage=self.max_outage,
                outage_started_at=outage.started_at,
                print_log=self.print_log,
                log_state=log_state,
                log_xcom=log_xcom_for(context["ti"], log_state) if self.print_log else None,
                last_phase=self.__dict__.get("_last_phase"),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def _timed_out(self, error: BaseException, last_phase: str | None = None) -> AirflowSensorTimeout:
        """A timeout in any mode, worded the same (the v1 sensor's words): the timeout, the phases
        awaited and the last phase seen."""
        phase = last_phase or self.__dict__.get("_last_phase")
        message = self._condition().timeout_message(self.timeout, phase if isinstance(phase, str) else None)
        timed_out = AirflowSensorTimeout(message)
        timed_out.__cause__ = error
        return timed_out

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
            raise self._timed_out(AirflowSensorTimeout(message), event.get("phase"))
        # "error": an outage outlasted max_outage; this fails the try, so task retries apply.
        raise AirflowException(message)


def _rescheduled_before(context: Context) -> bool:
    """Whether this try was rescheduled before (so earlier pokes may have printed log lines)."""
    first = context["ti"].get_first_reschedule_date(context)
    return first is not None
