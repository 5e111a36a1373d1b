"""The API gateway's authentication: AK/SK signatures, AK locking and IAM tokens.

Signatures are verified with the emulator's own reading of SDK-HMAC-SHA256 (:mod:`.signing`),
applied to what actually arrived on the wire. The messages and codes are the gateway's, from
https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html and the
``APIGW.0301`` variants in https://support.huaweicloud.com/intl/en-us/apig_faq/apig-faq-0003.html.
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
import string
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
class TemporaryCredential:
    """A temporary AK/SK and security token this emulator issued (ECS metadata or IAM
    ``securitytokens``); valid only together, and only until ``expires_at`` (epoch seconds)."""

    access: str
    secret: str
    security_token: str
    issued_at: float
    expires_at: float
    source: str

    def __repr__(self) -> str:  # never show the secret or the token
        return f"TemporaryCredential(access={self.access!r}, source={self.source!r}, expires_at={self.expires_at})"


@dataclass(frozen=True)
class AuthResult:
    """The outcome of authentication: the mode on success, else the error response.

    ``expired``: refused because an issued temporary credential or IAM token had expired."""

    mode: str | None
    error: Response | None = None
    token: IssuedToken | None = None
    expired: bool = False


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
        self._temporary: dict[str, TemporaryCredential] = {}
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

    def find_token(self, value: str) -> IssuedToken | None:
        """An IAM token this emulator issued (expired or not), or ``None``."""
        with self._lock:
            return self._tokens.get(value)

    def issue_temporary_credential(self, lifetime_seconds: float, source: str) -> TemporaryCredential:
        """A fresh temporary AK/SK + security token, accepted by the gateway for ``lifetime_seconds``.

        A real temporary AK is 20 upper-case alphanumerics and its SK 40 characters, like the
        permanent ones; a security token is a long base64 blob (IAM's samples start ``gQ``)."""
        now = self.clock()
        alphabet = string.ascii_uppercase + string.digits
        access = "EMUTMP" + "".join(secrets.choice(alphabet) for _ in range(14))
        secret = "EmuTmp" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(34))
        token = "gQ" + secrets.token_urlsafe(384)
        credential = TemporaryCredential(access, secret, token, now, now + lifetime_seconds, source)
        with self._lock:
            self._temporary[access] = credential
        return credential

    def temporary_credentials(self) -> list[TemporaryCredential]:
        """Every temporary credential issued so far (expired ones too), oldest first."""
        with self._lock:
            return list(self._temporary.values())

    def expire_issued(self) -> tuple[int, int]:
        """Expire every issued temporary credential and IAM token now (a control operation);
        returns how many of each were still valid."""
        now = self.clock()
        with self._lock:
            live_credentials = [c for c in self._temporary.values() if c.expires_at > now]
            for credential in live_credentials:
                self._temporary[credential.access] = dataclasses.replace(credential, expires_at=now)
            live_tokens = [t for t in self._tokens.values() if t.expires_at > now]
            for token in live_tokens:
                self._tokens[token.value] = dataclasses.replace(token, expires_at=now)
        return len(live_credentials), len(live_tokens)

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
            return self._expired(request_id)
        return AuthResult(MODE_TOKEN, token=token)

    def _expired(self, request_id: str) -> AuthResult:
        # Not counted towards an AK lock: the credential was genuine, only too old.
        return AuthResult(None, apigw_error(401, "APIGW.0307", MSG_TOKEN_EXPIRED, request_id), expired=True)

    def _secret_for(self, access_key: str) -> tuple[str, str | None, float | None] | None:
        """``(secret_key, security_token, expires_at)`` of a known AK; the token is ``None`` for a
        permanent AK, the expiry ``None`` for the configured (static) ones."""
        if access_key == self.config.access_key:
            return self.config.secret_key, None, None
        if access_key == self.config.temp_access_key:
            return self.config.temp_secret_key, self.config.security_token, None
        with self._lock:
            issued = self._temporary.get(access_key)
        if issued is not None:
            return issued.secret, issued.security_token, issued.expires_at
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
        secret_key, security_token, expires_at = known
        temporary = security_token is not None
        if expires_at is not None and expires_at <= self.clock():
            return self._expired(request_id)

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
            request.header(signing.HEADER_SECURITY_TOKEN) != security_token
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
