"""cloud/v2/trials.py: auto search trials as rows, the best trial by the reward mode, and the
create operator's trimming of a best trial too big for the XCom."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.operators.training_job_create import COMPACT_XCOM_LIMIT_BYTES, add_best_trial

JOB_ID = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"


DOC_HEADER = ["", "done", "pid", "config", "trial_id", "reward_attr", "status", "acc", "loss", "best_reward"]


def trials_body(rows: list[list[Any]], header: list[str] = DOC_HEADER) -> dict[str, Any]:
    return {"total": len(rows), "items": {"header": header, "data": rows}}


def test_trial_rows_are_dicts_by_column_and_keep_unknown_columns() -> None:
    rows = v2.trial_rows(
        trials_body([["0", "True", "314", {"lr": 0.1}, "ae54", "0.5", "TERMINATED", "0.5", "x", "0.6", "extra"]])
    )
    assert rows == [
        {
            "": "0",
            "done": "True",
            "pid": "314",
            "config": {"lr": 0.1},
            "trial_id": "ae54",
            "reward_attr": "0.5",
            "status": "TERMINATED",
            "acc": "0.5",
            "loss": "x",
            "best_reward": "0.6",
            "column_10": "extra",
        }
    ]
    assert v2.trial_rows({"items": {"header": ["a", "a"], "data": [[1, 2], "junk"]}}) == [{"a": 1, "a_1": 2}]
    assert v2.trial_rows({}) == []


def best_id(rows: list[dict[str, Any]], auto_search: dict[str, Any]) -> Any:
    best = v2.best_trial(rows, auto_search)
    assert best is not None
    return best["trial_id"]


def test_the_best_trial_follows_the_reward_mode_and_tolerates_missing_columns() -> None:
    rows = [
        {"trial_id": "t1", "best_reward": "0.2", "loss": "0.9"},
        {"trial_id": "t2", "best_reward": "tensor(0.1)", "loss": "0.1"},
        {"trial_id": "t3", "best_reward": "0.7", "loss": "0.5"},
    ]
    assert best_id(rows, {"reward_attrs": [{"name": "acc", "mode": "max"}]}) == "t3"
    assert best_id(rows, {"reward_attrs": [{"name": "loss", "mode": "min"}]}) == "t1"
    # No reward column at all: the reward attribute's own column.
    by_name = [{"trial_id": "a", "loss": "0.3"}, {"trial_id": "b", "loss": "0.2"}]
    assert best_id(by_name, {"reward_attrs": [{"name": "loss", "mode": "MIN"}]}) == "b"
    assert v2.best_trial([{"trial_id": "a"}], {}) is None
    assert v2.best_trial([], {"reward_attrs": []}) is None


def test_a_best_trial_too_big_for_the_xcom_is_trimmed_and_says_so() -> None:
    summary: dict[str, Any] = {"id": JOB_ID, "phase": "Completed"}
    row = {"trial_id": "t1", "best_reward": "0.9", "config": json.dumps({"p": "x" * 1500}), "notes": "y" * 3000}
    dropped = add_best_trial(summary, row, {"reward_attrs": [{"name": "acc"}]})
    assert dropped == ["notes"] and summary["best_trial_trimmed"] == ["notes"]
    assert summary["best_trial"]["config"] == row["config"] and summary["best_trial"]["trial_id"] == "t1"
    assert len(json.dumps(summary)) <= COMPACT_XCOM_LIMIT_BYTES
    huge = {"trial_id": "t1", "best_reward": "0.9", "config": "z" * 5000}
    summary = {"id": JOB_ID}
    assert add_best_trial(summary, huge, {}) == ["config"]
    assert summary["best_trial"] == {"trial_id": "t1", "best_reward": "0.9"}
    small: dict[str, Any] = {"id": JOB_ID}
    assert add_best_trial(small, {"trial_id": "t"}, {}) == [] and "best_trial_trimmed" not in small
