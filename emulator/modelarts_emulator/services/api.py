"""Models and services together: their routes, the dispatch of their API requests, and the
operations the control API (:mod:`modelarts_emulator.control`) offers on them.

:class:`InferenceApi` owns the model store, the service store and both plan tables; the shared
:class:`modelarts_emulator.app.EmulatorApp` authenticates a request, then hands it here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from modelarts_emulator.models import responses as model_responses
from modelarts_emulator.models import spec as model_spec
from modelarts_emulator.models.state import ModelPlans, ModelStore, StatusTimeline, normalize_steps
from modelarts_emulator.responses import Request, Response
from modelarts_emulator.services import invoke as service_invoke
from modelarts_emulator.services import responses as service_responses
from modelarts_emulator.services import spec
from modelarts_emulator.services.state import ServicePlans, ServiceStore

# (endpoint, path pattern, method); the runtime path comes before the model path it would match.
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("list_model_runtimes", re.compile(model_spec.RUNTIMES_PATTERN), "GET"),
    ("list_models", re.compile(model_spec.MODELS_PATTERN), "GET"),
    ("create_model", re.compile(model_spec.MODELS_PATTERN), "POST"),
    ("get_model", re.compile(model_spec.MODEL_PATTERN), "GET"),
    ("delete_model", re.compile(model_spec.MODEL_PATTERN), "DELETE"),
    ("list_services", re.compile(spec.SERVICES_PATTERN), "GET"),
    ("create_service", re.compile(spec.SERVICES_PATTERN), "POST"),
    ("get_service", re.compile(spec.SERVICE_PATTERN), "GET"),
    ("update_service", re.compile(spec.SERVICE_PATTERN), "PUT"),
    ("delete_service", re.compile(spec.SERVICE_PATTERN), "DELETE"),
    ("list_service_events", re.compile(spec.EVENTS_PATTERN), "GET"),
    ("invoke_service", re.compile(spec.INFERS_PATTERN), "POST"),
)
ENDPOINTS = frozenset(name for name, _, _ in ROUTES)
# The endpoint whose path has no project: the gateway checks credentials only.
INVOKE = "invoke_service"
# The query parameters each endpoint reads; the others are logged as ignored.
QUERY = {
    "list_models": {
        "model_name",
        "exact_match",
        "model_version",
        "model_status",
        "description",
        "offset",
        "limit",
        "sort_by",
        "order",
        "workspace_id",
        "model_type",
        "not_model_type",
    },
    "delete_model": {"cascade"},
    "list_model_runtimes": {"offset", "limit"},
    "list_services": {
        "service_id",
        "service_name",
        "model_id",
        "workspace_id",
        "infer_type",
        "status",
        "offset",
        "limit",
        "sort_by",
        "order",
        "tags",
    },
    "list_service_events": {
        "event_type",
        "event_info",
        "start_time",
        "end_time",
        "offset",
        "limit",
        "sort_by",
        "order",
    },
}


class InferenceApi:
    def __init__(
        self, speed: float, clock: Callable[[], float], project_id: str, workspaces: Callable[[], set[str]]
    ) -> None:
        self.models = ModelStore(speed, clock)
        self.services = ServiceStore(speed, clock)
        self.model_plans = ModelPlans()
        self.service_plans = ServicePlans()
        self.project_id = project_id
        self._workspaces = workspaces

    def handle(
        self, endpoint: str, groups: tuple[str, ...], request: Request, pairs: list[tuple[str, str]], base_url: str
    ) -> tuple[Response, list[str]]:
        """The answer and the query parameters it ignored."""
        ignored = sorted({name for name, _ in pairs} - QUERY.get(endpoint, set()))
        workspaces = self._workspaces()
        models, services = self.models, self.services
        if endpoint == INVOKE:
            return service_invoke.invoke(services, groups[0], groups[1] or "", request.body), ignored
        item = groups[1] if len(groups) > 1 else ""
        if endpoint == "list_model_runtimes":
            response = model_responses.list_runtimes(pairs)
        elif endpoint == "list_models":
            response = model_responses.list_models(models, pairs, workspaces)
        elif endpoint == "create_model":
            response = model_responses.create_model(models, self.model_plans, request.body, workspaces, self.project_id)
        elif endpoint == "get_model":
            response = model_responses.show_model(models, item)
        elif endpoint == "delete_model":
            response = model_responses.delete_model(models, item, pairs, services.model_in_use)
        elif endpoint == "list_services":
            response = service_responses.list_services(services, pairs, base_url, workspaces)
        elif endpoint == "create_service":
            response = service_responses.create_service(
                services, models, self.service_plans, request.body, workspaces, self.project_id
            )
        elif endpoint == "get_service":
            response = service_responses.show_service(services, item, base_url)
        elif endpoint == "update_service":
            response = service_responses.update_service(services, models, item, request.body)
        elif endpoint == "delete_service":
            response = service_responses.delete_services(services, item)
        else:
            response = service_responses.list_events(services, item, pairs)
        return response, ignored

    # -- control operations -------------------------------------------------------------------

    def model_states(self) -> list[dict[str, Any]]:
        """Every model: ``{model_id, model_name, model_version, model_status}``, oldest first."""
        with self.models.lock:
            return [
                {
                    "model_id": model.model_id,
                    "model_name": model.name,
                    "model_version": model.version,
                    "model_status": self.models.status(model),
                }
                for model in self.models.models.values()
            ]

    def service_states(self) -> list[dict[str, Any]]:
        """Every service that exists: ``{service_id, service_name, infer_type, status, model_ids}``."""
        with self.services.lock:
            return [
                {
                    "service_id": service.service_id,
                    "service_name": service.name,
                    "infer_type": service.infer_type,
                    "status": self.services.status(service),
                    "model_ids": [model[0] for model in service.models],
                }
                for service in self.services.all()
            ]

    def service_outputs(self, service_id: str) -> dict[str, Any]:
        """A batch service's result objects: all it will write, and those written so far."""
        with self.services.lock:
            service = self.services.get(service_id)
            if service is None:
                raise KeyError(f"Service {service_id} does not exist.")
            written = [
                text[len("wrote ") :]
                for _, _, text in service.events(self.services.now(), self.services.speed)
                if text.startswith("wrote ")
            ]
            return {"outputs": service.outputs(), "written": written}

    def set_service_timeline(self, service_id: str, timeline: Iterable[Sequence[Any]]) -> None:
        """Replace a service's timeline (e.g. running, then concerning) from now on."""
        steps = normalize_steps(timeline, spec.STATUSES, "service")
        with self.services.lock:
            service = self.services.get(service_id)
            if service is None:
                raise KeyError(f"Service {service_id} does not exist.")
            now = self.services.now()
            service.replace(steps, now, self.services.wall_ms(now), self.services.speed)

    def set_model_timeline(self, model_id: str, timeline: Iterable[Sequence[Any]]) -> None:
        steps = normalize_steps(timeline, model_spec.STATUSES, "model")
        with self.models.lock:
            model = self.models.get(model_id)
            if model is None:
                raise KeyError(f"Model ({model_id}) does not exist.")
            model.timeline = StatusTimeline(steps, self.models.now())

    def clear(self) -> None:
        """Forget every model, service and plan."""
        with self.models.lock, self.services.lock:
            self.models.models.clear()
            self.services.services.clear()
        self.model_plans.clear()
        self.service_plans.clear()
