"""The emulator's v1 list, versions and version-detail endpoints over real HTTP: shapes, paging,
sorting, filters, workspaces and not-found answers, signed by the official SDK signer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from emulator_client import (
    AKSK,
    JOB_COUNT,
    PROJECT,
    SORT_KEYS,
    TEMP,
    JobStatus,
    TokenAuth,
    assert_apigw,
    assert_modelarts_error,
    get,
    issue_token,
    job_version_path,
    job_versions_path,
    jobs_path,
    last_request,
    list_jobs,
)
from modelarts_emulator import (
    DEFAULT_QUOTAS,
    EmulatorConfig,
    ModelArtsEmulator,
)

LIST_ITEM_KEYS = {
    "job_id", "job_name", "job_desc", "version_id", "status", "create_time", "duration", "version_count",
}  # fmt: skip
IAM_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


# ---------------------------------------------------------------------------------------------
# List jobs (§1)
# ---------------------------------------------------------------------------------------------


def test_list_response_shape_and_defaults(emu: ModelArtsEmulator) -> None:
    response = get(emu, jobs_path(PROJECT))
    assert response.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    body = response.json()
    assert set(body) == {"is_success", "job_total_count", "job_count_limit", "quotas", "jobs"}
    assert body["is_success"] is True
    assert body["job_total_count"] == JOB_COUNT
    assert body["quotas"] == DEFAULT_QUOTAS
    assert body["job_count_limit"] == DEFAULT_QUOTAS - JOB_COUNT
    jobs = body["jobs"]
    assert len(jobs) == 10  # per_page defaults to 10
    assert all(set(job) == LIST_ITEM_KEYS for job in jobs)
    names = [job["job_name"] for job in jobs]
    assert names == sorted(names)  # sortBy job_name, order asc by default
    assert all(job["create_time"] > 1_500_000_000_000 for job in jobs)  # epoch milliseconds
    assert all(isinstance(job["status"], int) and isinstance(job["duration"], int) for job in jobs)


def test_fixture_jobs_are_named_and_numbered(emu: ModelArtsEmulator) -> None:
    jobs = list_jobs(emu, [("search_content", "demo-"), ("per_page", "100")])["jobs"]
    by_id = {job["job_id"]: job for job in jobs}
    assert by_id[1]["job_name"] == "demo-resnet50-train" and by_id[1]["version_count"] == 3
    assert by_id[2]["job_name"] == "demo-bert-finetune-broken" and by_id[2]["version_count"] == 2
    assert [by_id[n]["job_name"] for n in (3, 4, 5, 6)] == [
        "demo-image-build-failed",
        "demo-stopped-by-user",
        "demo-review-flow",
        "demo-long-running",
    ]
    assert by_id[6]["status"] == JobStatus.RUNNING


def test_paging_and_workspaces_partition_all_jobs(emu: ModelArtsEmulator) -> None:
    seen: list[int] = []
    for page in range(1, 20):
        jobs = list_jobs(emu, [("per_page", "7"), ("page", str(page))])["jobs"]
        if not jobs:
            break
        assert len(jobs) <= 7
        seen.extend(job["job_id"] for job in jobs)
    research = [job["job_id"] for job in list_jobs(emu, [("workspace_id", "ws-research"), ("per_page", "100")])["jobs"]]
    default = [job["job_id"] for job in list_jobs(emu, [("workspace_id", "0"), ("per_page", "100")])["jobs"]]
    assert len(seen) == len(set(seen)) and seen == default
    assert research, "about 10% of generated jobs live in a second workspace"
    assert sorted(seen + research) == list(range(1, JOB_COUNT + 1))
    assert list_jobs(emu, [("page", "65535")])["jobs"] == []


@pytest.mark.parametrize("key", [key for key in SORT_KEYS if key != "engine_type"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sorting_with_stable_job_id_tie_break(emu: ModelArtsEmulator, key: str, order: str) -> None:
    jobs = list_jobs(emu, [("sortBy", key), ("order", order), ("per_page", "1000")])["jobs"]
    values = [job[key] for job in jobs]
    assert values == sorted(values, reverse=order == "desc")
    for first, second in zip(jobs, jobs[1:], strict=False):
        if first[key] == second[key]:
            assert first["job_id"] < second["job_id"]


def test_sort_by_engine_type_is_accepted(emu: ModelArtsEmulator) -> None:
    jobs = list_jobs(emu, [("sortBy", "engine_type"), ("per_page", "1000")])["jobs"]
    engine_types = []
    for job in jobs[:: max(1, len(jobs) // 8)]:
        detail = get(emu, job_version_path(PROJECT, job["job_id"], job["version_id"])).json()
        engine_types.append(detail["engine_type"])
    assert engine_types == sorted(engine_types)


def test_sort_spelling_must_match_auth_mode(emu: ModelArtsEmulator) -> None:
    by_name = [job["job_id"] for job in list_jobs(emu, [("per_page", "50")])["jobs"]]
    # Under AK/SK auth only sortBy counts: sort_by is ignored and recorded as such.
    ignored = list_jobs(emu, [("per_page", "50"), ("sort_by", "create_time"), ("order", "asc")])
    assert [job["job_id"] for job in ignored["jobs"]] == by_name
    assert last_request(emu)["ignored_params"] == ["sort_by"]
    assert last_request(emu)["auth"] == "aksk"
    # Temporary AK/SK is AK/SK authentication too: sortBy.
    by_time = list_jobs(emu, [("per_page", "50"), ("sortBy", "create_time")], TEMP)["jobs"]
    assert [job["create_time"] for job in by_time] == sorted(job["create_time"] for job in by_time)
    assert last_request(emu)["ignored_params"] == [] and last_request(emu)["auth"] == "aksk-temp"
    # Under token auth it is the other way round.
    token = TokenAuth(issue_token(emu))
    by_time = list_jobs(emu, [("per_page", "50"), ("sort_by", "create_time")], token)["jobs"]
    assert [job["create_time"] for job in by_time] == sorted(job["create_time"] for job in by_time)
    list_jobs(emu, [("per_page", "50"), ("sortBy", "create_time")], token)
    assert last_request(emu)["ignored_params"] == ["sortBy"] and last_request(emu)["auth"] == "token"


def test_status_and_search_filters(emu: ModelArtsEmulator) -> None:
    running = list_jobs(emu, [("status", "8"), ("per_page", "1000")])["jobs"]
    assert running and all(job["status"] == 8 for job in running)
    completed = list_jobs(emu, [("status", "10"), ("per_page", "1000")])["jobs"]
    assert completed and all(job["status"] == 10 for job in completed)
    found = list_jobs(emu, [("search_content", "DEMO-RES")])["jobs"]  # case-insensitive substring
    assert [job["job_name"] for job in found] == ["demo-resnet50-train"]
    assert list_jobs(emu, [("search_content", "no such job ü ~*")])["jobs"] == []
    assert list_jobs(emu, [("search_content", "x" * 64)])["jobs"] == []  # 64 is the maximum


@pytest.mark.parametrize(
    ("pairs", "parameter"),
    [
        ([("per_page", "0")], "per_page"),
        ([("per_page", "1001")], "per_page"),
        ([("per_page", "-1")], "per_page"),
        ([("page", "0")], "page"),
        ([("page", "65536")], "page"),
        ([("status", "23")], "status"),
        ([("status", "running")], "status"),
        ([("sortBy", "job_id")], "sortBy"),
        ([("order", "ascending")], "order"),
        ([("search_content", "y" * 65)], "search_content"),
    ],
)
def test_invalid_list_parameters(emu: ModelArtsEmulator, pairs: list[tuple[str, str]], parameter: str) -> None:
    message = assert_modelarts_error(get(emu, jobs_path(PROJECT), pairs), 400, "ModelArts.0101")
    assert parameter in message


def test_unknown_workspace(emu: ModelArtsEmulator) -> None:
    response = get(emu, jobs_path(PROJECT), [("workspace_id", "ws-missing")])
    assert "workspace_id" in assert_modelarts_error(response, 400, "ModelArts.0102")


def test_large_project_lists_a_full_page() -> None:
    # How fast this is belongs to benchmarks/listing.py (a ratio in one run), not to a test.
    with ModelArtsEmulator(EmulatorConfig(job_count=10_000)) as big:
        body = list_jobs(big, [("per_page", "1000"), ("page", "3"), ("sortBy", "create_time")])
    assert body["job_total_count"] == 10_000 and len(body["jobs"]) == 1000


def test_same_seed_same_project_other_seed_differs() -> None:
    def snapshot(seed: int) -> list[tuple[Any, ...]]:
        with ModelArtsEmulator(EmulatorConfig(job_count=40, seed=seed)) as emulator:
            jobs = list_jobs(emulator, [("per_page", "100"), ("sortBy", "create_time")])["jobs"]
        return [(j["job_id"], j["job_name"], j["version_id"], j["version_count"]) for j in jobs]

    assert snapshot(11) == snapshot(11)
    assert snapshot(11) != snapshot(12)


# ---------------------------------------------------------------------------------------------
# Versions (§2) and version detail (§3a)
# ---------------------------------------------------------------------------------------------


def test_versions_all_by_default_and_paged(emu: ModelArtsEmulator) -> None:
    body = get(emu, job_versions_path(PROJECT, 1)).json()
    assert set(body) == {"is_success", "job_id", "job_name", "job_desc", "version_count", "versions"}
    assert body["job_name"] == "demo-resnet50-train" and body["version_count"] == 3
    versions = body["versions"]
    assert [v["version_name"] for v in versions] == ["V0003", "V0002", "V0001"]  # newest first, page 0 = all
    assert versions[0]["pre_version_id"] == versions[1]["version_id"]
    assert [v["status"] for v in versions[1:]] == [JobStatus.COMPLETED, JobStatus.COMPLETED]
    first = get(emu, job_versions_path(PROJECT, 1), [("per_page", "2"), ("page", "1")]).json()["versions"]
    second = get(emu, job_versions_path(PROJECT, 1), [("per_page", "2"), ("page", "2")]).json()["versions"]
    assert [v["version_id"] for v in first + second] == [v["version_id"] for v in versions]
    version = versions[0]
    assert isinstance(version["gpu"], bool) and "spec_code" not in version
    assert isinstance(version["system_metric_list"], str)
    assert "cpuUsage" in json.loads(version["system_metric_list"])
    assert isinstance(version["model_metric_list"], str)
    assert all(set(item) == {"label", "value"} for item in version["parameter"])
    assert version["train_url"].startswith("obs://")
    for bad in ([("page", "-1")], [("per_page", "0")], [("per_page", "1001")]):
        assert_modelarts_error(get(emu, job_versions_path(PROJECT, 1), bad), 400, "ModelArts.0101")


def test_version_detail_is_flat_with_documented_differences(emu: ModelArtsEmulator) -> None:
    listed = get(emu, job_versions_path(PROJECT, 2)).json()["versions"][0]
    detail = get(emu, job_version_path(PROJECT, 2, listed["version_id"])).json()
    assert detail["is_success"] is True and detail["job_id"] == 2
    assert detail["job_name"] == "demo-bert-finetune-broken"
    assert "gpu" not in detail and isinstance(detail["spec_code"], str)
    assert isinstance(detail["system_metric_list"], dict) and "gpuUtil" in detail["system_metric_list"]
    assert isinstance(detail["model_metric_list"], str) and isinstance(detail["engine_type"], int)
    assert json.loads(listed["system_metric_list"]) == detail["system_metric_list"]
    moving = {"status", "duration", "gpu", "system_metric_list"}
    shared = {key: value for key, value in listed.items() if key not in moving}
    assert shared == {key: detail[key] for key in shared}


def test_not_found_shapes(emu: ModelArtsEmulator) -> None:
    # ModelArts.2775 (TrainingJobNotFound) comes with HTTP 400 in the documented error table.
    message = assert_modelarts_error(get(emu, job_versions_path(PROJECT, 987654)), 400, "ModelArts.2775")
    assert message == "Training job (ID: 987654) not found"
    other_version = get(emu, job_versions_path(PROJECT, 2)).json()["versions"][0]["version_id"]
    response = get(emu, job_version_path(PROJECT, 1, other_version))
    message = assert_modelarts_error(response, 400, "ModelArts.2775")
    assert message == f"Training job version (ID: {other_version}) not found"
    assert_modelarts_error(get(emu, job_version_path(PROJECT, 987654, 1)), 400, "ModelArts.2775")
    assert_apigw(get(emu, f"/v2/{PROJECT}/training-jobs"), 404, "APIGW.0101", "API not found")
    post = requests.post(f"{emu.url}{jobs_path(PROJECT)}", json={}, auth=AKSK, timeout=10)
    assert_apigw(post, 404, "APIGW.0101")
