"""Example: from a trained job to a served model. Train, register the job's output as a model,
deploy it as a real-time service, smoke-test the service with one inference call, run a batch
inference with the same model, and tear the service and the model down, also after a failure.

Runs as is against the local emulator (``make demo``), where each step takes a few seconds; or
against Huawei Cloud once the ``modelarts_default`` connection holds real credentials and the
OBS paths, flavor, engine, model type and specifications below are yours.

Every wait is deferred: the task gives up its worker slot while the model builds, the service
deploys and the batch run works. No id is written down: each task takes the ids the task before
it returned (TaskFlow outputs and ``XComArg`` s). What the tasks do across tries: a retry of the
register or deploy task finds the model (same name and version) or service (same name) an
earlier try created and uses it, rather than creating a second one; the batch task waits for
the batch service an earlier try started and deletes it once it finished. The teardown tasks
run whatever happened upstream (``trigger_rule="all_done"``) and succeed when what they delete
is already gone, or was never made (their ids are pulled with Jinja, empty when missing: an
``XComArg`` of a task that pushed nothing fails the task before it starts).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.models import ModelArtsCreateModelOperator, ModelArtsDeleteModelOperator
from airflow_provider_modelarts.operators.services import (
    ModelArtsBatchInferenceOperator,
    ModelArtsDeleteServiceOperator,
    ModelArtsDeployServiceOperator,
)
from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.utils.naming import job_name_template

BUCKET = "obs://demo-bucket"
# One job per DAG run, e.g. resnet50-lifecycle-20260301t120000; the model and the services are
# named after it, so each run registers and deploys its own.
JOB_NAME = job_name_template("{{ params.model }}-lifecycle")
SPECIFICATION = "modelarts.vm.cpu.2u"

with DAG(
    dag_id="example_modelarts_model_lifecycle",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "modelarts", "inference"],
    params={"epochs": Param(3, type="integer", minimum=1), "model": Param("resnet50", type="string")},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    doc_md=__doc__,
) as dag:
    train = ModelArtsCreateTrainingJobOperator(
        task_id="train",
        job={
            "kind": "job",
            "metadata": {"name": JOB_NAME, "description": "Trained by Airflow DAG {{ dag.dag_id }}"},
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
        poll_interval=2,
        terminate_on_kill=True,
    )

    @task(multiple_outputs=False)
    def model_request(job: dict[str, Any]) -> dict[str, Any]:
        """The model's create body: the trained job's output directory is the model's source."""
        source = str(job["outputs"]["train_url"])
        print(f"Training job {job['name']} {job['phase']}: registering the model in {source}")
        return {
            "model_name": job["name"],
            "model_version": "1.0.0",
            "source_location": source,
            "model_type": "PyTorch",
            "description": f"Trained by ModelArts training job {job['id']}",
        }

    # Waits (deferred) until the model is published; returns model_id, model_name, model_version,
    # model_status and console_url. Its XCom "model_id" is pushed before the wait.
    register = ModelArtsCreateModelOperator(
        task_id="register_model", model=model_request(train.output), deferrable=True, poll_interval=2
    )

    # A real-time service of the model: created, or updated when one of that name exists. Waits
    # (deferred) until it runs; returns service_id, service_name, status, access_address, console_url.
    deploy = ModelArtsDeployServiceOperator(
        task_id="deploy_service",
        service={
            "service_name": f"{JOB_NAME}-svc",
            "infer_type": "real-time",
            "config": [
                {
                    "model_id": register.output["model_id"],
                    "specification": SPECIFICATION,
                    "instance_count": 1,
                    "weight": 100,
                }
            ],
        },
        deferrable=True,
        poll_interval=2,
        on_kill_action="delete",
    )

    @task(multiple_outputs=False)
    def smoke_test(service: dict[str, Any]) -> dict[str, Any]:
        """One inference call to the running service, with the connection's credentials."""
        hook = ModelArtsHook()
        try:
            answer = hook.invoke_service(service["service_id"], {"data": {"req_data": [{"image": "cat.jpg"}]}})
        finally:
            hook.close()
        print(f"Service {service['service_name']} at {service['access_address']} answered: {answer}")
        result = answer.get("result") if isinstance(answer, dict) else answer
        return {"service_id": service["service_id"], "result": result}

    smoke = smoke_test(deploy.output)

    # A batch run of the same model over an OBS directory; waits (deferred) until it finished,
    # deletes the batch service, and returns service_id, status, dest_path and console_url.
    batch = ModelArtsBatchInferenceOperator(
        task_id="batch_inference",
        service={
            "service_name": f"{JOB_NAME}-batch",
            "infer_type": "batch",
            "config": [
                {
                    "model_id": register.output["model_id"],
                    "specification": SPECIFICATION,
                    "instance_count": 1,
                    "src_path": f"{BUCKET}/batch/{{{{ params.model }}}}/in/",
                    "dest_path": f"{BUCKET}/batch/{JOB_NAME}/out/",
                    "req_uri": "/",
                    "mapping_type": "file",
                }
            ],
        },
        delete_on_finish=True,
        deferrable=True,
        poll_interval=2,
    )

    # Teardown, whatever happened above: the ids are the XComs pushed as soon as the service and
    # the model existed, so a failed wait still leaves them to delete.
    # The delete waits until the service is gone (wait_for_completion=True by default): a model
    # still used by a service, even one being deleted, is refused (ModelArts.3009).
    delete_service = ModelArtsDeleteServiceOperator(
        task_id="delete_service",
        service_id="{{ ti.xcom_pull(task_ids='deploy_service', key='service_id') or '' }}",
        trigger_rule="all_done",
        poll_interval=2,
    )
    delete_model = ModelArtsDeleteModelOperator(
        task_id="delete_model",
        model_id="{{ ti.xcom_pull(task_ids='register_model', key='model_id') or '' }}",
        trigger_rule="all_done",
    )

    smoke >> batch >> delete_service >> delete_model
