"""Run the example DAGs for real and look for credentials in everything they left behind.

The emulator runs as a child process with distinctive credentials (fresh random values each run).
``airflow dags test`` runs the example DAGs with a throwaway AIRFLOW_HOME (SQLite, in-process
execution API, inline triggerer) under both auth modes and through failures:

* AK/SK with temporary credentials (AK, SK and a signed security token): both example DAGs, so
  the list operators, the sensor in poke mode and in deferrable mode (the trigger) and a failed job;
* IAM password (the hook fetches and caches an IAM token): both example DAGs again;
* the model lifecycle (issue 19) under both modes: train, register, deploy, smoke-invoke, batch
  inference and teardown, each wait deferred (the model and service triggers' kwargs are stored);
* a wrong SK (the gateway refuses the signature and echoes its canonical request, security token
  included) and a wrong password (IAM refuses the login): the auth failure paths.

Then every place a secret could surface is read: the stdout and stderr of every command (``dags
test`` writes the task logs, the trigger's log lines and every traceback there), any file under
``$AIRFLOW_HOME/logs``, every XCom value, every stored trigger's kwargs (decrypted) and every other
byte of the metadata database. The secrets searched are the connection's AK, SK, security token and
password (and the wrong SK and password), plus every IAM token the emulator issued or was shown and
every request signature it received (from its stats).

Run it alone with ``python -m tests.reliability.leak_scan [workdir]`` to see the figures.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from modelarts_emulator import airflow_connection

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = ROOT / "example_dags"
BIN = Path(sys.executable).parent
TRAINING_DAG = "example_modelarts_training_jobs"
FAILED_DAG = "example_modelarts_failed_job"
LIFECYCLE_DAG = "example_modelarts_model_lifecycle"
# How the lifecycle DAG's training job runs (an emulator create plan, matched by name prefix): short.
LIFECYCLE_PLAN = ("resnet50-lifecycle", [["Creating", 1], ["Pending", 1], ["Running", 3], ["Completed", None]])
# The jobs the example DAGs look for (by name) in the emulator's seeded project.
DAG_JOBS = {TRAINING_DAG: 1, FAILED_DAG: 2}
# How each job's fresh versions end once the sensors have watched them run for a while.
FINAL_STATUS = {TRAINING_DAG: 10, FAILED_DAG: 11}
# Sensors of each DAG on that job: the main DAG has a deferrable and a poke-mode one.
SENSORS = {TRAINING_DAG: 2, FAILED_DAG: 1}
# Detail reads of each sensor's fresh version before it ends: the sensor's first check and two more
# rounds or pokes, so it really waits.
READS_BEFORE_END = (3, 3)
COMMAND_TIMEOUT = 300


@dataclass(frozen=True)
class Credentials:
    """Distinctive values for one scan: nothing else in the world contains them."""

    access_key: str
    secret_key: str
    temp_access_key: str
    temp_secret_key: str
    security_token: str
    account: str
    password: str
    wrong_secret_key: str
    wrong_password: str

    @classmethod
    def fresh(cls) -> Credentials:
        tag = secrets.token_hex(6)
        return cls(
            access_key="LEAKAK" + tag.upper() + "01",
            secret_key=f"LeakScanSecretKey-{tag}-{secrets.token_hex(8)}",
            temp_access_key="LEAKTMP" + tag.upper() + "1",
            temp_secret_key=f"LeakScanTempSecretKey-{tag}-{secrets.token_hex(8)}",
            security_token=f"LeakScanSecurityToken-{tag}-{secrets.token_hex(16)}",
            account=f"leak-scan-account-{tag}",
            password=f"LeakScan-Pa55-{tag}-{secrets.token_hex(4)}",
            wrong_secret_key=f"LeakScanWrongSK-{tag}-{secrets.token_hex(8)}",
            wrong_password=f"LeakScan-WrongPa55-{tag}",
        )

    def named_secrets(self) -> dict[str, str]:
        """The configured secrets, by name. The AK is included: nothing needs to print it either."""
        return {
            "access_key": self.temp_access_key,
            "secret_key": self.temp_secret_key,
            "security_token": self.security_token,
            "password": self.password,
            "wrong_secret_key": self.wrong_secret_key,
            "wrong_password": self.wrong_password,
        }


@dataclass(frozen=True)
class Run:
    """One ``airflow dags test``: a DAG under one connection."""

    name: str
    dag_id: str
    connection: dict[str, Any]
    expect_success: bool


@dataclass
class ScanReport:
    runs: list[dict[str, Any]] = field(default_factory=list)
    secrets_by_kind: dict[str, int] = field(default_factory=dict)
    places: dict[str, int] = field(default_factory=dict)
    bytes_scanned: int = 0
    findings: list[str] = field(default_factory=list)
    trigger_events: int = 0
    # The refused signature (APIGW.0301) and the refused password (IAM) were reported in the logs.
    auth_failures_logged: bool = False
    security_token_sent: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "secrets_by_kind": self.secrets_by_kind,
            "secrets_scanned": sum(self.secrets_by_kind.values()),
            "places": self.places,
            "bytes_scanned": self.bytes_scanned,
            "findings": self.findings,
            "trigger_events": self.trigger_events,
            "auth_failures_logged": self.auth_failures_logged,
            "security_token_sent": self.security_token_sent,
            "seconds": round(self.seconds, 1),
        }


def _connection(emulator_url: str, login: str, password: str, **extra: Any) -> dict[str, Any]:
    return airflow_connection(emulator_url, login, password, **extra)


def plan_runs(creds: Credentials, url: str) -> list[Run]:
    aksk = _connection(url, creds.temp_access_key, creds.temp_secret_key, security_token=creds.security_token)
    token = _connection(url, creds.account, creds.password, auth_type="password")
    wrong_sk = _connection(url, creds.temp_access_key, creds.wrong_secret_key, security_token=creds.security_token)
    wrong_password = _connection(url, creds.account, creds.wrong_password, auth_type="password")
    return [
        Run("aksk_temporary_credentials", TRAINING_DAG, aksk, expect_success=True),
        Run("aksk_temporary_credentials", FAILED_DAG, aksk, expect_success=True),
        Run("iam_password", TRAINING_DAG, token, expect_success=True),
        Run("iam_password", FAILED_DAG, token, expect_success=True),
        Run("aksk_wrong_secret_key", TRAINING_DAG, wrong_sk, expect_success=False),
        Run("iam_wrong_password", FAILED_DAG, wrong_password, expect_success=True),
        Run("aksk_temporary_credentials", LIFECYCLE_DAG, aksk, expect_success=True),
        Run("iam_password", LIFECYCLE_DAG, token, expect_success=True),
    ]


class Emulator:
    """The emulator child process, with the scan's credentials."""

    def __init__(self, creds: Credentials, workdir: Path) -> None:
        ready_file = workdir / "emulator.json"
        command = [
            sys.executable, "-m", "modelarts_emulator", "--port", "0", "--speed", "1",
            "--ready-file", str(ready_file), "--ak", creds.access_key, "--sk", creds.secret_key,
            "--temp-ak", creds.temp_access_key, "--temp-sk", creds.temp_secret_key,
            "--security-token", creds.security_token, "--user", creds.account, "--domain", creds.account,
            "--password", creds.password,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not ready_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        self.url: str = json.loads(ready_file.read_text())["url"]

    def set_create_plan(self, prefix: str, timeline: list[list[Any]]) -> None:
        """How the v2 jobs created through the API whose name starts with ``prefix`` run."""
        requests.put(
            f"{self.url}/_emulator/v2/create-plans/{prefix}", json={"timeline": timeline}, timeout=10
        ).raise_for_status()

    def stats(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/_emulator/stats", timeout=10)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def new_version(self, job_id: int) -> int:
        """A fresh version that runs until :meth:`end_version` ends it."""
        response = requests.post(
            f"{self.url}/_emulator/jobs/{job_id}/versions", json={"timeline": [[8, None]]}, timeout=10
        )
        response.raise_for_status()
        version_id: int = response.json()["version_id"]
        return version_id

    def end_version(self, job_id: int, version_id: int, status: int) -> None:
        url = f"{self.url}/_emulator/jobs/{job_id}/versions/{version_id}/timeline"
        requests.put(url, json={"timeline": [[status, None]]}, timeout=10).raise_for_status()

    def detail_reads(self, job_id: int, version_id: int) -> int:
        path = f"/training-jobs/{job_id}/versions/{version_id}"
        return sum(1 for entry in self.stats()["requests"] if entry["path"].rstrip("/").endswith(path))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class NoDirector:
    """For a DAG that creates its own resources (the lifecycle): nothing to direct."""

    versions: list[int] = []

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class JobDirector(threading.Thread):
    """Makes every sensor of the DAG really wait, whatever the order Airflow runs them in.

    ``airflow dags test`` runs ready tasks one at a time in no fixed order, and the second of two
    sensors would find the job already finished. So each sensor gets its own fresh version: the
    first sensor pins version 1 (the latest at its first check), which ends once it was read
    running a few times. Version 2 is started *before* version 1 ends, so that whenever the second
    sensor starts, its first check pins version 2 (the latest) and finds it running; the first
    sensor keeps its pin. (Starting version 2 only once the end of version 1 was seen raced the
    second sensor: on a loaded machine it could start first, pin the ended version 1 and succeed
    without waiting or deferring.)
    """

    def __init__(self, emulator: Emulator, dag_id: str) -> None:
        super().__init__(daemon=True)
        self.emulator = emulator
        self.job_id = DAG_JOBS[dag_id]
        self.sensors = SENSORS[dag_id]
        self.status = FINAL_STATUS[dag_id]
        self.versions = [emulator.new_version(self.job_id)]
        self.done = threading.Event()

    def _wait_for_reads(self, version_id: int, count: int) -> bool:
        while not self.done.wait(0.1):
            if self.emulator.detail_reads(self.job_id, version_id) >= count:
                return True
        return False

    def run(self) -> None:
        for sensor in range(self.sensors):
            version_id = self.versions[-1]
            if not self._wait_for_reads(version_id, READS_BEFORE_END[sensor]):
                return
            if sensor + 1 < self.sensors:
                # The next sensor's version exists before this one ends (see the class docstring).
                self.versions.append(self.emulator.new_version(self.job_id))
            self.emulator.end_version(self.job_id, version_id, self.status)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


def airflow_env(home: Path, connection: dict[str, Any]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_MODELARTS_DEFAULT": json.dumps(connection),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def latest_run(home: Path, dag_id: str) -> tuple[str | None, dict[str, str | None]]:
    """The state of the DAG's latest run and of each of its tasks."""
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,))
        run = row.fetchone()
        if run is None:
            return None, {}
        tasks = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, run[0]))
        return run[1], dict(tasks.fetchall())


def trigger_count(home: Path) -> int:
    with sqlite3.connect(home / "airflow.db") as db:
        count: int = db.execute("SELECT COUNT(*) FROM trigger").fetchone()[0]
    return count


def execute_runs(creds: Credentials, workdir: Path) -> tuple[list[dict[str, Any]], dict[str, str], Emulator]:
    """Run every planned DAG run; return their summaries, the captured outputs and the emulator."""
    home = workdir / "airflow"
    (home / "dags").mkdir(parents=True)
    for dag_file in EXAMPLE_DAGS.glob("example_*.py"):
        shutil.copy(dag_file, home / "dags" / dag_file.name)
    emulator = Emulator(creds, workdir)
    outputs: dict[str, str] = {}
    summaries: list[dict[str, Any]] = []
    try:
        runs = plan_runs(creds, emulator.url)
        migrate = subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"],
            env=airflow_env(home, runs[0].connection),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        outputs["db migrate (stdout)"], outputs["db migrate (stderr)"] = migrate.stdout, migrate.stderr
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed: {migrate.stderr[-2000:]}")
        emulator.set_create_plan(*LIFECYCLE_PLAN)
        for number, run in enumerate(runs, start=1):
            triggers_before = trigger_count(home)
            director: JobDirector | NoDirector = (
                JobDirector(emulator, run.dag_id) if run.dag_id in DAG_JOBS else NoDirector()
            )
            director.start()
            started = time.monotonic()
            try:
                result = subprocess.run(
                    [str(BIN / "airflow"), "dags", "test", run.dag_id],
                    env=airflow_env(home, run.connection),
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT,
                )
            finally:
                director.stop()
            label = f"run {number} {run.name} {run.dag_id}"
            outputs[f"{label} (stdout)"], outputs[f"{label} (stderr)"] = result.stdout, result.stderr
            output_dir = workdir / "outputs"
            output_dir.mkdir(exist_ok=True)
            (output_dir / f"{number}-{run.name}-{run.dag_id}.out").write_text(result.stdout)
            (output_dir / f"{number}-{run.name}-{run.dag_id}.err").write_text(result.stderr)
            state, tasks = latest_run(home, run.dag_id)
            summaries.append(
                {
                    "run": run.name,
                    "dag_id": run.dag_id,
                    "state": state,
                    "tasks": tasks,
                    "versions_watched": len(director.versions),
                    "triggers": trigger_count(home) - triggers_before,
                    "expected_success": run.expect_success,
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
    except BaseException:
        emulator.stop()
        raise
    return summaries, outputs, emulator


def log_files(home: Path) -> Iterator[Path]:
    for path in sorted((home / "logs").rglob("*")):
        if path.is_file():
            yield path


def xcom_values(home: Path) -> dict[str, str]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT dag_id, run_id, task_id, key, value FROM xcom").fetchall()
    return {
        f"xcom {dag_id} {run_id} {task_id} {key}": value if isinstance(value, str) else repr(value)
        for dag_id, run_id, task_id, key, value in rows
    }


def trigger_kwargs(home: Path) -> dict[str, str]:
    """Every deferred trigger's stored kwargs, decrypted if Airflow encrypted them."""
    from cryptography.fernet import Fernet

    fernet_key = next(
        line.split("=", 1)[1].strip()
        for line in (home / "airflow.cfg").read_text().splitlines()
        if line.startswith("fernet_key")
    )
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT id, kwargs FROM trigger").fetchall()
    decrypted = {}
    for trigger_id, stored in rows:
        text = stored if stored.startswith("{") else Fernet(fernet_key.encode()).decrypt(stored.encode()).decode()
        decrypted[f"trigger {trigger_id} kwargs"] = text
    return decrypted


def find_secrets(texts: dict[str, str], secrets_by_kind: dict[str, list[str]]) -> list[str]:
    """``"<kind> in <place>"`` for every secret value found in any text."""
    return [
        f"{kind} in {place}"
        for place, text in texts.items()
        for kind, values in secrets_by_kind.items()
        if any(value and value in text for value in values)
    ]


def scan(workdir: Path) -> ScanReport:
    """Run everything and scan it."""
    started = time.monotonic()
    creds = Credentials.fresh()
    summaries, outputs, emulator = execute_runs(creds, workdir)
    try:
        seen = emulator.stats()["secrets_seen"]
    finally:
        emulator.stop()
    home = workdir / "airflow"
    report = ScanReport(runs=summaries)
    secrets_by_kind: dict[str, list[str]] = {name: [value] for name, value in creds.named_secrets().items()}
    secrets_by_kind["iam_token"] = list(seen["iam_tokens"])
    secrets_by_kind["signature"] = list(seen["signatures"])
    report.secrets_by_kind = {kind: len(values) for kind, values in secrets_by_kind.items()}
    report.security_token_sent = creds.security_token in seen["security_tokens"]

    logs = {f"log file {path.relative_to(home)}": path.read_text("utf-8", errors="replace") for path in log_files(home)}
    xcoms = xcom_values(home)
    kwargs = trigger_kwargs(home)
    database = {"metadata database, every byte": (home / "airflow.db").read_bytes().decode("latin-1")}
    texts = {**outputs, **logs, **xcoms, **kwargs, **database}
    report.places = {
        "task and trigger log lines (stdout/stderr)": sum(text.count("\n") for text in outputs.values()),
        "log files": len(logs),
        "XCom values": len(xcoms),
        "trigger kwargs": len(kwargs),
        "exception tracebacks": sum(text.count("Traceback (most recent call last)") for text in outputs.values()),
    }
    report.bytes_scanned = sum(len(text) for text in texts.values())
    report.findings = find_secrets(texts, secrets_by_kind)
    report.trigger_events = sum(text.count("[DAG TEST] Trigger completed") for text in outputs.values())
    everything = "\n".join(outputs.values())
    report.auth_failures_logged = "APIGW.0301" in everything and "username or password is wrong" in everything
    report.seconds = time.monotonic() - started
    return report


def main() -> int:
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd() / "leak-scan"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    print(json.dumps(scan(workdir).as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
