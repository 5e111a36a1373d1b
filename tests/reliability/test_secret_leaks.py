"""The secret-leak scan: the example DAGs run for real under both auth modes, in poke and deferrable
mode and through failures, and no secret, IAM token or signature appears anywhere they left output
(see :mod:`.leak_scan` for what runs and what is read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .leak_scan import FAILED_DAG, LIFECYCLE_DAG, TRAINING_DAG, find_secrets, scan
from .support import record_result


def test_the_scanner_finds_a_planted_secret() -> None:
    """The matcher itself can fail: a secret anywhere in a text is reported with its place."""
    secrets = {"secret_key": ["Plant3d-SK-123"], "signature": ["ab" * 32]}
    texts = {"log": "...Authorization: Signature=" + "ab" * 32 + "...", "xcom": '{"sk": "Plant3d-SK-123"}', "ok": ""}
    assert find_secrets(texts, secrets) == ["signature in log", "secret_key in xcom"]


@pytest.mark.timeout(900)
def test_example_dags_leak_no_secret(tmp_path: Path) -> None:
    report = scan(tmp_path)
    runs = {(run["run"], run["dag_id"]): run for run in report.runs}

    # The runs exercised what the scan claims to cover.
    for mode in ("aksk_temporary_credentials", "iam_password"):
        training, failed = runs[(mode, TRAINING_DAG)], runs[(mode, FAILED_DAG)]
        assert training["state"] == "success", training
        assert training["tasks"]["wait_for_training_poke"] == "success"
        assert training["tasks"]["wait_for_training_deferrable"] == "success"
        assert training["triggers"] == 1, "the deferrable sensor did not defer"
        assert failed["tasks"]["wait_for_training"] == "failed" and failed["tasks"]["report_failure"] == "success"
        # The model lifecycle: every task succeeded, and its model/service waits deferred.
        lifecycle = runs[(mode, LIFECYCLE_DAG)]
        assert lifecycle["state"] == "success", lifecycle
        assert set(lifecycle["tasks"].values()) == {"success"}, lifecycle
        assert lifecycle["triggers"] >= 4, "the lifecycle's waits did not defer"
    wrong_sk = runs[("aksk_wrong_secret_key", TRAINING_DAG)]
    assert wrong_sk["tasks"]["list_training_jobs"] == "failed" and wrong_sk["state"] == "failed"
    assert runs[("iam_wrong_password", FAILED_DAG)]["tasks"]["find_job"] == "failed"
    lifecycle_triggers = sum(run["triggers"] for run in report.runs if run["dag_id"] == LIFECYCLE_DAG)
    assert report.trigger_events == 2 + lifecycle_triggers
    assert report.secrets_by_kind["iam_token"] >= 2 and report.secrets_by_kind["signature"] >= 10
    assert report.security_token_sent
    # The wrong SK and the wrong password failed their tasks with the gateway's and IAM's answers.
    assert report.auth_failures_logged
    assert report.places["XCom values"] > 0 and report.places["trigger kwargs"] == 2 + lifecycle_triggers
    assert report.places["exception tracebacks"] > 0

    assert report.findings == []
    record_result("secret_leaks", report.as_dict())
