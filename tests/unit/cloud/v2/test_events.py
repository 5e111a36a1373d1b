"""cloud/v2/events.py: a job's event query validated, events read from an answer and formatted."""

from __future__ import annotations

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsValidationError


def test_event_queries_are_validated_and_events_formatted() -> None:
    query = v2.EventQuery.validate(limit=5, order="DESC", level="error", start_time=1, end_time="2", source="task")
    assert query.query() == [
        ("offset", "0"),
        ("limit", "5"),
        ("order", "desc"),
        ("start_time", "1"),
        ("end_time", "2"),
        ("level", "Error"),
        ("source", "Task"),
    ]
    with pytest.raises(ModelArtsValidationError, match="end_time"):
        v2.EventQuery.validate(start_time="1")
    with pytest.raises(ModelArtsValidationError, match="limit"):
        v2.EventQuery.validate(limit=101)
    with pytest.raises(ModelArtsValidationError, match="pattern"):
        v2.EventQuery.validate(pattern="x" * 257)
    with pytest.raises(ModelArtsValidationError, match="level"):
        v2.EventQuery.validate(level="Fatal")
    event = {"time": "2022-11-26T16:03:41+08:00", "level": "Error", "message": "Training job failed.", "source": "Job"}
    assert v2.format_event(event) == "2022-11-26T16:03:41+08:00 Error [Job] Training job failed."
    assert v2.format_event({"time": "1669449696964", "message": "m"}) == "2022-11-26T08:01:36Z - m"
    assert v2.event_rows({"events": [event, "junk"]}) == [event]
