"""What a killed task does to the service it deployed, started or ran as a batch: stop it or
delete it, never raising (Airflow is already ending the task); and the wait for a deleted service
to be gone. The deploy and batch operators use
it when killed in the worker; :class:`~airflow_provider_modelarts.triggers.inference.ModelArtsServiceTrigger`
when a user kills the deferred task. See ``docs/durable-execution.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_modelarts.exceptions import (
    ModelArtsNotFoundError,
    ModelArtsServiceDeleteTimeoutError,
    ModelArtsServiceWaitTimeoutError,
)

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

#: What a kill does to the service: stop it, delete it, or leave it as it is.
KILL_ACTIONS = ("stop", "delete", "none")
#: The XCom a deploy or batch task writes before deferring: ``{"service_id", "action",
#: "try_number"}``. The resumed task reads it after a deferral that timed out (Airflow calls no
#: ``on_kill`` then); the trigger reads it to tell its own try's kill from a later try's service
#: (a Clear clears the task's XComs, and a new deferral writes its own try).
KILL_ACTION_XCOM_KEY = "modelarts_kill_action"


class TaskLog(Protocol):
    """A task's or a trigger's logger (stdlib or structlog)."""

    def debug(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def end_service_quietly(hook: ModelArtsHook, service_id: str, action: str, log: TaskLog) -> None:
    """Stop (``action="stop"``) or delete (``"delete"``) a service; ``"none"`` does nothing. A
    service already gone is fine; any other error is logged with what to do by hand."""
    if action not in ("stop", "delete"):
        return
    try:
        if action == "delete":
            hook.delete_service(service_id)
        else:
            hook.update_service(service_id, status="stopped")
    except ModelArtsNotFoundError:
        log.info("Service %s is already gone", service_id)
        return
    except Exception as error:  # noqa: BLE001 - a kill goes on whatever the cloud or the connection says
        log.warning(
            "Could not %s service %s (%s): it may still be running; %s it in the ModelArts console",
            action,
            service_id,
            error,
            action,
        )
        return
    log.info("%s service %s", "Deleted" if action == "delete" else "Stopped", service_id)


def wait_for_service(
    hook: ModelArtsHook,
    service_id: str,
    settled: Callable[[dict[str, Any] | None], bool],
    poll_interval: float,
    wait_timeout: float,
    log: TaskLog,
    sleep: Callable[[float], None] = time.sleep,
    *,
    waiting_for: str = "gone",
) -> dict[str, Any] | None:
    """Read a service until ``settled`` (given the service, or ``None`` once it is gone) is true,
    at most ``wait_timeout`` seconds (the larger of the time slept and the monotonic clock's, so a
    stubbed ``sleep`` still reaches the deadline). Returns the last read, ``None`` if gone.

    :param waiting_for: what is awaited, for the log and the timeout's message.
    :raises ModelArtsServiceWaitTimeoutError: not settled after ``wait_timeout``
        (:class:`ModelArtsServiceDeleteTimeoutError` when waiting for it to be gone).
    """
    started, slept = time.monotonic(), 0.0
    while True:
        try:
            service: dict[str, Any] | None = hook.get_service(service_id)
        except ModelArtsNotFoundError:
            service = None
        if settled(service):
            return service
        status = service.get("status") if service is not None else None
        waited = max(slept, time.monotonic() - started)
        if waited + poll_interval > wait_timeout:
            if waiting_for == "gone":
                raise ModelArtsServiceDeleteTimeoutError(
                    f"Service {service_id} is still there ({status}) {waited:.0f} s after its delete "
                    f"(wait_timeout {wait_timeout:.0f} s)"
                )
            raise ModelArtsServiceWaitTimeoutError(
                f"Service {service_id} is still {status}, not {waiting_for}, {waited:.0f} s on "
                f"(wait_timeout {wait_timeout:.0f} s)"
            )
        log.info("Service %s is %s: checking again in %.0f s", service_id, status, poll_interval)
        sleep(poll_interval)
        slept += poll_interval


def wait_until_service_gone(
    hook: ModelArtsHook,
    service_id: str,
    poll_interval: float,
    wait_timeout: float,
    log: TaskLog,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Read a deleted service until it is gone (see :func:`wait_for_service`).

    :raises ModelArtsServiceDeleteTimeoutError: still there after ``wait_timeout``.
    """
    wait_for_service(hook, service_id, lambda service: service is None, poll_interval, wait_timeout, log, sleep)
    log.info("Deleted service %s (it is gone)", service_id)
