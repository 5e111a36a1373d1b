"""A task with retries and a wrong secret key fails at once: each retry would send one more bad
signature, and the gateway locks the AK after more than five in a row.

Runs a real DAG with ``airflow dags test`` (SQLite, in-process execution API) against the session
emulator over real HTTP, as users run their DAGs.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from modelarts_emulator import ModelArtsEmulator, airflow_connection
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_1_PLUS

BIN = Path(sys.executable).parent
DAG_ID = "modelarts_wrong_secret_key"
TIMEOUT = 300
AIRFLOW_3_0_MASK_SECRET_TRACE = re.compile(
    r"\[debug +\] Sending request +msg=MaskSecret\(value='Not-The-Secret-Key-0001'"
)

DAG_FILE = textwrap.dedent(
    f"""
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG

    from airflow_provider_modelarts.operators.training_jobs import ModelArtsListTrainingJobsOperator

    with DAG("{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
        ModelArtsListTrainingJobsOperator(
            task_id="list_jobs",
            modelarts_conn_id="modelarts_badsk",
            retries=6,
            retry_delay=timedelta(seconds=0),
        )
    """
)


def _airflow_env(home: Path, connection: dict[str, object]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_MODELARTS_BADSK": json.dumps(connection),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            # Airflow 3.0 renders a task's exception with rich, wrapped at the console width (80
            # columns without a terminal), which would split the messages this test looks for.
            "COLUMNS": "1000",
        }
    )
    return env


def _airflow(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=TIMEOUT, cwd=home
    )


def test_wrong_secret_key_sends_one_bad_signature_and_fails_without_task_retries(
    emu: ModelArtsEmulator, tmp_path: Path
) -> None:
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / f"{DAG_ID}.py").write_text(DAG_FILE)
    connection = airflow_connection(emu.url, emulator_config.DEFAULT_ACCESS_KEY, "Not-The-Secret-Key-0001", timeout=5)
    env = _airflow_env(home, connection)
    migrate = _airflow(home, env, "db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-3000:]

    run = _airflow(home, env, "dags", "test", DAG_ID)

    stats = emu.stats()
    # Exactly one signature reached the gateway: neither the hook nor the task retried it.
    assert stats["auth_failures"] == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert stats["requests_total"] == 1
    with sqlite3.connect(home / "airflow.db") as db:
        state, try_number, max_tries = db.execute(
            "SELECT state, try_number, max_tries FROM task_instance WHERE dag_id = ? AND task_id = 'list_jobs'",
            (DAG_ID,),
        ).fetchone()
    assert (state, try_number, max_tries) == ("failed", 1, 6)
    # The log says why, and what to check.
    output = run.stdout + run.stderr
    assert "APIGW.0301" in output and "Check the Access Key ID and Secret Access Key" in output
    lines_with_the_secret = [line for line in output.splitlines() if "Not-The-Secret-Key-0001" in line]
    if AIRFLOW_V_3_1_PLUS:
        assert lines_with_the_secret == []
    else:
        # Airflow 3.0's in-process test supervisor (dag.test(), `airflow dags test`) logs each
        # mask_secret request, value included, at DEBUG before masking it; Airflow itself sends the
        # connection's password so when it reads the connection. 3.1 masks first. Nothing else may
        # show the secret.
        assert all(AIRFLOW_3_0_MASK_SECRET_TRACE.search(line) for line in lines_with_the_secret)
