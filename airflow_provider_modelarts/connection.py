"""Reading the ModelArts Airflow connection: the fields declared in :mod:`.conn_fields`, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_modelarts.api import (
    DEFAULT_CONSOLE_TEMPLATE,
    DEFAULT_ENDPOINT_TEMPLATE,
    DEFAULT_IAM_ENDPOINT_TEMPLATE,
    validate_name,
    validate_region,
)
from airflow_provider_modelarts.conn_fields import (
    AUTH_AKSK,
    AUTH_PASSWORD,
    AUTH_TYPES,
    CONN_FIELDS,
    CONN_TYPE,
    DEFAULT_TIMEOUT_SECONDS,
)
from airflow_provider_modelarts.exceptions import ModelArtsConnectionConfigError, ModelArtsValidationError

__all__ = ["AUTH_AKSK", "AUTH_PASSWORD", "CONN_FIELDS", "CONN_TYPE", "ConnectionSettings", "settings_from_connection"]

_LEGACY_PREFIX = f"extra__{CONN_TYPE}__"


@dataclass(frozen=True)
class ConnectionSettings:
    """What the hook needs from the connection, validated. Secrets are left out of ``repr``."""

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


def settings_from_connection(
    conn_id: str,
    login: str | None,
    password: str | None,
    extra: Mapping[str, Any],
    region: str | None = None,
    project_id: str | None = None,
    workspace_id: str | None = None,
) -> ConnectionSettings:
    """Validate the connection's values (arguments override the connection's extras).

    Every error names the connection id and the key, and never echoes a secret.
    """
    unknown = sorted(
        key for key in extra if key.removeprefix(_LEGACY_PREFIX) not in CONN_FIELDS and not key.startswith("_")
    )
    if unknown:
        raise ModelArtsConnectionConfigError(
            conn_id, unknown[0], "is not a ModelArts connection field; allowed: " + ", ".join(CONN_FIELDS)
        )

    def required(key: str, override: str | None) -> Any:
        value = override if override is not None else read_extra(extra, key)
        if value is None:
            raise ModelArtsConnectionConfigError(conn_id, key, "is required in the connection extra")
        return value

    try:
        region_value = validate_region(required("region", region), "region")
        project_value = validate_name(required("project_id", project_id), "project_id")
        workspace = workspace_id if workspace_id is not None else read_extra(extra, "workspace_id")
        workspace_value = validate_name(workspace, "workspace_id") if workspace is not None else None
    except ModelArtsValidationError as error:
        raise ModelArtsConnectionConfigError(
            conn_id, error.parameter, f"must be {error.allowed}, got {error.value!r}"
        ) from None

    auth_type = str(read_extra(extra, "auth_type") or AUTH_AKSK).strip().lower()
    if auth_type not in AUTH_TYPES:
        raise ModelArtsConnectionConfigError(
            conn_id, "auth_type", f"must be one of {', '.join(AUTH_TYPES)}, got {auth_type!r}"
        )
    login_name = "Access Key ID" if auth_type == AUTH_AKSK else "user name"
    secret_name = "Secret Access Key" if auth_type == AUTH_AKSK else "password"
    if not login:
        raise ModelArtsConnectionConfigError(conn_id, "login", f"must hold the {login_name}")
    if not password:
        raise ModelArtsConnectionConfigError(conn_id, "password", f"must hold the {secret_name}")

    security_token = read_extra(extra, "security_token")
    if security_token is not None and auth_type != AUTH_AKSK:
        raise ModelArtsConnectionConfigError(
            conn_id, "security_token", "is only used with auth_type aksk (temporary AK/SK)"
        )
    endpoint = read_extra(extra, "endpoint") or DEFAULT_ENDPOINT_TEMPLATE.format(region=region_value)
    iam_endpoint = read_extra(extra, "iam_endpoint") or DEFAULT_IAM_ENDPOINT_TEMPLATE.format(region=region_value)
    console_url = read_extra(extra, "console_url") or DEFAULT_CONSOLE_TEMPLATE
    domain_name = read_extra(extra, "domain_name")
    return ConnectionSettings(
        conn_id=conn_id,
        auth_type=auth_type,
        region=region_value,
        project_id=project_value,
        endpoint=_url(conn_id, "endpoint", endpoint),
        iam_endpoint=_url(conn_id, "iam_endpoint", iam_endpoint),
        console_url=_url(conn_id, "console_url", console_url.replace("{region}", region_value)),
        workspace_id=workspace_value,
        verify=_verify(conn_id, read_extra(extra, "verify")),
        timeout=_timeout(conn_id, read_extra(extra, "timeout")),
        login=login,
        domain_name=str(domain_name).strip() if domain_name else None,
        password=password,
        security_token=str(security_token) if security_token is not None else None,
    )
