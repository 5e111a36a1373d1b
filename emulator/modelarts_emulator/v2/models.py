"""The emulated project's v2 training jobs: phase timelines, the job store and its search.

As for v1 (:mod:`modelarts_emulator.v1.models`), a job's phase is computed, not stored: its *timeline* is a list of
``(phase, seconds_or_None, secondary_phase_or_None)`` steps from the job's start instant, the
last one may last for ever (``None``), and emulated time runs ``speed`` times faster than real
time. A job is created ``offset`` emulated seconds into its timeline (seeded history).

The API reports every time on the wall clock: ``start_time`` and ``duration`` alike map emulated
seconds to real ones (the future divided by ``speed``, seeded history kept as it is), so
``start_time + duration`` is when the job reached its final phase, as on the real service.

Everything a later lifecycle call needs hangs off :class:`TrainingJob`: terminating replaces the
rest of the timeline (:meth:`TrainingJob.terminate`), deleting removes it from the store, and
the task names that task lists and logs are keyed by are :attr:`TrainingJob.tasks`: ``worker-0`` ...
``worker-<node_count - 1>`` unless the job's creator named them (the create example's 201 answer
has ``"tasks": ["worker-0", "server-0"]``; the SDK's ``Status.tasks`` is a list of free strings).
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.v2 import spec as v2_spec

PhaseStep = tuple[str, float | None, str | None]
PhaseTimeline = tuple[PhaseStep, ...]

# How long a terminate takes to go through, in emulated seconds (Terminating, then Terminated).
TERMINATING_SECONDS = 3.0


def normalize_phase_timeline(raw: Iterable[Sequence[Any]]) -> PhaseTimeline:
    """Validate a timeline given as ``[[phase, seconds_or_None], ...]`` (JSON lists too); a step
    may name its secondary phase third, e.g. ``["Abnormal", None, "CreateFailed"]``.

    :raises ValueError: on an empty timeline, an undocumented phase or secondary phase, a
        non-positive duration, or a ``None`` duration before the last step.
    """
    if isinstance(raw, (str, bytes, dict)):
        raise ValueError("a timeline is a list of [phase, seconds] steps")
    steps: list[PhaseStep] = []
    for item in raw:
        if isinstance(item, (str, bytes, dict)) or not isinstance(item, Sequence) or len(item) not in (2, 3):
            raise ValueError(f"timeline step {item!r} is not a [phase, seconds] or [phase, seconds, secondary] list")
        phase, duration = item[0], item[1]
        secondary = item[2] if len(item) == 3 else None
        if phase not in v2_spec.PHASES:
            raise ValueError(f"timeline phase {phase!r} is not one of {', '.join(v2_spec.PHASES)}")
        if secondary is not None and secondary not in v2_spec.SECONDARY_PHASES:
            raise ValueError(
                f"timeline secondary phase {secondary!r} is not one of {', '.join(v2_spec.SECONDARY_PHASES)}"
            )
        if duration is not None:
            if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not duration > 0:
                raise ValueError(f"timeline duration {duration!r} must be a positive number of seconds or null")
            duration = float(duration)
        steps.append((str(phase), duration, secondary))
    if not steps:
        raise ValueError("a timeline needs at least one step")
    if any(duration is None for _, duration, _ in steps[:-1]):
        raise ValueError("only the last timeline step may have no duration (null)")
    return tuple(steps)


def _starts(timeline: PhaseTimeline) -> tuple[float, ...]:
    starts = [0.0]
    for _, duration, _ in timeline[:-1]:
        starts.append(starts[-1] + (duration or 0.0))
    return tuple(starts)


# A task name the emulator accepts from a create plan or the control API: path-safe, as the names
# the docs show (worker-0, server-0) are.
TASK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def default_tasks(node_count: int) -> tuple[str, ...]:
    """The usual task names: "worker-0" for one node, "worker-0", "worker-1" ... for more
    (ShowTrainingJobLogsFromAom's task_id: "单节点默认为worker-0, 多节点则为worker-0、worker-1…")."""
    return tuple(f"worker-{index}" for index in range(node_count))


def normalize_task_names(raw: Any) -> tuple[str, ...] | None:
    """Validate task names given by a plan or the control API (None: the default names)."""
    if raw is None:
        return None
    if isinstance(raw, (str, bytes, dict)) or not isinstance(raw, Sequence) or not raw:
        raise ValueError("tasks must be a non-empty list of task names")
    names = tuple(raw)
    for name in names:
        if not isinstance(name, str) or not TASK_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"task name {name!r} must match {TASK_NAME_PATTERN.pattern}")
    if len(set(names)) != len(names):
        raise ValueError("task names must be distinct")
    if len(names) > v2_spec.NODE_COUNT_MAX:
        raise ValueError(f"a job has at most {v2_spec.NODE_COUNT_MAX} tasks")
    return names


# The Running span that spaces the log lines of a job that runs for ever (emulated seconds).
OPEN_RUN_SECONDS = 60.0


def planned_run_seconds(timeline: PhaseTimeline) -> float:
    """How long the timeline's first Running step lasts (OPEN_RUN_SECONDS when it has no end)."""
    for phase, duration, _ in timeline:
        if phase == v2_spec.RUNNING:
            return OPEN_RUN_SECONDS if duration is None else duration
    return 0.0


@dataclass(frozen=True)
class TaskOutcome:
    """What one task (``worker-N``, ``server-0`` ...) reports in ``status.task_statuses`` once the job has ended."""

    task: str
    exit_code: int
    message: str


@dataclass(frozen=True)
class JobState:
    """A job at one instant. ``running_since`` is the emulated second Running began (or None);
    ``duration_ms`` is the real (wall-clock) span of the run so far, as the API reports it."""

    phase: str
    secondary_phase: str
    elapsed: float
    running_since: float | None
    duration_ms: int


@dataclass(slots=True)
class TrainingJob:
    """A v2 training job. ``profile`` seeds its descriptive fields (see :mod:`.catalog`)."""

    job_id: str
    name: str
    description: str
    workspace_id: str
    timeline: PhaseTimeline
    offset: float
    anchor: float
    create_ms: int
    profile: int
    sequence: int = 0
    node_count: int = 1
    flavor: int = 0
    engine: int = 0
    algorithm_name: str = ""
    kind: str = "job"
    user_id: str = ""
    user_name: str = ""
    runtime_type: str = ""
    # Set by the job's creator for Failed jobs: the failing tasks' exit codes and messages.
    failures: tuple[TaskOutcome, ...] = ()
    # The create body of a job made through the API, echoed in its job object (see .job_object).
    request: dict[str, Any] | None = None
    # Log lines a create plan gave per task: (emulated seconds after Running began, line).
    log_scripts: dict[str, tuple[tuple[float, str], ...]] | None = None
    # Task names the creator chose (empty: worker-0 ... worker-<node_count - 1>).
    task_names: tuple[str, ...] = ()
    starts: tuple[float, ...] = field(default=(), repr=False)
    name_lower: str = field(default="", repr=False)
    # The planned length of Running, which spaces the log lines; a terminate does not change it,
    # so lines already printed keep their place (see .logs).
    planned_run: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.starts = _starts(self.timeline)
        self.name_lower = self.name.lower()
        self.planned_run = planned_run_seconds(self.timeline)

    @property
    def tasks(self) -> list[str]:
        return list(self.task_names or default_tasks(self.node_count))

    def wall_offset_ms(self, moment: float, speed: float) -> int:
        """Real milliseconds from the job's creation in its store (``anchor``) to the emulated
        second ``moment`` of its timeline: the future runs ``speed`` times faster, seeded history
        (before ``offset``) is kept as it is. Every time the API reports goes through this one
        mapping (``start_time``, ``duration``, ``running_records``, events), so they agree.

        Rounded, not cut: float clock readings are off by a few ulps (4.35 s can come out as
        4349.999999 ms), and a manual clock's exact instants must stay exact.
        """
        span = moment - self.offset
        return round((span / speed if span > 0 else span) * 1000)

    def state(self, now: float, speed: float) -> JobState:
        """The phase at monotonic time ``now``; the duration counts from the start of Running and
        stops at a final phase (0 for a job that never ran, as in the docs' Abnormal example).

        The duration is real time, as ``start_time`` is: at ``speed`` 20 a job Running for 60
        emulated seconds reports 3,000 ms, so ``start_time + duration`` is the wall-clock instant
        the job reached its final phase (the only end time the API gives).
        """
        elapsed = max(0.0, self.offset + (now - self.anchor) * speed)
        index = max(0, bisect.bisect_right(self.starts, elapsed) - 1)
        phase, _, secondary = self.timeline[index]
        running_since = None
        for step_index in range(index + 1):
            if self.timeline[step_index][0] == v2_spec.RUNNING:
                running_since = self.starts[step_index]
                break
        end = self.starts[index] if phase in v2_spec.FINAL_PHASES else elapsed
        # Both ends through the one emulated -> wall mapping, so start_time + duration is the end.
        duration_ms = (
            max(0, self.wall_offset_ms(end, speed) - self.wall_offset_ms(running_since, speed))
            if running_since is not None
            else 0
        )
        return JobState(phase, secondary or v2_spec.DEFAULT_SECONDARY[phase], elapsed, running_since, duration_ms)

    def task_outcomes(self, phase: str) -> list[TaskOutcome]:
        """``status.task_statuses``: every task's exit code once the job Completed or Failed."""
        if phase == v2_spec.COMPLETED:
            return [TaskOutcome(task, 0, "") for task in self.tasks]
        if phase == v2_spec.FAILED:
            failed = {outcome.task: outcome for outcome in self.failures}
            return [failed.get(task, TaskOutcome(task, 0, "")) for task in self.tasks]
        return []

    def restart(self, timeline: PhaseTimeline, now: float) -> None:
        """Replace the timeline and start it over at this instant."""
        self.timeline = timeline
        self.starts = _starts(timeline)
        self.planned_run = planned_run_seconds(timeline)
        self.offset = 0.0
        self.anchor = now

    def terminate(self, now: float, speed: float) -> bool:
        """Stop the job as ``POST .../actions {"action_type": "terminate"}`` would: Terminating,
        then Terminated. Returns False when its phase does not allow it (409 ModelArts.2796)."""
        current = self.state(now, speed)
        if current.phase not in v2_spec.TERMINABLE_PHASES:
            return False
        index = max(0, bisect.bisect_right(self.starts, current.elapsed) - 1)
        phase, _, secondary = self.timeline[index]
        # Keep the past (so start_time and duration stay true), cut the current step at this instant
        # (a step that begins at this very instant is dropped: Terminating is what it shows now).
        cut = current.elapsed - self.starts[index]
        head = self.timeline[:index] if cut <= 0 else (*self.timeline[:index], (phase, cut, secondary))
        self.timeline = (*head, (v2_spec.TERMINATING, TERMINATING_SECONDS, None), (v2_spec.TERMINATED, None, None))
        self.starts = _starts(self.timeline)
        return True


class TrainingJobStore:
    """Thread-safe store of the project's v2 jobs, keyed by UUID, in creation order."""

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        # Every terminate action the API received, in order (see the control GET .../terminations).
        self.terminations: list[dict[str, Any]] = []
        self.clock = clock
        self.anchor = clock()
        self.anchor_wall_ms = int(time.time() * 1000)
        self.lock = threading.RLock()
        self.jobs: dict[str, TrainingJob] = {}
        self.workspaces: set[str] = {v2_spec.WORKSPACE_DEFAULT}
        # Whether created jobs keep annotation keys the docs do not list (EmulatorConfig).
        self.keep_unknown_annotations = False
        self._sequence = 0

    def now(self) -> float:
        return self.clock()

    def wall_ms(self, now: float | None = None) -> int:
        """Epoch milliseconds of a monotonic instant (real time, not emulated)."""
        moment = self.now() if now is None else now
        return self.anchor_wall_ms + round((moment - self.anchor) * 1000)

    def add(self, job: TrainingJob) -> None:
        with self.lock:
            if job.job_id in self.jobs:
                raise ValueError(f"a training job with id {job.job_id} already exists")
            self._sequence += 1
            job.sequence = self._sequence
            self.jobs[job.job_id] = job
            self.workspaces.add(job.workspace_id)

    def get(self, job_id: str) -> TrainingJob | None:
        with self.lock:
            return self.jobs.get(job_id.lower())

    def delete(self, job_id: str) -> bool:
        with self.lock:
            return self.jobs.pop(job_id.lower(), None) is not None

    def moment_ms(self, job: TrainingJob, moment: float) -> int:
        """Epoch ms (wall clock) of the emulated second ``moment`` of the job's timeline (see
        :meth:`TrainingJob.wall_offset_ms`)."""
        return self.wall_ms(job.anchor) + job.wall_offset_ms(moment, self.speed)

    def start_ms(self, job: TrainingJob, state: JobState) -> int:
        """``status.start_time``: when Running began, epoch ms; 0 before (the docs' example)."""
        if state.running_since is None:
            return 0
        return self.moment_ms(job, state.running_since)


UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def task_failures(
    final_phase: str,
    node_count: int | Sequence[str],
    exit_code: int | None,
    message: str | None,
    task_statuses: Iterable[dict[str, Any]] | None,
) -> tuple[TaskOutcome, ...]:
    """The failing tasks of a job created through the control API (only a Failed job has any).
    ``node_count`` is the job's node count (tasks worker-0 ...) or its task names; ``exit_code``
    and ``message`` are the first task's."""
    names = default_tasks(node_count) if isinstance(node_count, int) else tuple(node_count)
    tasks = set(names)
    if task_statuses is not None:
        if exit_code is not None or message is not None:
            raise ValueError("give either exit_code/message or task_statuses, not both")
        outcomes = []
        for item in task_statuses:
            if not isinstance(item, dict) or item.get("task") not in tasks:
                raise ValueError(f"task_statuses entries need a task among {', '.join(sorted(tasks))}")
            code, text = item.get("exit_code", 1), item.get("message", "")
            if isinstance(code, bool) or not isinstance(code, int) or not isinstance(text, str):
                raise ValueError("a task status needs an integer exit_code and a string message")
            outcomes.append(TaskOutcome(item["task"], code, text))
    else:
        code = 1 if exit_code is None else exit_code
        if isinstance(code, bool) or not isinstance(code, int):
            raise ValueError("exit_code must be an integer")
        if message is not None and not isinstance(message, str):
            raise ValueError("message must be a string")
        outcomes = [TaskOutcome(names[0], code, message or f"Process exited with code {code}")]
    if final_phase != v2_spec.FAILED:
        if task_statuses is not None or exit_code is not None or message is not None:
            raise ValueError("exit codes and messages are for timelines that end Failed")
        return ()
    return tuple(outcomes)
