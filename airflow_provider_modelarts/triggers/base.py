"""The settings the v1 and the v2 trigger both take besides the job they watch: the connection,
the pace and deadline of the checks, the hook's retries and the outage being ridden out."""

from __future__ import annotations

from typing import Any

from airflow.triggers.base import BaseTrigger

from airflow_provider_modelarts.cloud.validation import validate_retry_settings
from airflow_provider_modelarts.waiting.outage import Outage, validate_max_outage


class ModelArtsBaseTrigger(BaseTrigger):
    """Holds the shared settings, and writes them for :meth:`serialize` and the poller key.

    A subclass validates its own watch first, then calls ``super().__init__`` with these keywords
    (the names its own ``__init__`` takes, since the triggerer re-creates it from its kwargs).
    """

    def __init__(
        self,
        *,
        modelarts_conn_id: str,
        region: str | None,
        project_id: str | None,
        workspace_id: str | None,
        poll_interval: float,
        end_time: float | None,
        retry_limit: int,
        retry_delay: float,
        retry_max_delay: float,
        max_outage: float,
        outage_started_at: float | None,
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
