"""The emulated project's models: status timelines, the model store and the build plans.

As for training jobs, a model's status is computed, not stored: its *timeline* is a list of
``(status, emulated_seconds_or_None)`` steps from its creation instant (the last may last for
ever), and emulated time runs ``speed`` times faster than real time (``--speed``; the manual
clock moves only with ``advance_time``). :class:`StatusTimeline` is shared with the services.

What a model created through the API does comes from the first *model plan* whose name prefix its
name starts with (longest first), else :data:`DEFAULT_TIMELINE`: publishing for 3 s, then
published. The docs give the statuses, not their order or durations: ``building`` (an image is
built, then ``published`` or ``building_failed``) is for plans to choose.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.models import spec

Step = tuple[str, float | None]
Steps = tuple[Step, ...]

DEFAULT_TIMELINE: Steps = ((spec.PUBLISHING, 3.0), (spec.PUBLISHED, None))
PLAN_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def normalize_steps(raw: Iterable[Sequence[Any]], allowed: Sequence[str], what: str) -> Steps:
    """Validate ``[[status, seconds_or_None], ...]`` (JSON lists too) against ``allowed``."""
    if isinstance(raw, (str, bytes, dict)):
        raise ValueError("a timeline is a list of [status, seconds] steps")
    steps: list[Step] = []
    for item in raw:
        if isinstance(item, (str, bytes, dict)) or not isinstance(item, Sequence) or len(item) != 2:
            raise ValueError(f"timeline step {item!r} is not a [status, seconds] pair")
        status, duration = item
        if status not in allowed:
            raise ValueError(f"{what} status {status!r} is not one of {', '.join(allowed)}")
        if duration is not None:
            if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not duration > 0:
                raise ValueError(f"timeline duration {duration!r} must be a positive number of seconds or null")
            duration = float(duration)
        steps.append((str(status), duration))
    if not steps:
        raise ValueError("a timeline needs at least one step")
    if any(duration is None for _, duration in steps[:-1]):
        raise ValueError("only the last timeline step may have no duration (null)")
    return tuple(steps)


@dataclass(slots=True)
class StatusTimeline:
    """Steps that began at ``anchor`` (a clock reading); ``status(now, speed)`` reads them."""

    steps: Steps
    anchor: float
    starts: tuple[float, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        starts = [0.0]
        for _, duration in self.steps[:-1]:
            starts.append(starts[-1] + (duration or 0.0))
        self.starts = tuple(starts)

    def elapsed(self, now: float, speed: float) -> float:
        return max(0.0, (now - self.anchor) * speed)

    def index(self, now: float, speed: float) -> int:
        return max(0, bisect.bisect_right(self.starts, self.elapsed(now, speed)) - 1)

    def status(self, now: float, speed: float) -> str:
        return self.steps[self.index(now, speed)][0]

    def reached(self, status: str, now: float, speed: float) -> float | None:
        """The emulated second (from the anchor) ``status`` first began, if it has by ``now``."""
        last = self.index(now, speed)
        for position in range(last + 1):
            if self.steps[position][0] == status:
                return self.starts[position]
        return None

    def passed(self, now: float, speed: float) -> list[tuple[str, float]]:
        """Every step begun by ``now``: (status, emulated second it began)."""
        last = self.index(now, speed)
        return [(self.steps[position][0], self.starts[position]) for position in range(last + 1)]


@dataclass(slots=True)
class Model:
    model_id: str
    body: dict[str, Any]
    timeline: StatusTimeline
    create_ms: int
    sequence: int
    failure: str = ""

    @property
    def name(self) -> str:
        return str(self.body["model_name"])

    @property
    def version(self) -> str:
        return str(self.body["model_version"])

    @property
    def workspace_id(self) -> str:
        return str(self.body.get("workspace_id") or spec.WORKSPACE_DEFAULT)


@dataclass(frozen=True)
class ModelPlan:
    prefix: str
    timeline: Steps
    failure_message: str
    model_size: int | None

    def raw(self) -> dict[str, Any]:
        return {
            "name_prefix": self.prefix,
            "timeline": [list(step) for step in self.timeline],
            "failure_message": self.failure_message,
            "model_size": self.model_size,
        }


class PrefixPlans:
    """Plans matched by name prefix (the longest matching prefix wins). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, Any] = {}

    def store(self, prefix: str, plan: Any) -> None:
        if not isinstance(prefix, str) or not PLAN_PREFIX_PATTERN.fullmatch(prefix):
            raise ValueError("a plan's name prefix is 1-64 letters, digits, dots, underscores or hyphens")
        with self._lock:
            self._plans[prefix] = plan

    def remove(self, prefix: str) -> None:
        with self._lock:
            if self._plans.pop(prefix, None) is None:
                raise KeyError(f"no plan for the name prefix {prefix}")

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [plan.raw() for plan in self._plans.values()]

    def match(self, name: str) -> Any:
        with self._lock:
            matching = [(prefix, plan) for prefix, plan in self._plans.items() if name.startswith(prefix)]
        return max(matching, key=lambda pair: len(pair[0]))[1] if matching else None


class ModelPlans(PrefixPlans):
    def put(
        self,
        prefix: str,
        timeline: Iterable[Sequence[Any]],
        *,
        failure_message: str = "",
        model_size: int | None = None,
    ) -> dict[str, Any]:
        """How models whose name starts with ``prefix`` go: e.g. ``[["building", 2],
        ["building_failed", None]]`` with ``failure_message``."""
        steps = normalize_steps(timeline, spec.STATUSES, "model")
        if not isinstance(failure_message, str):
            raise ValueError("failure_message must be a string")
        if model_size is not None and (
            isinstance(model_size, bool) or not isinstance(model_size, int) or model_size < 0
        ):
            raise ValueError("model_size must be an integer >= 0")
        plan = ModelPlan(prefix, steps, failure_message, model_size)
        self.store(prefix, plan)
        return plan.raw()


class ModelStore:
    """Thread-safe store of the project's models, in creation order."""

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        self.clock = clock
        self.anchor = clock()
        self.anchor_wall_ms = int(time.time() * 1000)
        self.lock = threading.RLock()
        self.models: dict[str, Model] = {}
        self._sequence = 0

    def now(self) -> float:
        return self.clock()

    def wall_ms(self, now: float | None = None) -> int:
        moment = self.now() if now is None else now
        return self.anchor_wall_ms + round((moment - self.anchor) * 1000)

    def add(self, model: Model) -> None:
        with self.lock:
            self._sequence += 1
            model.sequence = self._sequence
            self.models[model.model_id] = model

    def get(self, model_id: str) -> Model | None:
        with self.lock:
            return self.models.get(model_id)

    def status(self, model: Model) -> str:
        return model.timeline.status(self.now(), self.speed)

    def find(self, name: str, version: str, workspace_id: str) -> Model | None:
        with self.lock:
            for model in self.models.values():
                if (model.name, model.version, model.workspace_id) == (name, version, workspace_id):
                    return model
        return None
