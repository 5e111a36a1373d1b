"""Example: find a ModelArts training job, list its versions, wait for it, and report.

Runs as is against the local emulator (``make demo``), or against Huawei Cloud once the
``modelarts_default`` connection holds real credentials and the job name matches one of yours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, task

from airflow_provider_modelarts.api import JobStatus
from airflow_provider_modelarts.operators.training_jobs import (
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor

JOB_NAME = "demo-resnet50-train"

with DAG(
    dag_id="example_modelarts_training_jobs",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "modelarts"],
    doc_md=__doc__,
) as dag:
    list_jobs = ModelArtsListTrainingJobsOperator(
        task_id="list_training_jobs",
        search_content=JOB_NAME,
        sort_by="create_time",
        order="desc",
        per_page=10,
    )

    list_all_running = ModelArtsListTrainingJobsOperator(
        task_id="list_running_jobs",
        status=JobStatus.RUNNING,
        fetch_all=True,
        max_results=50,
        # Only what the summary needs: keeps the XCom small however many jobs match.
        xcom_fields=["job_id", "job_name", "status_name"],
    )

    @task
    def newest_job_id(jobs: list[dict[str, Any]]) -> int:
        """A TaskFlow output can be any ModelArts argument: it is checked once resolved."""
        if not jobs:
            raise AirflowFailException(f"No training job matches {JOB_NAME!r}")
        return int(jobs[0]["job_id"])

    job_id = newest_job_id(list_jobs.output)

    list_versions = ModelArtsListJobVersionsOperator(task_id="list_job_versions", job_id=job_id)

    wait_deferred = ModelArtsTrainingJobSensor(
        task_id="wait_for_training_deferrable",
        job_id=job_id,
        target_status=JobStatus.COMPLETED,
        deferrable=True,
        poke_interval=3,
        timeout=600,
    )

    wait_poke = ModelArtsTrainingJobSensor(
        task_id="wait_for_training_poke",
        job_id=job_id,
        mode="poke",
        deferrable=False,
        poke_interval=3,
        timeout=600,
    )

    @task(multiple_outputs=False)
    def summarize(**context: Any) -> dict[str, Any]:
        """Read what the ModelArts tasks pushed to XCom and print a short report."""
        ti = context["ti"]
        jobs = ti.xcom_pull(task_ids="list_training_jobs")
        job = ti.xcom_pull(task_ids="list_job_versions", key="job")
        version = ti.xcom_pull(task_ids="wait_for_training_deferrable")
        running = ti.xcom_pull(task_ids="list_running_jobs")
        report = {
            "job": job["job_name"],
            "job_id": job["job_id"],
            "versions": job["version_count"],
            "finished_version": version["version_name"],
            "status": version["status_name"],
            "duration_ms": version["duration"],
            "jobs_matching_search": len(jobs),
            "jobs_running_now": len(running),
        }
        print("ModelArts summary:", report)
        return report

    [list_jobs, list_all_running] >> list_versions >> [wait_deferred, wait_poke] >> summarize()
