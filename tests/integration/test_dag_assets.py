"""Assets from tasks, run for real with ``dag.test()`` (Airflow's task runner, its outlet event
accessors, the inline triggerer and the execution API that writes ``AssetEvent`` rows) against the
emulator: each ModelArts task with ``outlets`` emits asset events whose ``extra`` carries the job's
or model's id, phase or status and OBS URLs; read back from the metadata database.

The DAGs are in ``tests/integration/dags/modelarts_assets.py``; ``dag.test()`` needs them in the
DAG bundle, so the file is copied into this test session's DAGs folder (as in test_dag_patterns.py).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator
from sqlalchemy import select

DAG_FILE = Path(__file__).parent / "dags" / "modelarts_assets.py"
LOGICAL_DATE = datetime(2026, 4, 1, tzinfo=timezone.utc)
QUICK_TRAINING = [("Creating", 0.3), ("Running", 1.0), ("Completed", None)]


@pytest.fixture(scope="module")
def dags(emulator: ModelArtsEmulator) -> Iterator[ModuleType]:
    from airflow.configuration import AIRFLOW_HOME, conf

    dags_folder = Path(conf.get("core", "dags_folder"))
    dags_folder.mkdir(parents=True, exist_ok=True)
    target = dags_folder / DAG_FILE.name
    shutil.copy(DAG_FILE, target)
    env = {
        **os.environ,
        "AIRFLOW_HOME": AIRFLOW_HOME,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conf.get("database", "sql_alchemy_conn"),
    }
    # The DAG processor's part: the DAGs and their assets in the database, assets active. From 3.1
    # dag.test() does it too; on 3.0 a task whose outlets are not active assets fails at its start.
    for command in (["db", "migrate"], ["dags", "reserialize"]):
        subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), *command], check=True, capture_output=True, env=env
        )
    spec = importlib.util.spec_from_file_location("modelarts_assets_dags", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module


def _states(run: Any) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: ti.state for ti in run.get_task_instances(session=session)}


def _xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = select(XComModel.value).where(
        XComModel.dag_id == run.dag_id,
        XComModel.run_id == run.run_id,
        XComModel.task_id == task_id,
        XComModel.key == key,
    )
    with create_session() as session:
        row = session.scalars(query).first()
    return XComModel.deserialize_value(type("Row", (), {"value": row})()) if row is not None else None


def _asset_events(run: Any) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """The run's ``AssetEvent`` rows: ``(task_id, asset name) -> (asset uri, extra)``."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    query = (
        select(AssetEvent.source_task_id, AssetModel.name, AssetModel.uri, AssetEvent.extra)
        .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
        .where(AssetEvent.source_dag_id == run.dag_id, AssetEvent.source_run_id == run.run_id)
    )
    with create_session() as session:
        rows = session.execute(query).all()
    events = {(task_id, name): (uri, dict(extra)) for task_id, name, uri, extra in rows}
    assert len(events) == len(rows), rows  # one event per task and asset
    return events


def test_the_asset_events_of_a_training_job_and_a_model_carry_what_they_produced(
    dags: ModuleType, emu: ModelArtsEmulator
) -> None:
    emu.set_create_plan("asset-", QUICK_TRAINING)
    emu.app.inference.model_plans.put("asset-model", [("building", 0.5), ("published", None)])
    try:
        dag = dags.assets_dag
        run = dag.test(logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE)
        assert _states(run) == dict.fromkeys(
            ("train", "train_deferred", "train_no_wait", "train_plain", "register"), "success"
        )
        events = _asset_events(run)
        jobs = {task_id: _xcom(run, task_id) for task_id in ("train", "train_deferred", "train_no_wait")}
        ids = {task_id: _xcom(run, task_id, key="training_job_id") for task_id in jobs}
        output = "obs://asset-bucket/out/asset-train/"

        def trained(task_id: str, name: str, phase: str) -> dict[str, Any]:
            return {
                "training_job_id": ids[task_id],
                "name": name,
                "phase": phase,
                "outputs": {"train_url": f"obs://asset-bucket/out/{name}/"},
                "console_url": jobs[task_id]["console_url"],
            }

        model = _xcom(run, "register")
        assert events == {
            # Waited for in the worker: the declared asset and the asset of its output (obs_asset);
            # the alias does not add that output a second time.
            ("train", "asset-trained"): (
                "modelarts://training/asset-train",
                trained("train", "asset-train", "Completed"),
            ),
            ("train", output): ("obs://asset-bucket/out/asset-train", trained("train", "asset-train", "Completed")),
            # Waited for in the triggerer: set when the task resumed; the alias added its output.
            ("train_deferred", "asset-trained-deferred"): (
                "modelarts://training/asset-deferred",
                trained("train_deferred", "asset-deferred", "Completed"),
            ),
            ("train_deferred", "obs://asset-bucket/out/asset-deferred/"): (
                "obs://asset-bucket/out/asset-deferred",
                # The alias event's asset is the output: its extra has no outputs.
                {k: v for k, v in trained("train_deferred", "asset-deferred", "Completed").items() if k != "outputs"},
            ),
            # wait_for_completion=False: the phase the create answered with.
            ("train_no_wait", "asset-submitted"): (
                "modelarts://training/asset-submitted",
                trained("train_no_wait", "asset-submitted", "Creating"),
            ),
            # The model, deferred, registered from the job's output.
            ("register", "asset-registered"): (
                "modelarts://models/asset-model",
                {
                    "model_id": _xcom(run, "register", key="model_id"),
                    "model_name": "asset-model",
                    "model_version": "1.0.0",
                    "model_status": "published",
                    "source_location": output,
                    "console_url": model["console_url"],
                },
            ),
        }
        assert all(ids.values()) and len(set(ids.values())) == 3
        assert ids["train"] in jobs["train"]["console_url"]
    finally:
        emu.clear_create_plans()
        emu.app.inference.clear()
