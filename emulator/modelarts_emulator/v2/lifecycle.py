"""The v2 calls on an existing training job: terminate, delete, the task list and per-task logs.

Sources (see :mod:`.spec` for the pages): ``POST .../training-jobs/{id}/actions`` with
``{"action_type": "terminate"}`` answers **202** with the job object, **409 ModelArts.2796**
once the job can no longer be terminated (only Creating, Pending and Running can), **400
ModelArts.2812** for any other action type ("Terminating a Training Job", StopTrainingJob);
``DELETE .../training-jobs/{id}`` answers **202** with no body (DeleteTrainingJob); ``GET
.../tasks`` is a JSON list of ``{task, ip, host_ip, schedule_count}`` (the SDK's
ListTrainingJobTasksResponse); the log pages are built in :mod:`.logs`. An unknown job is 400
ModelArts.2775 everywhere. Creating a job is :mod:`.create`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from modelarts_emulator.responses import Response, json_response, v2_error
from modelarts_emulator.v2 import logs as v2_logs
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.job_object import job_object
from modelarts_emulator.v2.models import TrainingJob, TrainingJobStore


def _not_found(raw_id: str) -> Response:
    return v2_error(v2_spec.JOB_NOT_FOUND, raw_id)


def job_action(store: TrainingJobStore, raw_id: str, raw_body: bytes) -> Response:
    """``POST .../training-jobs/{id}/actions``: terminate (202 and the job object)."""
    with store.lock:
        job = store.get(raw_id)
        if job is None:
            return _not_found(raw_id)
        try:
            body = json.loads(raw_body.decode("utf-8")) if raw_body.strip() else None
        except (UnicodeDecodeError, ValueError):
            return v2_error(v2_spec.INVALID_JSON_BODY)
        if not isinstance(body, dict):
            return v2_error(v2_spec.INVALID_JSON_BODY)
        action = body.get("action_type")
        if action != v2_spec.ACTION_TERMINATE:
            return v2_error(v2_spec.UNSUPPORTED_ACTION_TYPE, str(action))
        now = store.now()
        before = job.state(now, store.speed).phase
        accepted = job.terminate(now, store.speed)
        store.terminations.append(
            {
                "id": job.job_id,
                "name": job.name,
                "phase_before": before,
                "status": 202 if accepted else 409,
                "time": store.wall_ms(now),
            }
        )
        if not accepted:
            return v2_error(v2_spec.NOT_ALLOWED_TO_TERMINATE)
        payload = job_object(store, job, job.state(now, store.speed))
    return json_response(202, payload)


def delete_training_job(store: TrainingJobStore, raw_id: str) -> Response:
    """``DELETE .../training-jobs/{id}``: 202 and no body (any phase; the docs name no restriction)."""
    if not store.delete(raw_id):
        return _not_found(raw_id)
    return Response(202, b"", content_type="application/json")


def _address(job: TrainingJob, index: int, host: bool) -> str:
    seed = job.profile + index * 7919
    if host:
        return f"192.168.{(seed >> 8) % 250 + 1}.{seed % 250 + 2}"
    return f"172.16.{(seed >> 4) % 250 + 1}.{(seed >> 12) % 250 + 2}"


def list_tasks(store: TrainingJobStore, raw_id: str, pairs: Sequence[tuple[str, str]]) -> Response:
    """``GET .../training-jobs/{id}/tasks[?schedule_count=]``: the tasks of the job's one
    scheduling (``schedule_count`` 1), once it has been scheduled (Running reached); ``[]`` before.
    ``schedule_count`` other than 1 gives ``[]``; a non-integer one is 400 ModelArts.2788."""
    wanted = None
    for name, value in pairs:
        if name == "schedule_count":
            if not value.isdigit():
                return v2_error(v2_spec.INVALID_PARAM, "schedule_count")
            wanted = int(value)
    with store.lock:
        job = store.get(raw_id)
        if job is None:
            return _not_found(raw_id)
        state = job.state(store.now(), store.speed)
        if state.running_since is None or wanted not in (None, 1):
            return json_response(200, [])
        tasks = [
            {
                "task": task,
                "ip": _address(job, index, False),
                "host_ip": _address(job, index, True),
                "schedule_count": 1,
            }
            for index, task in enumerate(job.tasks)
        ]
    return json_response(200, tasks)


def task_logs(store: TrainingJobStore, raw_id: str, task: str, pairs: Sequence[tuple[str, str]]) -> Response:
    """``GET .../training-jobs/{id}/logs/{task_id}`` (see :mod:`.logs`)."""
    try:
        base_line, count, order, _ = v2_logs.parse_query(pairs)
    except v2_logs.LogQueryError as error:
        return v2_error(v2_spec.INVALID_PARAM, error.parameter)
    found = _task_log_lines(store, raw_id, task)
    if isinstance(found, Response):
        return found
    job, lines = found
    return json_response(200, v2_logs.page(job, lines, base_line, count, order).payload())


def task_log_preview(store: TrainingJobStore, raw_id: str, task: str, max_bytes: int) -> Response:
    """``GET .../training-jobs/{id}/tasks/{task_id}/logs/preview`` (see :mod:`.logs`)."""
    found = _task_log_lines(store, raw_id, task)
    if isinstance(found, Response):
        return found
    return json_response(200, v2_logs.preview(found[1], max_bytes).payload())


def _task_log_lines(store: TrainingJobStore, raw_id: str, task: str) -> tuple[TrainingJob, list[str]] | Response:
    """The job and the lines its task has logged so far, or the answer when there are none: 2775
    for no such job, 2788 (``task_id``) for no such task, 204 ModelArts.2776 while the log is empty."""
    with store.lock:
        job = store.get(raw_id)
        if job is None:
            return _not_found(raw_id)
        if task not in job.tasks:
            return v2_error(v2_spec.INVALID_PARAM, "task_id")
        lines = v2_logs.visible_lines(job, task, job.state(store.now(), store.speed))
    if not lines:
        return Response(204, b"", content_type="application/json", error_code=v2_spec.NOT_READY_TO_FETCH_LOG.code)
    return job, lines
