"""Create plans: what the jobs the API creates do, matched by name prefix (control API).

What a created job does comes from the first *create plan* whose name prefix the job's name
starts with (longest prefix first; see :meth:`CreatePlans.put`), else the default timeline
Creating 2 s, Pending 3 s, Running 10 s, Completed (emulated seconds: ``--speed`` and the manual
clock apply as to every job). A plan may also name the job's tasks (``tasks=["worker-0",
"server-0"]``; default ``worker-0`` ... one per node) and give each task's log lines.

Without a matching plan a created job follows :data:`DEFAULT_TIMELINE`. Plans are set through
``/_emulator/v2/create-plans`` (:mod:`modelarts_emulator.control`); :mod:`.create` applies them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.models import (
    TASK_NAME_PATTERN,
    PhaseTimeline,
    TaskOutcome,
    default_tasks,
    normalize_phase_timeline,
    normalize_task_names,
    task_failures,
)

DEFAULT_TIMELINE: PhaseTimeline = (
    (v2_spec.CREATING, 2.0, None),
    (v2_spec.PENDING, 3.0, None),
    (v2_spec.RUNNING, 10.0, None),
    (v2_spec.COMPLETED, None, None),
)


@dataclass(frozen=True)
class CreatePlan:
    prefix: str
    timeline: PhaseTimeline
    failures_spec: tuple[int | None, str | None, tuple[dict[str, Any], ...] | None]
    logs: dict[str, tuple[tuple[float, str], ...]] | None
    raw: dict[str, Any]
    tasks: tuple[str, ...] | None = None

    def task_names(self, node_count: int) -> tuple[str, ...]:
        """The tasks of a job this plan applies to: the plan's, else one worker per node."""
        return self.tasks or default_tasks(node_count)

    def failures(self, node_count: int) -> tuple[TaskOutcome, ...]:
        exit_code, message, statuses = self.failures_spec
        names = self.task_names(node_count)
        try:
            return task_failures(self.timeline[-1][0], names, exit_code, message, statuses)
        except ValueError:
            # A plan naming worker-3 applied to a one-node job: keep the tasks the job has.
            kept = tuple(item for item in statuses or () if item.get("task") in names)
            return task_failures(self.timeline[-1][0], names, None, None, kept or None)


def normalize_logs(raw: Any, timeline: PhaseTimeline) -> dict[str, tuple[tuple[float, str], ...]] | None:
    """``{"worker-0": ["line", ...]}`` (spread evenly over Running, the first at its start) or
    ``{"worker-0": [[seconds_after_running_began, "line"], ...]}``. Any path-safe task name
    (``server-0`` too, see :data:`.models.TASK_NAME_PATTERN`); lines for a task the job does not
    have are never shown."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("logs must map task names (worker-0, server-0, ...) to lists of lines")
    run = next((duration for phase, duration, _ in timeline if phase == v2_spec.RUNNING), None)
    span = run if run is not None else 60.0
    scripts: dict[str, tuple[tuple[float, str], ...]] = {}
    for task, lines in raw.items():
        if not isinstance(task, str) or not TASK_NAME_PATTERN.fullmatch(task) or not isinstance(lines, list):
            raise ValueError("logs must map task names (worker-0, server-0, ...) to lists of lines")
        script: list[tuple[float, str]] = []
        for index, item in enumerate(lines):
            if isinstance(item, str):
                moment, text = span * index / max(1, len(lines)), item
            elif isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], str):
                moment, text = item[0], item[1]
                if isinstance(moment, bool) or not isinstance(moment, (int, float)) or moment < 0:
                    raise ValueError("a log line's time is a number of seconds >= 0 after Running began")
            else:
                raise ValueError("a log line is a string or a [seconds, line] pair")
            if "\n" in text or "\r" in text:
                raise ValueError("a log line cannot contain a line break")
            script.append((float(moment), text))
        script.sort(key=lambda pair: pair[0])
        scripts[task] = tuple(script)
    return scripts


class CreatePlans:
    """Plans for jobs created through the API, matched by name prefix. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, CreatePlan] = {}

    def put(
        self,
        prefix: str,
        timeline: Iterable[Sequence[Any]],
        *,
        exit_code: int | None = None,
        message: str | None = None,
        task_statuses: Iterable[dict[str, Any]] | None = None,
        logs: dict[str, list[Any]] | None = None,
        tasks: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Store a plan. ``tasks`` names the tasks of the jobs it applies to (default
        ``worker-0`` ... one per node); ``logs`` maps task names to their lines."""
        if not isinstance(prefix, str) or not re.fullmatch(v2_spec.NAME_PATTERN, prefix):
            raise ValueError("a plan's name prefix is 1-64 letters, digits, underscores or hyphens")
        steps = normalize_phase_timeline(timeline)
        statuses = tuple(task_statuses) if task_statuses is not None else None
        names = normalize_task_names(tasks)
        # Check the exit codes against the widest job now rather than at create time.
        task_failures(steps[-1][0], names or v2_spec.NODE_COUNT_MAX, exit_code, message, statuses)
        scripts = normalize_logs(logs, steps)
        raw = {
            "name_prefix": prefix,
            "timeline": [list(step[:2]) + ([step[2]] if step[2] else []) for step in steps],
            "exit_code": exit_code,
            "message": message,
            "task_statuses": list(statuses) if statuses is not None else None,
            "logs": {task: [[moment, text] for moment, text in script] for task, script in (scripts or {}).items()},
            "tasks": list(names) if names is not None else None,
        }
        plan = CreatePlan(prefix, steps, (exit_code, message, statuses), scripts, raw, names)
        with self._lock:
            self._plans[prefix] = plan
        return raw

    def remove(self, prefix: str) -> None:
        with self._lock:
            if self._plans.pop(prefix, None) is None:
                raise KeyError(f"no create plan for the name prefix {prefix}")

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [plan.raw for plan in self._plans.values()]

    def match(self, name: str) -> CreatePlan | None:
        with self._lock:
            matching = [plan for prefix, plan in self._plans.items() if name.startswith(prefix)]
        return max(matching, key=lambda plan: len(plan.prefix)) if matching else None
