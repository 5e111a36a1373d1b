"""Example: train a model from a DAG. Submit a v2 training job, wait for it in the triggerer with
its log lines streamed into the task log, and hand its outputs to a downstream task.

Runs as is against the local emulator (``make demo``), where the job trains for about half a
minute and prints epoch lines; or against Huawei Cloud once the ``modelarts_default`` connection
holds real credentials and the OBS paths, flavor and engine below are yours.

What the task does across tries (see ``ModelArtsCreateTrainingJobOperator``): a retry reconnects to
the job an earlier try created while it runs, does not train again after it Completed, and
creates a new job (``<name>-<digest>-try<N>``) only after a failed one; a Clear trains again. Marking the
task failed or success, or a timeout, terminates the job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.utils.naming import job_name_template

BUCKET = "obs://demo-bucket"
# A job name is unique in a project: one per DAG run, e.g. resnet50-train-20260301t120000. Named
# after the run's run_after, which every run has: not {{ ts_nodash }}, which is undefined in a run
# without a logical date (`airflow dags trigger`, the REST API with "logical_date": null, assets).
JOB_NAME = job_name_template("{{ params.model }}-train")

with DAG(
    dag_id="example_modelarts_create_training_job",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "modelarts", "v2"],
    params={"epochs": Param(3, type="integer", minimum=1), "model": Param("resnet50", type="string")},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    doc_md=__doc__,
) as dag:
    train = ModelArtsCreateTrainingJobOperator(
        task_id="train",
        # The API's create body; Jinja works anywhere in it (rendered before it is checked).
        job={
            "kind": "job",
            "metadata": {
                "name": JOB_NAME,
                "description": "Trained by Airflow DAG {{ dag.dag_id }}",
            },
            "algorithm": {
                "code_dir": f"{BUCKET}/code/{{{{ params.model }}}}/",
                "boot_file": f"{BUCKET}/code/{{{{ params.model }}}}/train.py",
                "engine": {"engine_id": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64"},
                "parameters": [{"name": "epochs", "value": "{{ params.epochs }}"}],
                "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": f"{BUCKET}/datasets/imagenet-mini/"}}}],
                "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"{BUCKET}/models/{JOB_NAME}/"}}}],
            },
            "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
        },
        deferrable=True,
        poll_interval=5,
        print_log=True,
        terminate_on_kill=True,
    )

    @task
    def register_model(result: dict[str, Any]) -> str:
        """What a downstream task gets: the compact result, with the job's OBS outputs."""
        print(f"Training job {result['name']} ({result['id']}) {result['phase']} in {result['duration']} ms")
        print(f"Console: {result['console_url']}")
        model_dir = str(result["outputs"]["train_url"])
        print(f"Registering the model in {model_dir}")
        return model_dir

    register_model(train.output)
