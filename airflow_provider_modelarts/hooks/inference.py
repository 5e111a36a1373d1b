"""The model and service endpoints of :class:`~airflow_provider_modelarts.hooks.modelarts.ModelArtsHook`
(the v1 inference API: ``/v1/{project_id}/models`` and ``/v1/{project_id}/services``), one short
method per endpoint, plus :meth:`InferenceApi.invoke_service` for a smoke-test call.

What the API documents (paths, statuses, body rules, error codes) is in
:mod:`airflow_provider_modelarts.cloud.inference`; a create or delete whose answer was lost is
recovered by :mod:`airflow_provider_modelarts.hooks.recovery`, as the training create is.

.. seealso:: https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateModel.html and
    https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateService.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_modelarts.cloud.inference import models, services
from airflow_provider_modelarts.cloud.inference.common import (
    DEFAULT_LIMIT,
    ERROR_TABLE,
    MODEL_EXISTS_CODE,
    SERVICE_EXISTS_CODE,
    validate_choice,
    validate_resource_id,
)
from airflow_provider_modelarts.cloud.validation import validate_flag, validate_optional_positive_int
from airflow_provider_modelarts.exceptions import (
    ModelArtsModelDeleteError,
    ModelArtsResourceExistsError,
    ModelArtsServiceNotReadyError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.hooks import paging, recovery
from airflow_provider_modelarts.hooks.base import LIST_KEY, ModelArtsBaseHook


class InferenceApi(ModelArtsBaseHook):
    """The v1 model and service endpoints; use them through ``ModelArtsHook``."""

    # ------------------------------------------------------------------ models

    def create_model(self, model: Mapping[str, Any] | models.ValidatedModel) -> dict[str, Any]:
        """Create a model ("AI application", ``POST /v1/{project_id}/models``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateModel.html). The model is
        built asynchronously: poll :meth:`get_model` until ``model_status`` is ``published``.

        Never resent blindly: after an attempt without a clear answer the model of the same
        ``model_name`` and ``model_version`` is looked up (:meth:`find_models`) and returned if
        found, else the body is sent again (at most ``retry_limit`` more times).

        :param model: the create body (``model_name``, ``model_version``, ``model_type``,
            ``source_location``, ...), checked by
            :func:`~airflow_provider_modelarts.cloud.inference.models.validate_model_create` first
            (nothing is sent for a bad one); never changed.
        :return: ``{"model_id": ...}``, or the found model's list item (which has ``model_id``).
        :raises ModelArtsValidationError: the body breaks a documented rule, named (``model.model_version``).
        :raises ModelArtsResourceExistsError: a model of that name and version exists (``ModelArts.3002``).
        :raises ModelArtsTransportError: no attempt got a clear answer and no such model exists, or the lookup failed.
        """
        checked = models.ValidatedModel.validate(model)
        body, name, version = checked.body, checked.name, checked.version
        path = models.models_path(self.settings.project_id)
        return recovery.create_once(
            self,
            recovery.Create(
                what=f"model {name!r} version {version}",
                noun="model",
                identity=f"named {name!r} with version {version}",
                key="name and version",
                send=lambda: self.request("POST", path, json_body=body, idempotent=False, error_table=ERROR_TABLE),
                find=lambda: next(iter(self.find_models(name, version, body.get("workspace_id"))), None),
                duplicate_codes=(MODEL_EXISTS_CODE,),
                duplicate=lambda error: ModelArtsResourceExistsError("model", f"{name!r} {version}", error),
            ),
        )

    def get_model(self, model_id: str) -> dict[str, Any]:
        """A model's details (``GET /v1/{project_id}/models/{model_id}``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowModel.html), as the API returns it.

        :param model_id: the model's id.
        :raises ModelArtsNotFoundError: no such model (``ModelArts.3001``).
        """
        model = validate_resource_id(model_id, "model_id")
        return self.request(
            "GET", models.model_path(self.settings.project_id, model), idempotent=True, error_table=ERROR_TABLE
        )

    def list_models(
        self,
        model_name: str | None = None,
        exact_match: bool | None = None,
        model_version: str | None = None,
        model_status: str | models.ModelStatus | None = None,
        description: str | None = None,
        offset: int | str = 0,
        limit: int | str = DEFAULT_LIMIT,
        sort_by: str | None = None,
        order: str | None = None,
        workspace_id: str | None = None,
        model_type: str | None = None,
        not_model_type: str | None = None,
        max_results: int | str | None = None,
    ) -> list[dict[str, Any]]:
        """Every model that matches, across pages (``GET /v1/{project_id}/models``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ListModels.html): N models cost
        ceil(N / limit) requests.

        :param model_name: part of a model name (fuzzy), or the whole name with ``exact_match``.
        :param exact_match: True to match ``model_name`` exactly (the API's way to escape ``_``).
        :param model_version: ``D.D.D``.
        :param model_status: publishing, published, failed, building or building_failed.
        :param description: part of the description (fuzzy).
        :param offset: the first page to read, 0 for the first (a page index).
        :param limit: models per page, 1-1000 (1000 by default).
        :param sort_by: create_at (the API's default), model_version or model_size.
        :param order: asc or desc (the API's default).
        :param workspace_id: ``"0"`` or a 32-character id; defaults to the hook's and then the connection's.
        :param model_type: only this type (TensorFlow, PyTorch, MindSpore, Image, Custom, Template).
        :param not_model_type: every type but this one; not with ``model_type``.
        :param max_results: the most models returned.
        :return: the list items, as the API returns them.
        :raises ModelArtsValidationError: a bad argument, named (nothing is sent).
        """
        filters = models.ModelListFilters.validate(
            model_name, exact_match, model_version, model_status, description, offset, limit,
            sort_by, order, workspace_id, model_type, not_model_type,
        )  # fmt: skip
        most = validate_optional_positive_int(max_results, "max_results")
        if filters.workspace_id is None and self.settings.workspace_id is not None:
            filters = models.ModelListFilters(**{**filters.__dict__, "workspace_id": self.settings.workspace_id})
        path = models.models_path(self.settings.project_id)

        def fetch(page: int) -> dict[str, Any]:
            query = models.ModelListFilters(**{**filters.__dict__, "offset": page}).query()
            return self.request("GET", path, query=query, idempotent=True, error_table=ERROR_TABLE)

        return list(
            paging.offset_pages(fetch, filters.offset, filters.limit, "models", paging.row_key("model_id"), most)
        )

    def find_models(
        self, model_name: str, model_version: str | None = None, workspace_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The models named exactly ``model_name`` (and of ``model_version``, if given), newest first.

        :param model_name: a whole model name (sent with ``exact_match=true``; kept only if equal).
        :param model_version: ``D.D.D``.
        :param workspace_id: as :meth:`list_models`.
        """
        found = self.list_models(
            model_name=model_name, exact_match=True, model_version=model_version, workspace_id=workspace_id
        )
        matches = [
            item
            for item in found
            if item.get("model_name") == model_name and model_version in (None, item.get("model_version"))
        ]
        return sorted(matches, key=lambda item: -_number(item.get("create_at")))

    def delete_model(self, model_id: str, cascade: bool = False) -> dict[str, Any]:
        """Delete a model (``DELETE /v1/{project_id}/models/{model_id}``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/DeleteModel.html).

        The API answers 200 even when it refused (a model used by a service): the answer's
        ``delete_failed_list`` is read, and any entry raises. After an unclear answer the model is
        read: gone is success, still there sends the delete once more.

        :param model_id: the model's id.
        :param cascade: also delete the other versions of the same name (at most 20 at a time).
        :return: ``{"delete_success_list": [...], "delete_failed_list": []}``.
        :raises ModelArtsModelDeleteError: ``delete_failed_list`` is not empty (e.g. ``ModelArts.3009``).
        :raises ModelArtsNotFoundError: no such model (``ModelArts.3001``).
        """
        model = validate_resource_id(model_id, "model_id")
        wide = validate_flag(cascade, "cascade")
        path = models.model_path(self.settings.project_id, model)
        query = [("cascade", "true")] if wide else None
        answer = recovery.delete_once(
            self,
            f"model {model}",
            lambda idempotent: self.request(
                "DELETE", path, query=query, idempotent=idempotent, error_table=ERROR_TABLE
            ),
            lambda: self.get_model(model),
        )
        if answer is None:
            return {"delete_success_list": [model], "delete_failed_list": []}
        failures = models.delete_failures(answer)
        if failures:
            raise ModelArtsModelDeleteError(model, failures)
        return answer

    # ------------------------------------------------------------------ services

    def create_service(self, service: Mapping[str, Any] | services.ValidatedService) -> dict[str, Any]:
        """Deploy a real-time or batch service (``POST /v1/{project_id}/services``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateService.html). The deploy
        is asynchronous: poll :meth:`get_service` until ``running`` (``finished`` for batch).

        Never resent blindly: after an attempt without a clear answer the service of the same
        ``service_name`` is looked up and returned if found, else the body is sent again.

        :param service: the deploy body (``service_name``, ``infer_type``, ``config``, ...), checked
            by :func:`~airflow_provider_modelarts.cloud.inference.services.validate_service_create`
            first; never changed.
        :return: ``{"service_id", "resource_ids"}``, or the found service's list item.
        :raises ModelArtsValidationError: the body breaks a documented rule, named (``service.config[0].weight``).
        :raises ModelArtsResourceExistsError: a service of that name exists (``ModelArts.3503``).
        :raises ModelArtsTransportError: no attempt got a clear answer and no such service exists, or the lookup failed.
        """
        checked = services.ValidatedService.validate(service)
        body, name = checked.body, checked.name
        path = services.services_path(self.settings.project_id)
        return recovery.create_once(
            self,
            recovery.Create(
                what=f"service {name!r}",
                noun="service",
                identity=f"named {name!r}",
                key="name",
                send=lambda: self.request("POST", path, json_body=body, idempotent=False, error_table=ERROR_TABLE),
                find=lambda: next(iter(self.find_services(name, body.get("workspace_id"))), None),
                duplicate_codes=(SERVICE_EXISTS_CODE,),
                duplicate=lambda error: ModelArtsResourceExistsError("service", repr(name), error),
            ),
        )

    def get_service(self, service_id: str) -> dict[str, Any]:
        """A service's details (``GET /v1/{project_id}/services/{service_id}``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowService.html): ``status``,
        ``access_address`` (a deployed real-time service), ``error_msg`` (a failed one), ``config``, ...

        :raises ModelArtsNotFoundError: no such service (``ModelArts.3502``).
        """
        service = validate_resource_id(service_id, "service_id")
        path = services.service_path(self.settings.project_id, service)
        return self.request("GET", path, idempotent=True, error_table=ERROR_TABLE)

    def list_services(
        self,
        service_id: str | None = None,
        service_name: str | None = None,
        model_id: str | None = None,
        workspace_id: str | None = None,
        infer_type: str | None = None,
        status: str | services.ServiceStatus | None = None,
        offset: int | str = 0,
        limit: int | str = DEFAULT_LIMIT,
        sort_by: str | None = None,
        order: str | None = None,
        max_results: int | str | None = None,
    ) -> list[dict[str, Any]]:
        """Every service that matches, across pages (``GET /v1/{project_id}/services``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ListServices.html).

        :param service_id: only this service.
        :param service_name: the name (the page does not say whether it is matched fuzzily).
        :param model_id: services that use this model.
        :param workspace_id: ``"0"`` or a 32-character id; defaults to the hook's and then the connection's.
        :param infer_type: real-time or batch.
        :param status: one of the documented statuses (running, deploying, concerning, failed, ...).
        :param offset: the first page to read, 0 for the first (a page index).
        :param limit: services per page, 1-1000 (1000 by default).
        :param sort_by: publish_at (the API's default), service_name or transition_at.
        :param order: asc or desc (the API's default).
        :param max_results: the most services returned.
        :raises ModelArtsValidationError: a bad argument, named (nothing is sent).
        """
        filters = services.ServiceListFilters.validate(
            service_id, service_name, model_id, workspace_id, infer_type, status, offset, limit, sort_by, order
        )
        most = validate_optional_positive_int(max_results, "max_results")
        if filters.workspace_id is None and self.settings.workspace_id is not None:
            filters = services.ServiceListFilters(**{**filters.__dict__, "workspace_id": self.settings.workspace_id})
        path = services.services_path(self.settings.project_id)

        def fetch(page: int) -> dict[str, Any]:
            query = services.ServiceListFilters(**{**filters.__dict__, "offset": page}).query()
            return self.request("GET", path, query=query, idempotent=True, error_table=ERROR_TABLE)

        return list(
            paging.offset_pages(fetch, filters.offset, filters.limit, "services", paging.row_key("service_id"), most)
        )

    def find_services(self, service_name: str, workspace_id: str | None = None) -> list[dict[str, Any]]:
        """The services named exactly ``service_name``, newest first (by ``publish_at``)."""
        found = self.list_services(service_name=service_name, workspace_id=workspace_id)
        matches = [item for item in found if item.get("service_name") == service_name]
        return sorted(matches, key=lambda item: -_number(item.get("publish_at")))

    def update_service(
        self,
        service_id: str,
        *,
        config: list[Mapping[str, Any]] | None = None,
        status: str | services.ServiceStatus | None = None,
        infer_type: str = services.REAL_TIME,
        description: str | None = None,
        schedule: list[Mapping[str, Any]] | None = None,
        additional_properties: Mapping[str, Any] | None = None,
        load_balancer_policy: str | None = None,
        priority: int | None = None,
    ) -> dict[str, Any]:
        """Update a service (``PUT /v1/{project_id}/services/{service_id}``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/UpdateService.html): a new
        ``config``, or ``status`` ``running`` (start) / ``stopped`` (stop), never both (the API
        would apply the status only, so both is refused before sending). The change is
        asynchronous: poll :meth:`get_service`.

        Sent once (not idempotent): a second update of a service already updating may be refused
        (``ModelArts.3519``), so after an unclear answer read the service instead.

        :param service_id: the service's id.
        :param config: the new model configurations (the deploy's rules for ``infer_type``).
        :param status: ``running`` or ``stopped``.
        :param infer_type: the service's type, for checking ``config`` (``real-time`` by default).
        :param description: at most 100 characters.
        :param schedule: the auto-stop schedule (real-time only).
        :param additional_properties: as the API documents it.
        :param load_balancer_policy: ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP.
        :param priority: 1-3.
        :return: the answer's body (the API documents none: usually ``{}``).
        :raises ModelArtsValidationError: both ``config`` and ``status``, or a bad value, named.
        """
        service = validate_resource_id(service_id, "service_id")
        kind = validate_choice(infer_type, "infer_type", services.INFER_TYPES)
        body = services.validate_service_update(
            config=config,
            status=status,
            infer_type=kind,
            description=description,
            schedule=schedule,
            additional_properties=additional_properties,
            load_balancer_policy=load_balancer_policy,
            priority=priority,
        )
        path = services.service_path(self.settings.project_id, service)
        return self.request("PUT", path, json_body=body, idempotent=False, error_table=ERROR_TABLE)

    def delete_service(self, service_id: str) -> None:
        """Delete a service (``DELETE /v1/{project_id}/services/{service_id}``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/DeleteService.html). After an
        unclear answer the service is read: gone is success, still there sends the delete once more.

        :raises ModelArtsNotFoundError: no such service (``ModelArts.3502``).
        """
        service = validate_resource_id(service_id, "service_id")
        path = services.service_path(self.settings.project_id, service)
        recovery.delete_once(
            self,
            f"service {service}",
            lambda idempotent: self.request("DELETE", path, idempotent=idempotent, error_table=ERROR_TABLE),
            lambda: self.get_service(service),
        )

    def list_service_events(
        self,
        service_id: str,
        event_type: str | None = None,
        event_info: str | None = None,
        start_time: int | str | None = None,
        end_time: int | str | None = None,
        order: str | None = None,
        limit: int | str = DEFAULT_LIMIT,
        max_results: int | str | None = None,
    ) -> list[dict[str, Any]]:
        """A service's events across pages (``GET .../services/{service_id}/events``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowServiceEvents.html):
        ``[{"event_type", "event_info", "occur_time"}, ...]`` (time in epoch milliseconds).

        :param event_type: normal or abnormal.
        :param event_info: English text the event contains, without any of ``\\`(){}';,[]<>/?``.
        :param start_time: epoch milliseconds.
        :param end_time: epoch milliseconds.
        :param order: asc or desc (the API's default, newest first).
        :param limit: events per page, 1-1000.
        :param max_results: the most events returned.
        :raises ModelArtsValidationError: a bad argument, named (nothing is sent).
        """
        service = validate_resource_id(service_id, "service_id")
        query = services.EventQuery.validate(event_type, event_info, start_time, end_time, 0, limit, order)
        most = validate_optional_positive_int(max_results, "max_results")
        path = services.service_events_path(self.settings.project_id, service)

        def fetch(page: int) -> dict[str, Any]:
            pairs = services.EventQuery(**{**query.__dict__, "offset": page}).query()
            body = self.request("GET", path, query=pairs, idempotent=True, error_table=ERROR_TABLE)
            return {"events": services.event_rows(body), "total_count": body.get("total_count")}

        return list(paging.offset_pages(fetch, 0, query.limit, "events", paging.row_key(""), most))

    def invoke_service(self, service: str, payload: Any = None, *, path: str = "", idempotent: bool = False) -> Any:
        """One inference call to a running real-time service, with the connection's credentials
        (an IAM ``X-Auth-Token`` for password auth, the AK/SK signature otherwise, as every call
        of the hook), for smoke tests. Source: "Accessing a Real-Time Service (Token-based
        Authentication)", https://support.huaweicloud.com/intl/en-us/inference-modelarts/inference-modelarts-0023.html
        [UNCERTAIN: the AK/SK-signed call was not read].

        :param service: the service's id (its ``access_address`` is read first: one more
            request), or its ``access_address`` itself (an ``https://`` URL).
        :param payload: the JSON body the model expects (e.g. ``{"data": {"req_data": [...]}}``).
        :param path: appended to the address, for a model API other than ``/``.
        :param idempotent: True lets a failure after sending be retried (an inference without side
            effects); by default the call is sent once once it may have reached the service.
        :return: the answer's JSON (an object, or a list).
        :raises ModelArtsServiceNotReadyError: the service has no ``access_address`` yet.
        :raises ModelArtsValidationError: ``service`` is neither an id nor an ``https://`` address.
        """
        url = self._access_address(service) + path
        answer = self._exchange(
            "POST", url, json_body=payload, idempotent=validate_flag(idempotent, "idempotent"),
            error_table=ERROR_TABLE, list_body=True,
        )  # fmt: skip
        return answer.body[LIST_KEY] if set(answer.body) == {LIST_KEY} else answer.body

    def _access_address(self, service: str) -> str:
        if isinstance(service, str) and service.startswith(("https://", "http://")):
            if not urlsplit(service).hostname:
                raise ModelArtsValidationError("service", "a service id or its access_address URL", service)
            # The request carries the connection's credentials: plain HTTP only where the
            # connection's own endpoint is plain HTTP (a local emulator), never to the cloud.
            if service.startswith("http://") and not self.settings.endpoint.startswith("http://"):
                raise ModelArtsValidationError("service", "an https:// access_address", service)
            return service.rstrip("/")
        details = self.get_service(validate_resource_id(service, "service"))
        address = details.get("access_address")
        if not isinstance(address, str) or not address:
            raise ModelArtsServiceNotReadyError(str(service), details.get("status"))
        return address.rstrip("/")


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
