"""The provider's request signer (``AkSkAuth``) and the official ``huaweicloudsdkcore`` signer,
side by side against the emulator's gateway: for varied paths and queries (spaces, ``+``, ``~``,
non-ASCII, repeated keys, temporary credentials) both are accepted, and both are refused with a
wrong secret key. The emulator's own tests sign with the SDK only (emulator/tests); this is where
the provider's signer is held to the same gateway.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import quote, urlencode

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_TEMP_ACCESS_KEY,
    DEFAULT_TEMP_SECRET_KEY,
    ModelArtsEmulator,
)

from airflow_provider_modelarts.api import job_version_path, job_versions_path
from airflow_provider_modelarts.api import training_jobs_path as jobs_path
from airflow_provider_modelarts.cloud.auth import AkSkAuth

PROJECT = DEFAULT_PROJECT_ID


def url_with(base: str, path: str, pairs: list[tuple[str, str]] | None = None) -> str:
    """A URL whose query encodes a space as %20 (``params=`` in requests would use '+')."""
    query = urlencode(pairs or [], quote_via=quote, safe="~")
    return f"{base}{path}" + (f"?{query}" if query else "")


def last_request(emu: ModelArtsEmulator) -> dict[str, Any]:
    entry: dict[str, Any] = emu.stats()["requests"][-1]
    return entry


def assert_apigw(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert body["request_id"] == response.headers["X-Request-Id"]


SEARCH_VALUES = ["", "demo", "my job ü~*", "a+b", "x&y=z", "100% sure", " lead", "中文 名称", "~*'()!$,;:@/?"]


def _cases(count: int) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Varied (path, query) pairs; deterministic so that a failure reproduces."""
    rng = random.Random(2024)
    paths = [
        jobs_path(PROJECT),
        jobs_path(PROJECT) + "/",
        job_versions_path(PROJECT, 1),
        job_version_path(PROJECT, 1, 100003),
        job_versions_path(PROJECT, 424242),
    ]
    cases: list[tuple[str, list[tuple[str, Any]]]] = []
    for index in range(count):
        path = paths[index % len(paths)]
        query: list[tuple[str, Any]] = []
        if index % 4:  # every fourth request has an empty query
            query.append(("search_content", rng.choice(SEARCH_VALUES)))
            query.append(("per_page", rng.randint(1, 1000)))
            query.append(("order", rng.choice(["asc", "desc"])))
            if rng.random() < 0.5:
                query.append(("tag", ["b", "a c"]))  # the SDK sorts list values and repeats the key
            if rng.random() < 0.3:
                query.append(("refresh", rng.random() < 0.5))  # booleans are sent as true/false
        cases.append((path, query))
    return cases


def _sdk_send(
    emu: ModelArtsEmulator, path: str, query: list[tuple[str, Any]], sk: str, temp: bool
) -> requests.Response:
    host = emu.url.split("://", 1)[1]
    ak = DEFAULT_TEMP_ACCESS_KEY if temp else DEFAULT_ACCESS_KEY
    credentials = BasicCredentials(ak, sk, PROJECT)
    if temp:
        credentials = credentials.with_security_token(DEFAULT_SECURITY_TOKEN)
    request = SdkRequest(
        method="GET",
        schema="http",
        host=host,
        resource_path=path,
        query_params=[(key, list(value) if isinstance(value, list) else value) for key, value in query],
        # What the SDK client itself adds before signing.
        header_params={"Content-Type": "application/json", "User-Agent": "huaweicloud-usdk-python/3.0"},
    )
    signed = credentials.sign_request(request)
    # The SDK's exact wire form: its canonical query string in the URI, its headers verbatim.
    return requests.get(f"{emu.url}{signed.uri}", headers=dict(signed.header_params), timeout=10)


def _aksk_send(
    emu: ModelArtsEmulator, path: str, query: list[tuple[str, Any]], sk: str, temp: bool
) -> requests.Response:
    pairs: list[tuple[str, str]] = []
    for key, value in query:
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, str(item).lower() if isinstance(item, bool) else str(item)) for item in values)
    ak = DEFAULT_TEMP_ACCESS_KEY if temp else DEFAULT_ACCESS_KEY
    auth = AkSkAuth(ak, sk, PROJECT, security_token=DEFAULT_SECURITY_TOKEN if temp else None)
    return requests.get(url_with(emu.url, path, pairs), auth=auth, timeout=10)


def test_cross_check_sdk_signer_and_aksk_auth(emu: ModelArtsEmulator) -> None:
    for index, (path, query) in enumerate(_cases(60)):
        temp = index % 3 == 0
        secret = DEFAULT_TEMP_SECRET_KEY if temp else DEFAULT_SECRET_KEY
        for send in (_sdk_send, _aksk_send):
            response = send(emu, path, query, secret, temp)
            assert response.status_code in (200, 400), (send.__name__, path, query, response.text)
            if response.status_code == 400:
                assert response.json()["error_code"] == "ModelArts.2775"  # authenticated, then not found
            assert last_request(emu)["auth"] == ("aksk-temp" if temp else "aksk")
        if index % 5 == 0:
            for send in (_sdk_send, _aksk_send):
                rejected = send(emu, path, query, "wrong-secret-key", temp)
                assert_apigw(rejected, 401, "APIGW.0301")
                assert rejected.json()["error_msg"].startswith("verify aksk signature fail, canonicalRequest:GET|")
            emu.reset()  # keep the deliberate failures from locking the AK
