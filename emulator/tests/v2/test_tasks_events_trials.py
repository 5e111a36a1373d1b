"""The emulator's next v2 capabilities (issue 17 item 4), over real HTTP, read from the docs:

* create bodies: a custom image with its command (the create page's example 2, verbatim), a
  preset framework with a custom image, outputs on OBS only, dataset inputs with a version,
  environment variable names, ``pool_group_id`` for ``federated_pool_job``;
* jobs whose tasks are not all ``worker-N`` (the create example's ``["worker-0", "server-0"]``);
* the log preview, the job events and the auto-search trials;
* the switch that withdraws the AOM log API, as on Open Telekom Cloud and the EU site;
* the official SDK's calls for each new endpoint, read into its models.

Sources: Open Telekom Cloud's API reference (``opentelekomcloud-docs/modelarts``,
``api-ref/source/training_management/``: creating_a_training_job.rst,
querying_the_logs_of_a_specified_task_in_a_given_training_job_preview.rst,
obtaining_the_events_of_a_training_job.rst, querying_all_trials_using_hyperparameter_search.rst),
the error-code table (modelarts_03_0095), APIG's error codes (apig_03_0048) and the SDK
``huaweicloudsdkmodelarts`` 3.1.219 models. Requests are signed by the official
``huaweicloudsdkcore`` signer (``signed_requests.SdkAkSkAuth``). The clock is manual and moves with
``advance_time``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_client import SdkAkSkAuth
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    EmulatorConfig,
    ModelArtsEmulator,
)
from modelarts_emulator.__main__ import config_from_args, parse_args

PROJECT = DEFAULT_PROJECT_ID
AKSK = SdkAkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
JOBS = f"/v2/{PROJECT}/training-jobs"
SOLUTION_PARAM = "Check the request parameter."
ENGINE_TF_VERSION = "tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64"
NOT_PUBLISHED = "The API does not exist or has not been published in the environment."
# "2022-11-26T16:03:41+08:00" (the events example)
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")

# The create page's example 2, "use a custom image to create a training job", verbatim.
DOCS_CUSTOM_IMAGE_EXAMPLE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "TestModelArtsJob2", "description": "This is a ModelArts job2"},
    "algorithm": {
        "engine": {"image_url": "xxxxxxxx/fastseq:1.2"},
        "command": "cd /home/ma-user/ddp_demo && sh run_ddp.sh",
        "parameters": [],
        "policies": {"auto_search": None},
        "environments": {"NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "0"},
    },
    "spec": {
        "resource": {"flavor_id": "modelarts.pool.visual.xlarge", "node_count": 1, "pool_id": "poolfaf38d76"},
        "log_export_path": {"obs_url": "/training-test/limou/ddp-demo-log/"},
        "volumes": [
            {"nfs": {"nfs_server_path": "192.168.0.82:/", "local_path": "/home/ma-user/nfs/", "read_only": False}}
        ],
    },
}

AUTO_SEARCH = {
    "skip_search_params": "",
    "reward_attrs": [{"name": "acc", "mode": "max", "regex": "acc=([0-9.]+)"}, {"name": "loss", "mode": "min"}],
    "search_params": [
        {"name": "learning_rate", "param_type": "continuous", "lower_bound": "0.001", "upper_bound": "0.1"},
        {"name": "batch_size", "param_type": "discrete", "discrete_values": ["16", "32", "64"]},
    ],
    "algo_configs": [{"name": "bayes_opt_search", "params": [{"key": "num_samples", "value": "4", "type": "int"}]}],
}


@pytest.fixture
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True)) as emulator:
        yield emulator


def body(name: str = "next-job", **algorithm: Any) -> dict[str, Any]:
    """A create body of the docs' first shape (code_dir + boot_file); ``algorithm`` overrides keys."""
    given: dict[str, Any] = {
        "code_dir": "obs://bucket/code/",
        "boot_file": "obs://bucket/code/train.py",
        "engine": {"engine_name": "TensorFlow", "engine_version": ENGINE_TF_VERSION},
        "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "/bucket/output/"}}}],
    }
    given.update(algorithm)
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {key: value for key, value in given.items() if value is not None},
        "spec": {"resource": {"flavor_id": "modelarts.p3.large.public", "node_count": 1}},
    }


def create(emu: ModelArtsEmulator, payload: dict[str, Any]) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{emu.url}{JOBS}", data=json.dumps(payload).encode(), headers=headers, auth=AKSK, timeout=10)


def created(emu: ModelArtsEmulator, payload: dict[str, Any]) -> dict[str, Any]:
    response = create(emu, payload)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def get(emu: ModelArtsEmulator, path: str, auth: Any = AKSK, **query: Any) -> requests.Response:
    return requests.get(f"{emu.url}{path}", params=query, auth=auth, timeout=10)


def invalid(field: str) -> dict[str, str]:
    return {
        "error_code": "ModelArts.2788",
        "error_msg": f"Invalid parameter({field}).",
        "error_solution": SOLUTION_PARAM,
    }


# ---------------------------------------------------------------------------------------------
# Create bodies
# ---------------------------------------------------------------------------------------------


def test_the_docs_custom_image_example_is_accepted_verbatim(emu: ModelArtsEmulator) -> None:
    job = created(emu, DOCS_CUSTOM_IMAGE_EXAMPLE)
    algorithm = job["algorithm"]
    assert algorithm["engine"] == {"image_url": "xxxxxxxx/fastseq:1.2"}
    assert algorithm["command"] == "cd /home/ma-user/ddp_demo && sh run_ddp.sh"
    assert "code_dir" not in algorithm and "boot_file" not in algorithm and "id" not in algorithm
    assert algorithm["environments"] == [{"NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "0"}]
    resource = job["spec"]["resource"]
    assert (resource["flavor_id"], resource["pool_id"]) == ("modelarts.pool.visual.xlarge", "poolfaf38d76")
    assert job["status"]["tasks"] == ["worker-0"]


@pytest.mark.parametrize(
    "algorithm",
    [
        # image + command, with a code directory and no boot file
        {"engine": {"image_url": "swr/org/img:1"}, "command": "sh run.sh", "boot_file": None},
        # preset framework + custom image (JobEngine.engine_name: set both it and image_url)
        {
            "engine": {"engine_name": "TensorFlow", "engine_version": ENGINE_TF_VERSION, "image_url": "swr/o/i:2"},
            "command": "python train.py",
        },
        # image + command only
        {"engine": {"image_url": "swr/org/img:1"}, "command": "sh run.sh", "code_dir": None, "boot_file": None},
        # preset framework + custom image running the boot file
        {
            "engine": {"engine_name": "TensorFlow", "engine_version": ENGINE_TF_VERSION, "image_url": "swr/o/i:3"},
            "command": None,
        },
    ],
)
def test_custom_image_forms_are_accepted(emu: ModelArtsEmulator, algorithm: dict[str, Any]) -> None:
    job = created(emu, body(**algorithm))
    engine = job["algorithm"]["engine"]
    assert engine["image_url"] == algorithm["engine"]["image_url"]
    if "engine_name" in algorithm["engine"]:
        assert (engine["engine_name"], engine["engine_version"]) == ("TensorFlow", ENGINE_TF_VERSION)
    assert job["algorithm"].get("command") == algorithm["command"]


@pytest.mark.parametrize(
    ("algorithm", "kind", "resource", "expected"),
    [
        # an image without a command: MustHaveCmdAndImage
        (
            {"engine": {"image_url": "swr/org/img:1"}, "code_dir": None, "boot_file": None},
            "job",
            None,
            {
                "error_code": "ModelArts.2806",
                "error_msg": "Custom image jobs command and engine.url cannot be empty.",
                "error_solution": "Check whether the command and engine.url is valid.",
            },
        ),
        # engine_id with another engine form is the one conflict
        ({"engine": {"engine_id": "pytorch-cp36-1.4.0-v2", "image_url": "swr/o/i:1"}, "command": "x"}, "job", None,
         invalid("algorithm.engine")),
        ({"engine": {"engine_id": "pytorch-cp36-1.4.0-v2", "engine_name": "PyTorch"}}, "job", None,
         invalid("algorithm.engine")),
        # a code directory alone, without an image, is half of code_dir + boot_file
        ({"boot_file": None}, "job", None, invalid("algorithm.boot_file")),
        # no way at all: neither a named way nor a custom image
        ({"code_dir": None, "boot_file": None}, "job", None, invalid("algorithm")),
        # outputs: Remote has only obs, Mandatory
        ({"outputs": [{"name": "o", "remote": {"dataset": {"id": "d", "version_id": "v"}}}]}, "job", None,
         invalid("algorithm.outputs")),
        ({"outputs": [{"name": "o", "remote": {"obs": {}}}]}, "job", None, invalid("algorithm.outputs")),
        # a dataset input needs id and version_id
        ({"inputs": [{"name": "i", "remote": {"dataset": {"id": "d"}}}]}, "job", None, invalid("algorithm.inputs")),
        # environment variable names: letters, digits, underscores, not starting with a digit
        ({"environments": {"1BAD": "x"}}, "job", None, invalid("algorithm.environments")),
        ({"environments": {"BAD-NAME": "x"}}, "job", None, invalid("algorithm.environments")),
        ({"environments": {"$HOME": "x"}}, "job", None, invalid("algorithm.environments")),
        # federated_pool_job needs pool_group_id; other kinds cannot run on it alone
        ({}, "federated_pool_job", {"flavor_id": "modelarts.p3.large.public"},
         invalid("spec.resource.pool_group_id")),
        ({}, "job", {"pool_group_id": "group-1"}, invalid("spec.resource.flavor_id")),
        # auto search: reward mode max|min, param_type continuous|discrete
        ({"policies": {"auto_search": {"reward_attrs": [{"name": "acc", "mode": "up"}]}}}, "job", None,
         invalid("algorithm.policies.auto_search")),
        ({"policies": {"auto_search": {"search_params": [{"name": "lr", "param_type": "log"}]}}}, "job", None,
         invalid("algorithm.policies.auto_search")),
    ],
)  # fmt: skip
def test_create_refusals(
    emu: ModelArtsEmulator,
    algorithm: dict[str, Any],
    kind: str,
    resource: dict[str, Any] | None,
    expected: dict[str, str],
) -> None:
    payload = body(**algorithm)
    payload["kind"] = kind
    if resource is not None:
        payload["spec"]["resource"] = resource
    response = create(emu, payload)
    assert (response.status_code, response.json()) == (400, expected)


def test_bodies_the_docs_allow(emu: ModelArtsEmulator) -> None:
    dataset = {"name": "ds", "remote": {"dataset": {"id": "ds-1", "version_id": "v-1"}}}
    created(emu, body("ok-dataset", inputs=[dataset]))
    # The "$" note may be about values only: a value with "$" is kept as it is.
    job = created(emu, body("ok-env", environments={"_A1": "$HOME/x", "b": ""}))
    assert job["algorithm"]["environments"] == [{"_A1": "$HOME/x", "b": ""}]
    federated = body("ok-federated")
    federated["kind"] = "federated_pool_job"
    federated["spec"]["resource"] = {"pool_group_id": "group-1", "node_count": 1}
    job = created(emu, federated)
    assert (job["kind"], job["spec"]["resource"]["pool_group_id"]) == ("federated_pool_job", "group-1")
    # The pool flavors need a pool.
    no_pool = body("no-pool")
    no_pool["spec"]["resource"] = {"flavor_id": "modelarts.pool.visual.xlarge"}
    assert create(emu, no_pool).json()["error_code"] == "ModelArts.2781"


# ---------------------------------------------------------------------------------------------
# Tasks other than worker-N
# ---------------------------------------------------------------------------------------------


def test_a_plan_names_the_tasks_and_their_logs(emu: ModelArtsEmulator) -> None:
    plan = emu.set_create_plan(
        "hetero-",
        [("Creating", 1), ("Running", 10), ("Completed", None)],
        tasks=["worker-0", "server-0"],
        logs={"worker-0": [[0, "worker starts"], [5, "worker epoch 1"]], "server-0": [[1, "server listening"]]},
    )
    assert plan["tasks"] == ["worker-0", "server-0"]
    job = created(emu, body("hetero-1"))
    job_id = job["metadata"]["id"]
    assert job["status"]["tasks"] == ["worker-0", "server-0"]
    emu.advance_time(3.0)  # 2 s into Running
    tasks = get(emu, f"{JOBS}/{job_id}/tasks").json()
    assert [task["task"] for task in tasks] == ["worker-0", "server-0"]
    page = get(emu, f"{JOBS}/{job_id}/logs/server-0").json()
    assert (page["lines"], page["content"]) == (1, "server listening\n")
    # URL-quoted in the path: the same task.
    assert get(emu, f"{JOBS}/{job_id}/logs/server%2D0").json() == page
    preview = get(emu, f"{JOBS}/{job_id}/tasks/server%2D0/logs/preview").json()
    assert preview == {"content": "server listening\n", "current_size": 17, "full_size": 17}
    assert get(emu, f"{JOBS}/{job_id}/logs/worker-0").json()["content"] == "worker starts\n"
    assert emu.task_log(job_id, "server-0") == ["server listening"]
    for path in (f"{JOBS}/{job_id}/logs/worker-1", f"{JOBS}/{job_id}/tasks/worker-1/logs/preview"):
        response = get(emu, path)
        assert (response.status_code, response.json()) == (400, invalid("task_id"))
    emu.advance_time(10.0)
    statuses = get(emu, f"{JOBS}/{job_id}").json()["status"]["task_statuses"]
    assert [status["task"] for status in statuses] == ["worker-0", "server-0"]


def test_the_control_api_names_tasks(emu: ModelArtsEmulator) -> None:
    answer = requests.post(
        f"{emu.url}/_emulator/v2/training-jobs",
        json={
            "name": "ps-job",
            "timeline": [["Running", 5], ["Failed", None]],
            "tasks": ["ps-0", "worker-0"],
            "task_statuses": [{"task": "ps-0", "exit_code": 3, "message": "parameter server lost"}],
            "logs": {"ps-0": ["ps up"]},
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    job_id = answer.json()["id"]
    emu.advance_time(6.0)
    status = get(emu, f"{JOBS}/{job_id}").json()["status"]
    assert status["tasks"] == ["ps-0", "worker-0"]
    assert status["task_statuses"][0] == {"task": "ps-0", "exit_code": 3, "message": "parameter server lost"}
    assert get(emu, f"{JOBS}/{job_id}/logs/ps-0", order="asc", base_line="0").json()["content"] == "ps up\n"
    bad = requests.post(
        f"{emu.url}/_emulator/v2/training-jobs",
        json={"name": "bad", "timeline": [["Running", None]], "tasks": ["worker/0"]},
        timeout=10,
    )
    assert bad.status_code == 400 and "task name" in bad.json()["error"]


# ---------------------------------------------------------------------------------------------
# Log preview
# ---------------------------------------------------------------------------------------------


def test_log_preview_whole_log_and_not_ready(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("pv-", [("Creating", 1), ("Running", 10), ("Completed", None)], logs={"worker-0": ["a", "bé"]})
    job_id = created(emu, body("pv-1"))["metadata"]["id"]
    path = f"{JOBS}/{job_id}/tasks/worker-0/logs/preview"
    not_yet = get(emu, path)
    assert (not_yet.status_code, not_yet.content) == (204, b"")
    emu.advance_time(20.0)
    whole = "a\nbé\n"
    assert get(emu, path).json() == {"content": whole, "current_size": 6, "full_size": 6}
    assert (
        get(emu, f"{JOBS}/00000000-0000-4000-8000-000000000000/tasks/worker-0/logs/preview").json()["error_code"]
        == "ModelArts.2775"
    )


def test_log_preview_returns_the_newest_bytes_under_the_cap() -> None:
    lines = [f"line {number:03d} ünïcode" for number in range(200)]
    config = EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True, log_preview_max_bytes=100)
    with ModelArtsEmulator(config) as emu:
        emu.set_create_plan("big-", [("Running", 5), ("Completed", None)], logs={"worker-0": lines})
        job_id = created(emu, body("big-1"))["metadata"]["id"]
        emu.advance_time(10.0)
        path = f"{JOBS}/{job_id}/tasks/worker-0/logs/preview"
        full = "".join(f"{line}\n" for line in lines).encode()
        preview = get(emu, path).json()
        content = preview["content"].encode()
        assert preview["full_size"] == len(full) and preview["current_size"] == len(content) <= 100
        assert full.endswith(content) and len(content) >= 97  # cut at most a partial character short
        # The cap changes on a running emulator, and reset restores the configured one.
        answer = requests.put(f"{emu.url}/_emulator/v2/log-preview", json={"max_bytes": 1000}, timeout=10)
        assert answer.json() == {"max_bytes": 1000}
        assert 990 <= get(emu, path).json()["current_size"] <= 1000
        emu.reset()
        assert get(emu, path).json()["current_size"] <= 100
        assert requests.put(f"{emu.url}/_emulator/v2/log-preview", json={"max_bytes": 0}, timeout=10).status_code == 400
    with pytest.raises(ValueError, match="log_preview_max_bytes"):
        EmulatorConfig(log_preview_max_bytes=6 * 1024 * 1024)


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


def events(emu: ModelArtsEmulator, job_id: str, **query: Any) -> dict[str, Any]:
    response = get(emu, f"{JOBS}/{job_id}/events", **query)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def test_events_follow_the_lifecycle_of_a_failed_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan(
        "ev-", [("Creating", 1), ("Pending", 2), ("Running", 5), ("Failed", None)], exit_code=137, message="OOMKilled"
    )
    job_id = created(emu, body("ev-1"))["metadata"]["id"]
    first = events(emu, job_id)
    assert [event["message"] for event in first["events"]] == ["Training job created."]
    emu.advance_time(20.0)
    answer = events(emu, job_id, order="asc", limit=100)
    assert set(answer) == {"total", "limit", "offset", "order", "start_time", "end_time", "events"}
    assert (answer["limit"], answer["offset"], answer["order"]) == (100, 0, "asc")
    assert ISO_TIME.match(answer["start_time"]) and ISO_TIME.match(answer["end_time"])
    listed = answer["events"]
    assert answer["total"] == len(listed)
    for event in listed:
        assert set(event) == {"time", "level", "message", "source"} and ISO_TIME.match(event["time"])
        assert event["level"] in ("Info", "Warning", "Error") and event["source"] in ("Job", "Task", "K8S")
    messages = [event["message"] for event in listed]
    expected_order = [
        "Training job created.",
        "Training job is queuing.",
        "Training job is running.",
        "[worker-0] training started.",
        "[worker-0] Training finished. Exit code 137.",
        "[worker-0] OOMKilled",
        "Training job failed.",
    ]
    assert [message for message in messages if message in expected_order] == expected_order
    assert any(message.endswith("Started: Started container") for message in messages)
    # Times never go backwards in asc order; desc is the reverse.
    times = [event["time"] for event in listed]
    assert times == sorted(times)
    assert events(emu, job_id, limit=100)["events"] == list(reversed(listed))
    errors = events(emu, job_id, level="Error")["events"]
    assert [(event["message"], event["source"]) for event in errors] == [
        ("Training job failed.", "Job"),
        ("[worker-0] OOMKilled", "Task"),
    ]
    assert [event["message"] for event in events(emu, job_id, pattern="Exit code")["events"]] == [
        "[worker-0] Training finished. Exit code 137."
    ]
    assert {event["source"] for event in events(emu, job_id, source="K8S")["events"]} == {"K8S"}
    # offset is a page number
    page_one = events(emu, job_id, order="asc", limit=2, offset=1)
    assert page_one["events"] == listed[2:4] and page_one["total"] == len(listed)


def test_events_of_a_terminated_job_and_time_windows(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("term-", [("Running", 100), ("Completed", None)])
    job_id = created(emu, body("term-1"))["metadata"]["id"]
    emu.advance_time(5.0)
    response = requests.post(
        f"{emu.url}{JOBS}/{job_id}/actions", json={"action_type": "terminate"}, auth=AKSK, timeout=10
    )
    assert response.status_code == 202
    emu.advance_time(10.0)
    listed = events(emu, job_id, order="asc")["events"]
    messages = [event["message"] for event in listed]
    assert f"[Job: modelarts-job-{job_id}] ExecuteAction: Start to execute action TerminateJob" in messages
    assert messages[-2:] == ["Training job is terminating.", "Training job terminated."]
    assert listed[-1]["level"] == "Warning"
    # A window in epoch milliseconds, both ends inclusive; the answer echoes it as ISO times.
    now_ms = int(get(emu, f"{JOBS}/{job_id}").json()["metadata"]["create_time"]) + 10**9
    windowed = events(emu, job_id, start_time="0", end_time=str(now_ms))
    assert windowed["total"] == len(listed) and windowed["start_time"] == "1970-01-01T08:00:00+08:00"
    assert events(emu, job_id, start_time=str(now_ms), end_time=str(now_ms + 1))["events"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start_time": "1669449696964"}, "end_time"),
        ({"end_time": "1669449696964"}, "start_time"),
        ({"start_time": "yesterday", "end_time": "1"}, "start_time"),
        ({"level": "Debug"}, "level"),
        ({"limit": "101"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"order": "up"}, "order"),
        ({"pattern": "x" * 257}, "pattern"),
        ({"source": "Pod"}, "source"),
    ],
)
def test_event_query_refusals(emu: ModelArtsEmulator, query: dict[str, str], field: str) -> None:
    job_id = emu.create_training_job("q", [("Running", None)])["id"]
    response = get(emu, f"{JOBS}/{job_id}/events", **query)
    assert (response.status_code, response.json()) == (400, invalid(field))


def test_events_of_an_unknown_job(emu: ModelArtsEmulator) -> None:
    response = get(emu, f"{JOBS}/9a1c0000-0000-4000-8000-000000000000/events")
    assert (response.status_code, response.json()["error_code"]) == (400, "ModelArts.2775")


# ---------------------------------------------------------------------------------------------
# Auto-search trials
# ---------------------------------------------------------------------------------------------


def test_trials_of_an_auto_search_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("hpo-", [("Creating", 1), ("Running", 40), ("Completed", None)])
    job = created(emu, body("hpo-1", policies={"auto_search": AUTO_SEARCH}))
    job_id = job["metadata"]["id"]
    assert job["algorithm"]["policies"]["auto_search"]["reward_attrs"][0]["name"] == "acc"
    path = f"{JOBS}/{job_id}/autosearch-trials"
    before = get(emu, path).json()
    assert (before["total"], before["count"], before["items"]["data"]) == (0, 0, [])
    emu.advance_time(16.0)  # 15 s into a 40 s Running: trials 0 and 1 started (10 s each)
    middle = get(emu, path).json()
    header = middle["items"]["header"]
    assert header == [
        "", "done", "pid", "config", "trial_id", "training_iteration", "time_total_s", "worker_index",
        "reward_attr", "status", "acc", "loss", "best_reward",
    ]  # fmt: skip
    rows = [dict(zip(header, row, strict=True)) for row in middle["items"]["data"]]
    assert [(row[""], row["done"], row["status"]) for row in rows] == [
        ("0", "True", "TERMINATED"),
        ("1", "False", "RUNNING"),
    ]
    assert all(isinstance(cell, str) for row in middle["items"]["data"] for cell in row)
    emu.advance_time(30.0)
    done = get(emu, path).json()
    assert (done["total"], done["count"], done["limit"], done["offset"], done["group_by"]) == (4, 4, 50, 0, "")
    rows = [dict(zip(header, row, strict=True)) for row in done["items"]["data"]]
    assert {row["status"] for row in rows} == {"TERMINATED"} and {row["done"] for row in rows} == {"True"}
    for row in rows:
        config = json.loads(row["config"])
        assert 0.001 <= config["learning_rate"] <= 0.1 and config["batch_size"] in (16, 32, 64)
        assert config["param/learning_rate"] == config["learning_rate"] and config["trial_index"] == int(row[""])
        assert row["reward_attr"] == row["acc"] and float(row["best_reward"]) == max(float(row["acc"]), 0.0)
        assert float(row["loss"]) > 0 and row["training_iteration"] == "2"
    assert len({row["trial_id"] for row in rows}) == 4
    # Deterministic: the same answer again; paging by page number.
    assert get(emu, path).json() == done
    page = get(emu, path, limit=3, offset=1).json()
    assert (page["total"], page["count"], page["items"]["data"]) == (4, 1, done["items"]["data"][3:])
    trial = rows[2]["trial_id"]
    detail = get(emu, f"{path}/{trial}").json()
    assert set(detail) == {"header", "data"} and detail["header"] == header
    assert [row[5] for row in detail["data"]] == ["1", "2"] and detail["data"][-1] == done["items"]["data"][2]
    unknown = get(emu, f"{path}/ffffffff")
    assert (unknown.status_code, unknown.json()) == (400, invalid("trial_id"))
    assert get(emu, path, limit=0).json() == invalid("limit")


def test_a_job_without_auto_search_has_no_trials(emu: ModelArtsEmulator) -> None:
    job_id = emu.create_training_job("plain", [("Running", None)])["id"]
    emu.advance_time(5.0)
    answer = get(emu, f"{JOBS}/{job_id}/autosearch-trials").json()
    assert answer == {
        "total": 0,
        "count": 0,
        "limit": 50,
        "offset": 0,
        "group_by": "",
        "items": {"header": [], "data": []},
    }


def test_trials_of_a_failed_job_end_in_error(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("hpf-", [("Running", 10), ("Failed", None)])
    search = copy.deepcopy(AUTO_SEARCH)
    del search["reward_attrs"]
    job_id = created(emu, body("hpf-1", policies={"auto_search": search}))["metadata"]["id"]
    emu.advance_time(6.0)  # 6 s into a 10 s Running: trials 0 and 1 of 4 done, trial 2 running
    running = get(emu, f"{JOBS}/{job_id}/autosearch-trials").json()["items"]["data"]
    assert running[-1][9] == "RUNNING"
    emu.advance_time(10.0)
    data = get(emu, f"{JOBS}/{job_id}/autosearch-trials").json()["items"]
    assert data["header"][-3:] == ["status", "reward", "best_reward"]
    assert [(row[1], row[9]) for row in data["data"]] == [("True", "TERMINATED")] * 3 + [("False", "ERROR")]
    assert data["data"][-1][5] == "1"


# ---------------------------------------------------------------------------------------------
# Without the AOM log API
# ---------------------------------------------------------------------------------------------


def test_the_aom_log_api_can_be_withdrawn() -> None:
    config = EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True, aom_logs=False)
    with ModelArtsEmulator(config) as emu:
        job_id = emu.create_training_job("otc", [("Running", None)], logs={"worker-0": ["hello"]})["id"]
        emu.advance_time(1.0)
        for auth in (AKSK, None):  # the gateway answers before authenticating
            response = get(emu, f"{JOBS}/{job_id}/logs/worker-0", auth=auth)
            assert response.status_code == 404
            body_ = response.json()
            assert (body_["error_code"], body_["error_msg"]) == ("APIGW.0101", NOT_PUBLISHED)
            assert set(body_) == {"error_code", "error_msg", "request_id"}
        # The preview is still there.
        assert get(emu, f"{JOBS}/{job_id}/tasks/worker-0/logs/preview").json()["content"] == "hello\n"
        assert emu.aom_logs is False
        emu.set_aom_logs(True)
        assert get(emu, f"{JOBS}/{job_id}/logs/worker-0").json()["content"] == "hello\n"
        answer = requests.put(f"{emu.url}/_emulator/v2/aom-logs", json={"enabled": False}, timeout=10)
        assert answer.json() == {"enabled": False}
        assert get(emu, f"{JOBS}/{job_id}/logs/worker-0").status_code == 404
        emu.set_aom_logs(True)
        emu.reset()  # restores the configured value
        assert requests.get(f"{emu.url}/_emulator/v2/aom-logs", timeout=10).json() == {"enabled": False}
        assert requests.put(f"{emu.url}/_emulator/v2/aom-logs", json={"enabled": "no"}, timeout=10).status_code == 400
        assert [entry["endpoint"] for entry in emu.stats()["requests"]] == []


def test_the_cli_flags() -> None:
    config = config_from_args(parse_args(["--no-aom-logs", "--log-preview-max-bytes", "4096"]))
    assert (config.aom_logs, config.log_preview_max_bytes) == (False, 4096)
    default = config_from_args(parse_args([]))
    assert (default.aom_logs, default.log_preview_max_bytes) == (True, 5 * 1024 * 1024)


# ---------------------------------------------------------------------------------------------
# The official SDK
# ---------------------------------------------------------------------------------------------


def model_problems(data: Any, type_name: str, path: str, models: Any) -> list[str]:
    """Where ``data`` does not fit the SDK type ``type_name``: unknown keys, nulls, wrong types."""
    if data is None:
        return [f"{path}: null"]
    if type_name.startswith("list["):
        if not isinstance(data, list):
            return [f"{path}: not a list"]
        return [
            p
            for index, item in enumerate(data)
            for p in model_problems(item, type_name[5:-1], f"{path}[{index}]", models)
        ]
    if type_name.startswith("dict("):
        if not isinstance(data, dict):
            return [f"{path}: not an object"]
        inner = type_name[5:-1].split(", ", 1)[1]
        return [p for key, item in data.items() for p in model_problems(item, inner, f"{path}.{key}", models)]
    primitive = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "object": (object,)}.get(
        type_name
    )
    if primitive is not None:
        wrong = not isinstance(data, primitive) or (type_name in ("int", "float") and isinstance(data, bool))
        return [f"{path}: {data!r} is not {type_name}"] if wrong else []
    model = getattr(models, type_name)
    if not isinstance(data, dict):
        return [f"{path}: not an object for {type_name}"]
    by_json_key = {json_key: attribute for attribute, json_key in model.attribute_map.items()}
    problems = [f"{path}.{key}: unknown to the SDK's {type_name}" for key in data if key not in by_json_key]
    for key, value in data.items():
        if key in by_json_key:
            problems += model_problems(value, model.openapi_types[by_json_key[key]], f"{path}.{key}", models)
    return problems


def test_the_official_sdk_reads_the_new_endpoints() -> None:
    import huaweicloudsdkmodelarts.v1 as modelarts
    from huaweicloudsdkcore.auth.credentials import BasicCredentials

    models = modelarts.model
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True)) as emu:
        emu.set_create_plan(
            "sdk-", [("Creating", 1), ("Running", 20), ("Completed", None)], tasks=["worker-0", "server-0"]
        )
        credentials = BasicCredentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
        client = modelarts.ModelArtsClient.new_builder().with_credentials(credentials).with_endpoints([emu.url]).build()
        auto_search = models.AutoSearch(
            reward_attrs=[models.RewardAttrs(name="acc", mode="max")],
            search_params=[
                models.SearchParams(name="lr", param_type="continuous", lower_bound="0.01", upper_bound="0.1")
            ],
        )
        job = models.Job(
            kind="job",
            metadata=models.JobMetadata(name="sdk-image"),
            algorithm=models.JobAlgorithm(
                command="cd /home/ma-user/ddp_demo && sh run_ddp.sh",
                engine=models.JobEngine(image_url="xxxxxxxx/fastseq:1.2"),
                policies=models.JobPolicies(auto_search=auto_search),
                environments={"NCCL_DEBUG": "INFO"},
            ),
            spec=models.Spec(resource=models.SpecResource(flavor_id="modelarts.p3.large.public", node_count=1)),
        )
        created_job = client.create_training_job(models.CreateTrainingJobRequest(body=job))
        job_id = created_job.metadata.id
        emu.advance_time(25.0)
        preview = client.show_training_job_logs_preview(
            models.ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id="server-0")
        )
        listed_events = client.list_training_job_events(
            models.ListTrainingJobEventsRequest(training_job_id=job_id, limit=100, order="asc", level="Info")
        )
        trials = client.show_auto_search_trials(models.ShowAutoSearchTrialsRequest(training_job_id=job_id, limit=5))
        trial_id = trials.items.data[0][4]
        trial = client.show_auto_search_per_trial(
            models.ShowAutoSearchPerTrialRequest(training_job_id=job_id, trial_id=trial_id)
        )
        seen = [(entry["endpoint"], entry["status"], entry["auth"]) for entry in emu.stats()["requests"]]
    assert seen == [
        ("create_training_job", 201, "aksk"),
        ("training_job_log_preview", 200, "aksk"),
        ("training_job_events", 200, "aksk"),
        ("autosearch_trials", 200, "aksk"),
        ("autosearch_trial", 200, "aksk"),
    ]
    assert created_job.algorithm.engine.image_url == "xxxxxxxx/fastseq:1.2"
    assert created_job.status.tasks == ["worker-0", "server-0"]
    assert preview.content.startswith("INFO [server-0] ModelArts training job sdk-image started")
    assert preview.current_size == preview.full_size == len(preview.content.encode())
    assert listed_events.events[0].message == "Training job created." and listed_events.total == len(
        listed_events.events
    )
    assert {event.level for event in listed_events.events} == {"Info"}
    assert (trials.total, trials.count, trials.limit, len(trials.items.data)) == (8, 5, 5, 5)
    assert trial.header == trials.items.header and trial.data[-1] == trials.items.data[0]
    for response, type_name in [
        (created_job, "CreateTrainingJobResponse"),
        (preview, "ShowTrainingJobLogsPreviewResponse"),
        (listed_events, "ListTrainingJobEventsResponse"),
        (trials, "ShowAutoSearchTrialsResponse"),
        (trial, "ShowAutoSearchPerTrialResponse"),
    ]:
        raw = json.loads(response.raw_content)
        assert model_problems(raw, type_name, "$", models) == []
