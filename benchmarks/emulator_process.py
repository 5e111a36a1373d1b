"""The emulator in its own process, with TLS, steered through its loopback control API.

Why a child process rather than ``ModelArtsEmulator`` in this one: the emulator is Python too. In
the same process its handler threads would compete with the code under test for the interpreter
lock, so its page building would show up as client wall time and as event-loop lag. In the cloud
the server is elsewhere; a second process on the second core is the closest local equivalent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from airflow_provider_modelarts.emulator import config as emulator_config

START_TIMEOUT_SECONDS = 60.0
# Job creation goes through HTTP, one job per request: a few client threads overlap the round trips.
CREATE_THREADS = 4

Timeline = Sequence[tuple[int, float | None]]
# A v2 job's timeline: (phase, seconds in it); None means "stays".
PhaseTimeline = Sequence[tuple[str, float | None]]


class EmulatorProcess:
    """``python -m airflow_provider_modelarts.emulator --tls`` on a free port, stopped on exit.

    :param job_count: jobs the emulator seeds itself (0: the benchmark creates exactly the jobs it
        needs, all in the default workspace, so the project's size is exactly what it says).
    :param speed: emulated seconds per real second for job timelines.
    :param v2_job_count: v2 training jobs the emulator seeds itself (0 by default, as for v1).
    """

    def __init__(self, job_count: int = 0, speed: float = 1.0, v2_job_count: int = 0) -> None:
        self.job_count = job_count
        self.v2_job_count = v2_job_count
        self.speed = speed
        self.url = ""
        self.ca_bundle = ""
        self.project_id = emulator_config.DEFAULT_PROJECT_ID
        self._directory = tempfile.TemporaryDirectory(prefix="modelarts-bench-")
        self._process: subprocess.Popen[bytes] | None = None
        self._control: requests.Session | None = None

    def __enter__(self) -> EmulatorProcess:
        ready_file = Path(self._directory.name) / "ready.json"
        command = [
            sys.executable,
            "-m",
            "airflow_provider_modelarts.emulator",
            "--tls",
            "--port",
            "0",
            "--jobs",
            str(self.job_count),
            "--v2-jobs",
            str(self.v2_job_count),
            "--speed",
            str(self.speed),
            "--ready-file",
            str(ready_file),
        ]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready_file.exists():
            if self._process.poll() is not None:
                raise RuntimeError(f"the emulator exited with code {self._process.returncode}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the emulator did not start in time")
            time.sleep(0.05)
        ready = json.loads(ready_file.read_text(encoding="utf-8"))
        self.url, self.ca_bundle, self.project_id = ready["url"], ready["ca_bundle"], ready["project_id"]
        self._control = requests.Session()
        self._control.verify = self.ca_bundle
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # the emulator stops cleanly on SIGTERM and removes its TLS files
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._directory.cleanup()

    # -- control API (never counted in the emulator's request statistics) ---------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._control is not None, "use the emulator as a context manager"
        response = self._control.request(method, self.url + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_emulator/stats"))

    def reset(self) -> None:
        """Clear the request statistics (jobs stay)."""
        self._call("POST", "/_emulator/reset")

    def create_jobs(self, specs: Sequence[tuple[str, Timeline]]) -> list[dict[str, Any]]:
        """Create jobs ``(name, timeline)`` in order of the list; returns their ids, in the same order.

        Each job's timeline starts when its own request is served, so callers that care about the
        start instant use :meth:`create_job` one at a time.
        """
        with ThreadPoolExecutor(CREATE_THREADS) as pool:
            return list(pool.map(lambda spec: self.create_job(*spec), specs))

    def create_job(self, name: str, timeline: Timeline) -> dict[str, Any]:
        steps = [[status, duration] for status, duration in timeline]
        return dict(self._call("POST", "/_emulator/jobs", {"job_name": name, "timeline": steps}))

    def set_timeline(self, job_id: int, version_id: int, timeline: Timeline) -> None:
        """Restart a version's timeline now (the job count stays the same)."""
        steps = [[status, duration] for status, duration in timeline]
        self._call("PUT", f"/_emulator/jobs/{job_id}/versions/{version_id}/timeline", {"timeline": steps})

    def create_training_jobs(self, specs: Sequence[tuple[str, PhaseTimeline]]) -> list[dict[str, Any]]:
        """Create v2 training jobs ``(name, phase timeline)``; returns ``{"id", "name"}`` of each, in order."""
        with ThreadPoolExecutor(CREATE_THREADS) as pool:
            return list(pool.map(lambda spec: self.create_training_job(*spec), specs))

    def create_training_job(self, name: str, timeline: PhaseTimeline) -> dict[str, Any]:
        """Create one v2 training job whose phase timeline starts when this request is served."""
        steps = [[phase, duration] for phase, duration in timeline]
        return dict(self._call("POST", "/_emulator/v2/training-jobs", {"name": name, "timeline": steps}))

    # -- how the provider finds it ----------------------------------------------------------

    def connection_env(self, conn_id: str) -> dict[str, str]:
        """An ``AIRFLOW_CONN_*`` variable for an AK/SK connection to this emulator (as tests/conftest.py)."""
        value = {
            "conn_type": "modelarts",
            "login": emulator_config.DEFAULT_ACCESS_KEY,
            "password": emulator_config.DEFAULT_SECRET_KEY,
            "extra": {
                "region": emulator_config.DEFAULT_REGION,
                "project_id": self.project_id,
                "endpoint": self.url,
                "iam_endpoint": self.url,
                "verify": self.ca_bundle,
            },
        }
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(value)}

    def install_connection(self, conn_id: str) -> None:
        os.environ.update(self.connection_env(conn_id))
