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
  included) and a wrong password (IAM refuses the login): the auth failure paths;
* temporary credentials the hook obtains itself (issue 20), the training DAG once per auth type:
  ``metadata`` (the emulator's ECS metadata service: a session token, then the agency's AK/SK and
  security token), ``idp`` (an ID token file exchanged at IAM federation for an IAM token, then for
  an AK/SK and security token) and ``default_chain`` (no environment variable, no profile file, so
  the metadata service); no login, password or project_id (looked up from IAM), and credentials that
  expire after :data:`TEMPORARY_CREDENTIAL_SECONDS`, so the hook renews them during the run.

The runs are grouped into :data:`CASES`, each with its own emulator and AIRFLOW_HOME, so that
pytest-xdist runs them side by side (one test per case).

Then every place a secret could surface is read: the stdout and stderr of every command (``dags
test`` writes the task logs, the trigger's log lines and every traceback there), any file under
``$AIRFLOW_HOME/logs``, every XCom value, every stored trigger's kwargs (decrypted) and every other
byte of the metadata database. The secrets searched are the connection's AK, SK, security token and
password (and the wrong SK and password) and the ID token in the token file, plus, from the
emulator's stats, every IAM token it issued or was shown, every request signature it received,
every security token it issued or was shown, the secret key of every temporary credential it issued,
every metadata session token it issued and every ID token presented to it.

Run it alone with ``python -m tests.reliability.leak_scan [workdir] [case ...]`` to see the figures.
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
from modelarts_emulator import DEFAULT_IDP_ID, DEFAULT_REGION, airflow_connection, make_id_token

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
# The auth types whose credentials the hook obtains itself, and what its log says about their source.
TEMPORARY_AUTH_TYPES = {
    "metadata": "temporary credentials from the instance metadata service",
    "idp": "temporary credentials from IAM federation",
    "default_chain": "temporary credentials from the instance metadata service",
}
# Lifetime (s) of every temporary credential the emulator issues in the scan: the hook renews at half
# its life, so a training run (about 20 s) renews them a few times.
TEMPORARY_CREDENTIAL_SECONDS = 10
# The SDK's default-chain variables: none may reach the scan's Airflow (default_chain must fall
# through to the metadata service, not to a developer's own keys).
SDK_ENV_PREFIX = "HUAWEICLOUD_SDK_"
# The scan's cases, each a test of its own: (run name, DAG id) pairs, run in this order against one
# emulator and one AIRFLOW_HOME. Short runs are paired so that the cases take similar times.
CASES: dict[str, tuple[tuple[str, str], ...]] = {
    "aksk_training": (("aksk_temporary_credentials", TRAINING_DAG),),
    "aksk_failed_job_and_wrong_secret_key": (
        ("aksk_temporary_credentials", FAILED_DAG),
        ("aksk_wrong_secret_key", TRAINING_DAG),
    ),
    "aksk_lifecycle": (("aksk_temporary_credentials", LIFECYCLE_DAG),),
    "iam_password_training": (("iam_password", TRAINING_DAG),),
    "iam_password_failed_job_and_wrong_password": (("iam_password", FAILED_DAG), ("iam_wrong_password", FAILED_DAG)),
    "iam_password_lifecycle": (("iam_password", LIFECYCLE_DAG),),
    **{f"{auth_type}_training": ((auth_type, TRAINING_DAG),) for auth_type in TEMPORARY_AUTH_TYPES},
}
# The emulator's request counters (stats by_endpoint) of the metadata service and IAM federation.
CREDENTIAL_ENDPOINTS = ("metadata_token", "metadata_securitykey", "iam_id_token", "iam_securitytokens", "iam_projects")


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
    id_token: str

    @classmethod
    def fresh(cls) -> Credentials:
        tag = secrets.token_hex(6)
        return cls(
            id_token=make_id_token(subject=f"system:serviceaccount:leak-scan:{tag}-{secrets.token_hex(8)}"),
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
            "id_token": self.id_token,
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
    # The gateway's refusal of a wrong signature (APIGW.0301) and IAM's of a wrong password, each logged.
    signature_refusal_logged: bool = False
    password_refusal_logged: bool = False
    security_token_sent: bool = False
    # Temporary credentials: the emulator's metadata and IAM federation calls, how many it issued
    # (distinct secret keys), and requests it refused because a credential had expired.
    credential_calls: dict[str, int] = field(default_factory=dict)
    temporary_credentials_issued: int = 0
    expired_credential_refusals: int = 0
    # Where the hook's log says its temporary credentials came from (TEMPORARY_AUTH_TYPES' texts).
    temporary_sources_logged: list[str] = field(default_factory=list)
    case: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "runs": self.runs,
            "secrets_by_kind": self.secrets_by_kind,
            "secrets_scanned": sum(self.secrets_by_kind.values()),
            "places": self.places,
            "bytes_scanned": self.bytes_scanned,
            "findings": self.findings,
            "trigger_events": self.trigger_events,
            "auth_failures_logged": self.auth_failures_logged,
            "security_token_sent": self.security_token_sent,
            "credential_calls": self.credential_calls,
            "temporary_credentials_issued": self.temporary_credentials_issued,
            "expired_credential_refusals": self.expired_credential_refusals,
            "temporary_sources_logged": self.temporary_sources_logged,
            "seconds": round(self.seconds, 1),
        }


def _connection(emulator_url: str, login: str, password: str, **extra: Any) -> dict[str, Any]:
    return airflow_connection(emulator_url, login, password, **extra)


def temporary_connection(url: str, auth_type: str, id_token_file: Path) -> dict[str, Any]:
    """A connection of a temporary-credential auth type: no login, password or project_id, every
    source (metadata service, IAM) at the emulator."""
    extra: dict[str, Any] = {"region": DEFAULT_REGION, "endpoint": url, "iam_endpoint": url, "auth_type": auth_type}
    if auth_type in ("metadata", "default_chain"):
        extra["metadata_url"] = url
    if auth_type == "idp":
        extra.update(idp_id=DEFAULT_IDP_ID, id_token_file=str(id_token_file))
    return {"conn_type": "modelarts", "extra": extra}


def plan_runs(creds: Credentials, url: str, case: str, id_token_file: Path) -> list[Run]:
    """The runs of one of :data:`CASES`."""
    connections = {
        "aksk_temporary_credentials": _connection(
            url, creds.temp_access_key, creds.temp_secret_key, security_token=creds.security_token
        ),
        "iam_password": _connection(url, creds.account, creds.password, auth_type="password"),
        "aksk_wrong_secret_key": _connection(
            url, creds.temp_access_key, creds.wrong_secret_key, security_token=creds.security_token
        ),
        "iam_wrong_password": _connection(url, creds.account, creds.wrong_password, auth_type="password"),
        **{name: temporary_connection(url, name, id_token_file) for name in TEMPORARY_AUTH_TYPES},
    }
    return [
        Run(name, dag_id, connections[name], expect_success=name != "aksk_wrong_secret_key")
        for name, dag_id in CASES[case]
    ]


class Emulator:
    """The emulator child process, with the scan's credentials."""

    def __init__(self, creds: Credentials, workdir: Path, extra_args: tuple[str, ...] = ()) -> None:
        ready_file = workdir / "emulator.json"
        command = [
            sys.executable, "-m", "modelarts_emulator", "--port", "0", "--speed", "1",
            "--ready-file", str(ready_file), "--ak", creds.access_key, "--sk", creds.secret_key,
            "--temp-ak", creds.temp_access_key, "--temp-sk", creds.temp_secret_key,
            "--security-token", creds.security_token, "--user", creds.account, "--domain", creds.account,
            "--password", creds.password, *extra_args,
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


def airflow_env(home: Path, connection: dict[str, Any] | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and not key.startswith(SDK_ENV_PREFIX)
    }
    env.update(
        {
            f"{SDK_ENV_PREFIX}CREDENTIALS_FILE": str(home / "no-such-huaweicloud-credentials"),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if connection is not None:
        env["AIRFLOW_CONN_MODELARTS_DEFAULT"] = json.dumps(connection)
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


def migrate_database(home: Path, connection: dict[str, Any] | None = None) -> dict[str, str]:
    """``airflow db migrate`` in ``home``; its outputs."""
    home.mkdir(parents=True, exist_ok=True)
    migrate = subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"],
        env=airflow_env(home, connection),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed: {migrate.stderr[-2000:]}")
    return {"db migrate (stdout)": migrate.stdout, "db migrate (stderr)": migrate.stderr}


def execute_runs(
    creds: Credentials, workdir: Path, case: str, migrated_db: Path | None = None
) -> tuple[list[dict[str, Any]], dict[str, str], Emulator]:
    """Run the case's DAG runs; return their summaries, the captured outputs and the emulator.

    ``migrated_db``: a freshly migrated metadata database to start from (a copy), instead of
    migrating one here (the tests migrate once per worker).
    """
    home = workdir / "airflow"
    (home / "dags").mkdir(parents=True)
    for dag_file in EXAMPLE_DAGS.glob("example_*.py"):
        shutil.copy(dag_file, home / "dags" / dag_file.name)
    id_token_file = workdir / "id_token"
    id_token_file.write_text(creds.id_token, encoding="utf-8")
    temporary = any(name in TEMPORARY_AUTH_TYPES for name, _ in CASES[case])
    extra_args = ("--temporary-credential-seconds", str(TEMPORARY_CREDENTIAL_SECONDS)) if temporary else ()
    emulator = Emulator(creds, workdir, extra_args)
    outputs: dict[str, str] = {}
    summaries: list[dict[str, Any]] = []
    try:
        runs = plan_runs(creds, emulator.url, case, id_token_file)
        if migrated_db is not None:
            shutil.copy(migrated_db, home / "airflow.db")
        else:
            outputs.update(migrate_database(home, runs[0].connection))
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


def scan(workdir: Path, case: str, migrated_db: Path | None = None) -> ScanReport:
    """Run one of :data:`CASES` and scan what it left."""
    started = time.monotonic()
    creds = Credentials.fresh()
    summaries, outputs, emulator = execute_runs(creds, workdir, case, migrated_db)
    try:
        stats = emulator.stats()
    finally:
        emulator.stop()
    seen = stats["secrets_seen"]
    home = workdir / "airflow"
    report = ScanReport(runs=summaries, case=case)
    secrets_by_kind: dict[str, list[str]] = {name: [value] for name, value in creds.named_secrets().items()}
    secrets_by_kind["iam_token"] = list(seen["iam_tokens"])
    secrets_by_kind["signature"] = list(seen["signatures"])
    # Temporary credentials (issue 20): what the emulator issued or was shown.
    secrets_by_kind["security_token_seen"] = list(seen["security_tokens"])
    secrets_by_kind["temporary_secret_key"] = list(seen["temporary_secret_keys"])
    secrets_by_kind["metadata_session_token"] = list(seen["metadata_session_tokens"])
    secrets_by_kind["id_token_seen"] = list(seen["id_tokens"])
    report.secrets_by_kind = {kind: len(values) for kind, values in secrets_by_kind.items()}
    report.security_token_sent = creds.security_token in seen["security_tokens"]
    report.credential_calls = {name: int(stats["by_endpoint"].get(name, 0)) for name in CREDENTIAL_ENDPOINTS}
    report.temporary_credentials_issued = len(seen["temporary_secret_keys"])
    report.expired_credential_refusals = int(stats["expired_credential_refusals"])

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
    report.signature_refusal_logged = "APIGW.0301" in everything
    report.password_refusal_logged = "username or password is wrong" in everything
    report.auth_failures_logged = report.signature_refusal_logged and report.password_refusal_logged
    report.temporary_sources_logged = sorted({text for text in TEMPORARY_AUTH_TYPES.values() if text in everything})
    report.seconds = time.monotonic() - started
    return report


def main() -> int:
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd() / "leak-scan"
    cases = sys.argv[2:] or list(CASES)
    shutil.rmtree(workdir, ignore_errors=True)
    for case in cases:
        (workdir / case).mkdir(parents=True)
        print(json.dumps(scan(workdir / case, case).as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
