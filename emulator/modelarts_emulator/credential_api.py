"""Dispatch of the credential endpoints (:mod:`.credentials`) for :class:`.EmulatorApp`.

Faults apply to these paths as to any API path (the app takes a fault before it dispatches here),
so a test can make the metadata service briefly unavailable. Every value issued or presented goes
into the stats' secret kinds for the leak scan: ``temporary_secret_keys`` (every temporary SK
issued), ``security_tokens`` (every security token issued, besides those presented),
``metadata_session_tokens`` (issued), ``id_tokens`` (presented) and ``iam_tokens`` (issued).
"""

from __future__ import annotations

from dataclasses import dataclass

from modelarts_emulator import federation, signing
from modelarts_emulator.config import EmulatorConfig
from modelarts_emulator.credentials import CredentialSettings
from modelarts_emulator.gateway import Gateway, TemporaryCredential
from modelarts_emulator.metadata import MetadataService
from modelarts_emulator.responses import Request, Response, not_found_api
from modelarts_emulator.stats import Stats


@dataclass
class CredentialOutcome:
    response: Response
    auth: str | None = None
    auth_failure: bool = False


class CredentialApi:
    """The metadata service and IAM federation, with their runtime settings."""

    def __init__(self, config: EmulatorConfig, gateway: Gateway, stats: Stats) -> None:
        self.config = config
        self.gateway = gateway
        self.stats = stats
        self.settings = CredentialSettings.from_config(config)
        self.metadata = MetadataService(gateway, self.settings)

    def reset_settings(self) -> None:
        """Back to the configured switches and lifetime (issued credentials stay)."""
        self.settings.update(CredentialSettings.from_config(self.config).as_dict())

    def expire_all(self) -> dict[str, int]:
        """Expire every issued temporary credential, IAM token and metadata session token now."""
        credentials, tokens = self.gateway.expire_issued()
        sessions = self.metadata.expire_session_tokens()
        return {"temporary_credentials": credentials, "iam_tokens": tokens, "metadata_session_tokens": sessions}

    def remember_presented(self, endpoint: str, request: Request) -> None:
        """Secrets a request carries that the gateway's own scan does not know (an ID token)."""
        if endpoint == "iam_id_token":
            value = federation.presented_id_token(request.body)
            if value:
                self.stats.secret_seen("id_tokens", value)

    def _issued(self, credential: TemporaryCredential | None) -> None:
        if credential is not None:
            self.stats.secret_seen("temporary_secret_keys", credential.secret)
            self.stats.secret_seen("security_tokens", credential.security_token)

    def handle(self, endpoint: str, request: Request, base_url: str) -> CredentialOutcome:
        if endpoint == "metadata_token":
            response, session_token = self.metadata.put_token(request)
            if session_token:
                self.stats.secret_seen("metadata_session_tokens", session_token)
            return CredentialOutcome(response)
        if endpoint == "metadata_securitykey":
            response, credential = self.metadata.get_securitykey(request)
            self._issued(credential)
            return CredentialOutcome(response, auth_failure=response.status == 401)
        if endpoint == "iam_projects":
            return self._projects(request, base_url)
        if request.method != "POST":
            return CredentialOutcome(not_found_api(request.request_id))
        if endpoint == "iam_id_token":
            idp_id = request.header(federation.HEADER_IDP_ID)
            response, token = federation.id_token_tokens(idp_id, request.body, self.gateway, self.config)
            if token is not None:
                self.stats.token_issued(token.value)
            return CredentialOutcome(response, auth_failure=response.status == 401)
        header_token = request.header(signing.HEADER_AUTH_TOKEN)
        response, credential, expired = federation.securitytokens(
            header_token, request.body, self.gateway, self.settings
        )
        if expired:
            self.stats.expired_refusal()
        self._issued(credential)
        return CredentialOutcome(response, "token" if credential else None, auth_failure=response.status == 401)

    def _projects(self, request: Request, base_url: str) -> CredentialOutcome:
        if request.method != "GET":
            return CredentialOutcome(not_found_api(request.request_id))
        auth = self.gateway.authenticate(request)
        if auth.error is not None:
            if auth.expired:
                self.stats.expired_refusal()
            return CredentialOutcome(auth.error, auth_failure=True)
        pairs = signing.query_pairs(request.raw_query)
        return CredentialOutcome(federation.projects(pairs, request.raw_query, base_url, self.config), auth.mode)
