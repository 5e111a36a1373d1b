"""``make demo``: run the example DAGs for both APIs against the local ModelArts emulator and show their XComs.

Starts the emulator on a free loopback port, points ``AIRFLOW_CONN_MODELARTS_DEFAULT`` at it,
runs ``airflow dags test`` for the v1 example and then the v2 example, one after the other against
the one emulator, with a throwaway AIRFLOW_HOME (SQLite), prints what every task pushed to XCom,
stops the emulator, and exits non-zero if any task failed.

``--auth`` chooses the connection's auth type: ``aksk`` (the default) or ``password`` with the
emulator's account, or one of the temporary-credential types ``metadata``, ``idp`` and
``default_chain``. These get no login, password or project_id (the hook looks the project up from
IAM); the emulator serves the metadata service and IAM federation itself and issues credentials that
expire after :data:`TEMPORARY_CREDENTIAL_SECONDS`, so the run crosses several lifetimes. By default
they run only the training example; the demo ends with the emulator's count of metadata and IAM
calls, credentials issued and requests refused for an expired credential (which must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from modelarts_emulator.process import EmulatorProcess, EmulatorStartError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = ROOT / ".airflow-demo"
BIN = Path(sys.executable).parent
EXAMPLE_DAGS = ROOT / "example_dags"
# The main job first: submit a v2 training job and stream its log; then the model lifecycle
# (train, register, deploy, smoke-invoke, batch inference, teardown), the v1 example
# (old-version jobs) and the v2 example (search and wait for jobs created elsewhere).
DEFAULT_DAGS = [
    "example_modelarts_create_training_job",
    "example_modelarts_model_lifecycle",
    "example_modelarts_training_jobs",
    "example_modelarts_v2",
]
# The auth types ``--auth`` offers; the last three obtain temporary credentials themselves.
AUTH_AKSK, AUTH_PASSWORD = "aksk", "password"
TEMPORARY_AUTH_TYPES = ("metadata", "idp", "default_chain")
AUTH_CHOICES = (AUTH_AKSK, AUTH_PASSWORD, *TEMPORARY_AUTH_TYPES)
# The temporary variants run the main example only: it runs long enough to see renewals.
TEMPORARY_DAGS = ["example_modelarts_create_training_job"]
# Lifetime (real seconds) of every temporary credential the emulator issues in those variants:
# short, so the hook renews them several times during one DAG run (it renews at half-life).
TEMPORARY_CREDENTIAL_SECONDS = 10
# The emulator's request counters (stats by_endpoint) of the metadata service and of IAM.
CREDENTIAL_ENDPOINTS = ("metadata_token", "metadata_securitykey", "iam_id_token", "iam_securitytokens", "iam_projects")
# The SDK's default-chain variables: a developer's own must not reach the demo's Airflow.
SDK_ENV_PREFIX = "HUAWEICLOUD_SDK_"
# How a streamed training-log line looks in the task log (``[worker-0] epoch 1/3 ...``).
STREAMED_LINE_MARK = "[worker-"
# The fields a one-line summary shows, v1 names first, then v2 names.
NAME_FIELDS = ("job_name", "version_name", "name")
STATUS_FIELDS = ("status_name", "phase")
SUMMARY_FIELDS = (
    # v1 jobs and versions
    "job_id", "job_name", "version_id", "version_name", "status", "status_name",
    # v2 training jobs
    "id", "name", "phase", "secondary_phase",
    "duration",
    # models and services
    "model_id", "model_name", "model_version", "model_status",
    "service_id", "service_name", "status", "access_address", "result",
)  # fmt: skip

# Emulated seconds pass three times as fast as real ones.
EMULATOR_SPEED = 3.0
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
        [("Creating", 6), ("Pending", 9), ("Running", 90), ("Completed", None)],
    ),
}
# What a job the DAG creates through the API does (an emulator create plan, matched by name
# prefix): long enough a run that its log lines reach the task log while it runs.
CREATE_PLANS = {
    "example_modelarts_create_training_job": (
        "resnet50-train",
        [("Creating", 3), ("Pending", 4), ("Running", 40), ("Completed", None)],
    ),
    # A short training run: the lifecycle's steps after it are what that demo shows.
    "example_modelarts_model_lifecycle": (
        "resnet50-lifecycle",
        [("Creating", 3), ("Pending", 3), ("Running", 12), ("Completed", None)],
    ),
}
# Emulated seconds the fresh v2 job stays Running (default: its NEW_V2_JOBS timeline's).
V2_RUNNING_SECONDS_ENV = "MODELARTS_DEMO_V2_RUNNING_SECONDS"


def start_new_version(emulator: EmulatorProcess, dag_id: str) -> int | None:
    """Give the DAG's demo job a new version that starts now; its version id, or None for other DAGs."""
    job_id, timeline = NEW_VERSIONS.get(dag_id, (None, None))
    if job_id is None or timeline is None:
        return None
    version_id = emulator.new_version(job_id, timeline)
    print(f"Started version {version_id} of demo training job {job_id}")
    return version_id


def set_create_plan(emulator: EmulatorProcess, dag_id: str) -> None:
    """Choose how the jobs the DAG creates through the API run (for DAGs that create jobs)."""
    prefix, timeline = CREATE_PLANS.get(dag_id, (None, None))
    if prefix is not None and timeline is not None:
        emulator.set_create_plan(prefix, timeline)


def start_new_v2_job(emulator: EmulatorProcess, dag_id: str) -> str | None:
    """Create the DAG's fresh v2 demo job, starting now; its id, or None for other DAGs."""
    name, timeline = NEW_V2_JOBS.get(dag_id, (None, None))
    if name is None or timeline is None:
        return None
    running = os.environ.get(V2_RUNNING_SECONDS_ENV)
    if running:  # a test on a loaded machine: Running long enough that Airflow reaches the sensor first
        timeline = [(phase, float(running) if phase == "Running" else seconds) for phase, seconds in timeline]
    job_id: str = emulator.create_training_job(name, timeline)["id"]
    print(f"Created v2 demo training job {name} ({job_id})")
    return job_id


def connection(info: dict[str, Any], auth: str, home: Path) -> dict[str, Any]:
    """The demo's ``modelarts_default``: the emulator's AK/SK or account, or a temporary-credential
    auth type with no login, password or project_id and every source pointed at the emulator."""
    from modelarts_emulator import DEFAULT_PASSWORD, DEFAULT_REGION, DEFAULT_USER_NAME, airflow_connection

    url = info["url"]
    if auth == AUTH_AKSK:
        return airflow_connection(url, project_id=info["project_id"])
    if auth == AUTH_PASSWORD:
        return airflow_connection(
            url, DEFAULT_USER_NAME, DEFAULT_PASSWORD, auth_type=auth, project_id=info["project_id"]
        )
    extra: dict[str, Any] = {"region": DEFAULT_REGION, "endpoint": url, "iam_endpoint": url, "auth_type": auth}
    if auth in ("metadata", "default_chain"):
        extra["metadata_url"] = url  # the emulator serves the ECS metadata service on its own port
    if auth == "idp":
        from modelarts_emulator import DEFAULT_IDP_ID, make_id_token

        # What a CCE projected service-account token file holds; only Airflow's processes read it.
        token_file = home / "id_token"
        token_file.write_text(make_id_token(subject="system:serviceaccount:airflow:demo"), encoding="utf-8")
        token_file.chmod(0o600)
        extra.update(idp_id=DEFAULT_IDP_ID, id_token_file=str(token_file))
    return {"conn_type": "modelarts", "extra": extra}


def airflow_env(info: dict[str, Any], home: Path, auth: str = AUTH_AKSK) -> dict[str, str]:
    # Start from the caller's environment without its Airflow settings and without the SDK's
    # credential variables (which default_chain would read first): the demo is self-contained.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and not key.startswith(SDK_ENV_PREFIX)
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_MODELARTS_DEFAULT": json.dumps(connection(info, auth, home)),
            # Not ~/.huaweicloud/credentials: default_chain must fall through to the metadata service.
            f"{SDK_ENV_PREFIX}CREDENTIALS_FILE": str(home / "no-such-huaweicloud-credentials"),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def credential_summary(stats: dict[str, Any]) -> tuple[str, bool]:
    """One line on the temporary credentials from the emulator's stats, and whether none was refused
    as expired."""
    calls = stats.get("by_endpoint", {})
    made = ", ".join(f"{name} {calls.get(name, 0)}" for name in CREDENTIAL_ENDPOINTS)
    issued = len(stats.get("secrets_seen", {}).get("temporary_secret_keys", []))
    refusals = int(stats.get("expired_credential_refusals", 0))
    line = (
        f"Temporary credentials: metadata/IAM calls {made}; {issued} temporary credential(s) issued; "
        f"expired_credential_refusals {refusals}"
    )
    return line, refusals == 0


def print_xcoms(dag_id: str, home: Path) -> bool:
    """Print each task's state and XComs; True when the DAG run succeeded."""
    db = sqlite3.connect(home / "airflow.db")
    row = db.execute(
        "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
    ).fetchone()
    if row is None:
        print(f"\n=== {dag_id}: no DAG run was recorded ===")
        return False
    run_id, run_state = row
    states = db.execute(
        "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ? ORDER BY start_date",
        (dag_id, run_id),
    ).fetchall()
    xcoms = db.execute(
        "SELECT task_id, key, value FROM xcom WHERE dag_id = ? AND run_id = ? ORDER BY task_id, key",
        (dag_id, run_id),
    ).fetchall()
    print(f"\n=== {dag_id} run {run_id}: {run_state} ===")
    for task_id, state in states:
        print(f"\n[{state.upper() if state else 'NONE'}] {task_id}")
        for _, key, raw in (row for row in xcoms if row[0] == task_id):
            value = json.loads(raw) if isinstance(raw, str) else raw
            print(f"  xcom {key}: {summarize(value)}")
    return run_state == "success"


def first_field(item: dict[str, Any], fields: tuple[str, ...]) -> Any:
    """The first of ``fields`` the row has: v1 rows and v2 rows name the same things differently."""
    return next((item[field] for field in fields if item.get(field) is not None), None)


def summarize(value: Any) -> str:
    """One readable line per XCom: a list of jobs or versions (v1) or of training jobs (v2) is shown
    by its names and statuses or phases."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        names = [f"{first_field(item, NAME_FIELDS)}={first_field(item, STATUS_FIELDS)}" for item in value[:5]]
        more = f" ... (+{len(value) - 5} more)" if len(value) > 5 else ""
        return f"{len(value)} item(s): " + ", ".join(names) + more
    if isinstance(value, dict) and len(json.dumps(value)) > 300:
        return json.dumps({key: value[key] for key in SUMMARY_FIELDS if key in value}) + " (abridged)"
    return json.dumps(value)


def run_dag_test(dag_id: str, env: dict[str, str]) -> tuple[int, list[str]]:
    """``airflow dags test``, its output shown as it comes; returns its exit code and the streamed
    training-log lines (each once: Airflow may echo a record to two handlers)."""
    process = subprocess.Popen(
        [str(BIN / "airflow"), "dags", "test", dag_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    streamed: list[str] = []
    for line in process.stdout:
        print(line, end="")
        if STREAMED_LINE_MARK in line:
            text = line[line.index(STREAMED_LINE_MARK) :].split(" [airflow_provider_modelarts.")[0].rstrip()
            if text not in streamed:
                streamed.append(text)
    return process.wait(), streamed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dag", action="append", help=f"DAG id(s) to run, in order (default: {', '.join(DEFAULT_DAGS)})"
    )
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="throwaway AIRFLOW_HOME (wiped first)")
    parser.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        default=AUTH_AKSK,
        help="the connection's auth_type (default aksk); metadata, idp and default_chain run "
        f"{', '.join(TEMPORARY_DAGS)} unless --dag says otherwise, with {TEMPORARY_CREDENTIAL_SECONDS}-second "
        "temporary credentials",
    )
    args = parser.parse_args()
    temporary = args.auth in TEMPORARY_AUTH_TYPES
    dag_ids = args.dag or (TEMPORARY_DAGS if temporary else DEFAULT_DAGS)
    home: Path = args.home.resolve()

    shutil.rmtree(home, ignore_errors=True)
    (home / "dags").mkdir(parents=True)
    for dag_file in EXAMPLE_DAGS.glob("example_*.py"):
        shutil.copy(dag_file, home / "dags" / dag_file.name)

    started = time.monotonic()
    extra_args = ["--temporary-credential-seconds", str(TEMPORARY_CREDENTIAL_SECONDS)] if temporary else []
    emulator = EmulatorProcess(speed=EMULATOR_SPEED, directory=home, extra_args=extra_args)
    try:
        info = emulator.start().info
    except EmulatorStartError as error:
        raise SystemExit(f"The ModelArts emulator did not start: {error}") from None
    print(f"ModelArts emulator at {info['url']} (project {info['project_id']}); connection auth_type {args.auth}")
    ok = True
    try:
        env = airflow_env(info, home, args.auth)
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        for dag_id in dag_ids:
            # A fresh job (v1: a new version) starting now, so the DAG's sensors really wait.
            start_new_version(emulator, dag_id)
            start_new_v2_job(emulator, dag_id)
            set_create_plan(emulator, dag_id)
            returncode, streamed = run_dag_test(dag_id, env)
            if streamed:
                print(f"\n=== {dag_id}: the training job's log, streamed into the task log ===")
                print("\n".join(streamed))
            ok = print_xcoms(dag_id, home) and returncode == 0 and ok
        if temporary:
            line, none_refused = credential_summary(emulator.stats())
            print(f"\n{line}")
            if not none_refused:
                print("FAILED: the emulator refused requests signed with an expired temporary credential")
            ok = ok and none_refused
    finally:
        emulator.close()
    print(f"\nDemo {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
