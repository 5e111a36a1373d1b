"""Authentication for ModelArts requests, kept apart from transport.

Two ``requests.auth.AuthBase`` implementations, as requests itself models auth:

* :class:`AkSkAuth` signs each request with SDK-HMAC-SHA256, canonicalising exactly as
  ``huaweicloudsdkcore``'s ``Signer`` does (the algorithm:
  https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-algorithm-002.html).
* :class:`IamTokenAuth` adds ``X-Auth-Token`` from an :class:`IamTokenCache`, which asks a
  caller-supplied function for a new token only when the cached one is close to expiry, and keeps
  using a still valid token when an early refresh fails.
* :class:`TemporaryCredentialAuth` signs like :class:`AkSkAuth` with temporary credentials from a
  :class:`RenewingCache`, the same cache as the token's.

The signing primitives are pure functions so that the emulator can verify signatures with the
same canonicalisation the client uses, and so that they can be unit-tested against the SDK's
known-answer vectors.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

import pendulum
import requests
from requests.auth import AuthBase

from airflow_provider_modelarts.cloud.credentials import TemporaryCredentials

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
HEADER_SDK_DATE = "X-Sdk-Date"
HEADER_PROJECT_ID = "X-Project-Id"
HEADER_SECURITY_TOKEN = "X-Security-Token"
HEADER_CONTENT_SHA256 = "X-Sdk-Content-Sha256"
HEADER_AUTH_TOKEN = "X-Auth-Token"
HEADER_SUBJECT_TOKEN = "X-Subject-Token"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

# Headers the client signs when present. The SDK signs every header it holds; we sign a fixed
# set so that headers a proxy or the transport may rewrite (Connection, Accept-Encoding,
# User-Agent) can never invalidate a signature.
CLIENT_SIGNED_HEADERS = (
    "content-type",
    "host",
    HEADER_PROJECT_ID.lower(),
    HEADER_SDK_DATE.lower(),
    HEADER_SECURITY_TOKEN.lower(),
    HEADER_CONTENT_SHA256.lower(),
)


# Cached: the same keys, values and paths come back on every page and every poll.
@functools.lru_cache(maxsize=4096)
def encode_component(value: str) -> str:
    """Percent-encode like the SDK: only ``A-Za-z0-9-_.~`` stay literal, a space is ``%20``."""
    return quote(value, safe="~")


@functools.lru_cache(maxsize=1024)
def canonical_uri(path: str) -> str:
    """Decode the path, re-encode each segment and make sure it ends with ``/``.

    The trailing slash exists only in the canonical form; the wire path keeps its own shape.
    """
    encoded = "/".join(encode_component(segment) for segment in unquote(path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sort ``(key, value)`` pairs by raw key then value and encode both.

    The result is also what the client sends on the wire, so what is signed is what arrives.
    """
    return "&".join(f"{encode_component(k)}={encode_component(v)}" for k, v in sorted(pairs))


def parse_query(raw_query: str, plus_is_space: bool = False) -> list[tuple[str, str]]:
    """Split a query into decoded pairs.

    By default the way the gateway does: ``unquote``, so a ``+`` stays a literal plus, which is
    why a query that encodes a space as ``+`` fails verification there. The client passes
    ``plus_is_space=True`` for URLs that requests built from ``params=`` (which writes a space as
    ``+`` and a plus as ``%2B``), and then re-encodes them canonically before signing.
    """
    decode = unquote_plus if plus_is_space else unquote
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((decode(key), decode(value)))
    return pairs


@functools.lru_cache(maxsize=1024)
def canonical_client_query(raw_query: str) -> str:
    """The canonical form of a query requests built (``+`` for a space): what the client signs
    and sends. Cached, since pages and polls repeat the same queries."""
    return canonical_query(parse_query(raw_query, plus_is_space=True))


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Lower-cased, sorted names of the headers to sign (names with ``_`` are never signed)."""
    return sorted({name.lower() for name in headers if "_" not in name})


def payload_hash(body: bytes | None, headers: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_BODY_SHA256
    lowered = {k.lower(): v for k, v in headers.items()}
    unsigned = lowered.get(HEADER_CONTENT_SHA256.lower())
    if unsigned:
        return unsigned
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes | None,
) -> str:
    """The canonical request string of SDK-HMAC-SHA256 for the given headers (all are signed)."""
    return _canonical_request(method, canonical_uri(path), canonical_query(query_pairs), headers, body)


def _canonical_request(method: str, uri: str, query: str, headers: Mapping[str, str], body: bytes | None) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    names = signed_header_names(headers)
    header_lines = "".join(f"{name}:{lowered[name].strip()}\n" for name in names)
    return "\n".join([method.upper(), uri, query, header_lines, ";".join(names), payload_hash(body, headers)])


def string_to_sign(sdk_date: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def compute_signature(secret_key: str, to_sign: str) -> str:
    # No key derivation, unlike AWS SigV4: the SK itself is the HMAC key.
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(access_key: str, signed_headers: Iterable[str], signature: str) -> str:
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_headers)}, Signature={signature}"


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """Parse an ``Authorization: SDK-HMAC-SHA256 ...`` header; ``None`` if it is not one."""
    prefix = ALGORITHM + " "
    if not value.startswith(prefix):
        return None
    fields: dict[str, str] = {}
    for part in value[len(prefix) :].split(","):
        key, _, val = part.strip().partition("=")
        fields[key] = val
    if not {"Access", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return ParsedAuthorization(
        access_key=fields["Access"],
        signed_headers=[h for h in fields["SignedHeaders"].split(";") if h],
        signature=fields["Signature"],
    )


def sdk_date(now: pendulum.DateTime | None = None) -> str:
    moment = now or pendulum.now("UTC")
    if moment.utcoffset():
        moment = moment.in_timezone("UTC")
    return moment.strftime(SDK_DATE_FORMAT)


class AkSkAuth(AuthBase):
    """Sign requests with an Access Key / Secret Key pair (SDK-HMAC-SHA256).

    Adds ``Host``, ``X-Sdk-Date``, ``X-Project-Id`` and, for temporary credentials,
    ``X-Security-Token`` before signing, so all of them are covered by the signature. The query
    string is rewritten to its canonical form so that the wire query is exactly the signed one.

    :param access_key: the Access Key ID (AK).
    :param secret_key: the Secret Access Key (SK); never logged or shown in ``repr``.
    :param project_id: sent as ``X-Project-Id``.
    :param security_token: the security token of temporary credentials, if any.
    :param clock: returns "now"; tests inject a skewed clock to exercise the 15-minute window.
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        project_id: str | None = None,
        security_token: str | None = None,
        clock: Callable[[], pendulum.DateTime] | None = None,
    ) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self.project_id = project_id
        self._security_token = security_token
        self._clock = clock or (lambda: pendulum.now("UTC"))

    def __repr__(self) -> str:
        return f"AkSkAuth(access_key={self.access_key!r}, project_id={self.project_id!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return sign_request(
            request, self.access_key, self._secret_key, self.project_id, self._security_token, self._clock
        )


def sign_request(
    request: requests.PreparedRequest,
    access_key: str,
    secret_key: str,
    project_id: str | None,
    security_token: str | None,
    clock: Callable[[], pendulum.DateTime],
) -> requests.PreparedRequest:
    """Sign ``request`` in place with SDK-HMAC-SHA256 (see :class:`AkSkAuth`)."""
    assert request.url is not None and request.method is not None
    parts = urlsplit(request.url)
    query = canonical_client_query(parts.query)
    request.url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    headers = request.headers
    headers["Host"] = parts.netloc
    headers[HEADER_SDK_DATE] = sdk_date(clock())
    if project_id:
        headers[HEADER_PROJECT_ID] = project_id
    if security_token:
        headers[HEADER_SECURITY_TOKEN] = security_token
    to_sign = {name: headers[name] for name in CLIENT_SIGNED_HEADERS if name in headers}
    body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
    canonical = _canonical_request(request.method, canonical_uri(parts.path or "/"), query, to_sign, body)
    signature = compute_signature(secret_key, string_to_sign(headers[HEADER_SDK_DATE], canonical))
    headers["Authorization"] = authorization_header(access_key, signed_header_names(to_sign), signature)
    return request


log = logging.getLogger(__name__)

# How long before expiry a token is renewed. Advisory: renewal is attempted, but if it fails the
# cached token, still valid, keeps being used (an hour early for the usual 24-hour token, never
# more than a tenth of a short-lived one's lifetime). Mandatory: too close to expiry to risk a
# request with it (a request and its retries may take minutes), so a failed renewal raises.
ADVISORY_REFRESH_SECONDS = 3600.0
MANDATORY_REFRESH_SECONDS = 300.0
# After a failed advisory renewal, wait this long before trying again (never past the mandatory
# window), so an IAM outage does not add a token request and its retries to every call.
ADVISORY_RETRY_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True)
class IamToken:
    """An IAM token and its validity window. ``repr`` never shows the token."""

    value: str
    issued_at: pendulum.DateTime
    expires_at: pendulum.DateTime

    def __repr__(self) -> str:
        return f"IamToken(issued_at={self.issued_at.isoformat()}, expires_at={self.expires_at.isoformat()})"

    def _seconds_left(self, now: pendulum.DateTime) -> float:
        return (self.expires_at - now).total_seconds()

    def _lifetime(self) -> float:
        return max((self.expires_at - self.issued_at).total_seconds(), 0.0)

    def refresh_due(self, now: pendulum.DateTime) -> bool:
        """Inside the advisory window: time to try to renew it."""
        return self._seconds_left(now) <= min(ADVISORY_REFRESH_SECONDS, self._lifetime() / 10)

    def refresh_required(self, now: pendulum.DateTime) -> bool:
        """Expired, or inside the mandatory window: it must not be used any more."""
        return self._seconds_left(now) <= min(MANDATORY_REFRESH_SECONDS, self._lifetime() / 20)


class Renewable(Protocol):
    """What :class:`RenewingCache` keeps: an IAM token or temporary credentials."""

    @property
    def value(self) -> str: ...

    def refresh_due(self, now: pendulum.DateTime) -> bool: ...

    def refresh_required(self, now: pendulum.DateTime) -> bool: ...


_Item = TypeVar("_Item", bound=Renewable)


class RenewingCache(Generic[_Item]):
    """Holds one IAM token or set of temporary credentials, shared by every call of the hooks that
    use it, and renews it when it is due.

    Like botocore's refreshable credentials, renewal has two windows. In the advisory window a
    failed renewal is logged and the cached item, still valid, is used; renewal is tried again after
    :data:`ADVISORY_RETRY_INTERVAL_SECONDS`. Only once the item is in the mandatory window (or
    expired, or there is none) does a failed renewal raise. One lock: of many threads that find it
    due at once, one renews and the others use what it got.

    :param fetch: obtains a new item (the hook POSTs to IAM, or asks the metadata service).
    :param clock: returns "now"; tests inject one.
    :param what: what the item is, for log lines.
    """

    def __init__(
        self,
        fetch: Callable[[], _Item],
        clock: Callable[[], pendulum.DateTime] | None = None,
        what: str = "IAM token",
    ) -> None:
        self._fetch = fetch
        self._clock = clock or (lambda: pendulum.now("UTC"))
        self._what = what
        self._item: _Item | None = None
        self._next_advisory_attempt: pendulum.DateTime | None = None
        self._lock = threading.Lock()
        self.renewals = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(item={self._item!r})"

    def get_item(self) -> _Item:
        with self._lock:
            now = self._clock()
            item = self._item
            if item is None or item.refresh_required(now):
                return self._renew()
            if item.refresh_due(now) and (self._next_advisory_attempt is None or now >= self._next_advisory_attempt):
                try:
                    return self._renew()
                except Exception as error:
                    self._next_advisory_attempt = now.add(seconds=ADVISORY_RETRY_INTERVAL_SECONDS)
                    # The error's text is built without secrets (see exceptions.py).
                    log.warning(
                        "Could not renew the %s early (%s); the current one stays valid and is used "
                        "meanwhile. Trying again after %s.",
                        self._what,
                        error,
                        self._next_advisory_attempt.isoformat(),
                    )
            return item

    def _renew(self) -> _Item:
        self._item = self._fetch()
        self._next_advisory_attempt = None
        self.renewals += 1
        return self._item

    def current_item(self) -> _Item | None:
        """The cached item, if any, without fetching."""
        return self._item

    def invalidate(self, rejected_value: str | None = None) -> None:
        """Drop the cached item (only if it is still the one the server rejected)."""
        with self._lock:
            if self._item is not None and (rejected_value is None or self._item.value == rejected_value):
                self._item = None
                self._next_advisory_attempt = None


class IamTokenCache(RenewingCache[IamToken]):
    """The IAM token of a password connection (see :class:`RenewingCache`).

    :param fetch_token: obtains a new token (the hook POSTs to IAM ``/v3/auth/tokens``).
    """

    def __init__(
        self,
        fetch_token: Callable[[], IamToken],
        clock: Callable[[], pendulum.DateTime] | None = None,
    ) -> None:
        super().__init__(fetch_token, clock, "IAM token")

    def get(self) -> str:
        return self.get_item().value

    def current(self) -> str | None:
        """The cached token value, if any, without fetching (for redacting error messages)."""
        item = self._item
        return item.value if item else None


class TemporaryCredentialAuth(AuthBase):
    """Sign with the credentials a :class:`RenewingCache` holds, renewing them first when due
    (checked before every request, as the SDK does), with their security token signed too.

    Remembers, per thread, the access key each request was signed with, so that a rejection as
    expired drops exactly those credentials from a cache other threads share.
    """

    def __init__(
        self,
        cache: RenewingCache[TemporaryCredentials],
        project_id: str | None,
        clock: Callable[[], pendulum.DateTime] | None = None,
    ) -> None:
        self.cache = cache
        self.project_id = project_id
        self._clock = clock or (lambda: pendulum.now("UTC"))
        self._last = threading.local()

    def __repr__(self) -> str:
        return f"TemporaryCredentialAuth(project_id={self.project_id!r})"

    def last_access_key(self) -> str | None:
        """The access key this thread's last request was signed with."""
        return getattr(self._last, "access_key", None)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        credentials = self.cache.get_item()
        self._last.access_key = credentials.access_key
        return sign_request(
            request,
            credentials.access_key,
            credentials.secret_key,
            self.project_id,
            credentials.security_token,
            self._clock,
        )


class NoAuth(AuthBase):
    """Overrides a session's auth for one request: IAM's token and federation calls and the
    metadata service are not signed."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class IamTokenAuth(AuthBase):
    """Authenticate with ``X-Auth-Token``; no signing is needed with a token."""

    def __init__(self, cache: IamTokenCache) -> None:
        self.cache = cache

    def __repr__(self) -> str:
        return "IamTokenAuth()"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[HEADER_AUTH_TOKEN] = self.cache.get()
        return request
