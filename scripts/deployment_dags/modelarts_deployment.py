"""The DAGs of ``scripts/deployment.py``: one ``train`` task each, one per check.

Each DAG trains a v2 job with ``ModelArtsCreateTrainingJobOperator`` against the local emulator.
The job is named ``<prefix>-<run id made safe>``: a run triggered without a logical date has no
``ts_nodash``, and a job name is 1-64 letters, digits, ``_`` or ``-``. The emulator's create plan
for ``<prefix>`` (set by the script) decides how long the job runs and which lines it prints.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator

BUCKET = "obs://deployment-bucket"
NAME_MAX = 64


def job_name_part(run_id: str) -> str:
    """A run id as a job-name fragment: letters, digits, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", run_id)


def job_name(prefix: str, run_id: str) -> str:
    return f"{prefix}-{job_name_part(run_id)}"[:NAME_MAX]


# dag id -> (job name prefix, operator arguments, task retries)
CHECKS: dict[str, tuple[str, dict[str, object], int]] = {
    # a. deferred, streams its log; must finish in one try with each line once.
    "deployment_deferred_stream": ("dep-stream", {"deferrable": True}, 0),
    # b. synchronous; killed with SIGKILL, retried once: the retry must reconnect to the same job.
    "deployment_kill_retry": ("dep-retry", {"deferrable": False}, 1),
    # c. synchronous, no retries; killed with SIGKILL, then cleared.
    "deployment_kill_clear": ("dep-clear", {"deferrable": False}, 0),
    # d. deferred while the triggerer is restarted.
    "deployment_triggerer_restart": ("dep-trig", {"deferrable": True}, 0),
    # e. deferred, marked failed: the job must be terminated.
    "deployment_mark_failed": ("dep-markf", {"deferrable": True}, 0),
}


for dag_id, (prefix, operator_args, retries) in CHECKS.items():
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["deployment-check", "modelarts"],
        user_defined_macros={"job_name": job_name},
        default_args={"retries": retries, "retry_delay": timedelta(seconds=2)},
    ) as dag:
        ModelArtsCreateTrainingJobOperator(
            task_id="train",
            job={
                "kind": "job",
                "metadata": {
                    "name": "{{ job_name('" + prefix + "', run_id) }}",
                    "description": "deployment check {{ dag.dag_id }}",
                },
                "algorithm": {
                    "code_dir": f"{BUCKET}/code/",
                    "boot_file": f"{BUCKET}/code/train.py",
                    "engine": {"engine_id": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64"},
                    "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"{BUCKET}/models/"}}}],
                },
                "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
            },
            poll_interval=2,
            print_log=True,
            terminate_on_kill=True,
            **operator_args,  # type: ignore[arg-type]
        )
    globals()[dag_id] = dag
