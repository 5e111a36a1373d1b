"""The emulated project's services: status timelines, events, batch outputs and the plans.

A service's status is read off a :class:`.models.state.StatusTimeline` (emulated seconds, scaled by
``--speed``). What a created service does comes from the first *service plan* whose name prefix
its name starts with, else the defaults (the docs give statuses, not durations):

* real-time: deploying 5 s, then running (for ever);
* batch: deploying 3 s, running 10 s, then finished; the run writes one result object per input
  (:func:`batch_outputs`), each announced by an event.

An action replaces the rest of the timeline: stop is stopping 2 s, then stopped; start (and a new
config) deploys again with the service's plan; delete is deleting 2 s, then the service is gone.
Events (``GET .../events``) are derived from the steps a service has passed, so they are
deterministic; those of replaced timelines are kept.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.models.state import PrefixPlans, StatusTimeline, Steps, normalize_steps
from modelarts_emulator.services import spec

GONE = "_gone"  # internal: a deleted service's last step; the store drops it once reached
REAL_TIME_TIMELINE: Steps = ((spec.DEPLOYING, 5.0), (spec.RUNNING, None))
BATCH_TIMELINE: Steps = ((spec.DEPLOYING, 3.0), (spec.RUNNING, 10.0), (spec.FINISHED, None))
STOP_TIMELINE: Steps = ((spec.STOPPING, 2.0), (spec.STOPPED, None))
DELETE_TIMELINE: Steps = ((spec.DELETING, 2.0), (GONE, None))
DEFAULT_INPUTS = 3
DEFAULT_FAILURE = "Failed to deploy the service: the model instance did not pass its health check in time."


@dataclass(frozen=True)
class ServicePlan:
    prefix: str
    timeline: Steps
    error_msg: str
    outputs: tuple[str, ...] | int | None

    def raw(self) -> dict[str, Any]:
        outputs = list(self.outputs) if isinstance(self.outputs, tuple) else self.outputs
        return {
            "name_prefix": self.prefix,
            "timeline": [list(step) for step in self.timeline],
            "error_msg": self.error_msg,
            "outputs": outputs,
        }


class ServicePlans(PrefixPlans):
    def put(
        self,
        prefix: str,
        timeline: Iterable[Sequence[Any]],
        *,
        error_msg: str = "",
        outputs: Sequence[str] | int | None = None,
    ) -> dict[str, Any]:
        """How services whose name starts with ``prefix`` go, e.g. ``[["deploying", 2], ["failed",
        None]]`` with ``error_msg``; ``outputs`` is, for batch, the input object names (or their
        count) whose results the run writes."""
        steps = normalize_steps(timeline, spec.STATUSES, "service")
        if not isinstance(error_msg, str):
            raise ValueError("error_msg must be a string")
        normalized: tuple[str, ...] | int | None
        if outputs is None:
            normalized = None
        elif isinstance(outputs, int) and not isinstance(outputs, bool):
            if not 0 <= outputs <= 10_000:
                raise ValueError("outputs must be 0 to 10000 objects")
            normalized = outputs
        elif isinstance(outputs, (list, tuple)) and all(isinstance(item, str) and item for item in outputs):
            normalized = tuple(outputs)
        else:
            raise ValueError("outputs is a count or a list of input object names")
        plan = ServicePlan(prefix, steps, error_msg, normalized)
        self.store(prefix, plan)
        return plan.raw()


def batch_outputs(src_path: str, dest_path: str, mapping_type: str, inputs: tuple[str, ...] | int | None) -> list[str]:
    """The result objects a batch run writes: ``<dest_path>/<input>_result.txt`` per input
    [UNCERTAIN: the API pages do not name the result objects; the UMN's batch page describes one
    result file per input file, named after it]. Inputs default to three names derived from
    ``src_path``."""
    if isinstance(inputs, tuple):
        names = list(inputs)
    else:
        count = DEFAULT_INPUTS if inputs is None else inputs
        tag = hashlib.sha256(src_path.encode()).hexdigest()[:8]
        suffix = "csv" if mapping_type == "csv" else "json"
        names = [f"input-{tag}-{index:03d}.{suffix}" for index in range(count)]
    base = dest_path if dest_path.endswith("/") else dest_path + "/"
    return [f"{base}{name.rsplit('/', 1)[-1]}_result.txt" for name in names]


@dataclass(slots=True)
class Service:
    service_id: str
    body: dict[str, Any]
    timeline: StatusTimeline
    create_ms: int
    plan: ServicePlan | None
    models: list[tuple[str, str, str]]  # (model_id, name, version) of each config entry
    sequence: int = 0
    update_ms: int = 0
    invocation_times: int = 0
    failed_times: int = 0
    past_events: list[tuple[int, str, str]] = field(default_factory=list)
    # Epoch ms of the current timeline's start: event times are counted from it.
    timeline_wall_ms: int = 0

    @property
    def name(self) -> str:
        return str(self.body["service_name"])

    @property
    def infer_type(self) -> str:
        return str(self.body["infer_type"])

    @property
    def workspace_id(self) -> str:
        return str(self.body.get("workspace_id") or "0")

    @property
    def config(self) -> list[dict[str, Any]]:
        return list(self.body["config"])

    def outputs(self) -> list[str]:
        if self.infer_type != spec.BATCH:
            return []
        entry = self.config[0]
        inputs = self.plan.outputs if self.plan is not None else None
        return batch_outputs(str(entry["src_path"]), str(entry["dest_path"]), str(entry["mapping_type"]), inputs)

    def error_msg(self) -> str:
        return (self.plan.error_msg if self.plan is not None else "") or DEFAULT_FAILURE

    def planned_steps(self) -> Steps:
        if self.plan is not None:
            return self.plan.timeline
        return BATCH_TIMELINE if self.infer_type == spec.BATCH else REAL_TIME_TIMELINE

    def script(self) -> list[tuple[float, str, str]]:
        """Events of the current timeline: (emulated second, event_type, event_info)."""
        label = ", ".join(f"{name} {version}" for _, name, version in self.models)
        steps, starts = self.timeline.steps, self.timeline.starts
        events: list[tuple[float, str, str]] = []
        for (status, duration), start in zip(steps, starts, strict=True):
            span = duration if duration is not None else 0.0
            if status == spec.DEPLOYING:
                events.append((start, "normal", "start to deploy service"))
                events.append((start + span * 0.25, "normal", f"[{label}] prepare environment success"))
                events.append((start + span * 0.5, "normal", f"[{label}] schedule resource success"))
                events.append((start + span * 0.75, "normal", f"[{label}] starting model"))
            elif status == spec.RUNNING and self.infer_type == spec.BATCH:
                entry = self.config[0]
                events.append((start, "normal", f"batch task started, reading {entry['src_path']}"))
                outputs = self.outputs()
                for index, name in enumerate(outputs):
                    events.append((start + span * (index + 1) / (len(outputs) + 1), "normal", f"wrote {name}"))
            elif status == spec.RUNNING:
                events.append((start, "normal", "service is running"))
            elif status == spec.FINISHED:
                count = len(self.outputs())
                events.append(
                    (start, "normal", f"batch task finished, {count} results in {self.config[0]['dest_path']}")
                )
            elif status == spec.CONCERNING:
                events.append((start, "abnormal", f"[{label}] an instance failed its health check"))
            elif status == spec.FAILED:
                events.append((start, "abnormal", self.error_msg()))
            elif status in (spec.STOPPING, spec.DELETING):
                events.append((start, "normal", f"start to {'stop' if status == spec.STOPPING else 'delete'} service"))
            elif status == spec.STOPPED:
                events.append((start, "normal", "service stopped"))
        return events

    def events(self, now: float, speed: float) -> list[tuple[int, str, str]]:
        """Every event so far: (occur_time ms, event_type, event_info), oldest first."""
        elapsed = self.timeline.elapsed(now, speed)
        current = [
            (self.timeline_wall_ms + round(moment / speed * 1000), kind, info)
            for moment, kind, info in self.script()
            if moment <= elapsed
        ]
        return self.past_events + current

    def replace(self, steps: Steps, now: float, wall_ms: int, speed: float) -> None:
        """Start a new timeline now, keeping the events of the old one."""
        self.past_events = self.events(now, speed)
        self.timeline = StatusTimeline(steps, now)
        self.timeline_wall_ms = wall_ms


class ServiceStore:
    """Thread-safe store of the project's services, in creation order."""

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        self.clock = clock
        self.anchor = clock()
        self.anchor_wall_ms = int(time.time() * 1000)
        self.lock = threading.RLock()
        self.services: dict[str, Service] = {}
        self._sequence = 0

    def now(self) -> float:
        return self.clock()

    def wall_ms(self, now: float | None = None) -> int:
        moment = self.now() if now is None else now
        return self.anchor_wall_ms + round((moment - self.anchor) * 1000)

    def status(self, service: Service, now: float | None = None) -> str:
        return service.timeline.status(self.now() if now is None else now, self.speed)

    def add(self, service: Service) -> None:
        with self.lock:
            self._sequence += 1
            service.sequence = self._sequence
            self.services[service.service_id] = service

    def _purge(self) -> None:
        now = self.now()
        for service_id in [key for key, item in self.services.items() if self.status(item, now) == GONE]:
            del self.services[service_id]

    def get(self, service_id: str) -> Service | None:
        with self.lock:
            self._purge()
            return self.services.get(service_id)

    def all(self) -> list[Service]:
        with self.lock:
            self._purge()
            return list(self.services.values())

    def model_in_use(self, model_id: str) -> bool:
        """Whether a service that still exists (deleting ones too) deploys this model."""
        return any(model_id == entry[0] for service in self.all() for entry in service.models)
