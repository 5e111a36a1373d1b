"""The list operators against the emulator: XCom contents, paging, filters, template coercion
and parse-time validation (no request for bad input)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import pytest
from airflow.sdk import DAG, task
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.api import DEFAULT_RETRY_MAX_DELAY
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.operators.training_jobs import (
    DEFAULT_JOB_XCOM_FIELDS,
    DEFAULT_VERSION_XCOM_FIELDS,
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from airflow_provider_modelarts.utils import xcom as xcom_utils
from tests.conftest import EMULATOR_JOB_COUNT, TOKEN_CONN_ID, api_requests
from tests.integration.airflow_context import make_context
from tests.log_capture import capture_task_logs


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


# -- item 1a: values Airflow resolves at run time -------------------------------------------------


def test_taskflow_outputs_are_accepted_at_parse_time_and_checked_once_resolved(emu: ModelArtsEmulator) -> None:
    with DAG("parse", schedule=None, start_date=datetime(2026, 1, 1)):

        @task
        def pick() -> str:
            return "FAILED"

        listing = ModelArtsListTrainingJobsOperator(task_id="t", status=pick(), per_page=pick(), region=pick())
        versions = ModelArtsListJobVersionsOperator(task_id="v", job_id=pick(), page=pick())
        ModelArtsListJobVersionsOperator.partial(task_id="mapped").expand(job_id=[1, 2])
        ModelArtsListTrainingJobsOperator.partial(task_id="mapped_list").expand(status=pick())
    # What the XComArgs resolved to is checked in execute, before any request.
    listing.status, listing.per_page, listing.region = "FAILED", "5000", None
    with pytest.raises(ModelArtsValidationError, match="per_page"):
        listing.execute(make_context())
    versions.job_id, versions.page = "abc", None
    with pytest.raises(ModelArtsValidationError, match="job_id"):
        versions.execute(make_context())
    assert api_requests(emu) == 0


# -- item 1j: compact XCom rows ---------------------------------------------------------------------


def _row_bytes(rows: list[dict[str, Any]]) -> float:
    return len(json.dumps(rows).encode()) / len(rows)


def test_list_rows_are_compact_by_default_and_xcom_fields_chooses(emu: ModelArtsEmulator) -> None:
    compact = ModelArtsListTrainingJobsOperator(task_id="t", per_page=1000).execute(make_context())
    assert all(list(row) == list(DEFAULT_JOB_XCOM_FIELDS) for row in compact)
    full = ModelArtsListTrainingJobsOperator(task_id="t", per_page=1000, xcom_fields="all").execute(make_context())
    assert all("job_desc" in row and set(DEFAULT_JOB_XCOM_FIELDS) <= set(row) for row in full)
    chosen = ModelArtsListTrainingJobsOperator(
        task_id="t", per_page=1000, xcom_fields=["job_id", "status_name"]
    ).execute(make_context())
    assert chosen == [{"job_id": row["job_id"], "status_name": row["status_name"]} for row in full]
    # The sizes the README quotes (bytes per row, JSON), with the emulator's realistic rows.
    assert _row_bytes(compact) < 200 < _row_bytes(full)


def test_version_rows_drop_the_metric_lists_by_default(emu: ModelArtsEmulator) -> None:
    compact = ModelArtsListJobVersionsOperator(task_id="v", job_id=1).execute(make_context())
    full = ModelArtsListJobVersionsOperator(task_id="v", job_id=1, xcom_fields="all").execute(make_context())
    assert all(list(row) == [f for f in DEFAULT_VERSION_XCOM_FIELDS if f in row] for row in compact)
    assert all("system_metric_list" in row and "is_success" not in row for row in full)
    assert [row["version_id"] for row in compact] == [row["version_id"] for row in full]
    assert _row_bytes(compact) < 700 and _row_bytes(full) > 1500


@pytest.mark.parametrize("bad", ["some", [], [""], {"job_id": 1}, 5])
def test_bad_xcom_fields_are_refused_at_parse_time(bad: object) -> None:
    with pytest.raises(ModelArtsValidationError, match="xcom_fields"):
        ModelArtsListTrainingJobsOperator(task_id="t", xcom_fields=bad)  # type: ignore[arg-type]


def test_a_value_over_the_warning_size_is_pushed_with_a_warning_naming_how_to_narrow_it(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xcom_utils, "XCOM_SIZE_WARNING_BYTES", 10_000)
    with capture_task_logs() as logs:
        jobs = ModelArtsListTrainingJobsOperator(task_id="t", per_page=1000).execute(make_context())
    size = len(json.dumps(jobs).encode())
    warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning" and "XCom" in entry["event"]]
    assert len(warnings) == 1 and f"({size} bytes)" in warnings[0]
    assert "max_results" in warnings[0] and "xcom_fields" in warnings[0]
    with capture_task_logs() as logs:
        ModelArtsListTrainingJobsOperator(task_id="t", per_page=10).execute(make_context())
    assert not [entry for entry in logs if "XCom" in entry["event"]]


# -- item 1k: a full page says more may match ---------------------------------------------------------


def _log_lines(operator: ModelArtsListTrainingJobsOperator) -> tuple[list[dict[str, Any]], list[str]]:
    with capture_task_logs() as logs:
        jobs = operator.execute(make_context())
    return jobs, [entry["event"] for entry in logs]


def test_a_full_page_says_more_jobs_may_match_and_how_to_get_them(emu: ModelArtsEmulator) -> None:
    failed = ModelArtsListTrainingJobsOperator(task_id="t", status="FAILED", per_page=1000).execute(make_context())
    assert len(failed) > 10
    jobs, lines = _log_lines(ModelArtsListTrainingJobsOperator(task_id="t", status="FAILED"))
    assert len(jobs) == 10
    assert "10 training job(s) returned, in 1 request(s)" in lines
    assert any(
        "Page 1 came back full (10 job(s), per_page=10): more jobs may match" in line
        and "fetch_all=True" in line
        and "page=2" in line
        for line in lines
    )
    # The project's total is never quoted as if it were the number of matches.
    totals = [line for line in lines if str(EMULATOR_JOB_COUNT) in line]
    assert totals and all("every job, not only these matches" in line for line in totals)
    _, lines = _log_lines(ModelArtsListTrainingJobsOperator(task_id="t", status="FAILED", per_page=1000))
    assert not any("more jobs may match" in line for line in lines)


def test_fetch_all_cut_by_max_results_says_more_may_match(emu: ModelArtsEmulator) -> None:
    jobs, lines = _log_lines(ModelArtsListTrainingJobsOperator(task_id="t", fetch_all=True, max_results=1500))
    assert len(jobs) == 1500 and any("Stopped at max_results=1500: more jobs may match" in line for line in lines)
    _, lines = _log_lines(ModelArtsListTrainingJobsOperator(task_id="t", fetch_all=True))
    assert not any("more jobs may match" in line for line in lines)


# -- item 1h: retry_max_delay ---------------------------------------------------------------------------


def test_retry_max_delay_reaches_the_hook() -> None:
    for operator in (
        ModelArtsListTrainingJobsOperator(task_id="t", modelarts_retry_max_delay=3),
        ModelArtsListJobVersionsOperator(task_id="v", job_id=1, modelarts_retry_max_delay=3),
    ):
        assert operator.hook().retry_max_delay == 3.0
    assert ModelArtsListTrainingJobsOperator(task_id="t").hook().retry_max_delay == DEFAULT_RETRY_MAX_DELAY


# -- review fixes ------------------------------------------------------------------------------------------


def test_max_results_below_per_page_says_it_cut_the_page_not_that_the_page_came_back_full(
    emu: ModelArtsEmulator,
) -> None:
    jobs, lines = _log_lines(ModelArtsListTrainingJobsOperator(task_id="t", per_page=10, max_results=5))
    assert len(jobs) == 5
    warnings = [line for line in lines if "more jobs" in line]
    # Before: "Page 1 came back full (5 job(s), per_page=10) ... ask for page=2", which skips jobs 6-10.
    assert warnings == [
        "Kept the first 5 job(s) of page 1: max_results=5 cut the page (per_page=10), and more jobs match. "
        "To get them, raise max_results or leave it out (with fetch_all=True it also reads the pages after "
        "this one), or narrow the filters (status, search_content)."
    ]


@pytest.mark.parametrize(
    ("operator", "parameter"),
    [
        (ModelArtsListTrainingJobsOperator, "xcom_fields"),
        (ModelArtsListTrainingJobsOperator, "fetch_all"),
        (ModelArtsListTrainingJobsOperator, "modelarts_retry_limit"),
        (ModelArtsListTrainingJobsOperator, "modelarts_retry_delay"),
        (ModelArtsListJobVersionsOperator, "xcom_fields"),
        (ModelArtsListJobVersionsOperator, "modelarts_retry_max_delay"),
    ],
)
def test_a_taskflow_output_on_an_argument_that_is_not_templated_is_refused_naming_it(
    operator: type[ModelArtsListTrainingJobsOperator | ModelArtsListJobVersionsOperator], parameter: str
) -> None:
    with DAG("parse", schedule=None, start_date=datetime(2026, 1, 1)):

        @task
        def pick() -> int:
            return 10

        extra = {"job_id": 1} if operator is ModelArtsListJobVersionsOperator else {}
        # Before: a raw TypeError, or a validation error that did not say why.
        with pytest.raises(ModelArtsValidationError, match=rf"'{parameter}': a literal value .*is not templated"):
            operator(task_id="t", **extra, **{parameter: pick()})


def test_a_misspelt_xcom_field_warns_naming_it_and_the_nearest_field(emu: ModelArtsEmulator) -> None:
    operator = ModelArtsListTrainingJobsOperator(task_id="t", per_page=3, xcom_fields=["job_id", "jobid", "job_nmae"])
    rows, lines = _log_lines(operator)
    assert len(rows) == 3 and all(set(row) == {"job_id"} for row in rows)
    misspelt = [line for line in lines if line.startswith("xcom_fields asks for")]
    assert len(misspelt) == 2
    assert misspelt[0].startswith("xcom_fields asks for 'jobid', which none of the 3 rows has, so it is left out")
    assert "Did you mean 'job_id'?" in misspelt[0] and "Did you mean 'job_name'?" in misspelt[1]
