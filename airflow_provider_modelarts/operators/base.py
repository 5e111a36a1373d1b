"""The connection and API-retry arguments every ModelArts task takes, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_modelarts import api

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook


class ModelArtsTaskMixin:
    """Mixed into the ModelArts operators and the sensor, before the Airflow base class.

    ``modelarts_retry_limit`` / ``modelarts_retry_delay`` configure the hook's retries of each API
    call; they are prefixed so they do not clash with the task's own ``retries``/``retry_delay``.
    """

    modelarts_conn_id: str
    region: str | None
    project_id: str | None
    modelarts_retry_limit: int
    modelarts_retry_delay: float

    def set_connection_args(
        self,
        modelarts_conn_id: str,
        region: str | None,
        project_id: str | None,
        modelarts_retry_limit: int,
        modelarts_retry_delay: float,
    ) -> None:
        """Store the arguments, refusing bad ones now (DAG parse time) unless templated."""
        self.modelarts_conn_id = modelarts_conn_id
        self.region = region
        self.project_id = project_id
        self.modelarts_retry_limit, self.modelarts_retry_delay, _ = api.validate_retry_settings(
            modelarts_retry_limit, modelarts_retry_delay
        )
        if region is not None and not api.is_template(region):
            api.validate_region(region)
        if project_id is not None and not api.is_template(project_id):
            api.validate_name(project_id, "project_id")

    def hook(self, workspace_id: str | None = None) -> ModelArtsHook:
        """A hook for the (rendered) connection arguments; it does no I/O until used."""
        # Imported here: DAG files import the operators, and requests and the signer are only
        # needed once a task runs.
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        return ModelArtsHook(
            self.modelarts_conn_id,
            region=self.region,
            project_id=self.project_id,
            workspace_id=workspace_id,
            retry_limit=self.modelarts_retry_limit,
            retry_delay=self.modelarts_retry_delay,
        )
