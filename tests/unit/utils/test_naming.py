"""Job names that render in every DAG run: with Airflow's own templating, for runs with and
without a logical date (``airflow dags trigger``, the REST API with ``"logical_date": null``, an
asset event), mapped or not; and the example DAG's ``job`` body rendered the same way."""

from __future__ import annotations

import runpy
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import pytest
from airflow.sdk import DAG
from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.utils.naming import (
    MAX_PREFIX_LENGTH,
    RUN_STAMP,
    is_valid_job_name,
    job_name_template,
)

ROOT = Path(__file__).resolve().parents[3]
RUN_AFTER = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def _runtime_ti(task: Any, *, logical_date: datetime | None, map_index: int = -1) -> RuntimeTaskInstance:
    """The task instance a worker runs, with the DAG run the execution API sends (only the fields
    this Airflow's ``DagRun`` model has: 3.0 knows fewer than 3.3)."""
    run_type = "scheduled" if logical_date else "manual"
    fields: dict[str, Any] = {
        "dag_id": task.dag_id,
        "run_id": f"{run_type}__{RUN_AFTER.isoformat()}",
        "logical_date": logical_date,
        "data_interval_start": logical_date,
        "data_interval_end": logical_date,
        "run_after": RUN_AFTER,
        "start_date": RUN_AFTER,
        "end_date": None,
        "clear_number": 0,
        "run_type": run_type,
        "state": "running",
        "conf": {},
        "consumed_asset_events": [],
        "partition_key": None,
    }
    dag_run = DagRun.model_validate({key: value for key, value in fields.items() if key in DagRun.model_fields})
    return RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task.task_id,
        dag_id=task.dag_id,
        run_id=dag_run.run_id,
        try_number=1,
        map_index=map_index,
        task=task,
        max_tries=0,
        start_date=RUN_AFTER,
        _ti_context_from_server=TIRunContext(dag_run=dag_run, max_tries=0),
    )


def _render(template: str, *, logical_date: datetime | None, map_index: int = -1) -> Any:
    with DAG("naming_test", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        task = ModelArtsCreateTrainingJobOperator(task_id="train", job={"metadata": {"name": template}})
    context = _runtime_ti(task, logical_date=logical_date, map_index=map_index).get_template_context()
    return task.render_template(template, context, dag.get_template_env())


def test_a_run_without_a_logical_date_has_no_ts_nodash_but_the_helpers_name_renders() -> None:
    with pytest.raises(jinja2.UndefinedError, match="'ts_nodash' is undefined"):
        _render("resnet50-{{ ts_nodash | lower }}", logical_date=None)  # the old README example
    name = _render(job_name_template("resnet50-train"), logical_date=None)
    assert name == "resnet50-train-20260301t120000" and is_valid_job_name(name)


def test_a_run_with_a_logical_date_renders_the_same_way() -> None:
    name = _render(job_name_template("resnet50-train"), logical_date=datetime(2026, 2, 28, tzinfo=timezone.utc))
    assert name == "resnet50-train-20260301t120000"  # named after run_after, not the logical date


def test_each_map_index_of_a_mapped_task_gets_its_own_name() -> None:
    names = [_render(job_name_template("sweep"), logical_date=None, map_index=index) for index in (0, 1, 12)]
    assert names == ["sweep-20260301t120000-0", "sweep-20260301t120000-1", "sweep-20260301t120000-12"]
    assert all(is_valid_job_name(name) for name in names)


def test_the_longest_prefix_still_gives_a_valid_name() -> None:
    prefix = "p" * MAX_PREFIX_LENGTH
    name = _render(job_name_template(prefix), logical_date=None, map_index=99999)
    assert len(name) == 64 and is_valid_job_name(name)


def test_the_run_stamp_works_in_any_templated_string() -> None:
    assert _render(f"obs://bucket/models/{RUN_STAMP}/", logical_date=None) == "obs://bucket/models/20260301t120000/"


@pytest.mark.parametrize("prefix", ["", "has space", "bad/char", "é", "p" * (MAX_PREFIX_LENGTH + 1)])
def test_a_literal_prefix_that_cannot_give_a_valid_name_is_refused_at_parse_time(prefix: str) -> None:
    with pytest.raises(ValueError, match="job name prefix"):
        job_name_template(prefix)


def test_a_templated_prefix_is_left_to_the_operators_check_once_rendered() -> None:
    assert job_name_template("{{ params.model }}-train").startswith("{{ params.model }}-train-")


def test_a_non_string_prefix_is_refused() -> None:
    with pytest.raises(TypeError):
        job_name_template(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "valid"),
    [("a", True), ("A_b-9", True), ("x" * 64, True), ("x" * 65, False), ("", False), ("a\n", False), (None, False)],
)
def test_is_valid_job_name(name: object, valid: bool) -> None:
    assert is_valid_job_name(name) is valid


def test_the_example_dags_job_renders_to_a_valid_body_in_a_run_without_a_logical_date() -> None:
    """The example DAG's whole ``job`` body, rendered by Airflow for a run triggered without a
    logical date, as ``airflow dags trigger`` and the REST API with ``"logical_date": null`` do."""
    namespace = runpy.run_path(str(ROOT / "example_dags" / "example_modelarts_create_training_job.py"))
    task = namespace["dag"].get_task("train")
    ti = _runtime_ti(task, logical_date=None)
    context = ti.get_template_context()
    assert "ts_nodash" not in context and "logical_date" not in context
    task.render_template_fields(context)
    name = task.job["metadata"]["name"]
    assert name == "resnet50-train-20260301t120000" and is_valid_job_name(name)
    assert task.job["algorithm"]["outputs"][0]["remote"]["obs"]["obs_url"] == f"obs://demo-bucket/models/{name}/"
    assert "{{" not in repr(task.job) and "{%" not in repr(task.job)
