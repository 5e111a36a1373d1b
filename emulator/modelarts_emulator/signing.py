"""SDK-HMAC-SHA256 as the API gateway verifies it, written from the public description alone.

Sources: Huawei's "API Request Signing Guide", https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-algorithm-002.html
(the algorithm) and https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-provide01.html
(the 15-minute ``X-Sdk-Date`` window), and the signer of the official Python SDK
(``huaweicloudsdkcore/signer/signer.py``), which the tests use as the reference client.

The gateway rebuilds the canonical request from what arrived on the wire: the raw path, the raw
query decoded with ``unquote`` (so a ``+`` stays a literal plus and a form-encoded space fails
verification), and the received values of the headers named in ``SignedHeaders``.

Nothing here is shared with the provider's client-side signer, on purpose: a misreading on either
side shows up as a rejected signature in the tests.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
# X-Sdk-Date: UTC, basic ISO 8601, e.g. 20240102T030405Z.
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DATE_WINDOW_SECONDS = 15 * 60

HEADER_AUTHORIZATION = "Authorization"
HEADER_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA256 = "X-Sdk-Content-Sha256"
HEADER_SECURITY_TOKEN = "X-Security-Token"
HEADER_PROJECT_ID = "X-Project-Id"
HEADER_AUTH_TOKEN = "X-Auth-Token"

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# RFC 3986 unreserved characters stay literal; everything else is %XX with upper-case hex.
_UNRESERVED = "-_.~"


@dataclass(frozen=True)
class Credential:
    """The three fields of ``Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...``."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Credential | None:
    """Read an SDK-HMAC-SHA256 ``Authorization`` header; ``None`` for any other scheme or shape."""
    scheme, _, rest = value.partition(" ")
    if scheme != ALGORITHM:
        return None
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, separator, content = item.strip().partition("=")
        if separator:
            fields[name] = content
    try:
        access, signed, signature = fields["Access"], fields["SignedHeaders"], fields["Signature"]
    except KeyError:
        return None
    return Credential(access, tuple(name for name in signed.split(";") if name), signature)


# Cached: every poll and page repeats the same paths, names and values.
@functools.lru_cache(maxsize=4096)
def _encode(text: str) -> str:
    return quote(text, safe=_UNRESERVED)


@functools.lru_cache(maxsize=1024)
def canonical_path(raw_path: str) -> str:
    """Decode the path, encode each segment again, and end it with ``/`` (signing form only)."""
    segments = unquote(raw_path).split("/")
    encoded = "/".join(_encode(segment) for segment in segments)
    return encoded if encoded.endswith("/") else f"{encoded}/"


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decoded ``(name, value)`` pairs of a raw query. ``unquote``, not ``unquote_plus``: the
    signing rules never write a space as ``+``, so a ``+`` on the wire is a plus."""
    pairs: list[tuple[str, str]] = []
    for item in raw_query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Pairs sorted by raw name then value (plain code-point order), each side encoded, joined by ``&``."""
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in sorted(pairs))


def signable_header_names(names: Iterable[str]) -> list[str]:
    """Lower-cased and sorted; a name with ``_`` is never signed (proxies drop such headers)."""
    return sorted({name.lower() for name in names if "_" not in name})


def body_digest(body: bytes, content_sha256: str | None) -> str:
    """Hex SHA-256 of the body; an empty body always hashes as empty, even with an
    ``X-Sdk-Content-Sha256`` header, which otherwise stands for the hash (``UNSIGNED-PAYLOAD``)."""
    if not body:
        return _EMPTY_SHA256
    if content_sha256:
        return content_sha256
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    signed_headers: Mapping[str, str],
    body: bytes,
    content_sha256: str | None = None,
) -> str:
    """``METHOD\\nPATH\\nQUERY\\nHEADERS\\nSIGNED_HEADERS\\nBODY_SHA256``.

    :param signed_headers: lower-cased name to received value, for the names to sign.
    """
    names = signable_header_names(signed_headers)
    # Each header line ends with a newline, so a blank line separates them from the name list.
    header_block = "".join(f"{name}:{signed_headers[name].strip()}\n" for name in names)
    return "\n".join(
        (
            method.upper(),
            canonical_path(raw_path),
            canonical_query(query_pairs(raw_query)),
            header_block,
            ";".join(names),
            body_digest(body, content_sha256),
        )
    )


def signature(secret_key: str, sdk_date: str, canonical: str) -> str:
    """HMAC-SHA256 of the string to sign, keyed with the SK itself (no key derivation)."""
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    return hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def date_within_window(sdk_date: str, now: float) -> bool:
    """Whether ``X-Sdk-Date`` parses and is at most 15 minutes from ``now`` (epoch seconds)."""
    try:
        moment = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return False
    return abs(moment.timestamp() - now) <= DATE_WINDOW_SECONDS
