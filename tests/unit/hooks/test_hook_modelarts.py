"""``ModelArtsHook``: a create body is validated once (``ValidatedJob``), and a plain one always."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.v2 import create
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook, ValidatedJob

BODY: dict[str, Any] = {
    "metadata": {"name": "once"},
    "algorithm": {"code_dir": "obs://b/code/", "boot_file": "obs://b/code/train.py"},
    "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": "2"}},
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> tuple[ModelArtsHook, list[Any], list[object]]:
    hook = ModelArtsHook("unit")
    hook.__dict__["settings"] = SimpleNamespace(project_id="p1", workspace_id=None)
    bodies: list[Any] = []
    checked: list[object] = []
    real = v2.validate_job_create

    def validate(job: object, parameter: str = "job") -> dict[str, Any]:
        checked.append(job)
        return real(job, parameter)

    def request(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        bodies.append(kwargs["json_body"])
        return {"metadata": {"id": "j1", "name": "once"}}

    monkeypatch.setattr(create, "validate_job_create", validate)
    monkeypatch.setattr(hook, "request", request)
    return hook, bodies, checked


def test_a_validated_body_is_sent_as_it_is(sent: tuple[ModelArtsHook, list[Any], list[object]]) -> None:
    hook, bodies, checked = sent
    job = ValidatedJob.validate(BODY)
    assert len(checked) == 1 and ValidatedJob.validate(job) is job  # no second check
    hook.create_training_job(job)
    assert len(checked) == 1
    assert bodies == [job.body] and bodies[0]["spec"]["resource"]["node_count"] == 2  # the normalised copy


def test_a_plain_body_is_checked_before_anything_is_sent(sent: tuple[ModelArtsHook, list[Any], list[object]]) -> None:
    hook, bodies, checked = sent
    hook.create_training_job(BODY)
    assert len(checked) == 1 and bodies[0]["kind"] == "job"
    with pytest.raises(ModelArtsValidationError, match="job.spec"):
        hook.create_training_job({**BODY, "spec": {}})
    assert len(bodies) == 1


def test_a_validated_body_reads_as_the_mapping_it_holds() -> None:
    job = ValidatedJob.validate(BODY)
    assert dict(job) == job.body and job["metadata"]["name"] == "once" and len(job) == len(job.body)
    assert BODY["spec"]["resource"]["node_count"] == "2"  # the user's body is never changed
