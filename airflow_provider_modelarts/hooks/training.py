"""The training-job endpoints of :class:`~airflow_provider_modelarts.hooks.modelarts.ModelArtsHook`:
v1 ("old-version") jobs with integer ids and versions, and v2 jobs (every job created since
2023-06-30) with UUID ids and phases, one short method per endpoint.

Each API's paths, parameters and error codes are in :mod:`airflow_provider_modelarts.cloud.v1`
and :mod:`airflow_provider_modelarts.cloud.v2`; a create whose answer was lost is recovered by
:mod:`airflow_provider_modelarts.hooks.recovery` (docs/durable-execution.md).

.. seealso:: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0046.html
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_modelarts.cloud import v1, v2
from airflow_provider_modelarts.cloud.v2.create import ValidatedJob
from airflow_provider_modelarts.cloud.validation import coerce_int, validate_optional_positive_int
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsDuplicateJobNameError,
    ModelArtsJobEndedError,
)
from airflow_provider_modelarts.hooks import paging, recovery
from airflow_provider_modelarts.hooks.base import LIST_KEY, ModelArtsBaseHook


class TrainingJobsApi(ModelArtsBaseHook):
    """The v1 and v2 training-job endpoints; use them through ``ModelArtsHook``."""

    # ------------------------------------------------------------------ public API

    def list_training_jobs(
        self,
        status: int | str | None = None,
        per_page: int | str = v1.DEFAULT_PER_PAGE,
        page: int | str = 1,
        sort_by: str | None = None,
        order: str | None = None,
        search_content: str | None = None,
        workspace_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of training jobs: the response body as the API returns it.

        :param status: only jobs whose latest version has this status code (0-22).
        :param per_page: jobs per page, 1-1000.
        :param page: page number, 1-65535.
        :param sort_by: job_name, job_desc, status, duration, version_count, create_time or
            engine_type; sent as ``sortBy`` (AK/SK) or ``sort_by`` (token), as the API expects.
        :param order: asc or desc. Always sent (asc when omitted): the docs disagree on the default.
        :param search_content: free text matched against job names, at most 64 characters.
        :param workspace_id: overrides the hook's and the connection's workspace.
        :return: ``{"is_success", "job_total_count", "job_count_limit", "quotas", "jobs": [...]}``
        """
        filters = v1.JobListFilters.validate(status, per_page, page, sort_by, order, search_content, workspace_id)
        return self.list_training_jobs_page(filters)

    def list_training_jobs_page(self, filters: v1.JobListFilters) -> dict[str, Any]:
        """:meth:`list_training_jobs` for already validated filters."""
        if filters.workspace_id is None and self.settings.workspace_id is not None:
            filters = dataclasses.replace(filters, workspace_id=self.settings.workspace_id)
        query = filters.query(v1.sort_param_for(self.settings.auth_type))
        return self._get(v1.training_jobs_path(self.settings.project_id), query)

    def iter_training_jobs(
        self,
        status: int | str | None = None,
        sort_by: str | None = None,
        order: str | None = None,
        search_content: str | None = None,
        workspace_id: str | None = None,
        per_page: int | str = v1.PER_PAGE_RANGE[1],
        max_results: int | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching job across pages, fetched lazily (N jobs cost ceil(N / per_page) requests);
        arguments are validated at the call. Parameters as :meth:`list_training_jobs`, plus
        ``max_results``, the most jobs returned."""
        filters = v1.JobListFilters.validate(status, per_page, 1, sort_by, order, search_content, workspace_id)
        limit = validate_optional_positive_int(max_results, "max_results")
        return self._iter_jobs(filters, limit)

    def iter_training_job_pages(
        self, filters: v1.JobListFilters, max_results: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each page's response body, from ``filters.page`` on, until every job (or
        ``max_results`` jobs) was returned. Operators use it to keep the page's counters."""
        return paging.v1_pages(self.list_training_jobs_page, filters, max_results)

    def list_job_versions(
        self, job_id: int | str, per_page: int | str | None = None, page: int | str | None = None
    ) -> dict[str, Any]:
        """The versions of a job, newest first; every version when neither ``per_page`` nor
        ``page`` is given (the API's ``page=0`` rule).

        :return: ``{"is_success", "job_id", "job_name", "job_desc", "version_count", "versions": [...]}``
        """
        job = v1.validate_id(job_id, "job_id")
        query = v1.list_versions_query(per_page, page)
        return self._get(v1.job_versions_path(self.settings.project_id, job), query)

    def get_job_version(self, job_id: int | str, version_id: int | str) -> dict[str, Any]:
        """The details of one version of a job: a flat object, as the API returns it."""
        job = v1.validate_id(job_id, "job_id")
        version = v1.validate_id(version_id, "version_id")
        return self._get(v1.job_version_path(self.settings.project_id, job, version), [])

    # ------------------------------------------------------------------ v2 training jobs

    def get_training_job(self, training_job_id: str) -> dict[str, Any]:
        """A v2 training job (``GET /v2/{project_id}/training-jobs/{id}``), as the API returns it.

        :param training_job_id: the job's UUID.
        :raises ModelArtsNotFoundError: the job does not exist (``ModelArts.2775``).
        """
        job_id = v2.validate_training_job_id(training_job_id)
        path = v2.training_job_path(self.settings.project_id, job_id)
        return self.request("GET", path, idempotent=True, error_table=v2.ERROR_TABLE)

    def search_training_jobs(
        self,
        phase: str | Iterable[str] | None = None,
        name: str | None = None,
        filters: Iterable[Mapping[str, Any] | v2.SearchFilter] | None = None,
        sort_by: str = v2.DEFAULT_SORT_BY,
        order: str = v2.DEFAULT_ORDER,
        limit: int | str = v2.DEFAULT_LIMIT,
        offset: int | str = 0,
        workspace_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of v2 training jobs (``POST /v2/{project_id}/training-job-searches``): the
        response body as the API returns it.

        :param phase: one phase or several (Creating, Pending, Running, Terminating, Completed,
            Failed, Terminated, Abnormal); sent as ``{"key": "phase", "operator": "in"}``.
        :param name: part of a job name; sent as ``{"key": "name", "operator": "like"}``.
        :param filters: further conditions ``{"key", "operator", "value": [str, ...]}``; keys
            name, create_time, phase, algorithm_name, kind, user_id, runtime_type; operators
            between, like, in, not.
        :param sort_by: the field to sort by, ``create_time`` by default.
        :param order: ``desc`` (default) or ``asc``.
        :param limit: jobs per page, 1-50.
        :param offset: the page number, 0 for the first page (the API's meaning of ``offset``).
        :param workspace_id: ``"0"`` or a 32-character workspace id; defaults to the hook's and
            then the connection's workspace, else the API's default workspace.
        :return: ``{"total", "count", "limit", "offset", "sort_by", "order", "workspace_id",
            "items": [job, ...], ...}``; ``count`` is the number of matches.
        """
        search = v2.JobSearch.validate(phase, name, filters, sort_by, order, limit, offset, workspace_id)
        return self.search_training_jobs_page(search)

    def search_training_jobs_page(self, search: v2.JobSearch) -> dict[str, Any]:
        """:meth:`search_training_jobs` for an already validated search."""
        if search.workspace_id is None and self.settings.workspace_id is not None:
            workspace = v2.validate_workspace_id(
                self.settings.workspace_id, f"workspace_id (of the hook or connection {self.modelarts_conn_id!r})"
            )
            search = dataclasses.replace(search, workspace_id=workspace)
        path = v2.training_job_searches_path(self.settings.project_id)
        return self.request("POST", path, json_body=search.body(), idempotent=True, error_table=v2.ERROR_TABLE)

    def iter_training_jobs_v2(
        self,
        phase: str | Iterable[str] | None = None,
        name: str | None = None,
        filters: Iterable[Mapping[str, Any] | v2.SearchFilter] | None = None,
        sort_by: str = v2.DEFAULT_SORT_BY,
        order: str = v2.DEFAULT_ORDER,
        workspace_id: str | None = None,
        limit: int | str = v2.DEFAULT_LIMIT,
        max_results: int | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every v2 job that matches, fetched lazily (C matches cost ceil(C / limit) requests), each
        once; arguments are validated at the call. Parameters as :meth:`search_training_jobs`,
        plus ``max_results``, the most jobs returned."""
        search = v2.JobSearch.validate(phase, name, filters, sort_by, order, limit, 0, workspace_id)
        most = validate_optional_positive_int(max_results, "max_results")
        return self._iter_v2_jobs(search, most)

    def iter_training_job_search_pages(
        self, search: v2.JobSearch, max_results: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each search page's body, from page ``search.offset`` on, until every match (or
        ``max_results`` jobs) was returned; a page with no new job also ends it (a server that
        ignored ``offset`` cannot keep it paging)."""
        return paging.search_pages(self.search_training_jobs_page, search, max_results)

    # ------------------------------------------------------------------ v2 job lifecycle

    def create_training_job(self, job: Mapping[str, Any] | ValidatedJob) -> dict[str, Any]:
        """Create a v2 training job (``POST /v2/{project_id}/training-jobs``, answered with 201 and
        the job object) and return the job object.

        A plain mapping is checked first (:meth:`ValidatedJob.validate`: nothing is sent for a bad
        one); a :class:`ValidatedJob` is sent as it is. ``job`` is never changed. A create is never
        resent blindly: after an attempt without a clear answer the job is looked for by its exact
        name (:meth:`find_training_jobs_by_name`) and returned if found, else the body is sent
        again (at most ``retry_limit`` more times), so one call makes at most one job. A 2751 on
        such a resend returns the job of that name; any other 2751 raises. Details and the
        reasons: docs/durable-execution.md ("Creating a job").

        :param job: the create body (``kind``, ``metadata``, ``algorithm``, ``spec``, ...).
        :return: the created (or, after an ambiguous failure, the found) job object.
        :raises ModelArtsValidationError: the body breaks a documented rule (nothing was sent).
        :raises ModelArtsDuplicateJobNameError: the name is taken.
        :raises ModelArtsTransportError: no attempt got a clear answer, the job was not found
            after the last one, or checking for it failed.
        """
        body = ValidatedJob.validate(job).body
        name = v2.job_name_of(body)
        workspace = body["metadata"].get("workspace_id")
        path = v2.training_jobs_path(self.settings.project_id)
        return recovery.create_once(
            self,
            recovery.Create(
                what=f"training job {name!r}",
                noun="job",
                identity=f"named {name!r}",
                key="name",
                send=lambda: self.request("POST", path, json_body=body, idempotent=False, error_table=v2.ERROR_TABLE),
                find=lambda: self._find_created_job(name, workspace),
                duplicate_codes=(v2.DUPLICATE_NAME_CODE,),
                duplicate=lambda error: ModelArtsDuplicateJobNameError(name, error),
            ),
        )

    def find_training_jobs_by_name(self, name: str, workspace_id: str | None = None) -> list[dict[str, Any]]:
        """The v2 jobs whose ``metadata.name`` is exactly ``name``, newest first.

        The search's ``name`` condition is a ``like`` (``"train"`` also matches
        ``"train-2"``), so every page of matches is read and only exact names are kept: C
        matches cost ceil(C / 50) requests (one when there are none).

        :param name: a whole job name (1-64 letters, digits, ``_`` or ``-``).
        :param workspace_id: ``"0"`` or a 32-character workspace id; defaults to the hook's and
            then the connection's workspace.
        """
        job_name = v2.validate_job_name(name, "name")
        search = v2.JobSearch.validate(name=job_name, workspace_id=workspace_id)
        return [job for job in self._iter_v2_jobs(search, None) if v2.job_row(job)["name"] == job_name]

    def terminate_training_job(self, training_job_id: str) -> dict[str, Any]:
        """Terminate a v2 job (``POST .../training-jobs/{id}/actions``, ``{"action_type": "terminate"}``).
        Sent as idempotent: a resend that finds the job ending gets ``ModelArts.2796``, as below.

        :return: the job object (its phase is usually Terminating).
        :raises ModelArtsJobEndedError: ``ModelArts.2796``: the job already ended or is terminating.
        :raises ModelArtsNotFoundError: no such job (``ModelArts.2775``).
        """
        job_id = v2.validate_training_job_id(training_job_id)
        path = v2.training_job_actions_path(self.settings.project_id, job_id)
        try:
            return self.request(
                "POST", path, json_body=dict(v2.TERMINATE_ACTION), idempotent=True, error_table=v2.ERROR_TABLE
            )
        except ModelArtsApiError as error:
            if error.error_code == v2.NOT_ALLOWED_TO_TERMINATE_CODE:
                raise ModelArtsJobEndedError(job_id, error) from None
            raise

    def delete_training_job(self, training_job_id: str) -> None:
        """Delete a v2 job (``DELETE .../training-jobs/{id}``, answered with 202 and no body). After
        an unclear answer the job is read: gone is success, still there sends the delete again once.

        :raises ModelArtsNotFoundError: no such job (``ModelArts.2775``).
        """
        job_id = v2.validate_training_job_id(training_job_id)
        path = v2.training_job_path(self.settings.project_id, job_id)
        recovery.delete_once(
            self,
            f"training job {job_id}",
            lambda idempotent: self.request("DELETE", path, idempotent=idempotent, error_table=v2.ERROR_TABLE),
            lambda: self.get_training_job(job_id),
        )

    def list_training_job_tasks(self, training_job_id: str) -> list[dict[str, Any]]:
        """A job's tasks (``GET .../training-jobs/{id}/tasks``): ``[{"task", "ip", "host_ip",
        "schedule_count"}, ...]``, from the API's JSON array (or an object's ``items``/``tasks``)."""
        job_id = v2.validate_training_job_id(training_job_id)
        url = self.settings.endpoint + v2.training_job_tasks_path(self.settings.project_id, job_id)
        answer = self._exchange("GET", url, idempotent=True, error_table=v2.ERROR_TABLE, list_body=True)
        tasks: list[Any] = next(
            (answer.body[key] for key in (LIST_KEY, "items", "tasks") if isinstance(answer.body.get(key), list)), []
        )
        return [dict(task) for task in tasks if isinstance(task, Mapping)]

    def read_training_job_log(
        self,
        training_job_id: str,
        task_id: str,
        base_line: str | None = None,
        lines: int = v2.DEFAULT_LOG_LINES,
        order: str = v2.DEFAULT_LOG_ORDER,
    ) -> v2.TaskLogPage | None:
        """One page of a task's log from AOM (``GET .../training-jobs/{id}/logs/{task_id}``); to
        follow a log, every line once, use :meth:`follow_training_job_log`.

        :param task_id: a task name from ``status.tasks``: ``worker-0``, ``worker-1``, ...
        :param base_line: a position from an earlier page (``end_line`` to read on); ``None``
            sends no ``base_line`` (the service then starts from the newest log, per the docs).
        :param lines: 1-500 lines per page.
        :param order: ``asc`` (oldest to newest) or ``desc`` (newest to oldest).
        :return: the page, or ``None`` while the log does not exist yet (HTTP 204 /
            ``ModelArts.2776``, or ``ModelArts.2818``): never an error.
        """
        job_id = v2.validate_training_job_id(training_job_id)
        task = v2.validate_task_id(task_id)
        cursor = v2.validate_base_line(base_line)
        count = v2.validate_log_lines(lines)
        direction = v2.validate_order(order)
        url = self.settings.endpoint + v2.training_job_aom_logs_path(self.settings.project_id, job_id, task)
        body = self._log_body(url, v2.log_query(cursor, count, direction))
        return v2.TaskLogPage.from_body(body) if body is not None else None

    def _log_body(self, url: str, query: Sequence[tuple[str, str]] | None = None) -> dict[str, Any] | None:
        """A log read's answer body, or ``None`` while the log does not exist yet (204, or the
        "not ready" codes the API answers for a log not generated yet)."""
        try:
            answer = self._exchange("GET", url, query=query, idempotent=True, error_table=v2.ERROR_TABLE)
        except ModelArtsApiError as error:
            if error.error_code in v2.LOG_NOT_READY_CODES:
                return None
            raise
        if answer.status == 204 or answer.body.get("error_code") in v2.LOG_NOT_READY_CODES:
            return None
        return answer.body

    def follow_training_job_log(
        self, training_job_id: str, task_id: str, cursor: v2.TaskLogCursor | None = None
    ) -> tuple[v2.TaskLogCursor, list[str]]:
        """The lines of a task's log not returned before, in order, and the cursor to pass next
        time (see :class:`v2.TaskLogCursor`). One request per call; a full first page also reads
        the older lines (at most :data:`v2.MAX_BACKFILL_PAGES` pages).

        :param cursor: what the previous call returned; ``None`` to start at the first line.
        """
        current = cursor or v2.TaskLogCursor()
        page = self.read_training_job_log(
            training_job_id, task_id, current.base_line, current.page_size, v2.DEFAULT_LOG_ORDER
        )
        following, lines = current.advance(page)
        first_call = current.base_line is None and not current.lines_read
        if not first_call or page is None or page.line_count < current.page_size:
            return following, lines
        # A full first page: older lines may exist (the cursor's point 1). Read them first.
        older, complete = v2.read_older_lines(
            lambda base_line: self.read_training_job_log(
                training_job_id, task_id, base_line, current.page_size, "desc"
            ),
            page,
            current.page_size,
        )
        if not complete:
            self.log.warning(
                "Task %s of training job %s: only the last %d lines of its log are shown",
                task_id,
                training_job_id,
                len(older) + len(lines),
            )
        return dataclasses.replace(following, lines_read=following.lines_read + len(older)), older + lines

    @property
    def log_api(self) -> str:
        """Which API reads task logs: ``aom``, ``preview`` or ``auto`` (the default): the
        connection's ``log_api`` (see :mod:`airflow_provider_modelarts.waiting.logs`).

        :raises ModelArtsConnectionConfigError: the connection gives another value.
        """
        return self.settings.log_api

    def read_training_job_log_preview(self, training_job_id: str, task_id: str) -> v2.TaskLogPreview | None:
        """A task's log preview (``GET .../training-jobs/{id}/tasks/{task_id}/logs/preview``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowTrainingJobLogsPreview.html):
        the whole log up to 5 MB, else its newest 5 MB. To follow a log through it use
        :class:`~airflow_provider_modelarts.waiting.logs.JobLogFollower`.

        :param training_job_id: the job's UUID.
        :param task_id: a task name from ``status.tasks``: ``worker-0``, ``server-0``, ...
        :return: the preview, or ``None`` while the log does not exist yet (HTTP 204 /
            ``ModelArts.2776``, or ``ModelArts.2818``): never an error.
        :raises ModelArtsValidationError: a bad job id or task name (nothing is sent).
        :raises ModelArtsApiError: (or a subclass) for an error answer, e.g. ``ModelArts.2775``
            (no such job) as :class:`ModelArtsNotFoundError`.
        """
        job_id = v2.validate_training_job_id(training_job_id)
        task = v2.validate_task_id(task_id)
        url = self.settings.endpoint + v2.training_job_log_preview_path(self.settings.project_id, job_id, task)
        body = self._log_body(url)
        return v2.TaskLogPreview.from_body(body) if body is not None else None

    def list_training_job_events(
        self,
        training_job_id: str,
        offset: int | str = 0,
        limit: int | str = v2.DEFAULT_EVENTS_LIMIT,
        order: str | None = None,
        start_time: str | int | None = None,
        end_time: str | int | None = None,
        level: str | None = None,
        pattern: str | None = None,
        source: str | None = None,
    ) -> list[dict[str, Any]]:
        """One page of a job's events (``GET .../training-jobs/{id}/events``,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobEvents.html):
        ``[{"time", "level", "message", "source"}, ...]`` as the API returns them (``time`` is
        an ISO 8601 time with its UTC offset, e.g. ``2022-11-26T16:03:41+08:00``).

        :param training_job_id: the job's UUID.
        :param offset: the page, 0 for the first (the SDK reads it as a page number).
        :param limit: events per page, 1-100 (the API's default is 50).
        :param order: ``asc`` or ``desc`` (by time); ``None`` leaves it to the API.
        :param start_time: with ``end_time`` only: the events between the two (epoch
            milliseconds, as in the documented example request).
        :param end_time: see ``start_time``.
        :param level: ``Info``, ``Warning`` or ``Error`` (any case).
        :param pattern: text the event's message contains (at most 256 characters).
        :param source: ``K8S``, ``Job`` or ``Task`` (any case).
        :raises ModelArtsValidationError: a bad argument, named (nothing is sent).
        :raises ModelArtsApiError: (or a subclass) for an error answer, e.g. ``ModelArts.2775``
            (no such job) as :class:`ModelArtsNotFoundError`.
        """
        job_id = v2.validate_training_job_id(training_job_id)
        query = v2.EventQuery.validate(offset, limit, order, start_time, end_time, level, pattern, source)
        path = v2.training_job_events_path(self.settings.project_id, job_id)
        body = self.request("GET", path, query=query.query(), idempotent=True, error_table=v2.ERROR_TABLE)
        return v2.event_rows(body)

    def list_auto_search_trials(
        self, training_job_id: str, limit: int | str = v2.TRIALS_PAGE_LIMIT
    ) -> list[dict[str, Any]]:
        """Every trial of an auto search (hyperparameter search) job
        (``GET .../training-jobs/{id}/autosearch-trials``, one page of ``limit`` per request,
        https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowAutoSearchTrials.html), each
        a row by column name (:func:`v2.trial_rows`), cells as the API gives them. T trials cost
        ceil((T + 1) / limit) requests at most.

        :param training_job_id: the job's UUID.
        :param limit: trials per request, 1-100.
        :return: the trials (none for a job that does not search, or has not started).
        :raises ModelArtsValidationError: a bad job id or limit (nothing is sent).
        :raises ModelArtsApiError: (or a subclass) for an error answer, e.g. ``ModelArts.2775``
            (no such job) as :class:`ModelArtsNotFoundError`.
        """
        job_id = v2.validate_training_job_id(training_job_id)
        size = coerce_int(limit, "limit", 1, 100)
        path = v2.training_job_autosearch_trials_path(self.settings.project_id, job_id)

        def fetch(offset: int) -> dict[str, Any]:
            query = [("limit", str(size)), ("offset", str(offset))]
            return self.request("GET", path, query=query, idempotent=True, error_table=v2.ERROR_TABLE)

        return paging.trial_rows(fetch, size)

    # ------------------------------------------------------------------ internals

    def _iter_jobs(self, filters: v1.JobListFilters, limit: int | None) -> Iterator[dict[str, Any]]:
        return paging.v1_jobs(self.iter_training_job_pages(filters, limit), limit)

    def _iter_v2_jobs(self, search: v2.JobSearch, most: int | None) -> Iterator[dict[str, Any]]:
        return paging.first_sightings(self.iter_training_job_search_pages(search, most), most)

    def _find_created_job(self, name: str, workspace: str | None) -> dict[str, Any] | None:
        """Whether this call's own create landed: the job of the exact name it sent (newest), if any.
        Transport-level only; which earlier jobs belong to a task instance is the submission
        planner's question (docs/durable-execution.md)."""
        found = self.find_training_jobs_by_name(name, workspace)
        if not found:
            return None
        if len(found) > 1:
            self.log.warning("%d training jobs are named %r: using the newest", len(found), name)
        self.log.warning("Training job %r has id %s", name, v2.job_row(found[0])["id"])
        return found[0]
