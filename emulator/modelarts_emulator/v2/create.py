"""Creating a v2 training job: ``POST /v2/{project_id}/training-jobs`` answers **201** with the
job object ("Creating a Training Job", CreateTrainingJob; see :mod:`.spec` for the pages).

Validation of the create body, in this order (the first failure answers; codes and messages
are the error-code table's, modelarts_03_0095):

1. not a JSON object: 400 ModelArts.2787;
2. ``kind`` (default ``job``) not one of the SDK's kinds; ``metadata`` missing; ``metadata.name``
   not 1-64 of ``[A-Za-z0-9_-]``; ``description`` not a string of at most 256 characters;
   ``annotations`` not a map of strings: 400 ModelArts.2788 "Invalid parameter(<field>)."
   naming the field; an unknown ``workspace_id``: 400 ModelArts.0102;
3. ``algorithm`` missing, or more than one of the named ways to give it (``id`` |
   ``subscription_id`` + ``item_version_id`` | ``code_dir`` + ``boot_file``), or half of one, or
   none of them and no custom image (``engine.image_url``): 2788 (``algorithm``). A custom image
   with its ``command`` is a way of its own ("use a custom image to create a training job",
   example 2 of the create page: ``{"engine": {"image_url": ...}, "command": ...}`` with no id,
   no code_dir and no boot_file); it may add a ``code_dir`` without ``boot_file``. An ``id`` the
   emulator does not know: 400 ModelArts.2755; a ``code_dir`` or ``boot_file`` that is not
   ``obs://...`` or ``/bucket/...``: 400 ModelArts.2791;
4. ``engine``: ``engine_id`` together with ``engine_name``/``engine_version`` or ``image_url``,
   or half of ``engine_name`` + ``engine_version``: 2788 (``algorithm.engine``). A preset
   framework with a custom image (``engine_name`` + ``engine_version`` + ``image_url``) is valid
   (JobEngine.engine_name: "If you use a preset framework and custom image ... you must set both
   this parameter and image_url"). An unknown engine: 400 ModelArts.2780; ``image_url`` without
   ``algorithm.command`` (and without a preset framework): 400 ModelArts.2806 MustHaveCmdAndImage;
5. ``inputs``/``outputs``/``parameters`` entries without a string ``name``: 2788 naming the
   list. An input's ``remote`` is ``obs.obs_url`` or ``dataset`` with both ``id`` and
   ``version_id`` (Table 28: both Mandatory); an output's ``remote`` must have ``obs.obs_url``
   and nothing else (Tables 31-32: ``Remote`` has only ``obs``, Mandatory): 2788 naming the list;
   ``environments`` not a map of at most 100 string pairs whose names match
   ``^[A-Za-z_][A-Za-z0-9_]*$`` (Table 4: "letters, digits, and underscores, and must start
   with a letter or underscore"), key <= 8192 and value <= 4096 characters: 2788
   (``algorithm.environments``); ``policies.auto_search`` (Tables 8-13) not an object, or a
   ``reward_attrs`` entry without ``name`` or with a ``mode`` other than max|min, or a
   ``search_params`` entry without ``name`` or with a ``param_type`` other than
   continuous|discrete: 2788 (``algorithm.policies.auto_search``);
6. ``spec.resource`` missing, or none of ``flavor_id``, ``pool_id`` and (only for ``kind``
   ``federated_pool_job``, where the SDK's SpecResource makes it mandatory) ``pool_group_id``:
   2788 (``spec.resource.flavor_id``); a ``federated_pool_job`` without ``pool_group_id``: 2788
   (``spec.resource.pool_group_id``); an unknown flavor: 400 ModelArts.2781; an unknown pool:
   404 ModelArts.2890; ``node_count`` not an integer >= 1: 2788 (``spec.resource.node_count``);
   above :data:`.spec.NODE_COUNT_MAX`: 400 ModelArts.2793;
7. a job of the same name already in the workspace: 400 ModelArts.2751.

What the created job then does comes from :mod:`.plans`.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from modelarts_emulator.responses import Response, json_response, v2_error
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.catalog import (
    ALL_FLAVORS,
    ENGINES_V2,
    FLAVOR_CPU,
    KNOWN_ALGORITHMS,
    POOL_FLAVORS,
    POOLS,
    USERS,
    JobPlan,
    new_training_job,
)
from modelarts_emulator.v2.job_object import job_object
from modelarts_emulator.v2.models import TrainingJobStore
from modelarts_emulator.v2.plans import DEFAULT_TIMELINE, CreatePlans


class CreateError(ValueError):
    def __init__(self, error: v2_spec.ErrorCode, *args: str) -> None:
        super().__init__(error.code)
        self.error = error
        self.args_for_message = args

    def response(self) -> Response:
        return v2_error(self.error, *self.args_for_message)


def _invalid(field: str) -> CreateError:
    return CreateError(v2_spec.INVALID_PARAM, field)


def _string(container: dict[str, Any], key: str, field: str, required: bool = False) -> str | None:
    value = container.get(key)
    if value is None:
        if required:
            raise _invalid(field)
        return None
    if not isinstance(value, str) or (required and not value):
        raise _invalid(field)
    return value


def _object(container: dict[str, Any], key: str, field: str, required: bool = False) -> dict[str, Any] | None:
    value = container.get(key)
    if value is None:
        if required:
            raise _invalid(field)
        return None
    if not isinstance(value, dict):
        raise _invalid(field)
    return value


def _obs_path(value: str, field: str) -> None:
    if not (value.startswith("obs://") or value.startswith("/")) or len(value) < 3:
        raise CreateError(v2_spec.INVALID_OBS_PATH, value, f"{field} must start with obs:// or /")


def _given(container: dict[str, Any], key: str) -> bool:
    return container.get(key) not in (None, "")


def _check_algorithm(algorithm: dict[str, Any]) -> None:
    engine = _object(algorithm, "engine", "algorithm.engine") or {}
    custom_image = _given(engine, "image_url")
    has_code_dir, has_boot_file = _given(algorithm, "code_dir"), _given(algorithm, "boot_file")
    named = []
    if _given(algorithm, "id"):
        named.append("id")
    if _given(algorithm, "subscription_id") or _given(algorithm, "item_version_id"):
        named.append("subscription")
    # A custom image may bring its code directory without a boot file (its command starts it).
    if has_boot_file or (has_code_dir and not custom_image):
        named.append("code")
    if len(named) > 1 or (not named and not custom_image):
        raise _invalid("algorithm")
    way = named[0] if named else "image"
    keys = {"id": ("id",), "subscription": ("subscription_id", "item_version_id"), "code": ("code_dir", "boot_file")}
    for key in keys.get(way, ()):
        _string(algorithm, key, f"algorithm.{key}", required=True)
    if way == "id" and algorithm["id"] not in KNOWN_ALGORITHMS:
        raise CreateError(v2_spec.ALGORITHM_NOT_FOUND)
    if way == "code":
        _obs_path(algorithm["code_dir"], "code_dir")
        _obs_path(algorithm["boot_file"], "boot_file")
    elif has_code_dir:
        _string(algorithm, "code_dir", "algorithm.code_dir", required=True)
        _obs_path(algorithm["code_dir"], "code_dir")
    _string(algorithm, "command", "algorithm.command")
    _check_engine(algorithm, engine, custom_image)
    _check_channels(algorithm)
    _check_environments(algorithm.get("environments"))
    policies = _object(algorithm, "policies", "algorithm.policies")
    if policies is not None:
        _check_auto_search(policies.get("auto_search"))


def _check_engine(algorithm: dict[str, Any], engine: dict[str, Any], custom_image: bool) -> None:
    by_id = _given(engine, "engine_id")
    by_name = _given(engine, "engine_name") or _given(engine, "engine_version")
    # engine_id names the whole engine; only a preset framework may come with a custom image.
    if by_id and (by_name or custom_image):
        raise _invalid("algorithm.engine")
    if by_id and _engine_index(engine) is None:
        raise CreateError(v2_spec.ENGINE_NOT_FOUND, str(engine["engine_id"]))
    if by_name:
        name = _string(engine, "engine_name", "algorithm.engine.engine_name", required=True)
        _string(engine, "engine_version", "algorithm.engine.engine_version", required=True)
        if _engine_index(engine) is None:
            raise CreateError(v2_spec.ENGINE_NOT_FOUND, str(name))
    if custom_image:
        _string(engine, "image_url", "algorithm.engine.image_url", required=True)
        # 2806 is for custom-image jobs, which the image's command starts (a boot file does not
        # start a custom image). [UNCERTAIN] A preset framework with a custom image (engine_name +
        # engine_version + image_url, JobEngine) starts its boot file through the framework; the
        # docs do not say it needs a command too.
        if not by_name and not _given(algorithm, "command"):
            raise CreateError(v2_spec.CUSTOM_IMAGE_NEEDS_COMMAND)


def _check_channels(algorithm: dict[str, Any]) -> None:
    for list_name in ("inputs", "outputs", "parameters"):
        entries = algorithm.get(list_name)
        if entries is None:
            continue
        field = f"algorithm.{list_name}"
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise _invalid(field)
        for entry in entries:
            _string(entry, "name", field, required=True)
            if list_name == "parameters":
                if not isinstance(entry.get("value", ""), str):
                    raise _invalid(field)
                continue
            remote = _object(entry, "remote", field, required=True) or {}
            obs = remote.get("obs")
            if list_name == "outputs":
                # Output.remote is Remote {obs: RemoteObs {obs_url}}: obs mandatory, no dataset.
                if set(remote) - {"obs"} or not (isinstance(obs, dict) and _nonempty_str(obs.get("obs_url"))):
                    raise _invalid(field)
                _obs_path(obs["obs_url"], "outputs.remote.obs.obs_url")
                continue
            dataset = remote.get("dataset")
            if isinstance(obs, dict) and _nonempty_str(obs.get("obs_url")):
                _obs_path(obs["obs_url"], "inputs.remote.obs.obs_url")
            elif not (
                isinstance(dataset, dict)
                and _nonempty_str(dataset.get("id"))
                and _nonempty_str(dataset.get("version_id"))
            ):
                raise _invalid(field)


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _check_environments(environments: Any) -> None:
    if environments is None:
        return
    field = "algorithm.environments"
    if not isinstance(environments, dict) or len(environments) > v2_spec.ENVIRONMENTS_MAX:
        raise _invalid(field)
    for key, value in environments.items():
        if not isinstance(value, str) or len(key) > v2_spec.ENVIRONMENT_KEY_MAX:
            raise _invalid(field)
        if len(value) > v2_spec.ENVIRONMENT_VALUE_MAX or not re.fullmatch(v2_spec.ENVIRONMENT_NAME_PATTERN, key):
            raise _invalid(field)


def _check_auto_search(auto_search: Any) -> None:
    """``policies.auto_search`` (Tables 8-13; the docs' example sends ``null``)."""
    if auto_search is None:
        return
    field = "algorithm.policies.auto_search"
    if not isinstance(auto_search, dict):
        raise _invalid(field)
    for list_name, key, allowed in (
        ("reward_attrs", "mode", v2_spec.REWARD_MODES),
        ("search_params", "param_type", v2_spec.SEARCH_PARAM_TYPES),
    ):
        entries = auto_search.get(list_name)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise _invalid(field)
        for entry in entries:
            if not isinstance(entry, dict) or not _nonempty_str(entry.get("name")):
                raise _invalid(field)
            if entry.get(key) is not None and entry.get(key) not in allowed:
                raise _invalid(field)


def _engine_index(engine: dict[str, Any]) -> int | None:
    for index, known in enumerate(ENGINES_V2):
        if engine.get("engine_id") == known.engine_id:
            return index
        if (engine.get("engine_name"), engine.get("engine_version")) == (known.engine_name, known.engine_version):
            return index
    return None


@dataclass(frozen=True)
class CreateRequest:
    body: dict[str, Any]
    name: str
    kind: str
    workspace_id: str
    description: str
    flavor: int
    engine: int
    node_count: int
    auto_search: dict[str, Any] | None = None


def parse_create(raw_body: bytes, workspaces: set[str]) -> CreateRequest:
    """Validate a create body as the module docstring lists; raises :class:`CreateError`."""
    try:
        body = json.loads(raw_body.decode("utf-8")) if raw_body.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise CreateError(v2_spec.INVALID_JSON_BODY) from None
    if not isinstance(body, dict):
        raise CreateError(v2_spec.INVALID_JSON_BODY)
    kind = body.get("kind") or "job"
    if kind not in v2_spec.KINDS:
        raise _invalid("kind")
    metadata = _object(body, "metadata", "metadata", required=True) or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not re.fullmatch(v2_spec.NAME_PATTERN, name):
        raise _invalid("metadata.name")
    description = _string(metadata, "description", "metadata.description") or ""
    if len(description) > v2_spec.DESCRIPTION_MAX:
        raise _invalid("metadata.description")
    annotations = _object(metadata, "annotations", "metadata.annotations")
    if annotations is not None and not all(isinstance(value, str) for value in annotations.values()):
        raise _invalid("metadata.annotations")
    workspace_id = _string(metadata, "workspace_id", "metadata.workspace_id") or v2_spec.WORKSPACE_DEFAULT
    if workspace_id not in workspaces:
        raise CreateError(v2_spec.WORKSPACE_NOT_FOUND)
    algorithm = _object(body, "algorithm", "algorithm", required=True) or {}
    _check_algorithm(algorithm)
    spec = _object(body, "spec", "spec", required=True) or {}
    resource = _object(spec, "resource", "spec.resource", required=True) or {}
    flavor_id = _string(resource, "flavor_id", "spec.resource.flavor_id")
    pool_id = _string(resource, "pool_id", "spec.resource.pool_id")
    pool_group_id = _string(resource, "pool_group_id", "spec.resource.pool_group_id")
    if kind == v2_spec.KIND_FEDERATED_POOL_JOB and not pool_group_id:
        raise _invalid("spec.resource.pool_group_id")
    if not flavor_id and not pool_id and not (pool_group_id and kind == v2_spec.KIND_FEDERATED_POOL_JOB):
        raise _invalid("spec.resource.flavor_id")
    flavors = [flavor.flavor_id for flavor in ALL_FLAVORS]
    pool_flavors = {flavor.flavor_id for flavor in POOL_FLAVORS}
    if flavor_id and (flavor_id not in flavors or (flavor_id in pool_flavors and not pool_id)):
        raise CreateError(v2_spec.FLAVOR_NOT_FOUND, flavor_id)
    if pool_id and pool_id not in POOLS:
        raise CreateError(v2_spec.POOL_NOT_FOUND, pool_id)
    node_count = resource.get("node_count", 1)
    if isinstance(node_count, bool) or not isinstance(node_count, int) or node_count < 1:
        raise _invalid("spec.resource.node_count")
    if node_count > v2_spec.NODE_COUNT_MAX:
        raise CreateError(v2_spec.FLAVOR_OUT_OF_RANGE, str(node_count), str(v2_spec.NODE_COUNT_MAX))
    engine = _engine_index(algorithm.get("engine") or {})
    auto_search = (algorithm.get("policies") or {}).get("auto_search")
    return CreateRequest(
        body=body,
        name=name,
        kind=kind,
        workspace_id=workspace_id,
        description=description,
        flavor=flavors.index(flavor_id) if flavor_id else FLAVOR_CPU,
        engine=0 if engine is None else engine,
        node_count=node_count,
        auto_search=auto_search if isinstance(auto_search, dict) else None,
    )


def create_training_job(store: TrainingJobStore, plans: CreatePlans, raw_body: bytes, profile: int) -> Response:
    """``POST /v2/{project_id}/training-jobs``: 201 and the job object."""
    with store.lock:
        try:
            request = parse_create(raw_body, store.workspaces)
            taken = (request.name, request.workspace_id)
            if any((job.name, job.workspace_id) == taken for job in store.jobs.values()):
                raise CreateError(v2_spec.DUPLICATE_JOB_NAME, request.name)
        except CreateError as error:
            return error.response()
        plan = plans.match(request.name)
        timeline = plan.timeline if plan is not None else DEFAULT_TIMELINE
        failures = plan.failures(request.node_count) if plan is not None else ()
        job = new_training_job(
            store,
            str(uuid.uuid4()),
            request.name,
            JobPlan(timeline, 0.0, request.flavor, request.engine, request.node_count, failures),
            profile=profile,
            description=request.description,
            workspace_id=request.workspace_id,
            user=USERS[0],
            now=store.now(),
            kind=request.kind,
        )
        job.request = request.body
        job.log_scripts = plan.logs if plan is not None else None
        job.task_names = plan.task_names(request.node_count) if plan is not None else ()
        payload = job_object(store, job, job.state(store.now(), store.speed))
    return json_response(201, payload)
