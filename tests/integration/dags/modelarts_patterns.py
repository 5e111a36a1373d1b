"""DAGs written the way users write them, run by tests/integration/test_dag_patterns.py with
``dag.test()`` against the emulator: TaskFlow outputs as arguments, ``.partial().expand()``,
Jinja from params, XCom and Variables, and ``default_args``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_modelarts.operators.training_jobs import (
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor

FAST_SENSOR = {"poke_interval": 0.2, "timeout": 60}

with DAG(
    dag_id="modelarts_patterns",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"job_id": 1, "status": "FAILED"},
    # default_args reach the provider's own arguments too.
    default_args={"modelarts_retry_limit": 2, "modelarts_retry_delay": 0.01, "modelarts_retry_max_delay": 0.05},
) as patterns_dag:

    @task
    def pick_job(**context: Any) -> int:
        return int(context["params"]["job_id"])

    @task
    def pick_jobs(**context: Any) -> list[int]:
        return [int(job_id) for job_id in context["params"]["job_ids"]]

    @task
    def pick_status(**context: Any) -> str:
        return str(context["params"]["status"])

    job = pick_job()
    jobs = pick_jobs()

    # A TaskFlow output as the argument of each operator and of the sensor.
    ModelArtsListTrainingJobsOperator(task_id="list_by_status", status=pick_status(), per_page=1000)
    ModelArtsListJobVersionsOperator(task_id="versions_of_output", job_id=job)
    ModelArtsTrainingJobSensor(task_id="wait_output", job_id=job, **FAST_SENSOR)
    ModelArtsTrainingJobSensor(task_id="wait_output_deferrable", job_id=job, deferrable=True, **FAST_SENSOR)

    # .partial().expand() over a TaskFlow output.
    ModelArtsListJobVersionsOperator.partial(task_id="versions_each").expand(job_id=jobs)
    ModelArtsTrainingJobSensor.partial(task_id="wait_each", mode="reschedule", **FAST_SENSOR).expand(job_id=jobs)

    # Jinja from params and from XCom.
    ModelArtsTrainingJobSensor(task_id="wait_params", job_id="{{ params.job_id }}", **FAST_SENSOR)
    versions_from_xcom = ModelArtsListJobVersionsOperator(
        task_id="versions_from_xcom", job_id="{{ ti.xcom_pull(task_ids='pick_job') }}"
    )
    job >> versions_from_xcom


with DAG(
    dag_id="modelarts_clear_rerun",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
) as clear_rerun_dag:
    # The job comes from a Variable, so a cleared run can resolve another job_id.
    ModelArtsTrainingJobSensor(
        task_id="wait",
        job_id="{{ var.value.modelarts_job_id }}",
        modelarts_retry_delay=0.01,
        **FAST_SENSOR,
    )
