"""The "ModelArts Console" extra link on tasks that concern one training job.

Airflow 3 computes links on the worker after each try and stores the URL as an XCom, so the
identifiers are persisted to XCom during ``execute`` and the URL is built from them here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

CONSOLE_LINK_XCOM_KEY = "modelarts_console"
# The old-version training job detail page of the ModelArts console.
CONSOLE_JOB_FRAGMENT = "#/trainingJobs/trainingjobDetail?jobId={job_id}"
CONSOLE_VERSION_FRAGMENT = "&versionId={version_id}"


def console_job_url(console_url: str, job_id: int, version_id: int | None) -> str:
    """The console URL of a job (and version). A ``console_url`` holding ``{job_id}`` is used as
    the whole template, for consoles whose routes differ."""
    if "{job_id}" in console_url:
        template = console_url
    else:
        template = console_url + CONSOLE_JOB_FRAGMENT + (CONSOLE_VERSION_FRAGMENT if version_id else "")
    return template.format(job_id=job_id, version_id=version_id if version_id is not None else "")


def persist_console_link(context: Context, hook: ModelArtsHook, job_id: int, version_id: int | None) -> None:
    """Store what :class:`ModelArtsConsoleLink` needs (no secret: base URL and ids only)."""
    value: dict[str, Any] = {"console_url": hook.settings.console_url, "job_id": job_id, "version_id": version_id}
    context["ti"].xcom_push(key=CONSOLE_LINK_XCOM_KEY, value=value)


class ModelArtsConsoleLink(BaseOperatorLink):
    """Opens the training job in the Huawei Cloud ModelArts console of the connection's region."""

    name = "ModelArts Console"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom  # only where links are computed, on the worker

        value = XCom.get_value(ti_key=ti_key, key=CONSOLE_LINK_XCOM_KEY)
        if not isinstance(value, dict) or "job_id" not in value:
            return ""
        return console_job_url(value["console_url"], value["job_id"], value.get("version_id"))
