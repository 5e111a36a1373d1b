"""Operators that query ModelArts training jobs and their versions into XCom."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import BaseOperator

from airflow_provider_modelarts import api
from airflow_provider_modelarts.conn_fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.links import ModelArtsConsoleLink, persist_console_link
from airflow_provider_modelarts.operators.base import ModelArtsTaskMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

# Enough lines to read in a task log; the full list is in XCom.
SUMMARY_LINES = 20


def _parse_time_validation(values: dict[str, Any], check: Any) -> None:
    """Run ``check`` on the values known at DAG parse time (templates are checked once rendered)."""
    check(**{name: (None if api.is_template(value) else value) for name, value in values.items()})


def _describe_job(job: dict[str, Any]) -> str:
    created = job.get("create_time")
    duration = job.get("duration")
    created_text = (
        pendulum.from_timestamp(created / 1000, tz="UTC").to_datetime_string() if isinstance(created, int) else "-"
    )
    duration_text = (
        pendulum.duration(seconds=round(duration / 1000)).in_words() or "0 seconds"
        if isinstance(duration, int)
        else "-"
    )
    return (
        f"  {job.get('job_id')}  {job.get('job_name')}  {job.get('status_name', '-')}  "
        f"created {created_text} UTC  ran {duration_text}"
    )


class _ModelArtsOperator(ModelArtsTaskMixin, BaseOperator):
    """Connection and retry plumbing shared by the ModelArts operators."""

    def __init__(
        self,
        *,
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        project_id: str | None = None,
        modelarts_retry_limit: int = api.DEFAULT_RETRY_LIMIT,
        modelarts_retry_delay: float = api.DEFAULT_RETRY_DELAY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.set_connection_args(modelarts_conn_id, region, project_id, modelarts_retry_limit, modelarts_retry_delay)


class ModelArtsListTrainingJobsOperator(_ModelArtsOperator):
    """List ModelArts training jobs into XCom.

    Returns (XCom ``return_value``) the list of jobs, each with the API's fields unchanged plus
    ``status_name``, and pushes ``job_total_count``, ``job_count_limit`` and ``quotas`` as XCom keys.

    :param status: only jobs whose latest version has this status code or name (templated).
    :param per_page: jobs per page, 1-1000 (templated).
    :param page: the page to fetch, 1-65535 (templated; with ``fetch_all``, the first page).
    :param sort_by: job_name, job_desc, status, duration, version_count, create_time or
        engine_type (templated).
    :param order: asc or desc (templated; asc when omitted).
    :param search_content: text matched against job names, at most 64 characters (templated).
    :param workspace_id: the workspace (templated; default: the connection's, else "0").
    :param fetch_all: False: the one page asked for; True: every page, 1000 jobs per request.
    :param max_results: stop after this many jobs (templated).
    :param modelarts_conn_id: the ModelArts connection id (templated).
    :param region: overrides the connection's region (templated).
    :param project_id: overrides the connection's project (templated).
    """

    template_fields: Sequence[str] = (
        "status",
        "per_page",
        "page",
        "sort_by",
        "order",
        "search_content",
        "workspace_id",
        "max_results",
        "modelarts_conn_id",
        "region",
        "project_id",
    )
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        status: int | str | None = None,
        per_page: int | str = api.DEFAULT_PER_PAGE,
        page: int | str = 1,
        sort_by: str | None = None,
        order: str | None = None,
        search_content: str | None = None,
        workspace_id: str | None = None,
        fetch_all: bool = False,
        max_results: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.status = status
        self.per_page = per_page
        self.page = page
        self.sort_by = sort_by
        self.order = order
        self.search_content = search_content
        self.workspace_id = workspace_id
        self.fetch_all = fetch_all
        self.max_results = max_results
        if not isinstance(fetch_all, bool):
            raise ModelArtsValidationError("fetch_all", "True or False", fetch_all)
        _parse_time_validation(self._arguments(), self._validate)

    def _arguments(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "per_page": self.per_page,
            "page": self.page,
            "sort_by": self.sort_by,
            "order": self.order,
            "search_content": self.search_content,
            "workspace_id": self.workspace_id,
            "max_results": self.max_results,
        }

    def _validate(self, max_results: object = None, **filters: Any) -> tuple[api.JobListFilters, int | None]:
        validated = api.JobListFilters.validate(**{key: value for key, value in filters.items() if value is not None})
        if self.fetch_all:
            validated = dataclasses.replace(validated, per_page=api.PER_PAGE_RANGE[1])
        return validated, api.validate_optional_positive_int(max_results, "max_results")

    def execute(self, context: Context) -> list[dict[str, Any]]:
        filters, max_results = self._validate(**self._arguments())
        hook = self.hook(filters.workspace_id)
        try:
            if self.fetch_all:
                pages = list(hook.iter_training_job_pages(filters, max_results))
            else:
                pages = [hook.list_training_jobs_page(filters)]
        finally:
            hook.close()
        jobs = [api.job_with_status_name(job) for page in pages for job in page.get("jobs") or []][:max_results]
        first = pages[0]
        ti = context["ti"]
        for key in ("job_total_count", "job_count_limit", "quotas"):
            ti.xcom_push(key=key, value=first.get(key))
        self._log_summary(jobs, first, len(pages))
        return jobs

    def _log_summary(self, jobs: list[dict[str, Any]], first: dict[str, Any], requests: int) -> None:
        self.log.info(
            "%d training job(s) in %d request(s); the project has %s job(s), quota %s, %s more can be created",
            len(jobs),
            requests,
            first.get("job_total_count"),
            first.get("quotas"),
            first.get("job_count_limit"),
        )
        for job in jobs[:SUMMARY_LINES]:
            self.log.info(_describe_job(job))
        if len(jobs) > SUMMARY_LINES:
            self.log.info("  ... and %d more (all of them are in XCom)", len(jobs) - SUMMARY_LINES)


class ModelArtsListJobVersionsOperator(_ModelArtsOperator):
    """List the versions of a training job into XCom.

    Returns (XCom ``return_value``) the versions, newest first, each with the API's fields plus
    ``status_name``, and pushes ``{"job_id", "job_name", "job_desc", "version_count"}`` under the
    XCom key ``job``.

    :param job_id: the training job id (templated).
    :param per_page: versions per page, 1-1000 (templated). With neither ``per_page`` nor
        ``page``, every version is returned.
    :param page: the page, 1-65535 (templated).
    :param modelarts_conn_id: the ModelArts connection id (templated).
    :param region: overrides the connection's region (templated).
    :param project_id: overrides the connection's project (templated).
    """

    template_fields: Sequence[str] = ("job_id", "per_page", "page", "modelarts_conn_id", "region", "project_id")
    operator_extra_links = (ModelArtsConsoleLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        job_id: int | str,
        per_page: int | str | None = None,
        page: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.per_page = per_page
        self.page = page
        _parse_time_validation({"per_page": per_page, "page": page}, api.list_versions_query)
        if not api.is_template(job_id):
            api.validate_id(job_id, "job_id")

    def execute(self, context: Context) -> list[dict[str, Any]]:
        job_id = api.validate_id(self.job_id, "job_id")
        api.list_versions_query(self.per_page, self.page)
        hook = self.hook()
        try:
            body = hook.list_job_versions(job_id, self.per_page, self.page)
            persist_console_link(context, hook, job_id, None)
        finally:
            hook.close()
        versions = [api.job_with_status_name(version) for version in body.get("versions") or []]
        job = {key: body.get(key) for key in ("job_id", "job_name", "job_desc", "version_count")}
        context["ti"].xcom_push(key="job", value=job)
        self.log.info(
            "Training job %s (%s): %d version(s) returned of %s",
            job["job_id"],
            job["job_name"],
            len(versions),
            job["version_count"],
        )
        for version in versions[:SUMMARY_LINES]:
            self.log.info(
                "  %s (id %s)  %s  %s",
                version.get("version_name"),
                version.get("version_id"),
                version.get("status_name", "-"),
                version.get("engine_version", ""),
            )
        return versions
