"""Real-time and batch services of the v1 API: paths, :class:`ServiceStatus`, the deploy body's
rules (:func:`validate_service_create`), the update rule (:func:`validate_service_update`: a new
``config`` or a ``status``, never both), the list and event queries, and compact rows.

Sources (Huawei's pages, mirrored in https://github.com/opentelekomcloud-docs/modelarts under
``api-ref/source/service_management/``):
deploying a service, https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateService.html ;
a service's details, https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowService.html ;
the service list, https://support.huaweicloud.com/intl/en-us/api-modelarts/ListServices.html ;
updating a service, https://support.huaweicloud.com/intl/en-us/api-modelarts/UpdateService.html ;
deleting a service, https://support.huaweicloud.com/intl/en-us/api-modelarts/DeleteService.html ;
service events, https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowServiceEvents.html .
The newer ``/v2/{project_id}/services`` API (no batch type) would be a module of its own.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_modelarts.cloud.inference.common import (
    DEFAULT_LIMIT,
    mapping,
    non_empty_string,
    plain_list,
    plain_mapping,
    query_of,
    validate_choice,
    validate_description,
    validate_limit,
    validate_offset,
    validate_order,
    validate_resource_id,
    validate_resource_name,
)
from airflow_provider_modelarts.cloud.v2.events import event_time_text
from airflow_provider_modelarts.cloud.v2.search import validate_workspace_id
from airflow_provider_modelarts.cloud.validation import LONG_MAX, coerce_int
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


def services_path(project_id: str) -> str:
    """``POST`` deploys a service (200 ``{service_id, resource_ids}``, asynchronous); ``GET`` lists."""
    return f"/v1/{project_id}/services"


def service_path(project_id: str, service_id: str) -> str:
    """``GET`` shows a service; ``PUT`` updates it (no response body documented); ``DELETE`` deletes it."""
    return f"{services_path(project_id)}/{service_id}"


def service_events_path(project_id: str, service_id: str) -> str:
    """``GET`` a service's events (:class:`EventQuery`)."""
    return f"{service_path(project_id, service_id)}/events"


# ---------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------


class ServiceStatus(str, Enum):
    """The documented values of a v1 service's ``status`` (show and list pages)."""

    DEPLOYING = "deploying"
    PENDING = "pending"  # real-time only
    WAITING = "waiting"  # queued for resources; real-time only
    STOPPING = "stopping"
    DELETING = "deleting"
    RUNNING = "running"
    FINISHED = "finished"  # batch only
    CONCERNING = "concerning"  # running, some instances unhealthy (an alarm)
    FAILED = "failed"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


IN_PROGRESS_STATUSES: frozenset[ServiceStatus] = frozenset(
    {
        ServiceStatus.DEPLOYING,
        ServiceStatus.PENDING,
        ServiceStatus.WAITING,
        ServiceStatus.STOPPING,
        ServiceStatus.DELETING,
    }
)
# Success of a real-time deploy is running, of a batch run finished; concerning is running with an
# alarm (a success with a warning by default, a failure on request: the wait decides).
REAL_TIME_SUCCESS_STATUSES: frozenset[ServiceStatus] = frozenset({ServiceStatus.RUNNING})
BATCH_SUCCESS_STATUSES: frozenset[ServiceStatus] = frozenset({ServiceStatus.FINISHED})
SUCCESS_STATUSES: frozenset[ServiceStatus] = REAL_TIME_SUCCESS_STATUSES | BATCH_SUCCESS_STATUSES
ALARM_STATUSES: frozenset[ServiceStatus] = frozenset({ServiceStatus.CONCERNING})
FAILURE_STATUSES: frozenset[ServiceStatus] = frozenset({ServiceStatus.FAILED})
STOPPED_STATUSES: frozenset[ServiceStatus] = frozenset({ServiceStatus.STOPPED})


def parse_service_status(value: object) -> ServiceStatus | None:
    """The documented status a value names (any case), or ``None`` for an undocumented one."""
    if isinstance(value, str):
        try:
            return ServiceStatus(value.strip().lower())
        except ValueError:
            return None
    return None


def validate_service_status(value: object, parameter: str = "status") -> ServiceStatus:
    known = parse_service_status(value)
    if known is None:
        raise ModelArtsValidationError(parameter, "one of " + ", ".join(s.value for s in ServiceStatus), value)
    return known


# ---------------------------------------------------------------------------------------------
# Deploy (create)
# ---------------------------------------------------------------------------------------------

REAL_TIME = "real-time"
BATCH = "batch"
INFER_TYPES = (REAL_TIME, BATCH)
INSTANCE_COUNT_RANGE = (1, 128)
WEIGHT_TOTAL = 100
MAPPING_TYPES = ("file", "csv")
SRC_TYPES = ("ManifestFile",)
SCHEDULE_TYPES = ("stop",)
TIME_UNITS = ("DAYS", "HOURS", "MINUTES")
LOAD_BALANCER_POLICIES = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP")
PRIORITY_RANGE = (1, 3)
CUSTOM_SPECIFICATION = "custom"
# The deploy page forbids !<>+&"' in a description, the update page <>=&"': the sources disagree,
# so both sets are refused [UNCERTAIN which the service applies].
SERVICE_DESCRIPTION_FORBIDDEN = "!<>+=&\"'"
UPDATE_STATUSES = (ServiceStatus.RUNNING.value, ServiceStatus.STOPPED.value)
BATCH_FIELDS = ("src_path", "dest_path", "req_uri", "mapping_type")


def validate_service_create(service: object, parameter: str = "service") -> dict[str, Any]:
    """Check a deploy body (``POST /v1/{project_id}/services``) before it is sent, and return a
    copy (the input is never changed). Each error names the path the user wrote, e.g.
    ``service.config[1].weight``:

    - ``service_name`` 1-64 characters; ``infer_type`` ``real-time`` or ``batch``;
    - ``config`` a non-empty list; each entry has ``model_id``, ``specification`` (``custom``
      needs ``custom_spec`` with ``cpu`` and ``memory``) and ``instance_count`` 1-128;
    - real-time: every entry has an integer ``weight``, and the weights sum to 100;
      ``schedule[]`` entries are ``{type: stop, time_unit: DAYS|HOURS|MINUTES, duration >= 1}``;
    - batch: exactly one entry, with ``src_path``, ``dest_path``, ``req_uri`` and
      ``mapping_type`` (``file`` or ``csv``; ``csv`` needs ``mapping_rule``); ``src_type``, if
      given, ``ManifestFile``; no ``schedule`` (real-time only);
    - ``description`` at most 100 characters, without any of ``!<>+=&"'``;
    - ``workspace_id`` ``"0"`` or 32 characters; ``vpc_id`` needs ``security_group_id`` and
      ``subnet_network_id``; ``priority`` 1-3; ``load_balancer_policy`` one of
      ``ROUND_ROBIN``, ``LEAST_CONNECTIONS``, ``SOURCE_IP``.

    Everything else (``additional_properties``, ``cluster_id``, ``envs``, ...) passes through.
    """
    body = plain_mapping(service, parameter, "a mapping: the deploy body (service_name, infer_type, config, ...)")
    validate_resource_name(body.get("service_name"), f"{parameter}.service_name")
    infer_type = validate_choice(body.get("infer_type"), f"{parameter}.infer_type", INFER_TYPES)
    body["config"] = validate_service_config(body.get("config"), f"{parameter}.config", infer_type)
    if body.get("schedule") is not None:
        if infer_type == BATCH:
            raise ModelArtsValidationError(
                f"{parameter}.schedule", "given for real-time services only", body["schedule"]
            )
        _validate_schedule(body["schedule"], f"{parameter}.schedule")
    _validate_common(body, parameter)
    if body.get("workspace_id") is not None:
        body["workspace_id"] = validate_workspace_id(body["workspace_id"], f"{parameter}.workspace_id")
    if body.get("vpc_id") is not None:
        for key in ("security_group_id", "subnet_network_id"):
            non_empty_string(body.get(key), f"{parameter}.{key}", "required with vpc_id")
    return body


def validate_service_config(value: object, parameter: str, infer_type: str) -> list[dict[str, Any]]:
    """A ``config`` list for a service of ``infer_type`` (the deploy's rules; an update's too)."""
    entries = plain_list(value, parameter, "a non-empty list of {model_id, specification, instance_count, ...}")
    if not entries:
        raise ModelArtsValidationError(parameter, "a non-empty list of model configurations", value)
    if infer_type == BATCH and len(entries) != 1:
        raise ModelArtsValidationError(parameter, "exactly one configuration for a batch service", value)
    checked = [_validate_config_entry(entry, f"{parameter}[{n}]", infer_type) for n, entry in enumerate(entries)]
    if infer_type == REAL_TIME:
        total = sum(entry["weight"] for entry in checked)
        if total != WEIGHT_TOTAL:
            raise ModelArtsValidationError(
                parameter, f"weights that sum to {WEIGHT_TOTAL} (these sum to {total})", [e["weight"] for e in checked]
            )
    return checked


def _validate_config_entry(value: object, where: str, infer_type: str) -> dict[str, Any]:
    entry = plain_mapping(value, where, "a mapping with model_id, specification and instance_count")
    validate_resource_id(entry.get("model_id"), f"{where}.model_id")
    specification = non_empty_string(
        entry.get("specification"), f"{where}.specification", "a flavor such as 'modelarts.vm.cpu.2u', or 'custom'"
    )
    if specification == CUSTOM_SPECIFICATION:
        custom = plain_mapping(entry.get("custom_spec"), f"{where}.custom_spec", "{cpu, memory (MB), gpu_p4}")
        for key in ("cpu", "memory"):
            if not isinstance(custom.get(key), (int, float)) or isinstance(custom.get(key), bool):
                raise ModelArtsValidationError(f"{where}.custom_spec.{key}", "a number", custom.get(key))
    entry["instance_count"] = coerce_int(entry.get("instance_count"), f"{where}.instance_count", *INSTANCE_COUNT_RANGE)
    if infer_type == REAL_TIME:
        entry["weight"] = coerce_int(entry.get("weight"), f"{where}.weight", 0, WEIGHT_TOTAL)
    else:
        for key in BATCH_FIELDS:
            non_empty_string(
                entry.get(key), f"{where}.{key}", f"required for a batch service ({', '.join(BATCH_FIELDS)})"
            )
        mapping_type = validate_choice(entry["mapping_type"], f"{where}.mapping_type", MAPPING_TYPES)
        if mapping_type == "csv" and entry.get("mapping_rule") is None:
            raise ModelArtsValidationError(f"{where}.mapping_rule", "required with mapping_type csv", None)
        if entry.get("src_type"):
            validate_choice(entry["src_type"], f"{where}.src_type", SRC_TYPES)
    return entry


def _validate_schedule(value: object, parameter: str) -> None:
    for index, item in enumerate(plain_list(value, parameter, "a list of {type, time_unit, duration}")):
        where = f"{parameter}[{index}]"
        entry = plain_mapping(item, where, "a mapping with type, time_unit and duration")
        validate_choice(entry.get("type"), f"{where}.type", SCHEDULE_TYPES)
        validate_choice(entry.get("time_unit"), f"{where}.time_unit", TIME_UNITS)
        coerce_int(entry.get("duration"), f"{where}.duration", 1, LONG_MAX)


def _validate_common(body: Mapping[str, Any], parameter: str) -> None:
    """The fields a deploy and an update share."""
    if body.get("description") is not None:
        validate_description(body["description"], f"{parameter}.description", SERVICE_DESCRIPTION_FORBIDDEN)
    if body.get("priority") is not None:
        coerce_int(body["priority"], f"{parameter}.priority", *PRIORITY_RANGE)
    if body.get("load_balancer_policy") is not None:
        validate_choice(body["load_balancer_policy"], f"{parameter}.load_balancer_policy", LOAD_BALANCER_POLICIES)


class ValidatedService(Mapping[str, Any]):
    """A deploy body that passed :func:`validate_service_create` (its copy)."""

    __slots__ = ("body",)

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    @classmethod
    def validate(cls, service: object, parameter: str = "service") -> ValidatedService:
        return service if isinstance(service, cls) else cls(validate_service_create(service, parameter))

    @property
    def name(self) -> str:
        return str(self.body["service_name"])

    @property
    def infer_type(self) -> str:
        return str(self.body["infer_type"])

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def __iter__(self) -> Any:
        return iter(self.body)

    def __len__(self) -> int:
        return len(self.body)

    def __repr__(self) -> str:
        return f"ValidatedService({self.body!r})"


# ---------------------------------------------------------------------------------------------
# Update
# ---------------------------------------------------------------------------------------------


def validate_service_update(
    *,
    config: object = None,
    status: object = None,
    infer_type: str = REAL_TIME,
    description: object = None,
    schedule: object = None,
    additional_properties: object = None,
    load_balancer_policy: object = None,
    priority: object = None,
) -> dict[str, Any]:
    """The body of ``PUT /v1/{project_id}/services/{service_id}``, checked.

    The page says "Either status or config can be modified. If both are used, modify status
    only": a body with both would drop the config silently, so both is refused here, naming
    ``config``. ``status`` is ``running`` (start) or ``stopped`` (stop); ``config`` follows the
    deploy's rules for ``infer_type``. An empty update is refused too.
    """
    if config is not None and status is not None:
        raise ModelArtsValidationError(
            "config",
            "not given with status: an update changes the config or the status, never both "
            "(the service would apply the status only)",
            config,
        )
    body: dict[str, Any] = {}
    if status is not None:
        body["status"] = validate_choice(
            status.value if isinstance(status, ServiceStatus) else status, "status", UPDATE_STATUSES
        )
    if config is not None:
        body["config"] = validate_service_config(config, "config", infer_type)
    extra = {
        "description": description,
        "schedule": schedule,
        "additional_properties": additional_properties,
        "load_balancer_policy": load_balancer_policy,
        "priority": priority,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    if schedule is not None:
        _validate_schedule(schedule, "schedule")
    if additional_properties is not None:
        body["additional_properties"] = plain_mapping(additional_properties, "additional_properties", "a mapping")
    _validate_common(body, "update")
    if not body:
        raise ModelArtsValidationError("config", "a change: config, status, description, schedule, ...", None)
    return body


# ---------------------------------------------------------------------------------------------
# List and events
# ---------------------------------------------------------------------------------------------

SERVICE_SORT_FIELDS = ("publish_at", "service_name", "transition_at")
EVENT_TYPES = ("normal", "abnormal")
EVENT_INFO_FORBIDDEN = "`(){}';,[]<>/?"


@dataclass(frozen=True)
class ServiceListFilters:
    """The documented query of ``GET /v1/{project_id}/services``, checked."""

    service_id: str | None = None
    service_name: str | None = None
    model_id: str | None = None
    workspace_id: str | None = None
    infer_type: str | None = None
    status: ServiceStatus | None = None
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    sort_by: str | None = None
    order: str | None = None

    @classmethod
    def validate(
        cls,
        service_id: str | None = None,
        service_name: str | None = None,
        model_id: str | None = None,
        workspace_id: str | None = None,
        infer_type: str | None = None,
        status: str | ServiceStatus | None = None,
        offset: int | str = 0,
        limit: int | str = DEFAULT_LIMIT,
        sort_by: str | None = None,
        order: str | None = None,
    ) -> ServiceListFilters:
        return cls(
            service_id=validate_resource_id(service_id, "service_id") if service_id is not None else None,
            service_name=validate_resource_name(service_name, "service_name") if service_name is not None else None,
            model_id=validate_resource_id(model_id, "model_id") if model_id is not None else None,
            workspace_id=validate_workspace_id(workspace_id) if workspace_id is not None else None,
            infer_type=validate_choice(infer_type, "infer_type", INFER_TYPES) if infer_type is not None else None,
            status=validate_service_status(status) if status is not None else None,
            offset=validate_offset(offset),
            limit=validate_limit(limit),
            sort_by=validate_choice(sort_by, "sort_by", SERVICE_SORT_FIELDS) if sort_by is not None else None,
            order=validate_order(order) if order is not None else None,
        )

    def query(self) -> list[tuple[str, str]]:
        return query_of(
            {
                "service_id": self.service_id,
                "service_name": self.service_name,
                "model_id": self.model_id,
                "workspace_id": self.workspace_id,
                "infer_type": self.infer_type,
                "status": self.status.value if self.status else None,
                "offset": self.offset,
                "limit": self.limit,
                "sort_by": self.sort_by,
                "order": self.order,
            }
        )


@dataclass(frozen=True)
class EventQuery:
    """The documented query of ``GET .../services/{service_id}/events``, checked (times in epoch ms)."""

    event_type: str | None = None
    event_info: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    order: str | None = None

    @classmethod
    def validate(
        cls,
        event_type: str | None = None,
        event_info: str | None = None,
        start_time: int | str | None = None,
        end_time: int | str | None = None,
        offset: int | str = 0,
        limit: int | str = DEFAULT_LIMIT,
        order: str | None = None,
    ) -> EventQuery:
        if event_info is not None and not (
            isinstance(event_info, str) and event_info and not set(event_info) & set(EVENT_INFO_FORBIDDEN)
        ):
            raise ModelArtsValidationError(
                "event_info", f"English text without any of {EVENT_INFO_FORBIDDEN}", event_info
            )
        return cls(
            event_type=validate_choice(event_type, "event_type", EVENT_TYPES) if event_type is not None else None,
            event_info=event_info,
            start_time=coerce_int(start_time, "start_time", 0, LONG_MAX) if start_time is not None else None,
            end_time=coerce_int(end_time, "end_time", 0, LONG_MAX) if end_time is not None else None,
            offset=validate_offset(offset),
            limit=validate_limit(limit),
            order=validate_order(order) if order is not None else None,
        )

    def query(self) -> list[tuple[str, str]]:
        return query_of(
            {
                "event_type": self.event_type,
                "event_info": self.event_info,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "offset": self.offset,
                "limit": self.limit,
                "order": self.order,
            }
        )


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


def service_row(service: Mapping[str, Any]) -> dict[str, Any]:
    """A service (list item or details) as a flat, JSON-serialisable row for XCom. ``access_address``
    is set for a deployed real-time service only; ``error_msg`` for a failed one."""
    return {
        "service_id": service.get("service_id"),
        "service_name": service.get("service_name"),
        "status": service.get("status"),
        "infer_type": service.get("infer_type"),
        "access_address": service.get("access_address"),
        "error_msg": service.get("error_msg"),
    }


def batch_outputs(service: Mapping[str, Any]) -> list[str]:
    """The ``dest_path`` of each ``config`` entry of a batch service."""
    configs = service.get("config")
    entries = configs if isinstance(configs, list) else []
    return [str(path) for path in (mapping(entry).get("dest_path") for entry in entries) if path]


def event_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"event_type", "event_info", "occur_time"}, ...]`` of an events answer (time in epoch ms)."""
    events = body.get("events")
    if not isinstance(events, list):
        return []
    return [
        {key: mapping(event).get(key) for key in ("event_type", "event_info", "occur_time")}
        for event in events
        if isinstance(event, Mapping)
    ]


def format_event(event: Mapping[str, Any]) -> str:
    """One event as a log line: ``<occur_time> [<event_type>] <event_info>``, the time in ISO 8601
    UTC when it is epoch milliseconds (as the API gives it)."""
    return f"{event_time_text(event.get('occur_time'))} [{event.get('event_type')}] {event.get('event_info')}"
