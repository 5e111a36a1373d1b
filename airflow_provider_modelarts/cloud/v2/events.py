"""A job's events (``GET .../training-jobs/{id}/events``): one validated page of the query
(:class:`EventQuery`), the events of an answer, and one event as a log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.cloud.v2._read import _list
from airflow_provider_modelarts.cloud.v2.search import validate_order
from airflow_provider_modelarts.cloud.validation import LONG_MAX, coerce_int
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

# ListTrainingJobEvents (https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobEvents.html):
# limit 1-100 (default 50), level Info|Error|Warning, pattern up to 256 characters, source
# K8S|Job|Task, start_time and end_time only together. The SDK's response: {total, limit, offset
# (a page number), order, start_time, end_time, events: [{message, level, time, source}]}.
EVENTS_LIMIT_RANGE = (1, 100)
DEFAULT_EVENTS_LIMIT = 50
EVENT_LEVELS = ("Info", "Warning", "Error")
EVENT_SOURCES = ("K8S", "Job", "Task")
EVENT_PATTERN_MAX_LENGTH = 256
_EVENT_TIME_MAX_LENGTH = 64


def _one_of(value: object, allowed: tuple[str, ...], parameter: str) -> str:
    if isinstance(value, str):
        for item in allowed:
            if value.strip().lower() == item.lower():
                return item
    raise ModelArtsValidationError(parameter, "one of " + ", ".join(allowed), value)


def _event_time(value: object, parameter: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= _EVENT_TIME_MAX_LENGTH and value.isprintable():
        return value.strip()
    raise ModelArtsValidationError(parameter, "a time as the API takes it (a string, or epoch milliseconds)", value)


@dataclass(frozen=True)
class EventQuery:
    """Validated arguments of one page of a job's events. Build it with :meth:`validate`."""

    offset: int = 0
    limit: int = DEFAULT_EVENTS_LIMIT
    order: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    level: str | None = None
    pattern: str | None = None
    source: str | None = None

    @classmethod
    def validate(
        cls,
        offset: object = 0,
        limit: object = DEFAULT_EVENTS_LIMIT,
        order: object = None,
        start_time: object = None,
        end_time: object = None,
        level: object = None,
        pattern: object = None,
        source: object = None,
    ) -> EventQuery:
        if (start_time is None) != (end_time is None):
            raise ModelArtsValidationError(
                "start_time" if end_time is None else "end_time",
                "given together with " + ("end_time" if end_time is None else "start_time"),
                start_time if end_time is None else end_time,
            )
        if pattern is not None and not (
            isinstance(pattern, str) and 0 < len(pattern) <= EVENT_PATTERN_MAX_LENGTH and pattern.isprintable()
        ):
            raise ModelArtsValidationError(
                "pattern", f"a non-empty text of at most {EVENT_PATTERN_MAX_LENGTH} characters", pattern
            )
        return cls(
            offset=coerce_int(offset, "offset", 0, LONG_MAX),
            limit=coerce_int(limit, "limit", *EVENTS_LIMIT_RANGE),
            order=validate_order(order) if order is not None else None,
            start_time=_event_time(start_time, "start_time") if start_time is not None else None,
            end_time=_event_time(end_time, "end_time") if end_time is not None else None,
            level=_one_of(level, EVENT_LEVELS, "level") if level is not None else None,
            pattern=pattern if isinstance(pattern, str) else None,
            source=_one_of(source, EVENT_SOURCES, "source") if source is not None else None,
        )

    def query(self) -> list[tuple[str, str]]:
        pairs = [("offset", str(self.offset)), ("limit", str(self.limit))]
        for name in ("order", "start_time", "end_time", "level", "pattern", "source"):
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, value))
        return pairs


def event_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of an answer (``events``, or ``items``), each as the API gives it."""
    events = body.get("events")
    if not isinstance(events, list):
        events = body.get("items")
    return [dict(event) for event in _list(events) if isinstance(event, Mapping)]


def event_time_text(value: object) -> str:
    """An event's time as ISO 8601 UTC when it is epoch milliseconds (or seconds), else as given."""
    text = str(value).strip() if value is not None else ""
    if text.isdecimal() and len(text) in (10, 13):
        from datetime import datetime, timezone

        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text or "-"


def format_event(event: Mapping[str, Any]) -> str:
    """``<time> <level> <message>`` (``[source]`` before the message when there is one)."""
    level = str(event.get("level") or "-")
    source = event.get("source")
    message = str(event.get("message") or "").strip()
    return f"{event_time_text(event.get('time'))} {level} " + (f"[{source}] " if source else "") + message
