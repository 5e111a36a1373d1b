"""The emulator's v1 real-time services over real HTTP, one test per documented rule (reference
§2b; ``service_management/deploying_services.rst``, ``obtaining_service_details.rst``,
``obtaining_services.rst``, ``updating_service_configurations.rst``, ``deleting_a_service.rst``,
``obtaining_service_event_logs.rst``)."""

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
    events,
    ok,
    published_model,
    real_time_body,
    show_service,
    status,
)
from modelarts_emulator import EmulatorConfig, ModelArtsEmulator


@pytest.fixture
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True)) as emulator:
        yield emulator


@pytest.fixture
def model(emu: ModelArtsEmulator) -> str:
    return published_model(emu)


def test_deploy_answers_200_then_deploying_then_running_with_an_access_address(
    emu: ModelArtsEmulator, model: str
) -> None:
    answer = ok(call(emu, "POST", SERVICES, real_time_body("mnist", (model, 100))))
    assert set(answer) == {"service_id", "resource_ids"}
    service_id = answer["service_id"]
    shown = show_service(emu, service_id)
    assert shown["status"] == "deploying" and 0 <= shown["progress"] < 100 and "access_address" not in shown
    emu.advance_time(5)
    shown = show_service(emu, service_id)
    assert shown["status"] == "running"
    assert shown["access_address"] == f"{emu.url}/v1/infers/{service_id}"
    (entry,) = shown["config"]
    assert entry["model_id"] == model and entry["model_name"] == "mnist" and entry["model_version"] == "1.0.0"
    assert entry["weight"] == 100 and entry["instance_count"] == 1


@pytest.mark.parametrize("field", ["service_name", "infer_type", "config"])
def test_required_service_fields(emu: ModelArtsEmulator, model: str, field: str) -> None:
    body = real_time_body("svc", (model, 100))
    del body[field]
    assert field in error(call(emu, "POST", SERVICES, body), 400, "ModelArts.3610")


@pytest.mark.parametrize("field", ["model_id", "specification", "instance_count", "weight"])
def test_required_config_fields_of_a_real_time_service(emu: ModelArtsEmulator, model: str, field: str) -> None:
    body = real_time_body("svc", (model, 100))
    del body["config"][0][field]
    assert field in error(call(emu, "POST", SERVICES, body), 400, "ModelArts.3610")


def test_service_name_is_at_most_64_characters(emu: ModelArtsEmulator, model: str) -> None:
    error(call(emu, "POST", SERVICES, real_time_body("s" * 65, (model, 100))), 400, "ModelArts.0101")
    deploy(emu, real_time_body("s" * 64, (model, 100)))


@pytest.mark.parametrize("count", [0, 129, "many"])
def test_instance_count_is_1_to_128(emu: ModelArtsEmulator, model: str, count: Any) -> None:
    body = real_time_body("svc", (model, 100))
    body["config"][0]["instance_count"] = count
    error(call(emu, "POST", SERVICES, body), 400, "ModelArts.0101")


def test_infer_type_and_specification_are_enumerations(emu: ModelArtsEmulator, model: str) -> None:
    error(
        call(emu, "POST", SERVICES, real_time_body("svc", (model, 100), infer_type="edge-ish")), 400, "ModelArts.0101"
    )
    body = real_time_body("svc", (model, 100))
    body["config"][0]["specification"] = "modelarts.vm.huge"
    error(call(emu, "POST", SERVICES, body), 400, "ModelArts.0101")
    body["config"][0]["specification"] = "custom"
    error(call(emu, "POST", SERVICES, body), 400, "ModelArts.0101")
    body["config"][0]["custom_spec"] = {"cpu": 1.5, "memory": 7500}
    deploy(emu, body)


@pytest.mark.parametrize("description", ["d" * 101, "a!", "a<b", "a>b", "a+b", "a&b", 'a"b', "a'b"])
def test_deploy_description_rules(emu: ModelArtsEmulator, model: str, description: str) -> None:
    body = real_time_body("svc", (model, 100), description=description)
    error(call(emu, "POST", SERVICES, body), 400, "ModelArts.0101")


def test_weights_must_sum_to_100(emu: ModelArtsEmulator, model: str) -> None:
    second = published_model(emu, version="1.0.1")
    error(call(emu, "POST", SERVICES, real_time_body("svc", (model, 70), (second, 20))), 400, "ModelArts.0101")
    # The docs' multi-version example writes weights as strings ("70", "30").
    deploy(emu, real_time_body("svc", (model, "70"), (second, "30")))


def test_the_same_model_twice_is_refused(emu: ModelArtsEmulator, model: str) -> None:
    error(call(emu, "POST", SERVICES, real_time_body("svc", (model, 50), (model, 50))), 400, "ModelArts.3516")


def test_the_model_must_exist_and_be_published(emu: ModelArtsEmulator) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    error(call(emu, "POST", SERVICES, real_time_body("svc", (missing, 100))), 404, "ModelArts.3507")
    publishing = create_model(emu, version="2.0.0")
    error(call(emu, "POST", SERVICES, real_time_body("svc", (publishing, 100))), 400, "ModelArts.3515")
    emu.app.inference.model_plans.put("bad", [["building", 1], ["building_failed", None]])
    failed = create_model(emu, name="bad-model")
    emu.advance_time(5)
    error(call(emu, "POST", SERVICES, real_time_body("svc", (failed, 100))), 400, "ModelArts.3515")


def test_a_batch_only_model_cannot_serve_in_real_time(emu: ModelArtsEmulator) -> None:
    batch_only = published_model(emu, name="batchy", install_type=["batch"])
    error(call(emu, "POST", SERVICES, real_time_body("svc", (batch_only, 100))), 400, "ModelArts.3589")


def test_a_duplicate_service_name_is_refused(emu: ModelArtsEmulator, model: str) -> None:
    deploy(emu, real_time_body("svc", (model, 100)))
    error(call(emu, "POST", SERVICES, real_time_body("svc", (model, 100))), 409, "ModelArts.3503")


def test_schedule_priority_and_network_rules(emu: ModelArtsEmulator, model: str) -> None:
    bad_schedule = [{"type": "start", "time_unit": "HOURS", "duration": 1}]
    error(call(emu, "POST", SERVICES, real_time_body("a", (model, 100), schedule=bad_schedule)), 400, "ModelArts.0101")
    error(call(emu, "POST", SERVICES, real_time_body("a", (model, 100), priority=4)), 400, "ModelArts.0101")
    error(call(emu, "POST", SERVICES, real_time_body("a", (model, 100), vpc_id="vpc-1")), 400, "ModelArts.0101")
    schedule = [{"type": "stop", "time_unit": "HOURS", "duration": 1}]
    service_id = deploy(emu, real_time_body("a", (model, 100), schedule=schedule, priority=2))
    assert show_service(emu, service_id)["schedule"] == schedule


def test_a_planned_deploy_failure_has_error_msg_and_events(emu: ModelArtsEmulator, model: str) -> None:
    emu.app.inference.service_plans.put("doomed", [["deploying", 2], ["failed", None]], error_msg="image pull failed")
    service_id = deploy(emu, real_time_body("doomed-svc", (model, 100)))
    emu.advance_time(2)
    shown = show_service(emu, service_id)
    assert shown["status"] == "failed" and shown["error_msg"] == "image pull failed"
    assert "access_address" not in shown
    abnormal = events(emu, service_id, event_type="abnormal")
    assert [event["event_info"] for event in abnormal] == ["image pull failed"]


def test_a_planned_concerning_service_still_answers(emu: ModelArtsEmulator, model: str) -> None:
    emu.app.inference.service_plans.put("shaky", [["deploying", 1], ["running", 3], ["concerning", None]])
    service_id = deploy(emu, real_time_body("shaky-svc", (model, 100)))
    emu.advance_time(1)
    assert status(emu, service_id) == "running"
    emu.advance_time(3)
    shown = show_service(emu, service_id)
    assert shown["status"] == "concerning" and shown["access_address"]
    assert events(emu, service_id, event_type="abnormal")
    assert call(emu, "POST", f"/v1/infers/{service_id}", {"x": 1}).status_code == 200


def test_events_follow_the_deployment(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    first = events(emu, service_id)
    assert [event["event_info"] for event in first] == ["start to deploy service"]
    emu.advance_time(5)
    later = ok(call(emu, "GET", f"{SERVICES}/{service_id}/events"))
    assert later["service_id"] == service_id and later["service_name"] == "svc"
    assert later["total_count"] == later["count"] == 5
    times = [event["occur_time"] for event in later["events"]]
    assert times == sorted(times, reverse=True)  # occur_time, desc by default
    ascending = events(emu, service_id, order="asc")
    assert (
        ascending[0]["event_info"] == "start to deploy service" and ascending[-1]["event_info"] == "service is running"
    )
    assert len(events(emu, service_id, limit=2, offset=2)) == 1
    assert [event["event_info"] for event in events(emu, service_id, event_info="RUNNING")] == ["service is running"]
    error(call(emu, "GET", f"{SERVICES}/{service_id}/events", event_type="odd"), 400, "ModelArts.0101")
    error(call(emu, "GET", f"{SERVICES}/{service_id}/events", event_info="a;b"), 400, "ModelArts.0101")


def test_stop_then_start(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    emu.advance_time(5)
    assert ok(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "stopped"})) == {}
    assert status(emu, service_id) == "stopping"
    # Nothing can change while it is stopping.
    error(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "running"}), 400, "ModelArts.3519")
    emu.advance_time(2)
    assert status(emu, service_id) == "stopped"
    assert "access_address" not in show_service(emu, service_id)
    ok(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "stopped"}))  # already stopped: no change
    assert status(emu, service_id) == "stopped"
    ok(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "running"}))
    assert status(emu, service_id) == "deploying"
    emu.advance_time(5)
    assert status(emu, service_id) == "running"
    infos = [event["event_info"] for event in events(emu, service_id, order="asc")]
    assert "start to stop service" in infos and "service stopped" in infos and infos.count("service is running") == 2


def test_a_deploying_service_can_be_stopped(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    ok(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "stopped"}))
    emu.advance_time(2)
    assert status(emu, service_id) == "stopped"


def test_update_status_must_be_running_or_stopped(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    error(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "paused"}), 400, "ModelArts.0101")


def test_a_new_config_redeploys(emu: ModelArtsEmulator, model: str) -> None:
    second = published_model(emu, version="2.0.0")
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    new_config = real_time_body("svc", (second, 100))["config"]
    # Not while deploying.
    error(call(emu, "PUT", f"{SERVICES}/{service_id}", {"config": new_config}), 400, "ModelArts.3519")
    emu.advance_time(5)
    bad = real_time_body("svc", (second, 90))["config"]
    error(call(emu, "PUT", f"{SERVICES}/{service_id}", {"config": bad}), 400, "ModelArts.0101")
    assert ok(call(emu, "PUT", f"{SERVICES}/{service_id}", {"config": new_config, "description": "v2"})) == {}
    shown = show_service(emu, service_id)
    assert shown["status"] == "deploying" and shown["config"][0]["model_version"] == "2.0.0"
    assert shown["description"] == "v2"
    emu.advance_time(5)
    assert status(emu, service_id) == "running"


def test_status_and_config_together_change_the_status_only(emu: ModelArtsEmulator, model: str) -> None:
    second = published_model(emu, version="2.0.0")
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    emu.advance_time(5)
    new_config = real_time_body("svc", (second, 100))["config"]
    ok(call(emu, "PUT", f"{SERVICES}/{service_id}", {"status": "stopped", "config": new_config}))
    emu.advance_time(2)
    shown = show_service(emu, service_id)
    assert shown["status"] == "stopped" and shown["config"][0]["model_id"] == model


def test_update_description_rules(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    error(call(emu, "PUT", f"{SERVICES}/{service_id}", {"description": "a=b"}), 400, "ModelArts.0101")


def test_delete_goes_deleting_then_gone(emu: ModelArtsEmulator, model: str) -> None:
    service_id = deploy(emu, real_time_body("svc", (model, 100)))
    assert ok(call(emu, "DELETE", f"{SERVICES}/{service_id}")) == {}
    assert status(emu, service_id) == "deleting"
    emu.advance_time(2)
    error(call(emu, "GET", f"{SERVICES}/{service_id}"), 404, "ModelArts.3502")
    error(call(emu, "DELETE", f"{SERVICES}/{service_id}"), 404, "ModelArts.3502")
    # The name is free again.
    deploy(emu, real_time_body("svc", (model, 100)))


def test_delete_takes_comma_separated_ids(emu: ModelArtsEmulator, model: str) -> None:
    first = deploy(emu, real_time_body("one", (model, 100)))
    second = deploy(emu, real_time_body("two", (model, 100)))
    ok(call(emu, "DELETE", f"{SERVICES}/{first},{second}"))
    emu.advance_time(2)
    assert ok(call(emu, "GET", SERVICES))["services"] == []


def test_show_and_update_of_an_unknown_service(emu: ModelArtsEmulator) -> None:
    missing = f"{SERVICES}/00000000-0000-0000-0000-000000000000"
    error(call(emu, "GET", missing), 404, "ModelArts.3502")
    error(call(emu, "PUT", missing, {"status": "stopped"}), 404, "ModelArts.3502")
    error(call(emu, "GET", f"{missing}/events"), 404, "ModelArts.3502")


def test_list_filters_and_paging(emu: ModelArtsEmulator, model: str) -> None:
    other = published_model(emu, name="other")
    first = deploy(emu, real_time_body("alpha", (model, 100)))
    second = deploy(emu, real_time_body("beta", (other, 100)))
    everything = ok(call(emu, "GET", SERVICES))
    assert everything["total_count"] == everything["count"] == 2
    assert [item["service_id"] for item in everything["services"]] == [second, first]  # publish_at desc
    by_name = ok(call(emu, "GET", SERVICES, sort_by="service_name", order="asc"))
    assert [item["service_name"] for item in by_name["services"]] == ["alpha", "beta"]
    assert [item["service_id"] for item in ok(call(emu, "GET", SERVICES, model_id=other))["services"]] == [second]
    assert ok(call(emu, "GET", SERVICES, service_name="alpha"))["services"][0]["service_id"] == first
    assert ok(call(emu, "GET", SERVICES, service_id=first))["total_count"] == 1
    assert ok(call(emu, "GET", SERVICES, infer_type="batch"))["total_count"] == 0
    assert ok(call(emu, "GET", SERVICES, status="deploying"))["total_count"] == 2
    page = ok(call(emu, "GET", SERVICES, limit=1, offset=1))
    assert page["total_count"] == 2 and page["count"] == 1 and page["services"][0]["service_id"] == first
    for query in ({"status": "sleeping"}, {"infer_type": "edge-ish"}, {"sort_by": "status"}, {"workspace_id": "nope"}):
        assert call(emu, "GET", SERVICES, **query).status_code == 400


def test_a_model_in_use_can_still_be_listed(emu: ModelArtsEmulator, model: str) -> None:
    deploy(emu, real_time_body("svc", (model, 100)))
    assert ok(call(emu, "GET", MODELS))["total_count"] == 1
