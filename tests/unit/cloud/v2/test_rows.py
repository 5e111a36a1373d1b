"""cloud/v2/rows.py: the compact forms of a job (row, summary, outcome)."""

from __future__ import annotations

import json

from airflow_provider_modelarts.cloud import v2
from tests.unit.hooks.fakes import FAILED_JOB, JOB_ID


def test_a_job_row_is_flat_and_json_serialisable() -> None:
    row = v2.job_row(FAILED_JOB)
    assert row == {
        "id": JOB_ID,
        "name": "resnet-train",
        "kind": "job",
        "phase": "Failed",
        "secondary_phase": "Failed",
        "create_time": 1_700_000_000_000,
        "start_time": 1_700_000_005_000,
        "duration": 61_000,
        "flavor": "modelarts.p3.large.public",
        "node_count": 2,
        "pool_id": None,
        "workspace_id": "0",
        "user_name": "alice",
        "tasks": ["worker-0", "worker-1"],
    }
    assert json.loads(json.dumps(row)) == row


def test_a_sparse_job_gives_a_row_of_nones() -> None:
    row = v2.job_row({"metadata": {"id": JOB_ID}, "status": None, "spec": "?"})
    assert row["id"] == JOB_ID and row["phase"] is None and row["flavor"] is None and row["tasks"] == []


def test_the_summary_adds_exit_codes_and_outputs_and_the_outcome_names_them() -> None:
    summary = v2.job_summary(FAILED_JOB)
    assert summary["task_statuses"][1] == {"task": "worker-1", "exit_code": 137, "message": "OOMKilled"}
    assert summary["outputs"] == {"train_url": "/bucket/out/"}
    assert v2.describe_outcome(FAILED_JOB) == (
        "secondary phase Failed; task worker-0 exit code 0; task worker-1 exit code 137 (OOMKilled)"
    )
