"""The settings the v1 and the v2 trigger both take besides the job they watch: the connection,
the pace and deadline of the checks, the hook's retries and the outage being ridden out."""

from __future__ import annotations

from typing import Any, TypedDict

from airflow.triggers.base import BaseTrigger

from airflow_provider_modelarts.cloud.validation import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    validate_retry_settings,
)
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
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
