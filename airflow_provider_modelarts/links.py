"""The "ModelArts Console" extra link on tasks that concern one training job.

Airflow 3 computes links on the worker at the end of each try, on the operator object that ran,
and stores the URL as an XCom. ``execute`` records the identifiers on that object (and, for the
record and for a deferred task resumed in another process, in the XCom ``modelarts_console``), so
the link never looks up an XCom that a failed try did not get to write: that lookup made Airflow
log "XCom not found ... modelarts_console" under every failure, which misled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

# The console's routes live with the other endpoint rules (triggers build URLs too); kept
# importable from here.
from airflow_provider_modelarts.cloud.endpoints import (
    CONSOLE_JOB_FRAGMENT,
    CONSOLE_TRAINING_JOB_FRAGMENT,
    CONSOLE_VERSION_FRAGMENT,
    console_job_url,
)

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

CONSOLE_LINK_XCOM_KEY = "modelarts_console"
# Where the running operator keeps the identifiers for its link.
CONSOLE_LINK_ATTRIBUTE = "_modelarts_console_link"

__all__ = ["CONSOLE_JOB_FRAGMENT", "CONSOLE_TRAINING_JOB_FRAGMENT", "CONSOLE_VERSION_FRAGMENT", "console_job_url"]


def persist_console_link(
    context: Context,
    hook: ModelArtsHook,
    job_id: int | str,
    version_id: int | None,
    operator: BaseOperator | None = None,
) -> None:
    """Store what :class:`ModelArtsConsoleLink` needs (no secret: base URL and ids only).

    :param operator: the running operator (default: the context's ``task``).
    """
    value: dict[str, Any] = {"console_url": hook.settings.console_url, "job_id": job_id, "version_id": version_id}
    remember_console_link(operator if operator is not None else context.get("task"), value)
    context["ti"].xcom_push(key=CONSOLE_LINK_XCOM_KEY, value=value)


def remember_console_link(operator: object, value: object) -> None:
    """Keep the link's identifiers on the operator object that runs (and then renders the link)."""
    if operator is not None and isinstance(value, dict) and "job_id" in value:
        object.__setattr__(operator, CONSOLE_LINK_ATTRIBUTE, value)


def restore_console_link(operator: BaseOperator, context: Context) -> None:
    """A resumed task runs in a new process: read back the link the deferring try stored.

    The XCom exists (it was written before deferring, and a resume does not clear XComs), so the
    lookup does not make Airflow log "XCom not found".
    """
    ti = context["ti"]
    value = ti.xcom_pull(task_ids=operator.task_id, key=CONSOLE_LINK_XCOM_KEY, map_indexes=ti.map_index)
    remember_console_link(operator, value)


class ModelArtsConsoleLink(BaseOperatorLink):
    """Opens the training job in the Huawei Cloud ModelArts console of the connection's region."""

    name = "ModelArts Console"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # No XCom lookup: a try that failed before it knew the job has no link, and says nothing.
        value = getattr(operator, CONSOLE_LINK_ATTRIBUTE, None)
        if not isinstance(value, dict) or "job_id" not in value:
            return ""
        return console_job_url(value["console_url"], value["job_id"], value.get("version_id"))


# ---------------------------------------------------------------------------------------------
# Models and services (issue 19)
# ---------------------------------------------------------------------------------------------

#: The XCom key and operator attribute of a model or service link (kept apart from the training link's).
INFERENCE_LINK_XCOM_KEY = "modelarts_inference_console"
INFERENCE_LINK_ATTRIBUTE = "_modelarts_inference_link"
# [UNCERTAIN] The console's routes are not documented; these are the routes of the console's
# "AI Applications", "Real-Time Services" and "Batch Services" detail pages as public clients link
# them. A console_url holding {model_id} or {service_id} is used as the whole template instead.
CONSOLE_MODEL_FRAGMENT = "#/model/details/{model_id}"
CONSOLE_SERVICE_FRAGMENT = "#/webService/{service_id}"
CONSOLE_BATCH_SERVICE_FRAGMENT = "#/batchService/{service_id}"


def console_inference_url(console_url: str, kind: str, resource_id: str) -> str:
    """The console URL of a model (``kind="model"``), a real-time service (``"service"``) or a
    batch service (``"batch"``)."""
    placeholder = "{model_id}" if kind == "model" else "{service_id}"
    if placeholder in console_url:
        template = console_url
    else:
        fragment = {"model": CONSOLE_MODEL_FRAGMENT, "batch": CONSOLE_BATCH_SERVICE_FRAGMENT}.get(
            kind, CONSOLE_SERVICE_FRAGMENT
        )
        template = console_url + fragment
    return template.replace(placeholder, resource_id)


def persist_inference_link(
    context: Context, hook: ModelArtsHook, kind: str, resource_id: str, operator: BaseOperator
) -> str:
    """Store what the model and service links need (base URL, kind and id; no secret), on the
    operator and in the XCom :data:`INFERENCE_LINK_XCOM_KEY`; returns the URL."""
    value = {"console_url": hook.settings.console_url, "kind": kind, "id": resource_id}
    object.__setattr__(operator, INFERENCE_LINK_ATTRIBUTE, value)
    context["ti"].xcom_push(key=INFERENCE_LINK_XCOM_KEY, value=value)
    return console_inference_url(value["console_url"], kind, resource_id)


def restore_inference_link(operator: BaseOperator, context: Context) -> str | None:
    """A resumed (deferred) task runs in a new process: read back the link; returns the URL."""
    ti = context["ti"]
    value = ti.xcom_pull(task_ids=operator.task_id, key=INFERENCE_LINK_XCOM_KEY, map_indexes=ti.map_index)
    if isinstance(value, dict) and value.get("id"):
        object.__setattr__(operator, INFERENCE_LINK_ATTRIBUTE, value)
        return console_inference_url(value["console_url"], value["kind"], value["id"])
    return None


class _InferenceConsoleLink(BaseOperatorLink):
    kinds: tuple[str, ...] = ()

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        value = getattr(operator, INFERENCE_LINK_ATTRIBUTE, None)
        if not isinstance(value, dict) or value.get("kind") not in self.kinds or not value.get("id"):
            return ""
        return console_inference_url(value["console_url"], value["kind"], value["id"])


class ModelArtsModelConsoleLink(_InferenceConsoleLink):
    """Opens the model ("AI application") in the ModelArts console of the connection's region."""

    name = "ModelArts Model"
    kinds = ("model",)


class ModelArtsServiceConsoleLink(_InferenceConsoleLink):
    """Opens the real-time or batch service in the ModelArts console of the connection's region."""

    name = "ModelArts Service"
    kinds = ("service", "batch")
