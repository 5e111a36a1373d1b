"""What the model and service operators share: the arguments of a wait, the wait itself (in the
worker, or deferred to the model or service trigger), the resumption after the trigger's event,
and the console link.

The wait's rules are the shared wait path's: a condition (``waiting/inference.py``) judges each
read (made by its reader, ``model_reader`` or ``service_reader``),
:func:`~airflow_provider_modelarts.waiting.check.check_once` rides out outages, and the triggers
(``triggers/inference.py``) apply the same rules on the shared poller. A resumed task takes the
verdict, the resource's compact row and the warning flag from the trigger's event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

import pendulum
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, conf

from airflow_provider_modelarts.cloud.inference import services
from airflow_provider_modelarts.cloud.validation import positive_seconds, validate_flag
from airflow_provider_modelarts.exceptions import ModelArtsNotFoundError, sentence
from airflow_provider_modelarts.links import ModelArtsServiceConsoleLink, persist_inference_link, restore_inference_link
from airflow_provider_modelarts.operators.base import _ModelArtsOperator
from airflow_provider_modelarts.triggers.inference import ModelArtsServiceTrigger
from airflow_provider_modelarts.utils.assets import AssetEvent, publish_to_outlets
from airflow_provider_modelarts.utils.mixins import resolved_at_runtime, task_instance_key
from airflow_provider_modelarts.utils.teardown import KILL_ACTION_XCOM_KEY, end_service_quietly, wait_for_service
from airflow_provider_modelarts.utils.xcom import XComFields, validate_xcom_fields, warn_missing_fields
from airflow_provider_modelarts.version_compat import AirflowTaskTerminated, TaskDeferralTimeout
from airflow_provider_modelarts.waiting.check import check_once
from airflow_provider_modelarts.waiting.inference import Concerning, ServiceWaitCondition, service_reader
from airflow_provider_modelarts.waiting.outage import DEFAULT_MAX_OUTAGE, Outage, validate_max_outage

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.waiting.inference import ModelWaitCondition

# Between two checks of the synchronous wait (tests replace it with the emulator's clock).
sleep = time.sleep


class ModelArtsModelFailedError(AirflowFailException):
    """The model ended ``failed`` or ``building_failed``: the same body builds the same way, so
    the task is not retried."""


class ModelArtsServiceFailedError(AirflowFailException):
    """The service ended in a failure status (``failed``; for a batch run also ``stopped``), or
    ``concerning`` with ``concerning="fail"``: not retried."""


def default_deferrable() -> bool:
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def resolved_anywhere(value: object) -> bool:
    """Whether ``value`` or anything nested in it is resolved by Airflow at run time."""
    if resolved_at_runtime(value):
        return True
    if isinstance(value, Mapping):
        return any(resolved_anywhere(key) or resolved_anywhere(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(resolved_anywhere(item) for item in value)
    return False


class _InferenceOperator(_ModelArtsOperator):
    """An operator that waits for one model or service. A subclass says what it waits for
    (:meth:`_read`, :meth:`_condition`, :meth:`_trigger`) and what a success or failure gives
    (:meth:`_succeeded`, :meth:`_failed`); :meth:`_wait` and :meth:`execute_complete` do the rest.

    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks (default 60).
    :param max_outage: how long a run of failed checks is ridden out: a ``timedelta`` or seconds
        (default 15 minutes).
    :param xcom_fields: what the task returns: ``None`` (default) its compact row, ``"all"`` the
        API's whole object, or a list of field names (of the row or the object).
    """

    ui_color = "#e8f5e9"
    #: ``"model"``, ``"service"`` or ``"batch"``: the console page of the link.
    link_kind = "service"

    def __init__(
        self,
        *,
        deferrable: bool | None = None,
        poll_interval: float = 60.0,
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        deferrable = default_deferrable() if deferrable is None else deferrable
        settings = {"deferrable": deferrable, "poll_interval": poll_interval, "max_outage": max_outage}
        for name, value in {**settings, "xcom_fields": xcom_fields}.items():
            self.require_literal(value, name)
        self.xcom_fields: XComFields = validate_xcom_fields(xcom_fields)
        self.deferrable = validate_flag(deferrable, "deferrable")
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        self.max_outage = validate_max_outage(max_outage)
        # Set by on_kill (Airflow calls it from its SIGTERM handler): the wait stops at once.
        self._killed = False
        self._console_url: str | None = None
        self._task_instance: dict[str, Any] | None = None
        # What the outlets' asset events carry (utils/assets.py), set with the task's result.
        self._asset_event: AssetEvent | None = None

    # ------------------------------------------------------------------ what a subclass says

    def _resource_id(self) -> str:
        raise NotImplementedError

    def _read(self, hook: ModelArtsHook) -> dict[str, Any]:
        raise NotImplementedError

    def _condition(self) -> ModelWaitCondition | ServiceWaitCondition:
        raise NotImplementedError

    def _trigger(self) -> BaseTrigger:
        raise NotImplementedError

    def _succeeded(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> Any:
        raise NotImplementedError

    def _failed(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> NoReturn:
        raise NotImplementedError

    def _failure(self, message: str) -> AirflowFailException:
        """The exception of a resource that ended in a failure status (the subclass's type)."""
        return AirflowFailException(message)

    def _needs_object(self) -> bool:
        """Whether a resumed success needs the resource's full object, not the event's row."""
        return self.xcom_fields == "all"

    def _shaped(self, obj: Mapping[str, Any], row: Mapping[str, Any], what: str) -> Any:
        """The task's return value as ``xcom_fields`` asks: ``row`` (compact), ``obj`` (all), or
        the named fields of either (a missing name is warned about)."""
        if self.xcom_fields == "all":
            return dict(obj)
        if self.xcom_fields is None:
            return dict(row)
        merged = {**obj, **row}
        warn_missing_fields(self.log, [merged], self.xcom_fields, what)
        return {name: merged[name] for name in self.xcom_fields if name in merged}

    def _after_kill(self) -> None:
        """What a kill noticed during the wait does to the resource (default: nothing)."""

    def _published(self, context: Context, result: Any) -> Any:
        """``result``, once what the task produced is on its outlets' asset events (a subclass
        sets ``_asset_event`` with its result; none set: nothing)."""
        publish_to_outlets(context, self.outlets, self._asset_event)
        return result

    def _before_defer(self, context: Context) -> None:
        """What the resumed task needs that the trigger's event does not carry (default: nothing)."""

    # ------------------------------------------------------------------ shared

    def trigger_settings(self) -> dict[str, Any]:
        """The keyword arguments every inference trigger takes, from this task's settings."""
        return {
            **self.trigger_connection_args(),
            "poll_interval": self.poll_interval,
            "end_time": None,
            "max_outage": self.max_outage,
            "workspace_id": None,
        }

    def _link(self, context: Context, hook: ModelArtsHook, resource_id: str, kind: str | None = None) -> None:
        """Record the console link of the resource (before any wait: a failed try still has it)."""
        self._console_url = persist_inference_link(context, hook, kind or self.link_kind, resource_id, self)

    def _wait(self, context: Context, hook: ModelArtsHook) -> Any:
        """Check once per ``poll_interval`` here; deferrable, only the first check here (a resource
        already settled needs no triggerer), then the trigger waits."""
        condition = self._condition()
        outage = Outage(self.max_outage)
        read: Callable[[], dict[str, Any]] = lambda: self._read(hook)  # noqa: E731
        while True:
            verdict, message, current = check_once(read, condition, outage, self.log)
            self._stop_if_killed()
            if current is not None and verdict != "waiting":
                warning = _is_warning(condition, condition.status_of(current))
                return self._finish(hook, verdict, message, current, warning)
            if self.deferrable:
                # For the trigger's kill check: which task instance, and which of its tries.
                self._task_instance = {**task_instance_key(context["ti"]), "try_number": context["ti"].try_number}
                self._before_defer(context)
                self.defer(
                    trigger=self._trigger(),
                    method_name="execute_complete",
                    timeout=self._remaining_execution_time(context),
                )
            sleep(self.poll_interval)

    def _finish(
        self, hook: ModelArtsHook, verdict: str, message: str, current: dict[str, Any], warning: bool = False
    ) -> Any:
        if verdict == "success":
            (self.log.warning if warning else self.log.info)(message)
            return self._succeeded(hook, current, message)
        self._failed(hook, current, message)

    def _stop_if_killed(self) -> None:
        if self._killed:
            self._after_kill()
            raise AirflowTaskTerminated(f"The task was killed while it waited for {self._resource_id()}")

    def _remaining_execution_time(self, context: Context) -> timedelta | None:
        if self.execution_timeout is None:
            return None
        started = getattr(context["ti"], "start_date", None)
        spent = pendulum.now("UTC") - started if started is not None else timedelta(0)
        return max(self.execution_timeout - spent, timedelta(seconds=1))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event (in a new process). A success is built from the event's
        ``row`` (the resource is read once more only when the full object is asked for, or the row
        is missing); a failure raises the event's message, which carries the reason (a model's
        failure reason, a service's ``error_msg`` and last events)."""
        self._console_url = restore_inference_link(self, context)
        if not event:
            raise AirflowException("The ModelArts trigger ended without an event")
        self._restore_from_event(context, event)
        status, message = event.get("status"), sentence(str(event.get("message", "")))
        row = event.get("row")
        if status == "success":
            hook = self.hook()
            try:
                current = dict(row) if isinstance(row, Mapping) and not self._needs_object() else self._read(hook)
                return self._published(
                    context, self._finish(hook, "success", message, current, bool(event.get("warning")))
                )
            finally:
                hook.close()
        if status == "failed":
            self.log.error(message)
            # A failure status read from the resource, or an error no retry can fix (not found, denied).
            raise self._failure(message) if isinstance(row, Mapping) else AirflowFailException(message)
        # "timeout" or "error" (an outage outlasted max_outage): the task's retries apply.
        raise AirflowException(message)

    def _restore_from_event(self, context: Context, event: Mapping[str, Any]) -> None:
        """Take the resource's id back from the event (a resumed task is a new operator object)."""


def _is_warning(condition: ModelWaitCondition | ServiceWaitCondition, status: str | None) -> bool:
    """Whether a success at ``status`` comes with a warning (a ``concerning`` service)."""
    is_warning = getattr(condition, "is_warning", None)
    return bool(is_warning(status)) if is_warning is not None else False


#: The XCom key holding the id of the service the task deployed, updated or found (before the wait).
SERVICE_ID_XCOM_KEY = "service_id"
#: How long a task waits for a service of its name to finish stopping or being deleted.
SERVICE_SETTLE_WAIT = timedelta(minutes=30)


class _ServiceWaitOperator(_InferenceOperator):
    """What the service operators share: the service they wait for, the wait, and the failure
    message (``error_msg`` and the last events)."""

    operator_extra_links = (ModelArtsServiceConsoleLink(),)
    target_statuses: tuple[str, ...] = ("running",)
    failure_statuses: tuple[str, ...] = ("failed",)
    concerning: Concerning = "warn"

    service_id: str | None = None

    def _resource_id(self) -> str:
        return f"service {self.service_id}"

    def _read(self, hook: ModelArtsHook) -> dict[str, Any]:
        """The service, with its last events when it failed (for the failure's message)."""
        return service_reader(hook, self._condition())()

    def _condition(self) -> ServiceWaitCondition:
        return ServiceWaitCondition(
            str(self.service_id), self.target_statuses, self.failure_statuses, concerning=self.concerning
        )

    def _trigger(self) -> ModelArtsServiceTrigger:
        condition = self._condition()
        return ModelArtsServiceTrigger(
            str(self.service_id),
            condition.scheme.ordered(condition.target_statuses),
            condition.scheme.ordered(condition.failure_statuses),
            concerning=self.concerning,
            on_kill_action=self._kill_action(),
            task_instance=self._task_instance,
            **self.trigger_settings(),
        )

    def _kill_action(self) -> str:
        """What the trigger does to the service if a user kills the deferred task."""
        return "none"

    def _before_defer(self, context: Context) -> None:
        action = self._kill_action()
        if action != "none":
            record = {"service_id": self.service_id, "action": action, "try_number": context["ti"].try_number}
            context["ti"].xcom_push(key=KILL_ACTION_XCOM_KEY, value=record)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral; one that timed out (``execution_timeout``) stops or deletes
        the service as a kill would: Airflow calls no ``on_kill`` then."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except TaskDeferralTimeout:
            ti = context["ti"]
            record = ti.xcom_pull(task_ids=self.task_id, key=KILL_ACTION_XCOM_KEY, map_indexes=ti.map_index)
            if isinstance(record, dict) and record.get("service_id"):
                hook = self.hook()
                try:
                    end_service_quietly(hook, str(record["service_id"]), str(record.get("action")), self.log)
                finally:
                    hook.close()
            raise

    def _restore_from_event(self, context: Context, event: Mapping[str, Any]) -> None:
        service_id = event.get("service_id")
        if not service_id:
            ti = context["ti"]
            service_id = ti.xcom_pull(task_ids=self.task_id, key=SERVICE_ID_XCOM_KEY, map_indexes=ti.map_index)
        self.service_id = str(service_id) if service_id else self.service_id

    def _failure(self, message: str) -> ModelArtsServiceFailedError:
        return ModelArtsServiceFailedError(message)

    def _record(self, context: Context, hook: ModelArtsHook, service_id: str) -> None:
        self.service_id = service_id
        context["ti"].xcom_push(key=SERVICE_ID_XCOM_KEY, value=service_id)
        self._link(context, hook, service_id)

    def _failed(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> NoReturn:
        """The condition's message carries ``error_msg`` and the last events (read with the service)."""
        error = current.get("error_msg")
        full = f"{message}: {error}" if error and str(error) not in message else message
        self.log.error(full)
        raise ModelArtsServiceFailedError(full)

    def _stop_quietly(self, hook: ModelArtsHook) -> None:
        end_service_quietly(hook, str(self.service_id), "stop", self.log)

    def _delete_quietly(self, hook: ModelArtsHook) -> None:
        end_service_quietly(hook, str(self.service_id), "delete", self.log)

    def _settled(self, hook: ModelArtsHook, found: dict[str, Any] | None) -> dict[str, Any] | None:
        """The service of that name, read, once it is not being stopped or deleted (an earlier
        try's kill or a teardown); ``None`` if there is none or it is gone."""
        if found is None:
            return None
        service_id = str(found["service_id"])
        try:
            current = hook.get_service(service_id)
        except ModelArtsNotFoundError:
            return None
        passing = services.parse_service_status(current.get("status"))
        if passing not in (services.ServiceStatus.STOPPING, services.ServiceStatus.DELETING):
            return current
        self.log.info("Service %s is %s: waiting until that ends", service_id, passing.value)
        return wait_for_service(
            hook,
            service_id,
            lambda service: service is None or services.parse_service_status(service.get("status")) is not passing,
            min(self.poll_interval, 10.0),
            SERVICE_SETTLE_WAIT.total_seconds(),
            self.log,
            sleep,
            waiting_for=f"done {passing.value}",
        )
