"""Operators that query ModelArts training jobs and their versions into XCom."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import pendulum

from airflow_provider_modelarts.cloud.v1 import (
    DEFAULT_PER_PAGE,
    PER_PAGE_RANGE,
    JobListFilters,
    job_with_status_name,
    list_versions_query,
    validate_id,
)
from airflow_provider_modelarts.cloud.validation import validate_flag, validate_optional_positive_int
from airflow_provider_modelarts.links import ModelArtsConsoleLink, persist_console_link
from airflow_provider_modelarts.operators.base import _ModelArtsOperator
from airflow_provider_modelarts.utils.mixins import known_at_parse_time, resolved_at_runtime
from airflow_provider_modelarts.utils.xcom import (
    XComFields,
    select_fields,
    validate_xcom_fields,
    warn_if_large,
    warn_missing_fields,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

# Enough lines to read in a task log; the full list is in XCom.
SUMMARY_LINES = 20

#: The fields of each job that ``ModelArtsListTrainingJobsOperator`` pushes by default: what a
#: downstream task needs to pick a job and wait for it (about 190 bytes a row).
DEFAULT_JOB_XCOM_FIELDS = (
    "job_id",
    "job_name",
    "version_id",
    "status",
    "status_name",
    "create_time",
    "duration",
    "version_count",
)

#: The fields of each version that ``ModelArtsListJobVersionsOperator`` pushes by default: which
#: version, how it went, where its output and logs are (about 560 bytes a row, against about 2 KB
#: with the metric lists and the full specification).
DEFAULT_VERSION_XCOM_FIELDS = (
    "version_id",
    "version_name",
    "pre_version_id",
    "status",
    "status_name",
    "create_time",
    "start_time",
    "duration",
    "engine_name",
    "engine_version",
    "parameter",
    "train_url",
    "log_url",
)


def _parse_time_validation(values: dict[str, Any], check: Any) -> None:
    """Run ``check`` on the values known at DAG parse time (the rest are checked once resolved)."""
    check(**{name: known_at_parse_time(value) for name, value in values.items()})


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


#: Why more jobs than those returned may match: ``"cut"`` when ``max_results`` dropped jobs that
#: were fetched, ``"full"`` when the last page came back full.
MoreMayMatch = Literal["cut", "full"] | None


def _more_may_match(pages: list[dict[str, Any]], filters: JobListFilters, max_results: int | None) -> MoreMayMatch:
    """Whether jobs beyond those returned may match, and why: the cut at ``max_results`` dropped
    some, or the last page came back full before the project's job total was reached (the API
    gives no count of matches, only ``job_total_count``, which counts every job of the project)."""
    fetched = sum(len(page.get("jobs") or []) for page in pages)
    if max_results is not None and fetched > max_results:
        return "cut"
    last = pages[-1].get("jobs") or []
    total = pages[0].get("job_total_count")
    reached = (filters.page - 1 + len(pages) - 1) * filters.per_page + len(last)
    full = len(last) >= filters.per_page and not (isinstance(total, int) and reached >= total)
    return "full" if full else None


class ModelArtsListTrainingJobsOperator(_ModelArtsOperator):
    """List ModelArts training jobs into XCom.

    Returns (XCom ``return_value``) the list of jobs, each a compact row of
    :data:`DEFAULT_JOB_XCOM_FIELDS` (``status_name`` added to the API's fields), and pushes
    ``job_total_count`` (every job in the project, not only the matches), ``job_count_limit`` and
    ``quotas`` as XCom keys. One page is returned unless ``fetch_all``; the log says when the page
    came back full, since more jobs may then match.

    :param status: only jobs whose latest version has this status code or name (templated).
    :param per_page: jobs per page, 1-1000 (templated).
    :param page: the page to fetch, 1-65535 (templated; with ``fetch_all``, the first page).
    :param sort_by: job_name, job_desc, status, duration, version_count, create_time or
        engine_type (templated).
    :param order: asc or desc (templated; asc when omitted).
    :param search_content: text matched against job names, at most 64 characters (templated).
    :param workspace_id: the workspace (templated; default: the connection's, else "0").
    :param fetch_all: False: the one page asked for; True: every page, 1000 jobs per request
        (not templated).
    :param max_results: stop after this many jobs (templated).
    :param xcom_fields: the fields of each job to push: ``None`` (default) for
        :data:`DEFAULT_JOB_XCOM_FIELDS`, ``"all"`` for the API's objects unchanged (plus
        ``status_name``), or a list of field names (not templated; a name no row has is logged as a
        warning, with the nearest field the rows have).

    The connection and API-retry arguments (``modelarts_conn_id``, ``region``, ``project_id``,
    ``modelarts_retry_*``) are those of :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin`.
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
        per_page: int | str = DEFAULT_PER_PAGE,
        page: int | str = 1,
        sort_by: str | None = None,
        order: str | None = None,
        search_content: str | None = None,
        workspace_id: str | None = None,
        fetch_all: bool = False,
        max_results: int | str | None = None,
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.require_literal(fetch_all, "fetch_all")
        self.require_literal(xcom_fields, "xcom_fields")
        self.xcom_fields: XComFields = validate_xcom_fields(xcom_fields)
        self.status = status
        self.per_page = per_page
        self.page = page
        self.sort_by = sort_by
        self.order = order
        self.search_content = search_content
        self.workspace_id = workspace_id
        self.fetch_all = fetch_all
        self.max_results = max_results
        validate_flag(fetch_all, "fetch_all")
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

    def _validate(self, max_results: object = None, **filters: Any) -> tuple[JobListFilters, int | None]:
        validated = JobListFilters.validate(**{key: value for key, value in filters.items() if value is not None})
        if self.fetch_all:
            validated = dataclasses.replace(validated, per_page=PER_PAGE_RANGE[1])
        return validated, validate_optional_positive_int(max_results, "max_results")

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
        jobs = [job_with_status_name(job) for page in pages for job in page.get("jobs") or []]
        more_may_match = _more_may_match(pages, filters, max_results)
        jobs = jobs[:max_results]
        first = pages[0]
        ti = context["ti"]
        for key in ("job_total_count", "job_count_limit", "quotas"):
            ti.xcom_push(key=key, value=first.get(key))
        self._log_summary(jobs, first, len(pages), filters, max_results, more_may_match)
        warn_missing_fields(self.log, jobs, self.xcom_fields)
        rows = [select_fields(job, self.xcom_fields, DEFAULT_JOB_XCOM_FIELDS) for job in jobs]
        warn_if_large(
            self.log,
            rows,
            "set max_results, filter with status or search_content, or keep fewer fields with "
            "xcom_fields=[...] (default: the compact fields; 'all' pushes the full API objects).",
        )
        return rows

    def _log_summary(
        self,
        jobs: list[dict[str, Any]],
        first: dict[str, Any],
        requests: int,
        filters: JobListFilters,
        max_results: int | None,
        more_may_match: MoreMayMatch,
    ) -> None:
        self.log.info("%d training job(s) returned, in %d request(s)", len(jobs), requests)
        if more_may_match:
            self.log.warning(self._more_may_match(filters, max_results, len(jobs), more_may_match))
        self.log.info(
            "The project has %s training job(s) in all (every job, not only these matches); quota %s, "
            "%s more can be created",
            first.get("job_total_count"),
            first.get("quotas"),
            first.get("job_count_limit"),
        )
        for job in jobs[:SUMMARY_LINES]:
            self.log.info(_describe_job(job))
        if len(jobs) > SUMMARY_LINES:
            self.log.info("  ... and %d more (all of them are in XCom)", len(jobs) - SUMMARY_LINES)

    def _more_may_match(
        self, filters: JobListFilters, max_results: int | None, returned: int, reason: MoreMayMatch
    ) -> str:
        if self.fetch_all:
            return (
                f"Stopped at max_results={max_results}: more jobs may match. Raise max_results, or narrow "
                "the filters (status, search_content)."
            )
        if reason == "cut":
            # The rest of this page was fetched and dropped: the next page would skip those jobs.
            return (
                f"Kept the first {returned} job(s) of page {filters.page}: max_results={max_results} cut the "
                f"page (per_page={filters.per_page}), and more jobs match. To get them, raise max_results or "
                "leave it out (with fetch_all=True it also reads the pages after this one), or narrow the "
                "filters (status, search_content)."
            )
        return (
            f"Page {filters.page} came back full ({returned} job(s), per_page={filters.per_page}): more jobs may "
            f"match. To get them, set fetch_all=True (with max_results to cap them), ask for page={filters.page + 1}, "
            f"or raise per_page (at most {PER_PAGE_RANGE[1]})."
        )


class ModelArtsListJobVersionsOperator(_ModelArtsOperator):
    """List the versions of a training job into XCom.

    Returns (XCom ``return_value``) the versions, newest first, each a compact row of
    :data:`DEFAULT_VERSION_XCOM_FIELDS` (``status_name`` added to the API's fields), and pushes
    ``{"job_id", "job_name", "job_desc", "version_count"}`` under the XCom key ``job``.

    :param job_id: the training job id (templated).
    :param per_page: versions per page, 1-1000 (templated). With neither ``per_page`` nor
        ``page``, every version is returned.
    :param page: the page, 1-65535 (templated).
    :param xcom_fields: the fields of each version to push: ``None`` (default) for
        :data:`DEFAULT_VERSION_XCOM_FIELDS`, ``"all"`` for the API's objects unchanged (plus
        ``status_name``; about 2 KB a version, mostly ``system_metric_list``), or a list of field names
        (not templated; a name no row has is logged as a warning, with the nearest field the rows have).

    The connection and API-retry arguments (``modelarts_conn_id``, ``region``, ``project_id``,
    ``modelarts_retry_*``) are those of :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin`.
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
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.per_page = per_page
        self.page = page
        self.require_literal(xcom_fields, "xcom_fields")
        self.xcom_fields: XComFields = validate_xcom_fields(xcom_fields)
        _parse_time_validation({"per_page": per_page, "page": page}, list_versions_query)
        if not resolved_at_runtime(job_id):
            validate_id(job_id, "job_id")

    def execute(self, context: Context) -> list[dict[str, Any]]:
        job_id = validate_id(self.job_id, "job_id")
        list_versions_query(self.per_page, self.page)
        hook = self.hook()
        try:
            body = hook.list_job_versions(job_id, self.per_page, self.page)
            persist_console_link(context, hook, job_id, None, operator=self)
        finally:
            hook.close()
        versions = [job_with_status_name(version) for version in body.get("versions") or []]
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
        warn_missing_fields(self.log, versions, self.xcom_fields)
        rows = [select_fields(version, self.xcom_fields, DEFAULT_VERSION_XCOM_FIELDS) for version in versions]
        warn_if_large(
            self.log,
            rows,
            "page with per_page and page, or keep fewer fields with xcom_fields=[...] "
            "(default: the compact fields; 'all' pushes the full API objects).",
        )
        return rows
