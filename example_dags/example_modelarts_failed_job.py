"""Example: a training job that fails is caught by the sensor, which fails at once (no task
retries are spent), and a downstream task reacts to it.

Against the emulator, ``demo-bert-finetune-broken`` ends in status 11 (JOBSTAT_FAILED).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_modelarts.operators.training_jobs import ModelArtsListTrainingJobsOperator
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor

with DAG(
    dag_id="example_modelarts_failed_job",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "modelarts"],
    doc_md=__doc__,
) as dag:
    find_job = ModelArtsListTrainingJobsOperator(task_id="find_job", search_content="demo-bert-finetune-broken")

    wait = ModelArtsTrainingJobSensor(
        task_id="wait_for_training",
        job_id="{{ ti.xcom_pull(task_ids='find_job')[0]['job_id'] }}",
        poke_interval=3,
        timeout=600,
        retries=3,  # not used: a failed training job fails the sensor at once
    )

    @task(trigger_rule="all_failed")
    def report_failure(**context: Any) -> str:
        version_id = context["ti"].xcom_pull(task_ids="wait_for_training", key="version_id")
        message = f"Training job failed (version {version_id}); alerting the team instead of training on."
        print(message)
        return message

    find_job >> wait >> report_failure()
