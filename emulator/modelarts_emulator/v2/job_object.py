"""The job object the v2 API returns for a training job (``JobResponse``).

It follows the ``JobResponse`` of "Querying the Details About a Training Job" and of the search's
``items[]``, including its conventions: ``code_dir``/``boot_file`` are ``obs://`` URLs,
``remote.obs.obs_url`` is a ``/bucket/path/`` path, times are epoch milliseconds, except
``running_records[].start_at/end_at`` in seconds. A job created through the API echoes what its
request gave; a seeded job's descriptive fields are derived from its ``profile`` seed
(:mod:`.catalog`).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from modelarts_emulator.tables import NAME_WORDS
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.catalog import ALL_FLAVORS, BUCKET, ENGINES_V2, KNOWN_ALGORITHMS, POOLS, Flavor
from modelarts_emulator.v2.models import JobState, TrainingJob, TrainingJobStore


def _flavor_detail(flavor: Flavor) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": {"arch": flavor.cpu_arch, "core_num": flavor.cpu_cores},
        "memory": {"size": flavor.memory_gb, "unit": "GB"},
    }
    if flavor.flavor_type == "GPU":
        info["gpu"] = {
            "unit_num": flavor.accelerators,
            "product_name": flavor.accelerator_name,
            "memory": flavor.accelerator_memory,
        }
    elif flavor.flavor_type == "Ascend":
        # The SDK's Npu model types unit_num as a string, unlike Gpu's integer.
        info["npu"] = {
            "unit_num": str(flavor.accelerators),
            "product_name": flavor.accelerator_name,
            "memory": flavor.accelerator_memory,
        }
    return {
        "flavor_type": flavor.flavor_type,
        "billing": {"code": flavor.billing_code, "unit_num": 1},
        "flavor_info": info,
    }


def _status(store: TrainingJobStore, job: TrainingJob, state: JobState) -> dict[str, Any]:
    start_ms = store.start_ms(job, state)
    metrics = [[job.create_ms, 0]]
    status: dict[str, Any] = {
        "phase": state.phase,
        "secondary_phase": state.secondary_phase,
        "duration": state.duration_ms,
        "start_time": start_ms,
        "node_count_metrics": metrics,
        "tasks": job.tasks,
    }
    if start_ms:
        metrics.append([start_ms, job.node_count])
        record: dict[str, Any] = {"start_at": start_ms // 1000, "start_type": "init_or_rescheduled"}
        if state.phase in v2_spec.FINAL_PHASES:
            end_ms = start_ms + state.duration_ms
            metrics.append([end_ms, 0])
            record["end_at"] = end_ms // 1000
            record["end_reason"] = _end_reason(job, state.phase)
        status["running_records"] = [record]
    outcomes = job.task_outcomes(state.phase)
    if outcomes:
        status["task_statuses"] = [
            {"task": outcome.task, "exit_code": outcome.exit_code, "message": outcome.message} for outcome in outcomes
        ]
    return status


def _end_reason(job: TrainingJob, phase: str) -> str:
    if phase == v2_spec.COMPLETED:
        return "job completed"
    if phase == v2_spec.FAILED and job.failures:
        return f"exit with {job.failures[0].exit_code}"
    return "job " + phase.lower()


def _algorithm(job: TrainingJob, rng: random.Random) -> dict[str, Any]:
    engine = ENGINES_V2[job.engine]
    code = f"obs://{BUCKET}/{job.name}/code/"
    algorithm: dict[str, Any] = {}
    if job.algorithm_name:
        algorithm["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        algorithm["name"] = job.algorithm_name
    algorithm.update(
        {
            "code_dir": code,
            "boot_file": f"{code}train.py",
            "parameters": [
                _parameter("learning_rate", str(rng.choice((0.1, 0.01, 0.001, 0.0001))), "Float"),
                _parameter("batch_size", str(rng.choice((16, 32, 64, 128))), "Integer"),
                _parameter("epochs", str(rng.randint(5, 90)), "Integer"),
            ],
            "inputs": [
                {
                    "name": "data_url",
                    "local_dir": "/home/ma-user/modelarts/inputs/data_url_0",
                    "remote": {"obs": {"obs_url": f"/{BUCKET}/datasets/{NAME_WORDS[job.profile % len(NAME_WORDS)]}/"}},
                }
            ],
            "outputs": [
                {
                    "name": "train_url",
                    "local_dir": "/home/ma-user/modelarts/outputs/train_url_0",
                    "remote": {"obs": {"obs_url": f"/{BUCKET}/{job.name}/output/"}},
                }
            ],
            "engine": {
                "engine_id": engine.engine_id,
                "engine_name": engine.engine_name,
                "engine_version": engine.engine_version,
            },
            "local_code_dir": "/home/ma-user/modelarts/user-job-dir",
            "working_dir": "/home/ma-user/modelarts/user-job-dir/code",
        }
    )
    return algorithm


def _parameter(name: str, value: str, value_type: str) -> dict[str, Any]:
    constraint = {
        "type": value_type,
        "editable": True,
        "required": False,
        "sensitive": False,
        "valid_type": "None",
        "valid_range": [],
    }
    return {"name": name, "value": value, "description": "", "constraint": constraint}


# The fields of JobAlgorithmResponsePoliciesAutoSearch and its parts (the SDK's models): what the
# request gave under these keys is echoed, other keys are not.
_AUTO_SEARCH_KEYS = {
    "reward_attrs": ("name", "mode", "regex"),
    "search_params": ("name", "param_type", "lower_bound", "upper_bound", "discrete_points_num", "discrete_values"),
    "algo_configs": ("name", "params"),
}


def _auto_search(given: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    if isinstance(given.get("skip_search_params"), str):
        shown["skip_search_params"] = given["skip_search_params"]
    for list_name, keys in _AUTO_SEARCH_KEYS.items():
        entries = given.get(list_name)
        if not isinstance(entries, list):
            continue
        items = []
        for entry in entries:
            item = {key: entry[key] for key in keys if isinstance(entry, dict) and entry.get(key) is not None}
            if list_name == "algo_configs" and isinstance(item.get("params"), list):
                item["params"] = [
                    {key: param[key] for key in ("key", "value", "type") if param.get(key) is not None}
                    for param in item["params"]
                    if isinstance(param, dict)
                ]
            items.append(item)
        shown[list_name] = items
    return shown


def _requested_algorithm(job: TrainingJob, request: dict[str, Any]) -> dict[str, Any]:
    """The algorithm of a job created through the API: what the request gave, the engine
    resolved to its id, name and version, and local directories filled in as the service does."""
    given = request.get("algorithm") or {}
    algorithm: dict[str, Any] = {}
    if given.get("id"):
        algorithm["id"] = given["id"]
        algorithm["name"] = KNOWN_ALGORITHMS.get(given["id"], "")
    for key in ("subscription_id", "item_version_id", "code_dir", "boot_file", "command"):
        if given.get(key):
            algorithm[key] = given[key]
    if given.get("parameters"):
        algorithm["parameters"] = [
            {key: entry[key] for key in ("name", "value", "description") if key in entry}
            for entry in given["parameters"]
        ]
    for channel in ("inputs", "outputs"):
        entries = []
        for index, entry in enumerate(given.get(channel) or []):
            item: dict[str, Any] = {key: entry[key] for key in ("name", "description", "access_method") if key in entry}
            item["local_dir"] = entry.get("local_dir") or f"/home/ma-user/modelarts/{channel}/{entry['name']}_{index}"
            item["remote"] = entry["remote"]
            entries.append(item)
        if entries:
            algorithm[channel] = entries
    engine_given = given.get("engine") or {}
    if engine_given.get("image_url") and engine_given.get("engine_name"):
        # A preset framework with a custom image: both are shown.
        engine = ENGINES_V2[job.engine]
        algorithm["engine"] = {
            "engine_id": engine.engine_id,
            "engine_name": engine.engine_name,
            "engine_version": engine.engine_version,
            "image_url": engine_given["image_url"],
        }
    elif engine_given.get("image_url"):
        algorithm["engine"] = {"image_url": engine_given["image_url"]}
    else:
        engine = ENGINES_V2[job.engine]
        algorithm["engine"] = {
            "engine_id": engine.engine_id,
            "engine_name": engine.engine_name,
            "engine_version": engine.engine_version,
        }
    auto_search = (given.get("policies") or {}).get("auto_search")
    if isinstance(auto_search, dict):
        algorithm["policies"] = {"auto_search": _auto_search(auto_search)}
    algorithm["local_code_dir"] = given.get("local_code_dir") or "/home/ma-user/modelarts/user-job-dir"
    algorithm["working_dir"] = given.get("working_dir") or "/home/ma-user/modelarts/user-job-dir/code"
    if given.get("environments"):
        # A map in the request, a list of maps in the response (the SDK's JobAlgorithmResponse).
        algorithm["environments"] = [dict(given["environments"])]
    return algorithm


def job_object(store: TrainingJobStore, job: TrainingJob, state: JobState) -> dict[str, Any]:
    """The job as show and the search's ``items[]`` return it."""
    if job.request is not None:
        return _requested_job_object(store, job, state, job.request)
    rng = random.Random(job.profile)
    flavor = ALL_FLAVORS[job.flavor]
    metadata: dict[str, Any] = {
        "id": job.job_id,
        "name": job.name,
        "description": job.description,
        "create_time": job.create_ms,
        "workspace_id": job.workspace_id,
        "user_name": job.user_name,
    }
    if job.node_count > 1:
        metadata["annotations"] = {"fault-tolerance/job-retry-num": "3"}
    resource: dict[str, Any] = {
        "policy": "regular",
        "flavor_id": flavor.flavor_id,
        "flavor_name": flavor.flavor_name,
        "node_count": job.node_count,
        "flavor_detail": _flavor_detail(flavor),
    }
    if flavor.accelerators > 1 or job.node_count > 2:
        resource["pool_id"] = "pool-emulator-dedicated"
        resource["pool_name"] = "emulator-dedicated-pool"
    spec: dict[str, Any] = {"resource": resource}
    if rng.random() < 0.5:
        spec["log_export_path"] = {"obs_url": f"/{BUCKET}/{job.name}/logs/"}
    return {
        "kind": job.kind,
        "metadata": metadata,
        "status": _status(store, job, state),
        "algorithm": _algorithm(job, rng),
        "spec": spec,
    }


def _requested_job_object(
    store: TrainingJobStore, job: TrainingJob, state: JobState, request: dict[str, Any]
) -> dict[str, Any]:
    """The job object of a job created through the API: the request's fields, plus status."""
    flavor = ALL_FLAVORS[job.flavor]
    given_metadata = request.get("metadata") or {}
    metadata: dict[str, Any] = {
        "id": job.job_id,
        "name": job.name,
        "description": job.description,
        "create_time": job.create_ms,
        "workspace_id": job.workspace_id,
        "user_name": job.user_name,
    }
    annotations = {
        key: value
        for key, value in (given_metadata.get("annotations") or {}).items()
        if store.keep_unknown_annotations or key in v2_spec.DOCUMENTED_ANNOTATIONS
    }
    if annotations:
        metadata["annotations"] = annotations
    given_resource = (request.get("spec") or {}).get("resource") or {}
    resource: dict[str, Any] = {
        "policy": "regular",
        "flavor_id": flavor.flavor_id,
        "flavor_name": flavor.flavor_name,
        "node_count": job.node_count,
        "flavor_detail": _flavor_detail(flavor),
    }
    if given_resource.get("pool_id"):
        resource["pool_id"] = given_resource["pool_id"]
        resource["pool_name"] = POOLS.get(given_resource["pool_id"], "")
    if given_resource.get("pool_group_id"):
        resource["pool_group_id"] = given_resource["pool_group_id"]
    spec: dict[str, Any] = {"resource": resource}
    log_export = (request.get("spec") or {}).get("log_export_path")
    if isinstance(log_export, dict) and log_export.get("obs_url"):
        spec["log_export_path"] = {"obs_url": log_export["obs_url"]}
    return {
        "kind": job.kind,
        "metadata": metadata,
        "status": _status(store, job, state),
        "algorithm": _requested_algorithm(job, request),
        "spec": spec,
    }
