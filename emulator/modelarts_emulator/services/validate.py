"""Validation of a service's deploy body (``POST /v1/{project_id}/services``) and of a new
``config`` (``PUT``), as the deploy page's Tables 3-5 describe them.

In this order, the first failure answering: not a JSON object (ModelArts.0101); ``service_name``,
``infer_type`` or ``config`` missing or empty (ModelArts.3610 "Parameter {name} cannot be
empty."); ``service_name`` over 64 characters, ``infer_type`` not real-time|batch, ``description``
over 100 characters or with one of ``!<>+&"'``, ``priority`` not 1-3, ``load_balancer_policy``
unknown, ``schedule`` on a batch service or not ``{type: stop, time_unit, duration}``, ``vpc_id``
without ``security_group_id`` and ``subnet_network_id`` (ModelArts.0101 naming the field); then
each config entry: ``model_id``, ``specification`` and ``instance_count`` are required (3610),
``instance_count`` 1-128, ``specification`` a documented flavor (``custom`` with ``custom_spec``
{cpu >= 0.01, memory}), for real-time a ``weight`` in each entry (3610) and the weights summing to
100, for batch exactly one entry with ``src_path``, ``dest_path``, ``req_uri`` and ``mapping_type``
file|csv (3610 for a missing one; 0101 for a bad mapping_type or a second entry); the same model
twice: ModelArts.3516. The models are checked by :mod:`.responses`.
"""

from __future__ import annotations

from typing import Any

from modelarts_emulator.models.responses import ApiError, check_description
from modelarts_emulator.services import spec


def _invalid(field: str, rule: str) -> ApiError:
    return ApiError(spec.INVALID_PARAM, field, rule)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _integer(value: Any) -> int | None:
    """An integer, or one written as a string: the docs' examples send ``"weight": "70"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _check_entry(entry: Any, infer_type: str, index: int) -> None:
    where = f"config[{index}]"
    if not isinstance(entry, dict):
        raise _invalid(where, "an object")
    for field in ("model_id", "specification", "instance_count"):
        if _empty(entry.get(field)):
            raise ApiError(spec.PARAM_EMPTY, f"{where}.{field}")
    if not isinstance(entry["model_id"], str):
        raise _invalid(f"{where}.model_id", "a string")
    count = _integer(entry["instance_count"])
    if count is None or not spec.INSTANCE_COUNT_MIN <= count <= spec.INSTANCE_COUNT_MAX:
        raise _invalid(f"{where}.instance_count", f"{spec.INSTANCE_COUNT_MIN} to {spec.INSTANCE_COUNT_MAX}")
    if entry["specification"] not in spec.SPECIFICATIONS:
        raise _invalid(f"{where}.specification", ", ".join(spec.SPECIFICATIONS))
    if entry["specification"] == "custom":
        custom = entry.get("custom_spec")
        cpu = custom.get("cpu") if isinstance(custom, dict) else None
        memory = _integer(custom.get("memory")) if isinstance(custom, dict) else None
        if isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or cpu < 0.01 or memory is None:
            raise _invalid(f"{where}.custom_spec", "{cpu >= 0.01, memory (MB)} with specification custom")
    if entry.get("envs") is not None and (
        not isinstance(entry["envs"], dict) or not all(isinstance(v, str) for v in entry["envs"].values())
    ):
        raise _invalid(f"{where}.envs", "a map of strings")
    if infer_type == spec.REAL_TIME:
        if _empty(entry.get("weight")):
            raise ApiError(spec.PARAM_EMPTY, f"{where}.weight")
        weight = _integer(entry["weight"])
        if weight is None or not 0 <= weight <= spec.WEIGHT_TOTAL:
            raise _invalid(f"{where}.weight", "an integer from 0 to 100")
        return
    for field in ("src_path", "dest_path", "req_uri", "mapping_type"):
        if _empty(entry.get(field)):
            raise ApiError(spec.PARAM_EMPTY, f"{where}.{field}")
        if not isinstance(entry[field], str):
            raise _invalid(f"{where}.{field}", "a string")
    if entry["mapping_type"] not in spec.MAPPING_TYPES:
        raise _invalid(f"{where}.mapping_type", "file or csv")
    # [UNCERTAIN] mapping_rule is "mandatory only when mapping_type is csv" in one sentence and
    # "optional" in the other: the emulator accepts a csv run without it. src_type is "Mandatory for
    # batch services" yet "By default ... left blank": the emulator treats it as optional.
    if entry.get("src_type") not in (None, "", *spec.SRC_TYPES):
        raise _invalid(f"{where}.src_type", "ManifestFile or empty")


def check_config(config: Any, infer_type: str) -> None:
    if _empty(config):
        raise ApiError(spec.PARAM_EMPTY, "config")
    if not isinstance(config, list):
        raise _invalid("config", "a list of ServiceConfig")
    if infer_type == spec.BATCH and len(config) != 1:
        raise _invalid("config", "a batch service has exactly one model")
    for index, entry in enumerate(config):
        _check_entry(entry, infer_type, index)
    ids = [entry["model_id"] for entry in config]
    if len(set(ids)) != len(ids):
        raise ApiError(spec.DUPLICATE_MODEL_VERSION)
    if infer_type == spec.REAL_TIME and sum(_integer(entry["weight"]) or 0 for entry in config) != spec.WEIGHT_TOTAL:
        raise _invalid("config.weight", "the weights must sum to 100")


def _check_schedule(schedule: Any) -> None:
    if not isinstance(schedule, list):
        raise _invalid("schedule", "a list")
    for item in schedule:
        duration = _integer(item.get("duration")) if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or item.get("type") not in spec.SCHEDULE_TYPES
            or item.get("time_unit") not in spec.TIME_UNITS
            or duration is None
            or duration < 1
        ):
            raise _invalid("schedule", "{type: stop, time_unit: DAYS|HOURS|MINUTES, duration >= 1}")


def check_common(body: dict[str, Any], infer_type: str, forbidden: frozenset[str]) -> None:
    """The fields a deploy and an update share."""
    check_description(body.get("description"), forbidden)
    if body.get("schedule") is not None:
        if infer_type == spec.BATCH:
            raise _invalid("schedule", "only real-time services can be scheduled")
        _check_schedule(body["schedule"])
    priority = body.get("priority")
    if priority is not None and (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not spec.PRIORITY_MIN <= priority <= spec.PRIORITY_MAX
    ):
        raise _invalid("priority", f"{spec.PRIORITY_MIN} to {spec.PRIORITY_MAX}")
    policy = body.get("load_balancer_policy")
    if policy is not None and policy not in spec.LOAD_BALANCER_POLICIES:
        raise _invalid("load_balancer_policy", ", ".join(spec.LOAD_BALANCER_POLICIES))


def check_create(body: dict[str, Any], workspaces: set[str]) -> None:
    for field in ("service_name", "infer_type", "config"):
        if _empty(body.get(field)):
            raise ApiError(spec.PARAM_EMPTY, field)
    name = body["service_name"]
    if not isinstance(name, str) or len(name) > spec.NAME_MAX:
        raise _invalid("service_name", f"1 to {spec.NAME_MAX} characters")
    infer_type = body["infer_type"]
    if infer_type not in spec.INFER_TYPES:
        raise _invalid("infer_type", "real-time or batch")
    check_common(body, infer_type, spec.CREATE_DESCRIPTION_FORBIDDEN)
    if body.get("vpc_id") and (not body.get("security_group_id") or not body.get("subnet_network_id")):
        raise _invalid("vpc_id", "needs security_group_id and subnet_network_id")
    workspace = body.get("workspace_id")
    if workspace is not None and (not isinstance(workspace, str) or workspace not in workspaces):
        raise ApiError(spec.WORKSPACE_NOT_FOUND)
    check_config(body["config"], infer_type)
