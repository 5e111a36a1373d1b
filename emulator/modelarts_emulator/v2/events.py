"""The events of a v2 training job, produced by its lifecycle, and the endpoint that lists them.

``GET /v2/{project_id}/training-jobs/{training_job_id}/events`` ("Obtaining the Events of a
Training Job", ListTrainingJobEvents; OTC ``training_management/obtaining_the_events_of_a_training_job.rst``;
the SDK's ``ListTrainingJobEventsRequest``/``ListTrainingJobEventsResponse`` and ``Event``).

Query: ``offset``, ``limit`` (1-100, default 50), ``order``, ``start_time`` and ``end_time``
("must be passed together"), ``level`` (Info, Error, Warning), ``pattern`` (at most 256
characters), ``source`` (OTC: K8S, Job, Task). The 200 body is ``{"total", "limit", "offset",
"order", "start_time", "end_time", "events": [{"time", "level", "message", "source"}]}``, the
numbers as integers (the SDK's types and the docs' example; OTC's table says String).

Readings (this emulator's choices where the page says no more):

* ``offset`` is a page number, as for the job search: the SDK calls it "分页列表的起始页 ...
  最小为0" and the response's offset "查询作业的页数" (OTC's table: "Offset of a data entry").
* ``start_time``/``end_time`` are epoch milliseconds (the example request:
  ``start_time=1669449696964&end_time=1669711991259``), inclusive; one without the other, or a
  value that is not digits, is 400 ModelArts.2788 naming it, as any other invalid parameter.
  The response echoes them as ISO 8601 times; without them it gives the job's creation and now.
* Times are ISO 8601 with seconds and a UTC offset, ``2022-11-26T16:03:41+08:00`` as in the
  example; the emulator writes them in UTC+08:00 as the example does, so a client must read the
  offset.
* ``order`` is ``asc`` or ``desc`` (default ``desc``, the example's); events of the same instant
  keep the order they happened in.
* ``pattern`` matches a substring of ``message``, case-sensitively; ``level`` and ``source``
  match exactly.
* ``total`` counts the events that match the filters (the example: total 27, limit 10).
* An unknown job is 400 ModelArts.2775; an unknown parameter is ignored (``X-Language`` too).

The events, from the job's timeline at the instant asked (they are computed, like the phase),
with the example's wording where it has one:

* creation: Info/Job "Training job created.";
* Pending: Info/Job "Training job is queuing.";
* Running: per task Info/K8S "[Pod: modelarts-job-<id>-<task>] Scheduled: ..." and "... Started:
  Started container", Info/Job "Training job is running.", per task Info/Task "[<task>] training
  started.";
* end of Running (Completed or Failed next): per task Info/Task "[<task>] Training finished.
  Exit code <n>."; for a failed task also Error/Task "[<task>] <its message>";
* Completed: Info/Job "Training job completed."; Failed: Error/Job "Training job failed.";
* terminate: Info/K8S "[Job: modelarts-job-<id>] ExecuteAction: Start to execute action
  TerminateJob" and Info/Job "Training job is terminating."; Terminated: Warning/Job "Training
  job terminated.";
* Abnormal: Error/Job "Training job is abnormal (<secondary phase>)."
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from modelarts_emulator.responses import Response, json_response, v2_error
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.models import JobState, TrainingJob, TrainingJobStore

# The time zone of the docs' example times.
EVENT_TIMEZONE = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Event:
    wall_ms: int
    level: str
    message: str
    source: str

    def payload(self) -> dict[str, str]:
        return {"time": iso_time(self.wall_ms), "level": self.level, "message": self.message, "source": self.source}


def iso_time(wall_ms: int) -> str:
    return datetime.fromtimestamp(wall_ms / 1000, tz=EVENT_TIMEZONE).isoformat(timespec="seconds")


class EventQueryError(ValueError):
    def __init__(self, parameter: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter


@dataclass(frozen=True)
class EventQuery:
    offset: int = 0
    limit: int = v2_spec.EVENTS_LIMIT_DEFAULT
    order: str = v2_spec.EVENTS_ORDER_DEFAULT
    start_ms: int | None = None
    end_ms: int | None = None
    level: str | None = None
    pattern: str | None = None
    source: str | None = None


def parse_query(pairs: Sequence[tuple[str, str]]) -> EventQuery:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)

    def integer(name: str, low: int, high: int | None, default: int) -> int:
        raw = values.get(name, "")
        if not raw:
            return default
        if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
            raise EventQueryError(name)
        return int(raw)

    offset = integer("offset", 0, None, 0)
    limit = integer("limit", v2_spec.EVENTS_LIMIT_MIN, v2_spec.EVENTS_LIMIT_MAX, v2_spec.EVENTS_LIMIT_DEFAULT)
    order = values.get("order") or v2_spec.EVENTS_ORDER_DEFAULT
    if order not in v2_spec.ORDERS:
        raise EventQueryError("order")
    start, end = values.get("start_time", ""), values.get("end_time", "")
    for name, raw in (("start_time", start), ("end_time", end)):
        if raw and not raw.isdigit():
            raise EventQueryError(name)
    if bool(start) != bool(end):
        raise EventQueryError("end_time" if start else "start_time")
    level = values.get("level") or None
    if level is not None and level not in v2_spec.EVENT_LEVELS:
        raise EventQueryError("level")
    pattern = values.get("pattern") or None
    if pattern is not None and len(pattern) > v2_spec.EVENT_PATTERN_MAX:
        raise EventQueryError("pattern")
    source = values.get("source") or None
    if source is not None and source not in v2_spec.EVENT_SOURCES:
        raise EventQueryError("source")
    return EventQuery(
        offset, limit, order, int(start) if start else None, int(end) if end else None, level, pattern, source
    )


def _pod(job: TrainingJob, task: str) -> str:
    return f"modelarts-job-{job.job_id}-{task}"


def job_events(store: TrainingJobStore, job: TrainingJob, state: JobState) -> list[Event]:
    """Every event of the job up to this instant, oldest first."""

    events = [Event(job.create_ms, "Info", "Training job created.", "Job")]
    failed = {outcome.task: outcome for outcome in job.failures}
    timeline = job.timeline
    for index, (phase, _, secondary) in enumerate(timeline):
        start = job.starts[index]
        if start > state.elapsed:
            break
        at = max(store.moment_ms(job, start), job.create_ms)
        previous = timeline[index - 1][0] if index > 0 else None
        if previous == v2_spec.RUNNING and phase in (v2_spec.COMPLETED, v2_spec.FAILED):
            for task in job.tasks:
                outcome = failed.get(task) if phase == v2_spec.FAILED else None
                code = outcome.exit_code if outcome is not None else 0
                events.append(Event(at, "Info", f"[{task}] Training finished. Exit code {code}.", "Task"))
        if phase == v2_spec.PENDING:
            events.append(Event(at, "Info", "Training job is queuing.", "Job"))
        elif phase == v2_spec.RUNNING:
            for number, task in enumerate(job.tasks):
                node = f"192.168.{(job.profile >> 8) % 250 + 1}.{(job.profile + number) % 250 + 2}"
                events.append(
                    Event(at, "Info", f"[Pod: {_pod(job, task)}] Scheduled: Successfully assigned to {node}", "K8S")
                )
                events.append(Event(at, "Info", f"[Pod: {_pod(job, task)}] Started: Started container", "K8S"))
            events.append(Event(at, "Info", "Training job is running.", "Job"))
            events += [Event(at, "Info", f"[{task}] training started.", "Task") for task in job.tasks]
        elif phase == v2_spec.COMPLETED:
            events.append(Event(at, "Info", "Training job completed.", "Job"))
        elif phase == v2_spec.FAILED:
            for task in job.tasks:
                outcome = failed.get(task)
                if outcome is not None:
                    events.append(Event(at, "Error", f"[{task}] {outcome.message}", "Task"))
            events.append(Event(at, "Error", "Training job failed.", "Job"))
        elif phase == v2_spec.TERMINATING:
            action = f"[Job: modelarts-job-{job.job_id}] ExecuteAction: Start to execute action TerminateJob"
            events.append(Event(at, "Info", action, "K8S"))
            events.append(Event(at, "Info", "Training job is terminating.", "Job"))
        elif phase == v2_spec.TERMINATED:
            events.append(Event(at, "Warning", "Training job terminated.", "Job"))
        elif phase == v2_spec.ABNORMAL:
            shown = secondary or v2_spec.DEFAULT_SECONDARY[phase]
            events.append(Event(at, "Error", f"Training job is abnormal ({shown}).", "Job"))
    return events


def list_events(store: TrainingJobStore, raw_id: str, pairs: Sequence[tuple[str, str]]) -> Response:
    """``GET .../training-jobs/{id}/events`` as the module docstring reads the docs."""
    try:
        query = parse_query(pairs)
    except EventQueryError as error:
        return v2_error(v2_spec.INVALID_PARAM, error.parameter)
    with store.lock:
        job = store.get(raw_id)
        if job is None:
            return v2_error(v2_spec.JOB_NOT_FOUND, raw_id)
        now = store.now()
        events = job_events(store, job, job.state(now, store.speed))
        now_ms = store.wall_ms(now)
    selected = [
        event
        for event in events
        if (query.start_ms is None or event.wall_ms >= query.start_ms)
        and (query.end_ms is None or event.wall_ms <= query.end_ms)
        and (query.level is None or event.level == query.level)
        and (query.source is None or event.source == query.source)
        and (query.pattern is None or query.pattern in event.message)
    ]
    if query.order == "desc":
        selected.reverse()
    first = query.offset * query.limit
    payload = {
        "total": len(selected),
        "limit": query.limit,
        "offset": query.offset,
        "order": query.order,
        "start_time": iso_time(query.start_ms if query.start_ms is not None else job.create_ms),
        "end_time": iso_time(query.end_ms if query.end_ms is not None else now_ms),
        "events": [event.payload() for event in selected[first : first + query.limit]],
    }
    return json_response(200, payload)
