"""The emulator's ModelArts v2 training-job API, over real HTTP: search, show, errors, auth, faults,
phase timelines, the control endpoints, and a fidelity check with the official SDK.

Requests are signed by the official ``huaweicloudsdkcore`` signer (``signed_requests.SdkAkSkAuth``)
or sent by the official ``huaweicloudsdkmodelarts`` client. Where a test follows job
timelines, the emulator's clock is manual and moves with ``advance_time``: no test waits for the
wall clock, and phases and durations are exact.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from emulator_client import SdkAkSkAuth, TokenAuth
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_DOMAIN_NAME,
    DEFAULT_PASSWORD,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_TEMP_ACCESS_KEY,
    DEFAULT_TEMP_SECRET_KEY,
    DEFAULT_USER_NAME,
    DEMO_TRAINING_JOBS,
    RESEARCH_WORKSPACE_ID_V2,
    EmulatorConfig,
    ModelArtsEmulator,
)

PROJECT = DEFAULT_PROJECT_ID
V2_JOBS = 90
AKSK = SdkAkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
BAD_SK = SdkAkSkAuth(DEFAULT_ACCESS_KEY, "not-the-secret-key", PROJECT)
TEMP = SdkAkSkAuth(DEFAULT_TEMP_ACCESS_KEY, DEFAULT_TEMP_SECRET_KEY, PROJECT, security_token=DEFAULT_SECURITY_TOKEN)
SEARCH_PATH = f"/v2/{PROJECT}/training-job-searches"
SEARCH_KEYS = {
    "total",
    "count",
    "limit",
    "offset",
    "sort_by",
    "order",
    "group_by",
    "workspace_id",
    "ai_project",
    "items",
}
JOB_KEYS = {"kind", "metadata", "status", "algorithm", "spec"}
ENGINE_TF_VERSION = "tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64"
FINISHED = "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b07"  # demo-v2-finished-yesterday: never changes
SOLUTION_PARAM = "Check the request parameter."


def job_path(job_id: str) -> str:
    return f"/v2/{PROJECT}/training-jobs/{job_id}"


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=6, v2_job_count=V2_JOBS)) as emulator:
        yield emulator


@pytest.fixture
def fresh() -> Iterator[ModelArtsEmulator]:
    """An emulator of its own, for tests that move time or change jobs."""
    with ModelArtsEmulator(EmulatorConfig(job_count=1, v2_job_count=12, manual_clock=True)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> None:
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


def post_search(emu: ModelArtsEmulator, body: Any = None, auth: Any = AKSK, **kwargs: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps({} if body is None else body).encode()
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{emu.url}{SEARCH_PATH}", data=data, headers=headers, auth=auth, timeout=10, **kwargs)


def search(emu: ModelArtsEmulator, body: dict[str, Any] | None = None, auth: Any = AKSK) -> dict[str, Any]:
    response = post_search(emu, body, auth)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def search_all(emu: ModelArtsEmulator, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every match, page by page (offset is a page number)."""
    body = dict(body or {}, limit=50)
    items: list[dict[str, Any]] = []
    page = 0
    while True:
        payload = search(emu, dict(body, offset=page))
        items.extend(payload["items"])
        page += 1
        if page * 50 >= payload["count"]:
            return items


def show(emu: ModelArtsEmulator, job_id: str, auth: Any = AKSK) -> requests.Response:
    return requests.get(f"{emu.url}{job_path(job_id)}", auth=auth, timeout=10)


def job(emu: ModelArtsEmulator, job_id: str) -> dict[str, Any]:
    response = show(emu, job_id)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["metadata"]["id"] for item in items]


def v2_error(code: str, message: str, solution: str) -> dict[str, str]:
    return {"error_code": code, "error_msg": message, "error_solution": solution}


def assert_apigw(response: requests.Response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code and body["request_id"] == response.headers["X-Request-Id"]
    if message is not None:
        assert body["error_msg"] == message


def issue_token(emu: ModelArtsEmulator, scope: dict[str, Any]) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": DEFAULT_USER_NAME,
                        "password": DEFAULT_PASSWORD,
                        "domain": {"name": DEFAULT_DOMAIN_NAME},
                    }
                },
            },
            "scope": scope,
        }
    }
    response = requests.post(f"{emu.url}/v3/auth/tokens", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


# ---------------------------------------------------------------------------------------------
# Search: shape, paging, sorting, filters, workspaces
# ---------------------------------------------------------------------------------------------


def test_search_defaults_and_response_shape(emu: ModelArtsEmulator) -> None:
    payload = search(emu)  # an empty body: every documented default
    assert set(payload) == SEARCH_KEYS
    assert {key: payload[key] for key in SEARCH_KEYS - {"items", "total", "count"}} == {
        "limit": 10, "offset": 0, "sort_by": "create_time", "order": "desc", "group_by": "",
        "workspace_id": "0", "ai_project": "default-ai-project",
    }  # fmt: skip
    assert payload["total"] == payload["count"] and 0 < payload["count"] < V2_JOBS  # some are in another workspace
    assert len(payload["items"]) == 10 and all(set(item) == JOB_KEYS for item in payload["items"])
    created = [item["metadata"]["create_time"] for item in payload["items"]]
    assert created == sorted(created, reverse=True)
    everything = search_all(emu) + search_all(emu, {"workspace_id": RESEARCH_WORKSPACE_ID_V2})
    assert len(everything) == V2_JOBS and len(set(ids(everything))) == V2_JOBS
    assert all(uuid.UUID(job_id).version == 4 for job_id in ids(everything))


def test_offset_is_a_page_number(emu: ModelArtsEmulator) -> None:
    full = ids(search_all(emu))
    count = len(full)
    pages = [search(emu, {"limit": 7, "offset": page}) for page in range(math.ceil(count / 7) + 1)]
    assert [len(page["items"]) for page in pages[:-2]] == [7] * (len(pages) - 2)
    assert len(pages[-2]["items"]) == count - 7 * (len(pages) - 2)
    assert pages[-1]["items"] == [] and pages[-1]["count"] == count and pages[-1]["offset"] == len(pages) - 1
    assert [job_id for page in pages for job_id in ids(page["items"])] == full


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize(
    ("sort_by", "value"),
    [
        ("create_time", lambda item: item["metadata"]["create_time"]),
        ("name", lambda item: item["metadata"]["name"]),
        ("phase", lambda item: item["status"]["phase"]),
    ],
)
def test_sorting(emu: ModelArtsEmulator, sort_by: str, value: Any, order: str) -> None:
    items = search_all(emu, {"sort_by": sort_by, "order": order})
    values = [value(item) for item in items]
    assert values == sorted(values, reverse=order == "desc")
    assert search(emu, {"sort_by": sort_by, "order": order})["sort_by"] == sort_by


def test_filters(emu: ModelArtsEmulator) -> None:
    everything = search_all(emu)
    by_phase = {phase: [item for item in everything if item["status"]["phase"] == phase] for phase in ("Completed",)}
    completed = search(emu, {"filters": [{"key": "phase", "operator": "in", "value": ["Completed"]}], "limit": 50})
    assert completed["count"] == len(by_phase["Completed"]) > 0
    assert {item["status"]["phase"] for item in completed["items"]} == {"Completed"}
    active = ["Creating", "Pending", "Running", "Terminating"]
    not_active = search_all(emu, {"filters": [{"key": "phase", "operator": "not", "value": active}]})
    assert not_active and all(item["status"]["phase"] not in active for item in not_active)
    assert len(not_active) + len(
        search_all(emu, {"filters": [{"key": "phase", "operator": "in", "value": active}]})
    ) == len(everything)
    demos = search_all(emu, {"filters": [{"key": "name", "operator": "like", "value": ["DEMO-V2"]}]})
    assert sorted(ids(demos)) == sorted(DEMO_TRAINING_JOBS.values())  # case-insensitive substring
    exact = search(emu, {"filters": [{"key": "name", "operator": "in", "value": ["demo-v2-queued", "demo-v2"]}]})
    assert ids(exact["items"]) == [DEMO_TRAINING_JOBS["demo-v2-queued"]]
    kinds = search(emu, {"filters": [{"key": "kind", "operator": "in", "value": ["job"]}]})
    assert kinds["count"] == len(everything)
    with_algorithm = search_all(emu, {"filters": [{"key": "algorithm_name", "operator": "like", "value": ["-algo"]}]})
    assert with_algorithm and all(item["algorithm"]["name"].endswith("-algo") for item in with_algorithm)
    # create_time between [from, to] in epoch ms, inclusive; an empty bound is open.
    times = sorted(item["metadata"]["create_time"] for item in everything)
    low, high = times[10], times[40]
    window = search_all(
        emu, {"filters": [{"key": "create_time", "operator": "between", "value": [str(low), str(high)]}]}
    )
    assert sorted(item["metadata"]["create_time"] for item in window) == times[10:41]
    since = search(emu, {"filters": [{"key": "create_time", "operator": "between", "value": [str(low), ""]}]})
    assert since["count"] == len(times) - 10
    # Conditions combine with AND.
    both = search_all(
        emu,
        {
            "filters": [
                {"key": "name", "operator": "like", "value": ["demo-v2"]},
                {"key": "phase", "operator": "in", "value": ["Completed"]},
            ]
        },
    )
    assert {item["metadata"]["name"] for item in both} == {
        item["metadata"]["name"] for item in by_phase["Completed"] if item["metadata"]["name"].startswith("demo-v2")
    }


def test_the_documented_request_example_filters_by_name_only(emu: ModelArtsEmulator) -> None:
    # The docs' example body: placeholders ("" and []) in every other filter impose nothing.
    body = {
        "offset": 0,
        "limit": 1,
        "filters": [
            {"key": "name", "operator": "like", "value": ["demo-v2"]},
            {"key": "create_time", "operator": "between", "value": ["", ""]},
            {"key": "phase", "operator": "in", "value": [""]},
            {"key": "algorithm_name", "operator": "like", "value": [""]},
            {"key": "kind", "operator": "in", "value": []},
            {"key": "user_id", "operator": "in", "value": [""]},
        ],
    }
    payload = search(emu, body)
    assert payload["count"] == len(DEMO_TRAINING_JOBS) and len(payload["items"]) == 1


def test_workspaces(emu: ModelArtsEmulator) -> None:
    research = search_all(emu, {"workspace_id": RESEARCH_WORKSPACE_ID_V2})
    assert research and {item["metadata"]["workspace_id"] for item in research} == {RESEARCH_WORKSPACE_ID_V2}
    assert search(emu, {"workspace_id": RESEARCH_WORKSPACE_ID_V2})["total"] == len(research)
    response = post_search(emu, {"workspace_id": "f" * 32})
    assert response.status_code == 400
    assert response.json() == v2_error(
        "ModelArts.0102", "The workspace does not exist.", "Check the current workspace."
    )


def _condition(key: str, operator: str, value: Any) -> dict[str, Any]:
    return {"filters": [{"key": key, "operator": operator, "value": value}]}


INVALID_JSON = v2_error("ModelArts.2787", "Invalid JSON request body.", "Check the request body.")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", INVALID_JSON),
        (b"[]", INVALID_JSON),
        (b"\xff\xfe", INVALID_JSON),
        ({"limit": 0}, v2_error("ModelArts.2788", "Invalid parameter(limit).", SOLUTION_PARAM)),
        ({"limit": 51}, v2_error("ModelArts.2788", "Invalid parameter(limit).", SOLUTION_PARAM)),
        ({"limit": "10"}, v2_error("ModelArts.2788", "Invalid parameter(limit).", SOLUTION_PARAM)),
        ({"limit": True}, v2_error("ModelArts.2788", "Invalid parameter(limit).", SOLUTION_PARAM)),
        ({"offset": -1}, v2_error("ModelArts.2788", "Invalid parameter(offset).", SOLUTION_PARAM)),
        ({"offset": 1.5}, v2_error("ModelArts.2788", "Invalid parameter(offset).", SOLUTION_PARAM)),
        ({"order": "up"}, v2_error("ModelArts.2788", "Invalid parameter(order).", SOLUTION_PARAM)),
        ({"train_type": "pipeline"}, v2_error("ModelArts.2788", "Invalid parameter(train_type).", SOLUTION_PARAM)),
        ({"filters": {}}, v2_error("ModelArts.2788", "Invalid parameter(filters).", SOLUTION_PARAM)),
        ({"filters": ["phase"]}, v2_error("ModelArts.2788", "Invalid parameter(filters).", SOLUTION_PARAM)),
        (
            {"sort_by": "status"},
            v2_error("ModelArts.2790", "Unsupported sorting item.", "Check whether the sorting item is valid."),
        ),
        (
            _condition("status", "in", ["8"]),
            v2_error(
                "ModelArts.2807", "Unsupported condition key (status)", "Check whether the key of search is valid."
            ),
        ),
        (
            _condition("phase", "like", ["Run"]),
            v2_error(
                "ModelArts.2808",
                "Unsupported condition operator (like)",
                "Check whether the operator of search is valid.",
            ),
        ),
        (
            _condition("name", "equals", ["x"]),
            v2_error(
                "ModelArts.2808",
                "Unsupported condition operator (equals)",
                "Check whether the operator of search is valid.",
            ),
        ),
        (
            _condition("phase", "in", ["Done"]),
            v2_error(
                "ModelArts.2809", "Unsupported condition value (Done)", "Check whether the value of search is valid."
            ),
        ),
        (
            _condition("name", "like", "demo"),
            v2_error(
                "ModelArts.2809", 'Unsupported condition value ("demo")', "Check whether the value of search is valid."
            ),
        ),
        (
            _condition("create_time", "between", ["1"]),
            v2_error(
                "ModelArts.2809", 'Unsupported condition value (["1"])', "Check whether the value of search is valid."
            ),
        ),
        (
            _condition("create_time", "between", ["yesterday", ""]),
            v2_error(
                "ModelArts.2809",
                'Unsupported condition value (["yesterday", ""])',
                "Check whether the value of search is valid.",
            ),
        ),
    ],
)
def test_invalid_search_bodies(emu: ModelArtsEmulator, body: Any, expected: dict[str, str]) -> None:
    response = post_search(emu, body)
    assert response.status_code == 400, response.text[:300]
    assert response.json() == expected
    entry = emu.stats()["requests"][-1]
    assert (entry["endpoint"], entry["status"], entry["error_code"]) == (
        "search_training_jobs",
        400,
        expected["error_code"],
    )


# ---------------------------------------------------------------------------------------------
# Show and not found
# ---------------------------------------------------------------------------------------------


def test_show_returns_the_job_object_the_search_lists(emu: ModelArtsEmulator) -> None:
    detail = job(emu, FINISHED)
    assert set(detail) == JOB_KEYS and detail["kind"] == "job"
    metadata, status, algorithm, spec = detail["metadata"], detail["status"], detail["algorithm"], detail["spec"]
    assert metadata["id"] == FINISHED and metadata["name"] == "demo-v2-finished-yesterday"
    assert set(metadata) == {"id", "name", "description", "create_time", "workspace_id", "user_name"}
    assert metadata["workspace_id"] == "0" and metadata["user_name"] == DEFAULT_USER_NAME
    assert (status["phase"], status["secondary_phase"], status["duration"]) == ("Completed", "Completed", 7_200_000)
    assert status["tasks"] == ["worker-0"]
    assert status["task_statuses"] == [{"task": "worker-0", "exit_code": 0, "message": ""}]
    # Created a day and some seconds before it started running; times are epoch ms.
    assert status["start_time"] - metadata["create_time"] == pytest.approx(38_000, abs=1_000)
    record = status["running_records"][0]
    assert record["end_at"] - record["start_at"] == 7200 and record["end_reason"] == "job completed"
    assert algorithm["name"] == "resnet50-pytorch" and uuid.UUID(algorithm["id"])
    assert algorithm["code_dir"].startswith("obs://") and algorithm["boot_file"].endswith("/train.py")
    assert (
        algorithm["outputs"][0]["remote"]["obs"]["obs_url"] == "/modelarts-emulator/demo-v2-finished-yesterday/output/"
    )
    assert algorithm["inputs"][0]["name"] == "data_url" and algorithm["engine"]["engine_name"] == "PyTorch"
    resource = spec["resource"]
    assert (resource["flavor_id"], resource["node_count"]) == ("modelarts.p3.large.public", 1)
    assert resource["flavor_detail"]["flavor_info"]["gpu"] == {
        "unit_num": 1, "product_name": "NVIDIA-V100", "memory": "32GB",
    }  # fmt: skip
    listed = search(emu, {"filters": [{"key": "name", "operator": "in", "value": ["demo-v2-finished-yesterday"]}]})
    assert listed["items"] == [detail]
    assert job(emu, FINISHED.upper())["metadata"]["id"] == FINISHED


@pytest.mark.parametrize("job_id", [str(uuid.UUID(int=7, version=4)), "not-a-uuid", "1"])
def test_show_unknown_job_is_documented_400(emu: ModelArtsEmulator, job_id: str) -> None:
    response = show(emu, job_id)
    assert response.status_code == 400
    assert response.json() == v2_error(
        "ModelArts.2775",
        f"Training job (ID: {job_id}) not found.",
        "Check whether the training job information in the request is valid.",
    )


def test_wrong_methods_and_paths_are_unknown_apis(emu: ModelArtsEmulator) -> None:
    assert_apigw(requests.get(f"{emu.url}{SEARCH_PATH}", auth=AKSK, timeout=10), 404, "APIGW.0101", "API not found")
    # Update (PUT) is not emulated; the collection answers POST (create) only.
    updated = requests.put(f"{emu.url}{job_path(FINISHED)}", json={}, auth=AKSK, timeout=10)
    assert_apigw(updated, 404, "APIGW.0101")
    assert_apigw(requests.get(f"{emu.url}/v2/{PROJECT}/training-jobs", auth=AKSK, timeout=10), 404, "APIGW.0101")
    unknown = requests.post(f"{emu.url}{job_path(FINISHED)}/restart", auth=AKSK, timeout=10)
    assert_apigw(unknown, 404, "APIGW.0101")
    assert {name: count for name, count in emu.stats()["by_endpoint"].items() if count} == {
        "search_training_jobs": 1,
        "get_training_job": 1,
        "create_training_job": 1,
        "other": 1,
    }
    assert job(emu, FINISHED)["status"]["phase"] == "Completed"


# ---------------------------------------------------------------------------------------------
# The gateway on v2 paths: signatures, tokens, AK lock, project, faults, stats
# ---------------------------------------------------------------------------------------------


def test_signatures_on_v2_paths(emu: ModelArtsEmulator) -> None:
    assert post_search(emu, {"limit": 1}).status_code == 200
    assert post_search(emu, {"limit": 1}, auth=TEMP).status_code == 200
    assert show(emu, FINISHED, auth=TEMP).status_code == 200
    assert_apigw(post_search(emu, {}, auth=None), 401, "APIGW.0301", "Incorrect IAM authentication information")
    rejected = post_search(emu, {"limit": 1}, auth=BAD_SK)
    assert_apigw(rejected, 401, "APIGW.0301")
    assert rejected.json()["error_msg"].startswith("verify aksk signature fail, canonicalRequest:POST|")
    assert_apigw(show(emu, FINISHED, auth=BAD_SK), 401, "APIGW.0301")
    assert [entry["auth"] for entry in emu.stats()["requests"]] == ["aksk", "aksk-temp", "aksk-temp", None, None, None]
    assert emu.stats()["auth_failures"] == 3


def test_the_signature_covers_the_search_body(emu: ModelArtsEmulator) -> None:
    prepared = requests.Request(
        "POST", f"{emu.url}{SEARCH_PATH}", data=b'{"limit": 1}', headers={"Content-Type": "application/json"}, auth=AKSK
    ).prepare()
    prepared.body = b'{"limit": 2}'  # same length, different body: the signature no longer matches
    with requests.Session() as session:
        response = session.send(prepared, timeout=10)
    assert_apigw(response, 401, "APIGW.0301")


def test_ak_lock_applies_to_v2_paths(emu: ModelArtsEmulator) -> None:
    for _ in range(6):
        assert post_search(emu, {}, auth=BAD_SK).status_code == 401
    locked = show(emu, FINISHED)  # the right key, but the AK is locked now
    assert_apigw(locked, 401, "APIGW.0301", "AK access failed to reach the limit,forbidden")


def test_tokens_on_v2_paths(emu: ModelArtsEmulator) -> None:
    token = issue_token(emu, {"project": {"id": PROJECT}})
    assert search(emu, {"limit": 1}, auth=TokenAuth(token))["count"] > 0
    assert show(emu, FINISHED, auth=TokenAuth(token)).status_code == 200
    assert_apigw(show(emu, FINISHED, auth=TokenAuth("MIIforged")), 401, "APIGW.0301", "decrypt token fail")
    unscoped = issue_token(emu, {"domain": {"name": DEFAULT_DOMAIN_NAME}})
    response = post_search(emu, {}, auth=TokenAuth(unscoped))
    assert response.status_code == 401
    assert response.json() == v2_error(
        "ModelArts.0207",
        "Token must contain project info of current region.",
        "Add project information to the token.",
    )


def test_project_mismatch_on_v2_paths(emu: ModelArtsEmulator) -> None:
    other = "0" * 32
    response = requests.post(
        f"{emu.url}/v2/{other}/training-job-searches",
        json={},
        auth=SdkAkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, other),
    )
    assert response.status_code == 403
    assert response.json() == v2_error(
        "ModelArts.0210",
        "The project id in the request URL does not match the token.",
        "Use the correct project ID to generate a token.",
    )


def test_throttling_and_other_faults_on_v2_paths(emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="status", status=429, error_code="ModelArts.2799", count=1, retry_after=2)
    throttled = post_search(emu, {}, auth=None)  # the gateway throttles before it authenticates
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert throttled.json() == v2_error("ModelArts.2799", "services too many requests", "Please try again later")
    emu.add_fault(kind="status", status=429, count=1, path_contains="/training-jobs/")
    assert post_search(emu, {}).status_code == 200  # the path filter spares the search
    assert_apigw(show(emu, FINISHED), 429, "APIGW.0308")
    emu.add_fault(kind="status", status=500, count=1)
    assert show(emu, FINISHED).json() == v2_error("ModelArts.0010", "Internal error.", "Please try again later")
    emu.add_fault(kind="status", status=503, count=1)
    assert_apigw(post_search(emu, {}), 503, "APIGW.0613")
    emu.add_fault(kind="drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        show(emu, FINISHED)
    assert show(emu, FINISHED).status_code == 200
    stats = emu.stats()
    assert stats["faults_served"] == 5
    assert stats["by_endpoint"]["search_training_jobs"] == 3 and stats["by_endpoint"]["get_training_job"] == 4
    assert [entry["status"] for entry in stats["requests"]] == [429, 200, 429, 500, 503, None, 200]


def test_the_gateway_throttling_code_of_the_docs(emu: ModelArtsEmulator) -> None:
    message = "The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 second"
    emu.add_fault(kind="status", status=429, error_code="APIG.0308", error_message=message, count=1)
    assert_apigw(post_search(emu, {}), 429, "APIG.0308", message)


def test_the_query_string_is_not_read(emu: ModelArtsEmulator) -> None:
    # The docs' example posts to ".../training-job-searches?limit=1"; the body decides the page.
    response = requests.post(f"{emu.url}{SEARCH_PATH}?limit=1", json={"limit": 3}, auth=AKSK, timeout=10)
    assert len(response.json()["items"]) == 3
    assert emu.stats()["requests"][-1]["ignored_params"] == ["limit"]


def test_v1_bodies_keep_the_v1_shape_under_the_same_fault(emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="status", status=429, error_code="ModelArts.2799", count=1)
    response = requests.get(f"{emu.url}/v1/{PROJECT}/training-jobs", auth=AKSK, timeout=10)
    assert response.status_code == 429
    assert response.json()["is_success"] is False and "error_message" in response.json()


# ---------------------------------------------------------------------------------------------
# Phases over time, seeded jobs
# ---------------------------------------------------------------------------------------------


def _phases(emu: ModelArtsEmulator, job_id: str, step: float, count: int) -> list[tuple[str, str, int]]:
    seen = []
    for _ in range(count):
        status = job(emu, job_id)["status"]
        seen.append((status["phase"], status["secondary_phase"], status["duration"]))
        emu.advance_time(step)
    return seen


def test_a_created_job_follows_its_timeline_and_fails_with_its_exit_code(fresh: ModelArtsEmulator) -> None:
    created = fresh.create_training_job(
        "oom-job",
        [("Creating", 1), ("Pending", 2), ("Running", 5), ("Failed", None)],
        node_count=2,
        exit_code=137,
        message="OOMKilled",
    )
    assert set(created) == {"id", "name"} and uuid.UUID(created["id"]).version == 4
    seen = _phases(fresh, created["id"], 1.0, 10)
    assert [phase for phase, _, _ in seen] == ["Creating"] + ["Pending"] * 2 + ["Running"] * 5 + ["Failed"] * 2
    assert [secondary for _, secondary, _ in seen[:4]] == ["Creating", "Queuing", "Queuing", "Running"]
    assert [duration for _, _, duration in seen] == [0, 0, 0, 0, 1000, 2000, 3000, 4000, 5000, 5000]
    status = job(fresh, created["id"])["status"]
    assert status["tasks"] == ["worker-0", "worker-1"]
    assert status["task_statuses"] == [
        {"task": "worker-0", "exit_code": 137, "message": "OOMKilled"},
        {"task": "worker-1", "exit_code": 0, "message": ""},
    ]
    assert status["running_records"][0]["end_reason"] == "exit with 137"
    assert [count for _, count in status["node_count_metrics"]] == [0, 2, 0]


def test_speed_multiplies_emulated_time() -> None:
    # The timeline runs 20 times faster; the reported duration is real time, as start_time is.
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, speed=20.0, manual_clock=True)) as emu:
        created = emu.create_training_job("fast", [("Running", 60), ("Completed", None)])
        emu.advance_time(2.0)  # 40 emulated seconds
        status = job(emu, created["id"])["status"]
        assert (status["phase"], status["duration"]) == ("Running", 2_000)
        emu.advance_time(2.0)
        status = job(emu, created["id"])["status"]
        assert (status["phase"], status["duration"]) == ("Completed", 3_000)  # 60 emulated seconds


def test_jobs_move_with_the_real_clock_by_default() -> None:
    # At a million emulated seconds per real second, a one-second step is over before the next
    # request: its real duration, one microsecond, shows as 0 ms.
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, speed=1e6)) as emu:
        created = emu.create_training_job("quick", [("Creating", 1), ("Running", 1), ("Completed", None)])
        status = job(emu, created["id"])["status"]
    assert (status["phase"], status["duration"]) == ("Completed", 0)


def _end_seen_in(
    emu: ModelArtsEmulator, job_id: str, wall_ms: Callable[[], float], step: Callable[[], None]
) -> tuple[dict[str, Any], float, float]:
    """Show the job until it is Completed, with ``step()`` between requests: its status, and the
    wall-clock window (epoch ms) in which it completed, from the start of the last request that
    saw it before to the end of the first that saw it Completed."""
    earliest = -math.inf
    for _ in range(500):
        sent = wall_ms()
        status: dict[str, Any] = job(emu, job_id)["status"]
        if status["phase"] == "Completed":
            return status, earliest, wall_ms()
        earliest = sent
        step()
    raise AssertionError(f"job {job_id} did not complete: {status}")


def _assert_one_end(status: dict[str, Any]) -> int:
    """start_time + duration is the end, and running_records and node_count_metrics agree."""
    end = status["start_time"] + status["duration"]
    assert status["running_records"][0]["end_at"] == end // 1000
    assert status["running_records"][0]["start_at"] == status["start_time"] // 1000
    assert status["node_count_metrics"][-2:] == [[status["start_time"], 1], [end, 0]]
    return int(end)


def test_start_time_plus_duration_is_the_wall_clock_end_with_a_manual_clock() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, speed=20.0, manual_clock=True)) as emu:
        store = emu.app.training_jobs
        created = emu.create_training_job("fast", [("Creating", 10), ("Running", 60), ("Completed", None)])
        created_ms = store.wall_ms()
        status, earliest, latest = _end_seen_in(
            emu, created["id"], lambda: float(store.wall_ms()), lambda: emu.advance_time(0.25)
        )
    # Running began 0.5 s after creation and lasted 60 / 20 = 3 real seconds: exact on a manual clock.
    assert (status["start_time"], status["duration"]) == (created_ms + 500, 3_000)
    end = _assert_one_end(status)
    assert earliest <= end <= latest and (earliest, latest) == (created_ms + 3_250, created_ms + 3_500)


def test_start_time_plus_duration_is_the_wall_clock_end_on_the_real_clock() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, speed=200.0)) as emu:
        # Creating 0.1 real seconds, then Running 0.5.
        created = emu.create_training_job("fast", [("Creating", 20), ("Running", 100), ("Completed", None)])
        status, earliest, latest = _end_seen_in(
            emu, created["id"], lambda: time.time() * 1000, lambda: time.sleep(0.01)
        )
    assert status["duration"] == 500
    end = _assert_one_end(status)
    # A few ms of slack: the store reads the epoch clock once, then counts monotonic time.
    assert earliest - 5 <= end <= latest + 5


def test_cli_sets_the_v2_options() -> None:
    from modelarts_emulator.__main__ import config_from_args, parse_args

    config = config_from_args(parse_args(["--v2-jobs", "3", "--manual-clock"]))
    assert (config.v2_job_count, config.manual_clock) == (3, True)
    default = config_from_args(parse_args([]))
    assert (default.v2_job_count, default.manual_clock) == (120, False)
    with pytest.raises(ValueError, match="v2_job_count"):
        EmulatorConfig(v2_job_count=-1)


def test_demo_jobs_end_as_described() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=len(DEMO_TRAINING_JOBS), manual_clock=True)) as emu:
        early = {name: job(emu, job_id)["status"]["phase"] for name, job_id in DEMO_TRAINING_JOBS.items()}
        emu.advance_time(300.0)
        late = {name: job(emu, job_id)["status"] for name, job_id in DEMO_TRAINING_JOBS.items()}
    assert early == {
        "demo-v2-resnet50-train": "Creating", "demo-v2-bert-finetune-oom": "Creating",
        "demo-v2-create-failed": "Creating", "demo-v2-stopped-by-user": "Running",
        "demo-v2-long-running": "Running", "demo-v2-queued": "Creating", "demo-v2-finished-yesterday": "Completed",
    }  # fmt: skip
    assert {name: (status["phase"], status["duration"]) for name, status in late.items()} == {
        "demo-v2-resnet50-train": ("Completed", 45_000), "demo-v2-bert-finetune-oom": ("Failed", 30_000),
        "demo-v2-create-failed": ("Abnormal", 0), "demo-v2-stopped-by-user": ("Terminated", 25_000),
        "demo-v2-long-running": ("Running", 895_000), "demo-v2-queued": ("Completed", 60_000),
        "demo-v2-finished-yesterday": ("Completed", 7_200_000),
    }  # fmt: skip
    abnormal = late["demo-v2-create-failed"]
    assert (abnormal["secondary_phase"], abnormal["start_time"]) == ("CreateFailed", 0)
    assert "task_statuses" not in abnormal and "running_records" not in abnormal
    assert late["demo-v2-bert-finetune-oom"]["task_statuses"][0]["exit_code"] == 137


def test_seeded_jobs_are_deterministic_and_varied() -> None:
    def snapshot(seed: int) -> list[tuple[str, str, str]]:
        with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=200, seed=seed)) as emu:
            items = search_all(emu) + search_all(emu, {"workspace_id": RESEARCH_WORKSPACE_ID_V2})
        return sorted((item["metadata"]["id"], item["metadata"]["name"], item["status"]["phase"]) for item in items)

    first = snapshot(7)
    assert snapshot(7) == first and snapshot(8) != first
    phases = {phase for _, _, phase in first}
    assert phases == {"Creating", "Pending", "Running", "Completed", "Failed", "Terminated", "Abnormal"}
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=200)) as emu:
        failed = search_all(emu, {"filters": [{"key": "phase", "operator": "in", "value": ["Failed"]}]})
    exit_codes = {entry["exit_code"] for item in failed for entry in item["status"]["task_statuses"]}
    assert exit_codes - {0} and all(
        any(entry["exit_code"] != 0 and entry["message"] for entry in item["status"]["task_statuses"])
        for item in failed
    )


# ---------------------------------------------------------------------------------------------
# Control endpoints
# ---------------------------------------------------------------------------------------------


def test_control_endpoints_for_v2_jobs_over_http(fresh: ModelArtsEmulator) -> None:
    control = f"{fresh.url}/_emulator/v2/training-jobs"
    body = {
        "name": "ctl-v2",
        "timeline": [["Creating", 1], ["Pending", 2], ["Running", 5], ["Completed", None]],
        "description": "from the control endpoint",
        "node_count": 2,
        "flavor_id": "modelarts.kat1.xlarge",
    }
    created = requests.post(control, json=body, timeout=10)
    assert created.status_code == 201 and created.json()["name"] == "ctl-v2"
    job_id = created.json()["id"]
    detail = job(fresh, job_id)
    assert (detail["status"]["phase"], detail["metadata"]["description"]) == ("Creating", "from the control endpoint")
    assert detail["spec"]["resource"]["flavor_detail"]["flavor_info"]["npu"]["unit_num"] == "1"
    assert requests.post(f"{fresh.url}/_emulator/advance", json={"seconds": 4}, timeout=10).status_code == 200
    assert job(fresh, job_id)["status"]["phase"] == "Running"
    # Terminate: Terminating, then Terminated; not again.
    assert requests.post(f"{control}/{job_id}/terminate", timeout=10).status_code == 200
    assert job(fresh, job_id)["status"]["phase"] == "Terminating"
    fresh.advance_time(3)
    status = job(fresh, job_id)["status"]
    assert (status["phase"], status["duration"]) == ("Terminated", 4_000)
    assert requests.post(f"{control}/{job_id}/terminate", timeout=10).status_code == 409
    # A new timeline starts over now.
    timeline = {"timeline": [["Abnormal", None, "Lost"]]}
    assert requests.put(f"{control}/{job_id}/timeline", json=timeline, timeout=10).status_code == 200
    status = job(fresh, job_id)["status"]
    assert (status["phase"], status["secondary_phase"]) == ("Abnormal", "Lost")
    # A chosen id, and the failure of a named task.
    chosen = str(uuid.UUID(int=42, version=4))
    failing = {
        "name": "ctl-fail",
        "job_id": chosen,
        "timeline": [["Running", 1], ["Failed", None]],
        "node_count": 2,
        "task_statuses": [{"task": "worker-1", "exit_code": 2, "message": "No such file"}],
    }
    assert requests.post(control, json=failing, timeout=10).json() == {"id": chosen, "name": "ctl-fail"}
    fresh.advance_time(1)
    assert job(fresh, chosen)["status"]["task_statuses"][1] == {
        "task": "worker-1",
        "exit_code": 2,
        "message": "No such file",
    }
    assert requests.delete(f"{control}/{job_id}", timeout=10).status_code == 200
    assert show(fresh, job_id).json()["error_code"] == "ModelArts.2775"
    assert requests.delete(f"{control}/{job_id}", timeout=10).status_code == 404
    assert fresh.stats()["by_endpoint"]["get_training_job"] == 7  # control requests are never counted


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"timeline": [["Running", None]]}, "needs a 'name' and a 'timeline'"),
        ({"name": "x", "timeline": []}, "at least one step"),
        ({"name": "x", "timeline": [["Done", None]]}, "timeline phase 'Done'"),
        ({"name": "x", "timeline": [["Running", None], ["Completed", None]]}, "only the last timeline step"),
        ({"name": "x", "timeline": [["Running", 0], ["Completed", None]]}, "positive number"),
        ({"name": "x", "timeline": [["Abnormal", None, "Broken"]]}, "secondary phase 'Broken'"),
        ({"name": "x y", "timeline": [["Running", None]]}, "name must be 1-64"),
        ({"name": "x", "timeline": [["Completed", None]], "exit_code": 1}, "timelines that end Failed"),
        ({"name": "x", "timeline": [["Running", None]], "flavor_id": "modelarts.huge"}, "flavor_id must be one of"),
        ({"name": "x", "timeline": [["Running", None]], "job_id": "42"}, "job_id must be a UUID"),
        ({"name": "x", "timeline": [["Running", None]], "colour": "red"}, "colour"),
    ],
)
def test_control_endpoint_rejects_bad_jobs(emu: ModelArtsEmulator, body: dict[str, Any], message: str) -> None:
    response = requests.post(f"{emu.url}/_emulator/v2/training-jobs", json=body, timeout=10)
    assert response.status_code == 400 and message in response.json()["error"], response.text


def test_control_endpoint_errors_for_unknown_jobs(emu: ModelArtsEmulator) -> None:
    missing = f"{emu.url}/_emulator/v2/training-jobs/{uuid.UUID(int=9, version=4)}"
    assert requests.post(f"{missing}/terminate", timeout=10).status_code == 404
    assert requests.put(f"{missing}/timeline", json={"timeline": [["Running", None]]}, timeout=10).status_code == 404
    assert requests.delete(missing, timeout=10).status_code == 404
    assert requests.post(f"{emu.url}/_emulator/advance", json={"seconds": -1}, timeout=10).status_code == 400


# ---------------------------------------------------------------------------------------------
# Fidelity: the official SDK reads the emulator's answers into its own models
# ---------------------------------------------------------------------------------------------

# A field the docs' example responses show must be present; a field only the SDK models (optional
# there) may be absent; a field the SDK does not model at all is an error, at any depth.
REQUIRED_FIELDS: dict[str, set[str]] = {
    "ListTrainingJobsResponse": {
        "total", "count", "limit", "offset", "sort_by", "order", "group_by", "workspace_id", "ai_project", "items",
    },
    "JobResponse": {"kind", "metadata", "status", "algorithm", "spec"},
    "ShowTrainingJobDetailsResponse": {"kind", "metadata", "status", "algorithm", "spec"},
    "JobMetadataResponse": {"id", "name", "description", "create_time", "workspace_id", "user_name"},
    "Status": {"phase", "secondary_phase", "duration", "start_time", "node_count_metrics", "tasks"},
    "TaskStatuses": {"task", "exit_code", "message"},
    "JobAlgorithmResponse": {"code_dir", "boot_file", "inputs", "outputs", "engine"},
    "InputResp": {"name", "local_dir", "remote"},
    "OutputResp": {"name", "local_dir", "remote"},
    "JobEngineResp": {"engine_id", "engine_name", "engine_version"},
    "SpecResponse": {"resource"},
    "Resource": {"flavor_id", "node_count", "flavor_detail"},
    "FlavorDetail": {"flavor_type", "billing", "flavor_info"},
    "BillingInfo": {"code", "unit_num"},
    "FlavorInfo": {"cpu", "memory"},
    "Cpu": {"arch", "core_num"},
    "Memory": {"size", "unit"},
    "CreateTrainingJobResponse": {"kind", "metadata", "status", "algorithm", "spec"},
    "StopTrainingJobResponse": {"kind", "metadata", "status", "algorithm", "spec"},
    "TaskHistory": {"task", "ip", "host_ip", "schedule_count"},
    "ShowTrainingJobLogsFromAomResponse": {"start_line", "end_line", "lines", "content"},
}  # fmt: skip


def model_problems(data: Any, type_name: str, path: str, models: Any) -> list[str]:
    """Where ``data`` (parsed JSON) does not fit the SDK type ``type_name``: unknown keys, missing
    required keys, nulls and values of the wrong type, each with its JSON path."""
    if data is None:
        return [f"{path}: null"]
    if type_name.startswith("list["):
        if not isinstance(data, list):
            return [f"{path}: not a list"]
        inner = type_name[5:-1]
        return [
            problem
            for index, item in enumerate(data)
            for problem in model_problems(item, inner, f"{path}[{index}]", models)
        ]
    if type_name.startswith("dict("):
        if not isinstance(data, dict):
            return [f"{path}: not an object"]
        inner = type_name[5:-1].split(", ", 1)[1]
        return [
            problem for key, item in data.items() for problem in model_problems(item, inner, f"{path}.{key}", models)
        ]
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
    problems += [f"{path}.{key}: missing from {type_name}" for key in REQUIRED_FIELDS.get(type_name, set()) - set(data)]
    for key, value in data.items():
        if key in by_json_key:
            problems += model_problems(value, model.openapi_types[by_json_key[key]], f"{path}.{key}", models)
    return problems


def as_json(value: Any) -> Any:
    """What an SDK model object holds, in the API's JSON keys, attributes left unset omitted."""
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    attribute_map = getattr(type(value), "attribute_map", None)
    if attribute_map is None:
        return value
    return {
        json_key: as_json(getattr(value, attribute))
        for attribute, json_key in attribute_map.items()
        if getattr(value, attribute) is not None
    }


def test_the_official_sdk_reads_search_and_show_into_its_models() -> None:
    # A test-only dependency (the "test" extra): imported here so the rest of the module runs without it.
    import huaweicloudsdkmodelarts.v1 as modelarts
    from huaweicloudsdkcore.auth.credentials import BasicCredentials

    models = modelarts.model
    # At the emulator's start, the demo and seeded jobs show every phase between them.
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=150, manual_clock=True)) as emu:
        credentials = BasicCredentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
        client = modelarts.ModelArtsClient.new_builder().with_credentials(credentials).with_endpoints([emu.url]).build()
        pages = []
        for workspace in ("0", RESEARCH_WORKSPACE_ID_V2):
            offset = 0
            while True:
                body = models.JobSearches(offset=offset, limit=50, workspace_id=workspace, order="asc")
                page = client.list_training_jobs(models.ListTrainingJobsRequest(body=body))
                pages.append(page)
                offset += 1
                if offset * 50 >= page.count:
                    break
        filtered = client.list_training_jobs(
            models.ListTrainingJobsRequest(
                body=models.JobSearches(
                    limit=5, filters=[models.Filter(key="phase", operator="in", value=["Failed", "Abnormal"])]
                )
            )
        )
        listed = [item for page in pages for item in page.items]
        details = [
            client.show_training_job_details(models.ShowTrainingJobDetailsRequest(training_job_id=item.metadata.id))
            for item in listed
        ]
        requests_seen = emu.stats()["requests"]
    assert len(listed) == 150 and {item.status.phase for item in filtered.items} <= {"Failed", "Abnormal"}
    assert {detail.status.phase for detail in details} == {
        "Creating", "Pending", "Running", "Completed", "Failed", "Terminated", "Abnormal",
    }  # fmt: skip
    # Every call was signed by the SDK and accepted as AK/SK: nothing was answered by an error.
    assert {(entry["endpoint"], entry["status"], entry["auth"]) for entry in requests_seen} == {
        ("search_training_jobs", 200, "aksk"),
        ("get_training_job", 200, "aksk"),
    }
    for response, type_name in [(page, "ListTrainingJobsResponse") for page in [*pages, filtered]] + [
        (detail, "ShowTrainingJobDetailsResponse") for detail in details
    ]:
        raw = json.loads(response.raw_content)
        assert model_problems(raw, type_name, "$", models) == []
        # Deserialisation lost nothing: the SDK model gives back exactly the JSON it was read from.
        assert as_json(response) == raw


def test_the_official_sdk_runs_the_lifecycle_against_the_emulator() -> None:
    """create, stop (terminate), the task list, the AOM log page and delete, signed with AK/SK by
    the SDK, each response read into the SDK's model with no unknown or missing field."""
    import huaweicloudsdkmodelarts.v1 as modelarts
    from huaweicloudsdkcore.auth.credentials import BasicCredentials

    models = modelarts.model
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=0, manual_clock=True)) as emu:
        emu.set_create_plan("sdk-", [("Creating", 1), ("Running", 20), ("Completed", None)])
        credentials = BasicCredentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
        client = modelarts.ModelArtsClient.new_builder().with_credentials(credentials).with_endpoints([emu.url]).build()
        body = models.Job(
            kind="job",
            metadata=models.JobMetadata(name="sdk-train", description="from the SDK", annotations={"a": "b"}),
            algorithm=models.JobAlgorithm(
                code_dir="obs://bucket/code/",
                boot_file="obs://bucket/code/train.py",
                parameters=[models.Parameters(name="epochs", value="3")],
                inputs=[
                    models.Input(name="data_url", remote=models.InputDataInfo(obs=models.InputDataInfoObs("/b/d/")))
                ],
                outputs=[models.Output(name="train_url", remote=models.Remote(obs=models.RemoteObs("/b/o/")))],
                engine=models.JobEngine(engine_name="TensorFlow", engine_version=ENGINE_TF_VERSION),
            ),
            spec=models.Spec(resource=models.SpecResource(flavor_id="modelarts.p3.large.public", node_count=2)),
        )
        created = client.create_training_job(models.CreateTrainingJobRequest(body=body))
        job_id = created.metadata.id
        not_yet = client.show_training_job_logs_from_aom(
            models.ShowTrainingJobLogsFromAomRequest(training_job_id=job_id, task_id="worker-0")
        )
        emu.advance_time(5.0)
        tasks = client.list_training_job_tasks(models.ListTrainingJobTasksRequest(training_job_id=job_id))
        log_request = models.ShowTrainingJobLogsFromAomRequest(
            training_job_id=job_id, task_id="worker-1", base_line="0", lines=10, order="asc"
        )
        page = client.show_training_job_logs_from_aom(log_request)
        stopped = client.stop_training_job(
            models.StopTrainingJobRequest(training_job_id=job_id, body=models.JobActionType(action_type="terminate"))
        )
        deleted = client.delete_training_job(models.DeleteTrainingJobRequest(training_job_id=job_id))
        requests_seen = emu.stats()["requests"]
        terminations = emu.terminations(job_id)
    assert (created.status.phase, created.algorithm.engine.engine_name, created.spec.resource.node_count) == (
        "Creating", "TensorFlow", 2,
    )  # fmt: skip
    assert [task.task for task in tasks.body] == ["worker-0", "worker-1"]
    assert page.lines == 2 and page.content.startswith("INFO [worker-1] ModelArts training job sdk-train started")
    assert stopped.status.phase == "Terminating" and [entry["status"] for entry in terminations] == [202]
    assert deleted.status_code == 202
    # No log before Running: 204 with no body, which the SDK reads as an empty response.
    assert (not_yet.status_code, not_yet.raw_content, not_yet.content) == (204, b"", None)
    assert [(entry["endpoint"], entry["status"], entry["auth"]) for entry in requests_seen] == [
        ("create_training_job", 201, "aksk"),
        ("training_job_logs", 204, "aksk"),
        ("list_training_job_tasks", 200, "aksk"),
        ("training_job_logs", 200, "aksk"),
        ("training_job_action", 202, "aksk"),
        ("delete_training_job", 202, "aksk"),
    ]
    for response, type_name in [
        (created, "CreateTrainingJobResponse"),
        (page, "ShowTrainingJobLogsFromAomResponse"),
        (stopped, "StopTrainingJobResponse"),
    ]:
        raw = json.loads(response.raw_content)
        assert model_problems(raw, type_name, "$", models) == []
        assert as_json(response) == raw
    raw_tasks = json.loads(tasks.raw_content)
    assert model_problems(raw_tasks, "list[TaskHistory]", "$", models) == []
    assert as_json(tasks.body) == raw_tasks


def test_the_fidelity_check_can_fail() -> None:
    import huaweicloudsdkmodelarts.v1.model as models

    good = {"task": "worker-0", "exit_code": 1, "message": "x"}
    assert model_problems(good, "TaskStatuses", "$", models) == []
    assert model_problems({**good, "exitCode": 1}, "TaskStatuses", "$", models) == [
        "$.exitCode: unknown to the SDK's TaskStatuses"
    ]
    assert model_problems({"task": "worker-0", "exit_code": "1", "message": "x"}, "TaskStatuses", "$", models) == [
        "$.exit_code: '1' is not int"
    ]
    assert model_problems({"task": "worker-0", "message": "x"}, "TaskStatuses", "$", models) == [
        "$.exit_code: missing from TaskStatuses"
    ]
    nested = {"phase": "Running", "secondary_phase": "Running", "duration": 0, "start_time": 0,
              "node_count_metrics": [[1, 0]], "tasks": ["w-0"], "task_statuses": [{**good, "code": 3}]}  # fmt: skip
    assert model_problems(nested, "Status", "$", models) == [
        "$.task_statuses[0].code: unknown to the SDK's TaskStatuses"
    ]
