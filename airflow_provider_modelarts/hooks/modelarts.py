"""``ModelArtsHook``: authenticated calls to the ModelArts v1 training-job API.

The hook owns transport: one ``requests.Session`` (connection reuse), a timeout on every request,
and a tenacity retry policy (exponential backoff with jitter, ``Retry-After`` honoured) for
connection errors, timeouts, cut-off or unreadable bodies, 429 and 5xx. It never retries 401/403:
the gateway locks an AK for five minutes after five bad signatures. Authentication lives in
:mod:`airflow_provider_modelarts.auth`; API knowledge (paths, parameters, validation, errors) in
:mod:`airflow_provider_modelarts.api`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import pendulum
import requests
import tenacity
from airflow.providers.common.compat.sdk import BaseHook
from airflow.sdk.log import mask_secret

from airflow_provider_modelarts import __version__, api, connection_form
from airflow_provider_modelarts.auth import AkSkAuth, IamToken, IamTokenAuth, IamTokenCache, canonical_query
from airflow_provider_modelarts.conn_fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.connection import (
    AUTH_AKSK,
    CONN_TYPE,
    ConnectionSettings,
    settings_from_connection,
)
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsError,
    ModelArtsServerError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsTransportError,
)

if TYPE_CHECKING:
    from airflow.sdk import Connection

USER_AGENT = f"airflow-provider-modelarts/{__version__}"
_IAM_HEADERS = {"Content-Type": "application/json;charset=utf8"}
_T = TypeVar("_T")
_RETRIES_SPENT = "_modelarts_retries_spent"

# Transport failures worth another attempt: every call the hook makes is an idempotent read
# (GET, or the token POST, which only mints another token).
_RETRYABLE_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class _UnreadableBodyError(ModelArtsTransportError):
    """A 2xx answer whose body is not the JSON object the API documents (a proxy page, or a
    body cut short): retried like any transport fault."""


class ModelArtsHook(BaseHook):
    """Interact with Huawei Cloud ModelArts v1 ("old-version") training jobs.

    Reads the Airflow connection lazily, on the first call: constructing the hook does no I/O.

    :param modelarts_conn_id: the id of a connection of type ``modelarts``.
    :param region: overrides the connection's ``region``.
    :param project_id: overrides the connection's ``project_id``.
    :param workspace_id: overrides the connection's ``workspace_id`` (the default workspace for
        job queries).
    :param retry_limit: how many times a retryable failure is retried (0 disables retries).
    :param retry_delay: the first backoff delay in seconds; it doubles on each retry, with jitter.
    :param retry_max_delay: the longest single wait in seconds. A ``Retry-After`` longer than
        this is not waited for: the throttling error is raised at once.
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
        retry_limit: int = api.DEFAULT_RETRY_LIMIT,
        retry_delay: float = api.DEFAULT_RETRY_DELAY,
        retry_max_delay: float = api.DEFAULT_RETRY_MAX_DELAY,
    ) -> None:
        super().__init__()
        self.modelarts_conn_id = modelarts_conn_id
        self.region = api.validate_region(region) if region is not None else None
        self.project_id = api.validate_name(project_id, "project_id") if project_id is not None else None
        self.workspace_id = api.validate_name(workspace_id, "workspace_id") if workspace_id is not None else None
        self.retry_limit, self.retry_delay, self.retry_max_delay = api.validate_retry_settings(
            retry_limit, retry_delay, retry_max_delay
        )
        self.request_count = 0
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
        )
        for secret in settings.secrets:
            mask_secret(secret)
        self.__dict__["settings"] = settings
        return settings

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
        per_page: int | str = api.DEFAULT_PER_PAGE,
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
        filters = api.JobListFilters.validate(status, per_page, page, sort_by, order, search_content, workspace_id)
        return self.list_training_jobs_page(filters)

    def list_training_jobs_page(self, filters: api.JobListFilters) -> dict[str, Any]:
        """:meth:`list_training_jobs` for already validated filters."""
        if filters.workspace_id is None and self.settings.workspace_id is not None:
            filters = dataclasses.replace(filters, workspace_id=self.settings.workspace_id)
        query = filters.query(api.sort_param_for(self.settings.auth_type))
        return self._get(api.training_jobs_path(self.settings.project_id), query)

    def iter_training_jobs(
        self,
        status: int | str | None = None,
        sort_by: str | None = None,
        order: str | None = None,
        search_content: str | None = None,
        workspace_id: str | None = None,
        per_page: int | str = api.PER_PAGE_RANGE[1],
        max_results: int | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching job across pages, fetched lazily, one page per request.

        Arguments are validated when this is called, before anything is fetched. Paging stops
        after ``max_results`` jobs, on a short page, or once ``job_total_count`` jobs were seen,
        so N jobs cost ceil(N / per_page) requests.
        """
        filters = api.JobListFilters.validate(status, per_page, 1, sort_by, order, search_content, workspace_id)
        limit = api.validate_optional_positive_int(max_results, "max_results")
        return self._iter_jobs(filters, limit)

    def iter_training_job_pages(
        self, filters: api.JobListFilters, max_results: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each page's response body, from ``filters.page`` on, until every job (or
        ``max_results`` jobs) was returned. Operators use it to keep the page's counters."""
        seen = 0
        for page in range(filters.page, api.PAGE_RANGE[1] + 1):
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
        job = api.validate_id(job_id, "job_id")
        query = api.list_versions_query(per_page, page)
        return self._get(api.job_versions_path(self.settings.project_id, job), query)

    def get_job_version(self, job_id: int | str, version_id: int | str) -> dict[str, Any]:
        """The details of one version of a job: a flat object, as the API returns it."""
        job = api.validate_id(job_id, "job_id")
        version = api.validate_id(version_id, "version_id")
        return self._get(api.job_version_path(self.settings.project_id, job, version), [])

    def test_connection(self) -> tuple[bool, str]:
        """List one training job. Never raises; on failure the message says what to check."""
        try:
            settings = self.settings
            body = self.list_training_jobs(per_page=1, page=1)
        except ModelArtsApiError as error:
            return False, f"ModelArts refused the request: {error}"
        except ModelArtsTransportError as error:
            endpoint = self.settings.endpoint
            return (
                False,
                f"Could not reach ModelArts at {endpoint}: {error}. Check the region, the endpoint and the network.",
            )
        except ModelArtsError as error:
            return False, str(error)
        except Exception as error:
            return False, f"Unexpected error: {type(error).__name__}: {api.redact(str(error), self._secrets())}"
        auth = "AK/SK" if settings.auth_type == AUTH_AKSK else f"IAM user {settings.login}"
        return True, (
            f"Connected to ModelArts at {settings.endpoint} ({settings.region}) with {auth}: "
            f"project {settings.project_id} has {body.get('job_total_count', 0)} training jobs."
        )

    # ------------------------------------------------------------------ internals

    def _iter_jobs(self, filters: api.JobListFilters, limit: int | None) -> Iterator[dict[str, Any]]:
        jobs = (job for body in self.iter_training_job_pages(filters, limit) for job in body.get("jobs") or [])
        yield from itertools.islice(jobs, limit)

    def _secrets(self) -> tuple[str, ...]:
        """Values to redact from server messages (gateway errors can echo signed headers)."""
        settings = self.__dict__.get("settings")
        secrets = settings.secrets if settings else ()
        cache = self.__dict__.get("token_cache")
        token = cache.current() if cache else None
        return (*secrets, token) if token else secrets

    def _get(self, path: str, query: list[tuple[str, str]]) -> dict[str, Any]:
        # The query goes on the wire in canonical form (%20 for a space, never '+'): the gateway
        # verifies signatures against exactly that.
        url = self.settings.endpoint + path + ("?" + canonical_query(query) if query else "")

        def get() -> dict[str, Any]:
            return self._decode(self.session.get(url, timeout=self._timeout, verify=self.settings.verify))

        try:
            return self._with_retries("GET", url, get)
        except ModelArtsTokenExpiredError:
            if self.settings.auth_type == AUTH_AKSK:
                raise
            # The cached token was revoked or expired early: fetch a new one, once.
            self.log.info("IAM token refused as expired; fetching a new one and retrying once")
            self.token_cache.invalidate()
            return self._with_retries("GET", url, get)

    @property
    def _timeout(self) -> float:
        return self.settings.timeout

    def _with_retries(self, method: str, url: str, send: Callable[[], _T]) -> _T:
        """Run one logical call under the retry policy; transport errors end as ModelArtsTransportError."""

        def attempt() -> _T:
            self.request_count += 1
            return send()

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry_limit + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._is_retryable),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _RETRYABLE_TRANSPORT_ERRORS as error:
            final: Exception = ModelArtsTransportError(
                f"{method} {_path_of(url)} failed after {self.retry_limit + 1} attempt(s): {type(error).__name__}"
            )
            setattr(final, _RETRIES_SPENT, True)
            raise final from None
        except ModelArtsError as error:
            # An inner call (the IAM token fetch inside a GET's auth) already spent its retries:
            # the outer call must not retry it again, or attempts would multiply.
            setattr(error, _RETRIES_SPENT, True)
            raise

    def _decode(self, response: requests.Response) -> dict[str, Any]:
        """The JSON object of a successful answer, or the typed error of any other."""
        content = response.content  # a body cut short raises ChunkedEncodingError here
        self.log.debug(
            "ModelArts %s %s -> %s (request id %s)",
            response.request.method,
            _path_of(response.url),
            response.status_code,
            response.headers.get("X-Request-Id", "-"),
        )
        if response.status_code >= 400:
            raise api.error_from_response(response.status_code, content, response.headers, self._secrets())
        parsed = api.parse_json_body(content)
        if not isinstance(parsed, dict):
            raise _UnreadableBodyError(
                f"{response.request.method} {_path_of(response.url)} answered HTTP {response.status_code} "
                f"with a body that is not a JSON object ({len(content)} bytes, "
                f"Content-Type {response.headers.get('Content-Type')})"
            )
        if parsed.get("is_success") is False:
            raise api.error_from_response(response.status_code, content, response.headers, self._secrets())
        return parsed

    def _is_retryable(self, error: BaseException) -> bool:
        if getattr(error, _RETRIES_SPENT, False):
            return False
        if isinstance(error, ModelArtsThrottledError):
            # A Retry-After beyond what we are willing to wait ends the call now, not later.
            return error.retry_after is None or error.retry_after <= self.retry_max_delay
        return isinstance(error, (ModelArtsServerError, _UnreadableBodyError, *_RETRYABLE_TRANSPORT_ERRORS))

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, ModelArtsThrottledError) and error.retry_after is not None:
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
        url = f"{settings.iam_endpoint}{api.IAM_TOKENS_PATH}?nocatalog=true"
        body = json.dumps(payload).encode("utf-8")

        def post() -> requests.Response:
            response = self.session.post(
                url, data=body, timeout=self._timeout, auth=_NoAuth(), headers=_IAM_HEADERS, verify=self.settings.verify
            )
            content = response.content
            if response.status_code >= 400:
                raise api.error_from_response(response.status_code, content, response.headers, self._secrets())
            return response

        response = self._with_retries("POST", url, post)
        token_value = response.headers.get("X-Subject-Token")
        if not token_value:
            raise ModelArtsTransportError("IAM answered without an X-Subject-Token header")
        mask_secret(token_value)
        token = api.parse_iam_token_times(api.parse_json_body(response.content), pendulum.now("UTC"))
        self.log.info("Obtained an IAM token for project %s, valid until %s", settings.project_id, token[1])
        return IamToken(value=token_value, issued_at=token[0], expires_at=token[1])


class _NoAuth(requests.auth.AuthBase):
    """Overrides the session's auth for the IAM token request itself."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _path_of(url: str) -> str:
    """The URL without scheme, host or query, for messages."""
    return urlsplit(url).path
