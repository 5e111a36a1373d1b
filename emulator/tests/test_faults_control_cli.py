"""The emulator's fault injection, statistics and control endpoints, TLS and its command line,
over real HTTP against an in-process server (the command line in a child process).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_client import (
    AKSK,
    PROJECT,
    JobStatus,
    assert_apigw,
    assert_modelarts_error,
    get,
    job_version_path,
    job_versions_path,
    jobs_path,
    list_jobs,
    url_with,
)
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_PASSWORD,
    DEFAULT_SECRET_KEY,
    EmulatorConfig,
    ModelArtsEmulator,
)

LIST_ITEM_KEYS = {
    "job_id", "job_name", "job_desc", "version_id", "status", "create_time", "duration", "version_count",
}  # fmt: skip
IAM_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


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
        "search_training_jobs": 0, "get_training_job": 0, "metadata_token": 0, "metadata_securitykey": 0,
        "iam_id_token": 0, "iam_securitytokens": 0, "iam_projects": 0,
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
        # Frozen at the terminal step: 1 s + 3 s emulated, 0.4 s of real time (what is reported).
        assert detail["duration"] == 400
        time.sleep(0.1)
        assert get(fast, detail_path).json()["duration"] == 400
        # The list shows the latest version's status.
        listed = list_jobs(fast, [("search_content", "progress")])["jobs"][0]
        assert listed["status"] == 10 and listed["version_id"] == created["version_id"]


def _version_end_seen_in(
    emu: ModelArtsEmulator, path: str, wall_ms: Callable[[], float], step: Callable[[], None]
) -> tuple[dict[str, Any], float, float]:
    """Read the version detail until its status is Completed (10), with ``step()`` between reads:
    the detail and the wall-clock window (epoch ms) in which the version completed."""
    earliest = -math.inf
    for _ in range(500):
        sent = wall_ms()
        detail: dict[str, Any] = get(emu, path).json()
        if detail["status"] == JobStatus.COMPLETED:
            return detail, earliest, wall_ms()
        earliest = sent
        step()
    raise AssertionError(f"{path} did not complete: {detail}")


def test_v1_start_time_plus_duration_is_the_wall_clock_end() -> None:
    # The duration is the real span from start_time, as on the service: at speed 20 a version of
    # 60 emulated seconds reports 3 s, and start_time + duration is when it completed.
    with ModelArtsEmulator(EmulatorConfig(job_count=0, speed=20.0, manual_clock=True)) as emu:
        store = emu.app.store
        created = emu.create_job(job_name="manual", timeline=[(1, 10.0), (8, 50.0), (10, None)])
        created_ms = store.wall_ms()
        path = job_version_path(PROJECT, created["job_id"], created["version_id"])
        detail, earliest, latest = _version_end_seen_in(
            emu, path, lambda: float(store.wall_ms()), lambda: emu.advance_time(0.25)
        )
        listed = list_jobs(emu, [("search_content", "manual")])["jobs"][0]
    assert (detail["start_time"], detail["duration"], listed["duration"]) == (created_ms, 3_000, 3_000)
    end = detail["start_time"] + detail["duration"]
    assert earliest <= end <= latest and (earliest, latest) == (created_ms + 2_750, created_ms + 3_000)
    with ModelArtsEmulator(EmulatorConfig(job_count=0, speed=200.0)) as emu:
        created = emu.create_job(job_name="real", timeline=[(1, 20.0), (8, 100.0), (10, None)])
        path = job_version_path(PROJECT, created["job_id"], created["version_id"])
        detail, earliest, latest = _version_end_seen_in(emu, path, lambda: time.time() * 1000, lambda: time.sleep(0.01))
    assert detail["duration"] == 600  # 120 emulated seconds
    # A few ms of slack: the store reads the epoch clock once, then counts monotonic time.
    assert earliest - 5 <= detail["start_time"] + detail["duration"] <= latest + 5


def test_fixture_timelines_end_as_documented() -> None:
    with ModelArtsEmulator(EmulatorConfig(job_count=6, speed=1.0)) as slow:
        early = {job["job_id"]: job["status"] for job in list_jobs(slow, [("per_page", "10")])["jobs"]}
    assert early == {1: 1, 2: 1, 3: 1, 4: 8, 5: 18, 6: 8}
    speed = 2000.0
    with ModelArtsEmulator(EmulatorConfig(job_count=6, speed=speed)) as fast:
        time.sleep(0.15)  # 300 emulated seconds
        jobs = {job["job_id"]: job for job in list_jobs(fast, [("per_page", "10")])["jobs"]}
    assert {job_id: job["status"] for job_id, job in jobs.items()} == {1: 10, 2: 11, 3: 3, 4: 12, 5: 20, 6: 8}
    # Emulated seconds until each version ended; 20 ("review finished") ends the version for the
    # server too: its duration stops at 20 s. The duration reported is the real span.
    emulated = {1: 60, 2: 40, 3: 15, 4: 25, 5: 20}
    assert {job_id: jobs[job_id]["duration"] for job_id in emulated} == {
        job_id: round(seconds / speed * 1000) for job_id, seconds in emulated.items()
    }


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
    command = [sys.executable, "-m", "modelarts_emulator", "--jobs", "12", "--speed", "5"]
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
