"""The v1 service endpoints: deploy, show, list, update (start/stop/config), delete, events, and the
invocation of a running real-time service.

A deploy's body is checked by :mod:`.validate`; then each ``config[].model_id`` must name a model
of the project (404 ModelArts.3507), published (400 ModelArts.3515 while it is not) and whose
``install_type`` has the service's ``infer_type`` (400 ModelArts.3589); a service of the same
name in the workspace is 409 ModelArts.3503. The answer is 200 ``{service_id, resource_ids}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from modelarts_emulator.models import spec as model_spec
from modelarts_emulator.models.responses import ApiError, error_response, first_values, page_params, parse_body
from modelarts_emulator.models.state import ModelStore, StatusTimeline
from modelarts_emulator.responses import Response, json_response
from modelarts_emulator.services import spec
from modelarts_emulator.services.state import DELETE_TIMELINE, STOP_TIMELINE, Service, ServicePlans, ServiceStore
from modelarts_emulator.services.validate import check_common, check_config, check_create

OWNER = "emulator0owner0000000000000000001"


def _check_models(models: ModelStore, config: list[dict[str, Any]], infer_type: str) -> list[tuple[str, str, str]]:
    found = []
    with models.lock:
        for entry in config:
            model = models.get(entry["model_id"])
            if model is None:
                raise ApiError(spec.MODEL_NOT_FOUND, entry["model_id"])
            if models.status(model) != model_spec.PUBLISHED:
                raise ApiError(spec.MODEL_NOT_READY, entry["model_id"])
            if infer_type not in (model.body.get("install_type") or model_spec.INSTALL_TYPE_DEFAULT):
                raise ApiError(spec.WRONG_INSTALL_TYPE, entry["model_id"], infer_type)
            found.append((model.model_id, model.name, model.version))
    return found


def create_service(
    store: ServiceStore, models: ModelStore, plans: ServicePlans, raw: bytes, workspaces: set[str], project_id: str
) -> Response:
    """``POST /v1/{project_id}/services``."""
    try:
        body = parse_body(raw)
        check_create(body, workspaces)
        used = _check_models(models, body["config"], body["infer_type"])
    except ApiError as error:
        return error.response()
    with store.lock:
        workspace = str(body.get("workspace_id") or "0")
        if any(item.name == body["service_name"] and item.workspace_id == workspace for item in store.all()):
            return error_response(spec.SERVICE_EXISTS, body["service_name"])
        now = store.now()
        wall = store.wall_ms(now)
        body = dict(body, _project=project_id)
        plan = plans.match(body["service_name"])
        service = Service(str(uuid.uuid4()), body, StatusTimeline((), now), wall, plan, used)
        service.timeline = StatusTimeline(service.planned_steps(), now)
        service.timeline_wall_ms = service.update_ms = wall
        store.add(service)
    resource_ids = [f"{service.service_id}-{index}" for index in range(len(used))]
    return json_response(200, {"service_id": service.service_id, "resource_ids": resource_ids})


def _progress(service: Service, status: str, now: float, speed: float) -> int:
    if status != spec.DEPLOYING:
        return 100 if status in spec.SERVING or status == spec.FINISHED else 0
    timeline = service.timeline
    index = timeline.index(now, speed)
    duration = timeline.steps[index][1]
    if not duration:
        return 0
    return min(99, int((timeline.elapsed(now, speed) - timeline.starts[index]) / duration * 100))


def _wall(store: ServiceStore, service: Service, moment: float | None) -> int | None:
    if moment is None:
        return None
    return service.timeline_wall_ms + round(moment / store.speed * 1000)


def service_object(store: ServiceStore, service: Service, base_url: str, full: bool = True) -> dict[str, Any]:
    now = store.now()
    status = store.status(service, now)
    body = service.body
    timeline = service.timeline
    began = timeline.starts[timeline.index(now, store.speed)]
    item: dict[str, Any] = {
        "service_id": service.service_id,
        "service_name": service.name,
        "description": body.get("description", ""),
        "tenant": OWNER,
        "project": body.get("_project", ""),
        "owner": OWNER,
        "publish_at": service.create_ms,
        "update_time": service.update_ms,
        "infer_type": service.infer_type,
        "workspace_id": service.workspace_id,
        "status": status,
        "is_shared": False,
        "shared_count": 0,
        "invocation_times": service.invocation_times,
        "failed_times": service.failed_times,
        "transition_at": _wall(store, service, began),
        "is_free": False,
        "additional_properties": body.get("additional_properties") or {},
    }
    if status == spec.DEPLOYING:
        item["progress"] = _progress(service, status, now, store.speed)
    if status == spec.FAILED:
        item["error_msg"] = service.error_msg()
    if service.infer_type == spec.REAL_TIME and status in spec.SERVING:
        item["access_address"] = f"{base_url}/v1/infers/{service.service_id}"
    for key in ("schedule", "cluster_id", "pool_name", "vpc_id", "subnet_network_id", "security_group_id"):
        if body.get(key):
            item[key] = body[key]
    for key in ("load_balancer_policy", "priority"):
        if body.get(key) is not None:
            item[key] = body[key]
    if not full:
        return item
    item["operation_time"] = store.wall_ms(now)
    item["config"] = _config(store, service, status, now)
    return item


def _config(store: ServiceStore, service: Service, status: str, now: float) -> list[dict[str, Any]]:
    entries = []
    for entry, (model_id, name, version) in zip(service.config, service.models, strict=True):
        shown = {key: value for key, value in entry.items() if not key.startswith("_")}
        shown.update(
            {
                "model_id": model_id,
                "model_name": name,
                "model_version": version,
                "instance_count": int(entry["instance_count"]),
                "envs": entry.get("envs") or {},
                "scaling": False,
                "support_debug": False,
                "additional_properties": entry.get("additional_properties") or {},
                # The instances' status: ready while serving, notReady otherwise (the show example).
                "status": "ready" if status in spec.SERVING or status == spec.FINISHED else "notReady",
            }
        )
        if "weight" in entry:
            shown["weight"] = int(entry["weight"])
        if service.infer_type == spec.BATCH:
            started = service.timeline.reached(spec.RUNNING, now, store.speed)
            ended = service.timeline.reached(spec.FINISHED, now, store.speed)
            if started is not None:
                shown["start_time"] = _wall(store, service, started)
            if ended is not None:
                shown["finished_time"] = _wall(store, service, ended)
        entries.append(shown)
    return entries


def show_service(store: ServiceStore, service_id: str, base_url: str) -> Response:
    with store.lock:
        service = store.get(service_id)
        if service is None:
            return error_response(spec.SERVICE_NOT_FOUND, service_id)
        return json_response(200, service_object(store, service, base_url))


def list_services(
    store: ServiceStore, pairs: Sequence[tuple[str, str]], base_url: str, workspaces: set[str]
) -> Response:
    """``GET /v1/{project_id}/services``: filters service_id, service_name (exact [UNCERTAIN: the
    page does not say fuzzy]), model_id, workspace_id, infer_type, status; offset (a page index),
    limit (default 1000), sort_by publish_at|service_name|transition_at, order (default desc).
    ``tags`` is accepted and ignored (the emulator keeps no tags)."""
    query = first_values(pairs)
    try:
        offset, limit, sort_by, order = page_params(query, spec.SORT_KEYS, spec.SORT_DEFAULT)
        infer_type, status = query.get("infer_type") or None, query.get("status") or None
        if infer_type is not None and infer_type not in spec.INFER_TYPES:
            raise ApiError(spec.INVALID_PARAM, "infer_type", "real-time or batch")
        if status is not None and status not in spec.STATUSES:
            raise ApiError(spec.INVALID_PARAM, "status", ", ".join(spec.STATUSES))
        workspace = query.get("workspace_id") or "0"
        if workspace not in workspaces:
            raise ApiError(spec.WORKSPACE_NOT_FOUND)
    except ApiError as error:
        return error.response()
    with store.lock:
        now = store.now()
        rows: list[tuple[int, dict[str, Any]]] = []
        for service in store.all():
            current = store.status(service, now)
            if service.workspace_id != workspace or (status is not None and current != status):
                continue
            if infer_type is not None and service.infer_type != infer_type:
                continue
            if query.get("service_id") and service.service_id not in query["service_id"].split(","):
                continue
            if query.get("service_name") and service.name != query["service_name"]:
                continue
            if query.get("model_id") and all(model[0] != query["model_id"] for model in service.models):
                continue
            rows.append((service.sequence, service_object(store, service, base_url, full=False)))
        # Ties (one instant on a manual clock) keep creation order: newest first when descending.
        rows.sort(key=lambda pair: (pair[1][sort_by] or 0, pair[0]), reverse=order == "desc")
        page = [row for _, row in rows[offset * limit : offset * limit + limit]]
    return json_response(200, {"services": page, "total_count": len(rows), "count": len(page)})


def update_service(store: ServiceStore, models: ModelStore, service_id: str, raw: bytes) -> Response:
    """``PUT /v1/{project_id}/services/{service_id}``: 200 ``{}`` (the docs: no response
    parameters). ``status`` running|stopped, else ``config``; with both, only the status changes."""
    try:
        body = parse_body(raw)
    except ApiError as error:
        return error.response()
    with store.lock:
        service = store.get(service_id)
        if service is None:
            return error_response(spec.SERVICE_NOT_FOUND, service_id)
        try:
            check_common(body, service.infer_type, spec.UPDATE_DESCRIPTION_FORBIDDEN)
            target, config = body.get("status"), body.get("config")
            used: list[tuple[str, str, str]] = []
            if target is not None and target not in spec.UPDATE_STATUSES:
                raise ApiError(spec.INVALID_PARAM, "status", "running or stopped")
            if target is None and config is not None:
                if service.infer_type == spec.BATCH:
                    # [UNCERTAIN] the docs do not say whether a batch run's config can change.
                    raise ApiError(spec.INVALID_PARAM, "config", "a batch service's config cannot be updated")
                check_config(config, service.infer_type)
                used = _check_models(models, config, service.infer_type)
        except ApiError as error:
            return error.response()
        now = store.now()
        current = store.status(service, now)
        if current in (spec.STOPPING, spec.DELETING) or (target is None and current in spec.BUSY):
            return error_response(spec.NOT_UPDATABLE)
        wall = store.wall_ms(now)
        for key in ("description", "schedule", "additional_properties", "load_balancer_policy", "priority"):
            if key in body:
                service.body[key] = body[key]
        if target == spec.STOPPED and current not in (spec.STOPPED, spec.FINISHED):
            service.replace(STOP_TIMELINE, now, wall, store.speed)
        elif target == spec.RUNNING and current in (spec.STOPPED, spec.FAILED, spec.FINISHED):
            service.replace(service.planned_steps(), now, wall, store.speed)
        elif target is None and config is not None:
            service.body["config"] = config
            service.models = used
            if current != spec.STOPPED:
                service.replace(service.planned_steps(), now, wall, store.speed)
        service.update_ms = wall
    return json_response(200, {})


def delete_services(store: ServiceStore, raw_ids: str) -> Response:
    """``DELETE /v1/{project_id}/services/{service_id}``: ids may be comma-separated; 200 ``{}``.
    Each goes deleting, then is gone. An unknown id is 404 ModelArts.3502 and nothing is deleted
    [UNCERTAIN: the page shows only the 200]. Deleting a service already deleting changes nothing."""
    ids = [item for item in raw_ids.split(",") if item]
    with store.lock:
        services = []
        for service_id in ids:
            service = store.get(service_id)
            if service is None:
                return error_response(spec.SERVICE_NOT_FOUND, service_id)
            services.append(service)
        now = store.now()
        for service in services:
            if store.status(service, now) != spec.DELETING:
                service.replace(DELETE_TIMELINE, now, store.wall_ms(now), store.speed)
    return json_response(200, {})


def list_events(store: ServiceStore, service_id: str, pairs: Sequence[tuple[str, str]]) -> Response:
    """``GET .../services/{service_id}/events``: filters event_type, event_info (substring),
    start_time/end_time (epoch ms), offset (page), limit (1000), order by occur_time."""
    query = first_values(pairs)
    try:
        offset, limit, _, order = page_params(query, ("occur_time",), "occur_time")
        event_type = query.get("event_type") or None
        if event_type is not None and event_type not in spec.EVENT_TYPES:
            raise ApiError(spec.INVALID_PARAM, "event_type", "normal or abnormal")
        info = query.get("event_info") or ""
        if spec.EVENT_INFO_FORBIDDEN.search(info):
            raise ApiError(spec.INVALID_PARAM, "event_info", "no special characters")
        bounds = []
        for name in ("start_time", "end_time"):
            value = query.get(name)
            if value is not None and not value.isdigit():
                raise ApiError(spec.INVALID_PARAM, name, "epoch milliseconds")
            bounds.append(int(value) if value else None)
    except ApiError as error:
        return error.response()
    with store.lock:
        service = store.get(service_id)
        if service is None:
            return error_response(spec.SERVICE_NOT_FOUND, service_id)
        found = [
            (moment, kind, text)
            for moment, kind, text in service.events(store.now(), store.speed)
            if (event_type is None or kind == event_type)
            and info.lower() in text.lower()
            and (bounds[0] is None or moment >= bounds[0])
            and (bounds[1] is None or moment <= bounds[1])
        ]
        name = service.name
    found.sort(key=lambda event: event[0], reverse=order == "desc")
    events = [{"event_type": kind, "event_info": text, "occur_time": moment} for moment, kind, text in found]
    page = events[offset * limit : offset * limit + limit]
    payload = {
        "service_id": service_id,
        "service_name": name,
        "total_count": len(events),
        "count": len(page),
        "events": page,
    }
    return json_response(200, payload)
