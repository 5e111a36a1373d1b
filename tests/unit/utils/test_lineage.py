"""OpenLineage of the create operator: only datasets of a job that exists, never an unrendered
template (a task that failed before or at the create reported the body's channels, Jinja and all)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.utils.lineage import is_templated, training_job_lineage

pytest.importorskip("airflow.providers.openlineage")

JOB_ID = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"


def _body(output_url: str = "obs://bucket/models/run-1/", name: str = "resnet50-train-1") -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": "obs://bucket/code/",
            "boot_file": "obs://bucket/code/train.py",
            "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": "obs://bucket/data/"}}}],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": output_url}}}],
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


def _names(datasets: list[Any]) -> list[tuple[str, str]]:
    return [(dataset.namespace, dataset.name) for dataset in datasets]


def test_a_created_job_reports_its_inputs_outputs_and_id() -> None:
    lineage = training_job_lineage(_body(), None, JOB_ID)
    assert _names(lineage.inputs) == [("obs://bucket", "data/")]
    assert _names(lineage.outputs) == [("obs://bucket", "models/run-1/")]
    facet = lineage.run_facets["externalQuery"]
    assert facet.externalQueryId == JOB_ID  # type: ignore[attr-defined]


def test_a_job_never_created_reports_no_datasets_and_no_job_id() -> None:
    lineage = training_job_lineage(_body(), None, None)
    assert lineage.inputs == [] and lineage.outputs == [] and lineage.run_facets == {}


def test_a_failure_before_the_create_reports_nothing_from_the_unrendered_body() -> None:
    """The reported bug: the FAIL event of a task whose body was never rendered (or never sent)."""
    templated = _body("obs://bucket/models/{{ ts_nodash }}/", name="resnet50-{{ ts_nodash | lower }}")
    task = ModelArtsCreateTrainingJobOperator(task_id="train", job=templated)
    lineage = task.get_openlineage_facets_on_failure(None)
    assert lineage.inputs == [] and lineage.outputs == [] and lineage.run_facets == {}


def test_a_channel_still_templated_is_never_reported() -> None:
    body = _body("obs://bucket/models/{{ ts_nodash }}/")
    body["algorithm"]["inputs"].append(
        {"name": "labels", "remote": {"dataset": {"id": "{{ params.dataset }}", "version_id": "v1"}}}
    )
    lineage = training_job_lineage(body, None, JOB_ID)
    assert _names(lineage.inputs) == [("obs://bucket", "data/")]
    assert lineage.outputs == []
    assert not any(is_templated(name) for _, name in _names(lineage.inputs + lineage.outputs))


def test_the_job_object_read_is_used_when_the_body_has_no_channels() -> None:
    job = {"metadata": {"id": JOB_ID}, "algorithm": _body()["algorithm"]}
    lineage = training_job_lineage({"kind": "job"}, job, JOB_ID)
    assert _names(lineage.outputs) == [("obs://bucket", "models/run-1/")]


@pytest.mark.parametrize(
    ("value", "templated"),
    [("obs://b/{{ ds }}/", True), ("{% if x %}a{% endif %}", True), ("{# c #}", True), ("obs://b/p/", False)],
)
def test_is_templated(value: str, templated: bool) -> None:
    assert is_templated(value) is templated
