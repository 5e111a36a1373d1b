"""Task contexts for calling operators' ``execute`` directly, that keep state the way Airflow 3.3 does.

The operators, the hook and HTTP are all real; only the task instance around them is faked, and
the fakes follow what Airflow's task runner and execution API do (read in the installed Airflow:
``airflow/sdk/execution_time/task_runner.py``, ``execution_api/routes/task_instances.py`` and
``models/taskinstance.py::clear_task_instances``):

- the task state store (``context["task_state_store"]``) lives in the metadata database: it
  persists across tries, reschedules, deferrals and a user's Clear, and is scoped by map index;
- XComs of a task instance are cleared when a try starts, and when a rescheduled sensor starts
  again, but not when a deferred task resumes;
- a Clear sets ``max_tries`` to ``try_number + retries``; a task retry only raises ``try_number``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class TaskStateStore:
    """Airflow 3.3's task state store, as one task instance (one map index) sees it.

    :param backend: the stored values of every map index of the task (shared between the
        stores :meth:`for_map_index` returns); a new, empty one when omitted.
    :param map_index: the map index this store is scoped to (-1: not mapped).
    """

    def __init__(self, backend: dict[int, dict[str, Any]] | None = None, map_index: int = -1) -> None:
        self.backend: dict[int, dict[str, Any]] = backend if backend is not None else {}
        self.map_index = map_index

    @property
    def values(self) -> dict[str, Any]:
        """This map index's keys and values."""
        return self.backend.setdefault(self.map_index, {})

    def for_map_index(self, map_index: int) -> TaskStateStore:
        return TaskStateStore(self.backend, map_index)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        if value is None:
            raise ValueError("Cannot set value as None")  # as Airflow's accessor refuses it
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class RecordingTaskInstance:
    """The ``ti`` of a context: records XCom pushes and reads them back, for one map index."""

    def __init__(
        self,
        *,
        task_id: str = "t",
        try_number: int = 1,
        max_tries: int = 0,
        map_index: int = -1,
        xcom: dict[str, Any] | None = None,
        dag_id: str = "modelarts_test_dag",
        run_id: str = "manual__2026-03-01T00:00:00+00:00",
    ) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.task_id = task_id
        self.try_number = try_number
        self.max_tries = max_tries
        self.map_index = map_index
        self.xcom: dict[str, Any] = xcom if xcom is not None else {}
        self.first_reschedule_date: datetime | None = None

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(
        self, task_ids: str | None = None, key: str = "return_value", map_indexes: int | None = None, **_: Any
    ) -> Any:
        """This task instance's own XComs (the only ones the fakes know)."""
        if task_ids not in (None, self.task_id) or map_indexes not in (None, self.map_index):
            return None
        return self.xcom.get(key)

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first_reschedule_date


class TaskInstanceRuns:
    """One task instance (one map index of one task in one DAG run) across its tries.

    Call :meth:`context` for the context of the current try, then :meth:`retry`, :meth:`reschedule`,
    :meth:`resume` or :meth:`clear` to move on as Airflow would, and :meth:`context` again.

    :param retries: the task's ``retries`` (the operator under test must be given the same).
    :param store: the task's state store; the instance uses its scope for ``map_index``.
    """

    def __init__(
        self,
        *,
        task_id: str = "t",
        retries: int = 0,
        map_index: int = -1,
        store: TaskStateStore | None = None,
        run_id: str = "manual__2026-03-01T00:00:00+00:00",
    ) -> None:
        self.run_id = run_id
        self.task_id = task_id
        self.retries = retries
        self.map_index = map_index
        self.store = (store or TaskStateStore()).for_map_index(map_index)
        self.try_number = 1
        self.max_tries = retries
        self.xcom: dict[str, Any] = {}

    def context(self) -> dict[str, Any]:
        ti = RecordingTaskInstance(
            task_id=self.task_id,
            try_number=self.try_number,
            max_tries=self.max_tries,
            map_index=self.map_index,
            xcom=self.xcom,
            run_id=self.run_id,
        )
        return {"ti": ti, "task_instance": ti, "task_state_store": self.store, "map_index": self.map_index}

    def retry(self) -> None:
        """The try failed and a task retry runs: a new try number, XComs cleared."""
        self.try_number += 1
        self.xcom.clear()

    def reschedule(self) -> None:
        """A sensor in reschedule mode runs again: the same try, XComs cleared."""
        self.xcom.clear()

    def resume(self) -> None:
        """A deferred task resumes: the same try, and its XComs are kept."""

    def clear(self) -> None:
        """A user's Clear: the task runs again with its full retries; task state is kept."""
        self.max_tries = self.try_number + self.retries
        self.try_number += 1
        self.xcom.clear()


def make_context(store: TaskStateStore | None = None) -> dict[str, Any]:
    """The context of a first try (no retries) of an unmapped task."""
    return TaskInstanceRuns(store=store).context()
