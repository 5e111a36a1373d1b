"""``ModelArtsModelSensor`` and ``ModelArtsServiceSensor``: wait until a model or a service
reaches a status (issue 19), in poke, reschedule or deferrable mode with the same verdicts.

Both are :class:`~airflow_provider_modelarts.sensors.base.ModelArtsBaseSensor`: one check is
:func:`~airflow_provider_modelarts.waiting.check.check_once` with the conditions of
:mod:`airflow_provider_modelarts.waiting.inference`; the deferrable mode defers to the triggers of
:mod:`airflow_provider_modelarts.triggers.inference`, on the shared poller.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import pendulum
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout, conf

from airflow_provider_modelarts.cloud.inference import models
from airflow_provider_modelarts.cloud.validation import validate_flag
from airflow_provider_modelarts.exceptions import ModelArtsValidationError, sentence
from airflow_provider_modelarts.sensors.base import ModelArtsBaseSensor
from airflow_provider_modelarts.utils.mixins import resolved_at_runtime
from airflow_provider_modelarts.utils.xcom import XComFields, validate_xcom_fields, warn_missing_fields
from airflow_provider_modelarts.waiting.check import check_once
from airflow_provider_modelarts.waiting.inference import (
    CONCERNING_CHOICES,
    LAST_EVENTS_KEY,
    Concerning,
    ModelWaitCondition,
    ServiceWaitCondition,
    model_reader,
    service_reader,
)
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
    from airflow_provider_modelarts.triggers.inference import ModelArtsModelTrigger, ModelArtsServiceTrigger

__all__ = ["ModelArtsModelSensor", "ModelArtsServiceSensor"]
# Stands in for an id Airflow resolves at run time, for the checks at DAG parse time.
_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"

Condition = ModelWaitCondition | ServiceWaitCondition


class _InferenceSensor(ModelArtsBaseSensor):
    """What the model and the service sensor share; a subclass names its id and builds its
    condition, read and trigger."""

    id_field: ClassVar[str]
    ui_color = "#e6f5ff"

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.require_literal(deferrable, "deferrable")
        self.deferrable = validate_flag(deferrable, "deferrable")
        self.max_outage = validate_max_outage(max_outage)
        self.require_literal(xcom_fields, "xcom_fields")
        self.xcom_fields: XComFields = validate_xcom_fields(xcom_fields)

    # ------------------------------------------------------------------ what a subclass supplies

    def _condition(self) -> Condition:
        raise NotImplementedError

    def _read(self, hook: ModelArtsHook, condition: Condition) -> Callable[[], dict[str, Any]]:
        raise NotImplementedError

    def _get(self, hook: ModelArtsHook, resource_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def _trigger(self, condition: Condition, **kwargs: Any) -> ModelArtsModelTrigger | ModelArtsServiceTrigger:
        raise NotImplementedError

    # ------------------------------------------------------------------ checks

    def _resource_id(self, condition: Condition) -> str:
        return str(getattr(condition, self.id_field))

    def _outage(self, context: Context, condition: Condition) -> Outage:
        return load_outage(context, outage_key(self._resource_id(condition)), self.max_outage, self)

    def _check(self, context: Context) -> tuple[Condition, dict[str, Any] | None, Outage]:
        """One check: the condition, the XCom value once the wait succeeded, the outage state."""
        condition = self._condition()
        outage = self._outage(context, condition)
        started_at = outage.started_at
        try:
            verdict, message, resource = check_once(self._read(self._poke_hook, condition), condition, outage, self.log)
        except BaseException:
            self._close_poke_hook()
            raise
        finally:
            if outage.started_at != started_at:
                save_outage(context, outage_key(self._resource_id(condition)), outage, self)
        if resource is None:
            self._close_poke_hook()
            return condition, None, outage
        self._last_status = condition.status_of(resource)
        if verdict == "failed":
            raise AirflowFailException(message)
        self._log_verdict(condition, message, self._last_status)
        return condition, self._result(condition, resource) if verdict == "success" else None, outage

    def _log_verdict(self, condition: Condition, message: str, status: str | None) -> None:
        if isinstance(condition, ServiceWaitCondition) and condition.is_warning(status):
            self.log.warning(message)
        else:
            self.log.info(message)

    def _result(self, condition: Condition, resource: Mapping[str, Any]) -> dict[str, Any]:
        """The XCom value: the compact row, the object (``"all"``) or the fields asked for."""
        obj = {key: value for key, value in resource.items() if key != LAST_EVENTS_KEY}
        if self.xcom_fields == "all":
            return obj
        row = condition.row(resource)
        if self.xcom_fields is None:
            return row
        merged = {**obj, **row}
        warn_missing_fields(self.log, [merged], self.xcom_fields, f"the {self.id_field.split('_')[0]}")
        return {name: merged[name] for name in self.xcom_fields if name in merged}

    def _poke_result(self, context: Context) -> dict[str, Any] | None:
        return self._check(context)[1]

    def _check_then_defer(self, context: Context) -> Any:
        started = pendulum.now("UTC")
        try:
            # Check once first: a resource already there needs no round trip through the triggerer.
            condition, result, outage = self._check(context)
        except Exception as error:
            self._skip_or_raise(error)
        if result is not None:
            return result
        self.defer(
            trigger=self._trigger(
                condition,
                **self.trigger_connection_args(),
                poll_interval=self.poke_interval,
                end_time=started.add(seconds=self.timeout).timestamp(),
                max_outage=self.max_outage,
                outage_started_at=outage.started_at,
                last_status=self.__dict__.get("_last_status"),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def _timed_out(self, error: BaseException, last_status: str | None = None) -> AirflowSensorTimeout:
        """A timeout in any mode, worded the same: the timeout, the statuses awaited, the last seen."""
        status = last_status or self.__dict__.get("_last_status")
        message = self._condition().timeout_message(self.timeout, status if isinstance(status, str) else None)
        timed_out = AirflowSensorTimeout(message)
        timed_out.__cause__ = error
        return timed_out

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event: return the XCom value, or raise."""
        if not event:
            raise AirflowException("The ModelArts trigger ended without an event")
        status, message = event.get("status"), sentence(str(event.get("message", "")))
        if status == "success":
            condition = self._condition()
            self._log_verdict(condition, message, event.get("resource_status"))
            if self.xcom_fields is None:
                return event.get("row")
            try:  # the object itself, as poke mode returns it: one more request
                return self._result(condition, self._get(self._poke_hook, self._resource_id(condition)))
            finally:
                self._close_poke_hook()
        if status == "failed":
            raise AirflowFailException(message)
        if status == "timeout":
            raise self._timed_out(AirflowSensorTimeout(message), event.get("resource_status"))
        # "error": an outage outlasted max_outage; this fails the try, so task retries apply.
        raise AirflowException(message)


class ModelArtsModelSensor(_InferenceSensor):
    """Wait until a ModelArts model ("AI application") reaches a status, ``published`` by default.

    Succeeds on a status in ``target_statuses`` and returns (XCom ``return_value``) the model's
    compact row (``model_id``, ``model_name``, ``model_version``, ``model_status``, ...,
    ``failure_reason``), or what ``xcom_fields`` asks for. Fails at once, without task retries, on a
    status in ``failure_statuses`` (the message gives the model's failure reason), on any other
    terminal status, and when the model does not exist. Poke, reschedule and deferrable mode reach
    the same verdict with the same message, and apply ``timeout``, ``soft_fail``, ``never_fail``
    and ``max_outage`` alike, as the training sensors do.

    :param model_id: the model's id (templated).
    :param target_statuses: a status or several (default ``("published",)``); any case.
    :param failure_statuses: statuses that fail the sensor (default: failed and building_failed,
        minus the targets).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param max_outage: how long a run of failed checks is ridden out: a ``timedelta`` or seconds
        (default 15 minutes).
    :param xcom_fields: ``None`` (the compact row), ``"all"`` (the model object) or field names.
    """

    template_fields: Sequence[str] = ("model_id", "modelarts_conn_id", "region", "project_id")
    id_field = "model_id"

    def __init__(
        self,
        *,
        model_id: str,
        target_statuses: str | Collection[str] = (models.ModelStatus.PUBLISHED.value,),
        failure_statuses: str | Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        condition = ModelWaitCondition(
            _PLACEHOLDER_ID if resolved_at_runtime(model_id) else model_id,
            target_statuses,
            failure_statuses,
        )
        self.model_id = model_id
        self.target_statuses = condition.target_statuses
        self.failure_statuses = condition.failure_statuses
        self._warn_if_reschedule_has_no_effect()

    def _condition(self) -> ModelWaitCondition:
        return ModelWaitCondition(self.model_id, self.target_statuses, self.failure_statuses)

    def _read(self, hook: ModelArtsHook, condition: Condition) -> Callable[[], dict[str, Any]]:
        assert isinstance(condition, ModelWaitCondition)
        return model_reader(hook, condition)

    def _get(self, hook: ModelArtsHook, resource_id: str) -> dict[str, Any]:
        return hook.get_model(resource_id)

    def _trigger(self, condition: Condition, **kwargs: Any) -> ModelArtsModelTrigger:
        from airflow_provider_modelarts.triggers.inference import ModelArtsModelTrigger

        assert isinstance(condition, ModelWaitCondition)
        return ModelArtsModelTrigger(
            condition.model_id,
            condition.scheme.ordered(condition.target_statuses),
            condition.scheme.ordered(condition.failure_statuses),
            **kwargs,
        )


class ModelArtsServiceSensor(_InferenceSensor):
    """Wait until a ModelArts real-time or batch service reaches a status: by default ``running``
    for a real-time service and ``finished`` for a batch run (read from its ``infer_type``).

    Succeeds on a status in ``target_statuses`` and returns the service's compact row
    (``service_id``, ``service_name``, ``status``, ``infer_type``, ``access_address``,
    ``error_msg``; ``dest_paths`` for a batch service), or what ``xcom_fields`` asks for. Fails at
    once, without task retries, on a status in ``failure_statuses`` (the message gives the
    service's ``error_msg`` and its last events), on any other terminal status (``stopped``,
    ``finished``, ``failed``), and when the service does not exist. ``concerning`` (running, some
    instances unhealthy) ends a wait for ``running`` with a warning, or fails it with
    ``concerning="fail"``. The modes, timeouts, ``soft_fail``, ``never_fail`` and ``max_outage``
    work as for :class:`ModelArtsModelSensor`.

    :param service_id: the service's id (templated).
    :param target_statuses: a status or several; any case. Default ``None``: by the service's
        type, ``running`` (real-time) or ``finished`` (batch).
    :param failure_statuses: statuses that fail the sensor (default: failed, minus the targets).
    :param concerning: ``"warn"`` (default) or ``"fail"``.
    :param deferrable: as for :class:`ModelArtsModelSensor`.
    :param max_outage: as for :class:`ModelArtsModelSensor`.
    :param xcom_fields: ``None`` (the compact row), ``"all"`` (the service object) or field names.
    """

    template_fields: Sequence[str] = ("service_id", "modelarts_conn_id", "region", "project_id")
    id_field = "service_id"

    def __init__(
        self,
        *,
        service_id: str,
        target_statuses: str | Collection[str] | None = None,
        failure_statuses: str | Collection[str] | None = None,
        concerning: Concerning = "warn",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.require_literal(concerning, "concerning")
        if concerning not in CONCERNING_CHOICES:
            raise ModelArtsValidationError("concerning", "'warn' or 'fail'", concerning)
        condition = ServiceWaitCondition(
            _PLACEHOLDER_ID if resolved_at_runtime(service_id) else service_id,
            target_statuses,
            failure_statuses,
            concerning=concerning,
        )
        self.service_id = service_id
        self.target_statuses = None if condition.by_type else condition.target_statuses
        self.failure_statuses = condition.failure_statuses
        self.concerning: Concerning = concerning
        self._warn_if_reschedule_has_no_effect()

    def _condition(self) -> ServiceWaitCondition:
        return ServiceWaitCondition(
            self.service_id, self.target_statuses, self.failure_statuses, concerning=self.concerning
        )

    def _read(self, hook: ModelArtsHook, condition: Condition) -> Callable[[], dict[str, Any]]:
        assert isinstance(condition, ServiceWaitCondition)
        return service_reader(hook, condition)

    def _get(self, hook: ModelArtsHook, resource_id: str) -> dict[str, Any]:
        return hook.get_service(resource_id)

    def _trigger(self, condition: Condition, **kwargs: Any) -> ModelArtsServiceTrigger:
        from airflow_provider_modelarts.triggers.inference import ModelArtsServiceTrigger

        assert isinstance(condition, ServiceWaitCondition)
        return ModelArtsServiceTrigger(
            condition.service_id,
            condition.target_argument(),
            condition.scheme.ordered(condition.failure_statuses),
            concerning=condition.concerning,
            **kwargs,
        )
