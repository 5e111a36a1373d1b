"""DAGs whose ModelArts tasks declare ``outlets``, run by tests/integration/test_dag_assets.py
with ``dag.test()`` against the emulator: the asset events they emit carry the job's or the
model's id, phase or status and OBS URLs in ``extra``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetAlias

from airflow_provider_modelarts.operators.models import ModelArtsCreateModelOperator
from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.utils.assets import obs_asset

BUCKET = "obs://asset-bucket"
TRAINED = Asset(name="asset-trained", uri="modelarts://training/asset-train")
TRAINED_DEFERRED = Asset(name="asset-trained-deferred", uri="modelarts://training/asset-deferred")
SUBMITTED = Asset(name="asset-submitted", uri="modelarts://training/asset-submitted")
REGISTERED = Asset(name="asset-registered", uri="modelarts://models/asset-model")
# The asset named after the job's output (as OpenLineage names it), and an alias the outputs are added to.
TRAIN_OUTPUT = obs_asset(f"{BUCKET}/out/asset-train/")
OUTPUTS_ALIAS = AssetAlias("asset-train-outputs")


def training_body(name: str) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"{BUCKET}/code/",
            "boot_file": f"{BUCKET}/code/train.py",
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"{BUCKET}/out/{name}/"}}}],
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


with DAG(
    dag_id="modelarts_assets",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"poll_interval": 0.2, "modelarts_retry_delay": 0.01, "print_log": False},
) as assets_dag:
    # Waits in the worker; its events go to a declared asset and to the asset of its output (which
    # the alias then does not add again).
    train = ModelArtsCreateTrainingJobOperator(
        task_id="train", job=training_body("asset-train"), outlets=[TRAINED, TRAIN_OUTPUT, OUTPUTS_ALIAS]
    )
    # Waits in the triggerer: the extra is set when the task resumes; the alias adds its output.
    ModelArtsCreateTrainingJobOperator(
        task_id="train_deferred",
        job=training_body("asset-deferred"),
        deferrable=True,
        outlets=[TRAINED_DEFERRED, OUTPUTS_ALIAS],
    )
    # Returns once created: the phase at that moment.
    ModelArtsCreateTrainingJobOperator(
        task_id="train_no_wait", job=training_body("asset-submitted"), wait_for_completion=False, outlets=[SUBMITTED]
    )
    # No outlets: no asset event.
    ModelArtsCreateTrainingJobOperator(task_id="train_plain", job=training_body("asset-plain"))
    # The model trained above, registered from the job's output and waited for in the triggerer.
    register = ModelArtsCreateModelOperator(
        task_id="register",
        model={
            "model_name": "asset-model",
            "model_version": "1.0.0",
            "model_type": "PyTorch",
            "source_location": "{{ ti.xcom_pull(task_ids='train')['outputs']['train_url'] }}",
        },
        deferrable=True,
        outlets=[REGISTERED],
    )
    train >> register
