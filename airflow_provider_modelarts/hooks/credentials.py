"""Obtaining temporary credentials, and one cache of them per connection and process.

The exchanges of :mod:`airflow_provider_modelarts.cloud.credentials`, sent through the hook's
request path (its timeouts, retry policy and error decoding):

* :class:`MetadataSource`: the instance metadata service (session token, then security key);
* :class:`FederationSource`: an ID token exchanged at IAM for a token, then for temporary AK/SK;
* :class:`StaticSource`: an AK/SK the default chain found in the environment or a profile file;
* :class:`DefaultChainSource`: the SDK's order, decided once, at the first fetch.

:func:`shared_credentials` keeps one :class:`~airflow_provider_modelarts.cloud.auth.RenewingCache`
per connection's settings in the process, so every hook and every trigger of a triggerer shares it:
500 deferred tasks on one connection make one refresh, not 500. A trigger's kwargs carry only the
connection id; the triggerer obtains its own credentials here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pendulum
import requests
from airflow.sdk.log import mask_secret

from airflow_provider_modelarts.cloud import credentials as creds
from airflow_provider_modelarts.cloud import retry as retry_policy
from airflow_provider_modelarts.cloud import transport
from airflow_provider_modelarts.cloud.auth import HEADER_AUTH_TOKEN, HEADER_SUBJECT_TOKEN, NoAuth, RenewingCache
from airflow_provider_modelarts.cloud.credentials import ChainEntry, TemporaryCredentials
from airflow_provider_modelarts.cloud.endpoints import IAM_CONTENT_TYPE
from airflow_provider_modelarts.connection.settings import (
    AUTH_DEFAULT_CHAIN,
    AUTH_IDP,
    AUTH_METADATA,
    ConnectionSettings,
)
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsCredentialsError,
    ModelArtsServerError,
    ModelArtsTransportError,
)

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.base import ModelArtsBaseHook

#: The SDK asks for a session token again at most once a day when the service has none.
_NO_TOKEN_RECHECK_SECONDS = 24 * 60 * 60.0


def _mask(*values: str | None) -> None:
    for value in values:
        if value:
            mask_secret(value)


@dataclass
class MetadataSource:
    """Temporary credentials from the instance metadata service (the agency of the ECS, BMS or CCE
    node), as the SDK's ``MetadataAccessor`` obtains them.

    The session token is kept and reused; the service's 401 (other than "no agency") renews it once.

    :param url: the metadata service, ``http://169.254.169.254`` on every instance.
    """

    url: str
    _session_token: str | None = field(default=None, repr=False)
    _no_token_since: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def description(self) -> str:
        return f"the instance metadata service at {self.url}"

    def fetch(self, hook: ModelArtsBaseHook) -> TemporaryCredentials:
        with self._lock:
            if self._session_token is None and (
                self._no_token_since is None or time.monotonic() - self._no_token_since > _NO_TOKEN_RECHECK_SECONDS
            ):
                self._renew_session_token(hook, required=False)
            response = self._security_key(hook)
            if response.status_code == 401 and creds.AGENCY_NOT_CONFIGURED not in response.text:
                # The session token expired or was revoked: a new one, once (the SDK's rule).
                self._renew_session_token(hook, required=True)
                response = self._security_key(hook)
        if response.status_code == 401 and creds.AGENCY_NOT_CONFIGURED in response.text:
            raise ModelArtsCredentialsError(
                f"The metadata service at {self.url} says this instance has no agency: attach an agency "
                "that may use ModelArts to the ECS, BMS or CCE node pool that runs Airflow (Console: the "
                "instance > Management Information > Agency), or use another auth_type"
            )
        if response.status_code >= 400:
            raise ModelArtsCredentialsError(
                f"The metadata service at {self.url} refused the security key request (HTTP "
                f"{response.status_code}): check that Airflow runs on a Huawei Cloud ECS, BMS or CCE node and "
                "that 'metadata_url' is right"
            )
        try:
            body = json.loads(response.text)
        except ValueError:
            raise ModelArtsTransportError(
                f"The metadata service at {self.url} answered a body that is not JSON"
            ) from None
        credentials = creds.parse_credential(body, source="the instance metadata service", now=pendulum.now("UTC"))
        _mask(credentials.secret_key, credentials.security_token)
        return credentials

    def _renew_session_token(self, hook: ModelArtsBaseHook, *, required: bool) -> None:
        response = self._send(
            hook,
            "PUT",
            creds.METADATA_TOKEN_PATH,
            {creds.HEADER_METADATA_TOKEN_TTL: str(creds.METADATA_TOKEN_TTL_SECONDS)},
            answers=creds.METADATA_NO_TOKEN_STATUSES,
        )
        if response.status_code == 200 and response.text.strip():
            self._session_token = response.text.strip()
            self._no_token_since = None
            _mask(self._session_token)
            return
        if response.status_code in creds.METADATA_NO_TOKEN_STATUSES and not required:
            self._session_token = None
            self._no_token_since = time.monotonic()
            return
        raise ModelArtsCredentialsError(
            f"The metadata service at {self.url} refused a session token (HTTP {response.status_code}): check "
            "that Airflow runs on a Huawei Cloud ECS, BMS or CCE node and that 'metadata_url' is right"
        )

    def _security_key(self, hook: ModelArtsBaseHook) -> requests.Response:
        headers = {creds.HEADER_METADATA_TOKEN: self._session_token} if self._session_token else {}
        return self._send(hook, "GET", creds.METADATA_SECURITY_KEY_PATH, headers)

    def _send(
        self,
        hook: ModelArtsBaseHook,
        method: str,
        path: str,
        headers: dict[str, str],
        answers: frozenset[int] = frozenset(),
    ) -> requests.Response:
        """One call under the hook's retry policy: 5xx, 429, read timeouts and dropped connections
        are retried (the service may be briefly down), except the statuses in ``answers``, which are
        the caller's to read. A connection that cannot even be opened is not retried, as in the SDK:
        the node is not on the cloud (or ``metadata_url`` is wrong), and no retry changes that."""
        url = self.url + path
        timeout = (creds.METADATA_CONNECT_TIMEOUT_SECONDS, hook.settings.timeout)

        def send() -> requests.Response:
            try:
                response = hook.session.request(method, url, headers=headers, auth=NoAuth(), timeout=timeout)
            except requests.RequestException as error:
                if retry_policy.proves_not_sent(error):
                    raise ModelArtsCredentialsError(
                        f"Cannot reach the instance metadata service at {self.url} ({type(error).__name__}): "
                        "Airflow does not seem to run on a Huawei Cloud ECS, BMS or CCE node. Use auth_type "
                        "metadata only there (elsewhere aksk, idp or default_chain), or fix 'metadata_url'"
                    ) from None
                raise
            status = response.status_code
            if (status == 429 or status >= 500) and status not in answers:
                raise ModelArtsServerError(
                    status,
                    "",
                    f"the instance metadata service at {self.url} answered {method} {path} with HTTP {status}",
                    retry_after=transport.parse_retry_after(response.headers.get("Retry-After")),
                )
            return response

        return hook._with_retries(method, url, send, idempotent=True)


@dataclass
class FederationSource:
    """Temporary credentials for a workload's ID token, through IAM identity-provider federation,
    as the SDK's ``FederalAccessor`` obtains them. The token file is read again at each refresh.

    :param idp_id: the identity provider's name in IAM.
    :param id_token_file: where the projected service-account token is.
    :param iam_endpoint: IAM, e.g. ``https://iam.cn-north-4.myhuaweicloud.com``.
    :param origin: where these settings came from (the connection, or the default chain's source).
    """

    idp_id: str
    id_token_file: str
    iam_endpoint: str
    origin: str = "the connection"

    @property
    def description(self) -> str:
        return f"IAM federation with identity provider {self.idp_id!r} (ID token file from {self.origin})"

    def fetch(self, hook: ModelArtsBaseHook) -> TemporaryCredentials:
        id_token = creds.read_id_token(self.id_token_file)
        _mask(id_token)
        try:
            answer = hook._exchange(
                "POST",
                self.iam_endpoint + creds.IDP_TOKENS_PATH,
                json_body=creds.id_token_request(id_token),
                idempotent=True,  # only mints another token
                authenticated=False,
                content_type=IAM_CONTENT_TYPE,
                error_table=transport.IAM_ERROR_TABLE,
                extra_headers={creds.HEADER_IDP_ID: self.idp_id},
            )
            token = answer.headers.get(HEADER_SUBJECT_TOKEN)
            if not token:
                raise ModelArtsTransportError("IAM answered the ID-token exchange without an X-Subject-Token header")
            _mask(token)
            answer = hook._exchange(
                "POST",
                self.iam_endpoint + creds.SECURITY_TOKENS_PATH,
                json_body=creds.security_token_request(token),
                idempotent=True,
                authenticated=False,
                content_type=IAM_CONTENT_TYPE,
                error_table=transport.IAM_ERROR_TABLE,
                extra_headers={HEADER_AUTH_TOKEN: token},
            )
        except ModelArtsApiError as error:
            if isinstance(error, ModelArtsServerError) or error.http_status == 429:
                raise
            raise ModelArtsCredentialsError(
                f"IAM refused the federation with identity provider {self.idp_id!r}: {error.error_message} "
                f"(HTTP {error.http_status}{', ' + error.error_code if error.error_code else ''}). Check idp_id, "
                "the identity provider in IAM (its issuer and identity conversion rules) and that the token in "
                "id_token_file is the workload's current one"
            ) from None
        credentials = creds.parse_credential(answer.body, source="IAM securitytokens", now=pendulum.now("UTC"))
        _mask(credentials.secret_key, credentials.security_token)
        return credentials


@dataclass(frozen=True)
class StaticSource:
    """An AK/SK (with an optional security token) the default chain found: never renewed."""

    entry: ChainEntry

    @property
    def description(self) -> str:
        return self.entry.origin

    def fetch(self, hook: ModelArtsBaseHook) -> TemporaryCredentials:
        assert self.entry.access_key is not None and self.entry.secret_key is not None
        _mask(self.entry.secret_key, self.entry.security_token)
        return TemporaryCredentials(
            access_key=self.entry.access_key,
            secret_key=self.entry.secret_key,
            security_token=self.entry.security_token,
            obtained_at=pendulum.now("UTC"),
            expires_at=None,
            source=self.entry.origin,
        )


Source = MetadataSource | FederationSource | StaticSource


@dataclass
class DefaultChainSource:
    """The SDK's default chain: the environment, then the profile file, then the metadata service.

    Decided once, at the first fetch (the log says which source, never its values); later refreshes
    ask the same source.

    :param environ: the process environment (tests pass their own).
    """

    metadata_url: str
    iam_endpoint: str
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    chosen: Source | None = None
    project_id: str | None = None

    @property
    def description(self) -> str:
        return self.chosen.description if self.chosen else "the default chain (not resolved yet)"

    def fetch(self, hook: ModelArtsBaseHook) -> TemporaryCredentials:
        if self.chosen is None:
            self.chosen = self._choose(hook)
            hook.log.info("Connection %r: default_chain uses %s", hook.modelarts_conn_id, self.chosen.description)
        try:
            return self.chosen.fetch(hook)
        except ModelArtsCredentialsError as error:
            if not isinstance(self.chosen, MetadataSource):
                raise
            # The last resort failed: say what was looked for before it.
            path = creds.profile_path(self.environ)
            raise ModelArtsCredentialsError(
                f"default_chain found no {creds.ENV_AK}/{creds.ENV_SK} or {creds.ENV_IDP_ID}/"
                f"{creds.ENV_ID_TOKEN_FILE} in the environment and no usable profile file at {path}, so it "
                f"asked the metadata service. {error}"
            ) from None

    def _choose(self, hook: ModelArtsBaseHook) -> Source:
        entry, ignored = creds.from_environment(self.environ)
        self._warn_ignored(hook, ignored, "the environment")
        if entry is None:
            path = os.path.expanduser(creds.profile_path(self.environ))
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
                except OSError as error:
                    raise ModelArtsCredentialsError(
                        f"Cannot read the profile file {path!r}: {error.strerror or error}"
                    ) from None
                entry, ignored = creds.from_profile(text, path)
                self._warn_ignored(hook, ignored, f"the profile file {path} [{creds.PROFILE_SECTION}]")
        if entry is None:
            return MetadataSource(self.metadata_url)
        self.project_id = entry.project_id
        if entry.is_federation:
            assert entry.idp_id is not None and entry.id_token_file is not None
            return FederationSource(
                entry.idp_id, entry.id_token_file, entry.iam_endpoint or self.iam_endpoint, origin=entry.origin
            )
        return StaticSource(entry)

    @staticmethod
    def _warn_ignored(hook: ModelArtsBaseHook, names: list[str], where: str) -> None:
        if names:
            hook.log.warning(
                "Connection %r: default_chain ignores %s in %s: one half of a pair, as the SDK reads it",
                hook.modelarts_conn_id,
                " and ".join(names),
                where,
            )


CredentialSource = Source | DefaultChainSource


def source_for(settings: ConnectionSettings) -> CredentialSource:
    """The source a connection of a temporary-credential auth type asks."""
    if settings.auth_type == AUTH_METADATA:
        assert settings.metadata_url is not None
        return MetadataSource(settings.metadata_url)
    if settings.auth_type == AUTH_IDP:
        assert settings.idp_id is not None and settings.id_token_file is not None
        return FederationSource(settings.idp_id, settings.id_token_file, settings.iam_endpoint)
    if settings.auth_type == AUTH_DEFAULT_CHAIN:
        assert settings.metadata_url is not None
        return DefaultChainSource(settings.metadata_url, settings.iam_endpoint)
    raise ValueError(f"auth_type {settings.auth_type!r} has no temporary credentials")


def _cache_key(settings: ConnectionSettings) -> ConnectionSettings:
    """Every setting but the looked-up project: an edited connection (another source, region,
    verify or timeout) gets a cache of its own, and the old one ages out of the registry."""
    return dataclasses.replace(settings, project_id="")


@dataclass
class SharedCredentials:
    """One connection's credential cache, the source it asks and the project looked up, shared in
    the process. Renewals go through the hook that asked last: every hook of these settings sends
    the same requests, and the last one is the one still in use."""

    source: CredentialSource
    hook: ModelArtsBaseHook = field(repr=False)
    project_id: str | None = None
    cache: RenewingCache[TemporaryCredentials] = field(init=False)
    # Hooks that start together (two pollers of one triggerer) look the project up once.
    project_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.cache = RenewingCache(self.fetch, what="temporary credentials")

    def fetch(self) -> TemporaryCredentials:
        hook = self.hook
        credentials = self.source.fetch(hook)
        hook.log.info(
            "Connection %r: %s from %s, %s",
            hook.modelarts_conn_id,
            "temporary credentials" if credentials.expires_at else "an AK/SK",
            self.source.description,
            f"valid until {credentials.expires_at.isoformat()}" if credentials.expires_at else "never renewed",
        )
        return credentials


#: Connection settings kept at once; the least recently used are dropped (their credentials are
#: obtained again if they come back). The API server's Test button adds one per test.
REGISTRY_SIZE = 64
_registry_lock = threading.Lock()
_registry: OrderedDict[ConnectionSettings, SharedCredentials] = OrderedDict()


def shared_credentials(settings: ConnectionSettings, hook: ModelArtsBaseHook) -> SharedCredentials:
    """The process's credential cache of these connection settings (created on first use)."""
    key = _cache_key(settings)
    with _registry_lock:
        shared = _registry.get(key)
        if shared is None:
            shared = SharedCredentials(source_for(settings), hook)
            _registry[key] = shared
            while len(_registry) > REGISTRY_SIZE:
                _registry.popitem(last=False)
        else:
            _registry.move_to_end(key)
            shared.hook = hook
        return shared


def project_id_for(settings: ConnectionSettings, hook: ModelArtsBaseHook) -> str:
    """The project of the connection's region, looked up once per process (the SDK's rule).

    The default chain's own project id (``HUAWEICLOUD_SDK_PROJECT_ID``, or ``project_id`` in the
    profile file) wins; otherwise ``GET /v3/projects?name=<region>`` at IAM, signed with the
    temporary credentials.
    """
    shared = shared_credentials(settings, hook)
    with shared.project_lock:
        if not shared.project_id:
            shared.project_id = _look_up_project(settings, hook, shared)
        return shared.project_id


def _look_up_project(settings: ConnectionSettings, hook: ModelArtsBaseHook, shared: SharedCredentials) -> str:
    shared.cache.get_item()  # the default chain decides its source at the first fetch
    chain_project = shared.source.project_id if isinstance(shared.source, DefaultChainSource) else None
    if chain_project:
        return chain_project
    answer = hook._exchange(
        "GET",
        settings.iam_endpoint + creds.PROJECTS_PATH,
        query=[("name", settings.region)],
        idempotent=True,
        error_table=transport.IAM_ERROR_TABLE,
    )
    project_id = creds.project_of_region(answer.body, settings.region)
    hook.log.info(
        "Connection %r: project_id %s, looked up from IAM for region %s", settings.conn_id, project_id, settings.region
    )
    return project_id


def forget_all() -> None:
    """Drop every shared cache (tests; a new connection definition gets a new key anyway)."""
    with _registry_lock:
        _registry.clear()


__all__ = [
    "DefaultChainSource",
    "FederationSource",
    "MetadataSource",
    "SharedCredentials",
    "StaticSource",
    "forget_all",
    "project_id_for",
    "shared_credentials",
    "source_for",
]
