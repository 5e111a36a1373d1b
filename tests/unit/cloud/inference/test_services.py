"""cloud/inference/services.py: the documented deploy, update, list and event rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_modelarts.cloud.inference import services
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

MODEL = "10eb0091-887f-4839-9929-cbc884f1e20e"
OTHER = "e527d311-a947-46da-a6e0-66c49945dfaa"
REAL_TIME: dict[str, Any] = {
    "service_name": "resnet-svc",
    "infer_type": "real-time",
    "description": "smoke",
    "schedule": [{"type": "stop", "time_unit": "HOURS", "duration": 2}],
    "config": [
        {"model_id": MODEL, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 70},
        {"model_id": OTHER, "specification": "modelarts.vm.cpu.2u", "instance_count": 2, "weight": 30},
    ],
}
BATCH: dict[str, Any] = {
    "service_name": "resnet-batch",
    "infer_type": "batch",
    "config": [
        {
            "model_id": MODEL,
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
            "src_path": "obs://b/in/",
            "dest_path": "obs://b/out/",
            "req_uri": "/",
            "mapping_type": "file",
        }
    ],
}


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = copied
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return copied


_DELETE = object()


def test_documented_bodies_pass_and_are_copied() -> None:
    assert services.validate_service_create(REAL_TIME) == REAL_TIME
    checked = services.validate_service_create(BATCH)
    assert checked == BATCH and checked["config"] is not BATCH["config"]


def test_digit_strings_from_templates_become_integers() -> None:
    body = _set(_set(REAL_TIME, "config.0.instance_count", "3"), "config.0.weight", "70")
    checked = services.validate_service_create(body)
    assert (checked["config"][0]["instance_count"], checked["config"][0]["weight"]) == (3, 70)


@pytest.mark.parametrize(
    ("path", "value", "parameter"),
    [
        ("service_name", "", "service.service_name"),
        ("service_name", "s" * 65, "service.service_name"),
        ("infer_type", "edge", "service.infer_type"),
        ("config", [], "service.config"),
        ("config", {"model_id": MODEL}, "service.config"),
        ("config.0.model_id", _DELETE, "service.config[0].model_id"),
        ("config.0.model_id", "a/b", "service.config[0].model_id"),
        ("config.0.specification", _DELETE, "service.config[0].specification"),
        ("config.0.instance_count", 0, "service.config[0].instance_count"),
        ("config.0.instance_count", 129, "service.config[0].instance_count"),
        ("config.0.weight", _DELETE, "service.config[0].weight"),
        ("config.0.weight", 60, "service.config"),
        ("config.0.specification", "custom", "service.config[0].custom_spec"),
        ("description", "x" * 101, "service.description"),
        ("description", "a+b", "service.description"),
        ("description", "a=b", "service.description"),
        ("schedule.0.type", "start", "service.schedule[0].type"),
        ("schedule.0.time_unit", "WEEKS", "service.schedule[0].time_unit"),
        ("schedule.0.duration", 0, "service.schedule[0].duration"),
        ("priority", 4, "service.priority"),
        ("load_balancer_policy", "RANDOM", "service.load_balancer_policy"),
        ("workspace_id", "w", "service.workspace_id"),
        ("vpc_id", "vpc-1", "service.security_group_id"),
    ],
)
def test_each_real_time_rule_names_the_parameter(path: str, value: Any, parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        services.validate_service_create(_set(REAL_TIME, path, value))
    assert error.value.parameter == parameter


@pytest.mark.parametrize(
    ("path", "value", "parameter"),
    [
        ("config.0.src_path", _DELETE, "service.config[0].src_path"),
        ("config.0.dest_path", _DELETE, "service.config[0].dest_path"),
        ("config.0.req_uri", _DELETE, "service.config[0].req_uri"),
        ("config.0.mapping_type", _DELETE, "service.config[0].mapping_type"),
        ("config.0.mapping_type", "json", "service.config[0].mapping_type"),
        ("config.0.mapping_type", "csv", "service.config[0].mapping_rule"),
        ("config.0.src_type", "Folder", "service.config[0].src_type"),
        ("config", BATCH["config"] * 2, "service.config"),
        ("schedule", [{"type": "stop", "time_unit": "HOURS", "duration": 1}], "service.schedule"),
    ],
)
def test_each_batch_rule_names_the_parameter(path: str, value: Any, parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        services.validate_service_create(_set(BATCH, path, value))
    assert error.value.parameter == parameter


def test_a_batch_config_needs_no_weight_and_csv_takes_a_mapping_rule() -> None:
    body = _set(_set(BATCH, "config.0.mapping_type", "csv"), "config.0.mapping_rule", {"type": "object"})
    assert services.validate_service_create(body)["config"][0]["mapping_rule"] == {"type": "object"}


def test_an_update_changes_the_config_or_the_status_never_both() -> None:
    assert services.validate_service_update(status="stopped") == {"status": "stopped"}
    assert services.validate_service_update(status=services.ServiceStatus.RUNNING) == {"status": "running"}
    config = [dict(REAL_TIME["config"][0], weight=100)]
    assert services.validate_service_update(config=config)["config"][0]["weight"] == 100
    with pytest.raises(ModelArtsValidationError) as error:
        services.validate_service_update(config=config, status="running")
    assert error.value.parameter == "config" and "never both" in str(error.value)
    for status in ("deploying", "finished", "RUNNING"):
        with pytest.raises(ModelArtsValidationError) as error:
            services.validate_service_update(status=status)
        assert error.value.parameter == "status"
    with pytest.raises(ModelArtsValidationError):
        services.validate_service_update()
    with pytest.raises(ModelArtsValidationError) as error:
        services.validate_service_update(config=[dict(config[0], weight=50)])
    assert error.value.parameter == "config"
    with pytest.raises(ModelArtsValidationError) as error:
        services.validate_service_update(description="a<b")
    assert error.value.parameter == "update.description"


def test_statuses_and_their_classes() -> None:
    documented = {"deploying", "pending", "waiting", "stopping", "deleting", "running", "finished", "concerning"}
    assert {s.value for s in services.ServiceStatus} == documented | {"failed", "stopped"}
    S = services.ServiceStatus
    assert {S.DEPLOYING, S.PENDING, S.WAITING, S.STOPPING, S.DELETING} == services.IN_PROGRESS_STATUSES
    assert {S.RUNNING, S.FINISHED} == services.SUCCESS_STATUSES
    assert {S.CONCERNING} == services.ALARM_STATUSES
    assert {S.FAILED} == services.FAILURE_STATUSES and {S.STOPPED} == services.STOPPED_STATUSES
    assert services.parse_service_status("Running") is S.RUNNING and services.parse_service_status("x") is None


def test_list_and_event_queries() -> None:
    filters = services.ServiceListFilters.validate(
        service_name="svc", model_id=MODEL, infer_type="batch", status="running", offset=1, limit=10,
        sort_by="transition_at", order="desc", workspace_id="0",
    )  # fmt: skip
    assert filters.query() == [
        ("service_name", "svc"),
        ("model_id", MODEL),
        ("workspace_id", "0"),
        ("infer_type", "batch"),
        ("status", "running"),
        ("offset", "1"),
        ("limit", "10"),
        ("sort_by", "transition_at"),
        ("order", "desc"),
    ]
    for arguments, parameter in (
        ({"infer_type": "edge"}, "infer_type"),
        ({"status": "gone"}, "status"),
        ({"sort_by": "create_at"}, "sort_by"),
        ({"limit": 1001}, "limit"),
    ):
        with pytest.raises(ModelArtsValidationError) as error:
            services.ServiceListFilters.validate(**arguments)
        assert error.value.parameter == parameter
    events = services.EventQuery.validate(event_type="abnormal", start_time="1", end_time=2, order="asc")
    assert ("event_type", "abnormal") in events.query() and ("start_time", "1") in events.query()
    for arguments, parameter in (({"event_type": "warn"}, "event_type"), ({"event_info": "a;b"}, "event_info")):
        with pytest.raises(ModelArtsValidationError) as error:
            services.EventQuery.validate(**arguments)
        assert error.value.parameter == parameter


def test_rows() -> None:
    detail = {
        "service_id": "s1", "service_name": "svc", "status": "running", "infer_type": "real-time",
        "access_address": "https://infer/v1/infers/s1", "config": [{"dest_path": "obs://b/out/"}], "owner": "x",
    }  # fmt: skip
    assert services.service_row(detail) == {
        "service_id": "s1",
        "service_name": "svc",
        "status": "running",
        "infer_type": "real-time",
        "access_address": "https://infer/v1/infers/s1",
        "error_msg": None,
    }
    assert services.batch_outputs(detail) == ["obs://b/out/"]
    body = {"events": [{"event_type": "normal", "event_info": "start", "occur_time": 1, "x": 2}, "junk"]}
    assert services.event_rows(body) == [{"event_type": "normal", "event_info": "start", "occur_time": 1}]
    assert services.format_event(services.event_rows(body)[0]) == "1 [normal] start"
    # The API's epoch milliseconds read as ISO 8601 UTC in a failure's "last events".
    event = {"occur_time": 1669449696964, "event_type": "abnormal", "event_info": "pull error"}
    assert services.format_event(event) == "2022-11-26T08:01:36Z [abnormal] pull error"
    assert services.service_events_path("p", "s1") == "/v1/p/services/s1/events"
