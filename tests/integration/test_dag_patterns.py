"""The DAG patterns users write, run for real with ``dag.test()`` (Airflow's own scheduling loop,
task runner, XCom, task state store, inline triggerer and Clear) against the emulator.

The DAGs are in ``tests/integration/dags/modelarts_patterns.py``; ``dag.test()`` needs them in the
DAG bundle, so the file is copied into this test session's DAGs folder and the metadata database
is created once for the module.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pendulum
import pytest
from modelarts_emulator import ModelArtsEmulator
from sqlalchemy import select

from airflow_provider_modelarts.links import CONSOLE_LINK_XCOM_KEY, ModelArtsConsoleLink
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_1_PLUS

DAG_FILE = Path(__file__).parent / "dags" / "modelarts_patterns.py"
LOGICAL_DATE = datetime(2026, 3, 1, tzinfo=timezone.utc)
RERUN_DATE = datetime(2026, 3, 2, tzinfo=timezone.utc)
FAILED_DATE = datetime(2026, 3, 3, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def dags(emulator: ModelArtsEmulator) -> Iterator[ModuleType]:
    # The folders and database Airflow was configured with in this process (os.environ's
    # AIRFLOW_HOME may have moved since: tests.conftest runs again when a test module imports it).
    from airflow.configuration import AIRFLOW_HOME, conf

    dags_folder = Path(conf.get("core", "dags_folder"))
    dags_folder.mkdir(parents=True, exist_ok=True)
    target = dags_folder / DAG_FILE.name
    shutil.copy(DAG_FILE, target)
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "AIRFLOW_HOME": AIRFLOW_HOME,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conf.get("database", "sql_alchemy_conn"),
        },
    )
    spec = importlib.util.spec_from_file_location("modelarts_patterns_dags", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module


def _dag(module: ModuleType, dag_id: str) -> Any:
    from airflow.sdk import DAG

    return next(value for value in vars(module).values() if isinstance(value, DAG) and value.dag_id == dag_id)


def _states(run: Any) -> dict[tuple[str, int], str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances(session=session)}


def _xcom(run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    # A plain select, not XComModel.get_many: that returns a legacy Query on Airflow 3.0 and a
    # Select from 3.1, and only the Select has with_only_columns.
    query = select(XComModel.value).where(
        XComModel.dag_id == run.dag_id,
        XComModel.run_id == run.run_id,
        XComModel.task_id == task_id,
        XComModel.key == key,
        XComModel.map_index == map_index,
    )
    with create_session() as session:
        row = session.scalars(query).first()
    return XComModel.deserialize_value(type("Row", (), {"value": row})()) if row is not None else None


def _clear_and_rerun(dag: Any, run: Any) -> Any:
    """Clear every task of ``run`` as the UI does (``clear_task_instances``), then run it again.

    Not a second ``dag.test()``: it deletes the run and creates a new one, and the run's task
    state with it, so it would show a new run rather than a Clear. The loop below is the one
    ``dag.test()`` runs (Airflow's scheduling step, then its in-process task runner and inline
    triggerer for each scheduled task instance).
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import clear_task_instances
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    from tests.airflow_names import DagSerialization

    with create_session() as session:
        dag_run = session.scalars(select(DagRun).where(DagRun.run_id == run.run_id)).one()
        # As the UI's Clear does: the finished run goes back to queued (and its clear_number up by one).
        clear_task_instances(list(dag_run.get_task_instances(session=session)), session, DagRunState.QUEUED)
    with create_session() as session:
        dag_run = session.scalars(select(DagRun).where(DagRun.run_id == run.run_id)).one()
        dag_run.state = DagRunState.RUNNING  # what the scheduler does next with a queued run
        session.commit()
        # What dag.test() schedules with: the serialized DAG from 3.1, the DAG itself on 3.0.
        scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        dag_run.dag = scheduler_dag if AIRFLOW_V_3_1_PLUS else dag
        while dag_run.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = dag_run.update_state(session=session)
            for ti in schedulable:
                if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                    ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
                ti.scheduled_dttm = pendulum.now("UTC")
            session.commit()
            for ti in dag_run.get_task_instances(session=session):
                if ti.state != TaskInstanceState.SCHEDULED:
                    continue
                if AIRFLOW_V_3_1_PLUS:
                    _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
                else:  # 3.0's _run_task takes the task on the task instance
                    ti.task = dag.task_dict[ti.task_id]
                    _run_task(ti=ti, run_triggerer=True)
        return dag_run


def test_patterns_run_to_success(dags: ModuleType, emu: ModelArtsEmulator) -> None:
    first = emu.create_job(job_name="pattern-one", timeline=[(8, 0.5), (10, None)])
    second = emu.create_job(job_name="pattern-two", timeline=[(10, None)])
    run = _dag(dags, "modelarts_patterns").test(
        logical_date=LOGICAL_DATE,
        run_conf={"job_id": first["job_id"], "job_ids": [first["job_id"], second["job_id"]], "status": "FAILED"},
    )
    states = _states(run)
    assert states == {key: "success" for key in states} and len(states) == 13, states
    # default_args reached the provider's own arguments.
    tasks = _dag(dags, "modelarts_patterns").task_dict
    assert tasks["wait_output"].modelarts_retry_max_delay == tasks["list_by_status"].modelarts_retry_max_delay == 0.05
    # A TaskFlow output as the argument of each operator and of the sensor.
    assert {job["status"] for job in _xcom(run, "list_by_status")} == {11}
    assert _xcom(run, "versions_of_output", key="job")["job_id"] == first["job_id"]
    for task_id in ("wait_output", "wait_output_deferrable", "wait_params"):
        result = _xcom(run, task_id)
        assert (result["job_id"], result["version_id"], result["status"]) == (first["job_id"], first["version_id"], 10)
        assert "is_success" not in result
    # .partial().expand(): each map index watched its own job, with its own pinned version.
    for index, job in enumerate((first, second)):
        assert _xcom(run, "versions_each", key="job", map_index=index)["job_id"] == job["job_id"]
        assert _xcom(run, "wait_each", map_index=index)["version_id"] == job["version_id"]
    # Jinja from XCom.
    assert _xcom(run, "versions_from_xcom", key="job")["job_id"] == first["job_id"]
    # The console link of a sensor, rendered by Airflow at the end of the try.
    link = _xcom(run, "wait_output", key=ModelArtsConsoleLink().xcom_key)
    assert link.endswith(f"jobId={first['job_id']}&versionId={first['version_id']}")


def test_a_cleared_sensor_waits_for_the_latest_version_and_follows_a_new_job_id(
    dags: ModuleType, emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag = _dag(dags, "modelarts_clear_rerun")
    job = emu.create_job(job_name="clear-rerun", timeline=[(10, None)])
    monkeypatch.setenv("AIRFLOW_VAR_MODELARTS_JOB_ID", str(job["job_id"]))
    run = dag.test(logical_date=RERUN_DATE, run_after=RERUN_DATE)
    assert _states(run) == {("wait", -1): "success"}
    assert _xcom(run, "wait")["version_id"] == job["version_id"]

    newer = emu.add_version(job["job_id"], timeline=[(10, None)])
    rerun = _clear_and_rerun(dag, run)
    assert _states(rerun) == {("wait", -1): "success"}
    assert _xcom(rerun, "wait")["version_id"] == newer["version_id"]  # before: the old version's result

    # The cleared run resolves another job_id: that job's latest version, not the other job's pin.
    other = emu.create_job(job_name="clear-rerun-other", timeline=[(10, None)])
    monkeypatch.setenv("AIRFLOW_VAR_MODELARTS_JOB_ID", str(other["job_id"]))
    rerun = _clear_and_rerun(dag, run)
    assert _states(rerun) == {("wait", -1): "success"}  # before: failed, "version ... does not exist"
    assert _xcom(rerun, "wait")["version_id"] == other["version_id"]


def test_a_failed_sensor_does_not_look_up_a_console_link_it_never_stored(
    dags: ModuleType, emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow logs "XCom not found" for every lookup of a missing XCom: after a try that failed
    before it knew the job, the link must not look one up. Airflow's XCom client is observed here
    (it still does its work); nothing of the provider is replaced."""
    from airflow.sdk.api.client import XComOperations

    looked_up: list[str] = []
    original_get = XComOperations.get

    def observed_get(
        self: XComOperations, dag_id: str, run_id: str, task_id: str, key: str, *args: Any, **kwargs: Any
    ) -> Any:
        looked_up.append(key)
        return original_get(self, dag_id, run_id, task_id, key, *args, **kwargs)

    monkeypatch.setattr(XComOperations, "get", observed_get)
    monkeypatch.setenv("AIRFLOW_VAR_MODELARTS_JOB_ID", "987654")
    run = _dag(dags, "modelarts_clear_rerun").test(logical_date=FAILED_DATE, run_after=FAILED_DATE)
    assert _states(run) == {("wait", -1): "failed"}
    assert CONSOLE_LINK_XCOM_KEY not in looked_up
    assert _xcom(run, "wait", key=ModelArtsConsoleLink().xcom_key) == ""


TRAINING_DATE = datetime(2026, 3, 4, tzinfo=timezone.utc)
TRAINING_RETRY_DATE = datetime(2026, 3, 5, tzinfo=timezone.utc)
QUICK_TRAINING = [("Creating", 0.3), ("Running", 1.0), ("Completed", None)]


def test_the_create_operator_works_in_every_dag_pattern_and_a_clear_trains_again(
    dags: ModuleType, emu: ModelArtsEmulator
) -> None:
    emu.set_create_plan("pattern-train", QUICK_TRAINING, logs={"worker-0": ["epoch 1/1 loss=0.1"]})
    try:
        dag = _dag(dags, "modelarts_training")
        run = dag.test(logical_date=TRAINING_DATE, run_after=TRAINING_DATE)
        states = _states(run)
        assert states == {key: "success" for key in states} and len(states) == 7, states
        # default_args reached the operator's own poll_interval.
        assert dag.task_dict["train_taskflow"].poll_interval == 0.2
        names = {task_id: _xcom(run, task_id)["name"] for task_id in ("train_taskflow", "train_jinja_deferred")}
        assert names == {"train_taskflow": "pattern-train-taskflow", "train_jinja_deferred": "pattern-train-jinja"}
        assert [_xcom(run, "train_each", map_index=index)["name"] for index in (0, 1)] == [
            "pattern-train-mapped-0",
            "pattern-train-mapped-1",
        ]
        created = _xcom(run, "train_taskflow", key="training_job_id")
        assert _xcom(run, "wait_created")["id"] == created
        assert _xcom(run, "train_taskflow")["outputs"] == {
            "train_url": "obs://pattern-bucket/out/pattern-train-taskflow/"
        }
        # A Clear asks for the task to run again: it trains again, under a derived name.
        rerun = _clear_and_rerun(dag, run)
        assert _states(rerun)[("train_taskflow", -1)] == "success"
        again = _xcom(rerun, "train_taskflow")
        assert (
            again["id"] != created and again["name"].startswith("pattern-train-taskflow-") and "-try" in again["name"]
        )
    finally:
        emu.clear_create_plans()


def test_a_task_retry_after_a_failed_training_job_creates_a_new_one(dags: ModuleType, emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("pattern-retry", [("Running", 0.5), ("Failed", None)], exit_code=3, message="diverged")
    emu.set_create_plan("pattern-retry-", QUICK_TRAINING)  # the retry's job: pattern-retry-<digest>-try2
    try:
        run = _dag(dags, "modelarts_training_retry").test(
            logical_date=TRAINING_RETRY_DATE, run_after=TRAINING_RETRY_DATE
        )
        assert _states(run) == {("train", -1): "success"}
        retried = _xcom(run, "train")["name"]
        assert retried.startswith("pattern-retry-") and retried.endswith("-try2")
        names = sorted(job.name for job in emu.app.training_jobs.jobs.values() if job.name.startswith("pattern-retry"))
        assert names == ["pattern-retry", retried]
    finally:
        emu.clear_create_plans()


def test_a_dag_runs_under_each_temporary_credential_type_across_several_lifetimes(
    dags: ModuleType, emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Deferred training jobs on a metadata, an idp and a default_chain connection, each waiting
    over three credential lifetimes, then poke and reschedule sensors: every request carries valid
    credentials (the emulator refused none as expired)."""
    from modelarts_emulator import config as emulator_config
    from modelarts_emulator.federation import make_id_token

    from airflow_provider_modelarts.hooks import credentials

    lifetime = 1.5
    token_file = tmp_path / "oidc-token"
    token_file.write_text(make_id_token())
    for name in ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_IDP_ID", "HUAWEICLOUD_SDK_ID_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", str(tmp_path / "no-profile"))
    sources = [
        {"auth_type": "metadata", "metadata_url": emu.url},
        {"auth_type": "idp", "idp_id": emulator_config.DEFAULT_IDP_ID, "id_token_file": str(token_file)},
        {"auth_type": "default_chain", "metadata_url": emu.url},
    ]
    for conn_id, source in zip(dags.TEMPORARY_CONNECTIONS, sources, strict=True):
        extra = {"region": emulator_config.DEFAULT_REGION, "endpoint": emu.url, "iam_endpoint": emu.url, **source}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "modelarts", "extra": extra}))
    credentials.forget_all()
    emu.set_credential_settings(temporary_credential_seconds=lifetime)
    emu.set_create_plan("pattern-creds", [("Creating", 0.2), ("Running", 3.5 * lifetime), ("Completed", None)])
    try:
        run = _dag(dags, "modelarts_temporary_credentials").test(logical_date=TRAINING_DATE, run_after=TRAINING_DATE)
        states = _states(run)
        assert states == {key: "success" for key in states} and len(states) == 5, states
        assert [_xcom(run, "train_each_auth", map_index=index)["phase"] for index in range(3)] == ["Completed"] * 3
        stats = emu.stats()
        assert stats["expired_credential_refusals"] == 0 and stats["auth_failures"] == 0
        # Each connection renewed its credentials while it waited.
        issued = [entry["source"] for entry in emu.temporary_credentials()]
        assert issued.count("metadata") >= 2 * 3 and len(issued) - issued.count("metadata") >= 3, issued
    finally:
        emu.clear_create_plans()
        credentials.forget_all()
