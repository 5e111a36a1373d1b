"""Temporary credentials as Huawei Cloud hands them out, pure: no I/O here.

Three documented ways to run without a long-lived AK/SK, read from the official SDK core
(``huaweicloudsdkcore`` ``auth/internal.py``, ``auth/provider.py``, ``auth/credentials.py``):

* the **instance metadata service** of an ECS, BMS or CCE node with an agency attached: a session
  token (``PUT /meta-data/latest/api/token``), then ``GET /openstack/latest/securitykey``
  (https://support.huaweicloud.com/intl/en-us/usermanual-ecs/ecs_03_0166.html);
* **identity-provider federation** for Kubernetes workloads: the projected service-account token
  is exchanged at IAM (``POST /v3.0/OS-AUTH/id-token/tokens``), then the IAM token for temporary
  AK/SK (``POST /v3.0/OS-CREDENTIAL/securitytokens``,
  https://support.huaweicloud.com/intl/en-us/api-iam/iam_04_0002.html);
* the SDK's **default chain**: the environment, then the profile file, then the metadata service.

The exchanges themselves (HTTP, retries, the shared cache) are in
:mod:`airflow_provider_modelarts.hooks.credentials`; docs/credentials.md explains the choices.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pendulum

from airflow_provider_modelarts.exceptions import ModelArtsCredentialsError

# -- the instance metadata service --------------------------------------------------------------
METADATA_TOKEN_PATH = "/meta-data/latest/api/token"
METADATA_SECURITY_KEY_PATH = "/openstack/latest/securitykey"
HEADER_METADATA_TOKEN = "X-Metadata-Token"
HEADER_METADATA_TOKEN_TTL = "X-Metadata-Token-Ttl-Seconds"
#: What the SDK asks for (6 h); a session token is renewed only when the service refuses it.
METADATA_TOKEN_TTL_SECONDS = 6 * 60 * 60
#: The body of the metadata service's 401 when the instance has no agency (the SDK's CONFIG_AGENCY_ERROR).
AGENCY_NOT_CONFIGURED = "Please configure Cloud Service Agency first"
#: Statuses of the token PUT that mean "no session token now: go on without one" (the SDK's, per
#: the reference: 404 and 405 where the service has none, 503 where it cannot issue one).
METADATA_NO_TOKEN_STATUSES = frozenset({404, 405, 503})
#: The SDK's timeouts for the link-local service are 3 s; a node off the cloud should fail fast.
METADATA_CONNECT_TIMEOUT_SECONDS = 3.0

# -- IAM federation -----------------------------------------------------------------------------
IDP_TOKENS_PATH = "/v3.0/OS-AUTH/id-token/tokens"
SECURITY_TOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"
PROJECTS_PATH = "/v3/projects"
HEADER_IDP_ID = "X-Idp-Id"
#: The SDK asks for 6-hour temporary credentials (``_DEFAULT_DURATION_SECONDS``).
FEDERATION_DURATION_SECONDS = 6 * 60 * 60

# -- refresh ------------------------------------------------------------------------------------
#: The SDK refreshes when less than 40 minutes remain (``_DEFAULT_EXPIRATION_THRESHOLD_SECONDS``).
REFRESH_BEFORE_SECONDS = 40 * 60.0
#: Below this, a failed refresh is an error: a request and its retries may take that long.
REQUIRED_BEFORE_SECONDS = 5 * 60.0

# -- the default chain: the SDK's environment variables and profile file --------------------------
ENV_AK = "HUAWEICLOUD_SDK_AK"
ENV_SK = "HUAWEICLOUD_SDK_SK"
ENV_SECURITY_TOKEN = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
ENV_PROJECT_ID = "HUAWEICLOUD_SDK_PROJECT_ID"
ENV_IDP_ID = "HUAWEICLOUD_SDK_IDP_ID"
ENV_ID_TOKEN_FILE = "HUAWEICLOUD_SDK_ID_TOKEN_FILE"
ENV_CREDENTIALS_FILE = "HUAWEICLOUD_SDK_CREDENTIALS_FILE"
DEFAULT_CREDENTIALS_FILE = "~/.huaweicloud/credentials"


@dataclass(frozen=True)
class TemporaryCredentials:
    """An AK/SK with its security token and validity window; ``repr`` shows neither secret.

    ``expires_at`` is ``None`` for keys that do not expire (the environment or the profile file
    holding a permanent AK/SK in the default chain).

    :param source: where they came from, for log lines (never a value).
    """

    access_key: str
    secret_key: str = field(repr=False)
    security_token: str | None = field(repr=False)
    obtained_at: pendulum.DateTime
    expires_at: pendulum.DateTime | None
    source: str

    @property
    def value(self) -> str:
        """What a rejection is matched against (the cache drops only what the gateway refused)."""
        return self.access_key

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(value for value in (self.secret_key, self.security_token) if value)

    def _seconds_left(self, now: pendulum.DateTime) -> float:
        assert self.expires_at is not None
        return (self.expires_at - now).total_seconds()

    def _lifetime(self) -> float:
        assert self.expires_at is not None
        return max((self.expires_at - self.obtained_at).total_seconds(), 0.0)

    def refresh_due(self, now: pendulum.DateTime) -> bool:
        """Time to renew: less than 40 minutes left, as the SDK renews; or, for credentials that
        live less than 80 minutes (which the SDK would renew before every request), half their life."""
        if self.expires_at is None:
            return False
        return self._seconds_left(now) < min(REFRESH_BEFORE_SECONDS, self._lifetime() / 2)

    def refresh_required(self, now: pendulum.DateTime) -> bool:
        """Too close to expiry to send a request with them: a failed renewal raises."""
        if self.expires_at is None:
            return False
        return self._seconds_left(now) <= min(REQUIRED_BEFORE_SECONDS, self._lifetime() / 10)


def _first(mapping: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = mapping.get(name)
        if value not in (None, ""):
            return value
    return None


def parse_credential(body: Any, *, source: str, now: pendulum.DateTime) -> TemporaryCredentials:
    """The ``credential`` object of the metadata service or of IAM's securitytokens answer.

    ``{"credential": {"access", "secret", "securitytoken", "expires_at"}}``; the camelCase
    variants the SDK also accepts (``securityToken``, ``expiresAt``) are read too.

    :raises ModelArtsCredentialsError: the answer does not have that shape (the message names the
        missing field, never a value).
    """
    credential = body.get("credential") if isinstance(body, Mapping) else None
    if not isinstance(credential, Mapping):
        raise ModelArtsCredentialsError(f"{source} answered without a 'credential' object")
    access = _first(credential, "access", "access_key", "accessKey")
    secret = _first(credential, "secret", "secret_key", "secretKey")
    token = _first(credential, "securitytoken", "security_token", "securityToken")
    expires = _first(credential, "expires_at", "expiresAt")
    for name, value in (("access", access), ("secret", secret), ("securitytoken", token), ("expires_at", expires)):
        if not isinstance(value, str):
            raise ModelArtsCredentialsError(f"{source} answered a credential without {name!r}")
    try:
        expires_at = pendulum.parse(expires, tz="UTC")
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        raise ModelArtsCredentialsError(f"{source} answered an unreadable expires_at {expires!r}") from None
    if not isinstance(expires_at, pendulum.DateTime):
        raise ModelArtsCredentialsError(f"{source} answered an unreadable expires_at {expires!r}")
    return TemporaryCredentials(
        access_key=access,
        secret_key=secret,
        security_token=token,
        obtained_at=now,
        expires_at=expires_at.in_timezone("UTC"),
        source=source,
    )


def id_token_request(id_token: str) -> dict[str, Any]:
    """The body of ``POST /v3.0/OS-AUTH/id-token/tokens`` (an unscoped token, as the reference has it)."""
    return {"auth": {"id_token": {"id": id_token}}}


def security_token_request(iam_token: str, duration_seconds: int = FEDERATION_DURATION_SECONDS) -> dict[str, Any]:
    """The body of ``POST /v3.0/OS-CREDENTIAL/securitytokens`` for an IAM token."""
    return {
        "auth": {
            "identity": {
                "methods": ["token"],
                "token": {"id": iam_token, "duration_seconds": duration_seconds},
            }
        }
    }


def project_of_region(body: Any, region: str) -> str:
    """The one project id that ``GET /v3/projects?name=<region>`` lists.

    :raises ModelArtsCredentialsError: none or several (the message says to set ``project_id``).
    """
    projects = body.get("projects") if isinstance(body, Mapping) else None
    ids = [str(p["id"]) for p in projects or [] if isinstance(p, Mapping) and p.get("id")]
    if len(ids) == 1:
        return ids[0]
    found = f"projects {', '.join(ids)}" if ids else "no project"
    raise ModelArtsCredentialsError(
        f"IAM lists {found} named {region!r} for these credentials: set the connection's project_id "
        "(Console: My Credentials > API Credentials > Projects)"
    )


def read_id_token(path: str) -> str:
    """The ID token in ``path``, read at every refresh: kubelet rotates a projected token.

    Messages name the path as its folder and file name: Airflow masks the values of connection
    extras whose name contains "token", ``id_token_file`` included, wherever the whole path appears.

    :raises ModelArtsCredentialsError: the file cannot be read or is empty (permanent: the pod's
        volume is missing or the path is wrong).
    """
    folder, name = os.path.split(os.path.expanduser(path))
    where = f"the ID token file {name!r} in {folder or '.'!r}"
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as error:
        raise ModelArtsCredentialsError(
            f"Cannot read {where} ({type(error).__name__}: {error.strerror or error}): check "
            "'id_token_file' and that the pod mounts its projected service-account token there"
        ) from None
    if not token:
        raise ModelArtsCredentialsError(f"{where[0].upper()}{where[1:]} is empty")
    return token


@dataclass(frozen=True)
class ChainEntry:
    """What the default chain found in the environment or a profile file.

    Either a permanent (or static temporary) AK/SK, or an IdP id and ID-token file for federation.

    :param origin: where it was found, for the log line: never a value.
    """

    origin: str
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    idp_id: str | None = None
    id_token_file: str | None = None
    project_id: str | None = None
    iam_endpoint: str | None = None

    @property
    def is_federation(self) -> bool:
        return self.access_key is None


def _entry(origin: str, values: Mapping[str, str | None], keys: Mapping[str, str]) -> ChainEntry | None:
    """The entry ``values`` describe (by the names in ``keys``), as the SDK reads them: an IdP id
    with a token file first, else an AK/SK pair, else ``None`` (the SDK moves on to the next
    source; :func:`incomplete` says what was half set)."""

    def get(name: str) -> str | None:
        value = values.get(keys[name])
        return value.strip() if isinstance(value, str) and value.strip() else None

    common = {"project_id": get("project_id"), "iam_endpoint": get("iam_endpoint")}
    idp_id, token_file = get("idp_id"), get("id_token_file")
    if idp_id and token_file:
        return ChainEntry(origin, idp_id=idp_id, id_token_file=token_file, **common)
    ak, sk = get("ak"), get("sk")
    if ak and sk:
        return ChainEntry(origin, access_key=ak, secret_key=sk, security_token=get("security_token"), **common)
    return None


def incomplete(values: Mapping[str, str | None], keys: Mapping[str, str]) -> list[str]:
    """The names of a half-set pair (an AK without SK, an IdP id without token file), which the SDK
    ignores: worth a warning, since a typo there silently moves the chain on."""
    found = []
    for first, second in (("ak", "sk"), ("idp_id", "id_token_file")):
        present = [keys[name] for name in (first, second) if str(values.get(keys[name]) or "").strip()]
        if len(present) == 1:
            found.extend(present)
    return found


_ENV_KEYS = {
    "ak": ENV_AK,
    "sk": ENV_SK,
    "security_token": ENV_SECURITY_TOKEN,
    "project_id": ENV_PROJECT_ID,
    "idp_id": ENV_IDP_ID,
    "id_token_file": ENV_ID_TOKEN_FILE,
    "iam_endpoint": "HUAWEICLOUD_SDK_IAM_ENDPOINT",
}
_PROFILE_KEYS = {name: name for name in _ENV_KEYS}
#: The profile section the SDK's BasicCredentials read (``[global]`` is for GlobalCredentials).
PROFILE_SECTION = "basic"


def from_environment(environ: Mapping[str, str]) -> tuple[ChainEntry | None, list[str]]:
    """The SDK's ``EnvCredentialProvider``: IdP federation, or an AK/SK (with an optional security
    token); and the names of a half-set pair it ignored."""
    return _entry("the environment (HUAWEICLOUD_SDK_*)", environ, _ENV_KEYS), incomplete(environ, _ENV_KEYS)


def profile_path(environ: Mapping[str, str]) -> str:
    """``$HUAWEICLOUD_SDK_CREDENTIALS_FILE``, else ``~/.huaweicloud/credentials``."""
    return environ.get(ENV_CREDENTIALS_FILE) or DEFAULT_CREDENTIALS_FILE


def from_profile(text: str, path: str) -> tuple[ChainEntry | None, list[str]]:
    """The SDK's ``ProfileCredentialProvider`` for basic credentials: an INI file, section
    ``[basic]``; and the keys of a half-set pair it ignored."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as error:
        raise ModelArtsCredentialsError(
            f"The profile file {path!r} is not an INI file: {type(error).__name__}"
        ) from None
    if not parser.has_section(PROFILE_SECTION):
        return None, []
    values = dict(parser.items(PROFILE_SECTION))
    return _entry(f"the profile file {path} [{PROFILE_SECTION}]", values, _PROFILE_KEYS), incomplete(
        values, _PROFILE_KEYS
    )
