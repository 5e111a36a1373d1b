"""The ECS/BMS/CCE metadata service: session tokens and the agency's temporary AK/SK.

Modelled on what ``huaweicloudsdkcore`` (3.1.219) ``auth/internal.py`` ``MetadataAccessor`` sends
and accepts, and on the ECS user guide's "Obtaining Metadata" page (OpenStack ``/securitykey``:
"Obtains temporary AKs and SKs"; needs an agency, i.e. the ECS authorized on IAM):

* ``PUT /meta-data/latest/api/token`` with ``X-Metadata-Token-Ttl-Seconds: n`` (the SDK sends
  21600) answers 200 with the session token as plain text. A TTL that is missing, not an integer
  or outside 1..21600 answers 400. An instance without session-token support
  (``metadata_session_token=False``) answers 404, which the SDK takes as "no token, go on without
  one" (it does the same for 405 and 503).
* ``GET /openstack/latest/securitykey``: with session tokens supported, ``X-Metadata-Token`` must
  carry a valid, unexpired one, else 401 ``Unauthorized`` (the SDK then fetches a new token once
  and retries). Without an agency (``metadata_agency=False``) it answers 401 whose body contains
  ``Please configure Cloud Service Agency first`` (the SDK's ``_CONFIG_AGENCY_ERROR``: it does not
  retry). Otherwise 200 ``{"credential": {"access", "secret", "securitytoken", "expires_at"}}``
  with freshly issued temporary credentials.

Link-local and unauthenticated apart from the session token: no AK/SK or IAM token is checked.
The plain-text bodies are this emulator's own wording (the status codes are what the SDK relies on).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable

from modelarts_emulator.credentials import (
    DEFAULT_METADATA_CREDENTIAL_SECONDS,
    CredentialSettings,
    credential_body,
)
from modelarts_emulator.gateway import Gateway, TemporaryCredential
from modelarts_emulator.responses import Request, Response

HEADER_TOKEN = "X-Metadata-Token"
HEADER_TOKEN_TTL = "X-Metadata-Token-Ttl-Seconds"
MAX_TOKEN_TTL_SECONDS = 21600
CONFIG_AGENCY_ERROR = "Please configure Cloud Service Agency first"
TEXT = "text/plain; charset=utf-8"


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), content_type=TEXT)


class MetadataService:
    """Session tokens (value -> expiry, on the gateway's clock) and the securitykey. Thread-safe."""

    def __init__(self, gateway: Gateway, settings: CredentialSettings) -> None:
        self.gateway = gateway
        self.settings = settings
        self._lock = threading.Lock()
        self._session_tokens: dict[str, float] = {}

    @property
    def _clock(self) -> Callable[[], float]:
        return self.gateway.clock

    def put_token(self, request: Request) -> tuple[Response, str | None]:
        """``PUT /meta-data/latest/api/token``; returns the response and the issued token, if any."""
        if request.method != "PUT":
            return text_response(405, "Method Not Allowed"), None
        if not self.settings.metadata_session_token:
            return text_response(404, "Not Found"), None
        ttl_text = (request.header(HEADER_TOKEN_TTL) or "").strip()
        if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= MAX_TOKEN_TTL_SECONDS:
            return text_response(400, f"{HEADER_TOKEN_TTL} must be an integer from 1 to {MAX_TOKEN_TTL_SECONDS}"), None
        token = secrets.token_urlsafe(40)
        with self._lock:
            self._session_tokens[token] = self._clock() + int(ttl_text)
        return text_response(200, token), token

    def _session_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expires_at = self._session_tokens.get(token)
        return expires_at is not None and expires_at > self._clock()

    def get_securitykey(self, request: Request) -> tuple[Response, TemporaryCredential | None]:
        """``GET /openstack/latest/securitykey``; returns the response and the issued credential."""
        if request.method != "GET":
            return text_response(405, "Method Not Allowed"), None
        if self.settings.metadata_session_token and not self._session_valid(request.header(HEADER_TOKEN)):
            return text_response(401, "Unauthorized"), None
        if not self.settings.metadata_agency:
            return text_response(401, json.dumps({"error": CONFIG_AGENCY_ERROR})), None
        lifetime = self.settings.lifetime(DEFAULT_METADATA_CREDENTIAL_SECONDS)
        credential = self.gateway.issue_temporary_credential(lifetime, "metadata")
        body = json.dumps(credential_body(credential)).encode("utf-8")
        return Response(200, body), credential

    def expire_session_tokens(self) -> int:
        """Expire every session token now; returns how many were still valid."""
        now = self._clock()
        with self._lock:
            live = [token for token, expires_at in self._session_tokens.items() if expires_at > now]
            for token in live:
                self._session_tokens[token] = now
        return len(live)
