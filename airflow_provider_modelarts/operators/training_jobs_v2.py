"""Operators for ModelArts v2 training jobs (UUID ids, string phases): search them into XCom."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.validation import validate_flag, validate_optional_positive_int
from airflow_provider_modelarts.operators.base import _ModelArtsOperator
from airflow_provider_modelarts.operators.training_jobs import SUMMARY_LINES
from airflow_provider_modelarts.utils.mixins import resolved_at_runtime
from airflow_provider_modelarts.utils.xcom import XComFields, select_fields, validate_xcom_fields, warn_if_large

if TYPE_CHECKING:
    from airflow.sdk import Context

#: The fields of each job that ``ModelArtsSearchTrainingJobsOperator`` pushes by default: every
#: field of :func:`~airflow_provider_modelarts.cloud.v2.job_row` (about 450 bytes a row).
DEFAULT_V2_JOB_XCOM_FIELDS: tuple[str, ...] = tuple(v2.job_row({}))

# The search's arguments and the values that stand in for them, at DAG parse time, while Airflow
# has yet to resolve them (their defaults, or None for the optional ones).
_SEARCH_DEFAULTS: dict[str, Any] = {
    "phase": None,
    "name": None,
    "filters": None,
    "sort_by": v2.DEFAULT_SORT_BY,
    "order": v2.DEFAULT_ORDER,
    "limit": v2.DEFAULT_LIMIT,
    "offset": 0,
    "workspace_id": None,
}


def _has_runtime_value(value: object) -> bool:
    """Whether ``value``, or anything inside it (filters hold lists of mappings), is resolved at run time."""
    if resolved_at_runtime(value):
        return True
    if isinstance(value, Mapping):
        return any(_has_runtime_value(item) for item in value.values())
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return any(_has_runtime_value(item) for item in value)
    return False


def _describe_job(row: Mapping[str, Any]) -> str:
    created, duration = row.get("create_time"), row.get("duration")
    created_text = (
        pendulum.from_timestamp(created / 1000, tz="UTC").to_datetime_string() if isinstance(created, int) else "-"
    )
    duration_text = (
        pendulum.duration(seconds=round(duration / 1000)).in_words() or "0 seconds"
        if isinstance(duration, int)
        else "-"
    )
    phase = row.get("phase") or "-"
    return f"  {row.get('id')}  {row.get('name')}  {phase}  created {created_text} UTC  ran {duration_text}"


class ModelArtsSearchTrainingJobsOperator(_ModelArtsOperator):
    """Search ModelArts v2 training jobs into XCom (the v2 counterpart of
    :class:`~airflow_provider_modelarts.operators.training_jobs.ModelArtsListTrainingJobsOperator`).

    Returns (XCom ``return_value``) the matching jobs, each a compact row
    (:func:`~airflow_provider_modelarts.cloud.v2.job_row`: ``id``, ``name``, ``kind``, ``phase``,
    ``secondary_phase``, ``create_time``, ``start_time``, ``duration``, ``flavor``, ``node_count``,
    ``pool_id``, ``workspace_id``, ``user_name``, ``tasks``; times in epoch milliseconds), and
    pushes the XCom keys ``total`` (every job of the workspace) and ``count`` (the jobs that
    match). One page is returned unless ``fetch_all``; the log warns when more jobs may match.

    :param phase: one phase or several (Creating, Pending, Running, Terminating, Completed,
        Failed, Terminated, Abnormal; any case) (templated).
    :param name: part of a job name, at most 64 characters (templated).
    :param filters: further conditions ``{"key", "operator", "value": [str, ...]}`` (templated);
        keys name, create_time, phase, algorithm_name, kind, user_id, runtime_type; operators
        between, like, in, not.
    :param sort_by: the field to sort by (templated; default ``create_time``).
    :param order: ``desc`` (default) or ``asc`` (templated).
    :param limit: jobs per page, 1-50 (templated; with ``fetch_all``, always 50).
    :param offset: the page number, 0 for the first page (templated; with ``fetch_all``, the first
        page fetched).
    :param workspace_id: ``"0"`` or a 32-character workspace id (templated; default: the
        connection's, else the default workspace).
    :param fetch_all: False: the one page asked for; True: every page, 50 jobs per request.
    :param max_results: stop after this many jobs (templated).
    :param xcom_fields: the fields of each job to push: ``None`` (default) for the compact row,
        ``"all"`` for the API's job objects unchanged, or a list of row field names.

    The connection and API-retry arguments (``modelarts_conn_id``, ``region``, ``project_id``,
    ``modelarts_retry_*``) are those of :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin`.
    """

    template_fields: Sequence[str] = (
        "phase",
        "name",
        "filters",
        "sort_by",
        "order",
        "limit",
        "offset",
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
        phase: str | Sequence[str] | None = None,
        name: str | None = None,
        filters: Sequence[Mapping[str, Any]] | str | None = None,
        sort_by: str = v2.DEFAULT_SORT_BY,
        order: str = v2.DEFAULT_ORDER,
        limit: int | str = v2.DEFAULT_LIMIT,
        offset: int | str = 0,
        workspace_id: str | None = None,
        fetch_all: bool = False,
        max_results: int | str | None = None,
        xcom_fields: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.phase = phase
        self.name = name
        self.filters = filters
        self.sort_by = sort_by
        self.order = order
        self.limit = limit
        self.offset = offset
        self.workspace_id = workspace_id
        self.fetch_all = fetch_all
        self.max_results = max_results
        self.xcom_fields: XComFields = validate_xcom_fields(xcom_fields)
        validate_flag(fetch_all, "fetch_all")
        # Refuse bad literal values now; the ones Airflow resolves are checked in execute.
        self._validate(
            {
                name: _SEARCH_DEFAULTS.get(name) if _has_runtime_value(value) else value
                for name, value in self._arguments().items()
            }
        )

    def _arguments(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "name": self.name,
            "filters": self.filters,
            "sort_by": self.sort_by,
            "order": self.order,
            "limit": self.limit,
            "offset": self.offset,
            "workspace_id": self.workspace_id,
            "max_results": self.max_results,
        }

    def _validate(self, arguments: dict[str, Any]) -> tuple[v2.JobSearch, int | None]:
        search_arguments = {key: value for key, value in arguments.items() if key != "max_results"}
        if self.fetch_all:
            search_arguments["limit"] = v2.LIMIT_RANGE[1]
        search = v2.JobSearch.validate(**search_arguments)
        return search, validate_optional_positive_int(arguments.get("max_results"), "max_results")

    def execute(self, context: Context) -> list[dict[str, Any]]:
        search, max_results = self._validate(self._arguments())
        hook = self.hook()
        try:
            if self.fetch_all:
                pages = list(hook.iter_training_job_search_pages(search, max_results))
            else:
                pages = [hook.search_training_jobs_page(search)]
        finally:
            hook.close()
        jobs = _first_sightings(pages)
        fetched = len(jobs)
        jobs = jobs[:max_results]
        first = pages[0]
        count = first.get("count")
        ti = context["ti"]
        ti.xcom_push(key="total", value=first.get("total"))
        ti.xcom_push(key="count", value=count)
        self.log.info(
            "%d v2 training job(s) returned, in %d request(s), of %s matching (%s in the workspace)",
            len(jobs),
            len(pages),
            count,
            first.get("total"),
        )
        more = self._more_may_match(search, max_results, fetched, len(jobs), len(pages), count)
        if more:
            self.log.warning(more)
        rows = [v2.job_row(job) for job in jobs]
        for row in rows[:SUMMARY_LINES]:
            self.log.info(_describe_job(row))
        if len(rows) > SUMMARY_LINES:
            self.log.info("  ... and %d more (all of them are in XCom)", len(rows) - SUMMARY_LINES)
        if self.xcom_fields == "all":
            value = jobs
        else:
            value = [select_fields(row, self.xcom_fields, DEFAULT_V2_JOB_XCOM_FIELDS) for row in rows]
        warn_if_large(
            self.log,
            value,
            "set max_results, narrow the search with phase, name or filters, or keep fewer fields with "
            "xcom_fields=[...] (default: the compact rows; 'all' pushes the full API objects).",
        )
        return value

    def _more_may_match(
        self,
        search: v2.JobSearch,
        max_results: int | None,
        fetched: int,
        returned: int,
        requests: int,
        count: object,
    ) -> str | None:
        """The warning to log when jobs beyond those returned may match, else ``None``."""
        if max_results is not None and fetched > max_results:
            return (
                f"Stopped at max_results={max_results}: {count} job(s) match. Raise max_results, or narrow "
                "the search (phase, name, filters)."
            )
        if self.fetch_all:
            return None
        if returned < search.limit:
            return None
        if isinstance(count, int) and (search.offset + 1) * search.limit >= count:
            return None
        return (
            f"Page {search.offset} came back full ({returned} job(s), limit={search.limit}) and {count} job(s) "
            f"match: more jobs may match. To get them, set fetch_all=True (with max_results to cap them), ask for "
            f"offset={search.offset + 1}, or raise limit (at most {v2.LIMIT_RANGE[1]})."
        )


def _first_sightings(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs of the pages, each once (a job created while paging shifts later pages by one)."""
    seen: set[object] = set()
    jobs = []
    for page in pages:
        for job in page.get("items") or []:
            if not isinstance(job, Mapping):
                continue
            job_id = v2.job_row(job)["id"]
            if job_id not in seen:
                seen.add(job_id)
                jobs.append(dict(job))
    return jobs
