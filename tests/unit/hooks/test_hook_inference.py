"""ModelArtsHook's model and service methods with ``request()`` replaced by a scripted fake:
validation before sending (requests counted exactly), the recovery of an ambiguous create or
delete, auto-paging, and the typed errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import transport
from airflow_provider_modelarts.cloud.inference.common import ERROR_TABLE
from airflow_provider_modelarts.exceptions import (
    ModelArtsModelDeleteError,
    ModelArtsNotFoundError,
    ModelArtsPermanentError,
    ModelArtsResourceExistsError,
    ModelArtsServiceNotReadyError,
    ModelArtsTransportError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.hooks.base import LIST_KEY, ApiResponse
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.unit.hooks.fakes import PROJECT, FakeProject, _error, _hook

MODEL_ID = "10eb0091-887f-4839-9929-cbc884f1e20e"
SERVICE_ID = "35de3ca9-1bca-4ae7-9cb0-914f30fa7d3e"
LOST = ModelArtsTransportError("POST /v1/p/models failed after 1 attempt(s): ReadTimeout")
MODEL = {"model_name": "resnet", "model_version": "1.0.0", "model_type": "PyTorch", "source_location": "obs://b/m/"}
SERVICE = {
    "service_name": "resnet-svc",
    "infer_type": "real-time",
    "config": [{"model_id": MODEL_ID, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 100}],
}


@dataclass
class Sent:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    idempotent: bool


@dataclass
class Api:
    """Answers each request with the next outcome scripted for ``(method, path)``: a dict, an
    exception, or a callable of the request."""

    script: dict[tuple[str, str], list[Any]]
    sent: list[Sent] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        idempotent: bool,
        error_table: transport.ErrorTable,
    ) -> dict[str, Any]:
        assert error_table is ERROR_TABLE
        sent = Sent(method, path, list(query or []), json.loads(json.dumps(json_body)), idempotent)
        self.sent.append(sent)
        outcome = self.script[(method, path)].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return dict(outcome(sent))
        return dict(outcome)

    @property
    def calls(self) -> list[tuple[str, str]]:
        return [(s.method, s.path.removeprefix(f"/v1/{PROJECT}")) for s in self.sent]


MODELS = f"/v1/{PROJECT}/models"
SERVICES = f"/v1/{PROJECT}/services"


def _api(monkeypatch: pytest.MonkeyPatch, **script: list[Any]) -> tuple[ModelArtsHook, Api]:
    keys = {
        "create_model": ("POST", MODELS),
        "list_models": ("GET", MODELS),
        "get_model": ("GET", f"{MODELS}/{MODEL_ID}"),
        "delete_model": ("DELETE", f"{MODELS}/{MODEL_ID}"),
        "create_service": ("POST", SERVICES),
        "list_services": ("GET", SERVICES),
        "get_service": ("GET", f"{SERVICES}/{SERVICE_ID}"),
        "update_service": ("PUT", f"{SERVICES}/{SERVICE_ID}"),
        "delete_service": ("DELETE", f"{SERVICES}/{SERVICE_ID}"),
        "events": ("GET", f"{SERVICES}/{SERVICE_ID}/events"),
    }
    api = Api({keys[name]: list(outcomes) for name, outcomes in script.items()})
    hook = _hook(monkeypatch, FakeProject(job_count=0))
    monkeypatch.setattr(hook, "request", api.request)
    hook.sleep = lambda seconds: None
    return hook, api


def _models(*items: tuple[str, str]) -> dict[str, Any]:
    models = [
        {"model_id": f"id-{n}", "model_name": n_, "model_version": v, "create_at": n} for n, (n_, v) in enumerate(items)
    ]
    return {"models": models, "total_count": len(models), "count": len(models)}


def _services(*names: str) -> dict[str, Any]:
    items = [{"service_id": f"sid-{n}", "service_name": name, "publish_at": n} for n, name in enumerate(names)]
    return {"services": items, "total_count": len(items), "count": len(items)}


# ---------------------------------------------------------------------------------------------- models


def test_a_model_create_is_one_non_idempotent_post_of_the_checked_body(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, create_model=[{"model_id": MODEL_ID}])
    assert hook.create_model(MODEL) == {"model_id": MODEL_ID}
    assert api.calls == [("POST", "/models")]
    assert (api.sent[0].body, api.sent[0].idempotent) == (MODEL, False)


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"model_version": "01.0.0"}, "model.model_version"),
        ({"model_name": ""}, "model.model_name"),
        ({"source_location": None}, "model.source_location"),
        ({"model_type": "Keras"}, "model.model_type"),
        ({"description": "<b>"}, "model.description"),
    ],
)
def test_a_bad_model_is_named_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], parameter: str
) -> None:
    hook, api = _api(monkeypatch)
    with pytest.raises(ModelArtsValidationError) as error:
        hook.create_model({**MODEL, **change})
    assert error.value.parameter == parameter
    assert api.sent == []


def test_an_unclear_model_create_finds_the_model_of_that_name_and_version(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _models(("resnet", "2.0.0"), ("resnet", "1.0.0"), ("resnet-x", "1.0.0"))
    hook, api = _api(monkeypatch, create_model=[LOST], list_models=[found])
    assert hook.create_model(MODEL)["model_id"] == "id-1"
    assert api.calls == [("POST", "/models"), ("GET", "/models")]
    query = dict(api.sent[1].query)
    assert (query["model_name"], query["exact_match"], query["model_version"]) == ("resnet", "true", "1.0.0")


def test_an_unclear_model_create_without_a_model_is_resent(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(
        monkeypatch,
        create_model=[_error(503, "APIGW.0201"), {"model_id": MODEL_ID}],
        list_models=[_models(("resnet", "2.0.0"))],
    )
    assert hook.create_model(MODEL) == {"model_id": MODEL_ID}
    assert api.calls == [("POST", "/models"), ("GET", "/models"), ("POST", "/models")]


def test_a_duplicate_model_is_a_permanent_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, create_model=[_error(409, "ModelArts.3002", ERROR_TABLE)])
    with pytest.raises(ModelArtsResourceExistsError) as error:
        hook.create_model(MODEL)
    assert (error.value.resource, error.value.name, error.value.error_code) == (
        "model",
        "'resnet' 1.0.0",
        "ModelArts.3002",
    )
    assert isinstance(error.value, ModelArtsPermanentError)
    assert api.calls == [("POST", "/models")]


def test_a_duplicate_after_an_unclear_attempt_is_this_calls_model(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(
        monkeypatch,
        create_model=[LOST, _error(409, "ModelArts.3002", ERROR_TABLE)],
        list_models=[_models(), _models(("resnet", "1.0.0"))],
    )
    assert hook.create_model(MODEL)["model_id"] == "id-0"
    assert [method for method, _ in api.calls] == ["POST", "GET", "POST", "GET"]


def test_a_failed_lookup_stops_the_model_create(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, create_model=[LOST], list_models=[ModelArtsTransportError("down")])
    with pytest.raises(ModelArtsTransportError) as error:
        hook.create_model(MODEL)
    assert "Look for a model named 'resnet' with version 1.0.0" in str(error.value)
    assert len(api.sent) == 2


def test_unclear_model_creates_stop_after_retry_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, create_model=[LOST] * 5, list_models=[_models()] * 5)
    with pytest.raises(ModelArtsTransportError) as error:
        hook.create_model(MODEL)
    assert "no model of that name and version exists" in str(error.value)
    assert [method for method, _ in api.calls] == ["POST", "GET"] * (hook.retry_limit + 1)


def test_list_models_reads_every_page_and_every_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    everything = [{"model_id": f"m{n}", "model_name": "r"} for n in range(25)]

    def page(sent: Sent) -> dict[str, Any]:
        query = dict(sent.query)
        offset, limit = int(query["offset"]), int(query["limit"])
        return {"models": everything[offset * limit : (offset + 1) * limit], "total_count": 25}

    hook, api = _api(monkeypatch, list_models=[page] * 5)
    found = hook.list_models(model_name="r", model_status="published", limit=10, sort_by="create_at", order="asc")
    assert [m["model_id"] for m in found] == [f"m{n}" for n in range(25)]
    assert [dict(s.query)["offset"] for s in api.sent] == ["0", "1", "2"]
    assert dict(api.sent[0].query)["model_status"] == "published"
    api.sent.clear()
    assert len(hook.list_models(limit=10, max_results=12)) == 12
    assert len(api.sent) == 2


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"model_type": "Image", "not_model_type": "Custom"}, "not_model_type"),
        ({"limit": 0}, "limit"),
        ({"sort_by": "name"}, "sort_by"),
        ({"max_results": 0}, "max_results"),
        ({"model_version": "1"}, "model_version"),
    ],
)
def test_bad_list_arguments_send_nothing(
    monkeypatch: pytest.MonkeyPatch, arguments: dict[str, Any], parameter: str
) -> None:
    hook, api = _api(monkeypatch)
    with pytest.raises(ModelArtsValidationError) as error:
        hook.list_models(**arguments)
    assert error.value.parameter == parameter
    assert api.sent == []


def test_delete_model_reads_the_failed_list_of_a_200(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = {
        "delete_success_list": [],
        "delete_failed_list": [
            {"model_id": MODEL_ID, "error_code": "ModelArts.3009", "error_msg": "has been used to deploy a service"}
        ],
    }
    hook, api = _api(monkeypatch, delete_model=[refused, {"delete_success_list": [MODEL_ID], "delete_failed_list": []}])
    with pytest.raises(ModelArtsModelDeleteError) as error:
        hook.delete_model(MODEL_ID, cascade=True)
    assert (error.value.model_id, error.value.error_code) == (MODEL_ID, "ModelArts.3009")
    assert error.value.failures[0]["error_msg"] == "has been used to deploy a service"
    assert not isinstance(error.value, ModelArtsPermanentError)
    assert api.sent[0].query == [("cascade", "true")] and not api.sent[0].idempotent
    assert hook.delete_model(MODEL_ID)["delete_success_list"] == [MODEL_ID]
    assert api.sent[1].query == []


def test_an_unclear_model_delete_checks_whether_it_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = _error(404, "ModelArts.3001", ERROR_TABLE)
    hook, api = _api(monkeypatch, delete_model=[_error(502, "APIGW.0201")], get_model=[gone])
    assert hook.delete_model(MODEL_ID) == {"delete_success_list": [MODEL_ID], "delete_failed_list": []}
    assert api.calls == [("DELETE", f"/models/{MODEL_ID}"), ("GET", f"/models/{MODEL_ID}")]


def test_model_ids_and_flags_are_checked_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch)
    for call, parameter in (
        (lambda: hook.get_model("a/b"), "model_id"),
        (lambda: hook.delete_model(MODEL_ID, cascade="yes"), "cascade"),  # type: ignore[arg-type]
        (lambda: hook.delete_model(""), "model_id"),
    ):
        with pytest.raises(ModelArtsValidationError) as error:
            call()
        assert error.value.parameter == parameter
    assert api.sent == []


def test_a_missing_model_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, _ = _api(monkeypatch, get_model=[_error(404, "ModelArts.3001", ERROR_TABLE)])
    with pytest.raises(ModelArtsNotFoundError):
        hook.get_model(MODEL_ID)


# ---------------------------------------------------------------------------------------------- services


def test_a_service_create_is_one_post_and_an_unclear_one_is_looked_up_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, create_service=[{"service_id": SERVICE_ID, "resource_ids": []}])
    assert hook.create_service(SERVICE)["service_id"] == SERVICE_ID
    assert (api.sent[0].body, api.sent[0].idempotent) == (SERVICE, False)
    hook, api = _api(monkeypatch, create_service=[LOST], list_services=[_services("resnet-svc-2", "resnet-svc")])
    assert hook.create_service(SERVICE)["service_id"] == "sid-1"
    assert api.calls == [("POST", "/services"), ("GET", "/services")]
    assert dict(api.sent[1].query)["service_name"] == "resnet-svc"


def test_a_duplicate_service_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, create_service=[_error(409, "ModelArts.3503", ERROR_TABLE)])
    with pytest.raises(ModelArtsResourceExistsError) as error:
        hook.create_service(SERVICE)
    assert error.value.resource == "service"
    assert len(api.sent) == 1


@pytest.mark.parametrize(
    ("service", "parameter"),
    [
        ({**SERVICE, "config": [dict(SERVICE["config"][0], weight=90)]}, "service.config"),
        ({**SERVICE, "config": [dict(SERVICE["config"][0], instance_count=200)]}, "service.config[0].instance_count"),
        ({**SERVICE, "infer_type": "batch"}, "service.config[0].src_path"),
        ({**SERVICE, "service_name": ""}, "service.service_name"),
    ],
)
def test_a_bad_service_is_named_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, service: dict[str, Any], parameter: str
) -> None:
    hook, api = _api(monkeypatch)
    with pytest.raises(ModelArtsValidationError) as error:
        hook.create_service(service)
    assert error.value.parameter == parameter
    assert api.sent == []


def test_an_update_sends_config_or_status_never_both(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, update_service=[{}, {}])
    with pytest.raises(ModelArtsValidationError) as error:
        hook.update_service(SERVICE_ID, config=SERVICE["config"], status="running")
    assert error.value.parameter == "config"
    assert api.sent == []
    hook.update_service(SERVICE_ID, status="stopped")
    hook.update_service(SERVICE_ID, config=SERVICE["config"], description="v2")
    assert [(s.method, s.body, s.idempotent) for s in api.sent] == [
        ("PUT", {"status": "stopped"}, False),
        ("PUT", {"config": SERVICE["config"], "description": "v2"}, False),
    ]


def test_an_unclear_service_delete_resends_once_while_it_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, delete_service=[LOST, {}], get_service=[{"status": "deleting"}])
    hook.delete_service(SERVICE_ID)
    assert [(s.method, s.idempotent) for s in api.sent] == [("DELETE", False), ("GET", True), ("DELETE", True)]


def test_a_missing_service_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, _ = _api(monkeypatch, get_service=[_error(404, "ModelArts.3502", ERROR_TABLE)])
    with pytest.raises(ModelArtsNotFoundError):
        hook.get_service(SERVICE_ID)


def test_list_services_passes_every_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch, list_services=[_services("a", "b")])
    assert len(hook.list_services(model_id=MODEL_ID, infer_type="batch", status="finished", sort_by="publish_at")) == 2
    query = dict(api.sent[0].query)
    assert (query["model_id"], query["infer_type"], query["status"], query["sort_by"]) == (
        MODEL_ID, "batch", "finished", "publish_at",
    )  # fmt: skip
    with pytest.raises(ModelArtsValidationError):
        hook.list_services(status="done")
    assert len(api.sent) == 1


def test_events_are_rows_across_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    def page(sent: Sent) -> dict[str, Any]:
        offset = int(dict(sent.query)["offset"])
        events = [{"event_type": "normal", "event_info": f"e{offset}-{n}", "occur_time": n} for n in range(2 - offset)]
        return {"service_id": SERVICE_ID, "total_count": 3, "events": events}

    hook, api = _api(monkeypatch, events=[page, page])
    rows = hook.list_service_events(SERVICE_ID, event_type="normal", limit=2)
    assert [row["event_info"] for row in rows] == ["e0-0", "e0-1", "e1-0"]
    assert len(api.sent) == 2


# ---------------------------------------------------------------------------------------------- invoke


def _exchange_recorder(hook: ModelArtsHook, monkeypatch: pytest.MonkeyPatch, body: dict[str, Any]) -> list[Any]:
    seen: list[Any] = []

    def exchange(method: str, url: str, **kwargs: Any) -> ApiResponse:
        seen.append((method, url, kwargs["json_body"], kwargs["idempotent"]))
        return ApiResponse(200, {}, body)

    monkeypatch.setattr(hook, "_exchange", exchange)
    return seen


def test_invoke_by_id_reads_the_access_address_then_posts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    address = f"https://infer.example/v1/infers/{SERVICE_ID}"
    hook, api = _api(monkeypatch, get_service=[{"status": "running", "access_address": address}])
    seen = _exchange_recorder(hook, monkeypatch, {"result": 1})
    assert hook.invoke_service(SERVICE_ID, {"data": {"x": 1}}, path="/predict") == {"result": 1}
    assert seen == [("POST", address + "/predict", {"data": {"x": 1}}, False)]
    assert len(api.sent) == 1


def test_invoke_by_address_sends_one_request_and_returns_a_list_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _api(monkeypatch)
    seen = _exchange_recorder(hook, monkeypatch, {LIST_KEY: [1, 2]})
    assert hook.invoke_service("https://infer.example/v1/infers/x/", [0], idempotent=True) == [1, 2]
    assert seen == [("POST", "https://infer.example/v1/infers/x", [0], True)]
    assert api.sent == []


def test_invoking_a_service_without_an_address_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, _ = _api(monkeypatch, get_service=[{"status": "deploying"}])
    seen = _exchange_recorder(hook, monkeypatch, {})
    with pytest.raises(ModelArtsServiceNotReadyError) as error:
        hook.invoke_service(SERVICE_ID, {})
    assert (error.value.service_id, error.value.status) == (SERVICE_ID, "deploying")
    assert seen == []
    bad: list[Callable[[], Any]] = [
        lambda: hook.invoke_service("https://", {}),
        lambda: hook.invoke_service("a b", {}),
        # The connection's credentials never go over plain HTTP to the cloud (its endpoint is https).
        lambda: hook.invoke_service("http://infer.example/v1/infers/x", {}),
    ]
    for call in bad:
        with pytest.raises(ModelArtsValidationError):
            call()
    assert seen == []


# ---------------------------------------------------------------------------------------------- the split


def test_the_hook_keeps_its_form_methods_and_gains_the_inference_ones() -> None:
    assert {"get_connection_form_widgets", "get_ui_field_behaviour", "hook_name", "test_connection"} <= set(
        vars(ModelArtsHook)
    )
    for name in ("create_training_job", "delete_training_job", "create_model", "invoke_service", "update_service"):
        assert callable(getattr(ModelArtsHook, name))
