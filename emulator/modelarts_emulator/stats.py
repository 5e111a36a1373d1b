"""Thread-safe request statistics, served by ``GET /_emulator/stats`` and ``stats()``.

Besides counters, the stats keep every credential-derived value that crossed the wire (AK/SK
signatures received, IAM tokens issued or presented, security tokens presented), so that a leak
scan knows exactly which values must never show up in a log, an XCom or an exception text.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

ENDPOINTS = (
    "list_jobs",
    "list_versions",
    "get_version",
    "search_training_jobs",
    "get_training_job",
    "iam_tokens",
    "metadata_token",
    "metadata_securitykey",
    "iam_id_token",
    "iam_securitytokens",
    "iam_projects",
    "other",
)
REQUEST_LOG_SIZE = 2000
# Kinds of secret values the emulator saw: Authorization signatures, IAM tokens (issued by the
# emulator or presented in X-Auth-Token), security tokens (presented in X-Security-Token or issued
# with a temporary AK/SK), the secret keys of issued temporary credentials, the metadata service's
# session tokens (issued) and OpenID Connect ID tokens (presented to IAM federation).
SECRET_KINDS = (
    "signatures",
    "iam_tokens",
    "security_tokens",
    "temporary_secret_keys",
    "metadata_session_tokens",
    "id_tokens",
)
# Distinct values kept per kind; a leak scan of a long run still sees the first ones.
SECRETS_SEEN_LIMIT = 20_000


class Stats:
    """Counters of API requests (never of control requests) and a log of the last 2000."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests_total = 0
            self._by_endpoint: Counter[str] = Counter({name: 0 for name in ENDPOINTS})
            self._by_status: Counter[str] = Counter()
            self._auth_failures = 0
            self._tokens_issued = 0
            self._connections_opened = 0
            self._faults_served = 0
            self._expired_credential_refusals = 0
            self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
            self._secrets_seen: dict[str, dict[str, None]] = {kind: {} for kind in SECRET_KINDS}

    def connection_opened(self) -> None:
        with self._lock:
            self._connections_opened += 1

    def token_issued(self, value: str | None = None) -> None:
        with self._lock:
            self._tokens_issued += 1
        if value:
            self.secret_seen("iam_tokens", value)

    def expired_refusal(self) -> None:
        """A request refused because a temporary credential or IAM token it used had expired."""
        with self._lock:
            self._expired_credential_refusals += 1

    def secret_seen(self, kind: str, value: str) -> None:
        """Remember a secret value that crossed the wire (first seen first, no duplicates)."""
        if kind not in SECRET_KINDS:
            raise ValueError(f"unknown secret kind {kind!r}; expected one of {', '.join(SECRET_KINDS)}")
        with self._lock:
            seen = self._secrets_seen[kind]
            if value and len(seen) < SECRETS_SEEN_LIMIT:
                seen[value] = None

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        endpoint: str,
        status: int | None,
        auth: str | None,
        ignored_params: list[str],
        auth_failure: bool,
        fault: str | None,
        error_code: str | None,
        request_id: str,
    ) -> None:
        """Count one API request. ``status`` is ``None`` when the connection was dropped."""
        with self._lock:
            self._requests_total += 1
            self._by_endpoint[endpoint] += 1
            if status is not None:
                self._by_status[str(status)] += 1
            if auth_failure:
                self._auth_failures += 1
            if fault is not None:
                self._faults_served += 1
            self._log.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "status": status,
                    "auth": auth,
                    "ignored_params": ignored_params,
                    "endpoint": endpoint,
                    "fault": fault,
                    "error_code": error_code,
                    "request_id": request_id,
                }
            )

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests_total": self._requests_total,
                "by_endpoint": dict(self._by_endpoint),
                "by_status": dict(self._by_status),
                "auth_failures": self._auth_failures,
                "tokens_issued": self._tokens_issued,
                "connections_opened": self._connections_opened,
                "faults_served": self._faults_served,
                "expired_credential_refusals": self._expired_credential_refusals,
                "requests": [dict(entry) for entry in self._log],
                "secrets_seen": {kind: list(values) for kind, values in self._secrets_seen.items()},
            }
