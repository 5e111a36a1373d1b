"""Request handling independent of the HTTP plumbing: routing, faults, auth, stats, job control.

:class:`EmulatorApp` turns a :class:`Request` into an :class:`Outcome` (a response plus how to
deliver it, since some faults deliver it badly on purpose). The order of checks follows the
gateway: find the API (else ``APIGW.0101``), apply faults (the gateway throttles before anything
else), authenticate, check the project, then let ModelArts validate parameters and answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from airflow_provider_modelarts.emulator import modelarts, signing, spec
from airflow_provider_modelarts.emulator.catalog import VersionPlan, new_version, populate
from airflow_provider_modelarts.emulator.config import DEFAULT_WORKSPACE_ID, EmulatorConfig
from airflow_provider_modelarts.emulator.faults import DELIVERY_KINDS, FaultRegistry, fault_response
from airflow_provider_modelarts.emulator.gateway import Gateway
from airflow_provider_modelarts.emulator.iam import handle_token_request
from airflow_provider_modelarts.emulator.jobs import Job, JobStore, normalize_timeline
from airflow_provider_modelarts.emulator.responses import (
    Request,
    Response,
    modelarts_error,
    not_found_api,
)
from airflow_provider_modelarts.emulator.stats import Stats
from airflow_provider_modelarts.emulator.tables import ENGINE_PYTORCH, SPEC_GPU_V100

CONTROL_PREFIX = "/_emulator/"
_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("list_jobs", re.compile(spec.LIST_JOBS_PATTERN)),
    ("list_versions", re.compile(spec.LIST_VERSIONS_PATTERN)),
    ("get_version", re.compile(spec.GET_VERSION_PATTERN)),
)


@dataclass
class Outcome:
    """A response and its delivery: ``normal``, ``drop`` (no response at all), ``drop_mid``
    (headers and part of the body, then close) or ``truncated`` (a short, self-consistent body)."""

    response: Response | None
    delivery: str = "normal"


@dataclass
class _Handled:
    response: Response
    endpoint: str
    auth: str | None = None
    ignored: Sequence[str] = ()
    auth_failure: bool = False


def classify(path: str) -> tuple[str, tuple[str, ...]]:
    """The endpoint name of a decoded path and its captured segments."""
    if path == spec.IAM_TOKENS_PATH:
        return "iam_tokens", ()
    for name, pattern in _ROUTES:
        match = pattern.match(path)
        if match:
            return name, match.groups()
    return "other", ()


class EmulatorApp:
    """The emulated cloud: job store, gateway, faults and statistics."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = JobStore(config.speed)
        populate(self.store, config.job_count, config.seed)
        self.gateway = Gateway(config)
        self.faults = FaultRegistry()
        self.stats = Stats()

    # -- API requests -------------------------------------------------------------------------

    def handle_api(self, request: Request) -> Outcome:
        path = unquote(request.raw_path)
        endpoint, _ = classify(path)
        self._remember_secrets(request)
        fault = self.faults.take(path)
        delivery = "normal"
        if fault is not None:
            if fault.kind == "drop":
                self._record(request, _Handled(Response(0, b""), endpoint), None, fault.kind)
                return Outcome(None, "drop")
            replacement = fault_response(fault, request.request_id)
            if replacement is not None:
                self._record(request, _Handled(replacement, endpoint), replacement.status, fault.kind)
                return Outcome(replacement)
            if fault.kind == "slow":
                time.sleep(float(fault.options.get("delay", 2.0)))
            elif fault.kind in DELIVERY_KINDS:
                delivery = fault.kind
        handled = self._api(request, path)
        if delivery == "truncated":
            handled.response.status = 200
        self._record(request, handled, handled.response.status, fault.kind if fault else None)
        return Outcome(handled.response, delivery)

    def _remember_secrets(self, request: Request) -> None:
        """Note the credential values this request carried, faulted or not (it was sent either way)."""
        authorization = request.header(signing.HEADER_AUTHORIZATION)
        parsed = signing.parse_authorization(authorization) if authorization else None
        if parsed is not None:
            self.stats.secret_seen("signatures", parsed.signature)
        token = request.header(signing.HEADER_AUTH_TOKEN)
        if token:
            self.stats.secret_seen("iam_tokens", token)
        security_token = request.header(signing.HEADER_SECURITY_TOKEN)
        if security_token:
            self.stats.secret_seen("security_tokens", security_token)

    def _record(self, request: Request, handled: _Handled, status: int | None, fault: str | None) -> None:
        self.stats.record(
            method=request.method,
            path=request.raw_path,
            query=request.raw_query,
            endpoint=handled.endpoint,
            status=status,
            auth=handled.auth,
            ignored_params=list(handled.ignored),
            auth_failure=handled.auth_failure,
            fault=fault,
            error_code=handled.response.error_code if status else None,
            request_id=request.request_id,
        )

    def _api(self, request: Request, path: str) -> _Handled:
        endpoint, groups = classify(path)
        if endpoint == "iam_tokens":
            if request.method != "POST":
                return _Handled(not_found_api(request.request_id), endpoint)
            response, failed = handle_token_request(request.body, self.gateway, self.config)
            if response.status == 201:
                self.stats.token_issued(dict(response.headers).get("X-Subject-Token"))
            return _Handled(response, endpoint, auth_failure=failed)
        if endpoint == "other" or request.method != "GET":
            return _Handled(not_found_api(request.request_id), endpoint)

        auth = self.gateway.authenticate(request)
        if auth.error is not None:
            return _Handled(auth.error, endpoint, auth_failure=True)
        if auth.token is not None and auth.token.project_id is None:
            error = modelarts_error(401, spec.CODE_TOKEN_NO_PROJECT, "The token does not contain project information.")
            return _Handled(error, endpoint, auth.mode, auth_failure=True)
        project_id = groups[0]
        header_project = request.header(signing.HEADER_PROJECT_ID)
        if project_id != self.config.project_id or header_project not in (None, project_id):
            error = modelarts_error(
                403,
                spec.CODE_PROJECT_MISMATCH,
                f"The project ID {project_id} does not match the project of the credential.",
            )
            return _Handled(error, endpoint, auth.mode, auth_failure=True)

        pairs = signing.query_pairs(request.raw_query)
        if endpoint == "list_jobs":
            response, ignored = modelarts.list_jobs(self.store, pairs, auth.mode, self.config.quotas)
        elif endpoint == "list_versions":
            response, ignored = modelarts.list_versions(self.store, groups[1], pairs)
        else:
            response, ignored = modelarts.get_version(self.store, groups[1], groups[2], pairs)
        return _Handled(response, endpoint, auth.mode, ignored)

    # -- control operations -------------------------------------------------------------------

    def reset(self) -> None:
        """Clear statistics, faults, AK locks and clock skew; jobs and issued tokens stay."""
        self.stats.reset()
        self.faults.clear()
        self.gateway.reset_locks()
        self.gateway.clock_skew = 0.0

    def set_clock_skew(self, seconds: float) -> None:
        """Run the gateway's clock ``seconds`` ahead (negative: behind) of this machine's.

        Signed requests then carry an ``X-Sdk-Date`` that is off by as much, as from a client
        whose clock is wrong: beyond 15 minutes the gateway answers "signature expired".
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or abs(seconds) > 10 * 365 * 86400:
            raise ValueError("skew_seconds must be a number of seconds (at most ten years either way)")
        self.gateway.clock_skew = float(seconds)

    def _profile(self, version_id: int) -> int:
        # Descriptive fields of control-created versions are still seeded and reproducible.
        return self.config.seed * 1_000_003 + version_id

    def create_job(
        self,
        job_name: str,
        timeline: Iterable[Sequence[Any]],
        workspace_id: str = DEFAULT_WORKSPACE_ID,
        job_desc: str = "",
    ) -> dict[str, Any]:
        """Create a job whose first version starts now with ``timeline``."""
        steps = normalize_timeline(timeline)
        if not isinstance(job_name, str) or not job_name or len(job_name) > 64:
            raise ValueError("job_name must be a non-empty string of at most 64 characters")
        if not isinstance(workspace_id, str) or not workspace_id or not isinstance(job_desc, str):
            raise ValueError("workspace_id must be a non-empty string and job_desc a string")
        store = self.store
        with store.lock:
            job = Job(store.next_job_id, job_name, job_desc, workspace_id, create_ms=0)
            plan = VersionPlan(steps, 0.0, ENGINE_PYTORCH, SPEC_GPU_V100)
            version = new_version(store, job, plan, self._profile(store.next_version_id), store.now())
            store.add(job)
        return {"job_id": job.job_id, "version_id": version.version_id, "version_name": version.version_name}

    def _job(self, job_id: int) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise KeyError(f"Training job (ID: {job_id}) not found")
        return job

    def add_version(self, job_id: int, timeline: Iterable[Sequence[Any]]) -> dict[str, Any]:
        """Add a version that starts now; it becomes the job's latest."""
        steps = normalize_timeline(timeline)
        store = self.store
        with store.lock:
            job = self._job(job_id)
            plan = VersionPlan(steps, 0.0, job.latest.engine, job.latest.spec)
            version = new_version(store, job, plan, self._profile(store.next_version_id), store.now())
            store.touch()
        return {"job_id": job.job_id, "version_id": version.version_id, "version_name": version.version_name}

    def set_timeline(self, job_id: int, version_id: int, timeline: Iterable[Sequence[Any]]) -> None:
        """Replace a version's timeline; it restarts now (start_time becomes now)."""
        steps = normalize_timeline(timeline)
        store = self.store
        with store.lock:
            version = self._job(job_id).find_version(version_id)
            if version is None:
                raise KeyError(f"Training job version (ID: {version_id}) not found")
            now = store.now()
            version.restart(steps, now, store.wall_ms(now))
            store.touch()

    def delete_job(self, job_id: int) -> None:
        if not self.store.delete(job_id):
            raise KeyError(f"Training job (ID: {job_id}) not found")
