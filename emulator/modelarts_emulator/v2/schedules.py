"""Job schedules: v2 training jobs the emulator creates by itself, on its own clock, with no client.

A *job schedule* creates a job every ``every`` emulated seconds, as a colleague's script or the
ModelArts console would outside Airflow, so that a watcher (an ``AssetWatcher`` polling the search
API) has jobs to see start and finish. A scheduled job is indistinguishable from one created
through ``POST /v2/{project_id}/training-jobs``: it carries a create body like a client's (code
and boot file on OBS, the PyTorch engine, its ``outputs`` as OBS URLs, its flavor) and its own
phase timeline starting at its creation instant.

The spec (control API ``PUT /_emulator/v2/job-schedules/{name}``, Python
``set_job_schedule(name, **spec)``, command line ``--job-schedule``); all but ``every`` optional:

* ``every``: emulated seconds between two jobs (>= 1); ``start_after``: emulated seconds from the
  schedule's creation to its first job (default ``every``; 0 creates one at once). Job ``k``
  (1, 2, ...) is created at ``start_after + (k - 1) * every``.
* ``count``: how many jobs, then the schedule stops (default: no limit but
  :data:`MAX_SCHEDULED_JOBS`).
* ``job_name``: a template of the job's name (default ``"{schedule}-{n}"``) with ``{n}`` (1, 2,
  ...; a format spec works: ``{n:03d}``), ``{date}`` (``YYYYMMDD``, UTC, of its creation),
  ``{time}`` (``HHMMSS``) and ``{schedule}`` (the schedule's name). A name already used in the
  workspace is skipped (listed in ``skipped``), as the API would refuse it (ModelArts.2751).
* ``timeline``: ``[[phase, seconds], ..., [final_phase, null]]`` (default :data:`DEFAULT_TIMELINE`:
  Creating 2 s, Pending 1 s, Running 10 s, Completed).
* ``final_phase`` (``Completed``, ``Failed`` or ``Terminated``) or ``outcomes``, a list of them
  repeated in turn (``["Completed", "Completed", "Failed"]``): replaces the timeline's last step
  (Terminated: Terminating 3 s, then Terminated). ``exit_code`` and ``message``: worker-0's, for
  jobs that end Failed (default 1).
* ``outputs``: OBS URLs (``obs://bucket/path/`` or ``/bucket/path/``), strings or ``{"name",
  "obs_url"}``, templated as ``job_name`` plus ``{name}`` (the job's name); default
  ``["obs://modelarts-emulator/{name}/output/"]`` (output ``train_url``); ``[]``: none.
* ``workspace_id`` (default ``"0"``; must exist), ``description``, ``flavor_id`` (default
  ``modelarts.p3.large.public``), ``node_count`` (default 1).

Jobs are materialised lazily: whenever the v2 API or the control API touches training jobs, or
:meth:`EmulatorApp.advance_time` moves the clock, every job that has fallen due is created with its
creation instant (``create_time``) and timeline anchored at the moment it fell due, not at the
moment it was noticed. No thread runs, so a manual clock is exact: with ``every=30``, advancing
95 s creates the jobs of 30, 60 and 90 s. Create plans do not apply to scheduled jobs (they have
their own timeline). ``POST /_emulator/reset`` keeps schedules, as it keeps create plans; delete
them to stop them (the jobs they created stay).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.catalog import BUCKET, ENGINES_V2, FLAVOR_V100, FLAVORS, USERS, JobPlan, new_training_job
from modelarts_emulator.v2.create import CreateError, parse_create
from modelarts_emulator.v2.models import (
    PhaseTimeline,
    TaskOutcome,
    TrainingJobStore,
    normalize_phase_timeline,
    task_failures,
)

DEFAULT_TIMELINE: PhaseTimeline = (
    (v2_spec.CREATING, 2.0, None),
    (v2_spec.PENDING, 1.0, None),
    (v2_spec.RUNNING, 10.0, None),
    (v2_spec.COMPLETED, None, None),
)
DEFAULT_JOB_NAME = "{schedule}-{n}"
DEFAULT_OUTPUTS = ("obs://" + BUCKET + "/{name}/output/",)
OUTCOMES = (v2_spec.COMPLETED, v2_spec.FAILED, v2_spec.TERMINATED)
# A schedule with no count stops after this many jobs (a ten-year advance must not hang).
MAX_SCHEDULED_JOBS = 100_000
TERMINATING_SECONDS = 3.0
_SPEC_KEYS = frozenset(
    {
        "every", "count", "start_after", "job_name", "timeline", "final_phase", "outcomes", "exit_code",
        "message", "outputs", "workspace_id", "description", "flavor_id", "node_count",
    }
)  # fmt: skip


def _seconds(value: Any, what: str, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a number of seconds")
    if value < minimum or value > 10 * 365 * 86400:
        raise ValueError(f"{what} must be from {minimum:g} seconds to ten years")
    return float(value)


def _render(template: str, fields: Mapping[str, Any], what: str) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        names = ", ".join("{" + key + "}" for key in fields)
        raise ValueError(f"{what} {template!r} cannot be filled in (placeholders: {names}): {error}") from None


def with_outcome(timeline: PhaseTimeline, outcome: str | None) -> PhaseTimeline:
    """The timeline with its final step replaced by ``outcome`` (None: as it is)."""
    if outcome is None:
        return timeline
    if outcome == v2_spec.TERMINATED:
        return (*timeline[:-1], (v2_spec.TERMINATING, TERMINATING_SECONDS, None), (v2_spec.TERMINATED, None, None))
    return (*timeline[:-1], (outcome, None, None))


@dataclass
class JobSchedule:
    """One schedule: its validated spec, its origin (store clock) and what it has created."""

    name: str
    every: float
    start_after: float
    count: int | None
    job_name: str
    timeline: PhaseTimeline
    outcomes: tuple[str, ...]
    exit_code: int | None
    message: str | None
    outputs: tuple[tuple[str, str], ...]
    workspace_id: str
    description: str
    flavor_id: str
    node_count: int
    origin: float = 0.0
    # Occurrences so far (created or skipped): the next one is number ``occurrences + 1``.
    occurrences: int = 0
    jobs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def limit(self) -> int:
        return MAX_SCHEDULED_JOBS if self.count is None else self.count

    def due_offset(self, number: int) -> float:
        """Emulated seconds from the origin to job ``number`` (1, 2, ...)."""
        return self.start_after + (number - 1) * self.every

    def fields(self, number: int, wall_ms: int) -> dict[str, Any]:
        moment = datetime.fromtimestamp(wall_ms / 1000, timezone.utc)
        return {
            "n": number,
            "date": moment.strftime("%Y%m%d"),
            "time": moment.strftime("%H%M%S"),
            "schedule": self.name,
        }

    def request_body(self, job_name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The create body a client would have sent for this job."""
        engine = ENGINES_V2[0]
        code_dir = f"obs://{BUCKET}/{self.name}/code/"
        algorithm: dict[str, Any] = {
            "code_dir": code_dir,
            "boot_file": f"{code_dir}train.py",
            "engine": {"engine_name": engine.engine_name, "engine_version": engine.engine_version},
        }
        outputs = [
            {"name": name, "remote": {"obs": {"obs_url": _render(url, {**fields, "name": job_name}, "output")}}}
            for name, url in self.outputs
        ]
        if outputs:
            algorithm["outputs"] = outputs
        metadata: dict[str, Any] = {"name": job_name, "workspace_id": self.workspace_id}
        if self.description:
            metadata["description"] = self.description
        resource = {"flavor_id": self.flavor_id, "node_count": self.node_count}
        return {"kind": "job", "metadata": metadata, "algorithm": algorithm, "spec": {"resource": resource}}

    def describe(self, store: TrainingJobStore, now: float) -> dict[str, Any]:
        done = self.occurrences >= self.limit
        next_in = None
        if not done:
            next_in = max(0.0, self.due_offset(self.occurrences + 1) - (now - self.origin) * store.speed)
        return {
            "name": self.name,
            "every": self.every,
            "start_after": self.start_after,
            "count": self.count,
            "job_name": self.job_name,
            "timeline": [list(step[:2]) + ([step[2]] if step[2] else []) for step in self.timeline],
            "outcomes": list(self.outcomes),
            "exit_code": self.exit_code,
            "message": self.message,
            "outputs": [{"name": name, "obs_url": url} for name, url in self.outputs],
            "workspace_id": self.workspace_id,
            "description": self.description,
            "flavor_id": self.flavor_id,
            "node_count": self.node_count,
            "created": len(self.jobs),
            "jobs": [dict(job) for job in self.jobs],
            "skipped": list(self.skipped),
            "done": done,
            "next_in": next_in,
        }


def _outputs(raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        raw = list(DEFAULT_OUTPUTS)
    if isinstance(raw, (str, bytes, dict)) or not isinstance(raw, Sequence):
        raise ValueError("outputs must be a list of OBS URLs or of {'name', 'obs_url'} objects")
    outputs: list[tuple[str, str]] = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            name, url = ("train_url" if index == 0 else f"output_{index}"), item
        elif isinstance(item, dict) and set(item) <= {"name", "obs_url"} and isinstance(item.get("obs_url"), str):
            name, url = item.get("name", "train_url" if index == 0 else f"output_{index}"), item["obs_url"]
        else:
            raise ValueError("outputs must be a list of OBS URLs or of {'name', 'obs_url'} objects")
        if not isinstance(name, str) or not name:
            raise ValueError("an output's name must be a non-empty string")
        if not (url.startswith("obs://") or url.startswith("/")) or len(url) < 3:
            raise ValueError(f"output {url!r} must be an OBS URL: obs://bucket/path or /bucket/path")
        outputs.append((name, url))
    if len({name for name, _ in outputs}) != len(outputs):
        raise ValueError("output names must be distinct")
    return tuple(outputs)


def _outcomes(spec: Mapping[str, Any], timeline: PhaseTimeline) -> tuple[str, ...]:
    if spec.get("final_phase") is not None and spec.get("outcomes") is not None:
        raise ValueError("give final_phase or outcomes, not both")
    raw = spec.get("outcomes")
    if spec.get("final_phase") is not None:
        raw = [spec["final_phase"]]
    if raw is None:
        return ()
    if isinstance(raw, (str, bytes, dict)) or not isinstance(raw, Sequence) or not raw:
        raise ValueError("outcomes must be a non-empty list of final phases")
    for outcome in raw:
        if outcome not in OUTCOMES:
            raise ValueError(f"an outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if timeline[-1][0] not in v2_spec.FINAL_PHASES:
        raise ValueError("outcomes replace the timeline's final step: the timeline must end in a final phase")
    return tuple(raw)


def build_schedule(name: Any, spec: Mapping[str, Any], workspaces: set[str]) -> JobSchedule:
    """Validate a schedule's spec (``ValueError`` naming what is wrong)."""
    if not isinstance(name, str) or not re.fullmatch(v2_spec.NAME_PATTERN, name):
        raise ValueError("a job schedule's name is 1-64 letters, digits, underscores or hyphens")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown job schedule fields: {', '.join(sorted(unknown))}")
    if "every" not in spec:
        raise ValueError("a job schedule needs 'every' (emulated seconds between two jobs)")
    every = _seconds(spec["every"], "every", 1.0)
    start_after = every if spec.get("start_after") is None else _seconds(spec["start_after"], "start_after", 0.0)
    count = spec.get("count")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SCHEDULED_JOBS
    ):
        raise ValueError(f"count must be an integer from 1 to {MAX_SCHEDULED_JOBS}")
    timeline = DEFAULT_TIMELINE if spec.get("timeline") is None else normalize_phase_timeline(spec["timeline"])
    outcomes = _outcomes(spec, timeline)
    exit_code, message = spec.get("exit_code"), spec.get("message")
    finals = {with_outcome(timeline, outcome)[-1][0] for outcome in outcomes or (None,)}
    if exit_code is not None or message is not None:
        if v2_spec.FAILED not in finals:
            raise ValueError("exit_code and message are for jobs that end Failed")
        task_failures(v2_spec.FAILED, 1, exit_code, message, None)
    workspace_id = spec.get("workspace_id") or v2_spec.WORKSPACE_DEFAULT
    if not isinstance(workspace_id, str) or workspace_id not in workspaces:
        raise ValueError(f"workspace {workspace_id!r} does not exist")
    description = spec.get("description") or ""
    flavor_id = spec.get("flavor_id") or FLAVORS[FLAVOR_V100].flavor_id
    node_count = spec.get("node_count", 1)
    job_name = spec.get("job_name") or DEFAULT_JOB_NAME
    if not isinstance(job_name, str):
        raise ValueError("job_name must be a string template, e.g. 'nightly-{n}' or 'nightly-{date}-{n}'")
    schedule = JobSchedule(
        name, every, start_after, count, job_name, timeline, outcomes, exit_code, message,
        _outputs(spec.get("outputs")), workspace_id, description, flavor_id, node_count,
    )  # fmt: skip
    # Check the whole create body now, with the first job's name, rather than when it falls due.
    first = schedule.fields(1, 0)
    rendered = _render(job_name, first, "job_name")
    if not re.fullmatch(v2_spec.NAME_PATTERN, rendered):
        raise ValueError(f"job_name {job_name!r} gives {rendered!r}: 1-64 letters, digits, underscores or hyphens")
    try:
        parse_create(json.dumps(schedule.request_body(rendered, first)).encode(), workspaces)
    except CreateError as error:
        raise ValueError(f"a job of this schedule would be refused: {error.response().body.decode()}") from None
    return schedule


class JobSchedules:
    """The emulator's job schedules over one v2 store; guarded by the store's lock."""

    def __init__(self, store: TrainingJobStore, seed: int) -> None:
        self.store = store
        self._seed = seed
        self._schedules: dict[str, JobSchedule] = {}

    def put(self, name: str, **spec: Any) -> dict[str, Any]:
        """Add or replace a schedule; it starts now (job 1 at ``start_after``, numbering from 1)."""
        store = self.store
        with store.lock:
            self.catch_up()
            schedule = build_schedule(name, spec, store.workspaces)
            schedule.origin = store.now()
            self._schedules[name] = schedule
            self.catch_up()  # start_after=0: the first job exists at once
            return schedule.describe(store, store.now())

    def remove(self, name: str) -> None:
        """Stop a schedule (after creating what fell due before now); its jobs stay."""
        with self.store.lock:
            self.catch_up()
            if self._schedules.pop(name, None) is None:
                raise KeyError(f"no job schedule named {name}")

    def clear(self) -> None:
        with self.store.lock:
            self.catch_up()
            self._schedules.clear()

    def list(self) -> list[dict[str, Any]]:
        store = self.store
        with store.lock:
            self.catch_up()
            now = store.now()
            return [schedule.describe(store, now) for schedule in self._schedules.values()]

    def catch_up(self) -> int:
        """Create every job that has fallen due, in order of due time; returns how many."""
        store = self.store
        if not self._schedules:
            return 0
        created = 0
        with store.lock:
            now = store.now()
            while True:
                due: list[tuple[float, str]] = []
                for schedule in self._schedules.values():
                    if schedule.occurrences < schedule.limit:
                        moment = schedule.origin + schedule.due_offset(schedule.occurrences + 1) / store.speed
                        if moment <= now:
                            due.append((moment, schedule.name))
                if not due:
                    return created
                moment, name = min(due)
                created += self._create(self._schedules[name], moment)

    def _create(self, schedule: JobSchedule, moment: float) -> int:
        store = self.store
        schedule.occurrences += 1
        number = schedule.occurrences
        fields = schedule.fields(number, store.wall_ms(moment))
        try:
            job_name = _render(schedule.job_name, fields, "job_name")
        except ValueError:
            job_name = ""
        taken = any((job.name, job.workspace_id) == (job_name, schedule.workspace_id) for job in store.jobs.values())
        if taken or not re.fullmatch(v2_spec.NAME_PATTERN, job_name):
            schedule.skipped.append(job_name)
            return 0
        outcome = schedule.outcomes[(number - 1) % len(schedule.outcomes)] if schedule.outcomes else None
        timeline = with_outcome(schedule.timeline, outcome)
        request = parse_create(json.dumps(schedule.request_body(job_name, fields)).encode(), store.workspaces)
        failures: tuple[TaskOutcome, ...] = ()
        if timeline[-1][0] == v2_spec.FAILED:
            failures = task_failures(v2_spec.FAILED, request.node_count, schedule.exit_code, schedule.message, None)
        plan = JobPlan(timeline, 0.0, request.flavor, request.engine, request.node_count, failures)
        job = new_training_job(
            store,
            str(uuid.uuid4()),
            job_name,
            plan,
            profile=self._seed * 1_000_003 + 500_000 + len(store.jobs),
            description=request.description,
            workspace_id=request.workspace_id,
            user=USERS[0],
            now=moment,
            kind=request.kind,
        )
        job.request = request.body
        schedule.jobs.append({"id": job.job_id, "name": job.name, "create_time": job.create_ms, "outcome": outcome})
        return 1


# -- the command line -------------------------------------------------------------------------

_CLI_KEY = re.compile(r":(?=[a-z_]+=)")
_CLI_NUMBERS = {"every": float, "start_after": float, "count": int, "exit_code": int, "node_count": int}


def parse_cli_schedule(text: str) -> list[dict[str, Any]]:
    """``--job-schedule`` values: ``NAME:every=30[:count=3][:key=value...]``, a JSON object (with
    ``name``) or list of them, or ``@file.json`` holding one of those. Returns specs with ``name``.

    In the short form ``outcomes`` and ``outputs`` are comma-separated lists and ``timeline`` is
    ``Phase/seconds,...,FinalPhase`` (e.g. ``Creating/2,Running/10,Completed``); other keys are
    those of :func:`build_schedule`.
    """
    text = text.strip()
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8").strip()
    if text.startswith(("{", "[")):
        try:
            loaded = json.loads(text)
        except ValueError as error:
            raise ValueError(f"--job-schedule: invalid JSON: {error}") from None
        items = loaded if isinstance(loaded, list) else [loaded]
        if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in items):
            raise ValueError("--job-schedule: a JSON schedule is an object with a 'name'")
        return [dict(item) for item in items]
    name, *pairs = _CLI_KEY.split(text)
    spec: dict[str, Any] = {"name": name}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key in _CLI_NUMBERS:
            try:
                spec[key] = _CLI_NUMBERS[key](value)
            except ValueError:
                raise ValueError(f"--job-schedule: {key} must be a number, got {value!r}") from None
        elif key in ("outcomes", "outputs"):
            spec[key] = [item for item in value.split(",") if item]
        elif key == "timeline":
            steps: list[list[Any]] = []
            for step in value.split(","):
                phase, _, seconds = step.partition("/")
                steps.append([phase, float(seconds) if seconds else None])
            spec[key] = steps
        else:
            spec[key] = value
    return [spec]
