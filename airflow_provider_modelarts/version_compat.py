"""Which Airflow release this runs on, and the one place that decides what each release offers.

Like the official providers' ``version_compat.py``: flags computed once from ``airflow.__version__``,
plus the helpers the operators, sensor and trigger call instead of testing versions themselves.
Names that only moved (``BaseHook``, ``conf``, the exceptions) come from
``airflow.providers.common.compat.sdk`` instead; this module covers what the shim does not.

Features newer than the floor (3.0.0), and what happens below them:

* ``task_state_store`` (3.3): :func:`task_state_store` returns ``None`` below 3.3. The sensor then
  keeps the pinned version on the operator instance, which lives for one try in ``poke`` mode and
  through a deferral, but not across reschedules: in ``reschedule`` mode each reschedule pins the
  latest version again. XComs are no fallback: Airflow clears a task's XComs at the start of every
  non-deferral run, reschedules included.
* declarative ``conn-fields`` (3.2): below 3.2 the connection form comes from the hook's
  ``get_connection_form_widgets`` / ``get_ui_field_behaviour``, generated from the same declaration
  by :mod:`airflow_provider_modelarts.connection_form`.
* quiet connection reads (3.1): from 3.1 the Task SDK's ``BaseHook.get_connection`` logs each lookup
  at DEBUG; 3.0's core ``BaseHook`` logs it at INFO. :func:`get_connection_quietly` reads a
  connection without that INFO line, for lookups repeated every poll round.
* ``BaseTrigger.on_kill`` (3.3): below 3.3 the triggerer never calls it, so a deferred wait that is
  marked failed or cleared does not stop anything remotely (this provider's trigger only polls).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from airflow.sdk import Connection, Context

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AIRFLOW_V_3_4_PLUS",
    "StateStore",
    "TaskDeferralTimeout",
    "get_base_airflow_version_tuple",
    "get_connection_quietly",
    "task_state_store",
]


def get_base_airflow_version_tuple() -> tuple[int, int, int]:
    """The running Airflow's (major, minor, micro), pre-release and local tags dropped."""
    from airflow import __version__
    from packaging.version import Version

    version = Version(__version__)
    return version.major, version.minor, version.micro


AIRFLOW_VERSION = get_base_airflow_version_tuple()
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= (3, 1, 0)
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2, 0)
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)
AIRFLOW_V_3_4_PLUS = AIRFLOW_VERSION >= (3, 4, 0)


try:  # the Task SDK's, from Airflow 3.1 (the common-compat shim has no entry for it)
    from airflow.sdk.exceptions import TaskDeferralTimeout
except ImportError:  # Airflow 3.0 keeps it in core
    from airflow.exceptions import TaskDeferralTimeout  # type: ignore[no-redef,unused-ignore]


class StateStore(Protocol):
    """What this provider uses of Airflow 3.3's ``task_state_store``: a per-task-instance key/value store."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


def task_state_store(context: Context) -> StateStore | None:
    """The task instance's ``task_state_store`` on Airflow 3.3+, else ``None`` (see the module docstring).

    State kept there survives reschedules and deferrals within the task instance; the caller keeps
    its own copy for the ``None`` case.
    """
    if not AIRFLOW_V_3_3_PLUS:
        return None
    store: StateStore | None = context.get("task_state_store")
    return store


class _ConnectionReader(Protocol):
    def get_connection(self, conn_id: str) -> Connection: ...


def get_connection_quietly(hook: _ConnectionReader, conn_id: str) -> Connection:
    """``hook.get_connection(conn_id)``, without a log line at INFO for each call.

    For lookups repeated every poll round (a triggerer would otherwise log one line per round).
    From 3.1 ``get_connection`` logs at DEBUG and is called as it is. Airflow 3.0's core
    ``BaseHook.get_connection`` is ``Connection.get_connection_from_secrets`` plus an INFO line;
    below 3.1 this calls the former alone.
    """
    if AIRFLOW_V_3_1_PLUS:
        return hook.get_connection(conn_id)
    import sys

    if hasattr(sys.modules.get("airflow.sdk.execution_time.task_runner"), "SUPERVISOR_COMMS"):
        # In a task or the triggerer: what 3.0's get_connection_from_secrets does there, without
        # the DeprecationWarning it writes into every task log (and the Task SDK masks the secrets).
        from airflow.providers.common.compat.sdk import AirflowNotFoundException
        from airflow.sdk import Connection as TaskSDKConnection
        from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType

        try:
            found: Connection = TaskSDKConnection.get(conn_id=conn_id)
        except AirflowRuntimeError as error:
            if error.error.error == ErrorType.CONNECTION_NOT_FOUND:
                raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined") from None
            raise
        from airflow.sdk.log import mask_secret

        for secret in (found.password, found.extra):
            if secret:
                mask_secret(secret)
        return found
    from airflow.models.connection import Connection as CoreConnection

    connection: Connection = CoreConnection.get_connection_from_secrets(conn_id)
    return connection
