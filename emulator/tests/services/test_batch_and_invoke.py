"""Batch services (reference §2c; the deploy page's Table 5 and batch examples) and the invocation
of a real-time service (§2b, "Calling a deployed service"), over real HTTP, plus the control
API and the child-process client that steer them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from emulator_client import AKSK, PROJECT, TokenAuth, issue_token
from inference_client import (
    SERVICES,
    batch_body,
    call,
    deploy,
    error,
    events,
    ok,
    published_model,
    real_time_body,
    show_service,
    status,
)
from modelarts_emulator import EmulatorConfig, ModelArtsEmulator
from modelarts_emulator.process import EmulatorProcess


@pytest.fixture
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True)) as emulator:
        yield emulator


@pytest.fixture
def model(emu: ModelArtsEmulator) -> str:
    return published_model(emu)


def test_a_batch_run_finishes_and_lists_its_outputs(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, batch_body("batch", model))
    assert status(emu, service_id) == "deploying"
    emu.advance_time(3)
    shown = show_service(emu, service_id)
    assert shown["status"] == "running" and "access_address" not in shown
    assert "start_time" in shown["config"][0] and "finished_time" not in shown["config"][0]
    emu.advance_time(10)
    shown = show_service(emu, service_id)
    assert shown["status"] == "finished"
    entry = shown["config"][0]
    assert entry["finished_time"] >= entry["start_time"]
    assert entry["src_path"].endswith("/xgboosterdata/") and entry["mapping_type"] == "file" and entry["req_uri"] == "/"
    outputs = emu.app.inference.service_outputs(service_id)
    assert len(outputs["outputs"]) == 3 and outputs["written"] == outputs["outputs"]
    assert all(name.startswith("https://infers-data.obs.xxxxx.com/output/") for name in outputs["outputs"])
    written = [
        event["event_info"]
        for event in events(emu, service_id, order="asc")
        if event["event_info"].startswith("wrote ")
    ]
    assert written == [f"wrote {name}" for name in outputs["outputs"]]


def test_batch_outputs_are_deterministic(emu: ModelArtsEmulator, model: str) -> None:
    first = deploy(emu, batch_body("b1", model))
    second = deploy(emu, batch_body("b2", model))
    assert emu.app.inference.service_outputs(first)["outputs"] == emu.app.inference.service_outputs(second)["outputs"]


def test_a_planned_batch_run_with_named_inputs(emu: ModelArtsEmulator, model: str) -> None:
    emu.app.inference.service_plans.put(
        "nightly", [["deploying", 1], ["running", 2], ["finished", None]], outputs=["a.jpg", "b.jpg"]
    )
    service_id = deploy(emu, batch_body("nightly-run", model))
    emu.advance_time(3)
    assert status(emu, service_id) == "finished"
    assert emu.app.inference.service_outputs(service_id)["outputs"] == [
        "https://infers-data.obs.xxxxx.com/output/a.jpg_result.txt",
        "https://infers-data.obs.xxxxx.com/output/b.jpg_result.txt",
    ]


def test_a_planned_batch_failure(emu: ModelArtsEmulator, model: str) -> None:
    emu.app.inference.service_plans.put("flaky", [["deploying", 1], ["running", 1], ["failed", None]], error_msg="OOM")
    service_id = deploy(emu, batch_body("flaky-run", model))
    emu.advance_time(2)
    shown = show_service(emu, service_id)
    assert shown["status"] == "failed" and shown["error_msg"] == "OOM"


@pytest.mark.parametrize("field", ["src_path", "dest_path", "req_uri", "mapping_type"])
def test_batch_required_fields(emu: ModelArtsEmulator, model: str, field: str) -> None:
    body = batch_body("batch", model)
    del body["config"][0][field]
    assert field in error(call(emu, "POST", SERVICES, body), 400, "ModelArts.3610")


def test_batch_mapping_type_is_file_or_csv(emu: ModelArtsEmulator, model: str) -> None:
    error(call(emu, "POST", SERVICES, batch_body("batch", model, mapping_type="json")), 400, "ModelArts.0101")
    deploy(emu, batch_body("batch", model, mapping_type="csv", mapping_rule={"type": "object"}))


def test_batch_has_exactly_one_config_and_no_weight_needed(emu: ModelArtsEmulator, model: str) -> None:
    body = batch_body("batch", model)
    body["config"].append(dict(body["config"][0]))
    error(call(emu, "POST", SERVICES, body), 400, "ModelArts.0101")
    deploy(emu, batch_body("batch", model))


def test_batch_cannot_be_scheduled_and_a_real_time_only_model_refuses_batch(emu: ModelArtsEmulator) -> None:
    model = published_model(emu, install_type=["real-time"])
    error(call(emu, "POST", SERVICES, batch_body("batch", model)), 400, "ModelArts.3589")
    other = published_model(emu, name="other")
    body = batch_body("batch", other)
    body["schedule"] = [{"type": "stop", "time_unit": "HOURS", "duration": 1}]
    error(call(emu, "POST", SERVICES, body), 400, "ModelArts.0101")


def test_a_running_batch_can_be_stopped(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, batch_body("batch", model))
    emu.advance_time(4)
    ok(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "stopped"}))
    emu.advance_time(2)
    assert status(emu, service_id) == "stopped"


def test_invoking_a_running_service_answers_a_deterministic_payload(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    refused = call(emu, "POST", f"/v1/infers/{service_id}", {"x": 1})
    assert refused.status_code == 503 and "deploying" in refused.json()["error_msg"]
    emu.advance_time(5)
    address = show_service(emu, service_id)["access_address"]
    first = requests.post(address, json={"images": [1, 2]}, auth=AKSK, timeout=10)
    assert first.status_code == 200, first.text
    again = requests.post(address, json={"images": [1, 2]}, auth=AKSK, timeout=10)
    assert first.json() == again.json()
    payload = first.json()
    assert (
        payload["service_id"] == service_id and payload["model_id"] == model and payload["input"] == {"images": [1, 2]}
    )
    other = ok(call(emu, "POST", f"/v1/infers/{service_id}/v1/predict", {"images": [3]}))
    assert other["path"] == "/v1/predict" and other["request_sha256"] != payload["request_sha256"]
    shown = show_service(emu, service_id)
    assert shown["invocation_times"] == 4 and shown["failed_times"] == 1


def test_invocation_with_an_iam_token_and_without_credentials(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    emu.advance_time(5)
    url = f"{emu.url}/v1/infers/{service_id}"
    token = issue_token(emu)
    assert requests.post(url, data=b"raw bytes", auth=TokenAuth(token), timeout=10).status_code == 200
    assert requests.post(url, json={}, timeout=10).status_code == 401
    error(call(emu, "POST", "/v1/infers/00000000-0000-0000-0000-000000000000", {}), 404, "ModelArts.3502")
    assert emu.stats()["requests"][-1]["endpoint"] == "invoke_service"


def test_weights_pick_the_model_version_by_the_body(emu: ModelArtsEmulator, model: str) -> None:
    second = published_model(emu, version="2.0.0")
    service_id = deploy(emu, real_time_body("svc", (model, 50), (second, 50)))
    emu.advance_time(5)
    versions = {ok(call(emu, "POST", f"/v1/infers/{service_id}", {"n": n}))["model_version"] for n in range(30)}
    assert versions == {"1.0.0", "2.0.0"}


def test_control_api_and_process_client() -> None:
    with EmulatorProcess(jobs=0, v2_jobs=0, extra_args=["--manual-clock"]) as emu:
        emu.set_model_plan("img", [("building", 1), ("published", None)])
        emu.set_service_plan("shaky", [("deploying", 1), ("running", None)])
        assert [plan["name_prefix"] for plan in emu.call("GET", "/_emulator/service-plans")["plans"]] == ["shaky"]
        created = requests.post(
            f"{emu.url}/v1/{PROJECT}/models",
            json={"model_name": "img-1", "model_version": "1.0.0", "model_type": "Image", "source_location": "swr://x"},
            auth=AKSK,
            timeout=10,
        )
        assert created.status_code == 200, created.text
        assert emu.models()[0]["model_status"] == "building"
        emu.advance(1)
        model_id = emu.models()[0]["model_id"]
        body = real_time_body("shaky-svc", (model_id, 100))
        service_id = requests.post(f"{emu.url}/v1/{PROJECT}/services", json=body, auth=AKSK, timeout=10).json()[
            "service_id"
        ]
        emu.advance(1)
        assert emu.services()[0]["status"] == "running"
        emu.set_service_timeline(service_id, [("concerning", None)])
        assert emu.services()[0]["status"] == "concerning"
        assert emu.service_outputs(service_id)["outputs"] == []
        emu.clear_inference_plans()
        emu.reset_inference()
        assert emu.models() == [] and emu.services() == []
