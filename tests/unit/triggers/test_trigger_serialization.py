"""What a serialized trigger carries, pinned: the triggerer re-creates a deferred task's trigger
from its classpath and kwargs, so both must stay readable by the next release (and the kwargs of
an older release must still load)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger

JOB_UUID = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"
SHARED = {
    "modelarts_conn_id": "modelarts_default",
    "region": None,
    "project_id": None,
    "workspace_id": None,
    "poll_interval": 60.0,
    "end_time": None,
    "retry_limit": 4,
    "retry_delay": 1.0,
    "retry_max_delay": 60.0,
    "max_outage": 900.0,
    "outage_started_at": None,
}

V1_CLASSPATH = "airflow_provider_modelarts.triggers.training_job.ModelArtsTrainingJobTrigger"
V1_KWARGS = [
    "job_id",
    "version_id",
    "target_statuses",
    "failure_statuses",
    *SHARED,
    "last_status",
]
V2_CLASSPATH = "airflow_provider_modelarts.triggers.training_job_phase.ModelArtsTrainingJobPhaseTrigger"
V2_KWARGS = [
    "training_job_id",
    "target_phases",
    "failure_phases",
    *SHARED,
    "print_log",
    "log_state",
    "log_xcom",
    "terminate_on_kill",
    "last_phase",
    "task_instance",
]


def _v1() -> ModelArtsTrainingJobTrigger:
    return ModelArtsTrainingJobTrigger(job_id=7, version_id=70, target_statuses=[10], failure_statuses=[3, 11])


def _v2() -> ModelArtsTrainingJobPhaseTrigger:
    return ModelArtsTrainingJobPhaseTrigger(
        training_job_id=JOB_UUID, target_phases=["Completed"], failure_phases=["Failed", "Abnormal"]
    )


def test_the_v1_trigger_serializes_to_its_classpath_and_kwarg_names() -> None:
    classpath, kwargs = _v1().serialize()
    assert classpath == V1_CLASSPATH
    assert list(kwargs) == V1_KWARGS
    assert kwargs == {
        "job_id": 7,
        "version_id": 70,
        "target_statuses": [10],
        "failure_statuses": [3, 11],
        **SHARED,
        "last_status": None,
    }


def test_the_v2_trigger_serializes_to_its_classpath_and_kwarg_names() -> None:
    classpath, kwargs = _v2().serialize()
    assert classpath == V2_CLASSPATH
    assert list(kwargs) == V2_KWARGS
    assert kwargs == {
        "training_job_id": JOB_UUID,
        "target_phases": ["Completed"],
        "failure_phases": ["Failed", "Abnormal"],
        **SHARED,
        "print_log": False,
        "log_state": None,
        "log_xcom": None,
        "terminate_on_kill": False,
        "last_phase": None,
        "task_instance": None,
    }


@pytest.mark.parametrize("make", [_v1, _v2], ids=["v1", "v2"])
def test_a_trigger_re_created_from_its_kwargs_serializes_the_same(make: Any) -> None:
    classpath, kwargs = make().serialize()
    changed = {**kwargs, "region": "cn-north-4", "end_time": 1.5e9, "outage_started_at": 1.4e9, "retry_limit": 5}
    recreated = type(make())(**changed)
    assert recreated.serialize() == (classpath, changed)
