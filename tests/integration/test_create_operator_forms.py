"""The API reference's create examples (issue 17): accepted by the hook and by the create operator,
and created at the emulator, which reads the same pages on its own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from tests.integration.airflow_context import TaskInstanceRuns
from tests.unit.cloud.v2.test_create import (
    REFERENCE_ALGORITHM_ID_EXAMPLE,
    REFERENCE_CUSTOM_IMAGE_EXAMPLE,
    REFERENCE_PRESET_FRAMEWORK_EXAMPLE,
)

EXAMPLES = {
    "custom-image": REFERENCE_CUSTOM_IMAGE_EXAMPLE,
    "preset-framework": REFERENCE_PRESET_FRAMEWORK_EXAMPLE,
    "algorithm-id": REFERENCE_ALGORITHM_ID_EXAMPLE,
}


def example(name: str, job_name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(EXAMPLES[name]))
    body["metadata"]["name"] = job_name
    return body


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_hook_creates_each_reference_example(emu: ModelArtsEmulator, hook: ModelArtsHook, name: str) -> None:
    created = hook.create_training_job(example(name, f"ref-hook-{name}"))
    stored = emu.app.training_jobs.get(created["metadata"]["id"])
    assert stored is not None and stored.name == f"ref-hook-{name}"


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_operator_creates_each_reference_example(emu: ModelArtsEmulator, name: str) -> None:
    task = ModelArtsCreateTrainingJobOperator(
        task_id="train", job=example(name, f"ref-op-{name}"), wait_for_completion=False, print_log=False
    )
    result = task.execute(TaskInstanceRuns(task_id="train").context())
    assert result["name"] == f"ref-op-{name}" and result["phase"] in ("Creating", "Pending", "Running")
    assert emu.app.training_jobs.get(result["id"]) is not None
