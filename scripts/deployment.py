"""``make deployment``: the create operator's promises checked in a real Airflow deployment.

Under ``airflow dags test`` every task runs in one process; here api-server, scheduler
(LocalExecutor), dag-processor and a separate triggerer run as they do in production, against the
local ModelArts emulator, with the ``modelarts_default`` connection saved in the metadata database
with ``airflow connections add`` (no ``AIRFLOW_CONN_*`` variable). The DAGs are
``scripts/deployment_dags/modelarts_deployment.py``; runs are triggered through the REST API, some
with a logical date and some with ``logical_date: null``.

The checks (one PASS/FAIL line each, with what was seen; exit code 1 if any fails):

a. a deferred training task (``deferrable=True``, ``print_log=True``) finishes in one try, with
   every line of the job's log exactly once in its task log and none marked ``(repeated)``;
b. ``kill -9`` of the task's process (``airflow worker -- <ti id>``) while its synchronous wait
   streams the log; the automatic retry reconnects to the same job (exactly one job at the
   emulator for that task instance) and the final try's log has every line;
c. ``kill -9`` with ``retries=0``, then a Clear through the REST API: at most one job is active at
   the emulator afterwards (the old one stopped before a new one was created, or reused), and the
   run ends with one result;
d. the triggerer is restarted (SIGTERM, then a new ``airflow triggerer``) while a deferred task
   streams its log: every line is in the task log, lines first printed after the restart are not
   marked ``(repeated)``, and only lines that existed before the old triggerer exited may be;
e. "Mark failed" (REST API PATCH of the task instance) on a deferred task terminates its job at the
   emulator;
f. (``--with-e2e``, as ``make matrix`` runs it) ``scripts/e2e.py --headless``'s checks after its
   setup, on this stack with two example DAGs added: one Airflow start instead of two. Below 3.1 a
   killed task is never retried by Airflow, so b reports SKIP there.

The checks run side by side (d after a, e and f, so that the restart does not disturb them); at the
end, jobs still active at the emulator that no task waits for are counted. The figures go to
``artifacts/deployment/figures-<airflow version>.json`` (``docs/reliability.md`` quotes them).
Every process started here is stopped at the end, also on failure, Ctrl-C or SIGTERM; every wait
is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version as distribution_version
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import requests
from e2e_support import ProcessGroup, Step, StepFailed, StepReport, check, free_port, wait_for
from modelarts_emulator import airflow_connection
from modelarts_emulator import config as emulator_config
from modelarts_emulator.process import emulator_command, wait_until_ready

from airflow_provider_modelarts.cloud.auth import AkSkAuth

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAGS = Path(__file__).resolve().parent / "deployment_dags"
ARTIFACTS = ROOT / "artifacts" / "deployment"
# One home per Airflow version, so two versions can run side by side from one checkout.
HOME = ARTIFACTS / f"home-{distribution_version('apache-airflow-core')}"
sys.path.insert(0, str(DAGS))
from modelarts_deployment import CHECKS  # noqa: E402 - the DAGs' job name prefixes

ADMIN_USER = "admin"
CONN_ID = "modelarts_default"
TASK = "train"
LOG_TASK = "worker-0"
ACTIVE = ("Creating", "Pending", "Running", "Terminating")
ENDED_TI = ("success", "failed", "upstream_failed", "skipped", "removed")
LINE = re.compile(r"^\[" + re.escape(LOG_TASK) + r"\] (\(repeated\) )?(.*)$")

# Bounded waits (seconds): generous for a loaded 2-core machine, short enough that nothing hangs.
CLI_TIMEOUT = 180
STACK_TIMEOUT = 240
DAG_PARSE_TIMEOUT = 180
STATE_TIMEOUT = 240
RUN_TIMEOUT = 420
TERMINATE_TIMEOUT = 90
KILL_TIMEOUT = 60
WRITE_ATTEMPTS = 5
# What scripts/e2e.py --headless runs (check f).
E2E_DAG_FILES = ("example_modelarts_training_jobs.py", "example_modelarts_create_training_job.py")
CREATE_TIME_SLACK_MS = 1000
# The official SDK's credential variables (its default chain), kept away from the stack.
SDK_ENV_PREFIX = "HUAWEICLOUD_SDK_"


def dag_of(prefix: str) -> str:
    return str(next(dag_id for dag_id, (name, _, _) in CHECKS.items() if name == prefix))


def lines(tag: str, count: int) -> list[str]:
    return [f"{tag} step {index:03d}/{count} loss={2.5 - index * 0.01:.4f}" for index in range(1, count + 1)]


# How each check's jobs run at the emulator (create plans by name prefix; emulated seconds, 3x real).
# A line is spread evenly over Running, the first one when Running begins.
PLANS: dict[str, dict[str, Any]] = {
    "dep-stream": {"running": 120, "lines": lines("stream", 40)},
    "dep-retry": {"running": 210, "lines": lines("retry", 60)},
    "dep-clear": {"running": 150, "lines": lines("clear", 30)},
    "dep-trig": {"running": 210, "lines": lines("trig", 70)},
    "dep-markf": {"running": 1800, "lines": lines("markf", 20)},
}


def airflow_version() -> str:
    return distribution_version("apache-airflow-core")


def airflow_minor() -> tuple[int, int]:
    major, minor = airflow_version().split(".")[:2]
    return int(major), int(minor)


def log_event(raw: str) -> str:
    try:
        record = json.loads(raw)
    except ValueError:
        return raw
    return str(record.get("event", raw)) if isinstance(record, dict) else raw


@dataclass
class StreamedLog:
    """The job's lines as a task log holds them: (marked repeated?, text) in order, per file."""

    files: dict[str, list[tuple[bool, str]]] = field(default_factory=dict)

    @property
    def entries(self) -> list[tuple[bool, str]]:
        return [entry for entries in self.files.values() for entry in entries]

    def count(self, text: str) -> int:
        return sum(1 for _, seen in self.entries if seen == text)

    def unmarked(self, text: str) -> int:
        return sum(1 for marked, seen in self.entries if seen == text and not marked)

    def marked(self) -> list[str]:
        return [text for marked, text in self.entries if marked]


@dataclass
class Outcome:
    letter: str
    title: str
    passed: bool = False
    detail: str = ""
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    # Why the check could not run on this Airflow (it then neither passes nor fails).
    skipped: str = ""

    @property
    def verdict(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.passed else "FAIL"


class Deployment:
    def __init__(self) -> None:
        self.processes = ProcessGroup(HOME / "process-logs")
        self.env: dict[str, str] = {}
        self.base_url = ""
        self.password = ""
        self.emulator: dict[str, Any] = {}
        self._token: str | None = None
        self._token_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._print_lock = threading.Lock()
        self.triggerer_lock = threading.Lock()
        self.triggerers = 1
        self.outcomes: list[Outcome] = []
        self.only = "abcde"
        # Jobs a task still waits for when the run ended (none expected): their ids.
        self.waited: set[str] = set()

    # ------------------------------------------------------------------ plumbing

    def say(self, letter: str, message: str) -> None:
        with self._print_lock:
            print(f"  [{letter}] {message}", flush=True)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        with self._token_lock:
            if self._token is None:
                response = requests.post(
                    f"{self.base_url}/auth/token",
                    json={"username": ADMIN_USER, "password": self.password},
                    timeout=15,
                )
                response.raise_for_status()
                self._token = str(response.json()["access_token"])
            token = self._token
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if method == "GET":
            return requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
        # The metadata database is SQLite (the only one this machine has): the writes of one process are
        # serialised, and a write that met "database is locked" (HTTP 500 "Database error") is retried.
        with self._write_lock:
            for attempt in range(WRITE_ATTEMPTS):
                response = requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
                if response.status_code < 500 or attempt == WRITE_ATTEMPTS - 1:
                    return response
                time.sleep(2)
        raise AssertionError("unreachable")

    def api_json(self, path: str) -> dict[str, Any]:
        response = self.api("GET", path)
        check(response.ok, f"GET {path}: HTTP {response.status_code} {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return body

    def airflow_cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True, timeout=CLI_TIMEOUT
        )
        check(result.returncode == 0, f"`airflow {' '.join(args[:3])} ...` failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def emu(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.emulator['url']}{path}", timeout=15, **kwargs)
        check(response.ok, f"emulator {method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def job_lines(self, job_id: str) -> list[str]:
        result: list[str] = self.emu("GET", f"/_emulator/v2/training-jobs/{quote(job_id, safe='')}/logs/{LOG_TASK}")[
            "lines"
        ]
        return result

    def jobs(self, name: str) -> list[dict[str, Any]]:
        """The emulator's jobs named ``name`` or derived from it (``name-...``), through the signed
        search API: ``{"id", "name", "phase", "create_time"}``, oldest first."""
        project = self.emulator["project_id"]
        auth = AkSkAuth(emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY, project)
        found: list[dict[str, Any]] = []
        for page in range(20):
            body = {
                "offset": page,
                "limit": 50,
                "sort_by": "create_time",
                "order": "asc",
                "filters": [{"key": "name", "operator": "like", "value": [name]}],
            }
            response = requests.post(
                f"{self.emulator['url']}/v2/{project}/training-job-searches", json=body, auth=auth, timeout=15
            )
            check(response.ok, f"job search: HTTP {response.status_code} {response.text[:300]}")
            items = response.json().get("items") or []
            for item in items:
                job_name_found = item["metadata"]["name"]
                if job_name_found == name or job_name_found.startswith(name + "-"):
                    found.append(
                        {
                            "id": item["metadata"]["id"],
                            "name": job_name_found,
                            "phase": item["status"]["phase"],
                            "create_time": item["metadata"].get("create_time"),
                        }
                    )
            if len(items) < 50:
                break
        return found

    def terminations(self, job_id: str) -> list[dict[str, Any]]:
        return [
            entry for entry in self.emu("GET", "/_emulator/v2/terminations")["terminations"] if entry["id"] == job_id
        ]

    def run_path(self, dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"

    def ti(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.api_json(f"{self.run_path(dag_id, run_id)}/taskInstances/{TASK}")

    def xcom(self, dag_id: str, run_id: str, key: str) -> Any:
        response = self.api("GET", f"{self.run_path(dag_id, run_id)}/taskInstances/{TASK}/xcomEntries/{key}")
        return response.json().get("value") if response.ok else None

    def task_dir(self, dag_id: str, run_id: str) -> Path:
        return HOME / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={TASK}"

    def streamed(self, dag_id: str, run_id: str, try_number: int) -> StreamedLog:
        """The job's lines in one try's log files (the worker's and each triggerer's), from AIRFLOW_HOME/logs."""
        log = StreamedLog()
        for path in sorted(self.task_dir(dag_id, run_id).glob(f"attempt={try_number}.log*")):
            entries: list[tuple[bool, str]] = []
            for raw in path.read_text(errors="replace").splitlines():
                match = LINE.match(log_event(raw))
                if match:
                    entries.append((bool(match[1]), match[2]))
            log.files[path.name] = entries
        return log

    def trigger(self, dag_id: str, logical_date: bool) -> str:
        body: dict[str, Any] = {"logical_date": datetime.now(timezone.utc).isoformat() if logical_date else None}
        response = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        check(response.ok, f"trigger {dag_id}: HTTP {response.status_code} {response.text[:500]}")
        run = response.json()
        check(
            (run.get("logical_date") is None) != logical_date,
            f"run {run['dag_run_id']}: logical_date {run.get('logical_date')!r}",
        )
        return str(run["dag_run_id"])

    def wait_ti(
        self,
        letter: str,
        dag_id: str,
        run_id: str,
        wanted: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = STATE_TIMEOUT,
    ) -> dict[str, Any]:
        seen: list[str] = []

        def probe() -> dict[str, Any] | None:
            ti = self.ti(dag_id, run_id)
            label = f"{ti.get('state')}#{ti.get('try_number')}"
            if not seen or seen[-1] != label:
                seen.append(label)
                self.say(letter, f"{TASK}: {ti.get('state')} (try {ti.get('try_number')})")
            if wanted(ti):
                return ti
            check(ti.get("state") not in ENDED_TI, f"{TASK} ended {ti.get('state')} instead ({' -> '.join(seen)})")
            return None

        try:
            return wait_for(f"{dag_id} {TASK} {what}", probe, timeout, interval=1.0)
        except StepFailed as error:
            raise StepFailed(f"{error}; states seen: {' -> '.join(seen)}") from None

    def wait_run(self, dag_id: str, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
        def probe() -> str | None:
            state: str | None = self.api_json(self.run_path(dag_id, run_id)).get("state")
            return state if state in ("success", "failed") else None

        return wait_for(f"run {run_id} of {dag_id} to end", probe, timeout, interval=2.0)

    def first_streamed_line(self, letter: str, dag_id: str, run_id: str, try_number: int, minimum: int = 1) -> int:
        def probe() -> int | None:
            count = len(self.streamed(dag_id, run_id, try_number).entries)
            if count >= minimum:
                return count
            state = self.ti(dag_id, run_id).get("state")
            check(state not in ENDED_TI, f"{TASK} ended {state} with {count} streamed line(s) in try {try_number}")
            return None

        count = wait_for(f"{minimum} streamed line(s) in {dag_id}'s task log", probe, STATE_TIMEOUT, interval=1.0)
        self.say(letter, f"{count} streamed line(s) in the log of try {try_number}")
        return count

    def task_process(self, ti_id: str, pid_hint: int | None) -> int:
        """The pid of the task's own process: ``airflow worker -- <ti id>`` (Task SDK's process title),
        started by this run's scheduler (same session); else the task instance's recorded pid."""
        scheduler = next(process for process in self.processes.processes if process.name == "scheduler")
        session = scheduler.popen.pid
        found: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) != session:  # fields after ")": state ppid pgrp session
                continue
            if cmdline == f"airflow worker -- {ti_id}" or cmdline.endswith(f"-- {ti_id}"):
                found.append(int(entry.name))
        if found:
            return found[0]
        check(pid_hint is not None, f"no process 'airflow worker -- {ti_id}' in the scheduler's session")
        assert pid_hint is not None
        return pid_hint

    def kill_task(self, letter: str, dag_id: str, run_id: str) -> int:
        ti = self.ti(dag_id, run_id)
        pid = wait_for(
            f"the task process of {dag_id}",
            lambda: self.task_process(str(ti.get("id")), ti.get("pid")),
            KILL_TIMEOUT,
        )
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            cmdline = file.read().replace(b"\0", b" ").decode(errors="replace").strip()
        os.kill(pid, signal.SIGKILL)
        self.say(letter, f"kill -9 {pid} ({cmdline!r})")
        return pid

    # ------------------------------------------------------------------ setup steps

    def prepare_home(self) -> None:
        shutil.rmtree(HOME, ignore_errors=True)
        (HOME / "dags").mkdir(parents=True)
        shutil.copy(DAGS / "modelarts_deployment.py", HOME / "dags" / "modelarts_deployment.py")
        if "f" in self.only:
            for name in E2E_DAG_FILES:
                shutil.copy(ROOT / "example_dags" / name, HOME / "dags" / name)
        api_port = free_port()
        self.base_url = f"http://127.0.0.1:{api_port}"
        # Without the caller's Airflow settings, and without the SDK's credential variables and
        # profile file: check f tests a default_chain connection, which must reach the emulator's
        # metadata service, not a developer's own keys.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AIRFLOW") and not key.startswith(SDK_ENV_PREFIX)
        }
        env.update(
            {
                f"{SDK_ENV_PREFIX}CREDENTIALS_FILE": str(HOME / "no-such-huaweicloud-credentials"),
                # Check f tests connections through the route the UI's Test button calls.
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW_HOME": str(HOME),
                "AIRFLOW__CORE__DAGS_FOLDER": str(HOME / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                # Four checks at once plus the example DAGs of check f (their tasks run two at a time).
                "AIRFLOW__CORE__PARALLELISM": "8",
                # One API server process: on a loaded 2-core machine uvicorn's supervisor kept killing and
                # restarting 4 workers that answered its health ping too late (Airflow 3.0.6).
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(api_port),
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            }
        )
        self.env = env
        print(f"      AIRFLOW_HOME={HOME}, Airflow {airflow_version()}, API server port {api_port}")

    def start_emulator(self) -> None:
        ready_file = HOME / "emulator.json"
        # Emulated seconds pass three times as fast as real ones (the timelines above count on it).
        process = self.processes.start("emulator", emulator_command(ready_file, speed=3))
        self.emulator = wait_until_ready(process.popen, ready_file)
        for prefix, plan in PLANS.items():
            running = plan["running"]
            body = {
                "timeline": [["Creating", 3], ["Pending", 3], ["Running", running], ["Completed", None]],
                "logs": {LOG_TASK: plan["lines"]},
            }
            self.emu("PUT", f"/_emulator/v2/create-plans/{prefix}", json=body)
        print(f"      ModelArts emulator at {self.emulator['url']}; create plans for {', '.join(PLANS)}")

    def migrate_and_save_connection(self) -> None:
        self.airflow_cli("db", "migrate")
        connection = airflow_connection(self.emulator["url"])
        self.airflow_cli("connections", "add", CONN_ID, "--conn-json", json.dumps(connection))
        output = self.airflow_cli("connections", "get", CONN_ID, "--output", "json")
        check(self.emulator["url"] in output, f"`airflow connections get {CONN_ID}` does not show the endpoint")
        print(f"      {CONN_ID} saved in the metadata database with `airflow connections add` (no AIRFLOW_CONN_*)")

    def start_airflow(self) -> None:
        for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
            self.processes.start(component, [str(BIN / "airflow"), component], self.env)

        def healthy() -> bool:
            self.processes.check_alive()
            health = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

        wait_for("api-server, scheduler, triggerer and dag-processor to report healthy", healthy, STACK_TIMEOUT)
        password_file = HOME / "simple_auth_manager_passwords.json.generated"
        passwords = wait_for("the admin password", lambda: json.loads(password_file.read_text()), STACK_TIMEOUT)
        self.password = passwords[ADMIN_USER]
        connection = self.api_json(f"/api/v2/connections/{CONN_ID}")
        check(connection.get("conn_type") == "modelarts", f"REST API shows {CONN_ID} as {connection}")
        print(f"      Airflow at {self.base_url}; REST API reads {CONN_ID} from the database")

    def wait_for_dags(self) -> None:
        def parsed() -> bool:
            return all(self.api("GET", f"/api/v2/dags/{dag_id}").ok for dag_id in CHECKS)

        wait_for(f"the DAGs {', '.join(CHECKS)} to be parsed", parsed, DAG_PARSE_TIMEOUT)
        print(f"      parsed: {', '.join(CHECKS)}")

    # ------------------------------------------------------------------ checks

    def check_deferred_stream(self, o: Outcome) -> None:
        dag_id = dag_of("dep-stream")
        run_id = self.trigger(dag_id, logical_date=True)
        self.say(o.letter, f"triggered {run_id} (with a logical date)")
        states: list[str] = []

        def ended() -> str | None:
            ti = self.ti(dag_id, run_id)
            if not states or states[-1] != ti.get("state"):
                states.append(str(ti.get("state")))
            state: str | None = self.api_json(self.run_path(dag_id, run_id)).get("state")
            return state if state in ("success", "failed") else None

        final = wait_for(f"run {run_id} to end", ended, RUN_TIMEOUT, interval=1.0)
        ti = self.ti(dag_id, run_id)
        name = "dep-stream"
        jobs = self.jobs(name)
        o.figures.update(jobs=len(jobs), expected_jobs=1, states=states, try_number=ti.get("try_number"))
        check(final == "success", f"run ended {final}; states {states}")
        check("deferred" in states, f"the task was never seen deferred: {states}")
        check(ti.get("try_number") == 1, f"finished in try {ti.get('try_number')}, not once")
        check(len(jobs) == 1, f"{len(jobs)} jobs at the emulator for {name}: {jobs}")
        self.compare_lines(o, dag_id, run_id, 1, jobs[0]["id"], allow_marked=set())
        o.detail = f"1 try, 1 job {jobs[0]['phase']}, states {' -> '.join(states)}; " + o.detail

    def compare_lines(
        self, o: Outcome, dag_id: str, run_id: str, try_number: int, job_id: str, allow_marked: set[str] | None
    ) -> StreamedLog:
        """Every line of the job once in the try's log; ``allow_marked`` (None: any) may also be marked
        repeated, no other line may be; no line twice unmarked."""
        expected = self.job_lines(job_id)
        log = self.streamed(dag_id, run_id, try_number)
        lost = [text for text in expected if log.count(text) == 0]
        doubled = [text for text in expected if log.unmarked(text) > 1]
        marked = log.marked()
        wrong_marks = [] if allow_marked is None else [text for text in marked if text not in allow_marked]
        o.figures.update(
            job_lines=len(expected),
            log_lines=len(log.entries),
            lost=len(lost),
            unmarked_duplicates=len(doubled),
            marked=len(marked),
            wrongly_marked=len(wrong_marks),
            log_files=sorted(log.files),
        )
        o.detail = (
            f"{len(expected)} job lines, {len(log.entries)} in the log of try {try_number} "
            f"({', '.join(f'{name}: {len(entries)}' for name, entries in log.files.items())}); "
            f"lost {len(lost)}, twice unmarked {len(doubled)}, marked (repeated) {len(marked)}, "
            f"wrongly marked {len(wrong_marks)}"
        )
        check(expected, f"the job {job_id} has no log at the emulator")
        check(not lost, f"{o.detail}; lost e.g. {lost[:3]}")
        check(not doubled, f"{o.detail}; twice unmarked e.g. {doubled[:3]}")
        check(not wrong_marks, f"{o.detail}; wrongly marked e.g. {wrong_marks[:3]}")
        return log

    def check_kill_retry(self, o: Outcome) -> None:
        dag_id = dag_of("dep-retry")
        run_id = self.trigger(dag_id, logical_date=False)
        self.say(o.letter, f"triggered {run_id} (logical_date null)")
        self.wait_ti(o.letter, dag_id, run_id, lambda ti: ti.get("state") == "running", "running")
        self.first_streamed_line(o.letter, dag_id, run_id, 1, minimum=3)
        name = "dep-retry"
        before = self.jobs(name)
        self.kill_task(o.letter, dag_id, run_id)
        final = self.wait_run(dag_id, run_id)
        ti = self.ti(dag_id, run_id)
        jobs = self.jobs(name)
        if airflow_minor() < (3, 1) and ti.get("try_number") == 1 and ti.get("state") == "failed":
            # Airflow 3.0's supervisor reports FAILED for a task process that died of a signal, whatever
            # the retries (its final_state has no up_for_retry; 3.1 added it): there is no retry to check.
            o.figures.update(jobs=len(jobs), expected_jobs=1, try_number=1, final=final)
            o.skipped = (
                f"Airflow {airflow_version()} fails a task killed by a signal without retrying it (retries=1); "
                f"seen: task failed in try 1, jobs {[(job['name'][-20:], job['phase']) for job in jobs]}"
            )
            return
        result = self.xcom(dag_id, run_id, "return_value")
        o.figures.update(jobs=len(jobs), expected_jobs=1, try_number=ti.get("try_number"), final=final)
        self.say(o.letter, f"run {final}, try {ti.get('try_number')}, jobs {[(j['name'], j['phase']) for j in jobs]}")
        check(len(before) == 1, f"{len(before)} jobs before the kill: {before}")
        check(
            ti.get("try_number") == 2,
            f"the task ended {ti.get('state')} in try {ti.get('try_number')}, expected a retry (try 2)",
        )
        check(final == "success", f"run ended {final} (task {ti.get('state')})")
        check(len(jobs) == 1, f"{len(jobs)} jobs at the emulator for one task instance: {jobs}")
        result_id = result.get("id") if isinstance(result, dict) else None
        check(result_id == before[0]["id"], f"the retry's result names job {result_id}, not {before[0]['id']}")
        self.compare_lines(o, dag_id, run_id, 2, jobs[0]["id"], allow_marked=None)
        o.detail = f"1 job ({jobs[0]['phase']}), retry reconnected to it; " + o.detail

    def check_kill_clear(self, o: Outcome) -> None:
        dag_id = dag_of("dep-clear")
        run_id = self.trigger(dag_id, logical_date=False)
        self.say(o.letter, f"triggered {run_id} (logical_date null)")
        self.wait_ti(o.letter, dag_id, run_id, lambda ti: ti.get("state") == "running", "running")
        self.first_streamed_line(o.letter, dag_id, run_id, 1, minimum=2)
        name = "dep-clear"
        self.kill_task(o.letter, dag_id, run_id)
        self.wait_ti(o.letter, dag_id, run_id, lambda ti: ti.get("state") in ENDED_TI, "to end after the kill")
        # The scheduler ends the run too; a Clear before that may be undone by it.
        killed_run = self.wait_run(dag_id, run_id, STATE_TIMEOUT)
        old = self.jobs(name)
        self.say(o.letter, f"after the kill: {[(j['name'], j['phase']) for j in old]}")
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": [TASK],
            "only_failed": False,
            "reset_dag_runs": True,
        }
        response = self.api("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", json=body)
        check(response.ok, f"clear: HTTP {response.status_code} {response.text[:500]}")
        cleared = [ti.get("task_id") for ti in response.json().get("task_instances", [])]
        check(cleared == [TASK], f"the clear cleared {cleared}: {response.text[:500]}")
        self.say(o.letter, f"run {killed_run} after the kill; cleared {TASK} through the REST API")
        most_active = 0
        samples: list[list[str]] = []

        def ended() -> str | None:
            nonlocal most_active
            active = [job["id"] for job in self.jobs(name) if job["phase"] in ACTIVE and job["phase"] != "Terminating"]
            most_active = max(most_active, len(active))
            if not samples or samples[-1] != active:
                samples.append(active)
            state: str | None = self.api_json(self.run_path(dag_id, run_id)).get("state")
            ti = self.ti(dag_id, run_id)
            new_try = (ti.get("try_number") or 0) >= 2
            return state if state in ("success", "failed") and ti.get("state") in ENDED_TI and new_try else None

        final = wait_for(f"cleared run {run_id} to end", ended, RUN_TIMEOUT, interval=1.0)
        jobs = self.jobs(name)
        still_active = [job for job in jobs if job["phase"] in ACTIVE]
        result = self.xcom(dag_id, run_id, "return_value")
        result_id = result.get("id") if isinstance(result, dict) else None
        # The exact order: a new job must be created after the old one was told to stop.
        overlap = []
        old_ids = {job["id"] for job in old}
        for job in jobs:
            if job["id"] in old_ids:
                continue
            for earlier in old:
                stops = [entry["time"] for entry in self.terminations(earlier["id"]) if entry["status"] == 202]
                created = job.get("create_time")
                # The emulator dates a job's create_time 200-1000 ms before the create request (the
                # service's scheduling moment), so only a create more than 1 s before the stop is
                # certainly an overlap; the 1 s samples above catch a longer one.
                certainly_before = created is not None and int(created) + CREATE_TIME_SLACK_MS < min(stops or [0])
                if earlier["phase"] in ACTIVE and (not stops or certainly_before):
                    overlap.append(
                        f"{job['name']} created at {created}, {earlier['name']} stopped at {stops or 'never'}"
                    )
        o.figures.update(
            jobs=len(jobs), most_active=most_active, active_at_end=len(still_active), overlaps=len(overlap), final=final
        )
        o.detail = (
            f"jobs {[(j['name'][-12:], j['phase']) for j in jobs]}; most active at once after the clear {most_active}; "
            f"new job created while the old one was active and not stopped: {len(overlap)} {overlap}; "
            f"run {final}, result {result_id}"
        )
        check(final == "success", f"run ended {final}; {o.detail}")
        check(most_active <= 1 and not overlap, o.detail)
        check(not still_active, f"jobs still active at the end: {still_active}; {o.detail}")
        check(result_id in {job["id"] for job in jobs if job["phase"] == "Completed"}, f"no single result: {o.detail}")

    def check_triggerer_restart(self, o: Outcome) -> None:
        dag_id = dag_of("dep-trig")
        run_id = self.trigger(dag_id, logical_date=True)
        self.say(o.letter, f"triggered {run_id} (with a logical date)")
        self.wait_ti(o.letter, dag_id, run_id, lambda ti: ti.get("state") == "deferred", "deferred")
        self.first_streamed_line(o.letter, dag_id, run_id, 1, minimum=10)
        name = "dep-trig"
        jobs = self.jobs(name)
        check(len(jobs) == 1, f"{len(jobs)} jobs: {jobs}")
        job_id = jobs[0]["id"]
        with self.triggerer_lock:
            old = next(process for process in self.processes.processes if process.name.startswith("triggerer"))
            started = time.monotonic()
            old.stop(grace=60)
            self.processes.processes.remove(old)
            existed = set(self.job_lines(job_id))
            printed_before = {text for _, text in self.streamed(dag_id, run_id, 1).entries}
            self.triggerers += 1
            self.processes.start(f"triggerer-{self.triggerers}", [str(BIN / "airflow"), "triggerer"], self.env)
        self.say(
            o.letter,
            f"old triggerer stopped (SIGTERM, {time.monotonic() - started:.0f} s), exit code {old.popen.returncode}; "
            f"{len(printed_before)} lines printed, {len(existed)} lines at the emulator; new triggerer started",
        )
        final = self.wait_run(dag_id, run_id)
        ti = self.ti(dag_id, run_id)
        check(final == "success", f"run ended {final} (try {ti.get('try_number')})")
        log = self.compare_lines(o, dag_id, run_id, 1, job_id, allow_marked=existed)
        marked = log.marked()
        really = sum(1 for text in marked if text in printed_before)
        o.figures.update(marked_printed_before=really, lines_at_restart=len(existed))
        o.detail += f"; of the marked lines {really} had been printed before the restart, all existed then"
        check(len(self.jobs(name)) == 1, f"more than one job: {self.jobs(name)}")

    def check_mark_failed(self, o: Outcome) -> None:
        dag_id = dag_of("dep-markf")
        run_id = self.trigger(dag_id, logical_date=False)
        self.say(o.letter, f"triggered {run_id} (logical_date null)")
        self.wait_ti(o.letter, dag_id, run_id, lambda ti: ti.get("state") == "deferred", "deferred")
        self.first_streamed_line(o.letter, dag_id, run_id, 1, minimum=1)
        job_id = str(self.xcom(dag_id, run_id, "training_job_id") or "")
        check(job_id, "no training_job_id XCom")
        path = f"{self.run_path(dag_id, run_id)}/taskInstances/{TASK}"
        response = self.api("PATCH", path, json={"new_state": "failed"})
        check(response.ok, f"PATCH {path}: HTTP {response.status_code} {response.text[:500]}")
        marked_at = time.monotonic()
        self.say(o.letter, f"marked failed through the REST API; job {job_id}")

        def terminated() -> dict[str, Any] | None:
            entries = self.terminations(job_id)
            return entries[0] if entries else None

        try:
            termination = wait_for(f"a terminate of {job_id}", terminated, TERMINATE_TIMEOUT, interval=2.0)
        except StepFailed:
            phase = next((job["phase"] for job in self.jobs("dep-markf") if job["id"] == job_id), "?")
            o.figures.update(terminated=False, phase_after=phase)
            raise StepFailed(
                f"no terminate of job {job_id} within {TERMINATE_TIMEOUT} s after Mark failed; the job is {phase}"
            ) from None
        o.figures.update(terminated=True, seconds=round(time.monotonic() - marked_at, 1))
        o.detail = (
            f"terminate of {job_id} ({termination.get('phase_before')}, HTTP {termination.get('status')}) "
            f"{time.monotonic() - marked_at:.0f} s after Mark failed"
        )
        check(termination.get("status") == 202, o.detail)

    def check_headless_e2e(self, o: Outcome) -> None:
        """``scripts/e2e.py --headless``'s checks after its own setup, on this stack instead of one of
        its own: the provider listed, the v1 deferrable sensor deferred to the triggerer, streamed lines
        visible while deferred and once each at the end. ``make matrix`` runs this instead of a second
        stack in the environments that run the deployment check."""
        import e2e  # scripts/e2e.py

        e2e.HOME = HOME  # its log-file readers look under AIRFLOW_HOME/logs
        runner = e2e.E2E()
        runner.processes, runner.env, runner.base_url = self.processes, self.env, self.base_url
        runner.password, runner.emulator = self.password, self.emulator
        # Through this script's REST client: one token, and writes serialised and retried (SQLite).
        runner.api = self.api  # type: ignore[method-assign]
        own_setup = (runner.prepare_home, runner.start_emulator, runner.define_connection_in_env, runner.start_airflow)
        # Without step 8 (the job-event watcher; its DAG is not deployed here): make matrix's browser
        # e2e sessions run it on the same two releases.
        steps = [step for step in e2e.headless_steps(runner, job_events=False) if step.action not in own_setup]
        report = StepReport()
        report.run(steps)
        failed = [
            f"{title}: {detail.splitlines()[0] if detail else ''}"
            for title, passed, _, detail in report.results
            if not passed
        ]
        o.detail = f"{sum(passed for _, passed, _, _ in report.results)}/{len(steps)} steps passed"
        check(report.ok, f"{o.detail}; failed: {failed}; not reached: {report.skipped}")

    # ------------------------------------------------------------------ running the checks

    def run_check(self, o: Outcome, action: Callable[[Outcome], None]) -> None:
        started = time.monotonic()
        try:
            action(o)
            o.passed = True
        except StepFailed as error:
            o.detail = str(error)
        except Exception as error:  # noqa: BLE001 - a check's own bug is a FAIL, with its traceback
            o.detail = f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
        o.seconds = time.monotonic() - started
        if o.skipped:
            o.detail = o.skipped
        with self._print_lock:
            print(f"{o.verdict}  {o.letter}. {o.title} ({o.seconds:.0f} s): {o.detail}", flush=True)

    def run_checks(self, only: str) -> None:
        specs = {
            "a": (
                "deferred training task: one try, every line once, none marked (repeated)",
                self.check_deferred_stream,
            ),
            "b": ("kill -9 of the synchronous task, automatic retry reconnects to the same job", self.check_kill_retry),
            "c": ("kill -9 (retries=0), then Clear: at most one active job, one result", self.check_kill_clear),
            "d": (
                "triggerer restarted while a deferred task streams: no line lost, no wrong (repeated)",
                self.check_triggerer_restart,
            ),
            "e": ("Mark failed on a deferred task terminates the job", self.check_mark_failed),
            "f": ("scripts/e2e.py --headless checks on this stack (example DAGs)", self.check_headless_e2e),
        }
        self.outcomes = [Outcome(letter, title) for letter, (title, _) in specs.items() if letter in only]
        by_letter = {o.letter: o for o in self.outcomes}

        def runner(letters: str) -> Callable[[], None]:
            def run() -> None:
                for letter in letters:
                    if letter in by_letter:
                        self.run_check(by_letter[letter], specs[letter][1])

            return run

        # d restarts the triggerer: after a, e and f, whose deferred tasks it would disturb.
        threads = [threading.Thread(target=runner(group), daemon=True) for group in ("b", "c", "e", "f")]
        for thread in threads:
            thread.start()
        runner("a")()
        for thread in threads[2:]:
            thread.join(timeout=RUN_TIMEOUT * 2)
        runner("d")()
        for thread in threads:
            thread.join(timeout=RUN_TIMEOUT * 3)
        for o in self.outcomes:
            if not o.seconds and not o.passed:
                o.detail = o.detail or "did not finish in time"

    def orphans(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Jobs of these checks still active once every run ended: nobody waits for them. Second, those
        of a skipped check (Airflow 3.0 does not retry a killed task, so its job runs on unwatched until
        it ends by itself): reported, but Airflow's doing, not the provider's."""
        prefixes = {CHECKS[dag_of_letter][0] for dag_of_letter in self.skipped_dags()}
        active = [job for job in self.jobs("dep") if job["phase"] in ACTIVE]
        excused = [job for job in active if any(job["name"].startswith(prefix + "-") for prefix in prefixes)]
        return [job for job in active if job not in excused], excused

    def skipped_dags(self) -> list[str]:
        dags = {"a": "dep-stream", "b": "dep-retry", "c": "dep-clear", "d": "dep-trig", "e": "dep-markf"}
        return [dag_of(dags[o.letter]) for o in self.outcomes if o.skipped]

    def write_figures(self, orphans: list[dict[str, Any]], seconds: float) -> Path:
        figures = {
            "airflow": airflow_version(),
            "python": ".".join(map(str, sys.version_info[:2])),
            "seconds": round(seconds),
            "checks": {
                o.letter: {
                    "title": o.title,
                    "verdict": o.verdict,
                    "detail": o.detail.splitlines()[0] if o.detail else "",
                    **o.figures,
                }
                for o in self.outcomes
            },
            "orphans": len(orphans),
        }
        path = ARTIFACTS / f"figures-{airflow_version()}.json"
        path.write_text(json.dumps(figures, indent=2))
        return path

    def close(self, failed: bool) -> None:
        if failed:
            self.processes.print_logs(30)
        self.processes.stop_all()


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="abcde", help="which checks to run (letters), default a-e")
    parser.add_argument(
        "--with-e2e",
        action="store_true",
        help="also run scripts/e2e.py --headless's checks on this stack (check f), as make matrix does",
    )
    args = parser.parse_args()
    expected = os.environ.get("MODELARTS_EXPECT_AIRFLOW")
    if expected and expected != airflow_version():
        raise SystemExit(f"expected Airflow {expected}, found {airflow_version()}")
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    started = time.monotonic()
    deployment = Deployment()
    deployment.only = args.only + ("f" if args.with_e2e else "")
    report = StepReport()
    interrupted = False
    ok = False
    try:
        setup = [
            Step("Throwaway AIRFLOW_HOME with the deployment DAGs, free ports", deployment.prepare_home),
            Step("ModelArts emulator started, create plans set", deployment.start_emulator),
            Step(
                f"`airflow db migrate`; {CONN_ID} saved with `airflow connections add`",
                deployment.migrate_and_save_connection,
            ),
            Step("api-server, scheduler (LocalExecutor), dag-processor, triggerer healthy", deployment.start_airflow),
            Step("Deployment DAGs parsed", deployment.wait_for_dags),
        ]
        if report.run(setup):
            print("\n=== Checks", flush=True)
            deployment.run_checks(deployment.only)
            orphans, excused = deployment.orphans()
            print(
                f"{'PASS' if not orphans else 'FAIL'}  active jobs nobody waits for at the end: "
                f"{len(orphans)} {orphans}"
                + (f" (and {len(excused)} of a skipped check, still running: {excused})" if excused else "")
            )
            path = deployment.write_figures(orphans, time.monotonic() - started)
            print(f"      figures: {path}")
            ok = not orphans and all(o.passed or o.skipped for o in deployment.outcomes)
    except KeyboardInterrupt:
        interrupted = True
        print("\nInterrupted: stopping everything")
    finally:
        # A second SIGTERM or Ctrl-C (``timeout`` signals the whole group) must not cut the teardown short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        deployment.close(failed=interrupted or not ok)
        print("\n================ deployment checks ================")
        for title, passed, seconds, detail in report.results:
            print(f"{'PASS' if passed else 'FAIL'}  setup: {title} ({seconds:.1f} s){': ' + detail if detail else ''}")
        for o in deployment.outcomes:
            print(f"{o.verdict}  {o.letter}. {o.title}")
        verdict = "PASSED" if ok and not interrupted else "FAILED"
        print(f"deployment {verdict} on Airflow {airflow_version()} in {time.monotonic() - started:.0f} s", flush=True)
    return 0 if ok and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
