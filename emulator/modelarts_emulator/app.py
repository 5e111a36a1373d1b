"""Request handling independent of the HTTP plumbing: routing, faults, auth, stats, job control.

:class:`EmulatorApp` turns a :class:`Request` into an :class:`Outcome` (a response plus how to
deliver it, since some faults deliver it badly on purpose). The order of checks follows the
gateway: find the API (else ``APIGW.0101``), apply faults (the gateway throttles before anything
else), authenticate, check the project, then let ModelArts validate parameters and answer.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from modelarts_emulator import signing
from modelarts_emulator.config import DEFAULT_WORKSPACE_ID, RESEARCH_WORKSPACE_ID, EmulatorConfig
from modelarts_emulator.credential_api import CredentialApi
from modelarts_emulator.credentials import endpoint_of as credential_endpoint
from modelarts_emulator.faults import DELIVERY_KINDS, FaultRegistry, fault_response
from modelarts_emulator.gateway import Gateway
from modelarts_emulator.iam import handle_token_request
from modelarts_emulator.responses import (
    Request,
    Response,
    api_not_published,
    modelarts_error,
    not_found_api,
    v2_error,
)
from modelarts_emulator.services.api import ENDPOINTS as INFERENCE_ENDPOINTS
from modelarts_emulator.services.api import INVOKE, InferenceApi
from modelarts_emulator.services.api import ROUTES as INFERENCE_ROUTES
from modelarts_emulator.stats import Stats
from modelarts_emulator.tables import ENGINE_PYTORCH, SPEC_GPU_V100
from modelarts_emulator.v1 import responses as v1_responses
from modelarts_emulator.v1 import spec
from modelarts_emulator.v1.catalog import VersionPlan, new_version, populate
from modelarts_emulator.v1.models import Job, JobStore, normalize_timeline
from modelarts_emulator.v2 import autosearch as v2_autosearch
from modelarts_emulator.v2 import create as v2_create
from modelarts_emulator.v2 import events as v2_events
from modelarts_emulator.v2 import lifecycle as v2_lifecycle
from modelarts_emulator.v2 import logs as v2_logs
from modelarts_emulator.v2 import responses as v2_responses
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.catalog import (
    FLAVOR_V100,
    FLAVORS,
    RESEARCH_WORKSPACE_ID_V2,
    USERS,
    JobPlan,
    new_training_job,
    populate_training_jobs,
)
from modelarts_emulator.v2.models import (
    UUID_PATTERN,
    TrainingJob,
    TrainingJobStore,
    normalize_phase_timeline,
    normalize_task_names,
    task_failures,
)
from modelarts_emulator.v2.plans import CreatePlans, normalize_logs
from modelarts_emulator.v2.schedules import JobSchedules

CONTROL_PREFIX = "/_emulator/"
# (endpoint, path pattern, the one method it answers); a path that matches with another method is
# "API not found" at the gateway, and is logged under the first endpoint its path matches.
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("list_jobs", re.compile(spec.LIST_JOBS_PATTERN), "GET"),
    ("list_versions", re.compile(spec.LIST_VERSIONS_PATTERN), "GET"),
    ("get_version", re.compile(spec.GET_VERSION_PATTERN), "GET"),
    ("search_training_jobs", re.compile(v2_spec.SEARCH_JOBS_PATTERN), "POST"),
    ("create_training_job", re.compile(v2_spec.CREATE_JOB_PATTERN), "POST"),
    ("get_training_job", re.compile(v2_spec.GET_JOB_PATTERN), "GET"),
    ("delete_training_job", re.compile(v2_spec.GET_JOB_PATTERN), "DELETE"),
    ("training_job_action", re.compile(v2_spec.JOB_ACTIONS_PATTERN), "POST"),
    ("list_training_job_tasks", re.compile(v2_spec.JOB_TASKS_PATTERN), "GET"),
    ("training_job_logs", re.compile(v2_spec.JOB_LOGS_PATTERN), "GET"),
    ("training_job_log_preview", re.compile(v2_spec.JOB_LOG_PREVIEW_PATTERN), "GET"),
    ("training_job_events", re.compile(v2_spec.JOB_EVENTS_PATTERN), "GET"),
    ("autosearch_trials", re.compile(v2_spec.AUTOSEARCH_TRIALS_PATTERN), "GET"),
    ("autosearch_trial", re.compile(v2_spec.AUTOSEARCH_TRIAL_PATTERN), "GET"),
    *INFERENCE_ROUTES,
)
_METHODS = {name: method for name, _, method in _ROUTES}
V2_ENDPOINTS = frozenset(
    {
        "search_training_jobs",
        "get_training_job",
        "create_training_job",
        "delete_training_job",
        "training_job_action",
        "list_training_job_tasks",
        "training_job_logs",
        "training_job_log_preview",
        "training_job_events",
        "autosearch_trials",
        "autosearch_trial",
    }
)
# The query parameters each v2 endpoint reads; others are logged as ignored.
_V2_QUERY = {
    "list_training_job_tasks": {"schedule_count"},
    "training_job_logs": {"base_line", "lines", "order"},
    "training_job_events": {"offset", "limit", "order", "start_time", "end_time", "level", "pattern", "source"},
    "autosearch_trials": {"limit", "offset"},
}


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


def classify(path: str, method: str = "GET") -> tuple[str, tuple[str, ...]]:
    """The endpoint name of a decoded path (for this method) and its captured segments."""
    if path == spec.IAM_TOKENS_PATH:
        return "iam_tokens", ()
    credential = credential_endpoint(path)
    if credential is not None:
        return credential, ()
    first: tuple[str, tuple[str, ...]] | None = None
    for name, pattern, answers in _ROUTES:
        match = pattern.match(path)
        if match:
            if answers == method:
                return name, match.groups()
            first = first or (name, match.groups())
    return first or ("other", ())


class EmulatorApp:
    """The emulated cloud: job store, gateway, faults and statistics."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        # Real seconds the job clocks have been moved forward by advance_time(); with a manual
        # clock they stand at the instant of construction otherwise.
        self._time_advanced = 0.0
        self._clock_base = time.monotonic() if config.manual_clock else None
        self.store = JobStore(config.speed, self._job_clock)
        populate(self.store, config.job_count, config.seed)
        self.training_jobs = TrainingJobStore(config.speed, self._job_clock)
        self.training_jobs.keep_unknown_annotations = config.keep_unknown_annotations
        populate_training_jobs(self.training_jobs, config.v2_job_count, config.seed)
        self.gateway = Gateway(config)
        self.faults = FaultRegistry()
        self.stats = Stats()
        # The ECS metadata service and IAM federation (temporary credentials).
        self.credentials = CredentialApi(config, self.gateway, self.stats)
        self.create_plans = CreatePlans()
        # v2 jobs created on the emulator's own clock (see .v2.schedules); they stay on reset.
        self.job_schedules = JobSchedules(self.training_jobs, config.seed)
        for schedule in config.job_schedules:
            self.job_schedules.put(**schedule)
        # v1 models and services (real-time and batch), with their plans.
        self.inference = InferenceApi(config.speed, self._job_clock, config.project_id, self._workspaces)
        # Whether the gateway publishes the AOM log API (EmulatorConfig.aom_logs); a test may flip it.
        self.aom_logs = config.aom_logs
        # The preview's cap on content (EmulatorConfig.log_preview_max_bytes).
        self.log_preview_max_bytes = config.log_preview_max_bytes

    def _workspaces(self) -> set[str]:
        # The project's workspaces: those of its jobs and the seeded ones, even with no jobs.
        seeded = {DEFAULT_WORKSPACE_ID, RESEARCH_WORKSPACE_ID, RESEARCH_WORKSPACE_ID_V2}
        return self.store.workspaces | self.training_jobs.workspaces | seeded

    def _job_clock(self) -> float:
        base = time.monotonic() if self._clock_base is None else self._clock_base
        return base + self._time_advanced

    def advance_time(self, seconds: float) -> None:
        """Move every job timeline (v1 and v2) ``seconds`` of real time forward at once, so a test
        sees a job's later phases without waiting (emulated time moves ``speed`` times as much).
        Tokens, AK locks and signatures keep the real clock."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10 * 365 * 86400:
            raise ValueError("seconds must be a number from 0 to ten years")
        self._time_advanced += float(seconds)
        self.job_schedules.catch_up()

    # -- API requests -------------------------------------------------------------------------

    def handle_api(self, request: Request) -> Outcome:
        path = unquote(request.raw_path)
        endpoint, _ = classify(path, request.method)
        self._remember_secrets(request)
        self.credentials.remember_presented(endpoint, request)
        fault = self.faults.take(path)
        delivery = "normal"
        if fault is not None:
            if fault.kind == "drop":
                self._record(request, _Handled(Response(0, b""), endpoint), None, fault.kind)
                return Outcome(None, "drop")
            v2_body = endpoint in V2_ENDPOINTS or endpoint in INFERENCE_ENDPOINTS
            replacement = fault_response(fault, request.request_id, v2=v2_body)
            if replacement is not None:
                self._record(request, _Handled(replacement, endpoint), replacement.status, fault.kind)
                return Outcome(replacement)
            if fault.kind == "slow" and not fault.options.get("after", False):
                time.sleep(float(fault.options.get("delay", 2.0)))
            elif fault.kind in DELIVERY_KINDS:
                delivery = fault.kind
        handled = self._api(request, path)
        if delivery == "truncated":
            handled.response.status = 200
        self._record(request, handled, handled.response.status, fault.kind if fault else None)
        if fault is not None and fault.kind == "slow" and fault.options.get("after", False):
            # The service has done the work (a create has created its job); only the answer is late.
            time.sleep(float(fault.options.get("delay", 2.0)))
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
        endpoint, groups = classify(path, request.method)
        if endpoint == "iam_tokens":
            if request.method != "POST":
                return _Handled(not_found_api(request.request_id), endpoint)
            response, failed = handle_token_request(request.body, self.gateway, self.config)
            if response.status == 201:
                self.stats.token_issued(dict(response.headers).get("X-Subject-Token"))
            return _Handled(response, endpoint, auth_failure=failed)
        if credential_endpoint(path) is not None:
            done = self.credentials.handle(endpoint, request, self._base_url(request))
            return _Handled(done.response, endpoint, done.auth, auth_failure=done.auth_failure)
        if endpoint == "other" or request.method != _METHODS.get(endpoint, "GET"):
            return _Handled(not_found_api(request.request_id), endpoint)
        if endpoint == "training_job_logs" and not self.aom_logs:
            # Not published on this cloud: the gateway answers before any authentication.
            return _Handled(api_not_published(request.request_id), endpoint)
        # Models and services answer errors in the {"error_code", "error_msg"} family, as v2 does.
        is_v2 = endpoint in V2_ENDPOINTS or endpoint in INFERENCE_ENDPOINTS

        auth = self.gateway.authenticate(request)
        if auth.error is not None:
            if auth.expired:
                self.stats.expired_refusal()
            return _Handled(auth.error, endpoint, auth_failure=True)
        if auth.token is not None and auth.token.project_id is None:
            if is_v2:
                error = v2_error(v2_spec.TOKEN_NO_PROJECT)
            else:
                error = modelarts_error(
                    401, spec.CODE_TOKEN_NO_PROJECT, "The token does not contain project information."
                )
            return _Handled(error, endpoint, auth.mode, auth_failure=True)
        if endpoint == INVOKE:
            # The access address has no project in its path: the credentials are all that is checked.
            return self._inference(request, endpoint, groups, auth.mode)
        project_id = groups[0]
        header_project = request.header(signing.HEADER_PROJECT_ID)
        if project_id != self.config.project_id or header_project not in (None, project_id):
            if is_v2:
                error = v2_error(v2_spec.PROJECT_MISMATCH)
            else:
                error = modelarts_error(
                    403,
                    spec.CODE_PROJECT_MISMATCH,
                    f"The project ID {project_id} does not match the project of the credential.",
                )
            return _Handled(error, endpoint, auth.mode, auth_failure=True)

        if endpoint in INFERENCE_ENDPOINTS:
            return self._inference(request, endpoint, groups, auth.mode)
        pairs = signing.query_pairs(request.raw_query)
        if is_v2:
            return self._v2(request, endpoint, groups, pairs, auth.mode)
        if endpoint == "list_jobs":
            response, ignored = v1_responses.list_jobs(self.store, pairs, auth.mode, self.config.quotas)
        elif endpoint == "list_versions":
            response, ignored = v1_responses.list_versions(self.store, groups[1], pairs)
        else:
            response, ignored = v1_responses.get_version(self.store, groups[1], groups[2], pairs)
        return _Handled(response, endpoint, auth.mode, ignored)

    def _inference(self, request: Request, endpoint: str, groups: tuple[str, ...], auth_mode: str | None) -> _Handled:
        """Models, services and invocations; access addresses use the host the client called."""
        pairs = signing.query_pairs(request.raw_query)
        response, ignored = self.inference.handle(endpoint, groups, request, pairs, self._base_url(request))
        return _Handled(response, endpoint, auth_mode, ignored)

    def _base_url(self, request: Request) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{request.header('Host') or f'{self.config.host}:{self.config.port}'}"

    def _v2(
        self,
        request: Request,
        endpoint: str,
        groups: tuple[str, ...],
        pairs: list[tuple[str, str]],
        auth_mode: str | None,
    ) -> _Handled:
        store = self.training_jobs
        self.job_schedules.catch_up()  # jobs that fell due exist before anything reads or creates
        # Only the task list and the log page read the query string (the search is in the body;
        # the docs' search example still shows "?limit=1"): other parameters are logged as ignored.
        ignored = sorted({name for name, _ in pairs} - _V2_QUERY.get(endpoint, set()))
        if endpoint == "search_training_jobs":
            response = v2_responses.search_training_jobs(store, request.body)
        elif endpoint == "get_training_job":
            response = v2_responses.show_training_job(store, groups[1])
        elif endpoint == "create_training_job":
            profile = self.config.seed * 1_000_003 + 500_000 + len(store.jobs)
            response = v2_create.create_training_job(store, self.create_plans, request.body, profile)
        elif endpoint == "delete_training_job":
            response = v2_lifecycle.delete_training_job(store, groups[1])
        elif endpoint == "training_job_action":
            response = v2_lifecycle.job_action(store, groups[1], request.body)
        elif endpoint == "list_training_job_tasks":
            response = v2_lifecycle.list_tasks(store, groups[1], pairs)
        elif endpoint == "training_job_log_preview":
            response = v2_lifecycle.task_log_preview(store, groups[1], groups[2], self.log_preview_max_bytes)
        elif endpoint == "training_job_events":
            response = v2_events.list_events(store, groups[1], pairs)
        elif endpoint == "autosearch_trials":
            response = v2_autosearch.list_trials(store, groups[1], pairs)
        elif endpoint == "autosearch_trial":
            response = v2_autosearch.show_trial(store, groups[1], groups[2])
        else:
            response = v2_lifecycle.task_logs(store, groups[1], groups[2], pairs)
        return _Handled(response, endpoint, auth_mode, ignored)

    # -- control operations -------------------------------------------------------------------

    def reset(self) -> None:
        """Clear statistics, faults, AK locks, clock skew and the record of terminate calls, and
        restore the configured annotation rule, AOM log switch, preview cap and credential settings;
        jobs, create plans, job schedules, issued tokens and temporary credentials stay."""
        with self.training_jobs.lock:
            self.training_jobs.terminations.clear()
            self.training_jobs.keep_unknown_annotations = self.config.keep_unknown_annotations
        self.aom_logs = self.config.aom_logs
        self.log_preview_max_bytes = self.config.log_preview_max_bytes
        self.stats.reset()
        self.faults.clear()
        self.gateway.reset_locks()
        self.gateway.clock_skew = 0.0
        self.credentials.reset_settings()

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

    # -- v2 training jobs ---------------------------------------------------------------------

    def create_training_job(
        self,
        name: str,
        timeline: Iterable[Sequence[Any]],
        *,
        workspace_id: str = v2_spec.WORKSPACE_DEFAULT,
        description: str = "",
        node_count: int = 1,
        flavor_id: str | None = None,
        exit_code: int | None = None,
        message: str | None = None,
        task_statuses: Iterable[dict[str, Any]] | None = None,
        algorithm_name: str = "",
        runtime_type: str = "",
        job_id: str | None = None,
        offset: float = 0.0,
        logs: dict[str, list[Any]] | None = None,
        tasks: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Create a v2 job that starts its phase ``timeline`` now (``offset`` seconds into it).

        ``tasks`` names its tasks (``status.tasks``, e.g. ``["worker-0", "server-0"]``; default
        ``worker-0`` ... one per node). A job whose timeline ends Failed reports ``exit_code``
        (default 1) and ``message`` for its first task, or ``task_statuses`` (``[{"task",
        "exit_code", "message"}]``) for any tasks.
        ``logs`` gives the lines tasks print, as for a create plan (see
        :meth:`.CreatePlans.put`); other tasks print plausible default lines.
        Returns ``{"id", "name"}``; ``id`` is a fresh UUID unless ``job_id`` is given.
        """
        steps = normalize_phase_timeline(timeline)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise ValueError("name must be 1-64 letters, digits, underscores or hyphens")
        if not isinstance(workspace_id, str) or not workspace_id or not isinstance(description, str):
            raise ValueError("workspace_id must be a non-empty string and description a string")
        if isinstance(node_count, bool) or not isinstance(node_count, int) or not 1 <= node_count <= 64:
            raise ValueError("node_count must be an integer from 1 to 64")
        if isinstance(offset, bool) or not isinstance(offset, (int, float)) or offset < 0:
            raise ValueError("offset must be a number of seconds >= 0")
        if not isinstance(algorithm_name, str) or not isinstance(runtime_type, str):
            raise ValueError("algorithm_name and runtime_type must be strings")
        flavors = [flavor.flavor_id for flavor in FLAVORS]
        if flavor_id is not None and flavor_id not in flavors:
            raise ValueError(f"flavor_id must be one of {', '.join(flavors)}")
        flavor = FLAVOR_V100 if flavor_id is None else flavors.index(flavor_id)
        names = normalize_task_names(tasks)
        failures = task_failures(steps[-1][0], names or node_count, exit_code, message, task_statuses)
        scripts = normalize_logs(logs, steps)
        if job_id is None:
            job_id = str(uuid.uuid4())
        elif not isinstance(job_id, str) or not UUID_PATTERN.fullmatch(job_id.lower()):
            raise ValueError("job_id must be a UUID string")
        plan = JobPlan(
            steps, float(offset), flavor, node_count=node_count, failures=failures, algorithm_name=algorithm_name
        )
        store = self.training_jobs
        with store.lock:
            self.job_schedules.catch_up()
            job = new_training_job(
                store,
                job_id,
                name,
                plan,
                profile=self.config.seed * 1_000_003 + len(store.jobs),
                description=description,
                workspace_id=workspace_id,
                user=USERS[0],
                now=store.now(),
                runtime_type=runtime_type,
            )
            job.log_scripts = scripts
            job.task_names = names or ()
        return {"id": job.job_id, "name": job.name}

    def set_training_job_timeline(self, job_id: str, timeline: Iterable[Sequence[Any]]) -> None:
        """Replace a v2 job's timeline; it starts over now."""
        steps = normalize_phase_timeline(timeline)
        store = self.training_jobs
        with store.lock:
            job = self._training_job(job_id)
            job.restart(steps, store.now())

    def terminate_training_job(self, job_id: str) -> bool:
        """Terminate as the API's terminate action would; False if the phase does not allow it."""
        store = self.training_jobs
        with store.lock:
            return self._training_job(job_id).terminate(store.now(), store.speed)

    def delete_training_job(self, job_id: str) -> None:
        self.job_schedules.catch_up()
        if not self.training_jobs.delete(job_id):
            raise KeyError(f"Training job (ID: {job_id}) not found")

    def terminations(self) -> list[dict[str, Any]]:
        """Every terminate action the API received since the last reset, in order."""
        with self.training_jobs.lock:
            return [dict(entry) for entry in self.training_jobs.terminations]

    def task_log(self, job_id: str, task: str) -> list[str]:
        """A task's whole log at this instant."""
        store = self.training_jobs
        with store.lock:
            job = self._training_job(job_id)
            if task not in job.tasks:
                raise KeyError(f"Task {task} not found in training job {job_id}")
            return v2_logs.visible_lines(job, task, job.state(store.now(), store.speed))

    def set_aom_logs(self, enabled: bool) -> None:
        """Publish (True) or withdraw (False) the AOM log API ``GET .../logs/{task_id}``."""
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be true or false")
        self.aom_logs = enabled

    def set_log_preview_max_bytes(self, max_bytes: int) -> None:
        """The preview's cap on ``content`` (bytes, 1 to 5 MB)."""
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
            raise ValueError("max_bytes must be an integer")
        if not 1 <= max_bytes <= v2_spec.LOG_PREVIEW_MAX_BYTES:
            raise ValueError(f"max_bytes must be 1 to {v2_spec.LOG_PREVIEW_MAX_BYTES}")
        self.log_preview_max_bytes = max_bytes

    def _training_job(self, job_id: str) -> TrainingJob:
        self.job_schedules.catch_up()
        job = self.training_jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None:
            raise KeyError(f"Training job (ID: {job_id}) not found")
        return job
