"""The API gateway's authentication: AK/SK signatures, AK locking and IAM tokens.

Signatures are verified with the emulator's own reading of SDK-HMAC-SHA256 (:mod:`.signing`),
applied to what actually arrived on the wire. The messages and codes are the gateway's, from
https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html and the
``APIGW.0301`` variants in https://support.huaweicloud.com/intl/en-us/apig_faq/apig-faq-0003.html.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from modelarts_emulator import signing
from modelarts_emulator.config import EmulatorConfig
from modelarts_emulator.responses import Request, Response, apigw_error

# "More than 5 consecutive failures lock the AK for 5 minutes" (apig-faq-0003): the 6th locks it.
MAX_CONSECUTIVE_FAILURES = 5
MSG_NO_AUTH = "Incorrect IAM authentication information"
MSG_EXPIRED = "calc ak sk signature fail:signature expired"
MSG_LOCKED = "AK access failed to reach the limit,forbidden"
MSG_SIGNATURE = "verify aksk signature fail"
MSG_BAD_TOKEN = "decrypt token fail"
MSG_TOKEN_EXPIRED = "The token must be updated."

MODE_AKSK = "aksk"
MODE_AKSK_TEMP = "aksk-temp"
MODE_TOKEN = "token"


@dataclass(frozen=True)
class IssuedToken:
    """An IAM token this emulator issued. Times are epoch seconds."""

    value: str
    issued_at: float
    expires_at: float
    project_id: str | None
    user_name: str

    def __repr__(self) -> str:  # never show the token itself
        return f"IssuedToken(user_name={self.user_name!r}, expires_at={self.expires_at})"


@dataclass(frozen=True)
class AuthResult:
    """The outcome of authentication: the mode on success, else the error response."""

    mode: str | None
    error: Response | None = None
    token: IssuedToken | None = None


def wire_header_value(value: str) -> str:
    """Undo http.server's latin-1 decoding: clients (like the SDK) send UTF-8 header bytes."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Gateway:
    """Authenticates API requests and issues IAM tokens. Thread-safe.

    Every ``APIGW.0301`` failure for a known AK counts towards its lock, as the cloud counts
    failed attempts rather than only bad signatures: a client whose clock is wrong is locked out
    just the same. A success resets the count.
    """

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._tokens: dict[str, IssuedToken] = {}
        # Seconds the gateway's clock runs ahead of the client's, for the X-Sdk-Date check only.
        self.clock_skew = 0.0

    def reset_locks(self) -> None:
        with self._lock:
            self._failures.clear()
            self._locked_until.clear()

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, project_id: str | None, user_name: str) -> IssuedToken:
        now = self.clock()
        # Real tokens are long base64 blobs starting with "MII"; a client must not assume a length.
        value = "MII" + secrets.token_urlsafe(192)
        token = IssuedToken(value, now, now + self.config.token_ttl_seconds, project_id, user_name)
        with self._lock:
            self._tokens[value] = token
        return token

    # -- authentication -----------------------------------------------------------------------

    def authenticate(self, request: Request) -> AuthResult:
        """Authenticate with X-Auth-Token if present, else with an SDK-HMAC-SHA256 signature."""
        token_value = request.header(signing.HEADER_AUTH_TOKEN)
        if token_value is not None:
            return self._check_token(token_value, request.request_id)
        authorization = request.header(signing.HEADER_AUTHORIZATION)
        if authorization is not None:
            return self._check_signature(request, authorization)
        return self._fail(MSG_NO_AUTH, request.request_id)

    def _fail(self, message: str, request_id: str, code: str = "APIGW.0301") -> AuthResult:
        return AuthResult(None, apigw_error(401, code, message, request_id))

    def _check_token(self, value: str, request_id: str) -> AuthResult:
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            return self._fail(MSG_BAD_TOKEN, request_id)
        if token.expires_at <= self.clock():
            return self._fail(MSG_TOKEN_EXPIRED, request_id, "APIGW.0307")
        return AuthResult(MODE_TOKEN, token=token)

    def _secret_for(self, access_key: str) -> tuple[str, bool] | None:
        """``(secret_key, is_temporary)`` of a known AK."""
        if access_key == self.config.access_key:
            return self.config.secret_key, False
        if access_key == self.config.temp_access_key:
            return self.config.temp_secret_key, True
        return None

    def _count_failure(self, access_key: str, message: str, request_id: str) -> AuthResult:
        with self._lock:
            failures = self._failures.get(access_key, 0) + 1
            if failures > MAX_CONSECUTIVE_FAILURES:
                self._locked_until[access_key] = self.clock() + self.config.ak_lock_seconds
                failures = 0
            self._failures[access_key] = failures
        return self._fail(message, request_id)

    def _is_locked(self, access_key: str) -> bool:
        with self._lock:
            until = self._locked_until.get(access_key)
            if until is None:
                return False
            if until > self.clock():
                return True
            del self._locked_until[access_key]
            return False

    def _check_signature(self, request: Request, authorization: str) -> AuthResult:
        request_id = request.request_id
        parsed = signing.parse_authorization(authorization)
        if parsed is None:
            return self._fail(MSG_NO_AUTH, request_id)
        access_key = parsed.access_key
        if self._is_locked(access_key):
            return self._fail(MSG_LOCKED, request_id)
        known = self._secret_for(access_key)
        if known is None:
            return self._fail(f"ak {access_key} not exist", request_id)
        secret_key, temporary = known

        sdk_date = request.header(signing.HEADER_DATE) or ""
        if not self._date_is_current(sdk_date):
            return self._count_failure(access_key, MSG_EXPIRED, request_id)
        signed = [name.lower() for name in parsed.signed_headers]
        # This gateway's own rule (the SDK always signs both): an unsigned date could be replayed
        # for ever, an unsigned host against another endpoint.
        if "host" not in signed or signing.HEADER_DATE.lower() not in signed:
            return self._count_failure(
                access_key, f"{MSG_SIGNATURE}, SignedHeaders must include host and x-sdk-date", request_id
            )
        if temporary and (
            request.header(signing.HEADER_SECURITY_TOKEN) != self.config.security_token
            or signing.HEADER_SECURITY_TOKEN.lower() not in signed
        ):
            # Temporary credentials are only valid with their (signed) security token.
            return self._count_failure(
                access_key, f"{MSG_NO_AUTH}: security token is missing, unsigned or invalid", request_id
            )

        received = {name: wire_header_value(request.header(name) or "") for name in signed}
        canonical = signing.canonical_request(
            request.method,
            request.raw_path,
            request.raw_query,
            received,
            request.body,
            request.header(signing.HEADER_CONTENT_SHA256),
        )
        expected = signing.signature(secret_key, sdk_date, canonical)
        if not hmac.compare_digest(expected, parsed.signature):
            # Like the real gateway, echo the canonical request (it may contain the security token).
            echoed = canonical.replace("\n", "|")
            return self._count_failure(access_key, f"{MSG_SIGNATURE}, canonicalRequest:{echoed}", request_id)
        with self._lock:
            self._failures.pop(access_key, None)
        return AuthResult(MODE_AKSK_TEMP if temporary else MODE_AKSK)

    def _date_is_current(self, sdk_date: str) -> bool:
        return signing.date_within_window(sdk_date, self.clock() + self.clock_skew)
