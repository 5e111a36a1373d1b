"""The list operators against the emulator: XCom contents, paging, filters, template coercion
and parse-time validation (no request for bad input)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from airflow.sdk import DAG

from airflow_provider_modelarts.emulator import ModelArtsEmulator
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.operators.training_jobs import (
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from tests.conftest import TOKEN_CONN_ID, api_requests
from tests.integration.airflow_context import make_context


def test_list_one_page_pushes_jobs_and_counters(emu: ModelArtsEmulator) -> None:
    op = ModelArtsListTrainingJobsOperator(task_id="t", per_page=7, page=2, sort_by="job_name", order="asc")
    context = make_context()
    jobs = op.execute(context)
    assert len(jobs) == 7 and all(job["status_name"].startswith(("JOBSTAT_", "MOUNT")) for job in jobs)
    names = [job["job_name"] for job in jobs]
    assert names == sorted(names)
    xcom = context["ti"].xcom
    assert xcom["job_total_count"] > 0 and xcom["quotas"] >= xcom["job_count_limit"]
    assert api_requests(emu) == 1


def test_fetch_all_uses_1000_per_page_and_max_results(emu: ModelArtsEmulator) -> None:
    everything = ModelArtsListTrainingJobsOperator(task_id="t", fetch_all=True).execute(make_context())
    assert api_requests(emu) == math.ceil(len(everything) / 1000)
    assert all("per_page=1000" in entry["query"] for entry in emu.stats()["requests"])
    emu.reset()
    capped = ModelArtsListTrainingJobsOperator(task_id="t", fetch_all=True, max_results=1500).execute(make_context())
    assert [job["job_id"] for job in capped] == [job["job_id"] for job in everything[:1500]]
    assert api_requests(emu) == 2


def test_status_and_search_filters_under_token_auth(emu: ModelArtsEmulator) -> None:
    op = ModelArtsListTrainingJobsOperator(
        task_id="t", modelarts_conn_id=TOKEN_CONN_ID, status="JOBSTAT_FAILED", search_content="train-", per_page=1000
    )
    jobs = op.execute(make_context())
    assert jobs and {job["status"] for job in jobs} == {11} and all("train-" in job["job_name"] for job in jobs)


def test_templated_values_are_rendered_validated_and_coerced(emu: ModelArtsEmulator) -> None:
    with DAG("templating", schedule=None, start_date=datetime(2026, 1, 1)):
        op = ModelArtsListTrainingJobsOperator(
            task_id="t", per_page="{{ params.size }}", status="{{ params.status }}", params={"size": "8", "status": 8}
        )
    context = make_context()
    context["params"] = {"size": "8", "status": 8}
    op.render_template_fields(context)
    assert op.per_page == "8"
    jobs = op.execute(context)
    assert 0 < len(jobs) <= 8 and {job["status"] for job in jobs} == {8}
    assert "per_page=8" in emu.stats()["requests"][-1]["query"]


def test_rendered_bad_value_is_refused_before_any_request(emu: ModelArtsEmulator) -> None:
    op = ModelArtsListTrainingJobsOperator(task_id="t", per_page="{{ 5000 }}")
    op.per_page = "5000"  # what rendering produced
    with pytest.raises(ModelArtsValidationError, match="per_page"):
        op.execute(make_context())
    assert api_requests(emu) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_page": 0},
        {"page": 70000},
        {"status": 99},
        {"order": "random"},
        {"sort_by": "owner"},
        {"search_content": "y" * 100},
        {"max_results": -1},
        {"fetch_all": "yes"},
        {"region": "Europe"},
        {"project_id": "../etc"},
        {"modelarts_retry_limit": -1},
    ],
)
def test_bad_arguments_are_refused_at_parse_time(kwargs: dict[str, object]) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        ModelArtsListTrainingJobsOperator(task_id="t", **kwargs)  # type: ignore[arg-type]
    assert error.value.parameter in {*kwargs, "retry_limit"}


def test_versions_operator_returns_all_versions_and_the_job(emu: ModelArtsEmulator) -> None:
    context = make_context()
    versions = ModelArtsListJobVersionsOperator(task_id="v", job_id="1").execute(context)
    job = context["ti"].xcom["job"]
    assert job == {
        "job_id": 1,
        "job_name": "demo-resnet50-train",
        "job_desc": job["job_desc"],
        "version_count": len(versions),
    }
    assert versions[0]["version_name"] > versions[-1]["version_name"]
    assert all("status_name" in version for version in versions)
    assert "page=0" in emu.stats()["requests"][-1]["query"]
    assert context["ti"].xcom["modelarts_console"]["job_id"] == 1


def test_versions_operator_paged(emu: ModelArtsEmulator) -> None:
    versions = ModelArtsListJobVersionsOperator(task_id="v", job_id=1, per_page=2, page=1).execute(make_context())
    assert len(versions) == 2


def test_versions_operator_refuses_bad_ids_at_parse_time() -> None:
    for bad in ("abc", 0, -4):
        with pytest.raises(ModelArtsValidationError, match="job_id"):
            ModelArtsListJobVersionsOperator(task_id="v", job_id=bad)
    ModelArtsListJobVersionsOperator(task_id="v", job_id="{{ ti.xcom_pull('x') }}")  # checked once rendered
