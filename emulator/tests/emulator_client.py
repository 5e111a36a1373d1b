"""Requests to the emulator as clients send them, for the emulator's tests: signed the way
Huawei's official SDK signs them, with the helpers the gateway, v1 and control tests share.

:class:`SdkAkSkAuth` is a ``requests`` auth that hands each request to ``huaweicloudsdkcore``'s own
signer (SDK-HMAC-SHA256), so the emulator's gateway is held to the SDK's algorithm and not to a
reading of the docs shared with the emulator or with the provider's client. Like a client, it
sends the query in the canonical form it signed, and adds ``Host``, ``X-Sdk-Date``,
``X-Project-Id`` and, for temporary credentials, ``X-Security-Token`` before signing.

Also here: the documented v1 paths and constants the tests use, written from the docs on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_DOMAIN_NAME,
    DEFAULT_PASSWORD,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_TEMP_ACCESS_KEY,
    DEFAULT_TEMP_SECRET_KEY,
    ModelArtsEmulator,
)

SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# The request headers a client signs when it sends them (the SDK signs every header it is given).
SIGNED_HEADERS = ("content-type",)

# "Querying a Training Job List" (v1): the sort keys the REST page and the SDK page name together.
SORT_KEYS = ("job_name", "job_desc", "status", "duration", "version_count", "create_time", "engine_type")


class JobStatus(IntEnum):
    """The v1 status codes the tests name (the docs' status table)."""

    RUNNING = 8
    COMPLETED = 10


def jobs_path(project_id: str) -> str:
    return f"/v1/{project_id}/training-jobs"


def job_versions_path(project_id: str, job_id: int) -> str:
    return f"{jobs_path(project_id)}/{job_id}/versions"


def job_version_path(project_id: str, job_id: int, version_id: int) -> str:
    return f"{job_versions_path(project_id, job_id)}/{version_id}"


class SdkAkSkAuth(requests.auth.AuthBase):
    """Sign a request with AK/SK through ``huaweicloudsdkcore`` (``BasicCredentials.sign_request``).

    :param clock: returns "now" (UTC); tests skew it to exercise the 15-minute window.
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        project_id: str | None = None,
        security_token: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self.project_id = project_id
        self._security_token = security_token
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        assert request.url is not None and request.method is not None
        parts = urlsplit(request.url)
        credentials = BasicCredentials(self.access_key, self._secret_key, self.project_id)
        if self._security_token:
            credentials = credentials.with_security_token(self._security_token)
        headers = {name: value for name, value in request.headers.items() if name.lower() in SIGNED_HEADERS}
        headers["Host"] = parts.netloc
        headers["X-Sdk-Date"] = self._clock().astimezone(timezone.utc).strftime(SDK_DATE_FORMAT)
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        sdk_request = SdkRequest(
            method=request.method,
            schema=parts.scheme,
            host=parts.netloc,
            resource_path=parts.path or "/",
            # A query built by requests writes a space as '+': decode it so, as clients do.
            query_params=parse_qsl(parts.query, keep_blank_values=True),
            header_params=headers,
            body=body or None,
        )
        signed = credentials.sign_request(sdk_request)
        for name, value in signed.header_params.items():
            request.headers[name] = value
        query = urlsplit(signed.uri).query
        request.url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        return request


class TokenAuth(requests.auth.AuthBase):
    """Send an IAM token (``X-Auth-Token``)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Auth-Token"] = self.token
        return request


PROJECT = DEFAULT_PROJECT_ID
# v1 jobs of the emulator the conftest's ``emu`` serves.
JOB_COUNT = 60
AKSK = SdkAkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
BAD_SK = SdkAkSkAuth(DEFAULT_ACCESS_KEY, "not-the-secret-key", PROJECT)
TEMP = SdkAkSkAuth(DEFAULT_TEMP_ACCESS_KEY, DEFAULT_TEMP_SECRET_KEY, PROJECT, security_token=DEFAULT_SECURITY_TOKEN)


def url_with(base: str, path: str, pairs: list[tuple[str, str]] | None = None) -> str:
    """A URL whose query encodes a space as %20 (``params=`` in requests would use '+')."""
    query = urlencode(pairs or [], quote_via=quote, safe="~")
    return f"{base}{path}" + (f"?{query}" if query else "")


def get(
    emu: ModelArtsEmulator,
    path: str,
    pairs: list[tuple[str, str]] | None = None,
    auth: Any = AKSK,
    **kwargs: Any,
) -> requests.Response:
    return requests.get(url_with(emu.url, path, pairs), auth=auth, timeout=10, **kwargs)


def list_jobs(emu: ModelArtsEmulator, pairs: list[tuple[str, str]], auth: Any = AKSK) -> dict[str, Any]:
    response = get(emu, jobs_path(PROJECT), pairs, auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def last_request(emu: ModelArtsEmulator) -> dict[str, Any]:
    entry: dict[str, Any] = emu.stats()["requests"][-1]
    return entry


def token_body(user: str, password: str, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": DEFAULT_DOMAIN_NAME}}},
            },
            "scope": scope or {"project": {"id": PROJECT}},
        }
    }


def issue_token(emu: ModelArtsEmulator, user: str = DEFAULT_DOMAIN_NAME, password: str = DEFAULT_PASSWORD) -> str:
    response = requests.post(f"{emu.url}/v3/auth/tokens", json=token_body(user, password), timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def iam_time(value: str) -> datetime:
    """An IAM timestamp (``2024-01-02T03:04:05.123456Z``) as an aware datetime."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def assert_apigw(response: requests.Response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert body["request_id"] == response.headers["X-Request-Id"]
    if message is not None:
        assert body["error_msg"] == message


def assert_modelarts_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["is_success"] is False and body["error_code"] == code
    message: str = body["error_message"]
    return message
