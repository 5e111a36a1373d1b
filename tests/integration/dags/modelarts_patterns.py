"""DAGs written the way users write them, run by tests/integration/test_dag_patterns.py with
``dag.test()`` against the emulator: TaskFlow outputs as arguments, ``.partial().expand()``,
Jinja from params, XCom and Variables, and ``default_args``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.operators.training_jobs import (
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor
from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor

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


def training_body(name: str) -> dict[str, Any]:
    """A v2 create body; the emulator's create plans (set by the tests) decide how the job runs."""
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": "obs://pattern-bucket/code/",
            "boot_file": "obs://pattern-bucket/code/train.py",
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"obs://pattern-bucket/out/{name}/"}}}],
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


with DAG(
    dag_id="modelarts_training",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"prefix": "pattern-train"},
    # default_args reach the operator's own arguments (poll_interval) as well as Airflow's.
    default_args={"poll_interval": 0.2, "modelarts_retry_delay": 0.01, "retries": 1, "retry_delay": 0},
) as training_dag:

    @task
    def job_body(**context: Any) -> dict[str, Any]:
        return training_body(f"{context['params']['prefix']}-taskflow")

    @task
    def job_bodies(**context: Any) -> list[dict[str, Any]]:
        return [training_body(f"{context['params']['prefix']}-mapped-{index}") for index in range(2)]

    # A TaskFlow output as the whole body.
    train_taskflow = ModelArtsCreateTrainingJobOperator(task_id="train_taskflow", job=job_body())
    # Jinja from params inside the body, deferred to the triggerer, with the log streamed.
    ModelArtsCreateTrainingJobOperator(
        task_id="train_jinja_deferred", job=training_body("{{ params.prefix }}-jinja"), deferrable=True
    )
    # .partial().expand() over a TaskFlow output: one job per map index.
    ModelArtsCreateTrainingJobOperator.partial(task_id="train_each", print_log=False).expand(job=job_bodies())
    # Jinja from XCom: the phase sensor waits for the job the operator created.
    wait_created = ModelArtsTrainingJobPhaseSensor(
        task_id="wait_created",
        training_job_id="{{ ti.xcom_pull(task_ids='train_taskflow', key='training_job_id') }}",
        poke_interval=0.2,
        timeout=60,
        print_log=True,
    )
    train_taskflow >> wait_created


with DAG(
    dag_id="modelarts_training_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"poll_interval": 0.2, "modelarts_retry_delay": 0.01},
) as training_retry_dag:
    # The first try's job fails; the task retry creates a new job under a derived name.
    ModelArtsCreateTrainingJobOperator(
        task_id="train", job=training_body("pattern-retry"), retries=1, retry_delay=0, print_log=False
    )


# The connection ids of the temporary-credential types; the test defines them.
TEMPORARY_CONNECTIONS = ["modelarts_pattern_metadata", "modelarts_pattern_idp", "modelarts_pattern_chain"]

with DAG(
    dag_id="modelarts_temporary_credentials",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"poll_interval": 0.5, "modelarts_retry_delay": 0.01},
) as temporary_credentials_dag:
    # One deferred training job per auth type, mapped over the connection id, each waiting for
    # longer than the credentials live; then a poke-mode sensor and a reschedule one on the first.
    trained = ModelArtsCreateTrainingJobOperator.partial(
        task_id="train_each_auth", job=training_body("pattern-creds-{{ ti.map_index }}"), deferrable=True
    ).expand(modelarts_conn_id=TEMPORARY_CONNECTIONS)
    for mode in ("poke", "reschedule"):
        trained >> ModelArtsTrainingJobPhaseSensor(
            task_id=f"wait_{mode}",
            modelarts_conn_id=TEMPORARY_CONNECTIONS[0],
            training_job_id="{{ ti.xcom_pull(task_ids='train_each_auth', key='training_job_id', map_indexes=0) }}",
            mode=mode,
            **FAST_SENSOR,
        )
