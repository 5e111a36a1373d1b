"""Compact forms of a v2 job object, for XCom and messages: one flat row per job
(:func:`job_row`), what a finished wait returns (:func:`job_summary`) and the words a failure
message uses (:func:`describe_outcome`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_modelarts.cloud.v2._read import _list, _mapping


def job_row(job: Mapping[str, Any]) -> dict[str, Any]:
    """One search result as a flat, JSON-serialisable row: what a downstream task needs to pick a
    job, wait for it, or fetch its logs (``tasks`` are the task names the log calls take).

    Times are the API's: ``create_time`` and ``start_time`` in epoch milliseconds, ``duration``
    in milliseconds. Missing fields are ``None``.
    """
    metadata = _mapping(job.get("metadata"))
    status = _mapping(job.get("status"))
    resource = _mapping(_mapping(job.get("spec")).get("resource"))
    return {
        "id": metadata.get("id"),
        "name": metadata.get("name"),
        "kind": job.get("kind"),
        "phase": status.get("phase"),
        "secondary_phase": status.get("secondary_phase"),
        "create_time": metadata.get("create_time"),
        "start_time": status.get("start_time"),
        "duration": status.get("duration"),
        "flavor": resource.get("flavor_id"),
        "node_count": resource.get("node_count"),
        "pool_id": resource.get("pool_id"),
        "workspace_id": metadata.get("workspace_id"),
        "user_name": metadata.get("user_name"),
        "tasks": [task for task in _list(status.get("tasks")) if isinstance(task, str)],
    }


def task_statuses(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each task's ``{task, exit_code, message}`` from ``status.task_statuses``."""
    return [
        {"task": entry.get("task"), "exit_code": entry.get("exit_code"), "message": entry.get("message")}
        for entry in _list(_mapping(job.get("status")).get("task_statuses"))
        if isinstance(entry, Mapping)
    ]


def output_obs_urls(job: Mapping[str, Any]) -> dict[str, str]:
    """The job's OBS outputs by channel name (``algorithm.outputs[].remote.obs.obs_url``)."""
    outputs: dict[str, str] = {}
    for channel in _list(_mapping(job.get("algorithm")).get("outputs")):
        if not isinstance(channel, Mapping):
            continue
        url = _mapping(_mapping(channel.get("remote")).get("obs")).get("obs_url")
        if isinstance(url, str):
            outputs[str(channel.get("name", len(outputs)))] = url
    return outputs


def job_summary(job: Mapping[str, Any]) -> dict[str, Any]:
    """What a wait returns for a finished job: the row, each task's exit code and message, and
    the output OBS paths."""
    return {**job_row(job), "task_statuses": task_statuses(job), "outputs": output_obs_urls(job)}


def describe_outcome(job: Mapping[str, Any]) -> str:
    """``secondary_phase`` and each task's exit code and message, for a failure message.

    ``secondary_phase`` is internal and may change (the docs say so): shown, never relied on.
    """
    parts = []
    secondary = _mapping(job.get("status")).get("secondary_phase")
    if secondary:
        parts.append(f"secondary phase {secondary}")
    for entry in task_statuses(job):
        text = f"task {entry['task']} exit code {entry['exit_code']}"
        if entry["message"]:
            text += f" ({entry['message']})"
        parts.append(text)
    return "; ".join(parts)
