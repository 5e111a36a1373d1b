"""The emulator as a child process: start it, wait until it serves, steer it, stop it.

``python -m modelarts_emulator`` on a free loopback port writes a ready file (its URL, CA bundle
and project id) once it serves; :func:`wait_until_ready` waits for that file. Two ways to use it:

- :class:`EmulatorProcess`, a context manager that owns the child process and is also a client of
  the loopback control API (``/_emulator/...``: statistics, new jobs and versions, timelines,
  create plans). Benchmarks and demos use it.
- :func:`emulator_command` and :func:`wait_until_ready`, for a caller that starts and stops its
  processes itself (an end-to-end run that owns every process of an Airflow stack).

Why a child process rather than :class:`~modelarts_emulator.server.ModelArtsEmulator` in the
caller's process: the emulator is Python too. In the same process its handler threads compete with
the code under test for the interpreter lock, so its page building shows up as client wall time and
as event-loop lag. In the cloud the server is elsewhere; a second process is the closest local
equivalent. It also keeps the caller free of the emulator's imports.

Standard library only (``http.client``): the control calls need no HTTP client dependency, and one
keep-alive connection per thread keeps bulk job creation cheap over TLS.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit

from modelarts_emulator.config import DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY, airflow_connection

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
CONTROL_TIMEOUT_SECONDS = 30.0
# Job creation goes through HTTP, one job per request: a few client threads overlap the round trips.
CREATE_THREADS = 4

# A v1 version's timeline: (status code, emulated seconds in it); None means "stays".
Timeline = Sequence[tuple[int, float | None]]
# A v2 job's timeline: (phase, emulated seconds in it); None means "stays".
PhaseTimeline = Sequence[tuple[str, float | None]]


class EmulatorStartError(RuntimeError):
    """The emulator exited or did not write its ready file in time."""


class EmulatorControlError(RuntimeError):
    """A control call did not answer 2xx; the message has the status and the start of the body."""


def emulator_command(
    ready_file: Path | str,
    *,
    port: int = 0,
    speed: float | None = None,
    tls: bool = False,
    jobs: int | None = None,
    v2_jobs: int | None = None,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
) -> list[str]:
    """The command line that serves the emulator (on a free port by default) and writes its ready
    JSON to ``ready_file``. ``None`` keeps the emulator's default; ``extra_args`` are appended
    (see ``python -m modelarts_emulator --help``)."""
    command = [python, "-m", "modelarts_emulator", "--port", str(port)]
    if tls:
        command.append("--tls")
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    if v2_jobs is not None:
        command += ["--v2-jobs", str(v2_jobs)]
    if speed is not None:
        command += ["--speed", f"{speed:g}"]
    return [*command, *extra_args, "--ready-file", str(ready_file)]


def wait_until_ready(
    process: subprocess.Popen[bytes], ready_file: Path | str, timeout: float = START_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """The emulator's ready JSON (``url``, ``ca_bundle``, ``project_id``, ``access_key``) once it
    serves. Raises :class:`EmulatorStartError` if it exits or the time runs out; stopping the
    process is then the caller's business."""
    path = Path(ready_file)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise EmulatorStartError(f"The ModelArts emulator exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise EmulatorStartError(f"The ModelArts emulator did not start within {timeout:.0f} s")
        time.sleep(0.05)
    # The emulator writes the file atomically (a rename), so it is complete once it exists.
    info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return info


class EmulatorProcess:
    """``python -m modelarts_emulator`` as a child process, stopped on exit; also a control client.

    :param jobs: v1 jobs the emulator seeds itself (``None``: its default; 0: none, so a caller
        that creates exactly the jobs it needs knows the project's size).
    :param v2_jobs: v2 training jobs the emulator seeds itself (``None``: its default).
    :param speed: emulated seconds per real second for job timelines (``None``: the default, 1).
    :param tls: serve HTTPS with a throw-away self-signed certificate (``ca_bundle`` names it).
    :param directory: where the ready file goes (default: a temporary directory, removed on close).
    :param quiet: discard the emulator's stderr too (stdout is always discarded; the ready JSON
        is read from the file).
    :param extra_args: more command-line options (``--manual-clock``, ``--seed``, ...).
    :param start_timeout: seconds to wait for the ready file.
    """

    def __init__(
        self,
        *,
        jobs: int | None = None,
        v2_jobs: int | None = None,
        speed: float | None = None,
        tls: bool = False,
        directory: Path | str | None = None,
        quiet: bool = False,
        extra_args: Sequence[str] = (),
        start_timeout: float = START_TIMEOUT_SECONDS,
    ) -> None:
        self.jobs = jobs
        self.v2_jobs = v2_jobs
        self.speed = speed
        self.tls = tls
        self.quiet = quiet
        self.extra_args = tuple(extra_args)
        self.start_timeout = start_timeout
        self.info: dict[str, Any] = {}
        self.url = ""
        self.ca_bundle = ""
        self.project_id = DEFAULT_PROJECT_ID
        self._temporary = tempfile.TemporaryDirectory(prefix="modelarts-emulator-") if directory is None else None
        self._directory = Path(self._temporary.name if self._temporary is not None else str(directory))
        self._process: subprocess.Popen[bytes] | None = None
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._connections_lock = threading.Lock()

    @property
    def ready_file(self) -> Path:
        return self._directory / "emulator.json"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def command(self) -> list[str]:
        return emulator_command(
            self.ready_file,
            speed=self.speed,
            tls=self.tls,
            jobs=self.jobs,
            v2_jobs=self.v2_jobs,
            extra_args=self.extra_args,
        )

    def start(self) -> EmulatorProcess:
        """Start the emulator and wait until it serves; stops it again if it does not come up."""
        self._directory.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        stderr: IO[bytes] | int | None = subprocess.DEVNULL if self.quiet else None
        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            self.info = wait_until_ready(self._process, self.ready_file, self.start_timeout)
        except EmulatorStartError:
            self.close()
            raise
        self.url = self.info["url"]
        self.ca_bundle = self.info.get("ca_bundle") or ""
        self.project_id = self.info.get("project_id", DEFAULT_PROJECT_ID)
        return self

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the emulator (SIGTERM: it stops cleanly and removes its TLS files; SIGKILL after
        :data:`STOP_TIMEOUT_SECONDS`) and remove the temporary directory."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._temporary is not None:
            self._temporary.cleanup()

    # -- the control API (loopback only; never counted in the emulator's request statistics) --

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            parts = urlsplit(self.url)
            if not parts.hostname:
                raise RuntimeError("start the emulator first (start() or a with block)")
            if parts.scheme == "https":
                context = ssl.create_default_context(cafile=self.ca_bundle or None)
                connection = http.client.HTTPSConnection(
                    parts.hostname, parts.port, timeout=CONTROL_TIMEOUT_SECONDS, context=context
                )
            else:
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=CONTROL_TIMEOUT_SECONDS)
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One control call (``path`` starts with ``/_emulator``); its JSON answer, or None for none."""
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The emulator closed an idle keep-alive connection before this request reached it.
                connection.close()
                if attempt == 2:
                    raise
        if not 200 <= response.status < 300:
            text = data.decode("utf-8", "replace")[:300]
            raise EmulatorControlError(f"{method} {path}: HTTP {response.status} {text}")
        return json.loads(data) if data.strip() else None

    def stats(self) -> dict[str, Any]:
        """The request statistics (``GET /_emulator/stats``)."""
        return dict(self.call("GET", "/_emulator/stats"))

    def reset(self) -> None:
        """Clear the request statistics (jobs stay)."""
        self.call("POST", "/_emulator/reset")

    def create_jobs(self, specs: Sequence[tuple[str, Timeline]]) -> list[dict[str, Any]]:
        """Create v1 jobs ``(name, timeline)``; their ``{job_id, version_id, ...}``, in the order given.

        Each job's timeline starts when its own request is served, so callers that care about the
        start instant use :meth:`create_job` one at a time.
        """
        with ThreadPoolExecutor(CREATE_THREADS) as pool:
            return list(pool.map(lambda spec: self.create_job(*spec), specs))

    def create_job(self, name: str, timeline: Timeline) -> dict[str, Any]:
        """Create one v1 job whose timeline starts when this request is served."""
        steps = [[status, duration] for status, duration in timeline]
        return dict(self.call("POST", "/_emulator/jobs", {"job_name": name, "timeline": steps}))

    def new_version(self, job_id: int, timeline: Timeline) -> int:
        """Give a v1 job a new version whose timeline starts now; the version's id."""
        steps = [[status, duration] for status, duration in timeline]
        version_id: int = self.call("POST", f"/_emulator/jobs/{job_id}/versions", {"timeline": steps})["version_id"]
        return version_id

    def set_timeline(self, job_id: int, version_id: int, timeline: Timeline) -> None:
        """Restart a v1 version's timeline now (the job count stays the same)."""
        steps = [[status, duration] for status, duration in timeline]
        self.call("PUT", f"/_emulator/jobs/{job_id}/versions/{version_id}/timeline", {"timeline": steps})

    def create_training_jobs(self, specs: Sequence[tuple[str, PhaseTimeline]]) -> list[dict[str, Any]]:
        """Create v2 training jobs ``(name, phase timeline)``; ``{"id", "name"}`` of each, in order."""
        with ThreadPoolExecutor(CREATE_THREADS) as pool:
            return list(pool.map(lambda spec: self.create_training_job(*spec), specs))

    def create_training_job(self, name: str, timeline: PhaseTimeline) -> dict[str, Any]:
        """Create one v2 training job whose phase timeline starts when this request is served."""
        steps = [[phase, duration] for phase, duration in timeline]
        return dict(self.call("POST", "/_emulator/v2/training-jobs", {"name": name, "timeline": steps}))

    def set_create_plan(self, prefix: str, timeline: PhaseTimeline, **plan: Any) -> dict[str, Any]:
        """How v2 jobs created through the API whose name starts with ``prefix`` run (``plan``:
        ``exit_code``, ``message``, ``task_statuses``, ``logs``, ``tasks``, as the control API takes)."""
        steps = [[phase, duration] for phase, duration in timeline]
        return dict(self.call("PUT", f"/_emulator/v2/create-plans/{prefix}", {"timeline": steps, **plan}))

    def set_job_schedule(self, name: str, **spec: Any) -> dict[str, Any]:
        """Make the emulator create v2 jobs by itself every ``every`` emulated seconds (``spec`` as
        ``PUT /_emulator/v2/job-schedules/{name}`` takes: ``count``, ``start_after``, ``job_name``,
        ``timeline``, ``final_phase`` or ``outcomes``, ``outputs``, ``workspace_id`` ...)."""
        if isinstance(spec.get("timeline"), (list, tuple)):
            spec["timeline"] = [list(step) for step in spec["timeline"]]
        return dict(self.call("PUT", f"/_emulator/v2/job-schedules/{name}", spec))

    def job_schedules(self) -> list[dict[str, Any]]:
        """Every job schedule and the jobs it has created (``GET /_emulator/v2/job-schedules``)."""
        return list(self.call("GET", "/_emulator/v2/job-schedules")["schedules"])

    def remove_job_schedule(self, name: str) -> None:
        """Stop a schedule; the jobs it created stay."""
        self.call("DELETE", f"/_emulator/v2/job-schedules/{name}")

    def clear_job_schedules(self) -> None:
        self.call("DELETE", "/_emulator/v2/job-schedules")

    # -- models and services ------------------------------------------------------------------

    def set_model_plan(self, prefix: str, timeline: Sequence[tuple[str, float | None]], **plan: Any) -> dict[str, Any]:
        """How models created through the API whose name starts with ``prefix`` go, e.g.
        ``[("building", 2), ("building_failed", None)]`` (``plan``: ``failure_message``, ``model_size``)."""
        steps = [[status, duration] for status, duration in timeline]
        return dict(self.call("PUT", f"/_emulator/model-plans/{prefix}", {"timeline": steps, **plan}))

    def set_service_plan(
        self, prefix: str, timeline: Sequence[tuple[str, float | None]], **plan: Any
    ) -> dict[str, Any]:
        """How services whose name starts with ``prefix`` go, e.g. ``[("deploying", 2), ("failed",
        None)]`` (``plan``: ``error_msg``; for batch ``outputs``, input names or their count)."""
        steps = [[status, duration] for status, duration in timeline]
        return dict(self.call("PUT", f"/_emulator/service-plans/{prefix}", {"timeline": steps, **plan}))

    def clear_inference_plans(self) -> None:
        """Remove every model and service plan."""
        self.call("DELETE", "/_emulator/model-plans")
        self.call("DELETE", "/_emulator/service-plans")

    def models(self) -> list[dict[str, Any]]:
        """Every model: ``{model_id, model_name, model_version, model_status}``."""
        return list(self.call("GET", "/_emulator/models")["models"])

    def services(self) -> list[dict[str, Any]]:
        """Every service that exists: ``{service_id, service_name, infer_type, status, model_ids}``."""
        return list(self.call("GET", "/_emulator/services")["services"])

    def set_service_timeline(self, service_id: str, timeline: Sequence[tuple[str, float | None]]) -> None:
        """Replace a service's timeline from now on (e.g. ``[("concerning", None)]``)."""
        steps = [[status, duration] for status, duration in timeline]
        self.call("PUT", f"/_emulator/services/{service_id}/timeline", {"timeline": steps})

    def service_outputs(self, service_id: str) -> dict[str, Any]:
        """A batch run's result objects: ``{"outputs": [...], "written": [...]}``."""
        return dict(self.call("GET", f"/_emulator/services/{service_id}/outputs"))

    def reset_inference(self) -> None:
        """Forget every model, service and plan."""
        self.call("POST", "/_emulator/inference/reset")

    def credential_settings(self) -> dict[str, Any]:
        """``GET /_emulator/credentials``."""
        settings: dict[str, Any] = self.call("GET", "/_emulator/credentials")
        return settings

    def set_credential_settings(self, **changes: Any) -> dict[str, Any]:
        """``PUT /_emulator/credentials`` (``metadata_agency``, ``metadata_session_token``,
        ``temporary_credential_seconds``); returns the settings."""
        settings: dict[str, Any] = self.call("PUT", "/_emulator/credentials", changes)
        return settings

    def expire_credentials(self) -> dict[str, int]:
        """``POST /_emulator/credentials/expire``: every issued temporary credential, IAM token and
        metadata session token expires now; returns how many of each were still valid."""
        expired: dict[str, int] = self.call("POST", "/_emulator/credentials/expire")["expired"]
        return expired

    def advance(self, seconds: float) -> None:
        """Move every timeline ``seconds`` of real time forward (with ``--manual-clock``)."""
        self.call("POST", "/_emulator/advance", {"seconds": seconds})

    # -- how a client finds it ----------------------------------------------------------------

    def connection(self, **extra: object) -> dict[str, object]:
        """An Airflow connection (the JSON form of ``AIRFLOW_CONN_...``) with the emulator's AK/SK."""
        settings: dict[str, object] = {"project_id": self.project_id}
        if self.ca_bundle:
            settings["verify"] = self.ca_bundle
        settings.update(extra)
        return airflow_connection(self.url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, **settings)

    def connection_env(self, conn_id: str, **extra: object) -> dict[str, str]:
        """An ``AIRFLOW_CONN_<CONN_ID>`` variable for :meth:`connection`."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.connection(**extra))}

    def install_connection(self, conn_id: str, **extra: object) -> None:
        """Put :meth:`connection_env` into this process's environment."""
        os.environ.update(self.connection_env(conn_id, **extra))
