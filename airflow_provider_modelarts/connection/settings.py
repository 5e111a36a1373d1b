"""Reading the ModelArts Airflow connection: the fields declared in :mod:`.fields`, validated."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_modelarts.cloud.endpoints import (
    CLOUD_HCS,
    CLOUDS,
    DEFAULT_CLOUD,
    DEFAULT_CONSOLE_TEMPLATE,
    DEFAULT_LOG_API,
    DEFAULT_METADATA_URL,
    LOG_API_AOM,
    LOG_API_AUTO,
    LOG_API_PREVIEW,
    LOG_APIS,
    iam_endpoint,
    modelarts_endpoint,
)
from airflow_provider_modelarts.cloud.validation import validate_name, validate_region
from airflow_provider_modelarts.connection.fields import (
    AUTH_AKSK,
    AUTH_DEFAULT_CHAIN,
    AUTH_IDP,
    AUTH_METADATA,
    AUTH_PASSWORD,
    AUTH_TYPES,
    CONN_FIELDS,
    CONN_TYPE,
    DEFAULT_TIMEOUT_SECONDS,
    TEMPORARY_AUTH_TYPES,
)
from airflow_provider_modelarts.exceptions import ModelArtsConnectionConfigError, ModelArtsValidationError

__all__ = [
    "AUTH_AKSK",
    "AUTH_DEFAULT_CHAIN",
    "AUTH_IDP",
    "AUTH_METADATA",
    "AUTH_PASSWORD",
    "TEMPORARY_AUTH_TYPES",
    "CONN_FIELDS",
    "CONN_TYPE",
    "LOG_APIS",
    "LOG_API_AOM",
    "LOG_API_AUTO",
    "LOG_API_PREVIEW",
    "ConnectionSettings",
    "settings_from_connection",
]

_LEGACY_PREFIX = f"extra__{CONN_TYPE}__"
_SCHEMES = ("http", "https")
# Every ModelArts and IAM endpoint of Huawei Cloud, public or private (VPC endpoint), serves HTTPS
# only, and a plain-HTTP default would send signed requests in clear text by accident. Only a local
# test server such as the emulator speaks plain HTTP, and its user says so with schema "http".
_DEFAULT_HOST_SCHEME = "https"
# A DNS name (the hcs cloud_domain): dot-separated labels of letters, digits and inner hyphens.
_DOMAIN_PATTERN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionSettings:
    """What the hook needs from the connection, validated. Secrets are left out of ``repr``.

    :param cloud: the ``cloud`` extra (:data:`~airflow_provider_modelarts.cloud.endpoints.CLOUDS`) that
        built the default ``endpoint`` and ``iam_endpoint``.
    :param cloud_domain: the Huawei Cloud Stack domain (``cloud`` ``hcs`` only), else ``None``.
    :param log_api: how a task's log is read: ``aom`` = the per-line AOM endpoint only;
        ``preview`` = the log preview endpoint (the newest 5 MB of the log); ``auto`` = AOM,
        falling back to the preview when the service says the AOM API does not exist.
    :param project_id: empty only for the temporary-credential auth types when the connection
        leaves it out: the hook then looks it up from IAM by region, once.
    :param metadata_url: the instance metadata service (``metadata`` and ``default_chain`` only).
    :param idp_id: the identity provider (``idp`` only).
    :param id_token_file: where the workload's ID token is (``idp`` only).
    """

    conn_id: str
    auth_type: str
    region: str
    project_id: str
    endpoint: str
    iam_endpoint: str
    console_url: str
    workspace_id: str | None
    verify: bool | str
    timeout: float
    login: str
    domain_name: str | None
    password: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    cloud: str = DEFAULT_CLOUD
    cloud_domain: str | None = None
    log_api: str = DEFAULT_LOG_API
    metadata_url: str | None = None
    idp_id: str | None = None
    id_token_file: str | None = None

    @property
    def temporary(self) -> bool:
        """Whether the credentials are obtained (and renewed) by the hook itself."""
        return self.auth_type in TEMPORARY_AUTH_TYPES

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(value for value in (self.password, self.security_token) if value)


def read_extra(extra: Mapping[str, Any], key: str) -> Any:
    """Plain key first (what the Airflow 3 UI writes), then the legacy ``extra__modelarts__`` form."""
    value = extra.get(key)
    if value is None or value == "":
        value = extra.get(_LEGACY_PREFIX + key)
    return None if value == "" else value


def _url(conn_id: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ModelArtsConnectionConfigError(conn_id, key, "must be a URL such as https://host[:port]")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelArtsConnectionConfigError(
            conn_id, key, f"must be an http(s) URL such as https://host[:port], got {value!r}"
        )
    try:
        _ = parts.port
    except ValueError:
        raise ModelArtsConnectionConfigError(conn_id, key, f"must have a port from 1 to 65535, got {value!r}") from None
    return value.strip().rstrip("/")


def _verify(conn_id: str, value: Any) -> bool | str:
    if value is None or isinstance(value, bool):
        return True if value is None else value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        if lowered:
            return value.strip()
    raise ModelArtsConnectionConfigError(conn_id, "verify", "must be true, false or a CA bundle path")


def _choice(conn_id: str, key: str, value: Any, allowed: tuple[str, ...], default: str) -> str:
    """One of ``allowed`` (any case, surrounding spaces ignored), ``default`` when unset."""
    if value is None:
        return default
    choice = value.strip().lower() if isinstance(value, str) else value
    if choice not in allowed:
        raise ModelArtsConnectionConfigError(conn_id, key, f"must be one of {', '.join(allowed)}, got {value!r}")
    return str(choice)


def _cloud_domain(conn_id: str, cloud: str, value: Any) -> str | None:
    """The ``cloud_domain`` extra: required for ``hcs``, refused with another cloud."""
    if value is None:
        if cloud == CLOUD_HCS:
            raise ModelArtsConnectionConfigError(
                conn_id,
                "cloud_domain",
                "is required with cloud hcs: the Huawei Cloud Stack's external domain name, e.g. example.com "
                "for https://modelarts.<region>.example.com (or set 'endpoint' and 'iam_endpoint' instead)",
            )
        return None
    if cloud != CLOUD_HCS:
        raise ModelArtsConnectionConfigError(
            conn_id, "cloud_domain", f"is only used with cloud hcs (cloud is {cloud!r}): set cloud to hcs, or clear it"
        )
    domain = value.strip().strip(".").lower() if isinstance(value, str) else ""
    if not _DOMAIN_PATTERN.match(domain):
        raise ModelArtsConnectionConfigError(
            conn_id, "cloud_domain", f"must be a domain name such as example.com (no scheme, no path), got {value!r}"
        )
    return domain


def _timeout(conn_id: str, value: Any) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        if isinstance(value, bool):
            raise ValueError
        timeout = float(value)
    except (TypeError, ValueError):
        raise ModelArtsConnectionConfigError(
            conn_id, "timeout", f"must be a number of seconds greater than 0, got {value!r}"
        ) from None
    if not 0 < timeout <= 3600:
        raise ModelArtsConnectionConfigError(conn_id, "timeout", f"must be in (0, 3600] seconds, got {value!r}")
    return timeout


def _warn_unknown_keys(conn_id: str, extra: Mapping[str, Any]) -> None:
    """Warn about extra keys this version does not know, instead of refusing them.

    A connection written for a later version of the provider (with a field this one lacks) must
    keep working here; a typo still shows up in the task log with the key it probably meant.
    Keys starting with ``_`` are private to other tools and are left alone.
    """
    for key in sorted(extra):
        name = key.removeprefix(_LEGACY_PREFIX)
        if name in CONN_FIELDS or key.startswith("_"):
            continue
        nearest = difflib.get_close_matches(name, CONN_FIELDS, n=1)
        advice = f"did you mean {nearest[0]!r}?" if nearest else "known keys: " + ", ".join(CONN_FIELDS)
        log.warning(
            "Connection %r: ignoring extra key %r, which is not a ModelArts connection field; %s",
            conn_id,
            key,
            advice,
        )


def _port(conn_id: str, value: int | str | None) -> int | None:
    if value is None or value == "" or value == 0:
        # Airflow's connection form sends port 0 for a connection saved without one.
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        port = int(value)
    except (TypeError, ValueError):
        raise ModelArtsConnectionConfigError(
            conn_id, "port", f"must be a port from 1 to 65535, got {value!r}"
        ) from None
    if not 0 < port <= 65535:
        raise ModelArtsConnectionConfigError(conn_id, "port", f"must be a port from 1 to 65535, got {value!r}")
    return port


@dataclass(frozen=True)
class _HostFields:
    """The endpoint as the connection's own host, port and schema describe it (each may be unset)."""

    scheme: str | None
    hostname: str | None
    port: int | None
    written: str

    def url(self, conn_id: str) -> str:
        scheme = self.scheme or _DEFAULT_HOST_SCHEME
        host = f"[{self.hostname}]" if self.hostname and ":" in self.hostname else self.hostname
        port = f":{self.port}" if self.port is not None else ""
        return _url(conn_id, "host", f"{scheme}://{host}{port}")


def _host_fields(conn_id: str, host: str | None, port: int | str | None, schema: str | None) -> _HostFields | None:
    """Read host, port and schema, including Airflow's URI forms, or ``None`` when none is set.

    ``modelarts://AK:SK@host:8089/http?...`` gives host, port and schema ``http``;
    ``modelarts://http://AK:SK@host:8089/?...`` keeps the scheme in the host (``http://host``).
    """
    scheme = (schema or "").strip().lower() or None
    if scheme is not None and scheme not in _SCHEMES:
        raise ModelArtsConnectionConfigError(
            conn_id, "schema", f"must be http or https (the scheme of the ModelArts endpoint URL), got {schema!r}"
        )
    port_number = _port(conn_id, port)
    text = (host or "").strip().rstrip("/")
    if "@" in text:
        # Never echoed: what precedes the @ is likely an AK and SK typed into the wrong field.
        raise ModelArtsConnectionConfigError(
            conn_id, "host", "must be a host name only: put the user (AK) and secret in login and password"
        )
    if "://" in text:
        host_scheme, _, text = text.partition("://")
        host_scheme = host_scheme.lower()
        if host_scheme not in _SCHEMES:
            raise ModelArtsConnectionConfigError(
                conn_id, "host", f"must be a host name, or an http(s) URL such as https://host, got {host!r}"
            )
        if scheme is not None and scheme != host_scheme:
            raise ModelArtsConnectionConfigError(
                conn_id, "host", f"says {host_scheme} but 'schema' says {scheme}: keep one of them"
            )
        scheme = host_scheme
    hostname: str | None = None
    if text.count(":") > 1 and not text.startswith("["):
        text = f"[{text}]"  # Airflow's URI parser drops the brackets of an IPv6 address
    if text:
        parts = urlsplit(f"//{text}")
        try:
            port_in_host = parts.port
        except ValueError:
            raise ModelArtsConnectionConfigError(
                conn_id, "host", f"must have a port from 1 to 65535, got {host!r}"
            ) from None
        if not parts.hostname or parts.path or parts.query or parts.fragment:
            raise ModelArtsConnectionConfigError(
                conn_id, "host", f"must be a host name such as modelarts.example.com, got {host!r}"
            )
        if port_in_host is not None and port_number is not None and port_in_host != port_number:
            raise ModelArtsConnectionConfigError(
                conn_id, "port", f"({port_number}) and the port in 'host' ({host!r}) differ: keep one of them"
            )
        hostname = parts.hostname
        port_number = port_number if port_number is not None else port_in_host
    if scheme is None and hostname is None and port_number is None:
        return None
    return _HostFields(scheme=scheme, hostname=hostname, port=port_number, written=str(host or ""))


def _endpoint(conn_id: str, region: str, extra_endpoint: Any, fields: _HostFields | None, default: str) -> str:
    """The ModelArts endpoint: the ``endpoint`` extra, else the connection's host, else ``default``
    (the cloud's endpoint of the region).

    Host, port and schema may repeat what the ``endpoint`` extra says, but must not contradict it:
    a connection that names two servers is refused rather than resolved by a rule nobody remembers.
    """
    if extra_endpoint is not None:
        endpoint = _url(conn_id, "endpoint", extra_endpoint)
        if fields is not None:
            _check_agreement(conn_id, endpoint, fields)
        return endpoint
    if fields is None:
        return default
    if fields.hostname is None:
        key = "port" if fields.port is not None else "schema"
        raise ModelArtsConnectionConfigError(
            conn_id,
            key,
            "is set but the connection has no host: set host too, or put the whole URL in the 'endpoint' extra",
        )
    endpoint = fields.url(conn_id)
    log.info(
        "Connection %r: ModelArts endpoint %s, from the connection's host%s",
        conn_id,
        endpoint,
        ""
        if fields.scheme
        else f" (no schema given, so {_DEFAULT_HOST_SCHEME}; set schema to http for a plain-HTTP server)",
    )
    return endpoint


def _check_agreement(conn_id: str, endpoint: str, fields: _HostFields) -> None:
    parts = urlsplit(endpoint)
    endpoint_port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    conflicts = []
    if fields.hostname is not None and fields.hostname != parts.hostname:
        conflicts.append(("host", fields.written))
    if fields.port is not None and fields.port != endpoint_port:
        conflicts.append(("port", str(fields.port)))
    if fields.scheme is not None and fields.scheme != parts.scheme:
        conflicts.append(("schema", fields.scheme))
    if conflicts:
        key, value = conflicts[0]
        raise ModelArtsConnectionConfigError(
            conn_id,
            key,
            f"({value!r}) and the 'endpoint' extra ({endpoint!r}) name different servers: keep one of them "
            "(the connection form sets 'endpoint'; clear host, port and schema, or make them match it)",
        )


def settings_from_connection(
    conn_id: str,
    login: str | None,
    password: str | None,
    extra: Mapping[str, Any],
    region: str | None = None,
    project_id: str | None = None,
    workspace_id: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
    schema: str | None = None,
) -> ConnectionSettings:
    """Validate the connection's values (arguments override the connection's extras).

    ``host``, ``port`` and ``schema`` are the connection's own fields (the URI form
    ``modelarts://AK:SK@host:port/schema?region=...`` fills them); they give the ModelArts endpoint
    when the ``endpoint`` extra is unset, with ``https`` when ``schema`` is empty. Without either,
    the ``cloud`` extra (``huaweicloud`` by default, ``huaweicloud-eu``, ``otc``, or ``hcs`` with
    ``cloud_domain``) builds the region's ModelArts and IAM endpoints
    (:mod:`airflow_provider_modelarts.cloud.endpoints` says which hosts are confirmed); ``iam_endpoint``
    overrides the IAM one. ``log_api`` (``aom``, ``preview``, ``auto``) is validated and passed
    on. Every error names
    the connection id and the key, and never echoes a secret; unknown extra keys are only warned about.
    """
    _warn_unknown_keys(conn_id, extra)
    host_fields = _host_fields(conn_id, host, port, schema)

    def required(key: str, override: str | None) -> Any:
        value = override if override is not None else read_extra(extra, key)
        if value is None:
            raise ModelArtsConnectionConfigError(conn_id, key, "is required in the connection extra")
        return value

    cloud = _choice(conn_id, "cloud", read_extra(extra, "cloud"), CLOUDS, DEFAULT_CLOUD)
    auth_type = _choice(conn_id, "auth_type", read_extra(extra, "auth_type"), AUTH_TYPES, AUTH_AKSK)
    temporary = auth_type in TEMPORARY_AUTH_TYPES
    try:
        region_value = validate_region(required("region", region), "region", any_label=cloud == CLOUD_HCS)
        project = project_id if project_id is not None else read_extra(extra, "project_id")
        if project is None and not temporary:
            project = required("project_id", None)
        project_value = validate_name(project, "project_id") if project is not None else ""
        workspace = workspace_id if workspace_id is not None else read_extra(extra, "workspace_id")
        workspace_value = validate_name(workspace, "workspace_id") if workspace is not None else None
    except ModelArtsValidationError as error:
        raise ModelArtsConnectionConfigError(
            conn_id, error.parameter, f"must be {error.allowed}, got {error.value!r}"
        ) from None

    _check_login(conn_id, auth_type, login, password)
    metadata_url, idp_id, id_token_file = _temporary_source(conn_id, auth_type, extra)

    security_token = read_extra(extra, "security_token")
    if security_token is not None and auth_type != AUTH_AKSK:
        raise ModelArtsConnectionConfigError(
            conn_id, "security_token", "is only used with auth_type aksk (temporary AK/SK)"
        )
    cloud_domain = _cloud_domain(conn_id, cloud, read_extra(extra, "cloud_domain"))
    log_api = _choice(conn_id, "log_api", read_extra(extra, "log_api"), LOG_APIS, DEFAULT_LOG_API)
    endpoint = _endpoint(
        conn_id,
        region_value,
        read_extra(extra, "endpoint"),
        host_fields,
        modelarts_endpoint(region_value, cloud, cloud_domain),
    )
    iam = read_extra(extra, "iam_endpoint") or iam_endpoint(region_value, cloud, cloud_domain)
    console_url = read_extra(extra, "console_url") or DEFAULT_CONSOLE_TEMPLATE
    domain_name = read_extra(extra, "domain_name")
    return ConnectionSettings(
        conn_id=conn_id,
        auth_type=auth_type,
        region=region_value,
        project_id=project_value,
        endpoint=endpoint,
        iam_endpoint=_url(conn_id, "iam_endpoint", iam),
        console_url=_url(conn_id, "console_url", console_url.replace("{region}", region_value)),
        workspace_id=workspace_value,
        verify=_verify(conn_id, read_extra(extra, "verify")),
        timeout=_timeout(conn_id, read_extra(extra, "timeout")),
        login=login or "",
        domain_name=str(domain_name).strip() if domain_name else None,
        password=password or "",
        security_token=str(security_token) if security_token is not None else None,
        cloud=cloud,
        cloud_domain=cloud_domain,
        log_api=log_api,
        metadata_url=metadata_url,
        idp_id=idp_id,
        id_token_file=id_token_file,
    )


_SOURCES = {
    AUTH_METADATA: "the agency of the instance Airflow runs on (through its metadata service)",
    AUTH_IDP: "IAM, in exchange for the workload's ID token",
    AUTH_DEFAULT_CHAIN: "the environment, the profile file or the metadata service",
}


def _check_login(conn_id: str, auth_type: str, login: str | None, password: str | None) -> None:
    """AK/SK and password auth need login and password; the temporary types must leave them empty,
    so that a key left over from another auth type is never sent anywhere by mistake."""
    if auth_type in _SOURCES:
        for key, value in (("login", login), ("password", password)):
            if value:
                raise ModelArtsConnectionConfigError(
                    conn_id,
                    key,
                    f"is not used with auth_type {auth_type} (the credentials come from {_SOURCES[auth_type]}): "
                    "clear it",
                )
        return
    login_name = "Access Key ID" if auth_type == AUTH_AKSK else "user name"
    secret_name = "Secret Access Key" if auth_type == AUTH_AKSK else "password"
    if not login:
        raise ModelArtsConnectionConfigError(conn_id, "login", f"must hold the {login_name}")
    if not password:
        raise ModelArtsConnectionConfigError(conn_id, "password", f"must hold the {secret_name}")


def _temporary_source(
    conn_id: str, auth_type: str, extra: Mapping[str, Any]
) -> tuple[str | None, str | None, str | None]:
    """``(metadata_url, idp_id, id_token_file)``: each required or allowed only with its auth types."""
    metadata_url = read_extra(extra, "metadata_url")
    if metadata_url is not None and auth_type not in (AUTH_METADATA, AUTH_DEFAULT_CHAIN):
        raise ModelArtsConnectionConfigError(
            conn_id, "metadata_url", f"is only used with auth_type metadata or default_chain (it is {auth_type!r})"
        )
    if auth_type in (AUTH_METADATA, AUTH_DEFAULT_CHAIN):
        metadata_url = _url(conn_id, "metadata_url", metadata_url or DEFAULT_METADATA_URL)
    federation = {key: read_extra(extra, key) for key in ("idp_id", "id_token_file")}
    for key, value in federation.items():
        if auth_type != AUTH_IDP:
            if value is not None:
                raise ModelArtsConnectionConfigError(
                    conn_id,
                    key,
                    f"is only used with auth_type idp (it is {auth_type!r}): set auth_type idp, or clear it",
                )
            continue
        if not isinstance(value, str) or not value.strip():
            what = "the identity provider's name in IAM" if key == "idp_id" else "the path of the ID token file"
            raise ModelArtsConnectionConfigError(conn_id, key, f"is required with auth_type idp: {what}")
        federation[key] = value.strip()
    return metadata_url, federation["idp_id"], federation["id_token_file"]
