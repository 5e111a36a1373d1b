"""``ModelArtsHook``: authenticated calls to the ModelArts v1 and v2 training-job APIs.

The hook owns transport: one ``requests.Session`` (connection reuse), a timeout on every request,
and one request path, :meth:`ModelArtsHook.request`, for any method, under a tenacity retry policy
(exponential backoff with jitter, ``Retry-After`` honoured). Idempotent requests are retried after
connection errors, timeouts, cut-off or unreadable bodies, 429 and the retryable 5xx; a request
that is not idempotent is never sent twice once it may have reached the server. Nothing retries
401/403: the gateway locks an AK for five minutes after more than five bad signatures in a row.

Authentication lives in :mod:`airflow_provider_modelarts.cloud.auth`, the retry policy and error parsing
in :mod:`airflow_provider_modelarts.cloud.transport`, each API's paths, parameters and error codes in
:mod:`airflow_provider_modelarts.cloud.v1` and :mod:`airflow_provider_modelarts.cloud.v2`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import pendulum
import requests
import tenacity
from airflow.providers.common.compat.sdk import BaseHook
from airflow.sdk.log import mask_secret

from airflow_provider_modelarts import __version__
from airflow_provider_modelarts.cloud import retry as retry_policy
from airflow_provider_modelarts.cloud import transport, v1, v2
from airflow_provider_modelarts.cloud.auth import (
    HEADER_SUBJECT_TOKEN,
    AkSkAuth,
    IamToken,
    IamTokenAuth,
    IamTokenCache,
    canonical_query,
)
from airflow_provider_modelarts.cloud.endpoints import IAM_TOKENS_PATH
from airflow_provider_modelarts.cloud.transport import parse_iam_token_times
from airflow_provider_modelarts.cloud.validation import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    HOOK_RETRY_PARAMETERS,
    coerce_int,
    validate_name,
    validate_optional_positive_int,
    validate_region,
    validate_retry_settings,
)
from airflow_provider_modelarts.connection import form as connection_form
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.connection.settings import (
    AUTH_AKSK,
    CONN_TYPE,
    ConnectionSettings,
    settings_from_connection,
)
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsDuplicateJobNameError,
    ModelArtsError,
    ModelArtsJobEndedError,
    ModelArtsNotFoundError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsTransportError,
    join_sentences,
)
from airflow_provider_modelarts.version_compat import get_connection_quietly

if TYPE_CHECKING:
    from airflow.sdk import Connection

USER_AGENT = f"airflow-provider-modelarts/{__version__}"
_IAM_CONTENT_TYPE = "application/json;charset=utf8"
# Where _decode puts a JSON array answer (only for calls that document one).
_LIST_KEY = "__list__"
_T = TypeVar("_T")
# Pages of auto search trials read at most (the SDK allows 100 trials per job at 1-100 a page).
_MAX_TRIAL_PAGES = 100


@dataclasses.dataclass(frozen=True)
class ApiResponse:
    """A successful answer: its HTTP status, headers and JSON object."""

    status: int
    headers: Mapping[str, str]
    body: dict[str, Any]


class ModelArtsHook(BaseHook):
    """Interact with Huawei Cloud ModelArts training jobs: v1 ("old-version") jobs with integer
    ids and versions, and v2 jobs (every job created since 2023-06-30) with UUID ids and phases.

    Reads the Airflow connection lazily, on the first call: constructing the hook does no I/O.

    :param modelarts_conn_id: the id of a connection of type ``modelarts``.
    :param region: overrides the connection's ``region``.
    :param project_id: overrides the connection's ``project_id``.
    :param workspace_id: overrides the connection's ``workspace_id`` (the default workspace for
        job queries).
    :param retry_limit: how many times a retryable failure is retried (0 disables retries).
    :param retry_delay: the first backoff delay in seconds; it doubles on each retry, with jitter.
    :param retry_max_delay: the longest single wait in seconds. A ``Retry-After`` longer than
        this is not waited for: the error is raised at once.
    :param retry_parameter_names: the names to report a bad retry setting under (the operators and
        the sensor pass their ``modelarts_retry_*`` argument names).
    """

    conn_name_attr = "modelarts_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Huawei Cloud ModelArts"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's extra fields on Airflow 3.0/3.1 (3.2+ reads ``conn-fields`` instead)."""
        return connection_form.connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder standard fields on Airflow 3.0/3.1 (3.2+ reads the provider info)."""
        return connection_form.ui_field_behaviour()

    def __init__(
        self,
        modelarts_conn_id: str = default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
        workspace_id: str | None = None,
        *,
        retry_limit: int = DEFAULT_RETRY_LIMIT,
        retry_delay: float = DEFAULT_RETRY_DELAY,
        retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY,
        retry_parameter_names: tuple[str, str, str] = HOOK_RETRY_PARAMETERS,
    ) -> None:
        super().__init__()
        self.modelarts_conn_id = modelarts_conn_id
        # Any DNS label here: the connection applies its cloud's rule once it is read.
        self.region = validate_region(region, any_label=True) if region is not None else None
        self.project_id = validate_name(project_id, "project_id") if project_id is not None else None
        self.workspace_id = validate_name(workspace_id, "workspace_id") if workspace_id is not None else None
        self.retry_limit, self.retry_delay, self.retry_max_delay = validate_retry_settings(
            retry_limit, retry_delay, retry_max_delay, names=retry_parameter_names
        )
        self._retry_parameter_names = retry_parameter_names
        self.request_count = 0
        # What the settings were built from (secrets included: never logged or shown), so that
        # refresh_connection can tell an unchanged connection without validating it again.
        self._connection_fields: tuple[Any, ...] | None = None
        # Tests replace this to observe backoff without waiting.
        self.sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"{type(self).__name__}(modelarts_conn_id={self.modelarts_conn_id!r})"

    # ------------------------------------------------------------------ connection and session

    @cached_property
    def settings(self) -> ConnectionSettings:
        """The validated connection settings (fetched from Airflow on first use)."""
        return self.configure(self.get_connection(self.modelarts_conn_id))

    def configure(self, connection: Connection) -> ConnectionSettings:
        """Validate and use an already fetched connection (e.g. one from ``aget_connection``)."""
        settings = settings_from_connection(
            conn_id=self.modelarts_conn_id,
            login=connection.login,
            password=connection.password,
            extra=connection.extra_dejson,
            region=self.region,
            project_id=self.project_id,
            workspace_id=self.workspace_id,
            host=connection.host,
            port=connection.port,
            schema=connection.schema,
        )
        for secret in settings.secrets:
            mask_secret(secret)
        self.__dict__["settings"] = settings
        self._connection_fields = _fields_of(connection)
        return settings

    def refresh_connection(self) -> bool:
        """Read the Airflow connection again, and use its new settings if they changed.

        For a hook that outlives a connection edit: the triggerer's shared poller keeps one hook
        while any trigger of the connection waits, and calls this before each round. When the
        settings changed (rotated keys, a new IAM password, another endpoint, region or project),
        the old session is closed and the cached IAM token dropped, so the next request opens a
        session with the new settings (and fetches a token with the new password).

        Cost: one connection lookup (the secrets backend, or the API server from a triggerer);
        never a request to ModelArts or IAM. An unchanged connection is not validated again, so it
        logs nothing. Raises what the first read would raise (the connection is gone or invalid).

        :return: whether the settings changed. A first read (nothing to compare with) is no change.
        """
        connection = get_connection_quietly(self, self.modelarts_conn_id)
        previous = self.__dict__.get("settings")
        if previous is not None and _fields_of(connection) == self._connection_fields:
            return False
        current = self.configure(connection)
        if previous is None or current == previous:
            return False
        self.close()
        self.__dict__.pop("token_cache", None)
        # Field names only: some of the values are secrets.
        changed = [
            item.name
            for item in dataclasses.fields(current)
            if getattr(current, item.name) != getattr(previous, item.name)
        ]
        self.log.info(
            "Connection %r changed (%s): the next requests use its new settings",
            self.modelarts_conn_id,
            ", ".join(changed),
        )
        return True

    def get_conn(self) -> requests.Session:
        """The hook's ``requests.Session``, authenticated for the connection's auth type."""
        return self.session

    @cached_property
    def session(self) -> requests.Session:
        settings = self.settings
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Content-Type"] = "application/json"
        # Also passed on every request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        session.verify = settings.verify
        session.auth = (
            AkSkAuth(settings.login, settings.password, settings.project_id, settings.security_token)
            if settings.auth_type == AUTH_AKSK
            else IamTokenAuth(self.token_cache)
        )
        return session

    @cached_property
    def token_cache(self) -> IamTokenCache:
        return IamTokenCache(self._fetch_iam_token)

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

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
        """Every matching job across pages, fetched lazily, one page per request.

        Arguments are validated when this is called, before anything is fetched. Paging stops
        after ``max_results`` jobs, on a short page, or once ``job_total_count`` jobs were seen,
        so N jobs cost ceil(N / per_page) requests.
        """
        filters = v1.JobListFilters.validate(status, per_page, 1, sort_by, order, search_content, workspace_id)
        limit = validate_optional_positive_int(max_results, "max_results")
        return self._iter_jobs(filters, limit)

    def iter_training_job_pages(
        self, filters: v1.JobListFilters, max_results: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each page's response body, from ``filters.page`` on, until every job (or
        ``max_results`` jobs) was returned. Operators use it to keep the page's counters."""
        seen = 0
        for page in range(filters.page, v1.PAGE_RANGE[1] + 1):
            body = self.list_training_jobs_page(dataclasses.replace(filters, page=page))
            yield body
            jobs = body.get("jobs") or []
            seen += len(jobs)
            # job_total_count counts every job of the user, so once that many were seen no
            # filter can match more: this saves the empty page after an exact multiple.
            total = body.get("job_total_count")
            seen_all = isinstance(total, int) and seen >= total
            if len(jobs) < filters.per_page or seen_all or (max_results is not None and seen >= max_results):
                return

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
        """Every v2 job that matches, fetched lazily, one page of ``limit`` per request.

        Arguments are validated when this is called, before anything is fetched. C matches cost
        ceil(C / limit) requests (one when nothing matches); paging stops sooner after
        ``max_results`` jobs. A job seen on an earlier page is not yielded again (a job created
        while paging shifts the later pages by one).
        """
        search = v2.JobSearch.validate(phase, name, filters, sort_by, order, limit, 0, workspace_id)
        most = validate_optional_positive_int(max_results, "max_results")
        return self._iter_v2_jobs(search, most)

    def iter_training_job_search_pages(
        self, search: v2.JobSearch, max_results: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each search page's body, from page ``search.offset`` on, until every match (or
        ``max_results`` jobs) was returned. Operators use it to keep the page's counters.

        Stops after a short page, once the pages cover ``count`` (the matches the first answer
        reported), after ``max_results`` jobs, or on a page with no job not seen before (so a
        server that ignored ``offset`` could not keep it paging).
        """
        seen: set[str] = set()
        page = search.offset
        pages = None
        while True:
            body = self.search_training_jobs_page(dataclasses.replace(search, offset=page))
            yield body
            items = [item for item in body.get("items") or [] if isinstance(item, Mapping)]
            ids = {str(v2.job_row(item)["id"]) for item in items}
            new = ids - seen
            seen |= ids
            count = body.get("count")
            if pages is None and isinstance(count, int) and not isinstance(count, bool):
                pages = v2.pages_needed(count, search.limit)
            page += 1
            if (
                len(items) < search.limit
                or not new
                or (pages is not None and page >= pages)
                or (max_results is not None and len(seen) >= max_results)
            ):
                return

    # ------------------------------------------------------------------ v2 job lifecycle

    def create_training_job(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """Create a v2 training job (``POST /v2/{project_id}/training-jobs``, answered with 201 and
        the job object) and return the job object.

        The body is checked first (:func:`v2.validate_job_create`): a bad one raises
        ``ModelArtsValidationError`` naming the path, e.g. ``job.spec.resource.node_count``, and
        nothing is sent. The normalised copy is what is sent; ``job`` is never changed.

        A create is not idempotent, so it is never resent blindly. When an attempt ends without a
        clear answer (a timeout, a connection dropped after the body was sent, an unreadable 2xx,
        or 500/502/503/504 once the request may have reached the service), the hook first searches
        for a job with exactly this name (:meth:`find_training_jobs_by_name`): if one exists it is
        returned, else the body is sent again, at most ``retry_limit`` more times with backoff.
        Failures that prove nothing was created (refused connection, connect timeout, 429) are
        retried by the request itself. So one call makes at most one job.

        Duplicate names: a 400 ``ModelArts.2751`` raises :class:`ModelArtsDuplicateJobNameError`
        (permanent). The one exception: when the same call already had an ambiguous failure, a
        2751 on the resend most likely means that earlier attempt created the job after all (and
        the search did not list it yet); then the job with that name is returned. The API gives no
        way to tell our job from another one of the same name, so this is a documented guess,
        made only after an ambiguous failure of the same call. Callers that must never adopt a job
        they did not create should pass a name nobody else uses (e.g. one derived from the task
        instance).

        :param job: the create body (``kind``, ``metadata``, ``algorithm``, ``spec``, ...).
        :return: the created (or, after an ambiguous failure, the found) job object.
        :raises ModelArtsValidationError: the body breaks a documented rule (nothing was sent).
        :raises ModelArtsDuplicateJobNameError: the name is taken.
        :raises ModelArtsTransportError: no attempt got a clear answer, the job was not found
            after the last one, or checking for it failed.
        """
        body = v2.validate_job_create(job)
        name = v2.job_name_of(body)
        workspace = body["metadata"].get("workspace_id")
        path = v2.training_jobs_path(self.settings.project_id)
        unclear: ModelArtsError | None = None
        for attempt in range(self.retry_limit + 1):
            if attempt:
                delay = min(self.retry_max_delay, self.retry_delay * 2 ** (attempt - 1))
                self.log.warning("Training job %r was not created: sending the create again in %.1f s", name, delay)
                self.sleep(delay)
            try:
                return self.request("POST", path, json_body=body, idempotent=False, error_table=v2.ERROR_TABLE)
            except ModelArtsApiError as error:
                if error.error_code == v2.DUPLICATE_NAME_CODE:
                    if unclear is not None:
                        found = self._find_created_job(name, workspace, error)
                        if found is not None:
                            return found
                    raise ModelArtsDuplicateJobNameError(name, error) from None
                if not _write_may_have_happened(error):
                    raise
                unclear = error
            except ModelArtsTransportError as error:
                unclear = error
            self.log.warning("Creating training job %r got no clear answer (%s): looking for it by name", name, unclear)
            found = self._find_created_job(name, workspace, unclear)
            if found is not None:
                return found
        assert unclear is not None  # the loop only ends here after an unclear attempt
        raise ModelArtsTransportError(
            join_sentences(
                f"Creating training job {name!r} got no clear answer in {self.retry_limit + 1} attempt(s), "
                f"and no job of that name exists: {unclear}"
            )
        ) from unclear

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
        """Terminate a v2 job (``POST .../training-jobs/{id}/actions`` with
        ``{"action_type": "terminate"}``, answered with 202 and the job object).

        Sent as idempotent (retried after a timeout or a dropped connection): a resend of a
        terminate that did reach the service finds the job Terminating or Terminated, and
        gets ``ModelArts.2796`` like any terminate of an ended job.

        :return: the job object (its phase is usually Terminating).
        :raises ModelArtsJobEndedError: 409 ``ModelArts.2796``: the job is no longer Creating,
            Pending or Running (it ended, or is already terminating). Catch it to treat the
            terminate as idempotent.
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
        """Delete a v2 job (``DELETE .../training-jobs/{id}``, answered with 202 and no body).

        When the delete gets no clear answer (timeout, dropped connection, 5xx), the hook reads
        the job: gone means the delete did happen (success); still there means it is sent again
        once (under the usual retries). A job that did not exist in the first place raises.

        :raises ModelArtsNotFoundError: no such job (``ModelArts.2775``).
        """
        job_id = v2.validate_training_job_id(training_job_id)
        path = v2.training_job_path(self.settings.project_id, job_id)
        try:
            self.request("DELETE", path, idempotent=False, error_table=v2.ERROR_TABLE)
            return
        except ModelArtsApiError as error:
            if not _write_may_have_happened(error):
                raise
            unclear: ModelArtsError = error
        except ModelArtsTransportError as error:
            unclear = error
        self.log.warning(
            "Deleting training job %s got no clear answer (%s): checking whether it is gone", job_id, unclear
        )
        try:
            self.get_training_job(job_id)
        except ModelArtsNotFoundError:
            return
        self.request("DELETE", path, idempotent=True, error_table=v2.ERROR_TABLE)

    def list_training_job_tasks(self, training_job_id: str) -> list[dict[str, Any]]:
        """A job's tasks (``GET .../training-jobs/{id}/tasks``): ``[{"task", "ip", "host_ip",
        "schedule_count"}, ...]`` (the SDK's ``TaskHistory``), as the API returns them.

        The API answers with a JSON array; an object holding the list under ``items`` or
        ``tasks`` is accepted too.
        """
        job_id = v2.validate_training_job_id(training_job_id)
        url = self.settings.endpoint + v2.training_job_tasks_path(self.settings.project_id, job_id)
        answer = self._exchange("GET", url, idempotent=True, error_table=v2.ERROR_TABLE, list_body=True)
        tasks: list[Any] = next(
            (answer.body[key] for key in (_LIST_KEY, "items", "tasks") if isinstance(answer.body.get(key), list)), []
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
        """One page of a task's log from AOM (``GET .../training-jobs/{id}/logs/{task_id}``).

        Arguments are checked before any request. To follow a log from its first line, every
        line once, use :meth:`follow_training_job_log` or :class:`v2.TaskLogCursor` (which
        documents the cursor reading).

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
        time: calling it until the job ended and no line comes returns every line once (the
        reading is in :class:`v2.TaskLogCursor`). One request per call, except a first call
        whose page is full: it also reads the older lines (at most
        :data:`v2.MAX_BACKFILL_PAGES` pages back).

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
        the whole log while it is at most 5 MB, else its newest 5 MB, with its full size. The
        only log API Open Telekom Cloud and the EU region document.

        To follow a log through it, every line once, use
        :class:`~airflow_provider_modelarts.waiting.logs.JobLogFollower` (connection ``log_api``
        ``preview``, or ``auto`` where the AOM endpoint does not exist).

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
        a row by column name from the answer's ``items.header``/``items.data`` table (every
        column kept, e.g. ``trial_id``, ``status``, ``config``, ``reward_attr``, ``best_reward``
        and one per reward attribute; see :func:`v2.trial_rows`). Cells are as the API gives
        them (the docs type them as strings).

        Paging: the SDK reads ``offset`` as a page number, OTC's query table as an entry offset.
        Pages are asked by number; a page that repeats trials already read shows the entry
        reading, and the next pages are then asked by entry. Paging stops at a short or empty
        page, once ``total`` trials were read, or at a page with no new trial. T trials cost
        ceil((T + 1) / limit) requests at most (one while they fit on a page).

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
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        offset, by_entry = 0, False
        for _ in range(_MAX_TRIAL_PAGES):
            query = [("limit", str(size)), ("offset", str(offset))]
            body = self.request("GET", path, query=query, idempotent=True, error_table=v2.ERROR_TABLE)
            page = v2.trial_rows(body)
            new = [row for row in page if _trial_key(row) not in seen]
            seen.update(_trial_key(row) for row in new)
            rows.extend(new)
            total = body.get("total")
            if (
                len(page) < size
                or not new
                or (isinstance(total, int) and not isinstance(total, bool) and len(rows) >= total)
            ):
                break
            by_entry = by_entry or len(new) < len(page)
            offset = len(rows) if by_entry else offset + 1
        return rows

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        idempotent: bool,
        error_table: transport.ErrorTable = v1.ERROR_TABLE,
    ) -> dict[str, Any]:
        """Send one authenticated request to the ModelArts endpoint; return the answer's JSON object.

        Every call of this hook goes through here, whatever its method.

        :param method: the HTTP method, e.g. ``GET`` or ``POST``.
        :param path: the path under the endpoint, e.g. ``/v1/{project_id}/training-jobs``.
        :param query: query pairs; sent (and signed) in canonical order and encoding.
        :param json_body: a JSON-serialisable body, if any.
        :param idempotent: whether sending the request twice has the same effect as once. An
            idempotent request is retried after connection errors, timeouts, cut-off or unreadable
            bodies, 429 and 500/502/503/504. A request that is not (creating a training job) is
            never sent again once it may have reached the server: only a refused connection, a
            connect timeout or a 429 is retried.
        :param error_table: the API's error codes (not found, token expired, hints); v1's by default.
        :raises ModelArtsApiError: (or a subclass) for an error answer.
        :raises ModelArtsTransportError: when no answer could be read.
        """
        url = self.settings.endpoint + path
        return self._exchange(
            method.upper(), url, query=query, json_body=json_body, idempotent=idempotent, error_table=error_table
        ).body

    def test_connection(self) -> tuple[bool, str]:
        """List one training job. Never raises; on failure the message says what to check."""
        try:
            settings = self.settings
            body = self.list_training_jobs(per_page=1, page=1)
        except ModelArtsApiError as error:
            return False, f"ModelArts refused the request: {error}"
        except ModelArtsTransportError as error:
            endpoint = self.settings.endpoint
            return False, join_sentences(
                f"Could not reach ModelArts at {endpoint}: {error}", "Check the region, the endpoint and the network."
            )
        except ModelArtsError as error:
            return False, str(error)
        except Exception as error:
            return False, f"Unexpected error: {type(error).__name__}: {transport.redact(str(error), self._secrets())}"
        auth = "AK/SK" if settings.auth_type == AUTH_AKSK else f"IAM user {settings.login}"
        return True, (
            f"Connected to ModelArts at {settings.endpoint} ({settings.region}) with {auth}: "
            f"project {settings.project_id} has {body.get('job_total_count', 0)} training jobs."
        )

    # ------------------------------------------------------------------ internals

    def _iter_jobs(self, filters: v1.JobListFilters, limit: int | None) -> Iterator[dict[str, Any]]:
        jobs = (job for body in self.iter_training_job_pages(filters, limit) for job in body.get("jobs") or [])
        yield from itertools.islice(jobs, limit)

    def _iter_v2_jobs(self, search: v2.JobSearch, most: int | None) -> Iterator[dict[str, Any]]:
        seen: set[object] = set()

        def first_sightings() -> Iterator[dict[str, Any]]:
            for body in self.iter_training_job_search_pages(search, most):
                for job in body.get("items") or []:
                    job_id = v2.job_row(job)["id"]
                    if job_id not in seen:
                        seen.add(job_id)
                        yield job

        yield from itertools.islice(first_sightings(), most)

    def _find_created_job(self, name: str, workspace: str | None, unclear: ModelArtsError) -> dict[str, Any] | None:
        """After a create without a clear answer: the job of this name, if one exists (newest).

        If the check itself fails, nobody can tell whether the job exists, so the create must not
        be sent again: raise, saying what to look for.
        """
        try:
            found = self.find_training_jobs_by_name(name, workspace)
        except ModelArtsError as error:
            raise ModelArtsTransportError(
                join_sentences(
                    f"Creating training job {name!r} got no clear answer ({unclear})",
                    f"Checking whether it was created failed too ({error})",
                    f"Look for a job named {name!r} before creating it again",
                )
            ) from error
        if not found:
            return None
        if len(found) > 1:
            self.log.warning("%d training jobs are named %r: using the newest", len(found), name)
        self.log.warning(
            "Training job %r exists (id %s): the create did reach ModelArts", name, v2.job_row(found[0])["id"]
        )
        return found[0]

    def _secrets(self) -> tuple[str, ...]:
        """Values to redact from server messages (gateway errors can echo signed headers)."""
        settings = self.__dict__.get("settings")
        secrets = settings.secrets if settings else ()
        cache = self.__dict__.get("token_cache")
        token = cache.current() if cache else None
        return (*secrets, token) if token else secrets

    def _get(self, path: str, query: list[tuple[str, str]]) -> dict[str, Any]:
        return self.request("GET", path, query=query, idempotent=True)

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        query: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        authenticated: bool = True,
        content_type: str | None = None,
        error_table: transport.ErrorTable = v1.ERROR_TABLE,
        list_body: bool = False,
    ) -> ApiResponse:
        """The one path every request takes: send, decode, retry under the policy, and renew a
        refused IAM token once.

        The query goes on the wire in canonical form (``%20`` for a space, never ``+``): the
        gateway verifies signatures against exactly that.
        """
        if query:
            url += "?" + canonical_query(query)
        data = json.dumps(json_body).encode("utf-8") if json_body is not None else None
        headers = {"Content-Type": content_type} if content_type else None
        auth = None if authenticated else _NoAuth()

        def send() -> ApiResponse:
            response = self.session.request(
                method, url, data=data, headers=headers, auth=auth, timeout=self._timeout, verify=self.settings.verify
            )
            return self._decode(response, error_table, list_body=list_body)

        try:
            return self._with_retries(method, url, send, idempotent)
        except ModelArtsTokenExpiredError:
            if not authenticated or self.settings.auth_type == AUTH_AKSK:
                raise
            # The cached token was revoked or expired early: fetch a new one and resend, once. The
            # gateway refused the request before the service saw it, so this is safe for any method.
            self.log.info("IAM token refused as expired; fetching a new one and retrying once")
            self.token_cache.invalidate()
            return self._with_retries(method, url, send, idempotent)

    @property
    def _timeout(self) -> float:
        return self.settings.timeout

    def _with_retries(self, method: str, url: str, send: Callable[[], _T], idempotent: bool) -> _T:
        """Run one logical call under the retry policy; transport errors end as ModelArtsTransportError."""

        def attempt() -> _T:
            self.request_count += 1
            return send()

        def retryable(error: BaseException) -> bool:
            return retry_policy.may_retry(error, idempotent=idempotent, retry_max_delay=self.retry_max_delay)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry_limit + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(retryable),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except retry_policy.RETRYABLE_TRANSPORT_ERRORS as error:
            attempts = retrying.statistics.get("attempt_number", 1)
            final: Exception = ModelArtsTransportError(
                f"{method} {_path_of(url)} failed after {attempts} attempt(s): {type(error).__name__}"
                + (
                    ""
                    if idempotent or retry_policy.proves_not_sent(error)
                    else " (not resent: it may have reached the server)"
                )
            )
            setattr(final, retry_policy.RETRIES_SPENT_ATTRIBUTE, True)
            raise final from None
        except ModelArtsError as error:
            self._explain_retry_after_beyond_budget(error, idempotent, retrying.statistics.get("attempt_number", 1))
            # An inner call (the IAM token fetch inside a request's auth) already spent its retries:
            # the outer call must not retry it again, or attempts would multiply.
            setattr(error, retry_policy.RETRIES_SPENT_ATTRIBUTE, True)
            raise

    def _explain_retry_after_beyond_budget(self, error: ModelArtsError, idempotent: bool, attempts: int) -> None:
        """Add to the message why an answer the policy retries ended the call at once: its
        ``Retry-After`` was longer than ``retry_max_delay`` (otherwise the user sees a 503 or 429
        and wonders why the retries were not used). The exception type stays the same."""
        if not isinstance(error, ModelArtsApiError) or error.retry_after is None:
            return
        if error.retry_after <= self.retry_max_delay or attempts > self.retry_limit:
            return  # waited for, or the retries were spent anyway
        if not retry_policy.may_retry(error, idempotent=idempotent, retry_max_delay=math.inf):
            return  # not retried for another reason (e.g. a request that is not idempotent)
        reason = (
            f"Not retried: the server asked to retry after {error.retry_after:g} s, longer than "
            f"{self._retry_parameter_names[2]} {self.retry_max_delay:g} s"
        )
        error.args = (join_sentences(str(error), reason), *error.args[1:])

    def _decode(
        self, response: requests.Response, error_table: transport.ErrorTable, *, list_body: bool = False
    ) -> ApiResponse:
        """The JSON object of a successful answer, or the typed error of any other.

        A 204, and a 202 without a body (a v2 delete), are an empty object: HTTP gives a 204 no
        body, and the v2 log API answers 204 while a log is not ready. With ``list_body`` a JSON
        array (the v2 task list) comes back as ``{_LIST_KEY: [...]}``.
        """
        content = response.content  # a body cut short raises ChunkedEncodingError here
        self.log.debug(
            "ModelArts %s %s -> %s (request id %s)",
            response.request.method,
            _path_of(response.url),
            response.status_code,
            response.headers.get("X-Request-Id", "-"),
        )
        if response.status_code >= 400:
            raise transport.error_from_response(
                response.status_code, content, response.headers, self._secrets(), table=error_table
            )
        if response.status_code == 204 or (response.status_code == 202 and not content.strip()):
            empty = transport.parse_json_body(content) if content.strip() else None
            return ApiResponse(response.status_code, response.headers, empty if isinstance(empty, dict) else {})
        parsed = transport.parse_json_body(content)
        if list_body and isinstance(parsed, list):
            return ApiResponse(response.status_code, response.headers, {_LIST_KEY: parsed})
        if not isinstance(parsed, dict):
            raise retry_policy.UnreadableBodyError(
                f"{response.request.method} {_path_of(response.url)} answered HTTP {response.status_code} "
                f"with a body that is not a JSON object ({len(content)} bytes, "
                f"Content-Type {response.headers.get('Content-Type')})"
            )
        if error_table.reports_failure(parsed):
            raise transport.error_from_response(
                response.status_code, content, response.headers, self._secrets(), table=error_table
            )
        return ApiResponse(response.status_code, response.headers, parsed)

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, ModelArtsApiError) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(retry_state))

    @cached_property
    def _backoff(self) -> tenacity.wait.wait_base:
        return tenacity.wait_random_exponential(multiplier=self.retry_delay, max=self.retry_max_delay)

    def _log_retry(self, retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        self.log.warning(
            "ModelArts request failed (attempt %d of %d): %s; retrying in %.1f s",
            retry_state.attempt_number,
            self.retry_limit + 1,
            error if isinstance(error, ModelArtsError) else type(error).__name__,
            wait,
        )

    def _fetch_iam_token(self) -> IamToken:
        """POST the password to IAM for a project-scoped token (account or IAM user login)."""
        settings = self.settings
        # Without a domain name the login is the account itself, whose name is also the domain's.
        domain = {"name": settings.domain_name or settings.login}
        user = {"name": settings.login, "password": settings.password, "domain": domain}
        payload = {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": {"id": settings.project_id}},
            }
        }
        # Idempotent: a repeated token request only mints another token.
        answer = self._exchange(
            "POST",
            settings.iam_endpoint + IAM_TOKENS_PATH,
            query=[("nocatalog", "true")],
            json_body=payload,
            idempotent=True,
            authenticated=False,
            content_type=_IAM_CONTENT_TYPE,
            error_table=transport.IAM_ERROR_TABLE,
        )
        token_value = answer.headers.get(HEADER_SUBJECT_TOKEN)
        if not token_value:
            raise ModelArtsTransportError("IAM answered without an X-Subject-Token header")
        mask_secret(token_value)
        issued_at, expires_at = parse_iam_token_times(answer.body, pendulum.now("UTC"))
        self.log.info("Obtained an IAM token for project %s, valid until %s", settings.project_id, expires_at)
        return IamToken(value=token_value, issued_at=issued_at, expires_at=expires_at)


class _NoAuth(requests.auth.AuthBase):
    """Overrides the session's auth for the IAM token request itself."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _fields_of(connection: Connection) -> tuple[Any, ...]:
    """What :meth:`ModelArtsHook.configure` builds the settings from."""
    return (
        connection.login,
        connection.password,
        connection.host,
        connection.port,
        connection.schema,
        connection.extra_dejson,
    )


def _write_may_have_happened(error: ModelArtsApiError) -> bool:
    """Whether a write answered with this error may still have been carried out: a 500, 502,
    503 or 504 can come from the gateway or the service after the body arrived. A throttled
    request (429, or a throttling code) was refused before anything was done."""
    return error.http_status in (500, 502, 503, 504) and not isinstance(error, ModelArtsThrottledError)


def _trial_key(row: Mapping[str, Any]) -> str:
    """What tells two trials apart: the trial id, else the whole row."""
    trial_id = row.get("trial_id")
    return f"id:{trial_id}" if isinstance(trial_id, str) and trial_id else json.dumps(row, sort_keys=True, default=str)


def _path_of(url: str) -> str:
    """The URL without scheme, host or query, for messages."""
    return urlsplit(url).path
