"""The local ModelArts emulator as a child process, shared by ``scripts/demo.py`` and ``scripts/e2e.py``.

Starts ``python -m airflow_provider_modelarts.emulator`` on a free loopback port, waits for its ready
file, and, through the emulator's control API, gives a v1 demo training job a fresh version or
creates a fresh v2 demo training job, so that a sensor finds it running and really waits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

# Emulated seconds pass three times as fast as real ones.
EMULATOR_SPEED = "3"
# Right before each DAG run, each demo job gets a new version starting "now", so the sensors find
# it running and really wait (about 20 s) whatever time Airflow took to start.
# Timelines are (status code, emulated seconds in that status); None means "stays".
NEW_VERSIONS = {
    "example_modelarts_training_jobs": (1, [(1, 6), (7, 9), (8, 60), (10, None)]),
    "example_modelarts_failed_job": (2, [(1, 6), (8, 30), (11, None)]),
}
# Right before the v2 DAG run, a fresh v2 job under the name the DAG searches for: the newest
# match, so the DAG picks it and its sensor defers and waits (about 35 s: room for a slow Airflow
# start on a loaded machine, while `make demo` stays near one minute). Steps are (phase, emulated seconds).
NEW_V2_JOBS = {
    "example_modelarts_v2": (
        "demo-v2-resnet50-train",
        [["Creating", 6], ["Pending", 9], ["Running", 90], ["Completed", None]],
    ),
}
# What a job the DAG creates through the API does (an emulator create plan, matched by name
# prefix): long enough a run that its log lines reach the task log while it runs.
CREATE_PLANS = {
    "example_modelarts_create_training_job": (
        "resnet50-train",
        [["Creating", 3], ["Pending", 4], ["Running", 40], ["Completed", None]],
    ),
}
START_TIMEOUT_SECONDS = 60.0
# Emulated seconds the fresh v2 job stays Running (default: its NEW_V2_JOBS timeline's).
V2_RUNNING_SECONDS_ENV = "MODELARTS_DEMO_V2_RUNNING_SECONDS"


class EmulatorStartError(RuntimeError):
    """The emulator exited or did not write its ready file in time."""


def emulator_command(ready_file: Path) -> list[str]:
    """The command line that serves the emulator on a free port and writes its URL to ``ready_file``."""
    return [
        sys.executable,
        "-m",
        "airflow_provider_modelarts.emulator",
        "--port",
        "0",
        "--speed",
        EMULATOR_SPEED,
        "--ready-file",
        str(ready_file),
    ]


def wait_until_ready(
    process: subprocess.Popen[bytes], ready_file: Path, timeout: float = START_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """The emulator's ready JSON (``url``, ``project_id``, ...) once it serves; the caller stops it on error."""
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if process.poll() is not None:
            raise EmulatorStartError(f"The ModelArts emulator exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise EmulatorStartError(f"The ModelArts emulator did not start within {timeout:.0f} s")
        time.sleep(0.1)
    info: dict[str, Any] = json.loads(ready_file.read_text())
    return info


def start_emulator(home: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start the emulator with its ready file in ``home``; exits the script if it does not come up."""
    ready_file = home / "emulator.json"
    process = subprocess.Popen(emulator_command(ready_file), stdout=subprocess.DEVNULL)
    try:
        return process, wait_until_ready(process, ready_file)
    except EmulatorStartError:
        process.kill()
        raise SystemExit("The ModelArts emulator did not start") from None


def start_new_version(emulator_url: str, dag_id: str) -> int | None:
    """Give the DAG's demo job a new version that starts now; its version id, or None for other DAGs."""
    job_id, timeline = NEW_VERSIONS.get(dag_id, (None, None))
    if job_id is None:
        return None
    response = requests.post(
        f"{emulator_url}/_emulator/jobs/{job_id}/versions", json={"timeline": timeline}, timeout=10
    )
    response.raise_for_status()
    version_id: int = response.json()["version_id"]
    print(f"Started version {version_id} of demo training job {job_id}")
    return version_id


def set_create_plan(emulator_url: str, dag_id: str) -> None:
    """Choose how the jobs the DAG creates through the API run (for DAGs that create jobs)."""
    prefix, timeline = CREATE_PLANS.get(dag_id, (None, None))
    if prefix is None:
        return
    response = requests.put(
        f"{emulator_url}/_emulator/v2/create-plans/{prefix}", json={"timeline": timeline}, timeout=10
    )
    response.raise_for_status()


def start_new_v2_job(emulator_url: str, dag_id: str) -> str | None:
    """Create the DAG's fresh v2 demo job, starting now; its id, or None for other DAGs."""
    name, timeline = NEW_V2_JOBS.get(dag_id, (None, None))
    if name is None:
        return None
    running = os.environ.get(V2_RUNNING_SECONDS_ENV)
    if running:  # a test on a loaded machine: Running long enough that Airflow reaches the sensor first
        timeline = [[phase, float(running) if phase == "Running" else seconds] for phase, seconds in timeline]
    response = requests.post(
        f"{emulator_url}/_emulator/v2/training-jobs", json={"name": name, "timeline": timeline}, timeout=10
    )
    response.raise_for_status()
    job_id: str = response.json()["id"]
    print(f"Created v2 demo training job {name} ({job_id})")
    return job_id
