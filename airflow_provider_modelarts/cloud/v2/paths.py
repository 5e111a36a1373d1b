"""The v2 training-job URL paths, the ids that go in them, and the one action the actions
endpoint takes.

Every path is relative to the connection's ModelArts endpoint; a task name is URL-quoted here, a
job id is checked by :func:`validate_training_job_id` before it reaches a path.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from urllib.parse import quote

from airflow_provider_modelarts.exceptions import ModelArtsValidationError

_UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def training_jobs_path(project_id: str) -> str:
    """``POST`` here creates a job (HTTP 201)."""
    return f"/v2/{project_id}/training-jobs"


def training_job_path(project_id: str, training_job_id: str) -> str:
    """``GET`` shows a job; ``DELETE`` deletes it (HTTP 202, empty body)."""
    return f"{training_jobs_path(project_id)}/{training_job_id}"


def training_job_searches_path(project_id: str) -> str:
    """``POST`` with a search body (:meth:`JobSearch.body`) lists jobs, one page at a time."""
    return f"/v2/{project_id}/training-job-searches"


def training_job_actions_path(project_id: str, training_job_id: str) -> str:
    """``POST`` :data:`TERMINATE_ACTION` here terminates a job (HTTP 202, the job as body)."""
    return f"{training_job_path(project_id, training_job_id)}/actions"


def training_job_tasks_path(project_id: str, training_job_id: str) -> str:
    """``GET`` lists a job's tasks (instances)."""
    return f"{training_job_path(project_id, training_job_id)}/tasks"


def training_job_aom_logs_path(project_id: str, training_job_id: str, task_id: str) -> str:
    """``GET`` pages a task's log lines from AOM (query ``base_line``, ``lines`` 1-500, ``order``).

    ``task_id`` is a task name from the job's ``status.tasks``, e.g. ``worker-0`` or ``server-0``
    (see :func:`validate_task_id`); it is URL-quoted here. The answer may be HTTP 204 with
    ``ModelArts.2776`` while the log is not ready yet.
    """
    return f"{training_job_path(project_id, training_job_id)}/logs/{_path_segment(task_id)}"


def training_job_log_preview_path(project_id: str, training_job_id: str, task_id: str) -> str:
    """``GET`` the newest part (at most 5 MB) of a task's log; ``task_id`` is URL-quoted."""
    return f"{training_job_tasks_path(project_id, training_job_id)}/{_path_segment(task_id)}/logs/preview"


def _path_segment(value: str) -> str:
    """One path segment, every reserved character (``/`` too) percent-encoded."""
    return quote(value, safe="")


# The only action the actions endpoint accepts (anything else: ModelArts.2812).
TERMINATE_ACTION: Mapping[str, str] = {"action_type": "terminate"}


def training_job_events_path(project_id: str, training_job_id: str) -> str:
    """``GET`` a job's events, one page (:class:`EventQuery`), newest or oldest first."""
    return f"{training_job_path(project_id, training_job_id)}/events"


def training_job_autosearch_trials_path(project_id: str, training_job_id: str) -> str:
    """``GET`` the trials of an auto search (hyperparameter search) job, one page of a table
    (query ``limit``, ``offset``); see :func:`trial_rows`."""
    return f"{training_job_path(project_id, training_job_id)}/autosearch-trials"


def validate_training_job_id(value: object, parameter: str = "training_job_id") -> str:
    """A v2 training job id: a UUID in its usual 8-4-4-4-12 form; returned lower case."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and _UUID_PATTERN.match(value.strip()):
        return value.strip().lower()
    raise ModelArtsValidationError(
        parameter, "a v2 training job id: a UUID such as '3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21'", value
    )
