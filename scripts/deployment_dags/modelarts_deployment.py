"""The DAGs of ``scripts/deployment.py``: one ``train`` task each, one per check.

Each DAG trains a v2 job with ``ModelArtsCreateTrainingJobOperator`` against the local emulator.
The job is named with the provider's ``job_name_template(<prefix>)`` (the run's ``run_after``): a run
triggered without a logical date has no ``ts_nodash``. Each DAG runs once per ``scripts/deployment.py``
run, against a fresh emulator, so every job whose name starts with ``<prefix>-`` belongs to its one
task instance. The emulator's create plan for ``<prefix>`` (set by the script) decides how long the
job runs and which lines it prints.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.utils.naming import job_name_template

BUCKET = "obs://deployment-bucket"

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
        default_args={"retries": retries, "retry_delay": timedelta(seconds=2)},
    ) as dag:
        ModelArtsCreateTrainingJobOperator(
            task_id="train",
            job={
                "kind": "job",
                "metadata": {
                    "name": job_name_template(prefix),
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
