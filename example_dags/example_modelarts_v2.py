"""Example for ModelArts v2 training jobs (every job created since 2023-06-30: UUID ids, phases):
search the jobs, wait in the triggerer for one of them to complete, and use its outputs.

Runs as is against the local emulator (``make demo``), whose demo job ``demo-v2-resnet50-train``
completes about a minute after the emulator starts; or against Huawei Cloud once the
``modelarts_default`` connection holds real credentials and ``JOB_NAME`` matches one of your jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, task

from airflow_provider_modelarts.operators.training_jobs_v2 import ModelArtsSearchTrainingJobsOperator
from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor

JOB_NAME = "demo-v2-resnet50-train"

with DAG(
    dag_id="example_modelarts_v2",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "modelarts", "v2"],
    doc_md=__doc__,
) as dag:
    find_job = ModelArtsSearchTrainingJobsOperator(task_id="find_job", name=JOB_NAME, order="desc", limit=10)

    list_active = ModelArtsSearchTrainingJobsOperator(
        task_id="list_active_jobs",
        phase=["Creating", "Pending", "Running"],
        fetch_all=True,
        max_results=100,
        xcom_fields=["id", "name", "phase"],
    )

    @task
    def newest_job_id(jobs: list[dict[str, Any]]) -> str:
        """A TaskFlow output can be any ModelArts argument: it is checked once resolved."""
        if not jobs:
            raise AirflowFailException(f"No v2 training job matches {JOB_NAME!r}")
        return str(jobs[0]["id"])

    training_job_id = newest_job_id(find_job.output)

    wait = ModelArtsTrainingJobPhaseSensor(
        task_id="wait_for_training",
        training_job_id=training_job_id,
        target_phases=["Completed"],
        deferrable=True,
        poke_interval=5,
        timeout=900,
        # Ride out API outages of up to 15 minutes instead of failing a long training run.
        max_outage=timedelta(minutes=15),
    )

    @task
    def use_outputs(summary: dict[str, Any]) -> dict[str, Any]:
        """What a downstream task gets: the job's summary, with its exit codes and OBS outputs."""
        print(f"Training job {summary['name']} ({summary['id']}) is {summary['phase']} after {summary['duration']} ms")
        for entry in summary["task_statuses"]:
            print(f"  task {entry['task']}: exit code {entry['exit_code']}")
        for channel, url in summary["outputs"].items():
            print(f"  output {channel}: {url}")
        return summary["outputs"]

    use_outputs(wait.output)
