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
  by :mod:`airflow_provider_modelarts.connection.form`.
* quiet connection reads (3.1): from 3.1 the Task SDK's ``BaseHook.get_connection`` logs each lookup
  at DEBUG; 3.0's core ``BaseHook`` logs it at INFO. :func:`get_connection_quietly` reads a
  connection without that INFO line, for lookups repeated every poll round.
* ``BaseTrigger.on_kill`` (3.3): from 3.3 the triggerer calls it when a user marks a deferred task
  failed or success, or clears it (not on a triggerer restart, a trigger moving to another
  triggerer, or a deferral timeout). Below 3.3 it is never called; a trigger's ``run()`` only sees
  an ``asyncio.CancelledError``, whatever the reason. :func:`safe_to_cancel` then tells a kill from
  the rest the way Google's provider does: it reads the task instance's state through the Task SDK
  (``RuntimeTaskInstance.get_task_states``, the ``GetTaskStates`` message every 3.x triggerer
  answers) and a task that is no longer ``deferred`` was acted on (mark failed: ``failed``, mark
  success: ``success``, clear: no state). On 3.3+ it answers ``False`` without a lookup, so the
  remote work is stopped once, by ``on_kill``. A state that cannot be read stops nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

# What Airflow resolves when a task runs (XComArg, MappedArgument, ...): a private SDK name that
# every Airflow 3 minor keeps at this path and the common-compat shim does not export. Imported
# here only, so a move in a later release is fixed in one place.
from airflow.sdk.definitions._internal.mixins import ResolveMixin

if TYPE_CHECKING:
    from airflow.sdk import Connection, Context

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AIRFLOW_V_3_4_PLUS",
    "AirflowTaskTerminated",
    "ResolveMixin",
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

try:  # the Task SDK's, from Airflow 3.1: what a task raises once it knows it was killed
    from airflow.sdk.exceptions import AirflowTaskTerminated
except ImportError:  # Airflow 3.0 keeps it in core
    from airflow.exceptions import AirflowTaskTerminated  # type: ignore[no-redef,unused-ignore]


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


#: A deferred task instance's state as ``get_task_states`` reports it (``TaskInstanceState.DEFERRED``,
#: the same string in 3.0 to 3.3).
DEFERRED_STATE = "deferred"
#: States of a task instance that a user's Mark failed or Mark success (or the scheduler) ended:
#: no try of it is running or coming. A cleared one has no state (``None``), then a new try.
ENDED_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


class TaskStateUnavailableError(Exception):
    """The state of a task instance could not be read (see :func:`task_instance_state`)."""


def triggerer_calls_on_kill() -> bool:
    """Whether the triggerer calls ``BaseTrigger.on_kill`` when a user kills a deferred task (3.3+)."""
    return AIRFLOW_V_3_3_PLUS


def task_instance_state(task_instance: Mapping[str, Any]) -> str | None:
    """The state of the task instance ``{"dag_id", "task_id", "run_id", "map_index"}``, read
    through the Task SDK from a trigger (``None``: no state, as after a clear). Blocking: call it in
    a worker thread.

    :raises TaskStateUnavailableError: no channel to Airflow (not in a triggerer or task), an error
        of the API server, or no such task instance (its DAG run was deleted, say).
    """
    try:
        dag_id, task_id, run_id = (
            str(task_instance["dag_id"]),
            str(task_instance["task_id"]),
            str(task_instance["run_id"]),
        )
        raw_map_index = task_instance.get("map_index")
        map_index = -1 if raw_map_index is None else int(raw_map_index)
    except (KeyError, TypeError, ValueError) as error:
        raise TaskStateUnavailableError(
            f"not a task instance's dag_id, task_id, run_id and map_index: {task_instance!r}"
        ) from error
    try:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        states = RuntimeTaskInstance.get_task_states(
            dag_id=dag_id, task_ids=[task_id], run_ids=[run_id], map_index=map_index
        )
    except Exception as error:  # the comms' and the API server's errors differ across 3.x
        raise TaskStateUnavailableError(f"{type(error).__name__}: {error}") from error
    # The API server keys a run's states by task_id, and a mapped instance's by f"{task_id}_{map_index}".
    key = task_id if map_index < 0 else f"{task_id}_{map_index}"
    run_states = states.get(run_id) if isinstance(states, Mapping) else None
    if not isinstance(run_states, Mapping) or key not in run_states:
        raise TaskStateUnavailableError(
            f"Airflow knows no task instance {dag_id}.{key} in run {run_id} (was its DAG run deleted?)"
        )
    state = run_states[key]
    if state is None:
        return None
    return str(getattr(state, "value", state))


def task_ended(task_instance: Mapping[str, Any]) -> bool:
    """Whether the task instance ended (:data:`ENDED_STATES`) rather than being cleared for a new
    try or still waiting. Blocking: call it in a worker thread.

    :raises TaskStateUnavailableError: the state could not be read (see :func:`task_instance_state`).
    """
    return task_instance_state(task_instance) in ENDED_STATES


def safe_to_cancel(task_instance: Mapping[str, Any]) -> bool:
    """Whether a trigger whose ``run()`` was cancelled should stop its remote work itself.

    ``False`` on Airflow 3.3+ without any lookup (the triggerer calls ``on_kill`` there). Below 3.3:
    ``True`` when the deferred task instance is no longer ``deferred`` (a user marked it failed or
    success, or cleared it; or its deferral timed out, and it was ``scheduled`` to fail), ``False``
    while it is still deferred (the triggerer restarts, or the trigger moves to another triggerer).
    Blocking: call it in a worker thread.

    :raises TaskStateUnavailableError: the state could not be read (see :func:`task_instance_state`).
    """
    if triggerer_calls_on_kill():
        return False
    return task_instance_state(task_instance) != DEFERRED_STATE
