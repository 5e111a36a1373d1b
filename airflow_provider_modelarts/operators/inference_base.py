"""What the model and service operators share: the arguments of a wait, the wait itself (in the
worker, or deferred to the model or service trigger), the resumption after the trigger's event,
and the console link.

The wait's rules are the shared wait path's: a condition (``waiting/inference.py``) judges each
read, :func:`~airflow_provider_modelarts.waiting.check.check_once` rides out outages, and the
triggers (``triggers/inference.py``) apply the same rules on the shared poller. They are imported
where they are used, so the operators import without them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

import pendulum
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, conf

from airflow_provider_modelarts.cloud.validation import positive_seconds, validate_flag
from airflow_provider_modelarts.exceptions import sentence
from airflow_provider_modelarts.links import persist_inference_link, restore_inference_link
from airflow_provider_modelarts.operators.base import _ModelArtsOperator
from airflow_provider_modelarts.utils.mixins import resolved_at_runtime
from airflow_provider_modelarts.version_compat import AirflowTaskTerminated
from airflow_provider_modelarts.waiting.check import check_once
from airflow_provider_modelarts.waiting.outage import DEFAULT_MAX_OUTAGE, Outage, validate_max_outage

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.waiting.conditions import StatusWait

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        deferrable = default_deferrable() if deferrable is None else deferrable
        for name, value in (("deferrable", deferrable), ("poll_interval", poll_interval), ("max_outage", max_outage)):
            self.require_literal(value, name)
        self.deferrable = validate_flag(deferrable, "deferrable")
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        self.max_outage = validate_max_outage(max_outage)
        # Set by on_kill (Airflow calls it from its SIGTERM handler): the wait stops at once.
        self._killed = False
        self._console_url: str | None = None

    # ------------------------------------------------------------------ what a subclass says

    def _resource_id(self) -> str:
        raise NotImplementedError

    def _read(self, hook: ModelArtsHook) -> dict[str, Any]:
        raise NotImplementedError

    def _condition(self) -> StatusWait[Any]:
        raise NotImplementedError

    def _trigger(self) -> BaseTrigger:
        raise NotImplementedError

    def _succeeded(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> Any:
        raise NotImplementedError

    def _failed(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> NoReturn:
        raise NotImplementedError

    def _after_kill(self) -> None:
        """What a kill noticed during the wait does to the resource (default: nothing)."""

    # ------------------------------------------------------------------ shared

    def trigger_settings(self) -> dict[str, Any]:
        """The keyword arguments every inference trigger takes, from this task's settings."""
        return {
            "modelarts_conn_id": self.modelarts_conn_id,
            "poll_interval": self.poll_interval,
            "end_time": None,
            "retry_limit": self.modelarts_retry_limit,
            "retry_delay": self.modelarts_retry_delay,
            "retry_max_delay": self.modelarts_retry_max_delay,
            "max_outage": self.max_outage,
            "region": self.region,
            "project_id": self.project_id,
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
                return self._finish(hook, verdict, message, current)
            if self.deferrable:
                self.defer(
                    trigger=self._trigger(),
                    method_name="execute_complete",
                    timeout=self._remaining_execution_time(context),
                )
            sleep(self.poll_interval)

    def _finish(self, hook: ModelArtsHook, verdict: str, message: str, current: dict[str, Any]) -> Any:
        if verdict == "success":
            self.log.info(message)
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
        """Resume after the trigger's event (in a new process): the resource is read once more
        for the result or the failure's reason, then returned or raised."""
        self._console_url = restore_inference_link(self, context)
        if not event:
            raise AirflowException("The ModelArts trigger ended without an event")
        self._restore_from_event(context, event)
        status, message = event.get("status"), sentence(str(event.get("message", "")))
        if status in ("success", "failed"):
            hook = self.hook()
            try:
                try:
                    current = self._read(hook)
                except Exception:
                    if status == "failed":
                        raise AirflowFailException(message) from None
                    raise
                return self._finish(hook, str(status), message, current)
            finally:
                hook.close()
        # "timeout" or "error" (an outage outlasted max_outage): the task's retries apply.
        raise AirflowException(message)

    def _restore_from_event(self, context: Context, event: Mapping[str, Any]) -> None:
        """Take the resource's id back from the event (a resumed task is a new operator object)."""
