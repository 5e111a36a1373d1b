"""The emulator's v2 training-job lifecycle over real HTTP: create (validation, duplicate names,
create plans), terminate, delete, the task list, per-task AOM logs read from a cursor, and the
faults that lose a create's answer after the job was made.

Requests are signed by the official ``huaweicloudsdkcore`` signer (``signed_requests.SdkAkSkAuth``).
The emulator's clock is manual and moves with ``advance_time``: no test waits for the
wall clock (the one exception is the ``slow`` fault, which sleeps in the server by design).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_client import SdkAkSkAuth
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    DEMO_TRAINING_JOBS,
    EmulatorConfig,
    ModelArtsEmulator,
)
from modelarts_emulator.faults import FaultRegistry

PROJECT = DEFAULT_PROJECT_ID
AKSK = SdkAkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
JOBS_PATH = f"/v2/{PROJECT}/training-jobs"
SOLUTION_PARAM = "Check the request parameter."
DEMO_ALGORITHM_ID = "2e5f8b1c-4d7a-4c3e-9b1f-6a8d0c2e4f60"


@pytest.fixture
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=8, manual_clock=True)) as emulator:
        yield emulator


def job_body(name: str = "train-resnet", **resource: Any) -> dict[str, Any]:
    """A create body as the docs' example builds it: code and boot file on OBS, an engine by id."""
    return {
        "kind": "job",
        "metadata": {
            "name": name,
            "description": "ResNet-50 from the emulator tests",
            "annotations": {"fault-tolerance/job-retry-num": "1"},
        },
        "algorithm": {
            "code_dir": "obs://bucket/code/",
            "boot_file": "obs://bucket/code/train.py",
            "parameters": [{"name": "epochs", "value": "4"}, {"name": "lr", "value": "0.01", "description": "rate"}],
            "inputs": [
                {"name": "data_url", "remote": {"obs": {"obs_url": "/bucket/data/"}}},
                {"name": "ds", "remote": {"dataset": {"id": "ds-1", "version_id": "v-1"}}},
            ],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "/bucket/output/"}}}],
            "engine": {"engine_id": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64"},
        },
        "spec": {
            "resource": {"flavor_id": "modelarts.p3.large.public", "node_count": 1, **resource},
            "log_export_path": {"obs_url": "/bucket/logs/"},
        },
    }


def create(emu: ModelArtsEmulator, body: Any, **kwargs: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{emu.url}{JOBS_PATH}", data=data, headers=headers, auth=AKSK, **{"timeout": 10, **kwargs})


def created(emu: ModelArtsEmulator, body: dict[str, Any]) -> dict[str, Any]:
    response = create(emu, body)
    assert response.status_code == 201, response.text
    payload: dict[str, Any] = response.json()
    return payload


def show(emu: ModelArtsEmulator, job_id: str) -> requests.Response:
    return requests.get(f"{emu.url}{JOBS_PATH}/{job_id}", auth=AKSK, timeout=10)


def phase(emu: ModelArtsEmulator, job_id: str) -> str:
    return str(show(emu, job_id).json()["status"]["phase"])


def action(emu: ModelArtsEmulator, job_id: str, body: Any) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    url = f"{emu.url}{JOBS_PATH}/{job_id}/actions"
    return requests.post(url, data=json.dumps(body).encode(), headers=headers, auth=AKSK, timeout=10)


def logs(emu: ModelArtsEmulator, job_id: str, task: str = "worker-0", **query: Any) -> requests.Response:
    url = f"{emu.url}{JOBS_PATH}/{job_id}/logs/{task}"
    return requests.get(url, params=query, auth=AKSK, timeout=10)


def v2_error(code: str, message: str, solution: str) -> dict[str, str]:
    return {"error_code": code, "error_msg": message, "error_solution": solution}


def search_names(emu: ModelArtsEmulator, name: str) -> list[str]:
    body = {"limit": 50, "filters": [{"key": "name", "operator": "like", "value": [name]}]}
    response = requests.post(f"{emu.url}/v2/{PROJECT}/training-job-searches", json=body, auth=AKSK, timeout=10)
    assert response.status_code == 200, response.text
    return [item["metadata"]["name"] for item in response.json()["items"]]


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------


def test_create_answers_201_with_what_the_request_gave(emu: ModelArtsEmulator) -> None:
    body = job_body(node_count=2)
    job = created(emu, body)
    assert job == show(emu, job["metadata"]["id"]).json()
    assert set(job) == {"kind", "metadata", "status", "algorithm", "spec"} and job["kind"] == "job"
    metadata = job["metadata"]
    assert (metadata["name"], metadata["description"], metadata["workspace_id"]) == (
        "train-resnet",
        "ResNet-50 from the emulator tests",
        "0",
    )
    assert metadata["annotations"] == {"fault-tolerance/job-retry-num": "1"}
    status = job["status"]
    assert (status["phase"], status["secondary_phase"], status["duration"], status["start_time"]) == (
        "Creating",
        "Creating",
        0,
        0,
    )
    assert status["tasks"] == ["worker-0", "worker-1"] and "task_statuses" not in status
    algorithm = job["algorithm"]
    assert (algorithm["code_dir"], algorithm["boot_file"]) == ("obs://bucket/code/", "obs://bucket/code/train.py")
    assert algorithm["parameters"] == body["algorithm"]["parameters"]
    assert [(item["name"], item["remote"]) for item in algorithm["inputs"]] == [
        ("data_url", {"obs": {"obs_url": "/bucket/data/"}}),
        ("ds", {"dataset": {"id": "ds-1", "version_id": "v-1"}}),
    ]
    assert [(item["name"], item["remote"]) for item in algorithm["outputs"]] == [
        ("train_url", {"obs": {"obs_url": "/bucket/output/"}})
    ]
    assert algorithm["engine"] == {
        "engine_id": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
        "engine_name": "PyTorch",
        "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
    }
    resource = job["spec"]["resource"]
    assert (resource["flavor_id"], resource["node_count"]) == ("modelarts.p3.large.public", 2)
    assert "pool_id" not in resource and job["spec"]["log_export_path"] == {"obs_url": "/bucket/logs/"}
    assert [entry["status"] for entry in emu.stats()["requests"] if entry["endpoint"] == "create_training_job"] == [201]


def test_other_ways_to_name_the_algorithm_engine_and_resource(emu: ModelArtsEmulator) -> None:
    by_id = job_body("by-id")
    by_id["algorithm"] = {"id": DEMO_ALGORITHM_ID}
    job = created(emu, by_id)
    assert (job["algorithm"]["id"], job["algorithm"]["name"]) == (DEMO_ALGORITHM_ID, "resnet50-pytorch")
    market = job_body("by-subscription")
    market["algorithm"] = {"subscription_id": "sub-1", "item_version_id": "v-2"}
    assert created(emu, market)["algorithm"]["subscription_id"] == "sub-1"
    image = job_body("custom-image")
    image["algorithm"]["engine"] = {"image_url": "swr.example/ns/train:1"}
    image["algorithm"]["command"] = "python train.py"
    assert created(emu, image)["algorithm"]["engine"] == {"image_url": "swr.example/ns/train:1"}
    pooled = job_body("pooled", pool_id="pool-emulator-dedicated")
    del pooled["spec"]["resource"]["flavor_id"]
    resource = created(emu, pooled)["spec"]["resource"]
    assert (resource["pool_id"], resource["pool_name"]) == ("pool-emulator-dedicated", "emulator-dedicated-pool")
    minimal = {
        "metadata": {"name": "minimal"},
        "algorithm": {"code_dir": "/bucket/code/", "boot_file": "/bucket/code/train.py"},
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u"}},
    }
    job = created(emu, minimal)
    assert (job["kind"], job["spec"]["resource"]["node_count"], job["metadata"]["description"]) == ("job", 1, "")


def _without(path: str) -> Any:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[key]
        del target[last]

    return change


def _set(path: str, value: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _invalid(field: str) -> dict[str, str]:
    return v2_error("ModelArts.2788", f"Invalid parameter({field}).", SOLUTION_PARAM)


@pytest.mark.parametrize(
    ("change", "status", "expected"),
    [
        (_without("metadata"), 400, _invalid("metadata")),
        (_without("metadata.name"), 400, _invalid("metadata.name")),
        (_set("metadata.name", ""), 400, _invalid("metadata.name")),
        (_set("metadata.name", "x" * 65), 400, _invalid("metadata.name")),
        (_set("metadata.name", "bad name"), 400, _invalid("metadata.name")),
        (_set("metadata.name", "naïve"), 400, _invalid("metadata.name")),
        (_set("metadata.description", "d" * 257), 400, _invalid("metadata.description")),
        (_set("kind", "batch"), 400, _invalid("kind")),
        (
            _set("metadata.workspace_id", "f" * 32),
            400,
            v2_error("ModelArts.0102", "The workspace does not exist.", "Check the current workspace."),
        ),
        (_without("algorithm"), 400, _invalid("algorithm")),
        (_set("algorithm.id", DEMO_ALGORITHM_ID), 400, _invalid("algorithm")),
        (_without("algorithm.boot_file"), 400, _invalid("algorithm.boot_file")),
        (
            _set("algorithm", {"id": "00000000-0000-4000-8000-000000000000"}),
            400,
            v2_error(
                "ModelArts.2755",
                "algorithm not found.",
                "Check whether the training project information in the request is valid.",
            ),
        ),
        (_set("algorithm", {"subscription_id": "sub-1"}), 400, _invalid("algorithm.item_version_id")),
        (
            _set("algorithm.code_dir", "bucket/code/"),
            400,
            v2_error(
                "ModelArts.2791",
                "Invalid obs path: bucket/code/, reason: code_dir must start with obs:// or /.",
                "Check the obs path.",
            ),
        ),
        (
            _set("algorithm.engine", {"engine_id": "pytorch-cp36-1.4.0-v2", "image_url": "swr.example/i:1"}),
            400,
            _invalid("algorithm.engine"),
        ),
        (
            _set("algorithm.engine", {"engine_id": "no-such-engine"}),
            400,
            v2_error(
                "ModelArts.2780",
                "AI engine(id:no-such-engine) not found.",
                "Check whether the engine informer in the request is valid.",
            ),
        ),
        (
            _set("algorithm.engine", {"image_url": "swr.example/i:1"}),
            400,
            v2_error(
                "ModelArts.2806",
                "Custom image jobs command and engine.url cannot be empty.",
                "Check whether the command and engine.url is valid.",
            ),
        ),
        (_set("algorithm.inputs", [{"name": "data_url"}]), 400, _invalid("algorithm.inputs")),
        (_set("algorithm.outputs", [{"remote": {"obs": {"obs_url": "/b/o/"}}}]), 400, _invalid("algorithm.outputs")),
        (_without("spec"), 400, _invalid("spec")),
        (_without("spec.resource"), 400, _invalid("spec.resource")),
        (_without("spec.resource.flavor_id"), 400, _invalid("spec.resource.flavor_id")),
        (
            _set("spec.resource.flavor_id", "modelarts.no.such"),
            400,
            v2_error(
                "ModelArts.2781",
                "Flavor (modelarts.no.such) not found.",
                "Check whether the flavor in the request is valid.",
            ),
        ),
        (
            _set("spec.resource.pool_id", "pool-nope"),
            404,
            v2_error("ModelArts.2890", "Pool (pool-nope) does not exist", "Please check whether the pool exists"),
        ),
        (_set("spec.resource.node_count", 0), 400, _invalid("spec.resource.node_count")),
        (_set("spec.resource.node_count", "2"), 400, _invalid("spec.resource.node_count")),
        (_set("spec.resource.node_count", True), 400, _invalid("spec.resource.node_count")),
        (
            _set("spec.resource.node_count", 65),
            400,
            v2_error(
                "ModelArts.2793", "The number of flavor instances (65) exceeds the maximum (64).", "Check the flavor."
            ),
        ),
    ],
)
def test_create_validation(emu: ModelArtsEmulator, change: Any, status: int, expected: dict[str, str]) -> None:
    body = copy.deepcopy(job_body())
    change(body)
    response = create(emu, body)
    assert (response.status_code, response.json()) == (status, expected)
    assert search_names(emu, "train-resnet") == []


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[]", json.dumps("job").encode()])
def test_create_bodies_that_are_not_objects(emu: ModelArtsEmulator, raw: bytes) -> None:
    response = create(emu, raw)
    assert (response.status_code, response.json()) == (
        400,
        v2_error("ModelArts.2787", "Invalid JSON request body.", "Check the request body."),
    )


def test_a_name_already_used_is_2751_until_that_job_is_deleted(emu: ModelArtsEmulator) -> None:
    first = created(emu, job_body("once"))
    again = create(emu, job_body("once"))
    duplicate = v2_error("ModelArts.2751", "Duplicate training job (name once).", "Change training job name.")
    assert (again.status_code, again.json()) == (400, duplicate)
    seeded = create(emu, job_body("demo-v2-resnet50-train"))
    assert (seeded.status_code, seeded.json()["error_code"]) == (400, "ModelArts.2751")
    # Names are case-sensitive: another job.
    assert created(emu, job_body("ONCE"))["metadata"]["name"] == "ONCE"
    assert sorted(search_names(emu, "once")) == ["ONCE", "once"]
    deleted = requests.delete(f"{emu.url}{JOBS_PATH}/{first['metadata']['id']}", auth=AKSK, timeout=10)
    assert (deleted.status_code, deleted.content) == (202, b"")
    assert created(emu, job_body("once"))["metadata"]["id"] != first["metadata"]["id"]


def test_created_jobs_move_through_the_default_phases(emu: ModelArtsEmulator) -> None:
    job_id = created(emu, job_body())["metadata"]["id"]
    seen = []
    for _ in range(17):
        seen.append(phase(emu, job_id))
        emu.advance_time(1.0)
    assert seen == ["Creating"] * 2 + ["Pending"] * 3 + ["Running"] * 10 + ["Completed"] * 2
    status = show(emu, job_id).json()["status"]
    assert status["duration"] == 10_000 and status["task_statuses"] == [
        {"task": "worker-0", "exit_code": 0, "message": ""}
    ]


def test_speed_applies_to_created_jobs() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, speed=5.0, manual_clock=True)) as emu:
        job_id = created(emu, job_body())["metadata"]["id"]
        emu.advance_time(1.0)  # 5 emulated seconds: Creating 2 + Pending 3 are over
        assert phase(emu, job_id) == "Running"
        emu.advance_time(2.0)
        status = show(emu, job_id).json()["status"]
    # Running 10 emulated seconds is 2 real ones, what the duration reports (real time, as
    # start_time is): start_time + duration is when the job completed.
    assert (status["phase"], status["duration"]) == ("Completed", 2_000)
    assert status["node_count_metrics"][-1] == [status["start_time"] + 2_000, 0]


# ---------------------------------------------------------------------------------------------
# Create plans
# ---------------------------------------------------------------------------------------------


def test_a_create_plan_sets_timeline_exit_codes_and_log_lines(emu: ModelArtsEmulator) -> None:
    plan = emu.set_create_plan(
        "oom-",
        [("Creating", 1), ("Pending", 1), ("Running", 4), ("Failed", None)],
        task_statuses=[{"task": "worker-1", "exit_code": 137, "message": "OOMKilled"}],
        logs={"worker-1": ["loading", "epoch 1", [3.5, "epoch 2"], [4, "Killed"]]},
    )
    assert plan["logs"]["worker-1"] == [[0.0, "loading"], [1.0, "epoch 1"], [3.5, "epoch 2"], [4.0, "Killed"]]
    emu.set_create_plan("oom-long-", [("Running", 100), ("Completed", None)])
    job_id = created(emu, job_body("oom-bert", node_count=2))["metadata"]["id"]
    longer = created(emu, job_body("oom-long-bert"))["metadata"]["id"]
    other = created(emu, job_body("bert"))["metadata"]["id"]
    emu.advance_time(2.0)
    assert (phase(emu, job_id), phase(emu, longer), phase(emu, other)) == ("Running", "Running", "Pending")
    assert emu.task_log(job_id, "worker-1") == ["loading"]
    emu.advance_time(4.0)
    status = show(emu, job_id).json()["status"]
    assert status["phase"] == "Failed" and status["task_statuses"] == [
        {"task": "worker-0", "exit_code": 0, "message": ""},
        {"task": "worker-1", "exit_code": 137, "message": "OOMKilled"},
    ]
    assert emu.task_log(job_id, "worker-1") == ["loading", "epoch 1", "epoch 2", "Killed"]
    # A task the plan gives no lines prints the default ones.
    assert emu.task_log(job_id, "worker-0")[-1] == "ERROR [worker-0] a peer task failed; stopping"


def test_create_plans_over_http(emu: ModelArtsEmulator) -> None:
    url = f"{emu.url}/_emulator/v2/create-plans"
    plan = {"timeline": [["Running", 2], ["Failed", None]], "exit_code": 2, "message": "bad args"}
    response = requests.put(f"{url}/cli-", json=plan, timeout=10)
    assert response.status_code == 200 and response.json()["name_prefix"] == "cli-"
    assert [item["name_prefix"] for item in requests.get(url, timeout=10).json()["plans"]] == ["cli-"]
    job_id = created(emu, job_body("cli-job"))["metadata"]["id"]
    emu.advance_time(2.0)
    assert show(emu, job_id).json()["status"]["task_statuses"] == [
        {"task": "worker-0", "exit_code": 2, "message": "bad args"}
    ]
    assert emu.task_log(job_id, "worker-0")[-1] == "ERROR [worker-0] bad args (exit code 2)"
    completes = {"timeline": [["Running", 2], ["Completed", None]], "exit_code": 1}
    bad = requests.put(f"{url}/cli-", json=completes, timeout=10)
    assert bad.status_code == 400 and "Failed" in bad.json()["error"]
    assert requests.put(f"{url}/cli-", json={"exit_code": 1}, timeout=10).status_code == 400
    assert [plan["name_prefix"] for plan in emu.create_plans()] == ["cli-"]
    assert requests.delete(f"{url}/cli-", timeout=10).status_code == 200
    assert requests.delete(f"{url}/cli-", timeout=10).status_code == 404
    assert requests.get(url, timeout=10).json() == {"plans": []}


# ---------------------------------------------------------------------------------------------
# Terminate, delete, tasks
# ---------------------------------------------------------------------------------------------


def test_terminate_is_202_then_409_once_the_job_has_ended(emu: ModelArtsEmulator) -> None:
    job_id = created(emu, job_body())["metadata"]["id"]
    emu.advance_time(7.0)  # 2 s into Running
    response = action(emu, job_id, {"action_type": "terminate"})
    assert response.status_code == 202
    assert response.json()["metadata"]["id"] == job_id and response.json()["status"]["phase"] == "Terminating"
    emu.advance_time(3.0)
    status = show(emu, job_id).json()["status"]
    # The duration runs until the job is Terminated: 2 s Running and 3 s Terminating.
    assert (status["phase"], status["duration"]) == ("Terminated", 5000)
    again = action(emu, job_id, {"action_type": "terminate"})
    assert (again.status_code, again.json()) == (
        409,
        v2_error("ModelArts.2796", "The job cannot be terminated.", "Check whether the job status is valid."),
    )
    records = emu.terminations(job_id)
    assert [(entry["phase_before"], entry["status"]) for entry in records] == [("Running", 202), ("Terminated", 409)]
    assert requests.get(f"{emu.url}/_emulator/v2/terminations", timeout=10).json() == {"terminations": records}
    emu.set_create_plan("kept-", [("Running", None)])
    emu.reset()
    assert emu.terminations() == []
    assert [plan["name_prefix"] for plan in emu.create_plans()] == ["kept-"]  # plans stay, like jobs


def test_terminate_in_creating_and_after_completion(emu: ModelArtsEmulator) -> None:
    early = created(emu, job_body("early"))["metadata"]["id"]
    assert action(emu, early, {"action_type": "terminate"}).json()["status"]["phase"] == "Terminating"
    done = created(emu, job_body("done"))["metadata"]["id"]
    emu.advance_time(15.0)
    assert phase(emu, early) == "Terminated" and phase(emu, done) == "Completed"
    assert action(emu, done, {"action_type": "terminate"}).status_code == 409
    # A job that never ran prints nothing: its log stays 204.
    assert logs(emu, early).status_code == 204


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"action_type": "restart"}, "Unsupported action type:restart"),
        ({"action_type": "TERMINATE"}, "Unsupported action type:TERMINATE"),
        ({}, "Unsupported action type:None"),
    ],
)
def test_other_actions_are_2812(emu: ModelArtsEmulator, body: dict[str, Any], message: str) -> None:
    job_id = created(emu, job_body())["metadata"]["id"]
    response = action(emu, job_id, body)
    assert (response.status_code, response.json()) == (
        400,
        v2_error("ModelArts.2812", message, "Check whether the action type is valid."),
    )
    assert phase(emu, job_id) == "Creating" and emu.terminations() == []


def test_unknown_jobs_are_2775_everywhere(emu: ModelArtsEmulator) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    expected = v2_error(
        "ModelArts.2775",
        f"Training job (ID: {missing}) not found.",
        "Check whether the training job information in the request is valid.",
    )
    responses = [
        action(emu, missing, {"action_type": "terminate"}),
        requests.delete(f"{emu.url}{JOBS_PATH}/{missing}", auth=AKSK, timeout=10),
        requests.get(f"{emu.url}{JOBS_PATH}/{missing}/tasks", auth=AKSK, timeout=10),
        logs(emu, missing),
    ]
    assert [(response.status_code, response.json()) for response in responses] == [(400, expected)] * 4


def test_delete_is_202_with_no_body_and_the_job_is_gone(emu: ModelArtsEmulator) -> None:
    job_id = created(emu, job_body())["metadata"]["id"]
    emu.advance_time(6.0)
    deleted = requests.delete(f"{emu.url}{JOBS_PATH}/{job_id}", auth=AKSK, timeout=10)
    assert (deleted.status_code, deleted.content) == (202, b"")
    assert show(emu, job_id).json()["error_code"] == "ModelArts.2775"
    assert search_names(emu, "train-resnet") == []
    assert requests.delete(f"{emu.url}{JOBS_PATH}/{job_id}", auth=AKSK, timeout=10).status_code == 400


def test_the_task_list(emu: ModelArtsEmulator) -> None:
    job_id = created(emu, job_body(node_count=2))["metadata"]["id"]
    url = f"{emu.url}{JOBS_PATH}/{job_id}/tasks"
    assert requests.get(url, auth=AKSK, timeout=10).json() == []  # not scheduled yet
    emu.advance_time(5.0)
    tasks = requests.get(url, auth=AKSK, timeout=10).json()
    assert [(task["task"], task["schedule_count"]) for task in tasks] == [("worker-0", 1), ("worker-1", 1)]
    assert all(set(task) == {"task", "ip", "host_ip", "schedule_count"} for task in tasks)
    assert len({task["ip"] for task in tasks}) == 2
    assert requests.get(url, params={"schedule_count": 1}, auth=AKSK, timeout=10).json() == tasks
    assert requests.get(url, params={"schedule_count": 2}, auth=AKSK, timeout=10).json() == []
    bad = requests.get(url, params={"schedule_count": "x"}, auth=AKSK, timeout=10)
    assert (bad.status_code, bad.json()) == (400, _invalid("schedule_count"))


# ---------------------------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------------------------


def test_logs_are_204_until_the_task_runs(emu: ModelArtsEmulator) -> None:
    job_id = created(emu, job_body())["metadata"]["id"]
    for step in (0.0, 2.0, 2.9):
        emu.advance_time(step)
        response = logs(emu, job_id)
        assert (response.status_code, response.content) == (204, b"")
    assert [entry["error_code"] for entry in emu.stats()["requests"] if entry["endpoint"] == "training_job_logs"] == [
        "ModelArts.2776"
    ] * 3
    emu.advance_time(0.1)  # Running begins: the start lines are there
    page = logs(emu, job_id)
    assert page.status_code == 200 and page.json()["lines"] == 2


def test_a_cursor_reads_every_line_exactly_once_while_the_log_grows(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("grow-", [("Pending", 1), ("Running", 8), ("Failed", None)], exit_code=3, message="NaN loss")
    job_id = created(emu, job_body("grow-1"))["metadata"]["id"]
    read: list[str] = []
    cursor = "0"  # any position before the first line: read from the start
    sizes = []
    for _ in range(24):
        response = logs(emu, job_id, base_line=cursor, lines=2, order="asc")
        if response.status_code == 200:
            page = response.json()
            sizes.append(page["lines"])
            read += page["content"].splitlines()
            assert page["content"] == "".join(f"{line}\n" for line in page["content"].splitlines())
            if page["lines"]:
                assert int(page["start_line"]) > int(cursor) and int(page["end_line"]) >= int(page["start_line"])
            else:
                assert (page["start_line"], page["end_line"], page["content"]) == (cursor, cursor, "")
            cursor = page["end_line"]
        emu.advance_time(0.5)
    assert phase(emu, job_id) == "Failed"
    full = emu.task_log(job_id, "worker-0")
    assert read == full  # every line once, in order
    assert full[:2] == [
        "INFO [worker-0] ModelArts training job grow-1 started, 1 node(s)",
        "INFO [worker-0] cd /home/ma-user/modelarts/user-job-dir/code && python train.py",
    ]
    assert [line.split(" loss=")[0] for line in full[2:6]] == [f"INFO [worker-0] epoch {n}/4" for n in range(1, 5)]
    assert full[6:] == [
        "Traceback (most recent call last):",
        '  File "/home/ma-user/modelarts/user-job-dir/code/train.py", line 87, in <module>',
        "ERROR [worker-0] NaN loss (exit code 3)",
    ]
    assert 0 in sizes and max(sizes) == 2  # pages waited for lines and were capped at `lines`
    # After the end the log stays readable, and the cursor sees nothing new.
    emu.advance_time(3600.0)
    tail = logs(emu, job_id, base_line=cursor, order="asc").json()
    assert (tail["lines"], tail["start_line"], tail["end_line"]) == (0, cursor, cursor)


def test_log_paging_orders_and_cursors(emu: ModelArtsEmulator) -> None:
    lines = [f"l{n}" for n in range(10)]
    emu.set_create_plan("page-", [("Running", 10), ("Completed", None)], logs={"worker-0": lines})
    job = created(emu, job_body("page-1"))
    job_id, create_ms = job["metadata"]["id"], job["metadata"]["create_time"]
    emu.advance_time(10.0)

    def position(number: int) -> str:  # the n-th line (1-based)
        return str(create_ms * 1_000_000 + number)

    newest = logs(emu, job_id, lines=3).json()  # desc by default, from the newest
    assert newest == {"start_line": position(10), "end_line": position(8), "lines": 3, "content": "l9\nl8\nl7\n"}
    tail = logs(emu, job_id, lines=3, order="asc").json()
    assert tail == {"start_line": position(8), "end_line": position(10), "lines": 3, "content": "l7\nl8\nl9\n"}
    older = logs(emu, job_id, lines=3, base_line=newest["end_line"]).json()  # exclusive: before line 8
    assert (older["content"], older["start_line"], older["end_line"]) == ("l6\nl5\nl4\n", position(7), position(5))
    oldest = logs(emu, job_id, lines=50, base_line=older["end_line"], order="desc").json()
    assert (oldest["content"], oldest["lines"]) == ("l3\nl2\nl1\nl0\n", 4)
    nothing = logs(emu, job_id, base_line=oldest["end_line"], order="desc").json()
    assert nothing == {"start_line": position(1), "end_line": position(1), "lines": 0, "content": ""}
    middle = logs(emu, job_id, lines=2, base_line=position(3), order="asc").json()
    assert (middle["content"], middle["start_line"], middle["end_line"]) == ("l3\nl4\n", position(4), position(5))
    assert logs(emu, job_id).json()["lines"] == 10  # default 50 lines
    assert logs(emu, job_id, base_line="99999999999999999999999", order="asc").json()["lines"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lines": 0}, "lines"),
        ({"lines": 501}, "lines"),
        ({"lines": "ten"}, "lines"),
        ({"order": "up"}, "order"),
        ({"base_line": "abc"}, "base_line"),
        ({"base_line": "-1"}, "base_line"),
    ],
)
def test_bad_log_queries(emu: ModelArtsEmulator, query: dict[str, Any], field: str) -> None:
    job_id = DEMO_TRAINING_JOBS["demo-v2-finished-yesterday"]
    response = logs(emu, job_id, **query)
    assert (response.status_code, response.json()) == (400, _invalid(field))
    assert logs(emu, job_id, lines=500).status_code == 200


def test_unknown_task_is_an_invalid_task_id(emu: ModelArtsEmulator) -> None:
    job_id = DEMO_TRAINING_JOBS["demo-v2-bert-finetune-oom"]  # worker-0 and worker-1
    assert logs(emu, job_id, task="worker-1").status_code == 204  # known task, not running yet
    response = logs(emu, job_id, task="worker-2")
    assert (response.status_code, response.json()) == (400, _invalid("task_id"))


def test_seeded_and_terminated_jobs_have_plausible_logs(emu: ModelArtsEmulator) -> None:
    finished = emu.task_log(DEMO_TRAINING_JOBS["demo-v2-finished-yesterday"], "worker-0")
    assert finished[-1] == "INFO [worker-0] training finished, model saved" and len(finished) == 13
    oom = DEMO_TRAINING_JOBS["demo-v2-bert-finetune-oom"]
    emu.advance_time(40.0)
    assert emu.task_log(oom, "worker-0")[-1].startswith("ERROR [worker-0] Container worker-0 was killed")
    assert emu.task_log(oom, "worker-1")[-1] == "ERROR [worker-1] a peer task failed; stopping"
    job_id = created(emu, job_body())["metadata"]["id"]
    emu.advance_time(9.0)  # 4 s into Running: start lines and epochs 1-2 (of 4, every 2 s)
    before = emu.task_log(job_id, "worker-0")
    assert len(before) == 4
    action(emu, job_id, {"action_type": "terminate"})
    emu.advance_time(60.0)
    after = emu.task_log(job_id, "worker-0")
    assert after == [*before, "WARN [worker-0] received SIGTERM: the training job is being terminated"]
    assert logs(emu, job_id, order="asc").json()["content"] == "".join(f"{line}\n" for line in after)


# ---------------------------------------------------------------------------------------------
# Faults that lose a create's answer after the job was made
# ---------------------------------------------------------------------------------------------


def test_drop_mid_creates_the_job_and_loses_the_answer(emu: ModelArtsEmulator) -> None:
    emu.add_fault("drop_mid", count=1, path_contains="/training-jobs")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        create(emu, job_body("dropped"))
    assert search_names(emu, "dropped") == ["dropped"]
    again = create(emu, job_body("dropped"))  # a blind resend is refused: the name is taken
    assert (again.status_code, again.json()["error_code"]) == (400, "ModelArts.2751")
    assert search_names(emu, "dropped") == ["dropped"]


def test_a_slow_answer_after_the_work_creates_the_job_once() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True)) as emu:
        emu.add_fault("slow", count=1, path_contains="/training-jobs", delay=1.0, after=True)
        with pytest.raises(requests.exceptions.ReadTimeout):
            create(emu, job_body("slow"), timeout=0.2)
        # The job was created before the answer was held back: it is already there.
        assert search_names(emu, "slow") == ["slow"]
        assert [entry["fault"] for entry in emu.stats()["requests"] if entry["endpoint"] == "create_training_job"] == [
            "slow"
        ]


def test_the_slow_fault_checks_after() -> None:
    with pytest.raises(ValueError, match="after must be true or false"):
        FaultRegistry().add("slow", after="yes")


def test_control_created_jobs_print_given_lines_and_the_control_log_endpoint(emu: ModelArtsEmulator) -> None:
    body = {"name": "ctl", "timeline": [["Running", 4], ["Completed", None]], "logs": {"worker-0": ["a", "b"]}}
    made = requests.post(f"{emu.url}/_emulator/v2/training-jobs", json=body, timeout=10)
    assert made.status_code == 201, made.text
    job_id = made.json()["id"]
    url = f"{emu.url}/_emulator/v2/training-jobs/{job_id}/logs"
    assert requests.get(f"{url}/worker-0", timeout=10).json() == {"lines": ["a"]}
    emu.advance_time(2.0)
    assert requests.get(f"{url}/worker-0", timeout=10).json() == {"lines": ["a", "b"]}
    assert requests.get(f"{url}/worker-1", timeout=10).status_code == 404
    bad = requests.post(
        f"{emu.url}/_emulator/v2/training-jobs",
        json={"name": "ctl2", "timeline": [["Running", None]], "logs": {"worker-0": [["soon", "x"]]}},
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json() == {
        "error": "a log line's time is a number of seconds >= 0 after Running began"
    }
