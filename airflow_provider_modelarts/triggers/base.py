"""The settings the v1 and the v2 trigger both take besides the job they watch: the connection,
the pace and deadline of the checks, the hook's retries and the outage being ridden out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypedDict

from airflow.triggers.base import BaseTrigger

from airflow_provider_modelarts.cloud.validation import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    validate_retry_settings,
)
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.utils.teardown import TaskLog
from airflow_provider_modelarts.version_compat import TaskStateUnavailableError, safe_to_cancel, triggerer_calls_on_kill
from airflow_provider_modelarts.waiting.outage import DEFAULT_MAX_OUTAGE, Outage, validate_max_outage


class TriggerSettings(TypedDict, total=False):
    """The keywords every ModelArts trigger takes besides its watch and ``modelarts_conn_id`` (see
    :class:`ModelArtsBaseTrigger`): a subclass takes them as ``**settings: Unpack[TriggerSettings]``
    and hands them on. ``modelarts_conn_id`` stays a named parameter of each trigger: earlier
    releases took it positionally, right after the watch."""

    region: str | None
    project_id: str | None
    workspace_id: str | None
    poll_interval: float
    end_time: float | None
    retry_limit: int
    retry_delay: float
    retry_max_delay: float
    max_outage: float
    outage_started_at: float | None


class ModelArtsBaseTrigger(BaseTrigger):
    """Holds the shared settings, and writes them for :meth:`serialize` and the poller key.

    A subclass validates its own watch first, then hands ``**settings`` (:class:`TriggerSettings`)
    to ``super().__init__``; its ``serialize`` writes :meth:`_shared_kwargs` among its own kwargs,
    since the triggerer re-creates it from them. See ``docs/waiting-and-outages.md``.

    :param modelarts_conn_id: the ModelArts connection id.
    :param region: overrides the connection's region.
    :param project_id: overrides the connection's project.
    :param workspace_id: the workspace (default: the connection's).
    :param poll_interval: seconds between checks; under 1 s, checks are still 1 s apart.
    :param end_time: the deadline as a Unix timestamp; ``None`` for none.
    :param retry_limit: retries of each API call on transient errors.
    :param retry_delay: first backoff delay of those retries, in seconds.
    :param retry_max_delay: longest backoff delay of those retries, in seconds.
    :param max_outage: seconds of consecutive failed checks to ride out (0: none).
    :param outage_started_at: when the current run of failed checks began (Unix time), if one has:
        set by the task when its first check failed, and kept by ``serialize``.
    """

    def __init__(
        self,
        *,
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        project_id: str | None = None,
        workspace_id: str | None = None,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        retry_limit: int = DEFAULT_RETRY_LIMIT,
        retry_delay: float = DEFAULT_RETRY_DELAY,
        retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY,
        max_outage: float = DEFAULT_MAX_OUTAGE.total_seconds(),
        outage_started_at: float | None = None,
    ) -> None:
        super().__init__()
        self.modelarts_conn_id = modelarts_conn_id
        self.region = region
        self.project_id = project_id
        self.workspace_id = workspace_id
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.retry_limit, self.retry_delay, self.retry_max_delay = validate_retry_settings(
            retry_limit, retry_delay, retry_max_delay
        )
        self.outage = Outage(validate_max_outage(max_outage), outage_started_at)

    def _shared_kwargs(self) -> dict[str, Any]:
        """The shared settings as :meth:`serialize` writes them: JSON primitives, never a secret."""
        return {
            "modelarts_conn_id": self.modelarts_conn_id,
            "region": self.region,
            "project_id": self.project_id,
            "workspace_id": self.workspace_id,
            "poll_interval": self.poll_interval,
            "end_time": self.end_time,
            "retry_limit": self.retry_limit,
            "retry_delay": self.retry_delay,
            "retry_max_delay": self.retry_max_delay,
            "max_outage": self.outage.max_outage,
            "outage_started_at": self.outage.started_at,
        }

    def _poller_key_fields(self) -> dict[str, Any]:
        """What makes two triggers' checks interchangeable: the fields of a poller key."""
        return {
            "conn_id": self.modelarts_conn_id,
            "region": self.region,
            "project_id": self.project_id,
            "workspace_id": self.workspace_id,
            "retry_limit": self.retry_limit,
            "retry_delay": self.retry_delay,
            "retry_max_delay": self.retry_max_delay,
        }


async def stop_if_task_killed(
    log: TaskLog,
    task_instance: Mapping[str, Any] | None,
    what: str,
    verb: str,
    stop: Callable[[], Awaitable[None]],
) -> None:
    """Below Airflow 3.3, in a cancelled ``run()``: ``stop()`` the remote work if the deferred task
    was killed (marked failed or success, cleared: no longer ``deferred``), not if the triggerer
    restarts or hands the trigger over. From 3.3 the triggerer calls ``on_kill`` instead, and this
    does nothing. Never raises: the cancellation goes on.

    :param log: the trigger's logger.
    :param task_instance: ``{"dag_id", "task_id", "run_id", "map_index"}`` of the deferred task.
    :param what: the remote work, for the log ("training job <id>", "service <id>").
    :param verb: what ``stop`` does to it ("terminate", "stop", "delete").
    :param stop: the coroutine that does it.
    """
    if triggerer_calls_on_kill():
        return
    if not task_instance:
        log.debug("No task_instance to tell a kill from a restart: %s left running", what)
        return
    from airflow_provider_modelarts.waiting.poller import run_in_worker_thread

    try:
        killed = await run_in_worker_thread(lambda: safe_to_cancel(task_instance))
    except TaskStateUnavailableError as error:
        log.warning(
            "Trigger cancelled, but the state of task instance %s could not be read (%s): %s was left running. "
            "If the task was marked failed or success, or cleared, %s it in the ModelArts console; check that "
            "the triggerer can reach the Airflow API server",
            task_instance,
            error,
            what,
            verb,
        )
        return
    except Exception:  # noqa: BLE001 - never fail the cancellation over this
        log.warning("Could not decide whether to %s %s", verb, what, exc_info=True)
        return
    if not killed:  # a triggerer restart, or the trigger moved to another triggerer
        log.debug("Trigger cancelled while its task is still deferred: %s keeps running", what)
        return
    log.info(
        "Trigger cancelled and its task is no longer deferred (marked failed or success, cleared, or its "
        "deferral timed out): %s %s",
        verb,
        what,
    )
    try:
        await stop()
    except Exception:  # noqa: BLE001 - the stop logs ModelArts errors; anything else (the connection) too
        log.warning("Could not %s %s: it may still be running; check the ModelArts console", verb, what, exc_info=True)
