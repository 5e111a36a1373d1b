"""Seeded v2 training jobs: flavors, engines, algorithms and pools, the demo jobs and the generated ones.

The well-known demo jobs have fixed UUIDs (:data:`DEMO_TRAINING_JOBS`), so that demos, tests and a
user's own DAGs can name them; the generated ones draw everything from the emulator's seed, so the
same seed gives the same project. Descriptive fields (OBS paths, parameters) are derived from a
job's ``profile`` seed on demand (:mod:`.job_object`), as for v1.
"""

from __future__ import annotations

import gc
import itertools
import random
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from modelarts_emulator.config import DEFAULT_IAM_USER_NAME, DEFAULT_USER_NAME
from modelarts_emulator.tables import DESCRIPTIONS, NAME_WORDS
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.models import (
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
