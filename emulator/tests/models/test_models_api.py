"""The emulator's v1 model API over real HTTP, one test per documented rule (reference §2a:
create, show, list, delete, runtimes; ``opentelekomcloud-docs/modelarts`` ai_application_management)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from inference_client import (
    MODELS,
    SERVICES,
    call,
    create_model,
    deploy,
    error,
    model_body,
    ok,
    published_model,
    real_time_body,
    show_model,
)
from modelarts_emulator import EmulatorConfig, ModelArtsEmulator


@pytest.fixture
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True)) as emulator:
        yield emulator


def test_create_answers_200_with_the_model_id_then_publishes(emu: ModelArtsEmulator) -> None:
    model_id = create_model(emu)
    shown = show_model(emu, model_id)
    assert shown["model_status"] == "publishing"
    assert shown["model_name"] == "mnist" and shown["model_version"] == "1.0.0"
    assert shown["source_location"] == "https://models.obs.xxxxx.com/mnist" and shown["source_job_id"] == "55"
    assert shown["install_type"] == ["real-time", "batch"] and shown["workspace_id"] == "0"
    emu.advance_time(3)
    published = show_model(emu, model_id)
    assert published["model_status"] == "published" and published["model_size"] > 0


def test_the_speed_setting_scales_the_publishing_time() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True, speed=10)) as emu:
        model_id = create_model(emu)
        emu.advance_time(0.2)
        assert show_model(emu, model_id)["model_status"] == "publishing"
        emu.advance_time(0.2)
        assert show_model(emu, model_id)["model_status"] == "published"


@pytest.mark.parametrize("field", ["model_name", "model_version", "model_type", "source_location"])
def test_required_fields(emu: ModelArtsEmulator, field: str) -> None:
    body = model_body()
    del body[field]
    assert field in error(call(emu, "POST", MODELS, body), 400, "ModelArts.3036")


def test_a_template_model_needs_no_source_location_but_a_template(emu: ModelArtsEmulator) -> None:
    body = model_body(model_type="Template")
    del body["source_location"]
    error(call(emu, "POST", MODELS, body), 400, "ModelArts.3034")
    body["template"] = {"template_inputs": [{"input_id": "model_path", "input": "obs://b/m/"}]}
    error(call(emu, "POST", MODELS, body), 400, "ModelArts.3029")
    body["template"]["template_id"] = "tpl-1"
    body["template"]["template_inputs"].append({"input_id": "model_path", "input": "obs://b/n/"})
    error(call(emu, "POST", MODELS, body), 400, "ModelArts.3039")
    body["template"]["template_inputs"].pop()
    ok(call(emu, "POST", MODELS, body))


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_model_name_is_1_to_64_characters(emu: ModelArtsEmulator, name: str) -> None:
    code = "ModelArts.3036" if not name else "ModelArts.0101"
    error(call(emu, "POST", MODELS, model_body(name=name)), 400, code)


def test_a_64_character_name_is_accepted(emu: ModelArtsEmulator) -> None:
    create_model(emu, name="x" * 64)


@pytest.mark.parametrize("version", ["01.01.01", "1.0", "1.0.0.0", "100.0.0", "1.a.0", "1.00.0", " 1.0.0"])
def test_bad_versions_are_refused(emu: ModelArtsEmulator, version: str) -> None:
    assert "model_version" in error(call(emu, "POST", MODELS, model_body(version=version)), 400, "ModelArts.0101")


@pytest.mark.parametrize("version", ["1.0.0", "0.0.1", "99.10.9", "10.2.33"])
def test_good_versions_are_accepted(emu: ModelArtsEmulator, version: str) -> None:
    create_model(emu, version=version)


def test_model_type_is_an_enumeration(emu: ModelArtsEmulator) -> None:
    error(call(emu, "POST", MODELS, model_body(model_type="Caffe")), 400, "ModelArts.0101")
    for index, kind in enumerate(["TensorFlow", "PyTorch", "MindSpore", "Image", "Custom"]):
        create_model(emu, version=f"1.0.{index}", model_type=kind)


@pytest.mark.parametrize("description", ["x" * 101, "a&b", "a!b", "it's", 'say "hi"', "a<b", "a>b", "a=b"])
def test_description_rules(emu: ModelArtsEmulator, description: str) -> None:
    error(call(emu, "POST", MODELS, model_body(description=description)), 400, "ModelArts.0101")


def test_a_100_character_description_is_accepted(emu: ModelArtsEmulator) -> None:
    create_model(emu, description="d" * 100)


@pytest.mark.parametrize("install_type", [[], ["online"], "real-time", ["Real-Time"]])
def test_install_type_rules(emu: ModelArtsEmulator, install_type: Any) -> None:
    error(call(emu, "POST", MODELS, model_body(install_type=install_type)), 400, "ModelArts.0101")


def test_install_type_is_kept(emu: ModelArtsEmulator) -> None:
    model_id = create_model(emu, install_type=["batch"])
    assert show_model(emu, model_id)["install_type"] == ["batch"]


def test_dependency_restraint_is_exact_atleast_or_atmost(emu: ModelArtsEmulator) -> None:
    bad = [
        {"installer": "pip", "packages": [{"package_name": "numpy", "package_version": "1.5.0", "restraint": "ABOUT"}]}
    ]
    error(call(emu, "POST", MODELS, model_body(dependencies=bad)), 400, "ModelArts.3041")
    wrong_installer = [{"installer": "npm", "packages": []}]
    error(call(emu, "POST", MODELS, model_body(dependencies=wrong_installer)), 400, "ModelArts.0101")


def test_at_most_three_model_docs(emu: ModelArtsEmulator) -> None:
    docs = [{"doc_url": "https://d/1", "doc_name": "a"}] * 4
    error(call(emu, "POST", MODELS, model_body(model_docs=docs)), 400, "ModelArts.0101")


def test_unknown_workspace_and_bad_json(emu: ModelArtsEmulator) -> None:
    error(call(emu, "POST", MODELS, model_body(workspace_id="no-such-ws")), 400, "ModelArts.0102")
    error(call(emu, "POST", MODELS, b"{not json"), 400, "ModelArts.0101")
    error(call(emu, "POST", MODELS, [1, 2]), 400, "ModelArts.0101")


def test_a_duplicate_name_and_version_is_refused(emu: ModelArtsEmulator) -> None:
    create_model(emu)
    message = error(call(emu, "POST", MODELS, model_body()), 409, "ModelArts.3002")
    assert "mnist" in message and "1.0.0" in message
    create_model(emu, version="1.0.1")


def test_show_an_unknown_model_is_404(emu: ModelArtsEmulator) -> None:
    error(call(emu, "GET", f"{MODELS}/00000000-0000-0000-0000-000000000000"), 404, "ModelArts.3001")


def test_a_planned_build_failure(emu: ModelArtsEmulator) -> None:
    emu.app.inference.model_plans.put(
        "broken", [["building", 4], ["building_failed", None]], failure_message="pip failed"
    )
    model_id = create_model(emu, name="broken-model")
    assert show_model(emu, model_id)["model_status"] == "building"
    emu.advance_time(4)
    shown = show_model(emu, model_id)
    assert shown["model_status"] == "building_failed" and shown["failure_reason"] == "pip failed"
    other = create_model(emu, name="fine-model")
    emu.advance_time(3)
    assert show_model(emu, other)["model_status"] == "published"


def test_a_planned_publish_failure_and_a_build_that_succeeds(emu: ModelArtsEmulator) -> None:
    emu.app.inference.model_plans.put("bad", [["publishing", 1], ["failed", None]])
    emu.app.inference.model_plans.put("img", [["building", 2], ["published", None]])
    failed, built = create_model(emu, name="bad-1"), create_model(emu, name="img-1")
    emu.advance_time(2)
    assert show_model(emu, failed)["model_status"] == "failed"
    assert show_model(emu, built)["model_status"] == "published"


def names(payload: dict[str, Any]) -> list[str]:
    return [f"{item['model_name']}:{item['model_version']}" for item in payload["models"]]


def test_list_filters_paging_and_sorting(emu: ModelArtsEmulator) -> None:
    create_model(emu, name="mnist", version="1.0.0")
    create_model(emu, name="mnist", version="2.0.0", model_type="PyTorch", description="second one")
    create_model(emu, name="mnist_v", version="1.0.0")
    create_model(emu, name="resnet", version="1.0.0", model_type="Image")
    everything = ok(call(emu, "GET", MODELS))
    assert everything["total_count"] == 4 and everything["count"] == 4
    # Newest first by default (sort_by create_at, order desc).
    assert names(everything) == ["resnet:1.0.0", "mnist_v:1.0.0", "mnist:2.0.0", "mnist:1.0.0"]
    assert len(names(ok(call(emu, "GET", MODELS, model_name="MNIST")))) == 3
    assert names(ok(call(emu, "GET", MODELS, model_name="mnist_v", exact_match="true"))) == ["mnist_v:1.0.0"]
    assert names(ok(call(emu, "GET", MODELS, model_version="2.0.0"))) == ["mnist:2.0.0"]
    assert names(ok(call(emu, "GET", MODELS, description="SECOND"))) == ["mnist:2.0.0"]
    assert names(ok(call(emu, "GET", MODELS, model_type="Image"))) == ["resnet:1.0.0"]
    assert len(names(ok(call(emu, "GET", MODELS, not_model_type="TensorFlow")))) == 2
    error(call(emu, "GET", MODELS, model_type="Image", not_model_type="PyTorch"), 400, "ModelArts.0101")
    page = ok(call(emu, "GET", MODELS, limit=3, offset=1, order="asc"))
    assert names(page) == ["resnet:1.0.0"] and page["total_count"] == 4 and page["count"] == 1
    by_version = ok(
        call(emu, "GET", MODELS, sort_by="model_version", order="asc", model_name="mnist", exact_match="true")
    )
    assert names(by_version) == ["mnist:1.0.0", "mnist:2.0.0"]
    assert ok(call(emu, "GET", MODELS, model_status="published"))["models"] == []
    emu.advance_time(3)
    assert ok(call(emu, "GET", MODELS, model_status="published"))["total_count"] == 4


@pytest.mark.parametrize(
    "query",
    [
        {"model_status": "ready"},
        {"sort_by": "name"},
        {"order": "up"},
        {"limit": "0"},
        {"offset": "-1"},
        {"model_version": "1.0"},
    ],
)
def test_list_refuses_bad_parameters(emu: ModelArtsEmulator, query: dict[str, str]) -> None:
    error(call(emu, "GET", MODELS, **query), 400, "ModelArts.0101")


def test_list_limit_defaults_to_1000(emu: ModelArtsEmulator) -> None:
    for index in range(3):
        create_model(emu, version=f"1.0.{index}")
    assert ok(call(emu, "GET", MODELS))["count"] == 3
    error(call(emu, "GET", MODELS, limit="1001"), 400, "ModelArts.0101")


def test_list_by_workspace(emu: ModelArtsEmulator) -> None:
    create_model(emu, workspace_id="ws-research")
    assert ok(call(emu, "GET", MODELS))["models"] == []
    assert ok(call(emu, "GET", MODELS, workspace_id="ws-research"))["total_count"] == 1


def test_delete_answers_200_with_the_two_lists(emu: ModelArtsEmulator) -> None:
    model_id = create_model(emu)
    assert ok(call(emu, "DELETE", f"{MODELS}/{model_id}")) == {
        "delete_success_list": [model_id],
        "delete_failed_list": [],
    }
    error(call(emu, "GET", f"{MODELS}/{model_id}"), 404, "ModelArts.3001")
    error(call(emu, "DELETE", f"{MODELS}/{model_id}"), 404, "ModelArts.3001")


def test_cascade_deletes_every_version_of_the_name(emu: ModelArtsEmulator) -> None:
    first = create_model(emu, version="1.0.0")
    second = create_model(emu, version="1.0.1")
    other = create_model(emu, name="other")
    answer = ok(call(emu, "DELETE", f"{MODELS}/{first}", cascade="false"))
    assert answer["delete_success_list"] == [first]
    third = create_model(emu, version="1.0.2")
    answer = ok(call(emu, "DELETE", f"{MODELS}/{second}", cascade="true"))
    assert sorted(answer["delete_success_list"]) == sorted([second, third])
    assert show_model(emu, other)["model_name"] == "other"


def test_cascade_deletes_at_most_20(emu: ModelArtsEmulator) -> None:
    ids = [create_model(emu, version=f"1.0.{index}") for index in range(22)]
    answer = ok(call(emu, "DELETE", f"{MODELS}/{ids[0]}", cascade="true"))
    assert len(answer["delete_success_list"]) == 20
    assert ok(call(emu, "GET", MODELS))["total_count"] == 2


def test_a_model_a_service_uses_is_not_deleted(emu: ModelArtsEmulator) -> None:
    model_id = published_model(emu)
    service_id = deploy(emu, real_time_body("svc", (model_id, 100)))
    answer = ok(call(emu, "DELETE", f"{MODELS}/{model_id}"))
    assert answer["delete_success_list"] == []
    (failed,) = answer["delete_failed_list"]
    assert failed["model_id"] == model_id and failed["error_code"] == "ModelArts.3009"
    assert "has been used to deploy a service" in failed["error_msg"]
    ok(call(emu, "DELETE", f"{SERVICES}/{service_id}"))
    # Still in use while the service is deleting; free once it is gone.
    assert ok(call(emu, "DELETE", f"{MODELS}/{model_id}"))["delete_failed_list"]
    emu.advance_time(2)
    assert ok(call(emu, "DELETE", f"{MODELS}/{model_id}"))["delete_success_list"] == [model_id]


def test_runtimes(emu: ModelArtsEmulator) -> None:
    answer = ok(call(emu, "GET", f"{MODELS}/ai-engine-runtimes"))
    engines = [item["ai_engine"] for item in answer["engine_runtimes"]]
    assert "PyTorch" in engines and all(item["runtimes"] for item in answer["engine_runtimes"])


def test_errors_and_auth_are_the_gateways(emu: ModelArtsEmulator) -> None:
    import requests

    unsigned = requests.get(f"{emu.url}{MODELS}", timeout=10)
    assert unsigned.status_code == 401
    other_project = call(emu, "GET", MODELS.replace("e0a1", "f0a1"))
    assert other_project.status_code == 403
    request = emu.stats()["requests"][-1]
    assert request["endpoint"] == "list_models"
