"""cloud/v2/paths.py: the v2 URL paths, task names URL-quoted in every log path."""

from __future__ import annotations

from airflow_provider_modelarts.cloud import v2
from tests.unit.hooks.fakes import JOB_ID, PROJECT


def test_paths_of_the_v2_api() -> None:
    base = f"/v2/{PROJECT}/training-jobs"
    assert v2.training_jobs_path(PROJECT) == base
    assert v2.training_job_path(PROJECT, JOB_ID) == f"{base}/{JOB_ID}"
    assert v2.training_job_searches_path(PROJECT) == f"/v2/{PROJECT}/training-job-searches"
    assert v2.training_job_actions_path(PROJECT, JOB_ID) == f"{base}/{JOB_ID}/actions"
    assert v2.training_job_tasks_path(PROJECT, JOB_ID) == f"{base}/{JOB_ID}/tasks"
    assert v2.training_job_aom_logs_path(PROJECT, JOB_ID, "worker-0") == f"{base}/{JOB_ID}/logs/worker-0"
    assert (
        v2.training_job_log_preview_path(PROJECT, JOB_ID, "worker-0") == f"{base}/{JOB_ID}/tasks/worker-0/logs/preview"
    )
    assert v2.TERMINATE_ACTION == {"action_type": "terminate"}


def test_task_names_are_url_quoted_in_every_log_path() -> None:
    base = f"/v2/{PROJECT}/training-jobs/{JOB_ID}"
    assert v2.training_job_aom_logs_path(PROJECT, JOB_ID, "server-0") == f"{base}/logs/server-0"
    assert v2.training_job_aom_logs_path(PROJECT, JOB_ID, "a/b c") == f"{base}/logs/a%2Fb%20c"
    assert v2.training_job_log_preview_path(PROJECT, JOB_ID, "a/b c") == f"{base}/tasks/a%2Fb%20c/logs/preview"
