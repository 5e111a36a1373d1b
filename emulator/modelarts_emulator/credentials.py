"""Temporary credentials as Huawei Cloud issues them: the ECS metadata service and IAM federation.

What a client without a long-lived AK/SK calls, served on the emulator's own port (so a client
points both its ``metadata_url`` and its IAM endpoint at the emulator's base URL):

* ECS/BMS/CCE metadata (:mod:`.metadata`): ``PUT /meta-data/latest/api/token`` (session token)
  and ``GET /openstack/latest/securitykey`` (the agency's temporary AK/SK), as
  ``huaweicloudsdkcore.auth.internal.MetadataAccessor`` calls them.
* IAM federation (:mod:`.federation`): ``POST /v3.0/OS-AUTH/id-token/tokens`` (an OpenID Connect
  ID token for an IAM token), ``POST /v3.0/OS-CREDENTIAL/securitytokens`` (an IAM token for a
  temporary AK/SK) and ``GET /v3/projects?name={region}`` (the project id), as ``FederalAccessor``
  and ``BasicCredentials.process_auth_params`` call them.

Every temporary AK/SK/security token issued here is remembered by the gateway
(:meth:`.Gateway.issue_temporary_credential`) and accepted, with its own signed
``X-Security-Token``, until it expires; then the gateway answers 401 ``APIGW.0307`` "The token must
be updated." Times come from the gateway's clock (``Gateway.clock``), so a test may inject one.

Lifetimes: ``EmulatorConfig.temporary_credential_seconds`` overrides every issued credential's;
``None`` keeps the documented ones: IAM ``securitytokens`` gives the requested ``duration_seconds``
(900 to 86400, default 900: "The value ranges from 15 minutes to 24 hours. The default value is 15
minutes", https://docs.otc.t-systems.com/identity-access-management/api-ref/apis/access_key_management/obtaining_a_temporary_ak_sk.html;
"can be valid for 15 minutes to 24 hours", https://support.huaweicloud.com/intl/en-us/api-iam/iam_04_0002.html).
The metadata service's credentials live :data:`DEFAULT_METADATA_CREDENTIAL_SECONDS` (24 h)
**[UNCERTAIN]**: no page read states it; 24 h is the documented maximum of a temporary credential.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelarts_emulator.config import EmulatorConfig
from modelarts_emulator.gateway import TemporaryCredential
from modelarts_emulator.iam import iam_timestamp

DEFAULT_METADATA_CREDENTIAL_SECONDS = 86400.0
SECURITYTOKEN_MIN_SECONDS = 900
SECURITYTOKEN_MAX_SECONDS = 86400
SECURITYTOKEN_DEFAULT_SECONDS = 900

# The API paths (endpoint names as the stats count them).
METADATA_TOKEN_PATH = "/meta-data/latest/api/token"
METADATA_SECURITYKEY_PATH = "/openstack/latest/securitykey"
ID_TOKEN_PATH = "/v3.0/OS-AUTH/id-token/tokens"
SECURITYTOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"
PROJECTS_PATH = "/v3/projects"
ENDPOINTS = {
    METADATA_TOKEN_PATH: "metadata_token",
    METADATA_SECURITYKEY_PATH: "metadata_securitykey",
    ID_TOKEN_PATH: "iam_id_token",
    SECURITYTOKENS_PATH: "iam_securitytokens",
    PROJECTS_PATH: "iam_projects",
}
ENDPOINT_NAMES = frozenset(ENDPOINTS.values())
SETTING_NAMES = ("metadata_agency", "metadata_session_token", "temporary_credential_seconds")


def endpoint_of(path: str) -> str | None:
    """The credential endpoint a decoded path names, or ``None``."""
    return ENDPOINTS.get(path.rstrip("/") or "/")


@dataclass
class CredentialSettings:
    """The runtime switches of the credential endpoints (``/_emulator/credentials``)."""

    metadata_agency: bool
    metadata_session_token: bool
    temporary_credential_seconds: float | None

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> CredentialSettings:
        return cls(config.metadata_agency, config.metadata_session_token, config.temporary_credential_seconds)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SETTING_NAMES}

    def update(self, changes: Mapping[str, Any]) -> None:
        """Change some settings; a bad name or value changes none (``ValueError``)."""
        unknown = sorted(set(changes) - set(SETTING_NAMES))
        if unknown:
            raise ValueError(f"unknown credential settings {', '.join(unknown)}; expected {', '.join(SETTING_NAMES)}")
        for name in ("metadata_agency", "metadata_session_token"):
            if name in changes and not isinstance(changes[name], bool):
                raise ValueError(f"{name} must be true or false")
        if "temporary_credential_seconds" in changes:
            seconds = changes["temporary_credential_seconds"]
            valid = seconds is None or (
                not isinstance(seconds, bool)
                and isinstance(seconds, (int, float))
                and math.isfinite(seconds)
                and seconds > 0
            )
            if not valid:
                raise ValueError("temporary_credential_seconds must be a positive number or null")
            changes = {**changes, "temporary_credential_seconds": None if seconds is None else float(seconds)}
        for name, value in changes.items():
            setattr(self, name, value)

    def lifetime(self, documented_seconds: float) -> float:
        """An issued credential's lifetime: the override if set, else the documented one."""
        override = self.temporary_credential_seconds
        return documented_seconds if override is None else override


def credential_body(credential: TemporaryCredential) -> dict[str, Any]:
    """``{"credential": {"access", "secret", "securitytoken", "expires_at"}}``: the body of IAM's
    securitytokens (iam_04_0002) and of the metadata securitykey, whose ``expires_at`` the SDK reads
    with ``%Y-%m-%dT%H:%M:%S.%fZ`` (``StsAccessor._process_credential``)."""
    return {
        "credential": {
            "access": credential.access,
            "secret": credential.secret,
            "securitytoken": credential.security_token,
            "expires_at": iam_timestamp(credential.expires_at),
        }
    }
