"""Shared fakes of the cloud/v2 tests: a hook whose ``request()`` records the calls and answers
from a fake project or a script, sample jobs and bodies, and typed v2 errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.sdk import Connection

from airflow_provider_modelarts.cloud import transport, v1, v2
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsTransportError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

PROJECT = "0123456789abcdef0123456789abcdef"


WORKSPACE = "fedcba9876543210fedcba9876543210"


JOB_ID = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"


@dataclass
class Call:
    method: str
    path: str
    json_body: Any
    idempotent: bool
    error_table: transport.ErrorTable


@dataclass
class FakeProject:
    """Answers searches the way the docs describe them: ``offset`` is a page number, ``count``
    the number of matches. ``ignore_offset`` plays a server that always answers page 0;
    ``insert_before_page`` adds a newest job before serving that page (desc by create_time)."""

    job_count: int
    ignore_offset: bool = False
    insert_before_page: int | None = None
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.jobs = [_job(f"job-{n}", n) for n in range(self.job_count)]

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        idempotent: bool,
        error_table: transport.ErrorTable = v1.ERROR_TABLE,
    ) -> dict[str, Any]:
        self.calls.append(Call(method, path, json.loads(json.dumps(json_body)), idempotent, error_table))
        if method == "GET":
            return _job("one", 0)
        page = 0 if self.ignore_offset else json_body["offset"]
        if page == self.insert_before_page:
            self.jobs.insert(0, _job("newest", 10_000))
        limit = json_body["limit"]
        items = self.jobs[page * limit : (page + 1) * limit]
        return {"total": len(self.jobs), "count": len(self.jobs), "limit": limit, "offset": page, "items": items}


def _job(name: str, n: int) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"id": str(uuid.UUID(int=n + 1)), "name": name, "create_time": 1_700_000_000_000 - n},
        "status": {"phase": "Running", "secondary_phase": "Running", "duration": 1000 * n, "tasks": ["worker-0"]},
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


def _hook(monkeypatch: pytest.MonkeyPatch, project: FakeProject, **extra: object) -> ModelArtsHook:
    hook = ModelArtsHook("v2_unit")
    hook.configure(
        Connection(
            conn_id="v2_unit",
            conn_type="modelarts",
            login="AK",
            password="SK",
            extra=json.dumps({"region": "cn-north-4", "project_id": PROJECT, **extra}),
        )
    )
    monkeypatch.setattr(hook, "request", project.request)
    return hook


def _error(
    status: int, code: str, table: transport.ErrorTable = v2.ERROR_TABLE, headers: Mapping[str, str] | None = None
) -> ModelArtsApiError:
    body = json.dumps(
        {"error_code": code, "error_msg": f"message of {code}", "error_solution": f"solution of {code}"}
    ).encode()
    return transport.error_from_response(
        status, body, {"X-Request-Id": "req-1", **(headers or {})}, ("SK-SECRET",), table=table
    )


# Shaped like the "Querying the Details About a Training Job" response example.
FAILED_JOB: Mapping[str, Any] = {
    "kind": "job",
    "metadata": {
        "id": JOB_ID,
        "name": "resnet-train",
        "workspace_id": "0",
        "user_name": "alice",
        "create_time": 1_700_000_000_000,
        "description": "",
    },
    "status": {
        "phase": "Failed",
        "secondary_phase": "Failed",
        "duration": 61_000,
        "start_time": 1_700_000_005_000,
        "tasks": ["worker-0", "worker-1"],
        "task_statuses": [
            {"task": "worker-0", "exit_code": 0, "message": ""},
            {"task": "worker-1", "exit_code": 137, "message": "OOMKilled"},
        ],
    },
    "algorithm": {
        "outputs": [
            {"name": "train_url", "remote": {"obs": {"obs_url": "/bucket/out/"}}},
            {"name": "no_obs", "remote": {}},
        ]
    },
    "spec": {"resource": {"flavor_id": "modelarts.p3.large.public", "node_count": 2, "pool_id": None}},
}


def _create_body() -> dict[str, Any]:
    """A body shaped like the CreateTrainingJob example (code_dir + boot_file, one input, one
    output, a public flavor)."""
    return {
        "kind": "job",
        "metadata": {"name": "train-resnet_1", "description": "nightly", "annotations": {"a": "b"}},
        "algorithm": {
            "code_dir": "obs://bucket/code/",
            "boot_file": "obs://bucket/code/train.py",
            "engine": {"engine_name": "PyTorch", "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04"},
            "inputs": [
                {"name": "data_url", "remote": {"obs": {"obs_url": "obs://bucket/data/"}}},
                {"name": "dataset", "remote": {"dataset": {"id": "ds-1", "version_id": "v-1"}}},
            ],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "obs://bucket/out/"}}}],
            "environments": {"EPOCHS": "3"},
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


def _with(path: str, value: object) -> dict[str, Any]:
    """The example body with one value replaced (``_DELETE`` removes the key)."""
    body = _create_body()
    *parents, last = path.split(".")
    target: Any = body
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return body


_DELETE = object()


@dataclass
class ScriptedApi:
    """Answers each request with the next scripted outcome for its method and path kind
    (``create``, ``search``, ``terminate``, ``delete``, ``show``): a dict, or an exception."""

    script: dict[str, list[Any]]
    calls: list[tuple[str, str]] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        idempotent: bool,
        error_table: transport.ErrorTable = v1.ERROR_TABLE,
    ) -> dict[str, Any]:
        if path.endswith("/training-jobs") and method == "POST":
            kind = "create"
            assert not idempotent and error_table is v2.ERROR_TABLE
        elif path.endswith("/training-job-searches"):
            kind = "search"
            assert json_body["filters"] == [{"key": "name", "operator": "like", "value": ["train-1"]}]
        elif path.endswith("/actions"):
            kind = "terminate"
            assert json_body == {"action_type": "terminate"}
        else:
            kind = "delete" if method == "DELETE" else "show"
        self.calls.append((kind, method))
        outcome = self.script[kind].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return dict(outcome)


def _scripted_hook(monkeypatch: pytest.MonkeyPatch, **script: list[Any]) -> tuple[ModelArtsHook, ScriptedApi]:
    api = ScriptedApi({key: list(value) for key, value in script.items()})
    hook = _hook(monkeypatch, FakeProject(job_count=0))
    monkeypatch.setattr(hook, "request", api.request)
    hook.sleep = lambda seconds: None
    return hook, api


def _search_answer(*names: str) -> dict[str, Any]:
    items = [_job(name, n) for n, name in enumerate(names)]
    return {"total": 100, "count": len(items), "limit": 50, "offset": 0, "items": items}


CREATED = _job("train-1", 7)


LOST = ModelArtsTransportError("POST /v2/p/training-jobs failed after 1 attempt(s): ReadTimeout")
