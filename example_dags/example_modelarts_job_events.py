"""Example: when a nightly training job completes, wherever it was started (the ModelArts console,
a notebook, a colleague's script), register its output as a model and deploy it.

Nothing in Airflow starts the training. The asset ``modelarts_nightly_training`` has a watcher:
``ModelArtsTrainingJobEventTrigger`` runs in the triggerer, searches the connection's v2 training
jobs every ``poll_interval`` seconds (one search shared by every watcher of the connection), and
fires one event per job whose name contains ``nightly-`` and that reaches ``Completed``. Each
event becomes an asset event, and the DAG below, scheduled on the asset, runs. Its first task
reads the job from ``triggering_asset_events``: the event's ``extra["payload"]`` holds the job id,
name, phase, end time, output OBS URLs and console URL. See docs/event-triggers.md for when a job
fires (once; a job that ended before the watcher first looked does not) on each Airflow minor.

If several nightly jobs complete before the scheduler creates the run, the run usually gets all
their events; this example registers the newest one and lists the others in the task log. (An
event stored while the scheduler creates the run may be linked to no run on SQLite or MySQL: see
"Several events in one round" in docs/event-triggers.md.)

The model is registered (deferred wait until it is published), deployed as a real-time service
(deferred wait until it runs), and, as this is a demo, both are torn down at the end, also after a
failure, as in example_modelarts_model_lifecycle.py. Runs as is against the local emulator (e.g. a
job schedule named ``nightly``, see emulator/README.md); on Huawei Cloud, set the flavor, model
type and specification to yours.

``MODELARTS_JOB_EVENTS_POLL_INTERVAL`` (seconds, default 60) sets the watcher's poll interval when
the DAG file is parsed; the e2e run sets it to a few seconds. Changing it changes the trigger's
kwargs, so Airflow replaces the watcher's trigger; on 3.3+ the new one keeps the watermark.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_modelarts.operators.models import ModelArtsCreateModelOperator, ModelArtsDeleteModelOperator
from airflow_provider_modelarts.operators.services import ModelArtsDeleteServiceOperator, ModelArtsDeployServiceOperator
from airflow_provider_modelarts.triggers.job_events import ModelArtsTrainingJobEventTrigger

POLL_INTERVAL = float(os.environ.get("MODELARTS_JOB_EVENTS_POLL_INTERVAL") or 60)
SPECIFICATION = "modelarts.vm.cpu.2u"
# The output channel holding the trained model (the emulator's scheduled jobs: train_url); a job
# without it falls back on its only output.
MODEL_OUTPUT = "train_url"

NIGHTLY_TRAINING = Asset(
    name="modelarts_nightly_training",
    uri="modelarts://training-jobs/nightly",
    watchers=[
        AssetWatcher(
            name="modelarts_nightly_completed",
            trigger=ModelArtsTrainingJobEventTrigger(
                name_filter="nightly-", phases=["Completed"], poll_interval=POLL_INTERVAL
            ),
        )
    ],
)

with DAG(
    dag_id="example_modelarts_job_events",
    schedule=[NIGHTLY_TRAINING],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "modelarts", "assets", "inference"],
    doc_md=__doc__,
) as dag:

    @task(multiple_outputs=True)
    def nightly_job(triggering_asset_events: Any = None) -> dict[str, Any]:
        """The completed job of the asset event that started this run (the newest, if several)."""
        events = list(triggering_asset_events[NIGHTLY_TRAINING]) if triggering_asset_events else []
        payloads = [event.extra["payload"] for event in events if (event.extra or {}).get("from_trigger")]
        if not payloads:
            raise ValueError(
                "No event of the job-event watcher triggered this run: it runs when a nightly job completes"
            )
        payloads.sort(key=lambda payload: payload["end_time_ms"])
        job = payloads[-1]
        for older in payloads[:-1]:
            print(f"Not registered here: {older['name']} ({older['training_job_id']}) ended {older['end_time']}")
        outputs: dict[str, str] = job["outputs"]
        source = outputs.get(MODEL_OUTPUT) or (next(iter(outputs.values())) if len(outputs) == 1 else None)
        if not source:
            raise ValueError(f"Training job {job['name']} has no output {MODEL_OUTPUT!r} to register: {outputs}")
        print(
            f"Training job {job['name']} ({job['training_job_id']}) {job['phase']} at {job['end_time']}; "
            f"registering the model in {source}; console: {job['console_url']}"
        )
        return {
            "training_job_id": job["training_job_id"],
            "name": job["name"],
            "source_location": source,
            "service_name": f"{job['name']}-svc",
        }

    job = nightly_job()

    # Waits (deferred) until the model is published; its XCom "model_id" is pushed before the wait.
    register = ModelArtsCreateModelOperator(
        task_id="register_model",
        model={
            "model_name": job["name"],
            "model_version": "1.0.0",
            "source_location": job["source_location"],
            "model_type": "PyTorch",
            "description": "Trained by ModelArts training job {{ ti.xcom_pull(task_ids='nightly_job', key='name') }}",
        },
        deferrable=True,
        poll_interval=2,
    )

    # A real-time service of the model; waits (deferred) until it runs.
    deploy = ModelArtsDeployServiceOperator(
        task_id="deploy_service",
        service={
            "service_name": job["service_name"],
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

    # Teardown, whatever happened above (this is a demo: a real pipeline would keep the service).
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

    deploy >> delete_service >> delete_model
