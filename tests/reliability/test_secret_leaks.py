"""The secret-leak scan: the example DAGs run for real under every auth mode, in poke and deferrable
mode and through failures, and no secret, IAM token, signature or temporary credential appears
anywhere they left output (see :mod:`.leak_scan` for what runs and what is read).

One test per case of :data:`.leak_scan.CASES` (its own emulator and AIRFLOW_HOME), so that
pytest-xdist spreads them over its workers; the metadata database is migrated once per worker.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from .leak_scan import (
    CASES,
    FAILED_DAG,
    LIFECYCLE_DAG,
    TEMPORARY_AUTH_TYPES,
    TRAINING_DAG,
    ScanReport,
    find_secrets,
    migrate_database,
    scan,
)
from .support import record_result

# The runs that fail on purpose: a wrong SK fails the first API call, a wrong password the first
# IAM login (in the failed-job DAG, whose report task still runs).
WRONG_SECRET_KEY_RUN = "aksk_wrong_secret_key"
WRONG_PASSWORD_RUN = "iam_wrong_password"
SIGNED_RUNS = ("aksk_temporary_credentials", *TEMPORARY_AUTH_TYPES)


def test_the_scanner_finds_a_planted_secret() -> None:
    """The matcher itself can fail: a secret anywhere in a text is reported with its place."""
    secrets = {"secret_key": ["Plant3d-SK-123"], "signature": ["ab" * 32]}
    texts = {"log": "...Authorization: Signature=" + "ab" * 32 + "...", "xcom": '{"sk": "Plant3d-SK-123"}', "ok": ""}
    assert find_secrets(texts, secrets) == ["signature in log", "secret_key in xcom"]


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated metadata database, once per xdist worker; each case starts from a copy."""
    home = tmp_path_factory.mktemp("leak-scan-template")
    migrate_database(home)
    database = home / "airflow.db"
    template = home.parent / f"{home.name}.db"
    shutil.copy(database, template)
    return template


def check_run(run: dict[str, Any]) -> None:
    """What each run must have exercised for the scan to cover what it claims."""
    name, dag_id, tasks = run["run"], run["dag_id"], run["tasks"]
    if name == WRONG_SECRET_KEY_RUN:
        assert tasks["list_training_jobs"] == "failed" and run["state"] == "failed", run
    elif name == WRONG_PASSWORD_RUN:
        assert tasks["find_job"] == "failed", run
    elif dag_id == TRAINING_DAG:
        assert run["state"] == "success", run
        assert tasks["wait_for_training_poke"] == "success"
        assert tasks["wait_for_training_deferrable"] == "success"
        assert run["triggers"] == 1, "the deferrable sensor did not defer"
    elif dag_id == FAILED_DAG:
        assert tasks["wait_for_training"] == "failed" and tasks["report_failure"] == "success", run
    else:
        # The model lifecycle: every task succeeded, and its model/service waits deferred.
        assert dag_id == LIFECYCLE_DAG
        assert run["state"] == "success", run
        assert set(tasks.values()) == {"success"}, run
        assert run["triggers"] >= 4, "the lifecycle's waits did not defer"


def check_case(report: ScanReport) -> None:
    names = {run["run"] for run in report.runs}
    triggers = sum(run["triggers"] for run in report.runs)
    # Every deferral completed in the run, and its stored kwargs were scanned.
    assert report.trigger_events == triggers
    assert report.places["trigger kwargs"] == triggers
    if any(run["state"] == "success" for run in report.runs):
        assert report.places["XCom values"] > 0
    if any(run["dag_id"] == FAILED_DAG for run in report.runs) or WRONG_SECRET_KEY_RUN in names:
        assert report.places["exception tracebacks"] > 0
    if names & set(SIGNED_RUNS):
        assert report.secrets_by_kind["signature"] >= 3
    if "aksk_temporary_credentials" in names:
        assert report.security_token_sent
    if "iam_password" in names:
        assert report.secrets_by_kind["iam_token"] >= 1
    # The wrong SK and the wrong password failed their tasks with the gateway's and IAM's answers.
    if WRONG_SECRET_KEY_RUN in names:
        assert report.signature_refusal_logged
    if WRONG_PASSWORD_RUN in names:
        assert report.password_refusal_logged
    for auth_type in names & set(TEMPORARY_AUTH_TYPES):
        calls = report.credential_calls
        # Obtained from the emulator's metadata service or IAM federation, renewed during the run
        # (short lifetimes), the project looked up from IAM; every issued secret was scanned for.
        assert report.temporary_credentials_issued >= 2, report.as_dict()
        assert report.secrets_by_kind["temporary_secret_key"] == report.temporary_credentials_issued
        assert report.secrets_by_kind["security_token_seen"] >= 2
        assert calls["iam_projects"] >= 1, calls
        assert TEMPORARY_AUTH_TYPES[auth_type] in report.temporary_sources_logged, report.as_dict()
        if auth_type == "idp":
            assert calls["iam_id_token"] >= 1 and calls["iam_securitytokens"] >= 1, calls
            assert report.secrets_by_kind["id_token_seen"] >= 1
            assert report.secrets_by_kind["iam_token"] >= 1
        else:
            assert calls["metadata_securitykey"] >= 2 and calls["metadata_token"] >= 1, calls
            assert report.secrets_by_kind["metadata_session_token"] >= 1


@pytest.mark.timeout(600)
@pytest.mark.parametrize("case", list(CASES))
def test_example_dags_leak_no_secret(case: str, tmp_path: Path, migrated_db: Path) -> None:
    report = scan(tmp_path, case, migrated_db)
    assert [(run["run"], run["dag_id"]) for run in report.runs] == list(CASES[case])
    for run in report.runs:
        check_run(run)
    check_case(report)

    assert report.findings == []
    record_result("secret_leaks", report.as_dict())
