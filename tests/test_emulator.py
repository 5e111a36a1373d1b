"""End-to-end tests of the ModelArts emulator: real HTTP against an in-process server, no mocks.

Requests are signed with the provider's ``AkSkAuth`` and, in the cross-check, with the official
``huaweicloudsdkcore`` signer, so the emulator's verification is held to the SDK's algorithm.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pendulum
import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from airflow_provider_modelarts.api import SORT_KEYS, JobStatus, job_version_path, job_versions_path
from airflow_provider_modelarts.api import training_jobs_path as jobs_path
from airflow_provider_modelarts.cloud.auth import AkSkAuth
from airflow_provider_modelarts.emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_DOMAIN_NAME,
    DEFAULT_IAM_USER_NAME,
    DEFAULT_IAM_USER_PASSWORD,
    DEFAULT_PASSWORD,
    DEFAULT_PROJECT_ID,
    DEFAULT_QUOTAS,
    DEFAULT_REGION,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_TEMP_ACCESS_KEY,
    DEFAULT_TEMP_SECRET_KEY,
    EmulatorConfig,
    ModelArtsEmulator,
    signing,
)

PROJECT = DEFAULT_PROJECT_ID
JOB_COUNT = 60
AKSK = AkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
BAD_SK = AkSkAuth(DEFAULT_ACCESS_KEY, "not-the-secret-key", PROJECT)
TEMP = AkSkAuth(DEFAULT_TEMP_ACCESS_KEY, DEFAULT_TEMP_SECRET_KEY, PROJECT, security_token=DEFAULT_SECURITY_TOKEN)
LIST_ITEM_KEYS = {
    "job_id", "job_name", "job_desc", "version_id", "status", "create_time", "duration", "version_count",
}  # fmt: skip
IAM_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=JOB_COUNT)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> None:
    # Faults, AK locks and stats must not leak from one test into the next.
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


@pytest.fixture(scope="module")
def short_emu() -> Iterator[ModelArtsEmulator]:
    """Short token lifetime and AK lock, to see both end within a test."""
    config = EmulatorConfig(job_count=8, token_ttl_seconds=1.0, ak_lock_seconds=0.6)
    with ModelArtsEmulator(config) as emulator:
        yield emulator


def url_with(base: str, path: str, pairs: list[tuple[str, str]] | None = None) -> str:
    """A URL whose query encodes a space as %20 (``params=`` in requests would use '+')."""
    query = urlencode(pairs or [], quote_via=quote, safe="~")
    return f"{base}{path}" + (f"?{query}" if query else "")


def get(
    emu: ModelArtsEmulator,
    path: str,
    pairs: list[tuple[str, str]] | None = None,
    auth: Any = AKSK,
    **kwargs: Any,
) -> requests.Response:
    return requests.get(url_with(emu.url, path, pairs), auth=auth, timeout=10, **kwargs)


def list_jobs(emu: ModelArtsEmulator, pairs: list[tuple[str, str]], auth: Any = AKSK) -> dict[str, Any]:
    response = get(emu, jobs_path(PROJECT), pairs, auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def last_request(emu: ModelArtsEmulator) -> dict[str, Any]:
    entry: dict[str, Any] = emu.stats()["requests"][-1]
    return entry


def token_body(user: str, password: str, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": DEFAULT_DOMAIN_NAME}}},
            },
            "scope": scope or {"project": {"id": PROJECT}},
        }
    }


def issue_token(emu: ModelArtsEmulator, user: str = DEFAULT_DOMAIN_NAME, password: str = DEFAULT_PASSWORD) -> str:
    response = requests.post(f"{emu.url}/v3/auth/tokens", json=token_body(user, password), timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


class TokenAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Auth-Token"] = self.token
        return request


def assert_apigw(response: requests.Response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert body["request_id"] == response.headers["X-Request-Id"]
    if message is not None:
        assert body["error_msg"] == message


def assert_modelarts_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["is_success"] is False and body["error_code"] == code
    message: str = body["error_message"]
    return message


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


# ---------------------------------------------------------------------------------------------
# AK/SK authentication (§6a, §5b)
# ---------------------------------------------------------------------------------------------


def test_aksk_accepted_and_bad_sk_rejected(emu: ModelArtsEmulator) -> None:
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    response = get(emu, jobs_path(PROJECT), [("per_page", "5")], BAD_SK)
    assert_apigw(response, 401, "APIGW.0301")
    message = response.json()["error_msg"]
    # The gateway echoes its canonical request with '|' for newlines.
    assert message.startswith(f"verify aksk signature fail, canonicalRequest:GET|{jobs_path(PROJECT)}/|per_page=5|")
    unknown = AkSkAuth("EMUUNKNOWNAK00000000", DEFAULT_SECRET_KEY, PROJECT)
    assert_apigw(get(emu, jobs_path(PROJECT), auth=unknown), 401, "APIGW.0301", "ak EMUUNKNOWNAK00000000 not exist")
    stats = emu.stats()
    assert stats["auth_failures"] == 2 and [r["auth"] for r in stats["requests"]] == ["aksk", None, None]


def test_signature_date_window(emu: ModelArtsEmulator) -> None:
    def skewed(minutes: int) -> AkSkAuth:
        return AkSkAuth(
            DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT, clock=lambda: pendulum.now("UTC").add(minutes=minutes)
        )

    for minutes in (-16, 16):
        response = get(emu, jobs_path(PROJECT), auth=skewed(minutes))
        assert_apigw(response, 401, "APIGW.0301", "calc ak sk signature fail:signature expired")
    assert get(emu, jobs_path(PROJECT), auth=skewed(-14)).status_code == 200


def test_plus_for_space_fails_while_percent_20_passes(emu: ModelArtsEmulator) -> None:
    url = url_with(emu.url, jobs_path(PROJECT), [("search_content", "demo resnet")])
    assert "%20" in url
    with requests.Session() as session:
        good = session.send(requests.Request("GET", url, auth=AKSK).prepare(), timeout=10)
        assert good.status_code == 200
        prepared = requests.Request("GET", url, auth=AKSK).prepare()
        assert prepared.url is not None
        prepared.url = prepared.url.replace("%20", "+")  # what a form-style encoder would send
        bad = session.send(prepared, timeout=10)
    assert_apigw(bad, 401, "APIGW.0301")
    assert "search_content=demo%2Bresnet" in bad.json()["error_msg"]


def test_ak_lock_after_more_than_five_failures(emu: ModelArtsEmulator) -> None:
    path = jobs_path(PROJECT)
    # Five failures, then a success, reset the count: no lock.
    for _ in range(5):
        assert get(emu, path, auth=BAD_SK).status_code == 401
    assert get(emu, path).status_code == 200
    for _ in range(6):
        assert get(emu, path, auth=BAD_SK).json()["error_msg"].startswith("verify aksk signature fail")
    # Now even a correct signature is refused.
    assert_apigw(get(emu, path), 401, "APIGW.0301", "AK access failed to reach the limit,forbidden")
    # Other AKs are unaffected, and reset() lifts the lock.
    assert get(emu, path, auth=TEMP).status_code == 200
    emu.reset()
    assert get(emu, path).status_code == 200


def test_ak_lock_expires(short_emu: ModelArtsEmulator) -> None:
    for _ in range(6):
        get(short_emu, jobs_path(PROJECT), auth=BAD_SK)
    assert get(short_emu, jobs_path(PROJECT)).json()["error_msg"] == "AK access failed to reach the limit,forbidden"
    time.sleep(0.7)
    assert get(short_emu, jobs_path(PROJECT)).status_code == 200


def test_temporary_credentials_need_a_signed_security_token(emu: ModelArtsEmulator) -> None:
    path = jobs_path(PROJECT)
    assert get(emu, path, auth=TEMP).status_code == 200
    assert last_request(emu)["auth"] == "aksk-temp"
    no_token = AkSkAuth(DEFAULT_TEMP_ACCESS_KEY, DEFAULT_TEMP_SECRET_KEY, PROJECT)
    assert_apigw(get(emu, path, auth=no_token), 401, "APIGW.0301")
    wrong_token = AkSkAuth(DEFAULT_TEMP_ACCESS_KEY, DEFAULT_TEMP_SECRET_KEY, PROJECT, security_token="other")
    assert_apigw(get(emu, path, auth=wrong_token), 401, "APIGW.0301")
    # Sent but not signed: added after signing.
    prepared = requests.Request("GET", f"{emu.url}{path}", auth=no_token).prepare()
    prepared.headers["X-Security-Token"] = DEFAULT_SECURITY_TOKEN
    with requests.Session() as session:
        assert_apigw(session.send(prepared, timeout=10), 401, "APIGW.0301")
    # A bad signature echoes the canonical request, security token included: clients must redact.
    bad = AkSkAuth(DEFAULT_TEMP_ACCESS_KEY, "wrong", PROJECT, security_token=DEFAULT_SECURITY_TOKEN)
    assert DEFAULT_SECURITY_TOKEN in get(emu, path, auth=bad).json()["error_msg"]


def test_missing_credentials_and_wrong_project(emu: ModelArtsEmulator) -> None:
    response = get(emu, jobs_path(PROJECT), auth=None)
    assert_apigw(response, 401, "APIGW.0301", "Incorrect IAM authentication information")
    other_project = "f" * 32
    response = get(emu, jobs_path(other_project), auth=AkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
    assert_modelarts_error(response, 403, "ModelArts.0210")


# ---------------------------------------------------------------------------------------------
# IAM tokens (§6b)
# ---------------------------------------------------------------------------------------------


def test_iam_account_token_issue_and_use(emu: ModelArtsEmulator) -> None:
    response = requests.post(
        f"{emu.url}/v3/auth/tokens?nocatalog=true", json=token_body(DEFAULT_DOMAIN_NAME, DEFAULT_PASSWORD), timeout=10
    )
    assert response.status_code == 201
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert IAM_TIMESTAMP.match(body["expires_at"]) and IAM_TIMESTAMP.match(body["issued_at"])
    lifetime = pendulum.parse(body["expires_at"]) - pendulum.parse(body["issued_at"])  # type: ignore[operator]
    assert lifetime.total_seconds() == pytest.approx(86400, abs=1)
    assert body["methods"] == ["password"] and body["catalog"] == []
    assert body["project"]["id"] == PROJECT and body["project"]["name"] == DEFAULT_REGION
    assert body["user"]["name"] == DEFAULT_DOMAIN_NAME
    assert body["user"]["domain"]["name"] == DEFAULT_DOMAIN_NAME
    assert list_jobs(emu, [], TokenAuth(token))["job_total_count"] == JOB_COUNT
    assert emu.stats()["tokens_issued"] == 1 and last_request(emu)["auth"] == "token"


def test_iam_user_token_scoped_by_region_name(emu: ModelArtsEmulator) -> None:
    scope = {"project": {"name": DEFAULT_REGION}}
    body = token_body(DEFAULT_IAM_USER_NAME, DEFAULT_IAM_USER_PASSWORD, scope)
    response = requests.post(f"{emu.url}/v3/auth/tokens", json=body, timeout=10)
    assert response.status_code == 201
    assert response.json()["token"]["user"]["name"] == DEFAULT_IAM_USER_NAME
    assert list_jobs(emu, [], TokenAuth(response.headers["X-Subject-Token"]))["is_success"] is True


def test_iam_errors(emu: ModelArtsEmulator) -> None:
    tokens_url = f"{emu.url}/v3/auth/tokens"
    wrong = requests.post(tokens_url, json=token_body(DEFAULT_IAM_USER_NAME, DEFAULT_PASSWORD), timeout=10)
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
    }
    malformed = requests.post(tokens_url, json={"auth": {"identity": {"methods": ["password"]}}}, timeout=10)
    assert malformed.status_code == 400 and malformed.json()["error_code"] == "IAM.0011"
    assert requests.post(tokens_url, data=b"{not json", timeout=10).status_code == 400
    bad_scope = token_body(DEFAULT_DOMAIN_NAME, DEFAULT_PASSWORD, {"project": {"id": "0" * 32}})
    assert requests.post(tokens_url, json=bad_scope, timeout=10).status_code == 400
    response = get(emu, jobs_path(PROJECT), auth=TokenAuth("MIInot-a-token"))
    assert_apigw(response, 401, "APIGW.0301", "decrypt token fail")
    assert emu.stats()["tokens_issued"] == 0


def test_token_expiry(short_emu: ModelArtsEmulator) -> None:
    token = TokenAuth(issue_token(short_emu))
    assert get(short_emu, jobs_path(PROJECT), auth=token).status_code == 200
    time.sleep(1.1)
    assert_apigw(get(short_emu, jobs_path(PROJECT), auth=token), 401, "APIGW.0307", "The token must be updated.")


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------


def test_throttling_fault_comes_before_auth(emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="status", status=429, retry_after=3, count=2)
    first = get(emu, jobs_path(PROJECT), auth=None)  # no credentials, still throttled first
    assert_apigw(first, 429, "APIGW.0308")
    assert "ratelimit" in first.json()["error_msg"] and first.headers["Retry-After"] == "3"
    assert get(emu, jobs_path(PROJECT)).status_code == 429
    assert get(emu, jobs_path(PROJECT)).status_code == 200  # count consumed
    assert emu.stats()["faults_served"] == 2


@pytest.mark.parametrize(
    ("status", "options", "code"),
    [
        (500, {}, "ModelArts.0010"),
        (502, {}, "APIGW.0201"),
        (503, {}, "APIGW.0613"),
        (504, {}, "APIGW.0201"),
        (503, {"error_code": "APIGW.0601", "error_message": "backend down"}, "APIGW.0601"),
        (429, {"error_code": "ModelArts.2799", "error_message": "Too many requests"}, "ModelArts.2799"),
    ],
)
def test_status_faults(emu: ModelArtsEmulator, status: int, options: dict[str, Any], code: str) -> None:
    emu.add_fault(kind="status", status=status, count=1, **options)
    response = get(emu, jobs_path(PROJECT))
    assert response.status_code == status and response.json()["error_code"] == code
    if "error_message" in options:
        body = response.json()
        assert options["error_message"] in (body.get("error_msg"), body.get("error_message"))


def test_fault_path_filter_and_persistence(emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="status", status=503, path_contains="/versions")
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    for _ in range(3):  # no count: stays until cleared
        assert get(emu, job_versions_path(PROJECT, 1)).status_code == 503
    assert requests.get(f"{emu.url}/_emulator/stats", timeout=10).status_code == 200  # never faulted
    emu.clear_faults()
    assert get(emu, job_versions_path(PROJECT, 1)).status_code == 200


def test_drop_faults(emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        get(emu, jobs_path(PROJECT))
    emu.add_fault(kind="drop_mid", count=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        get(emu, jobs_path(PROJECT))
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    statuses = [entry["status"] for entry in emu.stats()["requests"]]
    assert statuses == [None, 200, 200]


def test_slow_fault(emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="slow", delay=0.4, count=1)
    started = time.perf_counter()
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    assert time.perf_counter() - started >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        emu.add_fault(kind="slow", delay=0.5, count=1)
        requests.get(url_with(emu.url, jobs_path(PROJECT)), auth=AKSK, timeout=0.2)


def test_body_faults(emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="not_json", count=1)
    html = get(emu, jobs_path(PROJECT))
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        html.json()
    emu.add_fault(kind="truncated", count=1)
    truncated = get(emu, jobs_path(PROJECT))
    assert truncated.status_code == 200 and int(truncated.headers["Content-Length"]) == len(truncated.content)
    with pytest.raises(ValueError):
        truncated.json()
    emu.add_fault(kind="success_false", count=1)
    assert_modelarts_error(get(emu, jobs_path(PROJECT)), 200, "ModelArts.0104")
    emu.add_fault(kind="token_expired", count=1)
    assert_apigw(get(emu, jobs_path(PROJECT)), 401, "APIGW.0307", "The token must be updated.")
    with pytest.raises(ValueError):
        emu.add_fault(kind="no-such-kind")


# ---------------------------------------------------------------------------------------------
# Stats and control endpoints
# ---------------------------------------------------------------------------------------------


def test_stats_count_requests_and_connection_reuse(emu: ModelArtsEmulator) -> None:
    with requests.Session() as session:
        session.auth = AKSK
        for path in (jobs_path(PROJECT), job_versions_path(PROJECT, 1), job_version_path(PROJECT, 1, 1)):
            session.get(f"{emu.url}{path}?page=1", timeout=10)
        session.get(f"{emu.url}/nowhere", timeout=10)
    requests.post(f"{emu.url}/v3/auth/tokens", json={}, timeout=10)
    stats = requests.get(f"{emu.url}/_emulator/stats", timeout=10).json()
    assert stats["requests_total"] == 5  # control requests are not counted
    assert stats["by_endpoint"] == {
        "list_jobs": 1, "list_versions": 1, "get_version": 1, "iam_tokens": 1, "other": 1,
        "search_training_jobs": 0, "get_training_job": 0,
    }  # fmt: skip
    assert stats["by_status"] == {"200": 2, "404": 1, "400": 2}
    # One keep-alive session for four requests, one for the POST, one for the stats request.
    assert stats["connections_opened"] == 3
    assert [entry["query"] for entry in stats["requests"][:3]] == ["page=1"] * 3
    assert {"method", "path", "query", "status", "auth", "ignored_params"} <= set(stats["requests"][0])


def test_control_endpoints_over_http(emu: ModelArtsEmulator) -> None:
    control = f"{emu.url}/_emulator"
    created = requests.post(f"{control}/jobs", json={"job_name": "ctl-job", "timeline": [[8, None]]}, timeout=10)
    assert created.status_code == 201
    job_id, version_id = created.json()["job_id"], created.json()["version_id"]
    added = requests.post(f"{control}/jobs/{job_id}/versions", json={"timeline": [[7, None]]}, timeout=10).json()
    listed = get(emu, job_versions_path(PROJECT, job_id)).json()
    assert [v["status"] for v in listed["versions"]] == [7, 8] and listed["versions"][0]["version_id"] == added[
        "version_id"
    ]
    timeline_url = f"{control}/jobs/{job_id}/versions/{version_id}/timeline"
    assert requests.put(timeline_url, json={"timeline": [[11, None]]}, timeout=10).status_code == 200
    assert get(emu, job_version_path(PROJECT, job_id, version_id)).json()["status"] == 11
    assert requests.put(timeline_url, json={"timeline": [[99, None]]}, timeout=10).status_code == 400
    fault = requests.post(f"{control}/faults", json={"kind": "status", "status": 502, "count": 1}, timeout=10)
    assert fault.status_code == 201 and get(emu, jobs_path(PROJECT)).status_code == 502
    requests.post(f"{control}/faults", json={"kind": "drop"}, timeout=10)
    assert requests.delete(f"{control}/faults", timeout=10).status_code == 200
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    assert requests.delete(f"{control}/jobs/{job_id}", timeout=10).status_code == 200
    assert get(emu, job_versions_path(PROJECT, job_id)).json()["error_code"] == "ModelArts.2775"
    assert requests.delete(f"{control}/jobs/{job_id}", timeout=10).status_code == 404
    assert requests.post(f"{control}/reset", timeout=10).status_code == 200
    assert emu.stats()["requests_total"] == 0


def test_status_progression_over_time() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=6, speed=10.0)) as fast:
        created = fast.create_job(job_name="progress", timeline=[(1, 1.0), (8, 3.0), (10, None)])
        detail_path = job_version_path(PROJECT, created["job_id"], created["version_id"])
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            detail = get(fast, detail_path).json()
            if not seen or seen[-1] != detail["status"]:
                seen.append(detail["status"])
            if detail["status"] == JobStatus.COMPLETED:
                break
            time.sleep(0.03)
        assert seen == [1, 8, 10]
        assert detail["duration"] == 4000  # frozen at the terminal step: 1 s + 3 s emulated
        time.sleep(0.1)
        assert get(fast, detail_path).json()["duration"] == 4000
        # The list shows the latest version's status.
        listed = list_jobs(fast, [("search_content", "progress")])["jobs"][0]
        assert listed["status"] == 10 and listed["version_id"] == created["version_id"]


def test_fixture_timelines_end_as_documented() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=6, speed=1.0)) as slow:
        early = {job["job_id"]: job["status"] for job in list_jobs(slow, [("per_page", "10")])["jobs"]}
    assert early == {1: 1, 2: 1, 3: 1, 4: 8, 5: 18, 6: 8}
    with ModelArtsEmulator(EmulatorConfig(job_count=6, speed=2000.0)) as fast:
        time.sleep(0.15)  # 300 emulated seconds
        jobs = {job["job_id"]: job for job in list_jobs(fast, [("per_page", "10")])["jobs"]}
    assert {job_id: job["status"] for job_id, job in jobs.items()} == {1: 10, 2: 11, 3: 3, 4: 12, 5: 20, 6: 8}
    assert jobs[1]["duration"] == 60_000 and jobs[2]["duration"] == 40_000
    assert jobs[3]["duration"] == 15_000 and jobs[4]["duration"] == 25_000
    # 20 ("review finished") ends the version for the server too: its duration stops at 20 s.
    assert jobs[5]["duration"] == 20_000


# ---------------------------------------------------------------------------------------------
# TLS and the command line
# ---------------------------------------------------------------------------------------------


def test_tls_with_ca_bundle() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=3, tls=True)) as secure:
        assert secure.url.startswith("https://127.0.0.1:") and secure.ca_bundle
        response = requests.get(
            url_with(secure.url, jobs_path(PROJECT)), auth=AKSK, verify=secure.ca_bundle, timeout=10
        )
        assert response.status_code == 200 and response.json()["job_total_count"] == 3
        localhost = secure.url.replace("127.0.0.1", "localhost")
        assert requests.get(f"{localhost}/_emulator/health", verify=secure.ca_bundle, timeout=10).ok
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{secure.url}/_emulator/health", timeout=10)
        bundle = secure.ca_bundle
    assert not os.path.exists(bundle)  # removed on stop


def test_cli_prints_ready_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    command = [sys.executable, "-m", "airflow_provider_modelarts.emulator", "--jobs", "12", "--speed", "5"]
    process = subprocess.Popen(
        [*command, "--ready-file", str(ready_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        ready = json.loads(line)
        assert set(ready) == {"url", "ca_bundle", "project_id", "access_key"}
        assert ready["project_id"] == PROJECT and ready["access_key"] == DEFAULT_ACCESS_KEY
        assert ready["ca_bundle"] is None
        assert DEFAULT_SECRET_KEY not in line and DEFAULT_PASSWORD not in line
        assert json.loads(ready_file.read_text()) == ready
        body = requests.get(url_with(ready["url"], jobs_path(PROJECT)), auth=AKSK, timeout=10).json()
        assert body["job_total_count"] == 12
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------------
# The gateway's own signature verification against the documented known-answer vectors
# ---------------------------------------------------------------------------------------------

# Inputs and answers of the SDK-HMAC-SHA256 vectors (computed with huaweicloudsdkcore 3.1.219's
# signer and checked with plain hmac/hashlib); written out here, not taken from the client.
VECTOR_SK = "exampleSecretKey0123456789abcdefghijklmnop"
VECTOR_DATE = "20240102T030405Z"
VECTOR_PROJECT = "0123456789abcdef0123456789abcdef"
VECTOR_HEADERS = {
    "content-type": "application/json",
    "host": "modelarts.cn-north-4.myhuaweicloud.com",
    "x-project-id": VECTOR_PROJECT,
    "x-sdk-date": VECTOR_DATE,
}
VECTOR_JOBS = f"/v1/{VECTOR_PROJECT}/training-jobs"
VECTOR_QUERY = "order=desc&page=1&per_page=10&search_content=my%20job%20%C3%BC~%2A&sortBy=create_time&status=8"


@pytest.mark.parametrize(
    ("method", "path", "query", "extra_headers", "body", "digest", "signature"),
    [
        pytest.param(
            "GET", VECTOR_JOBS, VECTOR_QUERY, {}, b"",
            "99cb10d69fd193ceae1f4815c4ab295d3e107a021ef93316bb63000201c33afc",
            "a287e43554bbcb75a5b0c47139d5e3be39a97d941e8961cac69c8c94650a9cc9",
            id="V1-get-encoded-query",
        ),
        pytest.param(
            "GET", f"{VECTOR_JOBS}/10/versions/20", "", {}, b"",
            "e16ad657388a4470b65336d510526e512eb73c54bbf098b03c8f4beb3ef60724",
            "da550b821a86c1c3ea655b158d25db95c73f49f2b8ff7f41fc31d2d3eed26c6f",
            id="V2-get-no-query",
        ),
        pytest.param(
            "POST", VECTOR_JOBS, "", {}, b'{"job_name":"demo","job_desc":"x"}',
            "671e373aa9683f34ac1febc3409cc5cc114988cfd9e5ea743e91ed143ac03de7",
            "573623792257741ba7469fc3f5cf0273a31c87d2a221f8bb9bacb83e0084f5c7",
            id="V3-post-json",
        ),
        pytest.param(
            "GET", f"{VECTOR_JOBS}/10/versions/20", "", {"x-security-token": "EXAMPLE-SECURITY-TOKEN"}, b"",
            "d636fea264732a14711c5aa135324b1a7d7e8744ac8d59df86d9cc2964b61475",
            "f2e17ab4f3d68db09b9d6ad29a7b63aa8a89ef3ab72f46d5962b1a4eaca45196",
            id="V4-security-token",
        ),
    ],
)  # fmt: skip
def test_gateway_signing_reproduces_the_documented_vectors(
    method: str, path: str, query: str, extra_headers: dict[str, str], body: bytes, digest: str, signature: str
) -> None:
    canonical = signing.canonical_request(method, path, query, {**VECTOR_HEADERS, **extra_headers}, body)
    assert canonical.splitlines()[1] == path + "/"  # the trailing slash exists only when signing
    assert canonical.splitlines()[2] == query  # the SDK's wire query is already canonical
    assert hashlib.sha256(canonical.encode()).hexdigest() == digest
    assert signing.signature(VECTOR_SK, VECTOR_DATE, canonical) == signature


def test_gateway_parses_the_authorization_header() -> None:
    header = "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0000001, SignedHeaders=host;x-sdk-date, Signature=ab12"
    assert signing.parse_authorization(header) == signing.Credential(
        "HPUAEXAMPLEAK0000001", ("host", "x-sdk-date"), "ab12"
    )
    assert signing.parse_authorization("Bearer abc") is None
    assert signing.parse_authorization("SDK-HMAC-SHA256 Access=AK, Signature=ab12") is None


def test_gateway_canonical_forms_follow_the_signing_rules() -> None:
    # A '+' on the wire is a plus (unquote, not unquote_plus); %2F in a path is a separator.
    assert signing.query_pairs("q=a+b&r=a%20b&flag") == [("q", "a+b"), ("r", "a b"), ("flag", "")]
    assert signing.canonical_query([("b", "2"), ("a", "z"), ("a", "b"), ("B", "1")]) == "B=1&a=b&a=z&b=2"
    assert signing.canonical_path("/a%2Fb/c d") == "/a/b/c%20d/"
    # An empty body hashes as empty even when the unsigned-payload header is present.
    assert signing.body_digest(b"", "UNSIGNED-PAYLOAD") == hashlib.sha256(b"").hexdigest()
    assert signing.body_digest(b"x", "UNSIGNED-PAYLOAD") == "UNSIGNED-PAYLOAD"
    assert signing.signable_header_names(["Host", "X_Custom", "X-Sdk-Date"]) == ["host", "x-sdk-date"]


# ---------------------------------------------------------------------------------------------
# Cross-check with the official SDK signer
# ---------------------------------------------------------------------------------------------

SEARCH_VALUES = ["", "demo", "my job ü~*", "a+b", "x&y=z", "100% sure", " lead", "中文 名称", "~*'()!$,;:@/?"]


def _cases(count: int) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Varied (path, query) pairs; deterministic so that a failure reproduces."""
    rng = random.Random(2024)
    paths = [
        jobs_path(PROJECT),
        jobs_path(PROJECT) + "/",
        job_versions_path(PROJECT, 1),
        job_version_path(PROJECT, 1, 100003),
        job_versions_path(PROJECT, 424242),
    ]
    cases: list[tuple[str, list[tuple[str, Any]]]] = []
    for index in range(count):
        path = paths[index % len(paths)]
        query: list[tuple[str, Any]] = []
        if index % 4:  # every fourth request has an empty query
            query.append(("search_content", rng.choice(SEARCH_VALUES)))
            query.append(("per_page", rng.randint(1, 1000)))
            query.append(("order", rng.choice(["asc", "desc"])))
            if rng.random() < 0.5:
                query.append(("tag", ["b", "a c"]))  # the SDK sorts list values and repeats the key
            if rng.random() < 0.3:
                query.append(("refresh", rng.random() < 0.5))  # booleans are sent as true/false
        cases.append((path, query))
    return cases


def _sdk_send(
    emu: ModelArtsEmulator, path: str, query: list[tuple[str, Any]], sk: str, temp: bool
) -> requests.Response:
    host = emu.url.split("://", 1)[1]
    ak = DEFAULT_TEMP_ACCESS_KEY if temp else DEFAULT_ACCESS_KEY
    credentials = BasicCredentials(ak, sk, PROJECT)
    if temp:
        credentials = credentials.with_security_token(DEFAULT_SECURITY_TOKEN)
    request = SdkRequest(
        method="GET",
        schema="http",
        host=host,
        resource_path=path,
        query_params=[(key, list(value) if isinstance(value, list) else value) for key, value in query],
        # What the SDK client itself adds before signing.
        header_params={"Content-Type": "application/json", "User-Agent": "huaweicloud-usdk-python/3.0"},
    )
    signed = credentials.sign_request(request)
    # The SDK's exact wire form: its canonical query string in the URI, its headers verbatim.
    return requests.get(f"{emu.url}{signed.uri}", headers=dict(signed.header_params), timeout=10)


def _aksk_send(
    emu: ModelArtsEmulator, path: str, query: list[tuple[str, Any]], sk: str, temp: bool
) -> requests.Response:
    pairs: list[tuple[str, str]] = []
    for key, value in query:
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, str(item).lower() if isinstance(item, bool) else str(item)) for item in values)
    ak = DEFAULT_TEMP_ACCESS_KEY if temp else DEFAULT_ACCESS_KEY
    auth = AkSkAuth(ak, sk, PROJECT, security_token=DEFAULT_SECURITY_TOKEN if temp else None)
    return requests.get(url_with(emu.url, path, pairs), auth=auth, timeout=10)


def test_cross_check_sdk_signer_and_aksk_auth(emu: ModelArtsEmulator) -> None:
    for index, (path, query) in enumerate(_cases(60)):
        temp = index % 3 == 0
        secret = DEFAULT_TEMP_SECRET_KEY if temp else DEFAULT_SECRET_KEY
        for send in (_sdk_send, _aksk_send):
            response = send(emu, path, query, secret, temp)
            assert response.status_code in (200, 400), (send.__name__, path, query, response.text)
            if response.status_code == 400:
                assert response.json()["error_code"] == "ModelArts.2775"  # authenticated, then not found
            assert last_request(emu)["auth"] == ("aksk-temp" if temp else "aksk")
        if index % 5 == 0:
            for send in (_sdk_send, _aksk_send):
                rejected = send(emu, path, query, "wrong-secret-key", temp)
                assert_apigw(rejected, 401, "APIGW.0301")
                assert rejected.json()["error_msg"].startswith("verify aksk signature fail, canonicalRequest:GET|")
            emu.reset()  # keep the deliberate failures from locking the AK
    assert emu.stats()["auth_failures"] == 0


# ---------------------------------------------------------------------------------------------
# What a leak scan needs: secrets seen on the wire, clock skew, configurable credentials
# ---------------------------------------------------------------------------------------------


def test_stats_remember_every_secret_value_that_crossed_the_wire(emu: ModelArtsEmulator) -> None:
    temp_response = get(emu, jobs_path(PROJECT), auth=TEMP)
    bad_response = get(emu, jobs_path(PROJECT), auth=BAD_SK)
    emu.add_fault(kind="status", status=503, count=1)
    faulted = get(emu, jobs_path(PROJECT))  # answered by the fault, but the signature was sent
    token = issue_token(emu)
    get(emu, jobs_path(PROJECT), auth=TokenAuth(token))
    get(emu, jobs_path(PROJECT), auth=TokenAuth("MII-not-issued-here"))
    assert (temp_response.status_code, bad_response.status_code, faulted.status_code) == (200, 401, 503)
    seen = emu.stats()["secrets_seen"]
    assert len(seen["signatures"]) == 3  # three signed requests: accepted, refused, faulted
    assert all(re.fullmatch(r"[0-9a-f]{64}", signature) for signature in seen["signatures"])
    assert seen["iam_tokens"] == [token, "MII-not-issued-here"]  # issued once, presented once: kept once
    assert seen["security_tokens"] == [DEFAULT_SECURITY_TOKEN]
    over_http = requests.get(f"{emu.url}/_emulator/stats", timeout=10).json()["secrets_seen"]
    assert over_http == seen
    emu.reset()
    assert emu.stats()["secrets_seen"] == {"signatures": [], "iam_tokens": [], "security_tokens": []}


def test_clock_skew_makes_correct_signatures_expire(emu: ModelArtsEmulator) -> None:
    emu.set_clock_skew(16 * 60)
    assert_apigw(get(emu, jobs_path(PROJECT)), 401, "APIGW.0301", "calc ak sk signature fail:signature expired")
    emu.set_clock_skew(-14 * 60)  # within the 15-minute window
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    control = requests.put(f"{emu.url}/_emulator/clock", json={"skew_seconds": -20 * 60}, timeout=10)
    assert control.status_code == 200 and control.json()["skew_seconds"] == -1200
    assert get(emu, jobs_path(PROJECT)).status_code == 401
    # Tokens are not signed, so the skew does not touch them.
    assert get(emu, jobs_path(PROJECT), auth=TokenAuth(issue_token(emu))).status_code == 200
    bad = requests.put(f"{emu.url}/_emulator/clock", json={"skew_seconds": "soon"}, timeout=10)
    assert bad.status_code == 400
    emu.reset()  # reset also puts the clock right
    assert get(emu, jobs_path(PROJECT)).status_code == 200


def test_cli_sets_every_credential(emu: ModelArtsEmulator) -> None:
    from airflow_provider_modelarts.emulator.__main__ import config_from_args, parse_args

    args = parse_args(
        [
            "--ak", "LEAKAK00000000000001", "--sk", "leak-sk", "--temp-ak", "LEAKTEMPAK0000000001",
            "--temp-sk", "leak-temp-sk", "--security-token", "leak-security-token", "--user", "leak-account",
            "--password", "leak-pw", "--domain", "leak-account", "--iam-user", "leak-user",
            "--iam-password", "leak-pw2",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.access_key, config.secret_key) == ("LEAKAK00000000000001", "leak-sk")
    assert (config.temp_access_key, config.temp_secret_key) == ("LEAKTEMPAK0000000001", "leak-temp-sk")
    assert config.security_token == "leak-security-token"
    assert (config.user_name, config.password, config.domain_name) == ("leak-account", "leak-pw", "leak-account")
    assert (config.iam_user_name, config.iam_user_password) == ("leak-user", "leak-pw2")
    for secret in ("leak-sk", "leak-temp-sk", "leak-security-token", "leak-pw"):
        assert secret not in repr(config)
    with ModelArtsEmulator(config) as custom:
        temp = AkSkAuth("LEAKTEMPAK0000000001", "leak-temp-sk", PROJECT, security_token="leak-security-token")
        assert get(custom, jobs_path(PROJECT), auth=temp).status_code == 200
        assert get(custom, jobs_path(PROJECT), auth=TEMP).status_code == 401  # the defaults no longer work
    default = config_from_args(parse_args([]))
    assert default.temp_access_key == DEFAULT_TEMP_ACCESS_KEY and default.security_token == DEFAULT_SECURITY_TOKEN
