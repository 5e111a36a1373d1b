"""A minimal task context for calling operators' ``execute`` directly.

It records XCom pushes and holds a task-state store the way Airflow 3.3 does, so the tests can
check exactly what a task hands downstream. The operators, the hook and HTTP are all real.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class TaskStateStore:
    """Airflow 3.3's per-task-instance store that survives reschedules (unlike XCom)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class RecordingTaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}
        self.first_reschedule_date: datetime | None = None

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first_reschedule_date


def make_context(store: TaskStateStore | None = None) -> dict[str, Any]:
    ti = RecordingTaskInstance()
    return {"ti": ti, "task_state_store": store if store is not None else TaskStateStore()}
