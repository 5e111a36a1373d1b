"""Services (the v1 API): deploy a real-time service or update the one of that name
(``ModelArtsDeployServiceOperator``), run a batch inference (``ModelArtsBatchInferenceOperator``),
and start, stop or delete a service, idempotently."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_modelarts.cloud.inference import services
from airflow_provider_modelarts.cloud.inference.common import validate_choice, validate_resource_id
from airflow_provider_modelarts.cloud.validation import positive_seconds, validate_flag
from airflow_provider_modelarts.exceptions import (
    ModelArtsNotFoundError,
    ModelArtsResourceExistsError,
    ModelArtsServiceDeleteTimeoutError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.operators import inference_base
from airflow_provider_modelarts.operators.base import _ModelArtsOperator
from airflow_provider_modelarts.operators.inference_base import (
    SERVICE_ID_XCOM_KEY,
    ModelArtsServiceFailedError,
    _ServiceWaitOperator,
    resolved_anywhere,
)
from airflow_provider_modelarts.utils.assets import batch_extra, service_extra
from airflow_provider_modelarts.utils.mixins import resolved_at_runtime
from airflow_provider_modelarts.utils.teardown import (
    KILL_ACTIONS,
    end_service_quietly,
    wait_until_service_gone,
)
from airflow_provider_modelarts.waiting.inference import (
    CONCERNING_CHOICES,
    Concerning,
)
from airflow_provider_modelarts.waiting.outage import DEFAULT_MAX_OUTAGE

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.utils.lineage import InferenceLineage

__all__ = [
    "SERVICE_ID_XCOM_KEY",
    "ModelArtsBatchInferenceOperator",
    "ModelArtsDeleteServiceOperator",
    "ModelArtsDeployServiceOperator",
    "ModelArtsServiceDeleteTimeoutError",
    "ModelArtsServiceExistsError",
    "ModelArtsServiceFailedError",
    "ModelArtsStartServiceOperator",
    "ModelArtsStopServiceOperator",
]

IF_EXISTS_CHOICES = ("update", "fail")
ON_KILL_ACTIONS = KILL_ACTIONS
#: How long ModelArtsDeleteServiceOperator waits for the service to be gone, by default.
DEFAULT_DELETE_WAIT = timedelta(minutes=30)
# The fields of a config entry that say what is deployed (others are the service's own answers).
_DEPLOYED_FIELDS = ("model_id", "specification", "instance_count", "weight", "envs", "custom_spec")


class ModelArtsServiceExistsError(AirflowFailException):
    """``if_exists="fail"`` and a service of that name exists with another configuration."""


def _deployed(config: object) -> list[dict[str, Any]]:
    """What a ``config`` deploys, comparable between a body and the service's answer: a field left
    out and one the service fills with an empty default (``envs: {}``) are the same."""
    entries = config if isinstance(config, list) else []
    return sorted(
        ({key: entry.get(key) for key in _DEPLOYED_FIELDS if entry.get(key) not in (None, {}, [])}
         for entry in entries if isinstance(entry, Mapping)),
        key=lambda entry: str(entry.get("model_id")),
    )  # fmt: skip


class ModelArtsDeployServiceOperator(_ServiceWaitOperator):
    """Deploy a real-time service (``POST /v1/{project_id}/services``), or update the service of
    that name with the new ``config`` (the SageMaker create-or-update fallback), and wait until
    it is ``running``.

    Durable: a retry or a Clear finds the service of that name. One already running the same
    configuration (the models, specifications, instance counts and weights) is used as it is, a
    stopped one is started; one with another configuration is updated (``if_exists="update"``)
    or fails the task (``"fail"``). ``failed`` fails the task with ``error_msg`` and the last
    events, without task retries. Asset events of ``outlets`` carry the service's id, name and
    status (:mod:`~airflow_provider_modelarts.utils.assets`).

    :param service: the deploy body, as the API documents it; ``infer_type`` ``real-time`` (templated).
    :param wait_for_completion: wait until the service runs (default).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks (default 60).
    :param max_outage: how long failed checks are ridden out (default 15 minutes).
    :param if_exists: ``"update"`` (default) or ``"fail"``.
    :param concerning: ``"warn"`` (default: a running service with unhealthy instances is a
        success, with a warning) or ``"fail"``.
    :param on_kill_action: what a kill does to the service this try deployed, updated or started:
        ``"stop"`` (default), ``"delete"`` (only a service this try created; one it updated or
        started is stopped) or ``"none"``.
    :param xcom_fields: ``None`` (``service_id``, ``service_name``, ``status``,
        ``access_address``, ``console_url``), ``"all"`` (the service object) or those names.
    """

    template_fields: Sequence[str] = ("service", "modelarts_conn_id", "region", "project_id")
    template_fields_renderers = {"service": "json"}

    def __init__(
        self,
        *,
        service: dict[str, Any],
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 60.0,
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        if_exists: str = "update",
        concerning: Concerning = "warn",
        on_kill_action: str = "stop",
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            deferrable=deferrable, poll_interval=poll_interval, max_outage=max_outage, xcom_fields=xcom_fields, **kwargs
        )
        for name, value in (
            ("wait_for_completion", wait_for_completion),
            ("if_exists", if_exists),
            ("concerning", concerning),
            ("on_kill_action", on_kill_action),
        ):
            self.require_literal(value, name)
        if not resolved_anywhere(service):
            _require_type(services.validate_service_create(service), services.REAL_TIME)
        self.service = service
        self.wait_for_completion = validate_flag(wait_for_completion, "wait_for_completion")
        self.if_exists = validate_choice(if_exists, "if_exists", IF_EXISTS_CHOICES)
        if concerning not in CONCERNING_CHOICES:
            raise ModelArtsValidationError("concerning", "'warn' or 'fail'", concerning)
        self.concerning = concerning
        self.on_kill_action = validate_choice(on_kill_action, "on_kill_action", ON_KILL_ACTIONS)
        self.service_id: str | None = None
        # What this try did to the service: "created", "updated", "started" or None (used as it was).
        self._action: str | None = None

    def execute(self, context: Context) -> Any:
        body = services.ValidatedService.validate(self.service)
        _require_type(body.body, services.REAL_TIME)
        hook = self.hook()
        try:
            service_id = self._deploy(hook, body)
            self._record(context, hook, service_id)
            self._stop_if_killed()
            if not self.wait_for_completion:
                return self._published(context, self._result(hook.get_service(service_id)))
            return self._published(context, self._wait(context, hook))
        finally:
            hook.close()

    def _deploy(self, hook: ModelArtsHook, body: services.ValidatedService) -> str:
        """Create the service, or bring the existing one of that name to this configuration."""
        existing = self._settled(hook, next(iter(hook.find_services(body.name, body.body.get("workspace_id"))), None))
        if existing is None:
            try:
                created = hook.create_service(body)
            except ModelArtsResourceExistsError:
                found = next(iter(hook.find_services(body.name, body.body.get("workspace_id"))), None)
                existing = self._settled(hook, found)
                if existing is None:
                    raise
            else:
                self._action = "created"
                self.log.info("Deploying service %r: id %s", body.name, created.get("service_id"))
                return str(created["service_id"])
        service_id, current = str(existing["service_id"]), existing
        status = services.parse_service_status(current.get("status"))
        same = _deployed(current.get("config")) == _deployed(body.body.get("config"))
        if same and status is not services.ServiceStatus.FAILED:
            if status is services.ServiceStatus.STOPPED:
                hook.update_service(service_id, status="running")
                self._action = "started"
                self.log.info(
                    "Service %r (%s) has this configuration and was stopped: started it", body.name, service_id
                )
            else:
                self.log.info(
                    "Service %r (%s) already has this configuration (%s): using it", body.name, service_id, status
                )
            return service_id
        if self.if_exists == "fail":
            raise ModelArtsServiceExistsError(
                f"Service {body.name!r} ({service_id}) exists with another configuration or has failed "
                f"(status {current.get('status')}), and if_exists='fail'; use if_exists='update' to update it"
            )
        hook.update_service(service_id, config=body.body["config"])
        self._action = "updated"
        self.log.info("Service %r (%s) exists: updated it with the new config", body.name, service_id)
        return service_id

    def _succeeded(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> Any:
        return self._result(current)

    def _result(self, current: dict[str, Any]) -> Any:
        self._asset_event = service_extra(current, self._console_url)
        row = {**services.service_row(current), "console_url": self._console_url}
        row = {key: row[key] for key in ("service_id", "service_name", "status", "access_address", "console_url")}
        return self._shaped(current, row, "the service's row")

    def _kill_action(self) -> str:
        """``on_kill_action`` for what this try did: ``delete`` only a service it created, ``stop``
        one it updated or started, nothing for one it used as it was."""
        if self.service_id is None or self._action is None or self.on_kill_action == "none":
            return "none"
        return "delete" if self.on_kill_action == "delete" and self._action == "created" else "stop"

    def _after_kill(self) -> None:
        """Stop or delete what this try deployed, updated or started, as ``on_kill_action`` says."""
        action = self._kill_action()
        if action == "none":
            return
        hook = self.hook()
        try:
            end_service_quietly(hook, str(self.service_id), action, self.log)
        finally:
            hook.close()
        self._action = None  # once

    def on_kill(self) -> None:
        self._killed = True
        self._after_kill()


class ModelArtsBatchInferenceOperator(_ServiceWaitOperator):
    """Run a batch inference: deploy a batch service (``infer_type="batch"``: ``src_path``,
    ``dest_path``, ``req_uri``, ``mapping_type``), wait until it is ``finished`` (``failed`` or
    ``stopped`` fail the task, without retries), and delete it afterwards by default.

    Durable: a retry or a Clear finds the batch service of that name and waits for it (one
    already finished is done) instead of deploying it again. One that stopped (an earlier try's
    kill or timeout) or failed is deleted and the batch deployed again. Asset events of
    ``outlets`` carry the service's id and status and the ``dest_path``s; an ``AssetAlias`` outlet
    gets each ``dest_path`` as an asset (:mod:`~airflow_provider_modelarts.utils.assets`).

    :param service: the deploy body, ``infer_type`` ``batch`` (templated).
    :param delete_on_finish: delete the batch service once it finished (default True).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks (default 60).
    :param max_outage: how long failed checks are ridden out (default 15 minutes).
    :param stop_on_kill: stop the batch service when the task is killed (default True).
    :param xcom_fields: ``None`` (``service_id``, ``status``, ``dest_path``, ``console_url``),
        ``"all"`` (the service object) or those names.
    """

    template_fields: Sequence[str] = ("service", "modelarts_conn_id", "region", "project_id")
    template_fields_renderers = {"service": "json"}
    target_statuses = ("finished",)
    failure_statuses = ("failed", "stopped")
    link_kind = "batch"

    def __init__(
        self,
        *,
        service: dict[str, Any],
        delete_on_finish: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 60.0,
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        stop_on_kill: bool = True,
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            deferrable=deferrable, poll_interval=poll_interval, max_outage=max_outage, xcom_fields=xcom_fields, **kwargs
        )
        for name, value in (("delete_on_finish", delete_on_finish), ("stop_on_kill", stop_on_kill)):
            self.require_literal(value, name)
        if not resolved_anywhere(service):
            _require_type(services.validate_service_create(service), services.BATCH)
        self.service = service
        self.delete_on_finish = validate_flag(delete_on_finish, "delete_on_finish")
        self.stop_on_kill = validate_flag(stop_on_kill, "stop_on_kill")
        self.service_id: str | None = None
        self._config: object = None

    def execute(self, context: Context) -> Any:
        body = services.ValidatedService.validate(self.service)
        _require_type(body.body, services.BATCH)
        self._config = body.body.get("config")
        hook = self.hook()
        try:
            existing = self._settled(
                hook, next(iter(hook.find_services(body.name, body.body.get("workspace_id"))), None)
            )
            if existing is not None and _ended_without_output(existing):
                # An earlier try's run that was stopped (its kill, a timeout) or failed: run it again.
                self.log.info(
                    "Batch service %r (%s) of an earlier try is %s: deleting it and deploying the batch again",
                    body.name, existing.get("service_id"), existing.get("status"),
                )  # fmt: skip
                self._replace(hook, str(existing["service_id"]))
                existing = None
            if existing is not None:
                self.log.info(
                    "Batch service %r exists (%s, %s), deployed earlier (by an earlier try or run of this task, or "
                    "elsewhere): waiting for it",
                    body.name, existing.get("service_id"), existing.get("status"),
                )  # fmt: skip
                service_id = str(existing["service_id"])
            else:
                service_id = str(hook.create_service(body)["service_id"])
                self.log.info("Deployed batch service %r: id %s", body.name, service_id)
            self._record(context, hook, service_id)
            self._stop_if_killed()
            return self._published(context, self._wait(context, hook))
        finally:
            hook.close()

    def _replace(self, hook: ModelArtsHook, service_id: str) -> None:
        """Delete an earlier try's ended batch service and wait until it is gone (its name is taken)."""
        try:
            hook.delete_service(service_id)
        except ModelArtsNotFoundError:
            return
        wait_until_service_gone(
            hook, service_id, min(self.poll_interval, 10.0), DEFAULT_DELETE_WAIT.total_seconds(), self.log
        )

    def _succeeded(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> Any:
        # A resumed task has the event's row: its dest_paths, read from the finished service.
        rows_paths = current.get("dest_paths")
        outputs = (
            [str(path) for path in rows_paths if path]
            if isinstance(rows_paths, list)
            else services.batch_outputs(current) or services.batch_outputs({"config": self.service.get("config")})
        )
        self._asset_event = batch_extra(self.service_id, current, outputs, self._console_url)
        if self.delete_on_finish:
            self._delete_quietly(hook)
        row = {
            "service_id": self.service_id,
            "status": current.get("status"),
            "dest_path": outputs[0] if outputs else None,
            "console_url": self._console_url,
        }
        return self._shaped(current, row, "the batch run's row")

    def _kill_action(self) -> str:
        return "stop" if self.service_id is not None and self.stop_on_kill else "none"

    def _after_kill(self) -> None:
        if self._kill_action() == "none":
            return
        hook = self.hook()
        try:
            self._stop_quietly(hook)
        finally:
            hook.close()
        self.stop_on_kill = False  # once

    def on_kill(self) -> None:
        self._killed = True
        self._after_kill()

    def get_openlineage_facets_on_complete(self, task_instance: object) -> InferenceLineage:
        """Each config's ``src_path`` in and ``dest_path`` out (no API call)."""
        from airflow_provider_modelarts.utils.lineage import batch_lineage

        # A resumed (deferred) task sent nothing itself: its rendered body has the same config.
        config = self._config if self._config is not None else _mapping_or_empty(self.service).get("config")
        return batch_lineage(config, self.service_id)

    def get_openlineage_facets_on_failure(self, task_instance: object) -> InferenceLineage:
        return self.get_openlineage_facets_on_complete(task_instance)


class _ServiceStatusOperator(_ServiceWaitOperator):
    """Start or stop a service by id (templated), idempotently, and wait for the new status."""

    template_fields: Sequence[str] = ("service_id", "modelarts_conn_id", "region", "project_id")
    wanted = "running"
    #: Statuses in which there is nothing to do.
    already: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        service_id: str,
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
        if not resolved_at_runtime(service_id):
            validate_resource_id(service_id, "service_id")
        self.service_id = service_id
        self.wait_for_completion = validate_flag(wait_for_completion, "wait_for_completion")

    def execute(self, context: Context) -> Any:
        self.service_id = validate_resource_id(self.service_id, "service_id")
        hook = self.hook()
        try:
            current = hook.get_service(self.service_id)
            self._link(context, hook, self.service_id, "batch" if current.get("infer_type") == "batch" else "service")
            if current.get("status") in self.already:
                self.log.info("Service %s is already %s: nothing to do", self.service_id, current.get("status"))
                return self._succeeded(hook, current, "")
            kind = str(current.get("infer_type") or services.REAL_TIME)
            hook.update_service(self.service_id, status=self.wanted, infer_type=kind)
            self.log.info("Asked service %s to be %s (it was %s)", self.service_id, self.wanted, current.get("status"))
            if not self.wait_for_completion:
                return self._succeeded(hook, hook.get_service(self.service_id), "")
            return self._wait(context, hook)
        finally:
            hook.close()

    def _succeeded(self, hook: ModelArtsHook, current: dict[str, Any], message: str) -> Any:
        row = services.service_row(current)
        compact = {key: row[key] for key in ("service_id", "status", "access_address")}
        return self._shaped(current, compact, "the service's row")


class ModelArtsStartServiceOperator(_ServiceStatusOperator):
    """Start a stopped service (``PUT .../services/{service_id}`` with ``status="running"``) and
    wait until it runs; one already running (or ``concerning``) is a success, with a log line.

    :param service_id: the service (templated).
    :param wait_for_completion: wait until it runs (default).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks (default 60).
    :param max_outage: how long failed checks are ridden out (default 15 minutes).
    :param xcom_fields: ``None`` (``service_id``, ``status``, ``access_address``), ``"all"`` (the
        service object) or those names.
    """

    wanted = "running"
    already = ("running", "concerning")


class ModelArtsStopServiceOperator(_ServiceStatusOperator):
    """Stop a service (``status="stopped"``) and wait until it is stopped; one already stopped
    is a success, with a log line. Parameters as :class:`ModelArtsStartServiceOperator`."""

    wanted = "stopped"
    already = ("stopped",)
    target_statuses = ("stopped",)
    failure_statuses = ("failed",)


class ModelArtsDeleteServiceOperator(_ModelArtsOperator):
    """Delete a service (``DELETE /v1/{project_id}/services/{service_id}``) and, by default, wait
    until it is gone: a service goes ``deleting`` first, and while it exists its model cannot be
    deleted (``ModelArts.3009``, "model used to deploy a service"), so a
    :class:`~airflow_provider_modelarts.operators.models.ModelArtsDeleteModelOperator` right after
    this task succeeds. Idempotent: a service that is already gone is a success, with a log line.

    :param service_id: the service (templated). Rendered empty (``"{{ ti.xcom_pull(...) or '' }}"``
        when the task that deploys it made none): nothing to delete, a success with a log line.
    :param wait_for_completion: wait in the worker until a read answers "no such service"
        (default True); False returns once the delete is accepted.
    :param poll_interval: seconds between reads while it is deleting (default 10).
    :param wait_timeout: how long to wait at most, a ``timedelta`` or seconds (default 30 minutes);
        a service still there then fails the try with
        :class:`ModelArtsServiceDeleteTimeoutError` (task retries apply).
    """

    template_fields: Sequence[str] = ("service_id", "modelarts_conn_id", "region", "project_id")
    ui_color = "#fdecea"

    def __init__(
        self,
        *,
        service_id: str,
        wait_for_completion: bool = True,
        poll_interval: float = 10.0,
        wait_timeout: timedelta | float = DEFAULT_DELETE_WAIT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        settings = {"wait_for_completion": wait_for_completion, "poll_interval": poll_interval}
        for name, value in {**settings, "wait_timeout": wait_timeout}.items():
            self.require_literal(value, name)
        if not resolved_at_runtime(service_id):
            validate_resource_id(service_id, "service_id")
        self.service_id = service_id
        self.wait_for_completion = validate_flag(wait_for_completion, "wait_for_completion")
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        if isinstance(wait_timeout, timedelta):
            wait_timeout = wait_timeout.total_seconds()
        self.wait_timeout = positive_seconds(wait_timeout, "wait_timeout")

    def execute(self, context: Context) -> dict[str, Any]:
        if self.service_id in (None, ""):
            self.log.info("No service id (the task that deploys the service made none): nothing to delete")
            return {"service_id": None, "deleted": False}
        service_id = validate_resource_id(self.service_id, "service_id")
        hook = self.hook()
        try:
            try:
                hook.delete_service(service_id)
            except ModelArtsNotFoundError:
                self.log.info("Service %s does not exist (already deleted): nothing to do", service_id)
                return {"service_id": service_id, "deleted": False}
            self.log.info("Asked to delete service %s", service_id)
            if self.wait_for_completion:
                self._wait_until_gone(hook, service_id)
        finally:
            hook.close()
        return {"service_id": service_id, "deleted": True}

    def _wait_until_gone(self, hook: ModelArtsHook, service_id: str) -> None:
        wait_until_service_gone(hook, service_id, self.poll_interval, self.wait_timeout, self.log, inference_base.sleep)


def _ended_without_output(service: Mapping[str, Any]) -> bool:
    """A batch service that stopped or failed: its run will not finish."""
    return services.parse_service_status(service.get("status")) in (
        services.ServiceStatus.STOPPED,
        services.ServiceStatus.FAILED,
    )


def _mapping_or_empty(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _require_type(body: Mapping[str, Any], infer_type: str) -> None:
    """The operator's ``infer_type``, named ``service.infer_type`` when another is written."""
    if body.get("infer_type") != infer_type:
        raise ModelArtsValidationError(
            "service.infer_type", f"{infer_type!r} (the other type has its own operator)", body.get("infer_type")
        )
