"""``ModelArtsTrainingJobSensor``: wait until a training job version reaches a status code."""

from __future__ import annotations

import dataclasses
import time
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

from airflow_provider_modelarts.cloud.v1 import JobStatus, validate_id
from airflow_provider_modelarts.cloud.validation import validate_flag
from airflow_provider_modelarts.exceptions import ModelArtsError, ModelArtsNotFoundError, sentence
from airflow_provider_modelarts.links import (
    CONSOLE_LINK_ATTRIBUTE,
    ModelArtsConsoleLink,
    persist_console_link,
    restore_console_link,
)
from airflow_provider_modelarts.sensors.base import ModelArtsBaseSensor
from airflow_provider_modelarts.utils.mixins import clear_number, known_at_parse_time, resolved_at_runtime
from airflow_provider_modelarts.utils.xcom import (
    XComFields,
    select_fields,
    validate_xcom_fields,
    warn_if_large,
    warn_missing_fields,
)
from airflow_provider_modelarts.version_compat import TaskDeferralTimeout, task_state_store
from airflow_provider_modelarts.waiting.check import check_once, failed_check
from airflow_provider_modelarts.waiting.conditions import WaitCondition, is_permanent, status_codes, version_result
from airflow_provider_modelarts.waiting.outage import (
    DEFAULT_MAX_OUTAGE,
    Outage,
    load_outage,
    outage_key,
    save_outage,
    validate_max_outage,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

# The prefix of the task-state keys that hold the pinned version, one key per job. Task state
# survives reschedules and deferrals (XCom does not: a rescheduled try starts with its XComs
# cleared), and also task retries and a user's Clear, which is why the pin records the task
# instance's ``max_tries`` it was made under (see ``_pin_is_current``).
PINNED_VERSION_KEY = "modelarts_pinned_version_id"


class ModelArtsTrainingJobSensor(ModelArtsBaseSensor):
    """Wait until a version of a ModelArts training job reaches a target status.

    Succeeds when the status is one of ``target_status`` and returns (XCom ``return_value``) the
    version's details plus ``job_id``, ``job_name`` and ``status_name`` (not the API's
    ``is_success``). Fails at once, without using task retries, when the status is a failure
    status, when the job reaches any other terminal status, or when the job or version does not
    exist. The same ``timeout`` applies in poke, reschedule and deferrable mode, counted from the
    first check, and so do ``soft_fail`` and ``never_fail``, with the reason kept in the message.

    API outages are ridden out for ``max_outage``; without ``version_id`` the latest version is
    pinned at the first check until the task is cleared; the non-templated arguments take literal
    values only. See ``docs/waiting-and-outages.md``.

    :param job_id: the training job id (templated).
    :param version_id: the version to watch (templated). When omitted, the job's latest version
        at the first check is pinned, logged and pushed to XCom (key ``version_id``), so a version
        created later does not switch the target (until the task is cleared).
    :param target_status: a status code, a :class:`JobStatus`, or a collection of them
        (default ``JobStatus.COMPLETED``). Not templated.
    :param failure_statuses: statuses that fail the sensor (default: every terminal failure code).
        Not templated.
    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``). It frees the worker slot by itself, so
        ``mode="reschedule"`` has no effect with it (a warning says so).
    :param max_outage: how long a run of failed checks is ridden out: a ``timedelta`` or seconds
        (default 15 minutes; 0 fails at the first failed check, as earlier releases did). Not templated.
    :param xcom_fields: the fields of the version to push: ``None`` (default) or ``"all"`` for
        every field of the API's version detail, or a list of field names (not templated). A name the
        version does not have is logged as a warning, with the nearest field it has.

    The connection and API-retry arguments (``modelarts_conn_id``, ``region``, ``project_id``,
    ``modelarts_retry_*``) are those of :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin`.
    """

    template_fields: Sequence[str] = ("job_id", "version_id", "modelarts_conn_id", "region", "project_id")
    operator_extra_links = (ModelArtsConsoleLink(),)
    ui_color = "#f5e6ff"

    def __init__(
        self,
        *,
        job_id: int | str,
        version_id: int | str | None = None,
        target_status: int | JobStatus | Collection[int] = JobStatus.COMPLETED,
        failure_statuses: Collection[int] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        xcom_fields: Sequence[str] | str | None = None,
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Not templated: a value Airflow would resolve at run time never reaches them resolved.
        for parameter, value in (
            ("target_status", target_status),
            ("failure_statuses", failure_statuses),
            ("xcom_fields", xcom_fields),
            ("max_outage", max_outage),
        ):
            self.require_literal(value, parameter)
        # Refuse bad literal values at DAG parse time; the rest are checked once resolved.
        condition = WaitCondition.validate(
            1 if resolved_at_runtime(job_id) else job_id,
            known_at_parse_time(version_id),
            target_status,
            failure_statuses,
        )
        self.job_id = job_id
        self.version_id = version_id
        self.target_statuses = condition.target_statuses
        self.failure_statuses = condition.failure_statuses
        self.require_literal(deferrable, "deferrable")
        self.deferrable = validate_flag(deferrable, "deferrable")
        self.xcom_fields: XComFields = validate_xcom_fields(xcom_fields)
        self.max_outage = validate_max_outage(max_outage)
        self._warn_if_reschedule_has_no_effect()

    def _pinned_version(self, context: Context, hook: ModelArtsHook, job_id: int) -> int:
        """The version pinned for ``job_id`` since the task was last cleared; pins the latest if none.

        Keyed by job, so a run that resolves another ``job_id`` never reuses this job's pin.
        """
        key = f"{PINNED_VERSION_KEY}:{job_id}"
        max_tries = int(context["ti"].max_tries)
        clears = clear_number(context)
        store = task_state_store(context)
        pins: dict[str, Any] = self.__dict__.setdefault("_pins_without_store", {})
        stored = store.get(key) if store is not None else pins.get(key)
        if isinstance(stored, dict) and self._pin_is_current(stored, max_tries, clears):
            return validate_id(stored.get("version_id"), "version_id")
        version_id = self._latest_version(hook, job_id)
        # Said only when known: a pin in the earlier format cannot tell a Clear from an edit of retries.
        cleared = isinstance(stored, dict) and "max_tries" in stored
        self.log.info(
            "Pinned training job %s to its latest version %s%s",
            job_id,
            version_id,
            " (the task was cleared since the last pin)" if cleared else "",
        )
        pin: dict[str, Any] = {"version_id": version_id, "max_tries": max_tries, "clear_number": clears}
        if store is not None:
            store.set(key, pin)
        else:
            pins[key] = pin
        return version_id

    def _pin_is_current(self, pin: dict[str, Any], max_tries: int, clears: int = 0) -> bool:
        """Whether ``pin`` was made since the task instance was last cleared.

        Airflow 3.3 keeps task state across a Clear, and a Clear is the user asking for the wait
        again, so the pin must tell a Clear apart from a reschedule, a deferral and a task retry.
        A Clear sets ``max_tries`` to ``try_number + retries`` (``clear_task_instances``), which
        differs from the value before as long as ``retries`` was not lowered by at least the tries
        run since; retries, reschedules and deferrals leave it alone, and so does an edit of the
        DAG's ``retries`` without a Clear (Airflow does not update ``max_tries`` then). Clearing a
        finished run also raises the run's ``clear_number``, which catches the Clears that leave
        ``max_tries`` alone (:func:`~airflow_provider_modelarts.utils.mixins.clear_number`).
        """
        if "max_tries" in pin:
            return bool(pin["max_tries"] == max_tries and pin.get("clear_number", clears) == clears)
        # A pin stored by an earlier release: the try number of the last Clear, ``max_tries - retries``.
        return bool(pin.get("clear_generation") == max_tries - int(self.retries or 0))

    def _latest_version(self, hook: ModelArtsHook, job_id: int) -> int:
        try:
            versions = hook.list_job_versions(job_id, per_page=1, page=1).get("versions") or []
        except ModelArtsNotFoundError as error:
            raise AirflowFailException(f"Training job {job_id} does not exist: {error}") from None
        if not versions:
            raise AirflowFailException(f"Training job {job_id} has no versions")
        return int(versions[0]["version_id"])

    def _check(self, context: Context) -> tuple[WaitCondition, dict[str, Any] | None]:
        """One check (:func:`~airflow_provider_modelarts.waiting.check.check_once`, after pinning
        the version): the condition and, once the wait succeeded, the result.

        Raises ``AirflowFailException`` (no task retries) for a failure or foreign terminal
        status and for a job or version that does not exist; an ``AirflowException`` for a
        transient error once the outage it is part of has lasted ``max_outage``. A transient
        error before that is logged and the check reads as still waiting.
        """
        # One hook for all pokes of this try: one session, and one IAM token under password auth.
        hook = self._poke_hook
        condition: WaitCondition | None = None
        outage: Outage | None = None
        started_at: float | None = None
        try:
            condition = WaitCondition.validate(
                self.job_id, self.version_id, self.target_statuses, self.failure_statuses
            )
            outage = self._outage(context, condition)
            started_at = outage.started_at
            if condition.version_id is None:
                try:
                    pinned = self._pinned_version(context, hook, condition.job_id)
                except ModelArtsError as error:
                    # An outage while pinning reads as one while checking; errors no retry can fix
                    # (credentials, connection) keep their own words, as the first request's errors.
                    if is_permanent(error):
                        raise
                    failure = failed_check(condition, outage, error, self.log)[1]
                    if failure is not None:
                        raise failure from error
                    self._close_poke_hook()
                    return condition, None
                condition = dataclasses.replace(condition, version_id=pinned)
            job_id, version_id = condition.job_id, condition.version_id
            persist_console_link(context, hook, job_id, version_id, operator=self)
            context["ti"].xcom_push(key="version_id", value=version_id)
            verdict, message, detail = check_once(
                lambda: hook.get_job_version(job_id, version_id),  # type: ignore[arg-type]
                condition,
                outage,
                self.log,
            )
        except BaseException:
            self._close_poke_hook()
            raise
        finally:
            if condition is not None and outage is not None and outage.started_at != started_at:
                self._save_outage(context, condition, outage)
        if detail is None:  # an outage ridden out
            self._close_poke_hook()
            return condition, None
        if verdict == "failed":
            raise AirflowFailException(message)
        self.log.info(message)
        # What a timeout in poke or reschedule mode reports as the last check (see _timed_out).
        self._last_check: tuple[WaitCondition, int] = (condition, condition.status_of(detail))
        return condition, self._xcom_value(version_result(detail, job_id)) if verdict == "success" else None

    # The outage is kept per job, not per version: an outage can begin before the version is pinned.
    def _outage(self, context: Context, condition: WaitCondition) -> Outage:
        return load_outage(context, outage_key(condition.job_id), self.max_outage, self)

    def _save_outage(self, context: Context, condition: WaitCondition, outage: Outage) -> None:
        save_outage(context, outage_key(condition.job_id), outage, self)

    def _xcom_value(self, result: dict[str, Any]) -> dict[str, Any]:
        """What the sensor returns: the version without the API's envelope flag, or the chosen fields."""
        value = {name: field for name, field in result.items() if name != "is_success"}
        if isinstance(self.xcom_fields, tuple):
            warn_missing_fields(self.log, [value], self.xcom_fields, "the version")
            value = select_fields(value, self.xcom_fields, self.xcom_fields)
        warn_if_large(self.log, value, "keep fewer fields with xcom_fields=[...].")
        return value

    def _poke_result(self, context: Context) -> dict[str, Any] | None:
        return self._check(context)[1]

    def _check_then_defer(self, context: Context) -> Any:
        started = pendulum.now("UTC")
        try:
            # Check once first: a finished job needs no round trip through the triggerer.
            condition, result = self._check(context)
            while result is None and condition.version_id is None:
                # An outage hid the version to pin, and the trigger watches a pinned version: ride
                # it out here, as poke mode does, until the version is known (max_outage bounds it).
                if pendulum.now("UTC") >= started.add(seconds=self.timeout):
                    raise AirflowSensorTimeout(self._deferred_timeout_message())
                time.sleep(self.poke_interval)
                condition, result = self._check(context)
        except Exception as error:
            self._skip_or_raise(error)
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
                **self.trigger_connection_args(),
                poll_interval=self.poke_interval,
                end_time=started.add(seconds=self.timeout).timestamp(),
                max_outage=self.max_outage,
                outage_started_at=self._outage(context, condition).started_at,
                last_status=self._last_check[1] if "_last_check" in self.__dict__ else None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def _timed_out(self, error: BaseException) -> AirflowSensorTimeout:
        """Airflow's timeout of a poke or reschedule try, worded as the deferrable mode words it."""
        last_check: tuple[WaitCondition, int] | None = self.__dict__.get("_last_check")
        if last_check is None:  # no check got as far as a status: nothing to add to Airflow's words
            return error if isinstance(error, AirflowSensorTimeout) else AirflowSensorTimeout(*error.args)
        condition, status = last_check
        return _with_cause(AirflowSensorTimeout(condition.timeout_message(self.timeout, status)), error)

    def _condition_for(self, job_id: int, version_id: int | None) -> WaitCondition:
        return WaitCondition(job_id, version_id, self.target_statuses, self.failure_statuses)

    def _deferral_timed_out(self, error: TaskDeferralTimeout) -> AirflowSensorTimeout:
        # No last status: the deferral's own timeout came before the trigger's timeout event.
        return AirflowSensorTimeout(self._deferred_timeout_message())

    def _deferred_timeout_message(self, event: dict[str, Any] | None = None) -> str:
        """The timeout message of a deferred wait, from the trigger's event or, when the deferral's
        own timeout came first, from the identifiers the deferring try stored for its link."""
        known: dict[str, Any] = {**(getattr(self, CONSOLE_LINK_ATTRIBUTE, None) or {}), **(event or {})}
        job_id, version_id, last_status = known.get("job_id"), known.get("version_id"), known.get("job_status")
        if not isinstance(job_id, int):
            job_id = self.job_id if isinstance(self.job_id, int) else 0
        condition = self._condition_for(job_id, version_id if isinstance(version_id, int) else None)
        return condition.timeout_message(self.timeout, last_status if isinstance(last_status, int) else None)

    def _before_resume(self, context: Context) -> None:
        restore_console_link(self, context)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event: return the version data, or raise."""
        if not event:
            raise AirflowException("The ModelArts trigger ended without an event")
        status, message = event.get("status"), str(event.get("message", ""))
        if status == "success":
            self.log.info(sentence(message))
            return self._xcom_value(self._version_data(event))
        if status == "failed":
            raise AirflowFailException(sentence(message))
        if status == "timeout":
            # Worded here, not by the trigger, so poke, reschedule and deferrable mode say the same.
            raise AirflowSensorTimeout(self._deferred_timeout_message(event))
        # "error": an outage outlasted max_outage; this fails the try, so task retries apply.
        raise AirflowException(sentence(message))

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


def _with_cause(error: AirflowSensorTimeout, cause: BaseException) -> AirflowSensorTimeout:
    error.__cause__ = cause
    return error
