"""The v1 model endpoints: create, show, list, delete (with ``cascade``) and the engine runtimes.

Validation of a create body, in this order (the first failure answers 400): not a JSON object
(ModelArts.0101); a required field missing (ModelArts.3036 naming it: ``model_name``,
``model_version``, ``model_type``, and ``source_location`` unless ``model_type`` is Template);
``model_name`` not 1-64 characters, ``model_version`` not ``D.D.D``, ``model_type`` not in the
enumeration, ``description`` over 100 characters or with one of ``&!'"<>=``, ``install_type``
not a non-empty list of known types, ``model_docs`` more than three or without ``doc_url`` and
``doc_name``, ``dependencies`` without ``installer`` pip and ``packages`` named
(ModelArts.0101 naming the field); a package ``restraint`` other than EXACT/ATLEAST/ATMOST
(ModelArts.3041); a Template without ``template`` (3034), ``template_id`` (3029) or with
repeated ``input_id`` (3039); an unknown ``workspace_id`` (ModelArts.0102). Then a model of the
same name and version in the workspace is 409 ModelArts.3002.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from modelarts_emulator.models import spec
from modelarts_emulator.models.state import DEFAULT_TIMELINE, Model, ModelPlan, ModelPlans, ModelStore, StatusTimeline
from modelarts_emulator.responses import Response, json_response

OWNER = "emulator0owner0000000000000000001"


class ApiError(ValueError):
    """A documented error; ``response()`` is its ``{"error_code", "error_msg"}`` body."""

    def __init__(self, error: spec.ErrorCode, *args: str) -> None:
        super().__init__(error.code)
        self.error = error
        self.values = args

    def response(self) -> Response:
        return error_response(self.error, *self.values)


def error_response(error: spec.ErrorCode, *args: str) -> Response:
    message = error.message % args if args else error.message
    return json_response(error.status, {"error_code": error.code, "error_msg": message})


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise ApiError(spec.INVALID_JSON, "not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(spec.INVALID_JSON, "not a JSON object")
    return body


def _invalid(field: str, rule: str) -> ApiError:
    return ApiError(spec.INVALID_PARAM, field, rule)


def check_description(value: Any, forbidden: frozenset[str], field: str = "description") -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) > spec.DESCRIPTION_MAX or forbidden & set(value):
        chars = "".join(sorted(forbidden))
        raise _invalid(field, f"at most {spec.DESCRIPTION_MAX} characters, none of {chars}")


def _check_template(body: dict[str, Any]) -> None:
    template = body.get("template")
    if template is None:
        raise ApiError(spec.TEMPLATE_REQUIRED)
    if not isinstance(template, dict):
        raise _invalid("template", "an object")
    if not isinstance(template.get("template_id"), str) or not template["template_id"]:
        raise ApiError(spec.TEMPLATE_ID_REQUIRED)
    inputs = template.get("template_inputs")
    if not isinstance(inputs, list) or not all(
        isinstance(item, dict) and isinstance(item.get("input_id"), str) and isinstance(item.get("input"), str)
        for item in inputs
    ):
        raise _invalid("template.template_inputs", "a list of {input_id, input}")
    ids = [item["input_id"] for item in inputs]
    if len(set(ids)) != len(ids):
        raise ApiError(spec.TEMPLATE_INPUT_REPEATED)


def _check_dependencies(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise _invalid("dependencies", "a list")
    for dependency in value:
        if not isinstance(dependency, dict) or dependency.get("installer") not in spec.INSTALLERS:
            raise _invalid("dependencies.installer", "pip")
        packages = dependency.get("packages")
        if not isinstance(packages, list):
            raise _invalid("dependencies.packages", "a list")
        for package in packages:
            if not isinstance(package, dict) or not isinstance(package.get("package_name"), str):
                raise _invalid("dependencies.packages.package_name", "required")
            restraint = package.get("restraint")
            if package.get("package_version") and restraint not in spec.RESTRAINTS:
                raise ApiError(spec.BAD_RESTRAINT)
            if restraint is not None and restraint not in spec.RESTRAINTS:
                raise ApiError(spec.BAD_RESTRAINT)


def validate_create(body: dict[str, Any], workspaces: set[str]) -> None:
    for field in ("model_name", "model_version", "model_type"):
        if body.get(field) in (None, ""):
            raise ApiError(spec.PARAM_REQUIRED, field)
    model_type = body["model_type"]
    if model_type != spec.TEMPLATE and body.get("source_location") in (None, ""):
        raise ApiError(spec.PARAM_REQUIRED, "source_location")
    name = body["model_name"]
    if not isinstance(name, str) or not 1 <= len(name) <= spec.NAME_MAX:
        raise _invalid("model_name", f"1 to {spec.NAME_MAX} characters")
    version = body["model_version"]
    if not isinstance(version, str) or not spec.VERSION_PATTERN.fullmatch(version):
        raise _invalid("model_version", "Digit.Digit.Digit, each 1-2 digits without a leading 0")
    if model_type not in spec.MODEL_TYPES:
        raise _invalid("model_type", ", ".join(spec.MODEL_TYPES))
    for field in ("source_location", "runtime", "execution_code", "source_job_id", "source_job_version"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise _invalid(field, "a string")
    if body.get("initial_config") is not None and not isinstance(body["initial_config"], str):
        raise _invalid("initial_config", "a string (the config.json text)")
    check_description(body.get("description"), spec.DESCRIPTION_FORBIDDEN)
    install = body.get("install_type")
    if install is not None and (
        not isinstance(install, list) or not install or any(item not in spec.INSTALL_TYPES for item in install)
    ):
        raise _invalid("install_type", "a list of " + ", ".join(spec.INSTALL_TYPES))
    docs = body.get("model_docs")
    if docs is not None and (
        not isinstance(docs, list)
        or len(docs) > spec.MODEL_DOCS_MAX
        or not all(isinstance(doc, dict) and doc.get("doc_url") and doc.get("doc_name") for doc in docs)
    ):
        raise _invalid("model_docs", f"at most {spec.MODEL_DOCS_MAX} {{doc_url, doc_name}}")
    for field in ("input_params", "output_params", "apis"):
        if body.get(field) is not None and not isinstance(body[field], list):
            raise _invalid(field, "a list")
    _check_dependencies(body.get("dependencies"))
    if model_type == spec.TEMPLATE:
        _check_template(body)
    workspace = body.get("workspace_id")
    if workspace is not None and (not isinstance(workspace, str) or workspace not in workspaces):
        raise ApiError(spec.WORKSPACE_NOT_FOUND)


def _size(model: Model, plan_size: int | None) -> int:
    if plan_size is not None:
        return plan_size
    digest = hashlib.sha256(f"{model.name}/{model.version}".encode()).digest()
    return 1_000_000 + int.from_bytes(digest[:4], "big") % 200_000_000


def create_model(store: ModelStore, plans: ModelPlans, raw: bytes, workspaces: set[str], project_id: str) -> Response:
    """``POST /v1/{project_id}/models``: 200 ``{"model_id"}``; the model then publishes."""
    try:
        body = parse_body(raw)
        validate_create(body, workspaces)
    except ApiError as error:
        return error.response()
    with store.lock:
        workspace = str(body.get("workspace_id") or spec.WORKSPACE_DEFAULT)
        if store.find(body["model_name"], body["model_version"], workspace) is not None:
            return error_response(spec.MODEL_EXISTS, body["model_name"], body["model_version"])
        plan: ModelPlan | None = plans.match(body["model_name"])
        now = store.now()
        steps = plan.timeline if plan is not None else DEFAULT_TIMELINE
        model = Model(str(uuid.uuid4()), dict(body), StatusTimeline(steps, now), store.wall_ms(now), 0)
        model.failure = (plan.failure_message if plan is not None else "") or _default_failure(steps[-1][0])
        model.body["_size"] = _size(model, plan.model_size if plan is not None else None)
        model.body["_project"] = project_id
        store.add(model)
    return json_response(200, {"model_id": model.model_id})


def _default_failure(final: str) -> str:
    if final == spec.BUILDING_FAILED:
        return "Failed to build the model image: the pip dependencies could not be installed."
    if final == spec.FAILED:
        return "Failed to publish model because source location noncompliance."
    return ""


def model_object(store: ModelStore, model: Model, full: bool = True) -> dict[str, Any]:
    """The show body (``full``) or a list item."""
    body = model.body
    status = store.status(model)
    project = str(body.get("_project", ""))
    item: dict[str, Any] = {
        "model_id": model.model_id,
        "model_name": model.name,
        "model_version": model.version,
        "model_type": body["model_type"],
        "model_status": status,
        "model_size": body["_size"] if status == spec.PUBLISHED else 0,
        "description": body.get("description", ""),
        "project": project,
        "tenant": OWNER,
        "owner": OWNER,
        "workspace_id": model.workspace_id,
        "create_at": model.create_ms,
        "install_type": list(body.get("install_type") or spec.INSTALL_TYPE_DEFAULT),
        "model_source": "custom",
        "market_flag": False,
        "publishable_flag": False,
        "tunable": False,
        "source_type": "",
        "specification": {},
    }
    if body["model_type"] == spec.IMAGE:
        item["source_copy"] = str(body.get("source_copy", "true"))
    if not full:
        return item
    item.update(
        {
            "runtime": body.get("runtime", ""),
            "source_location": body.get("source_location", ""),
            "source_job_id": body.get("source_job_id", ""),
            "source_job_version": body.get("source_job_version", ""),
            "execution_code": body.get("execution_code", ""),
            "model_algorithm": body.get("model_algorithm", ""),
            "model_metrics": body.get("model_metrics", ""),
            "apis": json.dumps(body.get("apis") or []),
            "input_params": body.get("input_params") or [],
            "output_params": body.get("output_params") or [],
            "dependencies": body.get("dependencies") or [],
            "model_docs": body.get("model_docs") or [],
            "model_labels": [],
            "labels_map": {"labels": []},
            "image_address": "",
            "schema_doc": "",
        }
    )
    if status == spec.PUBLISHED:
        item["image_address"] = f"swr.emulator.local/modelarts-infer/{model.model_id}:{model.version}"
    if status in (spec.FAILED, spec.BUILDING_FAILED):
        # [UNCERTAIN] ShowModel's table names no failure field; the emulator answers the reason as
        # "failure_reason", the name the newer v2 service API gives its failure field.
        item["failure_reason"] = model.failure
    return item


def show_model(store: ModelStore, model_id: str) -> Response:
    with store.lock:
        model = store.get(model_id)
        if model is None:
            return error_response(spec.MODEL_NOT_FOUND, model_id)
        return json_response(200, model_object(store, model))


def _flag(value: str | None, field: str) -> bool:
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise _invalid(field, "true or false")
    return value.lower() == "true"


def first_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


def page_params(query: dict[str, str], sort_keys: Sequence[str], sort_default: str) -> tuple[int, int, str, str]:
    """offset (a page index, default 0), limit (1-1000, default 1000), sort_by, order."""
    offset_text, limit_text = query.get("offset") or "0", query.get("limit") or str(spec.LIMIT_DEFAULT)
    if not offset_text.isdigit():
        raise _invalid("offset", "an integer >= 0")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= spec.LIMIT_MAX:
        raise _invalid("limit", f"an integer from 1 to {spec.LIMIT_MAX}")
    sort_by = query.get("sort_by") or sort_default
    if sort_by not in sort_keys:
        raise _invalid("sort_by", ", ".join(sort_keys))
    order = query.get("order") or spec.ORDER_DEFAULT
    if order not in spec.ORDERS:
        raise _invalid("order", "asc or desc")
    return int(offset_text), int(limit_text), sort_by, order


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _model_sort(sort_by: str) -> Callable[[Model], Any]:
    if sort_by == "model_version":
        return lambda model: (_version_key(model.version), model.sequence)
    if sort_by == "model_size":
        return lambda model: (model.body["_size"], model.sequence)
    return lambda model: (model.create_ms, model.sequence)


def list_models(store: ModelStore, pairs: Sequence[tuple[str, str]], workspaces: set[str]) -> Response:
    """``GET /v1/{project_id}/models``: ``{models, total_count, count}``.

    ``model_name`` is a fuzzy (case-insensitive substring) match; with ``exact_match=true`` it is an
    exact one [UNCERTAIN: the docs say exact_match "escapes underscores" so that a name containing
    ``_`` matches; the emulator reads a match as "the name equals it"]. ``description`` is fuzzy
    too. ``total_count`` counts the matches without paging, ``count`` the items on the page
    [UNCERTAIN: the docs describe both as the number of matches; the service list's page says
    count is "the number in the query result", the reading used here]."""
    query = first_values(pairs)
    try:
        offset, limit, sort_by, order = page_params(query, spec.SORT_KEYS, spec.SORT_DEFAULT)
        exact = _flag(query.get("exact_match"), "exact_match")
        status = query.get("model_status") or None
        if status is not None and status not in spec.STATUSES:
            raise _invalid("model_status", ", ".join(spec.STATUSES))
        model_type, not_type = query.get("model_type") or None, query.get("not_model_type") or None
        if model_type is not None and not_type is not None:
            raise _invalid("model_type", "model_type and not_model_type are mutually exclusive")
        for field, value in (("model_type", model_type), ("not_model_type", not_type)):
            if value is not None and value not in spec.MODEL_TYPES:
                raise _invalid(field, ", ".join(spec.MODEL_TYPES))
        version = query.get("model_version") or None
        if version is not None and not spec.VERSION_PATTERN.fullmatch(version):
            raise _invalid("model_version", "Digit.Digit.Digit")
        workspace = query.get("workspace_id") or spec.WORKSPACE_DEFAULT
        if workspace not in workspaces:
            raise ApiError(spec.WORKSPACE_NOT_FOUND)
    except ApiError as error:
        return error.response()
    name = query.get("model_name") or ""
    description = (query.get("description") or "").lower()
    with store.lock:
        now = store.now()
        matching = []
        for model in store.models.values():
            if model.workspace_id != workspace:
                continue
            if name and not (model.name == name if exact else name.lower() in model.name.lower()):
                continue
            if version is not None and model.version != version:
                continue
            if description and description not in str(model.body.get("description", "")).lower():
                continue
            kind = model.body["model_type"]
            if (model_type is not None and kind != model_type) or (not_type is not None and kind == not_type):
                continue
            if status is not None and model.timeline.status(now, store.speed) != status:
                continue
            matching.append(model)
        matching.sort(key=_model_sort(sort_by), reverse=order == "desc")
        page = matching[offset * limit : offset * limit + limit]
        items = [model_object(store, model, full=False) for model in page]
    return json_response(200, {"models": items, "total_count": len(matching), "count": len(items)})


def delete_model(
    store: ModelStore, model_id: str, pairs: Sequence[tuple[str, str]], in_use: Callable[[str], bool]
) -> Response:
    """``DELETE /v1/{project_id}/models/{model_id}[?cascade=true]``: 200 with
    ``delete_success_list`` and ``delete_failed_list``; a model a service uses stays and is listed
    as failed (ModelArts.3009). ``cascade`` takes the other versions of the same name too, at most
    20 models in all (the rest stay). An unknown id is 404 ModelArts.3001 [UNCERTAIN: the page
    shows only the 200; the table's "Model ({0}) does not exist." is used]."""
    try:
        cascade = _flag(first_values(pairs).get("cascade") or None, "cascade")
    except ApiError as error:
        return error.response()
    with store.lock:
        model = store.get(model_id)
        if model is None:
            return error_response(spec.MODEL_NOT_FOUND, model_id)
        targets = [model]
        if cascade:
            others = [
                other
                for other in store.models.values()
                if other is not model and (other.name, other.workspace_id) == (model.name, model.workspace_id)
            ]
            targets.extend(others)
        succeeded: list[str] = []
        failed: list[dict[str, str]] = []
        for target in targets[: spec.CASCADE_MAX]:
            if in_use(target.model_id):
                failed.append(
                    {
                        "model_id": target.model_id,
                        "error_code": spec.MODEL_IN_USE_CODE,
                        "error_msg": spec.MODEL_IN_USE_MESSAGE % target.model_id,
                    }
                )
                continue
            del store.models[target.model_id]
            succeeded.append(target.model_id)
    return json_response(200, {"delete_success_list": succeeded, "delete_failed_list": failed})


# The engines a ModelArts region lists (the runtime page's ai_engine enumeration); runtimes as in
# its example. [UNCERTAIN] the real list is per region; this one is illustrative.
ENGINE_RUNTIMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("TensorFlow", ("tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", "python3.6", "python3.7")),
    ("PyTorch", ("pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64", "python3.7")),
    ("MindSpore", ("mindspore_1.7.0-cann_5.1.0-py_3.7-euler_2.8.3-aarch64",)),
    ("XGBoost", ("python3.7",)),
    ("Scikit_Learn", ("python3.7",)),
    ("Spark_MLlib", ("python3.6",)),
)


def list_runtimes(pairs: Sequence[tuple[str, str]]) -> Response:
    """``GET /v1/{project_id}/models/ai-engine-runtimes`` (``offset`` is a record offset here)."""
    query = first_values(pairs)
    offset_text, limit_text = query.get("offset") or "0", query.get("limit") or str(len(ENGINE_RUNTIMES))
    if not offset_text.isdigit() or not limit_text.isdigit():
        return error_response(spec.INVALID_PARAM, "offset/limit", "integers >= 0")
    items = [
        {
            "ai_engine": engine,
            "runtimes": list(runtimes),
            "request_mode": ["sync"],
            "accelerators": [],
            "arch": ["aarch64" if "aarch64" in runtimes[0] else "x86_64"],
            "status_list": ["normal"],
        }
        for engine, runtimes in ENGINE_RUNTIMES
    ]
    page = items[int(offset_text) : int(offset_text) + int(limit_text)]
    return json_response(200, {"engine_runtimes": page, "count": len(items), "total_count": len(page)})
