"""The example DAGs run for real with ``airflow dags test`` (SQLite, in-process execution API,
inline triggerer) against an emulator process, exactly as ``make demo`` runs them."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from airflow.sdk import DAG

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAG_FILES = sorted((ROOT / "example_dags").glob("example_*.py"))
EMULATOR_URL = re.compile(r"ModelArts emulator at (http://\S+) ")
V2_JOB_CREATED = re.compile(r"Created v2 demo training job demo-v2-resnet50-train \(([0-9a-f-]{36})\)")
# Emulated seconds: longer than any wait for Airflow to reach the sensor; the test ends it sooner.
V2_RUNNING_UNTIL_ENDED = 36_000


@pytest.mark.parametrize("path", EXAMPLE_DAG_FILES, ids=[path.stem for path in EXAMPLE_DAG_FILES])
def test_every_example_dag_file_defines_its_dag_on_this_airflow(path: Path) -> None:
    """Each file imports only names this Airflow has (3.0 has no ``airflow.sdk.exceptions``
    exceptions), including the example that ``airflow dags test`` below does not run."""
    namespace = runpy.run_path(str(path))
    assert [value.dag_id for value in namespace.values() if isinstance(value, DAG)] == [path.stem]


def test_example_dags_run_to_success_and_catch_the_failed_job(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "demo.py"),
            "--home",
            str(tmp_path / "airflow"),
            "--dag",
            "example_modelarts_training_jobs",
            "--dag",
            "example_modelarts_failed_job",
        ],
        capture_output=True,
        text=True,
        timeout=480,
    )
    output = result.stdout
    assert result.returncode == 0, output[-4000:] + result.stderr[-4000:]
    assert "=== example_modelarts_training_jobs run" in output and "Demo succeeded" in output
    assert "[SUCCESS] wait_for_training_deferrable" in output and "[SUCCESS] wait_for_training_poke" in output
    assert "finished_version" in output and "JOBSTAT_COMPLETED" in output
    # The failed job is caught: the sensor fails, the reaction runs, the run as a whole succeeds.
    assert "[FAILED] wait_for_training" in output and "[SUCCESS] report_failure" in output
    # Whether the deferrable sensor still finds the job running depends on how fast Airflow
    # started on this machine; its deferral is covered by test_sensor_and_trigger.py.


def test_v2_example_dag_waits_deferred_for_a_fresh_job_and_passes_on_its_outputs(tmp_path: Path) -> None:
    """The fresh job stays Running until the sensor has deferred, however long Airflow takes to reach
    it on a loaded machine; then this test ends the Running phase through the emulator's control API,
    so the wait is as long as Airflow needs, not a guess."""
    command = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--home", str(tmp_path / "airflow"),
               "--dag", "example_modelarts_v2"]  # fmt: skip
    env = {**os.environ, "MODELARTS_DEMO_V2_RUNNING_SECONDS": str(V2_RUNNING_UNTIL_ENDED), "PYTHONUNBUFFERED": "1"}
    lines: list[str] = []
    emulator_url = job_id = None
    ended = False
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as process:
        watchdog = threading.Timer(480, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if emulator_url is None and (found := EMULATOR_URL.search(line)):
                    emulator_url = found[1]
                if job_id is None and (found := V2_JOB_CREATED.search(line)):
                    job_id = found[1]
                if not ended and "Pausing task as DEFERRED" in line and emulator_url and job_id:
                    response = requests.put(
                        f"{emulator_url}/_emulator/v2/training-jobs/{job_id}/timeline",
                        json={"timeline": [["Running", 3], ["Completed", None]]},
                        timeout=10,
                    )
                    response.raise_for_status()
                    ended = True
            returncode = process.wait(timeout=60)
        finally:
            watchdog.cancel()
    output = "".join(lines)
    assert returncode == 0, output[-8000:]
    assert "=== example_modelarts_v2 run" in output and "Demo succeeded" in output
    # demo.py created a fresh job under the searched name right before the run: the DAG picks it.
    assert job_id is not None, output[-4000:]
    assert f'xcom return_value: "{job_id}"' in output
    # The sensor deferred (the job was still Running) and the trigger's verdict resumed it.
    assert ended, output[-4000:]
    assert "[SUCCESS] wait_for_training" in output and '"phase": "Completed"' in output
    assert "[SUCCESS] use_outputs" in output and "train_url" in output
    # v2 rows are printed by their v2 field names, not as v1 rows ("None=None").
    assert re.search(r"demo-v2-resnet50-train=(Creating|Pending|Running)", output) and "None=None" not in output


def test_model_lifecycle_example_trains_registers_deploys_invokes_batches_and_tears_down(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--home", str(tmp_path / "airflow"),
         "--dag", "example_modelarts_model_lifecycle"],
        capture_output=True,
        text=True,
        timeout=480,
    )  # fmt: skip
    output = result.stdout
    assert result.returncode == 0, output[-4000:] + result.stderr[-4000:]
    assert "=== example_modelarts_model_lifecycle run" in output and "Demo succeeded" in output
    for task_id in ("train", "model_request", "register_model", "deploy_service", "smoke_test",
                    "batch_inference", "delete_service", "delete_model"):  # fmt: skip
        assert f"[SUCCESS] {task_id}\n" in output, output[-4000:]
    # Each wait deferred: the training job, the model build, the deploy and the batch run.
    assert (output + result.stderr).count("Pausing task as DEFERRED") >= 4
    # The ids flow from task to task: the registered model is deployed, invoked and deleted.
    model_id = re.search(r'xcom model_id: "([0-9a-f-]{36})"', output)
    assert model_id is not None, output[-4000:]
    assert f'"model_id": "{model_id[1]}", "deleted": true' in output
    assert '"model_status": "published"' in output and '"status": "running"' in output
    assert re.search(r'"service_id": "[0-9a-f-]{36}", "deleted": true', output)
    # delete_service waited until the service was gone: delete_model never met ModelArts.3009.
    assert "ModelArts.3009" not in output + result.stderr and "Deleted service" in output + result.stderr
    assert '"status": "finished", "dest_path": "obs://demo-bucket/batch/resnet50-lifecycle-' in output
    assert "answered: {" in output + result.stderr and '"result": {"score"' in output
