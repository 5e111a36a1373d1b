"""Models ("AI applications", the v1 API): ``ModelArtsCreateModelOperator`` registers one and
waits until it is published; ``ModelArtsDeleteModelOperator`` deletes one, idempotently."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_modelarts.cloud.inference import models
from airflow_provider_modelarts.cloud.inference.common import validate_resource_id
from airflow_provider_modelarts.cloud.validation import validate_flag
from airflow_provider_modelarts.exceptions import (
    ModelArtsNotFoundError,
    ModelArtsResourceExistsError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.links import ModelArtsModelConsoleLink
from airflow_provider_modelarts.operators.base import _ModelArtsOperator
from airflow_provider_modelarts.operators.inference_base import (
    ModelArtsModelFailedError,
    _InferenceOperator,
    resolved_anywhere,
)
from airflow_provider_modelarts.triggers.inference import ModelArtsModelTrigger
from airflow_provider_modelarts.utils.assets import model_extra
from airflow_provider_modelarts.utils.mixins import resolved_at_runtime
from airflow_provider_modelarts.waiting.inference import ModelWaitCondition, model_reader
from airflow_provider_modelarts.waiting.outage import DEFAULT_MAX_OUTAGE

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.utils.lineage import InferenceLineage

__all__ = ["ModelArtsCreateModelOperator", "ModelArtsDeleteModelOperator", "ModelArtsModelFailedError"]

#: The XCom key holding the id of the model the task created or found (pushed before the wait).
MODEL_ID_XCOM_KEY = "model_id"
#: Statuses of a model whose build failed: a later try registers it again.
FAILED_BUILDS = (models.ModelStatus.FAILED, models.ModelStatus.BUILDING_FAILED)


class ModelArtsCreateModelOperator(_InferenceOperator):
    """Register a model ("AI application", ``POST /v1/{project_id}/models``) and wait until it is
    ``published``.

    The body is checked before any request (a literal one when the DAG is parsed, a templated one
    once rendered). A model is identified by its name and version: a task retry or a Clear that
    finds the model of the same ``model_name`` and ``model_version`` (an earlier try created it)
    uses it instead of failing on the duplicate, unless its ``source_location`` differs (then it
    is not this task's model, and the task fails naming it). ``failed`` or ``building_failed``
    fails the task with the reason, without task retries. The XCom ``model_id`` is pushed before
    the wait; ``return_value`` is a compact row. Asset events of ``outlets`` carry the model's
    id, name, version, status and ``source_location`` (:mod:`~airflow_provider_modelarts.utils.assets`).

    :param model: the create body, as the API documents it (templated; rendered as JSON).
    :param wait_for_completion: wait until the model is published (default); ``False`` returns
        once it is created.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks (default 60).
    :param max_outage: how long failed checks are ridden out (default 15 minutes).
    :param xcom_fields: ``None`` (``model_id``, ``model_name``, ``model_version``,
        ``model_status``, ``console_url``), ``"all"`` (the model object) or those field names.

    The connection and API-retry arguments are those of
    :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin`.
    """

    template_fields: Sequence[str] = ("model", "modelarts_conn_id", "region", "project_id")
    template_fields_renderers = {"model": "json"}
    operator_extra_links = (ModelArtsModelConsoleLink(),)
    link_kind = "model"

    def __init__(
        self,
        *,
        model: dict[str, Any],
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 60.0,
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            deferrable=deferrable, poll_interval=poll_interval, max_outage=max_outage, xcom_fields=xcom_fields, **kwargs
        )
        self.require_literal(wait_for_completion, "wait_for_completion")
        if not resolved_anywhere(model):
            models.validate_model_create(model)
        self.model = model
        self.wait_for_completion = validate_flag(wait_for_completion, "wait_for_completion")
        self.model_id: str | None = None
        self._sent: models.ValidatedModel | None = None
        self._last: dict[str, Any] | None = None

    def execute(self, context: Context) -> Any:
        body = models.ValidatedModel.validate(self.model)  # once per try: the hook sends it as it is
        self._sent = body
        hook = self.hook()
        try:
            found = self._create_or_find(hook, body)
            self.model_id = str(found["model_id"])
            context["ti"].xcom_push(key=MODEL_ID_XCOM_KEY, value=self.model_id)
            self._link(context, hook, self.model_id)
            if not self.wait_for_completion:
                return self._published(context, self._result({**body.body, **found, "model_id": self.model_id}))
            return self._published(context, self._wait(context, hook))
        finally:
            hook.close()

    def _create_or_find(self, hook: ModelArtsHook, body: models.ValidatedModel) -> dict[str, Any]:
        """The model this task instance registers: created, or found (an earlier try created it)."""
        try:
            created = hook.create_model(body)
        except ModelArtsResourceExistsError:
            existing = next(iter(hook.find_models(body.name, body.version, body.body.get("workspace_id"))), None)
            if existing is None:
                raise  # refused as a duplicate, yet not found: say what the API said
            if "source_location" not in existing:  # a list item may leave it out: read the model
                existing = {**existing, **hook.get_model(str(existing["model_id"]))}
            self._check_same_source(existing, body)
            if models.parse_model_status(existing.get("model_status")) in FAILED_BUILDS:
                return self._register_again(hook, body, existing)
            self.log.info(
                "Model %r version %s already exists (id %s, %s), registered earlier (by an earlier try or "
                "run of this task, or elsewhere): using it instead of registering it again",
                body.name,
                body.version,
                existing.get("model_id"),
                existing.get("model_status"),
            )
            return existing
        self.log.info("Registered model %r version %s: id %s", body.name, body.version, created.get("model_id"))
        return created

    def _register_again(
        self, hook: ModelArtsHook, body: models.ValidatedModel, failed: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A model of this name and version that failed to build (an earlier try's, say): a Clear
        or a retry means to build it again, so it is deleted and registered once more."""
        model_id = str(failed["model_id"])
        self.log.info(
            "Model %r version %s (id %s) exists but is %s: deleting it and registering it again",
            body.name, body.version, model_id, failed.get("model_status"),
        )  # fmt: skip
        with contextlib.suppress(ModelArtsNotFoundError):  # gone meanwhile: as good
            hook.delete_model(model_id)
        created = hook.create_model(body)
        self.log.info("Registered model %r version %s: id %s", body.name, body.version, created.get("model_id"))
        return created

    def _check_same_source(self, existing: Mapping[str, Any], body: models.ValidatedModel) -> None:
        wanted, found = body.body.get("source_location"), existing.get("source_location")
        if wanted and found and str(wanted).rstrip("/") != str(found).rstrip("/"):
            raise ModelArtsValidationError(
                "model.model_version",
                f"a version not taken by another model: model {body.name!r} version {body.version} exists "
                f"(id {existing.get('model_id')}) with source_location {found!r}, not {wanted!r}, so it is "
                "not the model this task registers; raise model_version or delete that model",
                body.version,
            )

    # ------------------------------------------------------------------ the wait

    def _resource_id(self) -> str:
        return f"model {self.model_id}"

    def _read(self, hook: ModelArtsHook) -> dict[str, Any]:
        return model_reader(hook, self._condition())()

    def _condition(self) -> ModelWaitCondition:
        return ModelWaitCondition(str(self.model_id))

    def _trigger(self) -> ModelArtsModelTrigger:
        condition = self._condition()
        return ModelArtsModelTrigger(
            str(self.model_id),
            condition.scheme.ordered(condition.target_statuses),
            condition.scheme.ordered(condition.failure_statuses),
            **self.trigger_settings(),
        )

    def _restore_from_event(self, context: Context, event: Mapping[str, Any]) -> None:
        model_id = event.get("model_id")
        if not model_id:
            ti = context["ti"]
            model_id = ti.xcom_pull(task_ids=self.task_id, key=MODEL_ID_XCOM_KEY, map_indexes=ti.map_index)
        self.model_id = str(model_id) if model_id else self.model_id

    def _failure(self, message: str) -> ModelArtsModelFailedError:
        return ModelArtsModelFailedError(message)

    def _succeeded(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> Any:
        self._last = current
        return self._result(current)

    def _failed(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> NoReturn:
        self._last = current
        reason = models.failure_reason(current)
        full = f"{message}: {reason}" if reason and reason not in message else message
        self.log.error(full)
        raise ModelArtsModelFailedError(full)

    def _result(self, model: dict[str, Any]) -> Any:
        self._asset_event = model_extra(model, self._console_url)
        row = {
            "model_id": model.get("model_id"),
            "model_name": model.get("model_name"),
            "model_version": model.get("model_version"),
            "model_status": model.get("model_status"),
            "console_url": self._console_url,
        }
        return self._shaped(model, row, "the model's row")

    # ------------------------------------------------------------------ OpenLineage

    def get_openlineage_facets_on_complete(self, task_instance: object) -> InferenceLineage:
        """The model's ``source_location`` in, the model out (no API call)."""
        from airflow_provider_modelarts.utils.lineage import model_lineage

        # A resumed (deferred) task sent nothing itself: its rendered body names the same model.
        body = self.model if isinstance(self.model, Mapping) else None
        sent = self._sent.body if self._sent is not None else body
        return model_lineage(sent or self._last, self.model_id)

    def get_openlineage_facets_on_failure(self, task_instance: object) -> InferenceLineage:
        return self.get_openlineage_facets_on_complete(task_instance)


class ModelArtsDeleteModelOperator(_ModelArtsOperator):
    """Delete a model (``DELETE /v1/{project_id}/models/{model_id}``). Idempotent: a model that is
    already gone is a success, with a log line. A model used by a service is refused (the API
    answers 200 with a ``delete_failed_list``), and the task fails saying so; task retries apply
    (the service may be deleted meanwhile).

    :param model_id: the model (templated). Rendered empty (``"{{ ti.xcom_pull(...) or '' }}"``
        when the task that registers it made none): nothing to delete, a success with a log line.
    :param cascade: also delete the other versions of the same name (default False).
    """

    template_fields: Sequence[str] = ("model_id", "modelarts_conn_id", "region", "project_id")
    ui_color = "#fdecea"

    def __init__(self, *, model_id: str, cascade: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.require_literal(cascade, "cascade")
        if not resolved_at_runtime(model_id):
            validate_resource_id(model_id, "model_id")
        self.model_id = model_id
        self.cascade = validate_flag(cascade, "cascade")

    def execute(self, context: Context) -> dict[str, Any]:
        if self.model_id in (None, ""):
            self.log.info("No model id (the task that registers the model made none): nothing to delete")
            return {"model_id": None, "deleted": False}
        model_id = validate_resource_id(self.model_id, "model_id")
        hook = self.hook()
        try:
            answer = hook.delete_model(model_id, cascade=self.cascade)
        except ModelArtsNotFoundError:
            self.log.info("Model %s does not exist (already deleted): nothing to do", model_id)
            return {"model_id": model_id, "deleted": False}
        finally:
            hook.close()
        self.log.info("Deleted model %s%s", model_id, " and its other versions" if self.cascade else "")
        return {"model_id": model_id, "deleted": True, "delete_success_list": answer.get("delete_success_list")}
