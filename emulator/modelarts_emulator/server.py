"""The HTTP side: a keep-alive ``ThreadingHTTPServer`` and the :class:`ModelArtsEmulator` API.

HTTP/1.1 with ``Content-Length`` on every response keeps connections open, so a client's
connection pool is exercised as against the real gateway (``connections_opened`` in the stats
shows reuse). Every response carries ``X-Request-Id`` and a JSON content type.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast

from modelarts_emulator.app import CONTROL_PREFIX, EmulatorApp, Outcome
from modelarts_emulator.config import EmulatorConfig
from modelarts_emulator.control import handle_control
from modelarts_emulator.responses import Request, Response, apigw_error
from modelarts_emulator.tls import CertificateFiles, generate_certificate, server_context

log = logging.getLogger(__name__)

# The gateway refuses bodies over 12 MB (APIGW.0201, api-sign-errorcode).
MAX_BODY_BYTES = 12 * 1024 * 1024
IDLE_TIMEOUT_SECONDS = 120.0


class _HttpServer(ThreadingHTTPServer):
    """Threaded server that knows its app, wraps sockets in TLS and tracks open connections."""

    daemon_threads = True
    # Do not join handler threads on close: idle keep-alive connections would block stop().
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: EmulatorApp, context: ssl.SSLContext | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.app = app
        self.context = context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.context is not None:
            # The handshake runs lazily in the handler thread, so one slow client cannot stall accept().
            connection = self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def track(self, connection: socket.socket, opened: bool) -> None:
        with self._connections_lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish or fail the TLS handshake are routine here (the tests cause them).
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "api-gateway"  # what the Huawei gateway calls itself
    # Headers and body leave in separate writes; with Nagle on, the body waits for the client's
    # delayed ACK of the headers (~40 ms on Linux) on every response. A real gateway has no such stall.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return self.server_version

    timeout = IDLE_TIMEOUT_SECONDS

    @property
    def _server(self) -> _HttpServer:
        return cast(_HttpServer, self.server)

    def setup(self) -> None:
        super().setup()
        self._server.track(self.connection, True)
        self._server.app.stats.connection_opened()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors http.server raises itself (bad request line, URI too long): gateway JSON, not HTML."""
        self.close_connection = True
        reason = message or self.responses.get(code, ("Bad request",))[0]
        request_id = uuid.uuid4().hex
        self._deliver(Outcome(apigw_error(code, "APIGW.0201", reason, request_id)), request_id)

    def _read_body(self, request_id: str) -> bytes | Response:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(request_id)
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit():
            return apigw_error(400, "APIGW.0201", "Bad request: invalid Content-Length", request_id)
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            return apigw_error(413, "APIGW.0201", "Request entity too large", request_id)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self, request_id: str) -> bytes | Response:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                return apigw_error(400, "APIGW.0201", "Bad request: invalid chunk", request_id)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return bytes(body)
            body += self.rfile.read(size)
            self.rfile.readline(8)
            if len(body) > MAX_BODY_BYTES:
                return apigw_error(413, "APIGW.0201", "Request entity too large", request_id)

    def _handle(self) -> None:
        request_id = uuid.uuid4().hex
        body = self._read_body(request_id)
        if isinstance(body, Response):
            # The body was not read, so the connection cannot carry another request.
            self.close_connection = True
            self._deliver(Outcome(body), request_id)
            return
        raw_path, _, raw_query = self.path.partition("?")
        request = Request(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=tuple(self.headers.items()),
            body=body,
            client_host=str(self.client_address[0]),
            request_id=request_id,
        )
        app = self._server.app
        if raw_path.startswith(CONTROL_PREFIX):
            outcome = Outcome(handle_control(app, request))
        else:
            outcome = app.handle_api(request)
        self._deliver(outcome, request_id)

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _deliver(self, outcome: Outcome, request_id: str) -> None:
        response = outcome.response
        if response is None:  # "drop": close without a single byte of response
            self._abort()
            return
        body, length = response.body, len(response.body)
        if outcome.delivery == "truncated":
            body = body[: max(1, len(body) // 2)]
            length = len(body)
        elif outcome.delivery == "drop_mid":
            body = body[: len(body) // 2]  # Content-Length still announces the whole body
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("X-Request-Id", request_id)
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":  # a HEAD response announces the length but carries no body
            self.wfile.write(body)
        if outcome.delivery == "drop_mid":
            self._abort()


class ModelArtsEmulator:
    """A local ModelArts v1 + v2 + IAM emulator serving real HTTP(S) in a background thread.

    Usage::

        with ModelArtsEmulator(EmulatorConfig(speed=20)) as emu:
            requests.get(f"{emu.url}/v1/{emu.config.project_id}/training-jobs", auth=...)

    The jobs exist from construction on; ``start`` only opens the socket.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.app = EmulatorApp(self.config)
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._certificate: CertificateFiles | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> ModelArtsEmulator:
        """Bind and serve in a daemon thread; returns immediately. Returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        context = None
        if self.config.tls:
            self._certificate = generate_certificate()
            context = server_context(self._certificate)
        self._server = _HttpServer((self.config.host, self.config.port), self.app, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="modelarts-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and remove the TLS files. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._certificate is not None:
            shutil.rmtree(self._certificate.directory, ignore_errors=True)
            self._certificate = None

    def __enter__(self) -> ModelArtsEmulator:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (``https`` with TLS)."""
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def ca_bundle(self) -> str | None:
        """Path of the self-signed certificate (PEM) to verify against, when TLS is on."""
        return self._certificate.cert_path if self._certificate else None

    # -- control ------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return self.app.stats.snapshot()

    def reset(self) -> None:
        """Clear statistics, faults, AK locks, clock skew and the terminate record, and restore the
        configured AOM log switch, preview cap and credential settings (jobs, create plans, job
        schedules, tokens and temporary credentials stay)."""
        self.app.reset()

    def credential_settings(self) -> dict[str, Any]:
        """``{"metadata_agency", "metadata_session_token", "temporary_credential_seconds"}`` now."""
        return self.app.credentials.settings.as_dict()

    def set_credential_settings(self, **changes: Any) -> dict[str, Any]:
        """Change any of ``metadata_agency`` (False: securitykey answers 401 "Please configure Cloud
        Service Agency first"), ``metadata_session_token`` (False: the token PUT answers 404) and
        ``temporary_credential_seconds`` (lifetime of credentials issued from now on; None: the
        documented ones). :meth:`reset` restores the configured values. Returns the settings."""
        self.app.credentials.settings.update(changes)
        return self.credential_settings()

    def expire_credentials(self) -> dict[str, int]:
        """Expire every issued temporary credential, IAM token and metadata session token now;
        returns how many of each were still valid."""
        return self.app.credentials.expire_all()

    def temporary_credentials(self) -> list[dict[str, Any]]:
        """The temporary credentials issued so far: ``{"access", "source", "expires_at"}`` (epoch
        seconds on the gateway's clock; no secrets)."""
        return [
            {"access": c.access, "source": c.source, "expires_at": c.expires_at}
            for c in self.app.gateway.temporary_credentials()
        ]

    def set_clock_skew(self, seconds: float) -> None:
        """Make signed requests look ``seconds`` off, as from a client with a wrong clock."""
        self.app.set_clock_skew(seconds)

    def add_fault(
        self, kind: str, count: int | None = None, path_contains: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Inject a fault (see :mod:`.faults`); returns its description including its ``id``."""
        return self.app.faults.add(kind, count, path_contains, **options).describe()

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def create_job(self, job_name: str, timeline: Any, workspace_id: str = "0", job_desc: str = "") -> dict[str, Any]:
        """Create a job whose single version starts now; returns ``job_id``, ``version_id``."""
        return self.app.create_job(job_name, timeline, workspace_id, job_desc)

    def add_version(self, job_id: int, timeline: Any) -> dict[str, Any]:
        return self.app.add_version(job_id, timeline)

    def set_timeline(self, job_id: int, version_id: int, timeline: Any) -> None:
        self.app.set_timeline(job_id, version_id, timeline)

    def delete_job(self, job_id: int) -> None:
        self.app.delete_job(job_id)

    def advance_time(self, seconds: float) -> None:
        """Move every job timeline ``seconds`` of real time forward (``speed`` times as many
        emulated seconds), as if that much time had passed; auth clocks are not affected."""
        self.app.advance_time(seconds)

    # -- v2 training jobs ---------------------------------------------------------------------

    def create_training_job(self, name: str, timeline: Any, **options: Any) -> dict[str, Any]:
        """Create a v2 job whose phase timeline starts now; returns ``{"id", "name"}``.

        ``timeline`` is e.g. ``[("Creating", 1), ("Pending", 2), ("Running", 5), ("Completed", None)]``
        (emulated seconds; a third item names the secondary phase). Options: ``workspace_id``,
        ``description``, ``node_count``, ``flavor_id``, ``exit_code`` and ``message`` (worker-0 of a
        job that ends Failed) or ``task_statuses``, ``algorithm_name``, ``runtime_type``, ``job_id``,
        ``offset``, ``tasks`` (task names, e.g. ``["worker-0", "server-0"]``; default ``worker-0``
        ... one per node), ``logs`` (``{"worker-0": ["line", ...]}``, as for :meth:`set_create_plan`).
        """
        return self.app.create_training_job(name, timeline, **options)

    def set_training_job_timeline(self, job_id: str, timeline: Any) -> None:
        self.app.set_training_job_timeline(job_id, timeline)

    def terminate_training_job(self, job_id: str) -> bool:
        """Terminating, then Terminated; False when the job's phase does not allow it."""
        return self.app.terminate_training_job(job_id)

    def delete_training_job(self, job_id: str) -> None:
        self.app.delete_training_job(job_id)

    def set_create_plan(
        self,
        name_prefix: str,
        timeline: Any,
        *,
        exit_code: int | None = None,
        message: str | None = None,
        task_statuses: list[dict[str, Any]] | None = None,
        logs: dict[str, list[Any]] | None = None,
        tasks: list[str] | None = None,
    ) -> dict[str, Any]:
        """Decide what a job created through the API does when its name starts with ``name_prefix``
        (the longest matching prefix wins): its phase ``timeline`` (as for
        :meth:`create_training_job`), the exit codes of a job that ends Failed, ``tasks``, the
        job's task names (``["worker-0", "server-0"]``; default one ``worker-N`` per node), and
        ``logs``, the lines each task prints (``{"worker-0": ["line", ...]}`` spread over Running,
        or ``[[seconds_after_running_began, "line"], ...]``). Returns the plan as stored."""
        return self.app.create_plans.put(
            name_prefix,
            timeline,
            exit_code=exit_code,
            message=message,
            task_statuses=task_statuses,
            logs=logs,
            tasks=tasks,
        )

    def create_plans(self) -> list[dict[str, Any]]:
        """The create plans, as :meth:`set_create_plan` returned them."""
        return self.app.create_plans.list()

    def remove_create_plan(self, name_prefix: str) -> None:
        self.app.create_plans.remove(name_prefix)

    def clear_create_plans(self) -> None:
        self.app.create_plans.clear()

    def set_job_schedule(self, name: str, **spec: Any) -> dict[str, Any]:
        """Make the emulator create v2 jobs by itself, on its clock, as a script outside Airflow
        would: ``every`` emulated seconds (the first after ``start_after``, default ``every``), at most
        ``count``, named by the template ``job_name`` (default ``"{schedule}-{n}"``; also ``{date}``,
        ``{time}``), each with its own ``timeline`` ending in ``final_phase`` or in turn in each of
        ``outcomes``, with ``outputs`` (OBS URLs), ``workspace_id``, ``exit_code``/``message``,
        ``description``, ``flavor_id``, ``node_count`` (see :mod:`.v2.schedules`). Replaces a
        schedule of that name; returns it as :meth:`job_schedules` lists it."""
        return self.app.job_schedules.put(name, **spec)

    def job_schedules(self) -> list[dict[str, Any]]:
        """Every job schedule, with the jobs it has created so far (``jobs``: ``{"id", "name",
        "create_time", "outcome"}``), ``skipped`` names, ``done`` and ``next_in`` (emulated s)."""
        return self.app.job_schedules.list()

    def remove_job_schedule(self, name: str) -> None:
        """Stop a schedule; the jobs it created stay."""
        self.app.job_schedules.remove(name)

    def clear_job_schedules(self) -> None:
        self.app.job_schedules.clear()

    def terminations(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """The terminate actions the API received (``{"id", "name", "phase_before", "status",
        "time"}``, status 202 or 409), of one job or all, in order; cleared by :meth:`reset`."""
        entries = self.app.terminations()
        return [entry for entry in entries if job_id is None or entry["id"] == job_id.lower()]

    @property
    def aom_logs(self) -> bool:
        """Whether the AOM log API is published (EmulatorConfig.aom_logs until changed)."""
        return self.app.aom_logs

    def set_aom_logs(self, enabled: bool) -> None:
        """Publish (True) or withdraw (False) ``GET /v2/{project_id}/training-jobs/{id}/logs/{task_id}``
        on the running emulator; withdrawn, it answers 404 APIGW.0101 "The API does not exist or
        has not been published in the environment." as on Open Telekom Cloud and the EU site.
        :meth:`reset` restores the configured value."""
        self.app.set_aom_logs(enabled)

    def set_log_preview_max_bytes(self, max_bytes: int) -> None:
        """The log preview's cap on ``content`` (1 byte to 5 MB); :meth:`reset` restores the config's."""
        self.app.set_log_preview_max_bytes(max_bytes)

    def task_log(self, job_id: str, task: str) -> list[str]:
        """A task's whole log at this instant (what a client reading every page should have)."""
        return self.app.task_log(job_id, task)
