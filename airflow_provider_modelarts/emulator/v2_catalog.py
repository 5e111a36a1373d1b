"""Seeded v2 training jobs and the job object the v2 API returns for them.

The well-known demo jobs have fixed UUIDs (:data:`DEMO_TRAINING_JOBS`), so that demos, tests and a
user's own DAGs can name them; the generated ones draw everything from the emulator's seed, so the
same seed gives the same project. Descriptive fields (OBS paths, parameters) are derived from a
job's ``profile`` seed on demand, as for v1.

The job object follows the ``JobResponse`` of "Querying the Details About a Training Job" and of
the search's ``items[]``, including its conventions: ``code_dir``/``boot_file`` are ``obs://``
URLs, ``remote.obs.obs_url`` is a ``/bucket/path/`` path, times are epoch milliseconds, except
``running_records[].start_at/end_at`` in seconds.
"""

from __future__ import annotations

import gc
import itertools
import random
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from airflow_provider_modelarts.emulator import v2_spec
from airflow_provider_modelarts.emulator.config import DEFAULT_IAM_USER_NAME, DEFAULT_USER_NAME
from airflow_provider_modelarts.emulator.tables import DESCRIPTIONS, NAME_WORDS
from airflow_provider_modelarts.emulator.v2_jobs import (
    JobState,
    PhaseTimeline,
    TaskOutcome,
    TrainingJob,
    TrainingJobStore,
)

HOUR = 3600.0
DAY = 86400.0
BUCKET = "modelarts-emulator"
# A second workspace: v2 workspace ids are "0" or 32 characters.
RESEARCH_WORKSPACE_ID_V2 = "5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b"
# (user_name, user_id) of the jobs' creators: the account itself and one of its IAM users.
USERS = (
    (DEFAULT_USER_NAME, "0c1d2e3f40516273849a5b6c7d8e9fa0"),
    (DEFAULT_IAM_USER_NAME, "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
)

C, P, R, TG, CO, F, T, A = (
    v2_spec.CREATING,
    v2_spec.PENDING,
    v2_spec.RUNNING,
    v2_spec.TERMINATING,
    v2_spec.COMPLETED,
    v2_spec.FAILED,
    v2_spec.TERMINATED,
    v2_spec.ABNORMAL,
)


class Flavor(NamedTuple):
    flavor_id: str
    flavor_name: str
    flavor_type: str  # CPU, GPU or Ascend
    billing_code: str
    cpu_arch: str
    cpu_cores: int
    memory_gb: int
    accelerators: int
    accelerator_name: str
    accelerator_memory: str


class EngineV2(NamedTuple):
    engine_id: str
    engine_name: str
    engine_version: str


FLAVORS: tuple[Flavor, ...] = (
    Flavor("modelarts.vm.cpu.8u", "Computing CPU(8U) instance", "CPU", "modelarts.vm.cpu.8u", "x86", 8, 32, 0, "", ""),
    Flavor(
        "modelarts.vm.pnt1.large.eco", "Computing GPU(Pnt1) instance", "GPU", "modelarts.vm.gpu.pnt1.eco",
        "x86", 8, 64, 1, "GP-Pnt1", "32GB",
    ),
    Flavor(
        "modelarts.p3.large.public", "GPU: 1*NVIDIA-V100(32GB) | CPU: 8 vCPUs 64GB", "GPU",
        "modelarts.vm.gpu.v100", "x86", 8, 64, 1, "NVIDIA-V100", "32GB",
    ),
    Flavor(
        "modelarts.p3.8xlarge.public", "GPU: 8*NVIDIA-V100(32GB) | CPU: 64 vCPUs 512GB", "GPU",
        "modelarts.vm.gpu.v100.8", "x86", 64, 512, 8, "NVIDIA-V100", "32GB",
    ),
    Flavor(
        "modelarts.kat1.xlarge", "Ascend: 1*Ascend 910(32GB) | ARM: 24 vCPUs 96GB", "Ascend",
        "modelarts.vm.ascend.kat1", "arm", 24, 96, 1, "Ascend-910", "32GB",
    ),
)  # fmt: skip
FLAVOR_CPU, FLAVOR_PNT1, FLAVOR_V100, FLAVOR_V100_8, FLAVOR_ASCEND = range(len(FLAVORS))
# Flavors of dedicated GPU pools, accepted with a spec.resource.pool_id only: "GPU pools take
# modelarts.pool.visual.{x,2x,4x,8x}large" (Table 44); the create page's example 2 uses
# modelarts.pool.visual.xlarge. Kept apart from FLAVORS so the seeded project does not change.
POOL_FLAVORS: tuple[Flavor, ...] = tuple(
    Flavor(
        f"modelarts.pool.visual.{size}large", f"Dedicated pool GPU: {cards}*GP-Vnt1(32GB)", "GPU",
        f"modelarts.pool.visual.{size}large", "x86", 8 * cards, 64 * cards, cards, "GP-Vnt1", "32GB",
    )
    for size, cards in (("x", 1), ("2x", 2), ("4x", 4), ("8x", 8))
)  # fmt: skip
# The create page's example 1 runs on "modelarts.p3.large.public.free" (the free tier of the
# V100 flavor); kept apart from FLAVORS, as the pool flavors are, so the seeded project stays as it is.
DOCS_FLAVORS: tuple[Flavor, ...] = (
    Flavor(
        "modelarts.p3.large.public.free", "GPU: 1*NVIDIA-V100(32GB) | CPU: 8 vCPUs 64GB (free)", "GPU",
        "modelarts.vm.gpu.v100", "x86", 8, 64, 1, "NVIDIA-V100", "32GB",
    ),
)  # fmt: skip
# Every flavor a job may have; TrainingJob.flavor indexes this (FLAVORS first, same indexes).
ALL_FLAVORS: tuple[Flavor, ...] = FLAVORS + POOL_FLAVORS + DOCS_FLAVORS

ENGINES_V2: tuple[EngineV2, ...] = (
    EngineV2(
        "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64", "PyTorch",
        "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
    ),
    EngineV2(
        "tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", "TensorFlow",
        "tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64",
    ),
    EngineV2(
        "mindspore_1.7.0-cann_5.1.0-py_3.7-euler_2.8.3-aarch64", "Ascend-Powered-Engine",
        "mindspore_1.7.0-cann_5.1.0-py_3.7-euler_2.8.3-aarch64",
    ),
    EngineV2("pytorch-cp36-1.4.0-v2", "PyTorch", "PyTorch-1.4.0-python3.6-v2"),
)  # fmt: skip
ENGINE_PYTORCH, ENGINE_TENSORFLOW, ENGINE_MINDSPORE, ENGINE_PYTORCH_14 = range(len(ENGINES_V2))

# Algorithms of the emulated algorithm management that a create may name by ``algorithm.id``.
DEMO_ALGORITHM_ID = "2e5f8b1c-4d7a-4c3e-9b1f-6a8d0c2e4f60"
# The create page's example 1 names its algorithm by this id.
DOCS_EXAMPLE_ALGORITHM_ID = "3f5d6706-7b67-408d-8ba0-ec08048c45ed"
KNOWN_ALGORITHMS: dict[str, str] = {
    DEMO_ALGORITHM_ID: "resnet50-pytorch",
    DOCS_EXAMPLE_ALGORITHM_ID: "TestModelArtsJob",
}
# Dedicated pools a create may name by ``spec.resource.pool_id``: id -> name.
DEDICATED_POOL_ID = "pool-emulator-dedicated"
# "poolfaf38d76" is the pool of the create page's example 2 (a custom image on a dedicated pool).
DOCS_EXAMPLE_POOL_ID = "poolfaf38d76"
POOLS: dict[str, str] = {DEDICATED_POOL_ID: "emulator-dedicated-pool", DOCS_EXAMPLE_POOL_ID: "pool-docs-example"}


@dataclass(frozen=True)
class JobPlan:
    """How to seed one job: its timeline, how far into it the job already is, and its shape."""

    timeline: PhaseTimeline
    offset: float = 0.0
    flavor: int = FLAVOR_V100
    engine: int = ENGINE_PYTORCH
    node_count: int = 1
    failures: tuple[TaskOutcome, ...] = ()
    algorithm_name: str = ""


def _steps(*steps: tuple[str, float | None] | tuple[str, float | None, str]) -> PhaseTimeline:
    return tuple((step[0], step[1], step[2] if len(step) == 3 else None) for step in steps)


def _history(final: str, run: float, queue: float = 30.0) -> PhaseTimeline:
    """A job that ended long ago: created, queued, ran, then ``final`` for good."""
    return _steps((C, 8.0), (P, queue), (R, run), (final, None))


def _failure(task: str, exit_code: int, message: str) -> tuple[TaskOutcome, ...]:
    return (TaskOutcome(task, exit_code, message),)


OOM_MESSAGE = "Container worker-0 was killed: out of memory (OOMKilled)"

# The well-known demo jobs: (id, name, description, plan). Timelines are emulated seconds from
# the emulator's start unless the plan has an offset.
DEMO_JOB_PLANS: tuple[tuple[str, str, str, JobPlan], ...] = (
    (
        "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b01",
        "demo-v2-resnet50-train",
        "ResNet-50 on an ImageNet subset: Completed after about 60 emulated seconds",
        JobPlan(_steps((C, 5.0), (P, 10.0), (R, 45.0), (CO, None)), flavor=FLAVOR_V100),
    ),
    (
        "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b02",
        "demo-v2-bert-finetune-oom",
        "BERT fine-tune on two nodes: Failed after about 40 emulated seconds, worker-0 exit code 137",
        JobPlan(
            _steps((C, 5.0), (P, 5.0), (R, 30.0), (F, None)),
            flavor=FLAVOR_PNT1,
            node_count=2,
            failures=_failure("worker-0", 137, OOM_MESSAGE),
        ),
    ),
    (
        "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b03",
        "demo-v2-create-failed",
        "Cannot be created: Abnormal (secondary phase CreateFailed) after about 8 emulated seconds",
        JobPlan(_steps((C, 8.0), (A, None, "CreateFailed")), flavor=FLAVOR_ASCEND, engine=ENGINE_MINDSPORE),
    ),
    (
        "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b04",
        "demo-v2-stopped-by-user",
        "Running job a user stops: Terminated after about 25 emulated seconds",
        JobPlan(_steps((R, 20.0), (TG, 5.0), (T, None)), flavor=FLAVOR_V100_8, node_count=4),
    ),
    (
        "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b05",
        "demo-v2-long-running",
        "Runs for 12 emulated hours (already 10 minutes in), then Completed",
        JobPlan(_steps((C, 5.0), (R, 12 * HOUR), (CO, None)), offset=600.0, flavor=FLAVOR_V100_8, node_count=2),
    ),
    (
        "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b06",
        "demo-v2-queued",
        "Waits in the queue for 90 emulated seconds, runs for 60, then Completed",
        JobPlan(_steps((C, 5.0), (P, 90.0), (R, 60.0), (CO, None)), flavor=FLAVOR_CPU, engine=ENGINE_TENSORFLOW),
    ),
    (
        "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b07",
        "demo-v2-finished-yesterday",
        "Completed a day ago",
        JobPlan(_history(CO, 2 * HOUR), offset=DAY, algorithm_name="resnet50-pytorch"),
    ),
)
# name -> id of the demo jobs.
DEMO_TRAINING_JOBS: dict[str, str] = {name: job_id for job_id, name, _, _ in DEMO_JOB_PLANS}


def new_training_job(
    store: TrainingJobStore,
    job_id: str,
    name: str,
    plan: JobPlan,
    *,
    profile: int,
    description: str = "",
    workspace_id: str = v2_spec.WORKSPACE_DEFAULT,
    user: tuple[str, str] = USERS[0],
    now: float | None = None,
    kind: str = "job",
    runtime_type: str = "",
) -> TrainingJob:
    """Build a job that is ``plan.offset`` emulated seconds into its timeline at ``now`` and add it."""
    moment = store.anchor if now is None else now
    # History is kept as real seconds before now; scheduling took a moment before the first step.
    create_ms = store.wall_ms(moment) - int(plan.offset * 1000) - 200 - profile % 800
    job = TrainingJob(
        job_id=job_id.lower(),
        name=name,
        description=description,
        workspace_id=workspace_id,
        timeline=plan.timeline,
        offset=plan.offset,
        anchor=moment,
        create_ms=create_ms,
        profile=profile,
        node_count=plan.node_count,
        flavor=plan.flavor,
        engine=plan.engine,
        algorithm_name=plan.algorithm_name,
        kind=kind,
        user_name=user[0],
        user_id=user[1],
        runtime_type=runtime_type,
        failures=plan.failures,
    )
    store.add(job)
    return job


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def populate_training_jobs(store: TrainingJobStore, job_count: int, seed: int) -> None:
    """Fill the store: the demo jobs first (as many as ``job_count`` allows), then generated ones."""
    was_enabled = gc.isenabled()
    gc.disable()  # as for v1: many long-lived small objects, collections would only cost time
    try:
        for index, (job_id, name, description, plan) in enumerate(DEMO_JOB_PLANS[:job_count]):
            new_training_job(store, job_id, name, plan, profile=seed * 1000 + index, description=description)
        rng = random.Random(f"v2-{seed}")
        for number in range(len(DEMO_JOB_PLANS) + 1, job_count + 1):
            _generate(store, number, rng)
    finally:
        if was_enabled:
            gc.enable()


_KINDS = ("completed", "failed", "terminated", "abnormal", "running", "pending", "creating")
_KIND_CUM_WEIGHTS = tuple(itertools.accumulate((55, 10, 5, 3, 17, 6, 4)))
_FAILURES = (
    (1, "Traceback (most recent call last): ... RuntimeError: CUDA error: device-side assert triggered"),
    (137, "Container was killed: out of memory (OOMKilled)"),
    (2, "python: can't open file 'train.py': [Errno 2] No such file or directory"),
    (139, "Segmentation fault (core dumped)"),
)


def _generate(store: TrainingJobStore, number: int, rng: random.Random) -> None:
    job_id = seeded_uuid(rng)
    name = f"train-v2-{number:05d}-{NAME_WORDS[rng.randrange(len(NAME_WORDS))]}"
    description = DESCRIPTIONS[rng.randrange(len(DESCRIPTIONS))]
    workspace = RESEARCH_WORKSPACE_ID_V2 if rng.random() < 0.1 else v2_spec.WORKSPACE_DEFAULT
    user = USERS[1] if rng.random() < 0.2 else USERS[0]
    flavor = rng.randrange(len(FLAVORS))
    engine = ENGINE_MINDSPORE if flavor == FLAVOR_ASCEND else rng.choice((ENGINE_PYTORCH, ENGINE_TENSORFLOW))
    nodes = rng.choice((1, 1, 1, 2, 4)) if FLAVORS[flavor].accelerators else 1
    algorithm = f"{NAME_WORDS[rng.randrange(len(NAME_WORDS))]}-algo" if rng.random() < 0.3 else ""
    kind = rng.choices(_KINDS, cum_weights=_KIND_CUM_WEIGHTS)[0]
    run = rng.uniform(300, 3 * HOUR)
    age = rng.uniform(1.0, 90.0) * DAY
    failures: tuple[TaskOutcome, ...] = ()
    if kind == "running":
        final = CO if rng.random() < 0.8 else F
        timeline = _steps((C, 10.0), (P, 40.0), (R, run), (final, None))
        offset = 50.0 + run * rng.uniform(0.05, 0.95)
    elif kind == "pending":
        wait = rng.uniform(60, 1800)
        timeline = _steps((P, wait), (R, run), (CO, None))
        offset = wait * rng.uniform(0.0, 0.9)
    elif kind == "creating":
        timeline = _steps((C, rng.uniform(20, 120)), (P, 30.0), (R, run), (CO, None))
        offset = rng.uniform(0, 10)
    elif kind == "abnormal":
        timeline, offset = _steps((C, 60.0), (A, None, "CreateFailed")), age
    elif kind == "terminated":
        timeline, offset = _steps((C, 8.0), (P, 20.0), (R, run), (TG, 6.0), (T, None)), age
    else:
        timeline, offset = _history(CO if kind == "completed" else F, run), max(age, run + 100)
    if timeline[-1][0] == F:
        exit_code, message = _FAILURES[rng.randrange(len(_FAILURES))]
        failures = _failure(f"worker-{rng.randrange(nodes)}", exit_code, message)
    plan = JobPlan(timeline, offset, flavor, engine, nodes, failures, algorithm)
    profile = rng.getrandbits(40)
    new_training_job(
        store, job_id, name, plan, profile=profile, description=description, workspace_id=workspace, user=user
    )


# ---------------------------------------------------------------------------------------------
# The job object (JobResponse)
# ---------------------------------------------------------------------------------------------


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
