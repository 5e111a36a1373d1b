"""``ModelArtsBaseHook``: transport and authentication shared by every ModelArts API call.

One ``requests.Session`` per hook (connection reuse), a timeout on every request, and one request
path, :meth:`ModelArtsBaseHook.request`, for any method, under a tenacity retry policy
(exponential backoff with jitter, ``Retry-After`` honoured and capped). A request that is not
idempotent is never sent twice once it may have reached the server; nothing retries 401/403.
The connection's settings, the AK/SK signer or IAM token, and ``refresh_connection`` live here;
the API's endpoints are on :class:`~airflow_provider_modelarts.hooks.modelarts.ModelArtsHook`.
See docs/reliability.md for the retry rules and what they were measured against.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
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
from airflow_provider_modelarts.cloud import transport, v1
from airflow_provider_modelarts.cloud.auth import (
    HEADER_SUBJECT_TOKEN,
    AkSkAuth,
    IamToken,
    IamTokenAuth,
    IamTokenCache,
    NoAuth,
    TemporaryCredentialAuth,
    canonical_query,
)
from airflow_provider_modelarts.cloud.endpoints import IAM_CONTENT_TYPE, IAM_TOKENS_PATH
from airflow_provider_modelarts.cloud.transport import parse_iam_token_times
from airflow_provider_modelarts.cloud.validation import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    HOOK_RETRY_PARAMETERS,
    validate_name,
    validate_region,
    validate_retry_settings,
)
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.connection.settings import (
    AUTH_AKSK,
    CONN_TYPE,
    ConnectionSettings,
    settings_from_connection,
)
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsError,
    ModelArtsSignatureExpiredError,
    ModelArtsTokenExpiredError,
    ModelArtsTransportError,
    join_sentences,
)
from airflow_provider_modelarts.hooks.credentials import SharedCredentials, project_id_for, shared_credentials
from airflow_provider_modelarts.version_compat import get_connection_quietly

if TYPE_CHECKING:
    from airflow.sdk import Connection

USER_AGENT = f"airflow-provider-modelarts/{__version__}"
#: Where a JSON array answer is put (only for calls that document one, ``list_body=True``).
LIST_KEY = "__list__"
_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class ApiResponse:
    """A successful answer: its HTTP status, headers and JSON object."""

    status: int
    headers: Mapping[str, str]
    body: dict[str, Any]


class ModelArtsBaseHook(BaseHook):
    """Connection, session, authentication and the retrying request path of the ModelArts hooks.

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

    .. seealso:: docs/reliability.md (what is retried, and why 401/403 never are)
    """

    conn_name_attr = "modelarts_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE

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
        if not settings.project_id:
            settings = self._with_project(settings)
        self.__dict__["settings"] = settings
        self._connection_fields = _fields_of(connection)
        return settings

    def _with_project(self, settings: ConnectionSettings) -> ConnectionSettings:
        """A temporary-credential connection without a project: look it up from IAM (once per
        process and settings), signed with these settings' credentials, not the old session's.

        Until it succeeds, the hook keeps what it had (and a later refresh tries again).
        """
        previous = self.__dict__.get("settings")
        self.close()
        self.__dict__["settings"] = settings
        try:
            return dataclasses.replace(settings, project_id=project_id_for(settings, self))
        except BaseException:
            if previous is None:
                self.__dict__.pop("settings", None)
            else:
                self.__dict__["settings"] = previous
            raise
        finally:
            # The lookup's session signs without a project: the next request opens another.
            self.close()

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
        session.auth = self._auth(settings)
        return session

    def _auth(self, settings: ConnectionSettings) -> requests.auth.AuthBase:
        if settings.auth_type == AUTH_AKSK:
            return AkSkAuth(settings.login, settings.password, settings.project_id, settings.security_token)
        if settings.temporary:
            return TemporaryCredentialAuth(self.temporary_credentials.cache, settings.project_id)
        return IamTokenAuth(self.token_cache)

    @property
    def temporary_credentials(self) -> SharedCredentials:
        """The process's credential cache of this connection (temporary-credential auth types)."""
        return shared_credentials(self.settings, self)

    @cached_property
    def token_cache(self) -> IamTokenCache:
        return IamTokenCache(self._fetch_iam_token)

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

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

    # ------------------------------------------------------------------ internals

    def _secrets(self) -> tuple[str, ...]:
        """Values to redact from server messages (gateway errors can echo signed headers)."""
        settings = self.__dict__.get("settings")
        secrets = settings.secrets if settings else ()
        cache = self.__dict__.get("token_cache")
        token = cache.current() if cache else None
        if token:
            secrets = (*secrets, token)
        auth = self.__dict__["session"].auth if "session" in self.__dict__ else None
        if isinstance(auth, TemporaryCredentialAuth):
            current = auth.cache.current_item()
            secrets = (*secrets, *(current.secrets if current else ()))
        return secrets

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
        extra_headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """The one path every request takes: send, decode, retry under the policy, and renew a
        refused IAM token once.

        The query goes on the wire in canonical form (``%20`` for a space, never ``+``): the
        gateway verifies signatures against exactly that.
        """
        if query:
            url += "?" + canonical_query(query)
        data = json.dumps(json_body).encode("utf-8") if json_body is not None else None
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(extra_headers or {})
        auth = None if authenticated else NoAuth()

        def send() -> ApiResponse:
            response = self.session.request(
                method, url, data=data, headers=headers, auth=auth, timeout=self._timeout, verify=self.settings.verify
            )
            return self._decode(response, error_table, list_body=list_body)

        try:
            return self._with_retries(method, url, send, idempotent)
        except (ModelArtsTokenExpiredError, ModelArtsSignatureExpiredError) as error:
            if not authenticated or not self._renew_refused(error):
                raise
            # The gateway refused the request before the service saw it, so resending it once with
            # renewed credentials is safe for any method.
            return self._with_retries(method, url, send, idempotent)

    def _renew_refused(self, error: ModelArtsError) -> bool:
        """Drop the credentials the gateway refused as expired; whether a resend may help.

        An IAM token refused as expired is fetched again. Temporary credentials are obtained again
        after either answer the SDK renews on (``APIGW.0307`` "The token must be updated.", or
        ``APIGW.0301`` "signature expired"). A permanent AK/SK gets nothing new: never resent.
        """
        auth_type = self.settings.auth_type
        if auth_type == AUTH_AKSK:
            return False
        if self.settings.temporary:
            auth = self.session.auth
            assert isinstance(auth, TemporaryCredentialAuth)
            current = auth.cache.current_item()
            if current is not None and current.expires_at is None:
                return False  # the default chain's static AK/SK: nothing to renew
            self.log.info("Temporary credentials refused as expired (%s); obtaining new ones and retrying once", error)
            auth.cache.invalidate(auth.last_access_key())
            return True
        if not isinstance(error, ModelArtsTokenExpiredError):
            return False
        # The cached token was revoked or expired early: fetch a new one.
        self.log.info("IAM token refused as expired; fetching a new one and retrying once")
        self.token_cache.invalidate()
        return True

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
        array (the v2 task list) comes back as ``{LIST_KEY: [...]}``.
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
            return ApiResponse(response.status_code, response.headers, {LIST_KEY: parsed})
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
            content_type=IAM_CONTENT_TYPE,
            error_table=transport.IAM_ERROR_TABLE,
        )
        token_value = answer.headers.get(HEADER_SUBJECT_TOKEN)
        if not token_value:
            raise ModelArtsTransportError("IAM answered without an X-Subject-Token header")
        mask_secret(token_value)
        issued_at, expires_at = parse_iam_token_times(answer.body, pendulum.now("UTC"))
        self.log.info("Obtained an IAM token for project %s, valid until %s", settings.project_id, expires_at)
        return IamToken(value=token_value, issued_at=issued_at, expires_at=expires_at)


def _fields_of(connection: Connection) -> tuple[Any, ...]:
    """What :meth:`ModelArtsBaseHook.configure` builds the settings from."""
    return (
        connection.login,
        connection.password,
        connection.host,
        connection.port,
        connection.schema,
        connection.extra_dejson,
    )


def _path_of(url: str) -> str:
    """The URL without scheme, host or query, for messages."""
    return urlsplit(url).path
