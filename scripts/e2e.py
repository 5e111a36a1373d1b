"""``make e2e``: the provider in a real Airflow 3 stack, driven through the web UI by Debian's Chromium.

What it does, in order (one PASS/FAIL line per step, exit code 1 on any failure):

1. installs Debian's ``chromium`` with apt-get when /usr/bin/chromium is missing (Playwright's own
   browser download is never used: this machine cannot reach it);
2. checks that ``airflow providers list`` shows airflow-provider-modelarts at the version of pyproject.toml;
3. starts the ModelArts emulator and api-server + scheduler + dag-processor + triggerer on 127.0.0.1
   with a throwaway AIRFLOW_HOME (.e2e/, wiped first), SimpleAuthManager and connection testing enabled;
4. logs in through the login form, creates ``modelarts_default`` in Admin > Connections with the
   "Huawei Cloud ModelArts" form (checking its custom and relabelled fields) and saves it; then, with
   the Test button of the connection list (Airflow 3.3's form has none), tests it (success), saves a
   wrong secret key and tests again (APIGW.0301), and restores the right key (success again); then
   creates one connection per temporary-credential auth type (metadata, idp, default_chain; REST API,
   no login, password or project_id, the emulator serving the metadata service and IAM federation) and
   tests each with the Test button: each message names where its temporary credentials came from;
5. triggers example_modelarts_training_jobs from the UI, waits for the run to succeed, checks that the
   deferrable sensor really went through the triggerer, and checks the "ModelArts Console" link;
6. triggers example_modelarts_create_training_job (REST API) and, while its ``train`` task is deferred,
   finds the training job's streamed ``[worker-0]`` lines in the task log, through the REST API and on
   the task's log page; then checks that the run succeeds with each line exactly once, in order;
7. on Airflow 3.3+, triggers it again for a job that would run 10 minutes, and once ``train`` is
   deferred and the job Running, uses the task's "Mark Task Instance as... > Failed" menu: the
   emulator must receive the trigger's terminate (202) for that job. Below 3.3 Airflow never calls a
   trigger's on_kill, so the step is skipped with that reason;
8. the job-event watcher (issue 21): example_modelarts_job_events is scheduled on an asset whose
   ``AssetWatcher`` runs ``ModelArtsTrainingJobEventTrigger`` in the triggerer (polling every 3 s,
   ``MODELARTS_JOB_EVENTS_POLL_INTERVAL``). The emulator creates a ``nightly-e2e-1`` job by itself (a
   job schedule, no client); once ModelArts reports it Completed, an ``asset_triggered`` run of the
   DAG must be queued within two poll intervals, its triggering asset event must carry the job id,
   a restart of the triggerer must fire nothing again (the restarted watcher searches, the asset keeps
   one event and the DAG one run), and the run must succeed: read the event, register the model from
   the job's output, deploy it (deferred) and delete both. Which triggerer runs the watcher is read
   from the metadata database (SQLite, read only): the REST API does not show it.

``--headless`` (run by every environment of ``make matrix``) skips the browser: the connection comes
from ``AIRFLOW_CONN_MODELARTS_DEFAULT``, the DAG run is triggered through the REST API, and steps 2, 3,
5 (without the link), 6 (REST API only) and 8 check the same things, among them the deferral to the
separate ``airflow triggerer`` process; the three temporary-credential connections are tested through
``POST /api/v2/connections/test``. ``--headless --no-job-events`` (``make matrix``'s compat sessions)
leaves out step 8: its e2e sessions run it in the browser on the floor and the newest release.

Screenshots of every step go to artifacts/e2e/; two of them are copied to docs/images/ for the README.
Every process started here is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import requests
from e2e_support import ProcessGroup, Step, StepFailed, StepReport, check, free_port, port_is_free, tail, wait_for
from modelarts_emulator.process import emulator_command, wait_until_ready
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

try:
    from playwright.sync_api import (
        BrowserContext,
        Locator,
        Page,
        Playwright,
        Route,
        ViewportSize,
        expect,
        sync_playwright,
    )
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # pragma: no cover - only when run outside `make e2e`; --headless needs no browser
    sync_playwright = None  # type: ignore[assignment]

from importlib.metadata import version as distribution_version

from modelarts_emulator import airflow_connection, make_id_token
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.cloud.auth import AkSkAuth
from airflow_provider_modelarts.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOME = ROOT / ".e2e"
ARTIFACTS = ROOT / "artifacts" / "e2e"
DOCS_IMAGES = ROOT / "docs" / "images"

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google services, which this
# machine's closed network refuses; --no-sandbox because the run is as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

ADMIN_USER = "admin"
CONN_ID = "modelarts_default"
DAG_ID = "example_modelarts_training_jobs"
DEFERRED_TASK = "wait_for_training_deferrable"
TRIGGER_CLASS = "airflow_provider_modelarts.triggers.training_job.ModelArtsTrainingJobTrigger"
DEMO_JOB_ID = 1
# The new version of the demo job: (status code, emulated seconds; the emulator runs 3x faster).
# Running for 50 s real time, longer than demo.py's 20 s: on a loaded 2-core machine the upstream
# list tasks and a slow worker start took over 30 s, and the deferrable sensor then found the job
# already completed and never deferred (seen in the Airflow 3.0 browser run of `make matrix`).
E2E_TIMELINE = [(1, 6), (7, 9), (8, 150), (10, None)]
# As long as a real SK (40 characters), so only the signature check can reject it.
WRONG_SECRET_KEY = "WrongSecretKey00000000000000000000000001"
SUCCESS_MESSAGE = "Connected to ModelArts"
# One connection per temporary-credential auth type, and what its test message must say about where
# the credentials came from ("... with temporary credentials from <source>: project ..."). The default
# chain finds no environment variable and no profile file (prepare_home sees to it), so it falls
# through to the metadata service.
TEMPORARY_SOURCES = {
    "metadata": "temporary credentials from the instance metadata service at {url}",
    "idp": "temporary credentials from IAM federation with identity provider '{idp_id}'",
    "default_chain": "temporary credentials from the instance metadata service at {url}",
}
SDK_ENV_PREFIX = "HUAWEICLOUD_SDK_"
WRONG_SK_CODE = "APIGW.0301"
# What the issue asks the form to show; the full list of extra-field labels comes from the provider info.
CONN_TYPE_NAME = "Huawei Cloud ModelArts"
RELABELLED = {"login": "Access Key ID (AK) or user name", "password": "Secret Access Key (SK) or password"}
REQUIRED_EXTRA_LABELS = ("Region", "Project ID", "Authentication", "ModelArts endpoint")
CONSOLE_LINK_NAME = "ModelArts Console"
# The training DAG: its `train` task creates a v2 job through the API, defers, and its trigger
# streams the job's log lines into the task log as "[worker-0] <line>".
CREATE_DAG_ID = "example_modelarts_create_training_job"
# The model lifecycle DAG (train, register, deploy, invoke, batch, teardown) and the console links
# of its model and service tasks. Its training job ("{params.model}-lifecycle-<ts>") runs briefly.
LIFECYCLE_DAG_ID = "example_modelarts_model_lifecycle"
LIFECYCLE_MODEL = "e2e-life"
LIFECYCLE_TIMELINE = [["Creating", 3], ["Pending", 3], ["Running", 12], ["Completed", None]]
INFERENCE_LINKS = (
    # (task, link name, XCom key holding the id, console fragment)
    ("register_model", "ModelArts Model", "model_id", "#/model/details/{id}"),
    ("deploy_service", "ModelArts Service", "service_id", "#/webService/{id}"),
    ("batch_inference", "ModelArts Service", "service_id", "#/batchService/{id}"),
)
TRAIN_TASK = "train"
TRAINING_JOB_ID_XCOM = "training_job_id"
LOG_TASK = "worker-0"
# How the jobs the DAG creates run (emulator create plans, matched by the job name's prefix; the DAG
# names a job "{params.model}-train-<ts>"). Emulated seconds, 3x faster than real ones: Running for
# 150 s is 50 s real, so the log check and the browser look happen while the task is deferred.
STREAM_MODEL = "resnet50"  # the DAG's default params.model
STREAM_TIMELINE: list[list[Any]] = [["Creating", 3], ["Pending", 4], ["Running", 150], ["Completed", None]]
STREAM_LINES = [
    (2, "epoch 1/6 loss=2.3026 top1=0.112"),
    (15, "epoch 2/6 loss=1.8731 top1=0.347"),
    (35, "epoch 3/6 loss=1.4410 top1=0.518"),
    (60, "epoch 4/6 loss=1.1205 top1=0.634"),
    (95, "epoch 5/6 loss=0.9342 top1=0.701"),
    (140, "epoch 6/6 loss=0.8127 top1=0.742"),
]
# A job that would run for 10 emulated minutes, until "Mark as failed" terminates it; its first
# line is printed when Running begins, so a visible line means the job is Running.
KILL_MODEL = "vit-kill"
KILL_TIMELINE: list[list[Any]] = [["Creating", 3], ["Pending", 4], ["Running", 600], ["Completed", None]]
KILL_LINES = [(0, "job started: training vit for 600 s")]
MARK_AS_BUTTON = "Mark Task Instance as..."
# The job-event example: an asset whose watcher (ModelArtsTrainingJobEventTrigger, in the triggerer)
# fires when a job named nightly-* completes, and the DAG scheduled on it. The e2e polls every 3 s
# (the example's default is 60 s), set through the environment the DAG file is parsed in.
EVENTS_DAG_ID = "example_modelarts_job_events"
EVENTS_ASSET_URI = "modelarts://training-jobs/nightly"
EVENTS_TRIGGER_CLASS = "airflow_provider_modelarts.triggers.job_events.ModelArtsTrainingJobEventTrigger"
EVENTS_POLL_INTERVAL = 3.0
EVENTS_FIRST_TASK = "nightly_job"
EVENTS_TASKS = (EVENTS_FIRST_TASK, "register_model", "deploy_service", "delete_service", "delete_model")
# The job the emulator creates by itself (a job schedule: no client, as from the console), at once,
# Completed 12 emulated seconds (4 s) later; its model output where the emulator accepts a model.
EVENTS_SCHEDULE = "nightly"
EVENTS_JOB_SCHEDULE: dict[str, Any] = {
    "every": 3600,
    "count": 1,
    "start_after": 0,
    "job_name": "nightly-e2e-{n}",
    "timeline": [["Creating", 3], ["Running", 9], ["Completed", None]],
    "outputs": [{"name": "train_url", "obs_url": "obs://demo-bucket/models/{name}/"}],
}
# How long after the triggerer's restart to look for a second event: this many searches of the
# restarted watcher, and at least this many poll intervals.
RESTART_QUIET_ROUNDS = 2
CONSOLE_URL = (
    "https://console.huaweicloud.com/modelarts/?region={region}"
    "#/trainingJobs/trainingjobDetail?jobId={job_id}&versionId={version_id}"
)

# Bounded waits (seconds); generous for a loaded 2-core machine, short enough that nothing hangs.
# Emulated seconds pass this many times as fast as real ones (the timelines above count on it).
EMULATOR_SPEED = 3
APT_TIMEOUT = 900
CLI_TIMEOUT = 120
STACK_TIMEOUT = 180
DAG_PARSE_TIMEOUT = 120
DAG_RUN_TIMEOUT = 300
DEFERRAL_TIMEOUT = 180
ENDED_STATES = ("success", "failed", "upstream_failed", "skipped", "removed")
STREAMED_LINE_TIMEOUT = 60
TERMINATE_TIMEOUT = 60
UI_TIMEOUT_MS = 30_000
FINITE_ANIMATIONS_DONE = """() => document.getAnimations().every(
    (a) => a.playState !== "running" || a.effect?.getComputedTiming().iterations === Infinity)"""


def epoch(timestamp: str) -> float:
    """Seconds since the epoch of an ISO 8601 time of the REST API (Python 3.10 reads no "Z")."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def iso_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def airflow_minor() -> tuple[int, int]:
    """The Airflow under test (read from package metadata: importing Airflow here would set it up)."""
    major, minor = distribution_version("apache-airflow-core").split(".")[:2]
    return int(major), int(minor)


# Airflow 3.0's UI has no Test button for connections (3.1 added it); the e2e then tests the saved
# connection through the REST API route that the button calls.
UI_HAS_TEST_BUTTON = airflow_minor() >= (3, 1)


def conn_type_info() -> dict[str, Any]:
    info: dict[str, Any] = get_provider_info()["connection-types"][0]
    return info


def project_version() -> str:
    """The version in pyproject.toml (read with a regex: tomllib needs Python 3.11, the project allows 3.10)."""
    match = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    check(match is not None, "no version in pyproject.toml")
    assert match is not None  # for mypy
    return match.group(1)


def label_pattern(text: str) -> re.Pattern[str]:
    """A form label exactly ``text``, with or without the required-field star the UI appends."""
    return re.compile(rf"^\s*{re.escape(text)}\s*\*?\s*$")


def log_file_event(line: str) -> str:
    """The message of one line of an Airflow 3 task log file (JSON lines; plain text kept as is)."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    return str(record.get("event", line)) if isinstance(record, dict) else line


class E2E:
    """The state shared by the steps: processes, URLs, the browser page and what earlier steps found."""

    def __init__(self) -> None:
        self.processes = ProcessGroup(HOME / "process-logs")
        self.env: dict[str, str] = {}
        self.base_url = ""
        self.password = ""
        self.emulator: dict[str, Any] = {}
        self.playwright: Playwright | None = None
        self.context: BrowserContext | None = None
        self._page: Page | None = None
        self._shots = 0
        self.run_id = ""
        self.version_id: int | None = None
        self.deferred_states: list[str] = []
        self.deferred_seen: dict[str, Any] = {}
        self._token: str | None = None
        self.port_workarounds = 0
        self.lifecycle_run_id: str | None = None
        # The metadata database is SQLite: a write that meets "database is locked" while the scheduler
        # writes (HTTP 500 "Database error") was rolled back, so it is sent again, as for GETs.
        self._api_session = requests.Session()
        retry = Retry(total=5, status_forcelist=(500,), allowed_methods=None, backoff_factor=1, raise_on_status=False)
        self._api_session.mount("http://", HTTPAdapter(max_retries=retry))
        self.stream_run_id = ""
        # The job-event steps: the asset, the watcher's trigger row, the job and the run it started.
        self.events_asset_id: int | None = None
        self.events_trigger_id: int | None = None
        self.events_triggerer_id: int | None = None
        self.events_job: dict[str, Any] = {}
        self.events_job_end = 0.0
        self.events_run_id = ""

    # ------------------------------------------------------------------ plumbing

    @property
    def page(self) -> Page:
        check(self._page is not None, "the browser is not open")
        assert self._page is not None  # for mypy; check() above raises with a message
        return self._page

    def screenshot(self, name: str) -> Path:
        self._shots += 1
        path = ARTIFACTS / f"{self._shots:02d}-{name}.png"
        self.settle()
        self.page.screenshot(path=str(path))
        print(f"      screenshot {path.relative_to(ROOT)}")
        return path

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the Airflow REST API as admin: to wait, to read evidence, and to trigger the runs that
        the browser does not trigger itself."""
        if self._token is None:
            response = requests.post(
                f"{self.base_url}/auth/token", json={"username": ADMIN_USER, "password": self.password}, timeout=10
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        return self._api_session.request(method, self.base_url + path, headers=headers, timeout=15, **kwargs)

    def api_json(self, path: str) -> dict[str, Any]:
        response = self.api("GET", path)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def airflow_cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )
        check(result.returncode == 0, f"`airflow {' '.join(args)}` failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    # ------------------------------------------------------------------ steps: machine and servers

    def install_chromium(self) -> None:
        if not CHROMIUM.exists():
            check(os.geteuid() == 0, f"{CHROMIUM} is missing and only root can apt-get install chromium")
            apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
                print(f"      $ {' '.join(argv)}", flush=True)
                result = subprocess.run(argv, env=apt_env, capture_output=True, text=True, timeout=APT_TIMEOUT)
                check(result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}{result.stderr}")
        check(CHROMIUM.exists(), f"{CHROMIUM} is still missing after apt-get install chromium")
        version = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=60)
        check(version.returncode == 0, f"{CHROMIUM} --version failed: {version.stderr}")
        print(f"      {version.stdout.strip()}")

    def prepare_home(self) -> None:
        shutil.rmtree(HOME, ignore_errors=True)
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        (HOME / "dags").mkdir(parents=True)
        ARTIFACTS.mkdir(parents=True)
        for dag_file in sorted((ROOT / "example_dags").glob("*.py")):
            shutil.copy(dag_file, HOME / "dags" / dag_file.name)

        api_port = free_port()
        check(port_is_free(api_port), f"port {api_port} is taken")
        self.base_url = f"http://127.0.0.1:{api_port}"
        # Start from the caller's environment without its Airflow settings (and without any
        # AIRFLOW_CONN_*): the connection must come from the UI. Without the SDK's credential
        # variables and profile file either: the default_chain connection tested in the api-server
        # must reach the emulator's metadata service, not a developer's own keys.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AIRFLOW") and not key.startswith(SDK_ENV_PREFIX)
        }
        env.update(
            {
                f"{SDK_ENV_PREFIX}CREDENTIALS_FILE": str(HOME / "no-such-huaweicloud-credentials"),
                "AIRFLOW_HOME": str(HOME),
                "AIRFLOW__CORE__DAGS_FOLDER": str(HOME / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                # LocalExecutor forks one worker per parallelism slot (default 32); the DAG needs 2.
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(api_port),
                # Workers reach the Execution API through base_url; its default is localhost:8080.
                "AIRFLOW__API__BASE_URL": self.base_url,
                # Free ports instead of the fixed 8793/8794, so a running Airflow does not collide.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                # Parse the DAG folder every few seconds instead of every 5 minutes.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                # The job-event watcher of example_modelarts_job_events polls every few seconds.
                "MODELARTS_JOB_EVENTS_POLL_INTERVAL": f"{EVENTS_POLL_INTERVAL:g}",
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            }
        )
        self.env = env
        print(f"      AIRFLOW_HOME={HOME.relative_to(ROOT)}, API server port {api_port}")

    def check_provider_listed(self) -> None:
        output = self.airflow_cli("providers", "list", "--output", "json")
        # Airflow 3.0 with a newer alembic logs "setup plugin alembic..." lines to stdout first.
        start = output.find("[{")
        check(start >= 0, f"no JSON list in `airflow providers list --output json`:\n{output[-2000:]}")
        providers, _ = json.JSONDecoder().raw_decode(output, start)
        listed = {provider["package_name"]: provider["version"] for provider in providers}
        print(f"      airflow providers list: airflow-provider-modelarts {listed.get('airflow-provider-modelarts')}")
        check("airflow-provider-modelarts" in listed, f"airflow-provider-modelarts is not listed: {sorted(listed)}")
        expected = project_version()
        actual = listed["airflow-provider-modelarts"]
        check(actual == expected, f"listed version {actual}, pyproject.toml says {expected}")

    def start_emulator(self) -> None:
        ready_file = HOME / "emulator.json"
        process = self.processes.start("emulator", emulator_command(ready_file, speed=EMULATOR_SPEED))
        self.emulator = wait_until_ready(process.popen, ready_file)
        print(f"      ModelArts emulator at {self.emulator['url']} (project {self.emulator['project_id']})")

    def start_airflow(self) -> None:
        self.airflow_cli("db", "migrate")
        for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
            self.processes.start(component, [str(BIN / "airflow"), component], self.env)

        def healthy() -> bool:
            self.processes.check_alive()
            health = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

        wait_for("api-server, scheduler, triggerer and dag-processor to report healthy", healthy, STACK_TIMEOUT)
        # SimpleAuthManager writes the generated password when the API server initialises it.
        password_file = HOME / "simple_auth_manager_passwords.json.generated"
        passwords = wait_for(
            "the generated admin password", lambda: json.loads(password_file.read_text()), STACK_TIMEOUT
        )
        check(ADMIN_USER in passwords, f"no password for {ADMIN_USER} in {password_file}")
        self.password = passwords[ADMIN_USER]
        print(f"      Airflow UI at {self.base_url} (user {ADMIN_USER}, password from {password_file.name})")

    # ------------------------------------------------------------------ steps: browser

    def open_browser(self) -> None:
        self.playwright = sync_playwright().start()
        # A persistent context on a fresh directory is the explicit "new empty --user-data-dir".
        self.context = self.playwright.chromium.launch_persistent_context(
            str(HOME / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.context.set_default_navigation_timeout(UI_TIMEOUT_MS)
        self._page = self.context.pages[0] if self.context.pages else self.context.new_page()

    def log_in(self) -> None:
        self.open_browser()
        page = self.page
        page.goto(self.base_url + "/")
        expect(page).to_have_url(re.compile(r"/auth/login"))
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(self.password)
        self.screenshot("login")
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/auth/login"))
        expect(page.get_by_role("button", name="Admin")).to_be_visible()
        expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
        # The dashboard draws grey placeholders until its panels have loaded; the picture waits for them.
        with contextlib.suppress(AssertionError):
            expect(page.locator(".chakra-skeleton")).to_have_count(0, timeout=15_000)
        self.screenshot("logged-in")

    def open_connection_form(self) -> None:
        page = self.page
        page.get_by_role("button", name="Admin").click()
        page.get_by_role("menuitem", name="Connections").click()
        expect(page).to_have_url(re.compile(r"/connections$"))
        page.get_by_role("button", name="Add Connection").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_role("heading", name="Add Connection")).to_be_visible()
        dialog.get_by_role("combobox", name="Connection Type").fill("ModelArts")
        page.get_by_role("option", name=CONN_TYPE_NAME, exact=True).click()
        expect(dialog.get_by_text(CONN_TYPE_NAME, exact=True)).to_be_visible()

        # Standard fields: login/password relabelled, host/port/schema hidden.
        for field_name, label in RELABELLED.items():
            expect(self.label(label)).to_be_visible()
            expect(dialog.locator(f"input[name='{field_name}']")).to_be_visible()
        expect(dialog.locator("input[name='password']")).to_have_attribute("type", "password")
        for hidden in ("host", "port", "schema"):
            expect(dialog.locator(f"input[name='{hidden}']")).to_have_count(0)
        for default_label in ("Host", "Port", "Schema", "Login", "Password"):
            expect(self.label(default_label)).to_have_count(0)
        self.screenshot("connection-type-selected")

        # Extra fields: every conn-field of the provider, under its label.
        self.open_section("Extra Fields")
        labels = [spec["label"] for spec in conn_type_info()["conn-fields"].values()]
        check(set(REQUIRED_EXTRA_LABELS) <= set(labels), f"provider info lacks some of {REQUIRED_EXTRA_LABELS}")
        for label in labels:
            expect(self.label(label)).to_be_visible()
        # By name, or for Airflow 3.0's drop-down (no named input) by its root's id "select:element_<field>".
        selector = "[name^='element_'], [data-part='root'][id^='select:element_']"
        inputs = self.page.get_by_role("dialog").locator(selector)
        names = inputs.evaluate_all("elements => elements.map((e) => e.getAttribute('name') || e.id.slice(7))")
        missing = [name for name in conn_type_info()["conn-fields"] if f"element_{name}" not in names]
        check(not missing, f"no input for the conn-fields {missing}; the form has {names}")
        print(f"      shown: {', '.join(labels)}; host/port/schema hidden; login/password relabelled")

    def fill_and_save_connection(self) -> None:
        page = self.page
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Connection ID").fill(CONN_ID)
        self.extra_input("region").fill(emulator_config.DEFAULT_REGION)
        self.extra_input("project_id").fill(self.emulator["project_id"])
        self.extra_input("endpoint").fill(self.emulator["url"])
        # The drop-down's id is element_auth_type from 3.2, select:element_auth_type on 3.0/3.1.
        expect(dialog.locator("[id='element_auth_type'], [id='select:element_auth_type']")).to_contain_text("aksk")
        self.screenshot("connection-extra-fields")
        self.open_section("Standard Fields")
        dialog.locator("input[name='login']").fill(emulator_config.DEFAULT_ACCESS_KEY)
        dialog.locator("input[name='password']").fill(emulator_config.DEFAULT_SECRET_KEY)
        self.screenshot("connection-standard-fields")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        expect(self.connection_row()).to_be_visible()
        expect(self.connection_row()).to_contain_text("modelarts")
        self.screenshot("connection-saved")

    def test_connection_succeeds(self) -> None:
        message = self.press_test(success=True, expected=SUCCESS_MESSAGE)
        check(self.emulator["url"] in message, f"the message does not name the endpoint: {message!r}")
        if UI_HAS_TEST_BUTTON:
            self.screenshot("test-connection-success")

    def test_wrong_secret_key_fails(self) -> None:
        self.edit_secret_key(WRONG_SECRET_KEY)
        self.press_test(success=False, expected=WRONG_SK_CODE)
        if UI_HAS_TEST_BUTTON:
            self.screenshot("test-connection-wrong-sk")

    def restore_secret_key(self) -> None:
        self.edit_secret_key(emulator_config.DEFAULT_SECRET_KEY)
        self.press_test(success=True, expected=SUCCESS_MESSAGE)
        # The README picture: the saved form with its extra fields, next to the success message.
        self.connection_row().get_by_role("button", name="Edit Connection").click()
        self.open_section("Extra Fields")
        expect(self.extra_input("endpoint")).to_have_value(self.emulator["url"])
        if UI_HAS_TEST_BUTTON:
            expect(self.toast(SUCCESS_MESSAGE)).to_be_visible()
        shutil.copy(self.screenshot("connection-form"), ARTIFACTS / "connection-form.png")
        self.page.get_by_role("dialog").get_by_role("button", name="Close").click()
        expect(self.page.get_by_role("dialog")).to_be_hidden()

    def temporary_connection(self, auth_type: str) -> dict[str, Any]:
        """The REST API body of a connection of a temporary-credential auth type: no login, password or
        project_id (the hook looks the project up from IAM), every source at the emulator."""
        url = self.emulator["url"]
        extra: dict[str, Any] = {
            "region": emulator_config.DEFAULT_REGION,
            "endpoint": url,
            "iam_endpoint": url,
            "auth_type": auth_type,
        }
        if auth_type in ("metadata", "default_chain"):
            extra["metadata_url"] = url  # the emulator serves the ECS metadata service on its own port
        if auth_type == "idp":
            # The test runs in the api-server: it reads this file, as a pod reads its projected token.
            token_file = HOME / "id_token"
            token_file.write_text(make_id_token(subject="system:serviceaccount:airflow:e2e"), encoding="utf-8")
            extra.update(idp_id=emulator_config.DEFAULT_IDP_ID, id_token_file=str(token_file))
        return {"connection_id": f"modelarts_{auth_type}", "conn_type": "modelarts", "extra": json.dumps(extra)}

    def test_temporary_connections(self) -> None:
        """Create a connection per temporary-credential type and test it (Test button, or the REST
        route it calls where there is none): each succeeds and names its credentials' source."""
        bodies = [self.temporary_connection(auth_type) for auth_type in TEMPORARY_SOURCES]
        for body in bodies:
            response = self.api("POST", "/api/v2/connections", json=body)
            check(response.ok, f"POST /api/v2/connections: HTTP {response.status_code} {response.text[:500]}")
        browser = self._page is not None and UI_HAS_TEST_BUTTON
        if browser:
            # A fresh list shows the new rows (and drops the earlier test's toast).
            self.page.reload()
            for body in bodies:
                expect(self.connection_row(body["connection_id"])).to_be_visible()
        shown: set[str] = set()
        for auth_type, body in zip(TEMPORARY_SOURCES, bodies, strict=True):
            expected = TEMPORARY_SOURCES[auth_type].format(
                url=self.emulator["url"], idp_id=emulator_config.DEFAULT_IDP_ID
            )
            conn_id = body["connection_id"]
            if not browser:
                message = self.test_connection_by_api(conn_id, body, success=True, expected=expected)
            else:
                # metadata and default_chain say the same: the second waits until the first's toast is gone.
                if expected in shown:
                    self.dismiss_toasts()
                message = self.press_test(success=True, expected=expected, conn_id=conn_id)
                shown.add(expected)
            check(SUCCESS_MESSAGE in message, f"{conn_id}: not a success message: {message!r}")
        if browser:
            self.screenshot("test-temporary-credential-connections")

    def define_connection_in_env(self) -> None:
        """Headless: the connection the browser run creates in the form, as an environment variable."""
        connection = airflow_connection(self.emulator["url"])
        self.env[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
        print(f"      AIRFLOW_CONN_{CONN_ID.upper()} points at {self.emulator['url']}")

    def prepare_dag_run(self) -> None:
        wait_for(
            f"the DAG {DAG_ID} to be parsed", lambda: self.api("GET", f"/api/v2/dags/{DAG_ID}").ok, DAG_PARSE_TIMEOUT
        )
        # A fresh version of demo job 1 that starts now, so the sensors really wait (E2E_TIMELINE).
        response = requests.post(
            f"{self.emulator['url']}/_emulator/jobs/{DEMO_JOB_ID}/versions", json={"timeline": E2E_TIMELINE}, timeout=10
        )
        check(response.ok, f"the emulator refused a new version: HTTP {response.status_code} {response.text[:300]}")
        self.version_id = int(response.json()["version_id"])
        print(f"      started version {self.version_id} of demo training job {DEMO_JOB_ID}")

    def trigger_dag_run_by_api(self) -> None:
        self.prepare_dag_run()
        response = self.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
        check(response.ok, f"the trigger request failed: HTTP {response.status_code} {response.text[:500]}")
        self.run_id = response.json()["dag_run_id"]
        print(f"      triggered run {self.run_id} through the REST API")

    def trigger_dag_run(self) -> None:
        self.prepare_dag_run()
        page = self.page
        # The connection test's toast would otherwise still be in the picture of the triggered run.
        self.dismiss_toasts()
        page.get_by_role("link", name="Dags").first.click()
        page.get_by_role("link", name=DAG_ID).first.click()
        expect(page).to_have_url(re.compile(rf"/dags/{DAG_ID}$"))
        # The URL changes before the DAG page replaces the list, whose rows have Trigger buttons too.
        expect(page.get_by_role("button", name="Reparse Dag")).to_be_visible()
        trigger = page.get_by_role("button", name="Trigger Dag")
        expect(trigger).to_have_count(1)
        trigger.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_role("heading", name=re.compile(DAG_ID))).to_be_visible()
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/dagRuns")) as info:
            dialog.get_by_role("button", name="Trigger", exact=True).click()
        check(info.value.ok, f"the trigger request failed: HTTP {info.value.status} {info.value.text()[:500]}")
        self.run_id = info.value.json()["dag_run_id"]
        print(f"      triggered run {self.run_id}")
        expect(dialog).to_be_hidden()
        self.screenshot("dag-triggered")

    def wait_for_dag_run(self) -> None:
        run_path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(self.run_id, safe='')}"
        states: list[str] = []

        def finished() -> str | None:
            self.processes.check_alive()
            ti = self.api_json(f"{run_path}/taskInstances/{DEFERRED_TASK}")
            if ti.get("state") and (not states or states[-1] != ti["state"]):
                states.append(ti["state"])
                print(f"      {DEFERRED_TASK}: {ti['state']}", flush=True)
            if ti.get("state") == "deferred":
                # Only visible while deferred: which trigger, on which triggerer.
                self.deferred_seen = {"trigger": ti.get("trigger"), "triggerer_job": ti.get("triggerer_job")}
            state: str | None = self.api_json(run_path).get("state")
            return state if state in ("success", "failed") else None

        final = wait_for(f"DAG run {self.run_id} to finish", finished, DAG_RUN_TIMEOUT, interval=1.0)
        task_states = {
            ti["task_id"]: ti["state"] for ti in self.api_json(f"{run_path}/taskInstances")["task_instances"]
        }
        print(f"      task states: {task_states}")
        self.deferred_states = states
        if self._page is not None:
            self.show_run(DAG_ID, self.run_id, final, DEFERRED_TASK)
            self.screenshot("dag-run-finished")
        if final != "success":
            self.print_failed_task_logs(DAG_ID, self.run_id)
        check(final == "success", f"DAG run {self.run_id} ended {final}: {task_states}")

    def show_run(self, dag_id: str, run_id: str, state: str, task_id: str) -> None:
        """Open the DAG run's page and wait until it shows the run in ``state``.

        A bare ``page.reload()`` followed by a screenshot caught the React app before it had drawn
        anything (a blank 11-dag-run-finished.png); this waits for the run's own heading and state.
        """
        page = self.page
        page.goto(f"{self.base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}")
        expect(page.get_by_role("button", name="Mark Dag Run as...")).to_be_visible()
        expect(self.state_badge(state)).to_be_visible()
        # A row of the task instance table, so the picture shows the tasks and not loading placeholders.
        expect(page.get_by_role("link", name=task_id, exact=True).first).to_be_visible()

    def print_failed_task_logs(self, dag_id: str, run_id: str) -> None:
        run_path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        with contextlib.suppress(Exception):  # only diagnostics; the caller fails anyway
            for ti in self.api_json(f"{run_path}/taskInstances")["task_instances"]:
                if ti["state"] not in ("success", "skipped"):
                    self.print_task_log(dag_id, run_id, ti["task_id"])

    def print_task_log(self, dag_id: str, run_id: str, task_id: str) -> None:
        task_dir = HOME / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        for log_file in sorted(task_dir.glob("attempt=*.log*")):
            print(f"\n----- last 30 lines of {log_file.relative_to(HOME)} -----\n{tail(log_file, 30)}")

    def check_deferral(self) -> None:
        run_path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(self.run_id, safe='')}/taskInstances/{DEFERRED_TASK}"
        check("deferred" in self.deferred_states, f"{DEFERRED_TASK} was never seen deferred: {self.deferred_states}")
        trigger = self.deferred_seen.get("trigger") or {}
        check(trigger.get("classpath") == TRIGGER_CLASS, f"unexpected trigger while deferred: {trigger}")
        check(self.deferred_seen.get("triggerer_job"), "no triggerer job had picked the trigger up")
        # The task log of try 1 is stitched from the worker log and the triggerer's own log file.
        events, trigger_logs = self.task_log_events(DAG_ID, self.run_id, DEFERRED_TASK)
        check(trigger_logs, "the task log has no triggerer part (attempt=N.log.trigger.<id>.log)")
        check(any("Trigger fired event" in event for event in events), "the triggerer log has no 'Trigger fired event'")
        # The sensor returns the version it pinned; it must be the one created for this run.
        xcom = self.api_json(f"{run_path}/xcomEntries/return_value")
        value = xcom.get("value")
        pinned = value.get("version_id") if isinstance(value, dict) else None
        check(pinned == self.version_id, f"the sensor pinned version {pinned}, expected {self.version_id}")
        print(
            f"      states {' -> '.join(self.deferred_states)}; trigger {trigger['classpath'].rsplit('.', 1)[-1]} "
            f"on triggerer job {self.deferred_seen['triggerer_job'].get('id')}; log {Path(trigger_logs[0]).name}"
        )

    def task_log_events(self, dag_id: str, run_id: str, task_id: str) -> tuple[list[str], list[str]]:
        """The events of the task's current try as the REST API serves them (what the UI shows),
        and the triggerer log files among them (``attempt=N.log.trigger.<id>.log``)."""
        ti_path = self.ti_path(dag_id, run_id, task_id)
        try_number = self.api_json(ti_path)["try_number"]
        log = self.api_json(f"{ti_path}/logs/{try_number}?full_content=true")
        events = [str(line.get("event", "")) for line in log.get("content", []) if isinstance(line, dict)]
        trigger_logs = [event for event in events if re.search(r"\.log\.trigger\.\d+\.log$", event)]
        if not trigger_logs:
            # Airflow 3.0's log API does not name the files it stitched: find the triggerer's files
            # themselves, and add their events only if the API left them out (else each is there twice).
            task_dir = HOME / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
            files = sorted(task_dir.glob(f"attempt={try_number}.log.trigger.*.log"))
            trigger_logs = [str(path) for path in files]
            file_events = [log_file_event(line) for path in files for line in path.read_text().splitlines()]
            if not set(file_events) & set(events):
                events += file_events
        return events, trigger_logs

    def check_console_link(self) -> None:
        page = self.page
        run_url = f"/dags/{DAG_ID}/runs/{quote(self.run_id, safe='')}/tasks/{DEFERRED_TASK}"
        page.goto(self.base_url + run_url)
        expect(page.get_by_role("heading", name=DEFERRED_TASK)).to_be_visible()
        page.get_by_role("link", name="Details", exact=True).click()
        link = page.get_by_role("link", name=CONSOLE_LINK_NAME)
        expect(link).to_be_visible()
        expected = CONSOLE_URL.format(
            region=emulator_config.DEFAULT_REGION, job_id=DEMO_JOB_ID, version_id=self.version_id
        )
        expect(link).to_have_attribute("href", expected)
        expect(link).to_have_attribute("target", "_blank")
        print(f"      {CONSOLE_LINK_NAME} -> {link.get_attribute('href')}")
        shutil.copy(self.screenshot("console-link"), ARTIFACTS / "console-link.png")

    def trigger_lifecycle_run(self) -> None:
        """Plan the lifecycle DAG's training job and trigger the DAG through the REST API. It runs
        while the training DAG's steps are checked; ``check_inference_links`` waits for it."""
        wait_for(
            f"the DAG {LIFECYCLE_DAG_ID} to be parsed",
            lambda: self.api("GET", f"/api/v2/dags/{LIFECYCLE_DAG_ID}").ok,
            DAG_PARSE_TIMEOUT,
        )
        prefix = f"{LIFECYCLE_MODEL}-lifecycle"
        response = requests.put(
            f"{self.emulator['url']}/_emulator/v2/create-plans/{prefix}",
            json={"timeline": LIFECYCLE_TIMELINE},
            timeout=10,
        )
        check(response.ok, f"the emulator refused the create plan: HTTP {response.status_code} {response.text[:300]}")
        body = {"logical_date": datetime.now(timezone.utc).isoformat(), "conf": {"model": LIFECYCLE_MODEL}}
        response = self.api("POST", f"/api/v2/dags/{LIFECYCLE_DAG_ID}/dagRuns", json=body)
        check(response.ok, f"the trigger request failed: HTTP {response.status_code} {response.text[:500]}")
        self.lifecycle_run_id = str(response.json()["dag_run_id"])
        print(f"      triggered {LIFECYCLE_DAG_ID} run {self.lifecycle_run_id}")

    def check_inference_links(self) -> None:
        """Wait for the lifecycle run to succeed, then find the 'ModelArts Model' and 'ModelArts
        Service' links on its register, deploy and batch task pages, pointing at the ids they pushed
        (the batch service's link opens the console's batch-service page)."""
        check(self.lifecycle_run_id is not None, f"{LIFECYCLE_DAG_ID} was not triggered")
        run_id = str(self.lifecycle_run_id)
        final = self.wait_for_run(LIFECYCLE_DAG_ID, run_id)
        if final != "success":
            for task_id in ("train", "register_model", "deploy_service", "smoke_test", "batch_inference"):
                self.print_task_log(LIFECYCLE_DAG_ID, run_id, task_id)
        check(final == "success", f"DAG run {run_id} of {LIFECYCLE_DAG_ID} ended {final}")
        page = self.page
        for task_id, link_name, key, fragment in INFERENCE_LINKS:
            entry = self.api_json(f"{self.ti_path(LIFECYCLE_DAG_ID, run_id, task_id)}/xcomEntries/{key}")
            resource_id = str(entry.get("value")).strip('"')
            page.goto(f"{self.base_url}/dags/{LIFECYCLE_DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{task_id}")
            expect(page.get_by_role("heading", name=task_id, exact=True)).to_be_visible()
            page.get_by_role("link", name="Details", exact=True).click()
            link = page.get_by_role("link", name=link_name)
            expect(link).to_be_visible()
            expect(link).to_have_attribute("href", re.compile(re.escape(fragment.format(id=resource_id)) + "$"))
            expect(link).to_have_attribute("target", "_blank")
            print(f"      {task_id}: {link_name} -> {link.get_attribute('href')}")
            self.screenshot(f"{task_id}-link")

    # ------------------------------------------------------------------ steps: the training DAG

    def ti_path(self, dag_id: str, run_id: str, task_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"

    def ti_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        state: str | None = self.api_json(self.ti_path(dag_id, run_id, task_id)).get("state")
        return state

    def start_training_run(self, model: str, timeline: list[list[Any]], lines: list[tuple[int, str]]) -> str:
        """Plan how the job named ``{model}-train-...`` runs at the emulator, then trigger the
        training DAG with ``params.model = model`` through the REST API; the run id."""
        wait_for(
            f"the DAG {CREATE_DAG_ID} to be parsed",
            lambda: self.api("GET", f"/api/v2/dags/{CREATE_DAG_ID}").ok,
            DAG_PARSE_TIMEOUT,
        )
        prefix = f"{model}-train"
        plan = {"timeline": timeline, "logs": {LOG_TASK: [[second, text] for second, text in lines]}}
        response = requests.put(f"{self.emulator['url']}/_emulator/v2/create-plans/{prefix}", json=plan, timeout=10)
        check(response.ok, f"the emulator refused the create plan: HTTP {response.status_code} {response.text[:300]}")
        # An explicit logical date: the DAG names the job after {{ ts_nodash }}, which needs one.
        body = {"logical_date": datetime.now(timezone.utc).isoformat(), "conf": {"model": model}}
        response = self.api("POST", f"/api/v2/dags/{CREATE_DAG_ID}/dagRuns", json=body)
        check(response.ok, f"the trigger request failed: HTTP {response.status_code} {response.text[:500]}")
        run_id = str(response.json()["dag_run_id"])
        print(f"      triggered {CREATE_DAG_ID} run {run_id} with model {model!r} (create plan {prefix!r})")
        return run_id

    def wait_for_task_state(self, dag_id: str, run_id: str, task_id: str, wanted: str, timeout: float) -> None:
        """Wait until the task instance is in ``wanted``; fail at once if it ends in another state."""
        states: list[str] = []

        def reached() -> bool:
            self.processes.check_alive()
            state = self.ti_state(dag_id, run_id, task_id)
            if state and (not states or states[-1] != state):
                states.append(state)
                print(f"      {task_id}: {state}", flush=True)
            check(
                state == wanted or state not in ENDED_STATES,
                f"{task_id} ended {state} without being {wanted} ({' -> '.join(states)})",
            )
            return state == wanted

        try:
            wait_for(f"{task_id} of {run_id} to be {wanted}", reached, timeout)
        except StepFailed:
            self.print_task_log(dag_id, run_id, task_id)
            raise

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = DAG_RUN_TIMEOUT) -> str:
        """The final state of a DAG run."""
        run_path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"

        def finished() -> str | None:
            self.processes.check_alive()
            state: str | None = self.api_json(run_path).get("state")
            return state if state in ("success", "failed") else None

        return wait_for(f"DAG run {run_id} to finish", finished, timeout)

    def open_task_page(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """The task instance page (its first tab is the task log), once its header shows ``state``."""
        page = self.page
        page.goto(f"{self.base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}")
        expect(page.get_by_role("heading", name=task_id, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=MARK_AS_BUTTON)).to_be_visible()
        expect(self.state_badge(state)).to_be_visible()

    def emulator_task_log(self, job_id: str) -> list[str]:
        """The job's worker-0 log at the emulator right now (empty until the job is Running)."""
        response = requests.get(
            f"{self.emulator['url']}/_emulator/v2/training-jobs/{quote(job_id, safe='')}/logs/{LOG_TASK}", timeout=10
        )
        check(response.ok, f"the emulator has no log of job {job_id}: HTTP {response.status_code} {response.text}")
        lines: list[str] = response.json()["lines"]
        return lines

    def check_streamed_log_while_deferred(self) -> None:
        """Step 1: while ``train`` is deferred, the job's lines are in its task log (REST API and UI)."""
        self.stream_run_id = run_id = self.start_training_run(STREAM_MODEL, STREAM_TIMELINE, STREAM_LINES)
        self.wait_for_task_state(CREATE_DAG_ID, run_id, TRAIN_TASK, "deferred", DEFERRAL_TIMEOUT)
        expected = [f"[{LOG_TASK}] {text}" for _, text in STREAM_LINES]

        def streamed_while_deferred() -> list[str] | None:
            events, _ = self.task_log_events(CREATE_DAG_ID, run_id, TRAIN_TASK)
            found = [line for line in expected if any(line in event for event in events)]
            # Read after the log: lines found while the task is still deferred came while deferred.
            state = self.ti_state(CREATE_DAG_ID, run_id, TRAIN_TASK)
            check(state == "deferred", f"{TRAIN_TASK} is {state}, no longer deferred; streamed lines so far: {found}")
            return found or None

        found = wait_for(
            f"a streamed {LOG_TASK} line in the task log of the deferred {TRAIN_TASK}",
            streamed_while_deferred,
            STREAMED_LINE_TIMEOUT,
            interval=2.0,
        )
        print(f"      REST task log while deferred: {len(found)} streamed line(s), first {found[0]!r}")
        if self._page is not None:
            page = self.page
            self.open_task_page(CREATE_DAG_ID, run_id, TRAIN_TASK, "deferred")
            line = page.get_by_text(found[0]).first
            expect(line).to_be_visible()
            expect(line).to_contain_text(found[0])
            line.scroll_into_view_if_needed()
            self.screenshot("streamed-log-while-deferred")
        state = self.ti_state(CREATE_DAG_ID, run_id, TRAIN_TASK)
        check(state == "deferred", f"{TRAIN_TASK} is {state} after the log check; the lines may have come later")
        print(f"      {TRAIN_TASK} still deferred after the check")

    def check_streamed_lines_once(self) -> None:
        """Step 1, end: the run succeeds and every line of the job's log is in the task log exactly once, in order."""
        run_id = self.stream_run_id
        final = self.wait_for_run(CREATE_DAG_ID, run_id)
        if final != "success":
            self.print_failed_task_logs(CREATE_DAG_ID, run_id)
        check(final == "success", f"DAG run {run_id} of {CREATE_DAG_ID} ended {final}")
        events, trigger_logs = self.task_log_events(CREATE_DAG_ID, run_id, TRAIN_TASK)
        check(trigger_logs, "the final task log has no triggerer part (attempt=N.log.trigger.<id>.log)")
        # Counted by the line's text, so a "[worker-0] (repeated) ..." copy counts too.
        counts = {text: sum(1 for event in events if text in event) for _, text in STREAM_LINES}
        wrong = {text: count for text, count in counts.items() if count != 1}
        check(not wrong, f"streamed lines not exactly once in the final task log: {wrong}")
        positions = [next(i for i, event in enumerate(events) if text in event) for _, text in STREAM_LINES]
        check(positions == sorted(positions), f"streamed lines out of order in the task log: {positions}")
        print(f"      {len(counts)} streamed lines, each exactly once and in order, in the final task log")
        if self._page is not None:
            self.open_task_page(CREATE_DAG_ID, run_id, TRAIN_TASK, "success")
            last = self.page.get_by_text(f"[{LOG_TASK}] {STREAM_LINES[-1][1]}").first
            expect(last).to_be_visible()
            last.scroll_into_view_if_needed()
            self.screenshot("streamed-log-after-success")

    def mark_deferred_task_failed(self) -> None:
        """Step 2: "Mark as failed" on the deferred ``train`` terminates its job: the trigger's on_kill
        on 3.3+, the cancelled trigger that finds its task no longer deferred below 3.3."""
        run_id = self.start_training_run(KILL_MODEL, KILL_TIMELINE, KILL_LINES)
        self.wait_for_task_state(CREATE_DAG_ID, run_id, TRAIN_TASK, "deferred", DEFERRAL_TIMEOUT)
        ti_path = self.ti_path(CREATE_DAG_ID, run_id, TRAIN_TASK)
        job_id = str(self.api_json(f"{ti_path}/xcomEntries/{TRAINING_JOB_ID_XCOM}").get("value") or "")
        check(job_id, f"no {TRAINING_JOB_ID_XCOM} XCom on the deferred {TRAIN_TASK}")
        wait_for(f"training job {job_id} to be Running", lambda: self.emulator_task_log(job_id), STREAMED_LINE_TIMEOUT)
        check(self.ti_state(CREATE_DAG_ID, run_id, TRAIN_TASK) == "deferred", f"{TRAIN_TASK} is no longer deferred")
        print(f"      training job {job_id} is Running; {TRAIN_TASK} is deferred")

        page = self.page
        self.open_task_page(CREATE_DAG_ID, run_id, TRAIN_TASK, "deferred")
        page.get_by_role("button", name=MARK_AS_BUTTON).click()
        page.get_by_role("menuitem", name="Failed").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_role("heading", name=re.compile(r"as failed", re.IGNORECASE))).to_be_visible()
        confirm = dialog.get_by_role("button", name="Confirm")
        expect(confirm).to_be_enabled()
        self.screenshot("mark-deferred-task-failed-confirm")
        confirm.click()
        expect(dialog).to_be_hidden()
        wait_for(
            f"{TRAIN_TASK} to be failed",
            lambda: self.ti_state(CREATE_DAG_ID, run_id, TRAIN_TASK) == "failed",
            TERMINATE_TIMEOUT,
        )

        def terminated() -> dict[str, Any] | None:
            response = requests.get(f"{self.emulator['url']}/_emulator/v2/terminations", timeout=10)
            response.raise_for_status()
            entries = [entry for entry in response.json()["terminations"] if entry.get("id") == job_id]
            return entries[0] if entries else None

        started = time.monotonic()
        termination = wait_for(f"a terminate of training job {job_id} at the emulator", terminated, TERMINATE_TIMEOUT)
        seconds = time.monotonic() - started
        check(termination.get("status") == 202, f"the terminate was not accepted: {termination}")
        check(termination.get("phase_before") == "Running", f"the job was not Running when terminated: {termination}")
        print(f"      terminate of {job_id} received {seconds:.0f} s after the task was failed: {termination}")
        # The job itself stopped running: its log ends with the SIGTERM a terminate sends.
        last_line = (self.emulator_task_log(job_id) or [""])[-1]
        check("received SIGTERM" in last_line, f"job {job_id}'s log does not end with the SIGTERM: {last_line!r}")
        self.open_task_page(CREATE_DAG_ID, run_id, TRAIN_TASK, "failed")
        if airflow_minor() >= (3, 3):
            # on_kill's line is part of the task log; below 3.3 the cancelled trigger's is in the
            # triggerer's log only (the termination at the emulator above is the proof there).
            expect(page.get_by_text(f"Terminated training job {job_id}")).to_be_visible()
        self.screenshot("deferred-task-marked-failed")

    # ------------------------------------------------------------------ steps: the job-event watcher

    def metadata_rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of the metadata database (SQLite, opened read only), for what the REST API does not
        show: which triggerer runs a trigger."""
        path = HOME / "airflow.db"
        check(path.exists(), f"no metadata database at {path}")
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            return list(db.execute(query, params).fetchall())

    def watcher_trigger(self) -> tuple[int, int | None] | None:
        """The watcher's trigger row (its id and the triggerer job running it), once there is one."""
        rows = self.metadata_rows("SELECT id, triggerer_id FROM trigger WHERE classpath = ?", EVENTS_TRIGGER_CLASS)
        return (int(rows[0][0]), rows[0][1]) if len(rows) == 1 else None

    def emulator_searches(self) -> int:
        """How many ``POST /v2/{project_id}/training-jobs/search`` the emulator has answered."""
        response = requests.get(f"{self.emulator['url']}/_emulator/stats", timeout=10)
        response.raise_for_status()
        return int(response.json()["by_endpoint"]["search_training_jobs"])

    def emulator_v2_job(self, job_id: str) -> dict[str, Any]:
        """The job as ModelArts serves it to any client (``GET /v2/{project_id}/training-jobs/{id}``,
        signed with the emulator's AK/SK), not through Airflow."""
        project = self.emulator["project_id"]
        auth = AkSkAuth(emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY, project)
        url = f"{self.emulator['url']}/v2/{project}/training-jobs/{quote(job_id, safe='')}"
        response = requests.get(url, auth=auth, timeout=10)
        check(response.ok, f"GET {url}: HTTP {response.status_code} {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return body

    def asset_triggered_runs(self) -> list[dict[str, Any]]:
        runs = self.api_json(f"/api/v2/dags/{EVENTS_DAG_ID}/dagRuns?limit=100")["dag_runs"]
        return [run for run in runs if run.get("run_type") == "asset_triggered"]

    def watched_asset_events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.api_json(
            f"/api/v2/assets/events?asset_id={self.events_asset_id}&limit=100"
        )["asset_events"]
        return events

    def check_job_event_watcher(self) -> None:
        """The example's asset, its consumer, and its watcher's trigger running and searching."""
        wait_for(
            f"the DAG {EVENTS_DAG_ID} to be parsed",
            lambda: self.api("GET", f"/api/v2/dags/{EVENTS_DAG_ID}").ok,
            DAG_PARSE_TIMEOUT,
        )
        assets = self.api_json(f"/api/v2/assets?uri_pattern={quote(EVENTS_ASSET_URI, safe='')}")["assets"]
        asset = next((asset for asset in assets if asset["uri"] == EVENTS_ASSET_URI), None)
        check(asset is not None, f"no asset {EVENTS_ASSET_URI} in GET /api/v2/assets: {assets}")
        assert asset is not None  # for mypy
        # The DAGs scheduled on it: "consuming_dags" on 3.0, "scheduled_dags" later.
        consumers = [dag["dag_id"] for dag in asset.get("scheduled_dags") or asset.get("consuming_dags") or []]
        check(EVENTS_DAG_ID in consumers, f"{EVENTS_DAG_ID} does not consume {EVENTS_ASSET_URI}: {consumers}")
        self.events_asset_id = int(asset["id"])
        check(not self.watched_asset_events(), f"{EVENTS_ASSET_URI} has asset events before any nightly job")

        def running() -> tuple[int, int] | None:
            self.processes.check_alive()
            row = self.watcher_trigger()
            return (row[0], int(row[1])) if row and row[1] is not None else None

        self.events_trigger_id, self.events_triggerer_id = wait_for(
            "the asset watcher's trigger to run in the triggerer", running, STACK_TIMEOUT
        )
        searches = self.emulator_searches()
        wait_for(
            "a search of the watcher at the emulator",
            lambda: self.emulator_searches() > searches,
            2 * EVENTS_POLL_INTERVAL + 30,
            interval=0.5,
        )
        print(
            f"      asset {asset['name']} ({EVENTS_ASSET_URI}, id {self.events_asset_id}) schedules {EVENTS_DAG_ID}; "
            f"its watcher's trigger {self.events_trigger_id} runs on triggerer job {self.events_triggerer_id} "
            f"and searches the emulator every {EVENTS_POLL_INTERVAL:g} s"
        )

    def run_nightly_job(self) -> None:
        """The emulator creates a nightly-* job by itself (a job schedule: no Airflow, no client);
        wait until ModelArts reports it Completed."""
        url = f"{self.emulator['url']}/_emulator/v2/job-schedules"
        response = requests.put(f"{url}/{EVENTS_SCHEDULE}", json=EVENTS_JOB_SCHEDULE, timeout=10)
        check(response.ok, f"the emulator refused the job schedule: HTTP {response.status_code} {response.text[:300]}")
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        schedule = next(entry for entry in response.json()["schedules"] if entry["name"] == EVENTS_SCHEDULE)
        check(len(schedule["jobs"]) == 1, f"the job schedule created {len(schedule['jobs'])} jobs, not 1: {schedule}")
        job = self.events_job = schedule["jobs"][0]
        print(
            f"      the emulator created training job {job['name']} ({job['id']}) by itself "
            f"(job schedule {EVENTS_SCHEDULE!r})"
        )
        phases: list[str] = []

        def completed() -> dict[str, Any] | None:
            body = self.emulator_v2_job(job["id"])
            phase = str(body["status"]["phase"])
            if not phases or phases[-1] != phase:
                phases.append(phase)
            check(phase in ("Creating", "Pending", "Running", "Completed"), f"{job['name']} ended {phase}")
            return body if phase == "Completed" else None

        status = wait_for(f"training job {job['name']} to complete", completed, 60, interval=0.25)["status"]
        seen = time.time()
        # start_time and duration are both wall-clock ms (the emulator reports real time whatever
        # its speed, as the cloud does): their sum is when the job ended.
        self.events_job_end = (status["start_time"] + status["duration"]) / 1000
        print(
            f"      {job['name']}: {' -> '.join(phases)} at {iso_time(self.events_job_end)} "
            f"(GET /v2/.../training-jobs/{{id}} saw it {seen - self.events_job_end:.1f} s later)"
        )

    def check_asset_triggered_run(self) -> None:
        """A run of the example DAG, of type asset_triggered, created within two poll intervals."""

        def started() -> dict[str, Any] | None:
            self.processes.check_alive()
            runs = self.asset_triggered_runs()
            return runs[0] if runs else None

        run = wait_for(f"an asset-triggered run of {EVENTS_DAG_ID}", started, 2 * EVENTS_POLL_INTERVAL + 60, 0.5)
        self.events_run_id = str(run["dag_run_id"])
        events = self.watched_asset_events()
        fired = min((epoch(event["timestamp"]) for event in events), default=None)
        delay = epoch(run["queued_at"]) - self.events_job_end
        print(
            f"      run {self.events_run_id} ({run['run_type']}) queued {delay:.1f} s after the job completed"
            + (f" (asset event {fired - self.events_job_end:.1f} s after)" if fired is not None else "")
            + f"; two poll intervals: {2 * EVENTS_POLL_INTERVAL:g} s"
        )
        check(
            delay <= 2 * EVENTS_POLL_INTERVAL,
            f"the run was queued {delay:.1f} s after the job completed, more than two poll intervals",
        )

    def check_run_asset_event(self) -> None:
        """The run's triggering asset event comes from the watcher and carries the job."""
        job = self.events_job
        path = f"/api/v2/dags/{EVENTS_DAG_ID}/dagRuns/{quote(self.events_run_id, safe='')}/upstreamAssetEvents"
        events = self.api_json(path)["asset_events"]
        check(len(events) == 1, f"the run has {len(events)} triggering asset events, not 1: {events}")
        event = events[0]
        extra = event.get("extra") or {}
        payload = extra.get("payload") or {}
        check(event.get("uri") == EVENTS_ASSET_URI, f"the run's asset event is of {event.get('uri')}")
        check(extra.get("from_trigger") is True, f"the asset event does not come from a trigger: {extra}")
        check(payload.get("training_job_id") == job["id"], f"the event carries {payload}, not job {job['id']}")
        check(payload.get("name") == job["name"] and payload.get("phase") == "Completed", f"the event: {payload}")
        expected_output = f"obs://demo-bucket/models/{job['name']}/"
        outputs = payload.get("outputs")
        check(outputs == {"train_url": expected_output}, f"the event's outputs {outputs}, not {expected_output}")
        all_events = self.watched_asset_events()
        check(len(all_events) == 1, f"{EVENTS_ASSET_URI} has {len(all_events)} asset events, not 1")
        print(f"      {path.rsplit('/', 1)[-1]}: {json.dumps(extra, sort_keys=True)}")

    def restart_triggerer_fires_nothing_again(self) -> None:
        """Restart the triggerer: the watcher runs again and searches, and fires nothing for the job."""
        old = self.watcher_trigger()
        check(old is not None and old[1] is not None, f"the watcher's trigger is not running: {old}")
        assert old is not None  # for mypy
        started = time.monotonic()
        self.processes.restart("triggerer", "triggerer-restarted", [str(BIN / "airflow"), "triggerer"], self.env)

        def reassigned() -> int | None:
            self.processes.check_alive()
            row = self.watcher_trigger()
            return int(row[1]) if row and row[1] is not None and row[1] != old[1] else None

        new = wait_for("the restarted triggerer to run the watcher again", reassigned, STACK_TIMEOUT)
        moved = time.monotonic() - started
        searches, since = self.emulator_searches(), time.monotonic()

        def quiet() -> bool:
            self.processes.check_alive()
            events = self.watched_asset_events()
            check(len(events) == 1, f"the restarted watcher fired again: {len(events)} asset events")
            runs = self.asset_triggered_runs()
            check(len(runs) == 1, f"{len(runs)} asset-triggered runs after the restart")
            # Several searches (a first round may make two) over that many poll intervals.
            return (
                self.emulator_searches() - searches > RESTART_QUIET_ROUNDS
                and time.monotonic() - since >= RESTART_QUIET_ROUNDS * EVENTS_POLL_INTERVAL
            )

        wait_for("the restarted watcher to search again", quiet, 4 * RESTART_QUIET_ROUNDS * EVENTS_POLL_INTERVAL + 60)
        print(
            f"      triggerer restarted: trigger {old[0]} moved from triggerer job {old[1]} to {new} in {moved:.1f} s; "
            f"{self.emulator_searches() - searches} searches in the {time.monotonic() - since:.1f} s since: "
            f"still 1 asset event, 1 asset-triggered run"
        )

    def check_asset_triggered_run_succeeds(self) -> None:
        """The run read the job from its asset event, registered and deployed the model, tore down."""
        run_id = self.events_run_id
        final = self.wait_for_run(EVENTS_DAG_ID, run_id)
        run_path = f"/api/v2/dags/{EVENTS_DAG_ID}/dagRuns/{quote(run_id, safe='')}"
        task_states = {
            ti["task_id"]: ti["state"] for ti in self.api_json(f"{run_path}/taskInstances")["task_instances"]
        }
        print(f"      task states: {task_states}")
        if final != "success":
            self.print_failed_task_logs(EVENTS_DAG_ID, run_id)
        check(final == "success", f"DAG run {run_id} of {EVENTS_DAG_ID} ended {final}: {task_states}")
        check(set(task_states) == set(EVENTS_TASKS), f"unexpected tasks {sorted(task_states)}")

        def xcom(task_id: str, key: str) -> str:
            entry = self.api_json(f"{self.ti_path(EVENTS_DAG_ID, run_id, task_id)}/xcomEntries/{key}")
            return str(entry.get("value")).strip('"')

        job_id = xcom(EVENTS_FIRST_TASK, "training_job_id")
        check(job_id == self.events_job["id"], f"{EVENTS_FIRST_TASK} read job {job_id}, not {self.events_job['id']}")
        print(
            f"      {EVENTS_FIRST_TASK} read job {job_id}; model {xcom('register_model', 'model_id')} registered, "
            f"service {xcom('deploy_service', 'service_id')} deployed, both deleted"
        )
        if self._page is not None:
            self.show_run(EVENTS_DAG_ID, run_id, "success", EVENTS_FIRST_TASK)
            self.screenshot("asset-triggered-run")

    def publish_screenshots(self) -> None:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        for name in ("connection-form.png", "console-link.png"):
            source = ARTIFACTS / name
            check(source.exists(), f"{source} was not produced")
            shutil.copy(source, DOCS_IMAGES / name)
            print(f"      {(DOCS_IMAGES / name).relative_to(ROOT)} ({source.stat().st_size // 1024} KiB)")

    # ------------------------------------------------------------------ UI helpers

    def settle(self) -> None:
        """Let finite CSS animations (accordion, dialog, toast) end, so screenshots are not half-drawn."""
        # On timeout only the picture suffers; the assertions have their own waits.
        with contextlib.suppress(PlaywrightTimeoutError):
            self.page.wait_for_function(FINITE_ANIMATIONS_DONE, timeout=3_000)

    def state_badge(self, state: str) -> Locator:
        """A state badge showing ``state`` ("Success" from Airflow 3.3, "success" before)."""
        return self.page.get_by_text(re.compile(rf"^\s*{re.escape(state)}\s*$", re.IGNORECASE)).first

    def label(self, text: str) -> Locator:
        return self.page.get_by_role("dialog").locator("label").filter(has_text=label_pattern(text))

    def extra_input(self, field_name: str) -> Locator:
        # The UI renders each conn-field as an input named element_<field>; its <label for=...>
        # points at a different id, so get_by_label cannot find it.
        return self.page.get_by_role("dialog").locator(f"[name='element_{field_name}']")

    def open_section(self, title: str) -> None:
        """Open one section of the form's accordion (opening one closes the others)."""
        trigger = self.page.get_by_role("dialog").get_by_role("button", name=title, exact=True)
        if trigger.get_attribute("aria-expanded") != "true":
            trigger.click()
        expect(trigger).to_have_attribute("aria-expanded", "true")

    def connection_row(self, conn_id: str = CONN_ID) -> Locator:
        return self.page.get_by_role("row").filter(has=self.page.get_by_text(conn_id, exact=True))

    def toast(self, text: str) -> Locator:
        return self.page.locator("[data-scope='toast'][data-part='root']").filter(has_text=text)

    def dismiss_toasts(self) -> None:
        """Wait until earlier messages are gone, so that the next assertion can only see the new one.

        The toasts have no close button and pause while hovered; the last click (Save, bottom right of
        the dialog) leaves the pointer right where they appear, so move it away first.
        """
        self.page.mouse.move(VIEWPORT["width"] // 2, 10)
        expect(self.page.locator("[data-scope='toast'][data-part='root']")).to_have_count(0, timeout=UI_TIMEOUT_MS)

    def edit_secret_key(self, secret_key: str) -> None:
        self.connection_row().get_by_role("button", name="Edit Connection").click()
        dialog = self.page.get_by_role("dialog")
        expect(dialog.get_by_role("heading", name="Edit Connection")).to_be_visible()
        self.open_section("Standard Fields")
        dialog.locator("input[name='password']").fill(secret_key)
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()

    def press_test(self, *, success: bool, expected: str, conn_id: str = CONN_ID) -> str:
        """Press the connection's Test button and return the message of the toast it shows (the
        default connection's: after earlier toasts are gone; another's: toasts are told apart by text)."""
        if not UI_HAS_TEST_BUTTON:
            return self.test_saved_connection_by_api(success=success, expected=expected, conn_id=conn_id)
        if conn_id == CONN_ID:
            self.dismiss_toasts()
        self.connection_row(conn_id).get_by_role("button", name="Test Connection").click()
        toast = self.toast(expected)
        expect(toast).to_be_visible()
        expect(toast).to_have_attribute("data-type", "success" if success else "error")
        message = toast.inner_text()
        print(f"      toast: {' | '.join(message.splitlines())}")
        return message

    def test_saved_connection_by_api(self, *, success: bool, expected: str, conn_id: str = CONN_ID) -> str:
        """What the Test button does, for Airflow 3.0: POST the connection as the form saved it."""
        output = self.airflow_cli("connections", "get", conn_id, "--output", "json")
        start = output.find("[{")
        check(start >= 0, f"`airflow connections get {conn_id}` printed no JSON:\n{output[-2000:]}")
        saved = json.JSONDecoder().raw_decode(output, start)[0][0]
        body = {key: saved.get(key) for key in ("conn_type", "host", "login", "password", "schema", "port")}
        extra = saved.get("extra") or saved.get("extra_dejson")
        body["extra"] = extra if isinstance(extra, str) or extra is None else json.dumps(extra)
        return self.test_connection_by_api(conn_id, body, success=success, expected=expected)

    def test_connection_by_api(self, conn_id: str, body: dict[str, Any], *, success: bool, expected: str) -> str:
        """``POST /api/v2/connections/test`` (what the Test button calls) with the connection ``body``."""
        response = self.api("POST", "/api/v2/connections/test", json={**body, "connection_id": conn_id})
        check(response.ok, f"POST /api/v2/connections/test: HTTP {response.status_code} {response.text[:500]}")
        result = response.json()
        message = str(result.get("message", ""))
        print(f"      POST /api/v2/connections/test {conn_id}: {result}")
        check(result.get("status") is success, f"expected status {success}, got {result}")
        check(expected in message, f"expected {expected!r} in the message {message!r}")
        return message

    def install_test_port_workaround(self) -> None:
        """Work around an Airflow 3.3.2 UI bug in the connection list's Test button.

        The button posts ``port: Number(connection.port)``, i.e. ``0`` for a connection without a port
        (every ModelArts connection: the form hides the port), while the stored port is NULL. The API
        then answers 400 "The host or port to test differs from the stored connection" and the UI only
        shows "Bad Request". Sending ``null`` (what was stored) lets the real test run; nothing else in
        the request is touched, and the route does nothing once Airflow sends the right value.
        """

        def fix_port(route: Route) -> None:
            body = json.loads(route.request.post_data or "{}")
            if body.get("port") == 0:
                body["port"] = None
                self.port_workarounds += 1
                route.continue_(post_data=json.dumps(body))
            else:
                route.continue_()

        self.page.route("**/api/v2/connections/test", fix_port)

    # ------------------------------------------------------------------ teardown

    def close(self, failed: bool) -> None:
        if failed and self._page is not None:
            try:
                self._page.screenshot(path=str(ARTIFACTS / "failure.png"))
                print(f"Screenshot of the page at the failure: {(ARTIFACTS / 'failure.png').relative_to(ROOT)}")
            except Exception as error:  # noqa: BLE001 - the browser itself may be what failed
                print(f"(no failure screenshot: {error})")
        for closer in (self.context.close if self.context else None, self.playwright.stop if self.playwright else None):
            if closer is not None:
                try:
                    closer()
                except Exception as error:  # noqa: BLE001 - keep tearing down
                    print(f"(closing the browser: {type(error).__name__}: {error})")
        if failed:
            self.processes.print_logs()
        self.processes.stop_all()


STREAM_STEP = f"Streamed log lines visible while deferred ({CREATE_DAG_ID}.{TRAIN_TASK})"
STREAM_ONCE_STEP = "Training run succeeds; each streamed line exactly once in the final task log"
MARK_FAILED_STEP = "Mark as failed on a deferred task terminates the job"
_TEMPORARY_TYPES = ", ".join(TEMPORARY_SOURCES)
TEMPORARY_STEP = f"Test Connection of {_TEMPORARY_TYPES} connections: temporary credentials, source named"
TEMPORARY_STEP_API = (
    f"POST /api/v2/connections/test of {_TEMPORARY_TYPES} connections: temporary credentials, source named"
)


def job_event_steps(e2e: E2E) -> list[Step]:
    """The job-event watcher on a real Airflow (issue 21), the same with and without the browser."""
    two = f"{2 * EVENTS_POLL_INTERVAL:g} s"
    return [
        Step(f"Asset watcher of {EVENTS_DAG_ID} runs in the triggerer and searches", e2e.check_job_event_watcher),
        Step("A nightly-* job created at the emulator outside Airflow completes", e2e.run_nightly_job),
        Step(
            f"An asset_triggered run of {EVENTS_DAG_ID} within two poll intervals ({two})",
            e2e.check_asset_triggered_run,
        ),
        Step("The run's asset event carries the job id (from the trigger)", e2e.check_run_asset_event),
        Step("Triggerer restarted: nothing fires again for that job", e2e.restart_triggerer_fires_nothing_again),
        Step(
            "The asset-triggered run succeeds (read event, register, deploy, tear down)",
            e2e.check_asset_triggered_run_succeeds,
        ),
    ]


def headless_steps(e2e: E2E, *, job_events: bool = True) -> list[Step]:
    """The same Airflow stack and DAG run without a browser (``--headless``, one per matrix environment).

    :param job_events: run step 8 too. ``make matrix``'s headless runs leave it out
        (``--no-job-events``): its browser e2e sessions run it on the floor and the newest release,
        one on each side of the 3.3 line where the watcher's state moves to the asset state store.
    """
    return [
        Step("Throwaway AIRFLOW_HOME .e2e/ with the example DAGs, free ports", e2e.prepare_home),
        Step(
            f"`airflow providers list` shows airflow-provider-modelarts {project_version()}", e2e.check_provider_listed
        ),
        Step("ModelArts emulator started", e2e.start_emulator),
        Step(f"{CONN_ID} defined by AIRFLOW_CONN_{CONN_ID.upper()}", e2e.define_connection_in_env),
        Step("Airflow api-server, scheduler, dag-processor, triggerer healthy on 127.0.0.1", e2e.start_airflow),
        Step(TEMPORARY_STEP_API, e2e.test_temporary_connections),
        Step(f"Trigger {DAG_ID} through the REST API", e2e.trigger_dag_run_by_api),
        # The streaming run starts while the first run goes on; the waits overlap.
        Step(STREAM_STEP, e2e.check_streamed_log_while_deferred),
        Step("DAG run succeeds", e2e.wait_for_dag_run),
        Step(f"{DEFERRED_TASK} was deferred to the triggerer", e2e.check_deferral),
        Step(STREAM_ONCE_STEP, e2e.check_streamed_lines_once),
        *(job_event_steps(e2e) if job_events else []),
    ]


def steps(e2e: E2E) -> list[Step]:
    def connection_form() -> None:
        e2e.install_test_port_workaround()
        e2e.open_connection_form()

    return [
        Step("Debian Chromium at /usr/bin/chromium (apt-get install if missing)", e2e.install_chromium),
        Step("Throwaway AIRFLOW_HOME .e2e/ with the example DAGs, free ports", e2e.prepare_home),
        Step(
            f"`airflow providers list` shows airflow-provider-modelarts {project_version()}", e2e.check_provider_listed
        ),
        Step("ModelArts emulator started", e2e.start_emulator),
        Step("Airflow api-server, scheduler, dag-processor, triggerer healthy on 127.0.0.1", e2e.start_airflow),
        Step("Log in through the Airflow login form", e2e.log_in),
        Step("Admin > Connections > Add: Huawei Cloud ModelArts form fields", connection_form),
        Step(f"Fill and save {CONN_ID} (emulator endpoint, AK/SK, region, project)", e2e.fill_and_save_connection),
        Step(f"Test Connection succeeds ('{SUCCESS_MESSAGE}')", e2e.test_connection_succeeds),
        Step(f"Test Connection with a wrong SK fails ('{WRONG_SK_CODE}')", e2e.test_wrong_secret_key_fails),
        Step("Right SK restored, saved and tested again", e2e.restore_secret_key),
        Step(TEMPORARY_STEP if UI_HAS_TEST_BUTTON else TEMPORARY_STEP_API, e2e.test_temporary_connections),
        Step(f"Trigger {DAG_ID} from the UI", e2e.trigger_dag_run),
        # The lifecycle and streaming runs start while the first run goes on; the waits overlap.
        Step(f"Trigger {LIFECYCLE_DAG_ID} through the REST API", e2e.trigger_lifecycle_run),
        Step(STREAM_STEP, e2e.check_streamed_log_while_deferred),
        Step("DAG run succeeds", e2e.wait_for_dag_run),
        Step(f"{DEFERRED_TASK} was deferred to the triggerer", e2e.check_deferral),
        Step(f"'{CONSOLE_LINK_NAME}' link on the {DEFERRED_TASK} page", e2e.check_console_link),
        Step(
            f"{LIFECYCLE_DAG_ID} succeeds; 'ModelArts Model' and 'ModelArts Service' links on its task pages",
            e2e.check_inference_links,
        ),
        Step(STREAM_ONCE_STEP, e2e.check_streamed_lines_once),
        Step(MARK_FAILED_STEP, e2e.mark_deferred_task_failed),
        *job_event_steps(e2e),
        Step("Screenshots copied to docs/images/", e2e.publish_screenshots),
    ]


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--headless", action="store_true", help="no browser: connection from the environment, run from the REST API"
    )
    parser.add_argument(
        "--no-job-events",
        action="store_true",
        help="leave out step 8, the job-event watcher (make matrix's headless runs; its browser runs keep it)",
    )
    args = parser.parse_args()
    if not args.headless and sync_playwright is None:
        raise SystemExit("Playwright is missing: run `make e2e` or `pip install -e '.[e2e]'` first")
    # SIGTERM (e.g. a CI timeout) must clean up like Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    started = time.monotonic()
    e2e = E2E()
    report = StepReport()
    interrupted = False
    try:
        report.run(headless_steps(e2e, job_events=not args.no_job_events) if args.headless else steps(e2e))
    except KeyboardInterrupt:
        interrupted = True
        print("\nInterrupted: stopping everything")
    finally:
        e2e.close(failed=interrupted or not report.ok)
        if e2e.port_workarounds:
            print(
                f"\nNote: the Test button's port was sent as null instead of 0 {e2e.port_workarounds} time(s) "
                "(Airflow 3.3.2 UI bug, see E2E.install_test_port_workaround)."
            )
        report.print_summary(time.monotonic() - started)
    return 0 if report.ok and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
