"""Seeded content of the emulated project: fixture jobs, generated jobs and version fields.

Only what list queries need (names, timelines, engine, flavor) is built at start-up, so that even
10,000 jobs start in a fraction of a second; the descriptive fields of a version (parameters,
metrics, OBS paths) are derived on demand from its ``profile`` seed, so they are stable across
calls and runs without being stored.
"""

from __future__ import annotations

import gc
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelarts_emulator.config import DEFAULT_WORKSPACE_ID, RESEARCH_WORKSPACE_ID
from modelarts_emulator.tables import (
    DESCRIPTIONS,
    ENGINE_MINDSPORE,
    ENGINE_PYTORCH,
    ENGINE_TENSORFLOW,
    ENGINES,
    NAME_WORDS,
    SPEC_CPU_8U,
    SPEC_GPU_P100,
    SPEC_GPU_V100,
    SPEC_GPU_V100_8,
    SPECS,
)
from modelarts_emulator.v1.models import Job, JobStore, Timeline, Version, step_starts
from modelarts_emulator.v1.spec import Status

S = Status
HOUR = 3600.0
DAY = 86400.0
BUCKET = "modelarts-emulator"


@dataclass(frozen=True)
class VersionPlan:
    """How to build one version: its timeline and how far into it the version already is.

    ``offset`` is in seconds: the version started that long before the store's anchor.
    """

    timeline: Timeline
    offset: float = 0.0
    engine: int = ENGINE_PYTORCH
    spec: int = SPEC_GPU_V100


def new_version(store: JobStore, job: Job, plan: VersionPlan, profile: int, now: float) -> Version:
    """Append a version to ``job`` (ids come from the store, so they are globally unique)."""
    previous = job.versions[-1].version_id if job.versions else 0
    start_ms = store.wall_ms(now) - round(plan.offset * 1000)
    version = Version(
        version_id=store.allocate_version_id(),
        version_name=f"V{len(job.versions) + 1:04d}",
        pre_version_id=previous,
        timeline=plan.timeline,
        starts=step_starts(plan.timeline),
        offset=plan.offset,
        anchor=now,
        # Creation precedes the start by the time it took to schedule the version.
        create_ms=start_ms - 300 - profile % 1700,
        start_ms=start_ms,
        engine=plan.engine,
        spec=plan.spec,
        profile=profile,
    )
    job.versions.append(version)
    if len(job.versions) == 1:
        job.create_ms = version.create_ms
    return version


def build_job(
    store: JobStore,
    job_id: int,
    name: str,
    plans: Sequence[VersionPlan],
    *,
    desc: str = "",
    workspace_id: str = DEFAULT_WORKSPACE_ID,
    profile_base: int = 0,
) -> Job:
    job = Job(job_id=job_id, job_name=name, job_desc=desc, workspace_id=workspace_id, create_ms=0)
    now = store.anchor
    for index, plan in enumerate(plans):
        new_version(store, job, plan, profile_base + index, now)
    store.add(job)
    return job


def _historical(status: int, run: float, queue: float = 20.0) -> Timeline:
    """A finished version: init, queue, run, then its final status for good."""
    return ((S.INIT, 6.0), (S.WAITING, queue), (S.RUNNING, run), (status, None))


# Fixture jobs: fixed ids 1-6 and names, so demos and tests can find them. Timelines are in
# emulated seconds from the emulator's start (offset 0) unless the version is historical.
FIXTURES: tuple[tuple[str, str, tuple[VersionPlan, ...]], ...] = (
    (
        "demo-resnet50-train",
        "ResNet-50 on ImageNet subset (completes in about 60 emulated seconds)",
        (
            VersionPlan(_historical(S.COMPLETED, 1750.0), 9 * DAY, ENGINE_PYTORCH, SPEC_GPU_V100),
            VersionPlan(_historical(S.COMPLETED, 1620.0), 4 * DAY, ENGINE_PYTORCH, SPEC_GPU_V100),
            VersionPlan(
                ((S.INIT, 5.0), (S.WAITING, 10.0), (S.RUNNING, 45.0), (S.COMPLETED, None)),
                0.0,
                ENGINE_PYTORCH,
                SPEC_GPU_V100,
            ),
        ),
    ),
    (
        "demo-bert-finetune-broken",
        "BERT fine-tune whose latest version fails after about 40 emulated seconds",
        (
            VersionPlan(_historical(S.COMPLETED, 2400.0), 2 * DAY, ENGINE_MINDSPORE, SPEC_GPU_P100),
            VersionPlan(((S.INIT, 5.0), (S.RUNNING, 35.0), (S.FAILED, None)), 0.0, ENGINE_MINDSPORE, SPEC_GPU_P100),
        ),
    ),
    (
        "demo-image-build-failed",
        "Custom image build that fails after about 15 emulated seconds",
        (
            VersionPlan(
                ((S.INIT, 3.0), (S.IMAGE_CREATING, 12.0), (S.IMAGE_FAILED, None)),
                0.0,
                ENGINE_TENSORFLOW,
                SPEC_CPU_8U,
            ),
        ),
    ),
    (
        "demo-stopped-by-user",
        "Running job that a user stops: KILLED after about 25 emulated seconds",
        (VersionPlan(((S.RUNNING, 20.0), (S.KILLING, 5.0), (S.KILLED, None)), 0.0, ENGINE_PYTORCH, SPEC_GPU_V100_8),),
    ),
    (
        "demo-review-flow",
        "Review sub-flow: CHECK_RUNNING_COMPLETED after about 20 emulated seconds, then stays",
        (
            VersionPlan(
                ((S.CHECK_INIT, 5.0), (S.CHECK_RUNNING, 15.0), (S.CHECK_RUNNING_COMPLETED, None)),
                0.0,
                ENGINE_TENSORFLOW,
                SPEC_GPU_P100,
            ),
        ),
    ),
    (
        "demo-long-running",
        "Runs for 12 emulated hours (already 10 minutes in), then completes",
        (
            VersionPlan(
                ((S.INIT, 5.0), (S.RUNNING, 12 * HOUR), (S.COMPLETED, None)),
                600.0,
                ENGINE_PYTORCH,
                SPEC_GPU_V100_8,
            ),
        ),
    ),
)


def populate(store: JobStore, job_count: int, seed: int) -> None:
    """Fill the store: the fixtures first (as many as ``job_count`` allows), then generated jobs."""
    # Tens of thousands of small objects would trigger many useless collections (they all live
    # on), which doubles start-up time for 10,000 jobs: pause the collector meanwhile.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for job_id, (name, desc, plans) in enumerate(FIXTURES[:job_count], start=1):
            build_job(store, job_id, name, plans, desc=desc, profile_base=seed * 1000 + job_id * 10)
        rng = random.Random(seed)
        for job_id in range(len(FIXTURES) + 1, job_count + 1):
            _generate_job(store, job_id, rng)
    finally:
        if was_enabled:
            gc.enable()


# Final state of a generated job's latest version: mostly history, some still moving.
_LATEST_KINDS = ("completed", "failed", "killed", "canceled", "image_failed", "running", "waiting", "init")
_LATEST_CUM_WEIGHTS = tuple(itertools.accumulate((55, 9, 5, 3, 2, 16, 6, 4)))
_OLDER_STATUSES = (S.COMPLETED, S.FAILED, S.KILLED)
_OLDER_CUM_WEIGHTS = tuple(itertools.accumulate((80, 12, 8)))
_VERSION_COUNTS = (1, 2, 3, 4, 5)
_VERSION_CUM_WEIGHTS = tuple(itertools.accumulate((45, 25, 15, 10, 5)))


def _generate_job(store: JobStore, job_id: int, rng: random.Random) -> None:
    name = f"train-{job_id:05d}-{NAME_WORDS[rng.randrange(len(NAME_WORDS))]}"
    desc = DESCRIPTIONS[rng.randrange(len(DESCRIPTIONS))]
    workspace = RESEARCH_WORKSPACE_ID if rng.random() < 0.1 else DEFAULT_WORKSPACE_ID
    version_count = rng.choices(_VERSION_COUNTS, cum_weights=_VERSION_CUM_WEIGHTS)[0]
    engine = rng.randrange(len(ENGINES))
    spec = rng.randrange(len(SPECS))
    age = rng.uniform(1.0, 120.0) * DAY  # first version started; >= 1 day so older runs finished
    plans = []
    for index in range(version_count - 1):
        # Older versions started at evenly spread instants and finished long ago.
        started = age * (1 - index / version_count)
        status = rng.choices(_OLDER_STATUSES, cum_weights=_OLDER_CUM_WEIGHTS)[0]
        plans.append(VersionPlan(_historical(status, rng.uniform(300, 4 * HOUR)), started, engine, spec))
    plans.append(_latest_plan(rng, age / version_count, engine, spec))
    build_job(store, job_id, name, plans, desc=desc, workspace_id=workspace, profile_base=rng.getrandbits(40))


def _latest_plan(rng: random.Random, age: float, engine: int, spec: int) -> VersionPlan:
    """The latest version: a finished one started ``age`` seconds ago, or one still moving."""
    kind = rng.choices(_LATEST_KINDS, cum_weights=_LATEST_CUM_WEIGHTS)[0]
    run = rng.uniform(300, 3 * HOUR)
    if kind == "running":
        # Some finish within minutes of the emulator starting, some after hours.
        final = S.COMPLETED if rng.random() < 0.8 else S.FAILED
        timeline: Timeline = ((S.INIT, 5.0), (S.WAITING, 30.0), (S.RUNNING, run), (final, None))
        return VersionPlan(timeline, 35.0 + run * rng.uniform(0.05, 0.95), engine, spec)
    if kind == "waiting":
        wait = rng.uniform(60, 1800)
        timeline = ((S.WAITING, wait), (S.RUNNING, run), (S.COMPLETED, None))
        return VersionPlan(timeline, wait * rng.uniform(0.0, 0.9), engine, spec)
    if kind == "init":
        timeline = ((S.INIT, rng.uniform(20, 120)), (S.RUNNING, run), (S.COMPLETED, None))
        return VersionPlan(timeline, rng.uniform(0, 10), engine, spec)
    final_status = {
        "completed": S.COMPLETED,
        "failed": S.FAILED,
        "killed": S.KILLED,
        "canceled": S.CANCELED,
        "image_failed": S.IMAGE_FAILED,
    }[kind]
    if kind == "image_failed":
        return VersionPlan(((S.INIT, 5.0), (S.IMAGE_CREATING, 90.0), (S.IMAGE_FAILED, None)), age, engine, spec)
    if kind == "canceled":
        return VersionPlan(((S.INIT, 5.0), (S.WAITING, 600.0), (S.CANCELED, None)), age, engine, spec)
    return VersionPlan(_historical(final_status, run), max(age, run + 100), engine, spec)


# ---------------------------------------------------------------------------------------------
# Version fields (list versions, modelarts_03_0049, and version detail, modelarts_03_0047)
# ---------------------------------------------------------------------------------------------


def _series(rng: random.Random, length: int, low: float, high: float) -> list[str]:
    # The API gives metric samples as strings ("3.10"), not numbers.
    return [f"{rng.uniform(low, high):.2f}" for _ in range(length)]


def system_metrics(rng: random.Random, gpu: bool) -> dict[str, Any]:
    length = 8
    return {
        "cpuUsage": _series(rng, length, 5, 95),
        "memUsage": _series(rng, length, 10, 80),
        "gpuUtil": _series(rng, length, 20, 99) if gpu else ["0"] * length,
        "gpuMemUsage": _series(rng, length, 10, 90) if gpu else ["0"] * length,
        "diskReadRate": _series(rng, length, 0, 200),
        "diskWriteRate": _series(rng, length, 0, 120),
        "recvBytesRate": _series(rng, length, 0, 900),
        "sendBytesRate": _series(rng, length, 0, 300),
        "interval": 1,
    }


def model_metrics(rng: random.Random, status: int) -> dict[str, Any]:
    if status != S.COMPLETED:
        return {}
    values = {name: round(rng.uniform(0.7, 0.99), 4) for name in ("recall", "precision", "accuracy")}
    return {
        "metric": [{"metric_values": values, "reserved_data": {}, "metric_meta": {"class_name": 0, "class_id": 0}}],
        "total_metric": {
            "total_metric_values": dict(values, f1_score=round(rng.uniform(0.7, 0.99), 4)),
            "total_reserved_data": {},
            "total_metric_meta": {},
        },
    }


def version_fields(job: Job, version: Version, status: int, duration_ms: int, *, detail: bool) -> dict[str, Any]:
    """A version as the API shows it: an item of list versions (``detail=False``) or the flat
    version-detail object.

    The detail differs from the list item: no ``gpu``, an added ``spec_code``, and
    ``system_metric_list`` as an object instead of a JSON string.
    """
    rng = random.Random(version.profile)
    engine, spec = ENGINES[version.engine], SPECS[version.spec]
    base = f"/{BUCKET}/{job.job_name}"
    use_dataset = rng.random() < 0.3
    dataset_id = f"ds{rng.getrandbits(60):015x}"[:20] if use_dataset else ""
    dataset_version_id = f"dv{rng.getrandbits(60):015x}"[:20] if use_dataset else ""
    data_url = f"/{BUCKET}/datasets/{NAME_WORDS[version.profile % len(NAME_WORDS)]}/"
    metrics = system_metrics(rng, spec.gpu_num > 0)
    fields: dict[str, Any] = {
        "version_id": version.version_id,
        "version_name": version.version_name,
        "pre_version_id": version.pre_version_id,
        "engine_type": engine.engine_type,
        "engine_name": engine.engine_name,
        "engine_id": engine.engine_id,
        "engine_version": engine.engine_version,
        "status": status,
        "app_url": f"{base}/code/",
        "boot_file_url": f"{base}/code/train.py",
        "create_time": version.create_ms,
        "start_time": version.start_ms,
        "duration": duration_ms,
        "parameter": [
            {"label": "learning_rate", "value": f"{rng.choice((0.1, 0.01, 0.001, 0.0001))}"},
            {"label": "batch_size", "value": str(rng.choice((16, 32, 64, 128)))},
            {"label": "epochs", "value": str(rng.randint(5, 90))},
        ],
        "spec_id": spec.spec_id,
        "core": spec.core,
        "cpu": spec.cpu,
        "gpu": spec.gpu_num > 0,
        "gpu_num": spec.gpu_num,
        "gpu_type": spec.gpu_type,
        "worker_server_num": 1 + version.profile % 3 if spec.gpu_num else 1,
        "data_url": data_url,
        "train_url": f"obs:/{base}/output/{version.version_name}/",
        "log_url": f"obs:/{base}/logs/{version.version_name}/" if version.profile % 4 else "",
        "dataset_id": dataset_id,
        "dataset_version_id": dataset_version_id,
        "dataset_name": f"{job.job_name}-data" if use_dataset else "",
        "dataset_version_name": "V001" if use_dataset else "",
        "data_source": [
            {"dataset_id": dataset_id, "dataset_version": dataset_version_id, "type": "dataset", "data_url": ""}
            if use_dataset
            else {"type": "obs", "data_url": data_url}
        ],
        "model_id": 0,
        "model_metric_list": json.dumps(model_metrics(rng, status)),
        "system_metric_list": json.dumps(metrics, separators=(",", ":")),
        "user_image_url": "",
        "user_command": "",
        "resource_id": f"{version.profile % 10**12:012x}-{version.version_id}",
        "volumes": [],
        "pool_id": "pool9928813f" if spec.gpu_num > 1 else "",
        "pool_name": "emulator-dedicated-pool" if spec.gpu_num > 1 else "",
        "nas_mount_path": "",
        "nas_share_addr": "",
        "nas_type": "nfs",
    }
    if not detail:
        return fields
    flat: dict[str, Any] = {
        "is_success": True,
        "job_id": job.job_id,
        "job_name": job.job_name,
        "job_desc": job.job_desc,
    }
    flat.update(fields)
    del flat["gpu"]
    flat["spec_code"] = spec.spec_code
    flat["system_metric_list"] = metrics
    return flat


def list_item(job: Job, status: int, duration_ms: int) -> dict[str, Any]:
    """One entry of the list-jobs response (``jobs[]`` of modelarts_03_0046)."""
    latest = job.latest
    return {
        "job_id": job.job_id,
        "job_name": job.job_name,
        "job_desc": job.job_desc,
        "version_id": latest.version_id,
        "status": status,
        "create_time": job.create_ms,
        "duration": duration_ms,
        "version_count": len(job.versions),
    }
