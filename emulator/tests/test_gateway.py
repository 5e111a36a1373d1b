"""End-to-end tests of the ModelArts emulator: real HTTP against an in-process server, no mocks.

Requests are signed by the official ``huaweicloudsdkcore`` signer, through ``requests``
(``signed_requests.SdkAkSkAuth``) or as the SDK itself sends them, so the emulator's verification
is held to the SDK's algorithm. (The cross-check of the provider's own signer against the emulator
is in the provider's tests: tests/integration/test_signer_cross_check.py.)
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from emulator_client import (
    AKSK,
    BAD_SK,
    JOB_COUNT,
    PROJECT,
    TEMP,
    SdkAkSkAuth,
    TokenAuth,
    assert_apigw,
    assert_modelarts_error,
    get,
    iam_time,
    issue_token,
    job_version_path,
    job_versions_path,
    jobs_path,
    last_request,
    list_jobs,
    token_body,
    url_with,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_DOMAIN_NAME,
    DEFAULT_IAM_USER_NAME,
    DEFAULT_IAM_USER_PASSWORD,
    DEFAULT_PASSWORD,
    DEFAULT_REGION,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_TEMP_ACCESS_KEY,
    DEFAULT_TEMP_SECRET_KEY,
    ModelArtsEmulator,
    signing,
)

LIST_ITEM_KEYS = {
    "job_id", "job_name", "job_desc", "version_id", "status", "create_time", "duration", "version_count",
}  # fmt: skip
IAM_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


# ---------------------------------------------------------------------------------------------
# AK/SK authentication (§6a, §5b)
# ---------------------------------------------------------------------------------------------


def test_aksk_accepted_and_bad_sk_rejected(emu: ModelArtsEmulator) -> None:
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    response = get(emu, jobs_path(PROJECT), [("per_page", "5")], BAD_SK)
    assert_apigw(response, 401, "APIGW.0301")
    message = response.json()["error_msg"]
    # The gateway echoes its canonical request with '|' for newlines.
    assert message.startswith(f"verify aksk signature fail, canonicalRequest:GET|{jobs_path(PROJECT)}/|per_page=5|")
    unknown = SdkAkSkAuth("EMUUNKNOWNAK00000000", DEFAULT_SECRET_KEY, PROJECT)
    assert_apigw(get(emu, jobs_path(PROJECT), auth=unknown), 401, "APIGW.0301", "ak EMUUNKNOWNAK00000000 not exist")
    stats = emu.stats()
    assert stats["auth_failures"] == 2 and [r["auth"] for r in stats["requests"]] == ["aksk", None, None]


def test_signature_date_window(emu: ModelArtsEmulator) -> None:
    def skewed(minutes: int) -> SdkAkSkAuth:
        return SdkAkSkAuth(
            DEFAULT_ACCESS_KEY,
            DEFAULT_SECRET_KEY,
            PROJECT,
            clock=lambda: datetime.now(timezone.utc) + timedelta(minutes=minutes),
        )

    for minutes in (-16, 16):
        response = get(emu, jobs_path(PROJECT), auth=skewed(minutes))
        assert_apigw(response, 401, "APIGW.0301", "calc ak sk signature fail:signature expired")
    assert get(emu, jobs_path(PROJECT), auth=skewed(-14)).status_code == 200


def test_plus_for_space_fails_while_percent_20_passes(emu: ModelArtsEmulator) -> None:
    url = url_with(emu.url, jobs_path(PROJECT), [("search_content", "demo resnet")])
    assert "%20" in url
    with requests.Session() as session:
        good = session.send(requests.Request("GET", url, auth=AKSK).prepare(), timeout=10)
        assert good.status_code == 200
        prepared = requests.Request("GET", url, auth=AKSK).prepare()
        assert prepared.url is not None
        prepared.url = prepared.url.replace("%20", "+")  # what a form-style encoder would send
        bad = session.send(prepared, timeout=10)
    assert_apigw(bad, 401, "APIGW.0301")
    assert "search_content=demo%2Bresnet" in bad.json()["error_msg"]


def test_ak_lock_after_more_than_five_failures(emu: ModelArtsEmulator) -> None:
    path = jobs_path(PROJECT)
    # Five failures, then a success, reset the count: no lock.
    for _ in range(5):
        assert get(emu, path, auth=BAD_SK).status_code == 401
    assert get(emu, path).status_code == 200
    for _ in range(6):
        assert get(emu, path, auth=BAD_SK).json()["error_msg"].startswith("verify aksk signature fail")
    # Now even a correct signature is refused.
    assert_apigw(get(emu, path), 401, "APIGW.0301", "AK access failed to reach the limit,forbidden")
    # Other AKs are unaffected, and reset() lifts the lock.
    assert get(emu, path, auth=TEMP).status_code == 200
    emu.reset()
    assert get(emu, path).status_code == 200


def test_ak_lock_expires(short_emu: ModelArtsEmulator) -> None:
    for _ in range(6):
        get(short_emu, jobs_path(PROJECT), auth=BAD_SK)
    assert get(short_emu, jobs_path(PROJECT)).json()["error_msg"] == "AK access failed to reach the limit,forbidden"
    time.sleep(0.7)
    assert get(short_emu, jobs_path(PROJECT)).status_code == 200


def test_temporary_credentials_need_a_signed_security_token(emu: ModelArtsEmulator) -> None:
    path = jobs_path(PROJECT)
    assert get(emu, path, auth=TEMP).status_code == 200
    assert last_request(emu)["auth"] == "aksk-temp"
    no_token = SdkAkSkAuth(DEFAULT_TEMP_ACCESS_KEY, DEFAULT_TEMP_SECRET_KEY, PROJECT)
    assert_apigw(get(emu, path, auth=no_token), 401, "APIGW.0301")
    wrong_token = SdkAkSkAuth(DEFAULT_TEMP_ACCESS_KEY, DEFAULT_TEMP_SECRET_KEY, PROJECT, security_token="other")
    assert_apigw(get(emu, path, auth=wrong_token), 401, "APIGW.0301")
    # Sent but not signed: added after signing.
    prepared = requests.Request("GET", f"{emu.url}{path}", auth=no_token).prepare()
    prepared.headers["X-Security-Token"] = DEFAULT_SECURITY_TOKEN
    with requests.Session() as session:
        assert_apigw(session.send(prepared, timeout=10), 401, "APIGW.0301")
    # A bad signature echoes the canonical request, security token included: clients must redact.
    bad = SdkAkSkAuth(DEFAULT_TEMP_ACCESS_KEY, "wrong", PROJECT, security_token=DEFAULT_SECURITY_TOKEN)
    assert DEFAULT_SECURITY_TOKEN in get(emu, path, auth=bad).json()["error_msg"]


def test_missing_credentials_and_wrong_project(emu: ModelArtsEmulator) -> None:
    response = get(emu, jobs_path(PROJECT), auth=None)
    assert_apigw(response, 401, "APIGW.0301", "Incorrect IAM authentication information")
    other_project = "f" * 32
    response = get(emu, jobs_path(other_project), auth=SdkAkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
    assert_modelarts_error(response, 403, "ModelArts.0210")


# ---------------------------------------------------------------------------------------------
# IAM tokens (§6b)
# ---------------------------------------------------------------------------------------------


def test_iam_account_token_issue_and_use(emu: ModelArtsEmulator) -> None:
    response = requests.post(
        f"{emu.url}/v3/auth/tokens?nocatalog=true", json=token_body(DEFAULT_DOMAIN_NAME, DEFAULT_PASSWORD), timeout=10
    )
    assert response.status_code == 201
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert IAM_TIMESTAMP.match(body["expires_at"]) and IAM_TIMESTAMP.match(body["issued_at"])
    lifetime = iam_time(body["expires_at"]) - iam_time(body["issued_at"])
    assert lifetime.total_seconds() == pytest.approx(86400, abs=1)
    assert body["methods"] == ["password"] and body["catalog"] == []
    assert body["project"]["id"] == PROJECT and body["project"]["name"] == DEFAULT_REGION
    assert body["user"]["name"] == DEFAULT_DOMAIN_NAME
    assert body["user"]["domain"]["name"] == DEFAULT_DOMAIN_NAME
    assert list_jobs(emu, [], TokenAuth(token))["job_total_count"] == JOB_COUNT
    assert emu.stats()["tokens_issued"] == 1 and last_request(emu)["auth"] == "token"


def test_iam_user_token_scoped_by_region_name(emu: ModelArtsEmulator) -> None:
    scope = {"project": {"name": DEFAULT_REGION}}
    body = token_body(DEFAULT_IAM_USER_NAME, DEFAULT_IAM_USER_PASSWORD, scope)
    response = requests.post(f"{emu.url}/v3/auth/tokens", json=body, timeout=10)
    assert response.status_code == 201
    assert response.json()["token"]["user"]["name"] == DEFAULT_IAM_USER_NAME
    assert list_jobs(emu, [], TokenAuth(response.headers["X-Subject-Token"]))["is_success"] is True


def test_iam_errors(emu: ModelArtsEmulator) -> None:
    tokens_url = f"{emu.url}/v3/auth/tokens"
    wrong = requests.post(tokens_url, json=token_body(DEFAULT_IAM_USER_NAME, DEFAULT_PASSWORD), timeout=10)
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
    }
    malformed = requests.post(tokens_url, json={"auth": {"identity": {"methods": ["password"]}}}, timeout=10)
    assert malformed.status_code == 400 and malformed.json()["error_code"] == "IAM.0011"
    assert requests.post(tokens_url, data=b"{not json", timeout=10).status_code == 400
    bad_scope = token_body(DEFAULT_DOMAIN_NAME, DEFAULT_PASSWORD, {"project": {"id": "0" * 32}})
    assert requests.post(tokens_url, json=bad_scope, timeout=10).status_code == 400
    response = get(emu, jobs_path(PROJECT), auth=TokenAuth("MIInot-a-token"))
    assert_apigw(response, 401, "APIGW.0301", "decrypt token fail")
    assert emu.stats()["tokens_issued"] == 0


def test_token_expiry(short_emu: ModelArtsEmulator) -> None:
    token = TokenAuth(issue_token(short_emu))
    assert get(short_emu, jobs_path(PROJECT), auth=token).status_code == 200
    time.sleep(1.1)
    assert_apigw(get(short_emu, jobs_path(PROJECT), auth=token), 401, "APIGW.0307", "The token must be updated.")


# ---------------------------------------------------------------------------------------------
# The gateway's own signature verification against the documented known-answer vectors
# ---------------------------------------------------------------------------------------------

# Inputs and answers of the SDK-HMAC-SHA256 vectors (computed with huaweicloudsdkcore 3.1.219's
# signer and checked with plain hmac/hashlib); written out here, not taken from the client.
VECTOR_SK = "exampleSecretKey0123456789abcdefghijklmnop"
VECTOR_DATE = "20240102T030405Z"
VECTOR_PROJECT = "0123456789abcdef0123456789abcdef"
VECTOR_HEADERS = {
    "content-type": "application/json",
    "host": "modelarts.cn-north-4.myhuaweicloud.com",
    "x-project-id": VECTOR_PROJECT,
    "x-sdk-date": VECTOR_DATE,
}
VECTOR_JOBS = f"/v1/{VECTOR_PROJECT}/training-jobs"
VECTOR_QUERY = "order=desc&page=1&per_page=10&search_content=my%20job%20%C3%BC~%2A&sortBy=create_time&status=8"


@pytest.mark.parametrize(
    ("method", "path", "query", "extra_headers", "body", "digest", "signature"),
    [
        pytest.param(
            "GET", VECTOR_JOBS, VECTOR_QUERY, {}, b"",
            "99cb10d69fd193ceae1f4815c4ab295d3e107a021ef93316bb63000201c33afc",
            "a287e43554bbcb75a5b0c47139d5e3be39a97d941e8961cac69c8c94650a9cc9",
            id="V1-get-encoded-query",
        ),
        pytest.param(
            "GET", f"{VECTOR_JOBS}/10/versions/20", "", {}, b"",
            "e16ad657388a4470b65336d510526e512eb73c54bbf098b03c8f4beb3ef60724",
            "da550b821a86c1c3ea655b158d25db95c73f49f2b8ff7f41fc31d2d3eed26c6f",
            id="V2-get-no-query",
        ),
        pytest.param(
            "POST", VECTOR_JOBS, "", {}, b'{"job_name":"demo","job_desc":"x"}',
            "671e373aa9683f34ac1febc3409cc5cc114988cfd9e5ea743e91ed143ac03de7",
            "573623792257741ba7469fc3f5cf0273a31c87d2a221f8bb9bacb83e0084f5c7",
            id="V3-post-json",
        ),
        pytest.param(
            "GET", f"{VECTOR_JOBS}/10/versions/20", "", {"x-security-token": "EXAMPLE-SECURITY-TOKEN"}, b"",
            "d636fea264732a14711c5aa135324b1a7d7e8744ac8d59df86d9cc2964b61475",
            "f2e17ab4f3d68db09b9d6ad29a7b63aa8a89ef3ab72f46d5962b1a4eaca45196",
            id="V4-security-token",
        ),
    ],
)  # fmt: skip
def test_gateway_signing_reproduces_the_documented_vectors(
    method: str, path: str, query: str, extra_headers: dict[str, str], body: bytes, digest: str, signature: str
) -> None:
    canonical = signing.canonical_request(method, path, query, {**VECTOR_HEADERS, **extra_headers}, body)
    assert canonical.splitlines()[1] == path + "/"  # the trailing slash exists only when signing
    assert canonical.splitlines()[2] == query  # the SDK's wire query is already canonical
    assert hashlib.sha256(canonical.encode()).hexdigest() == digest
    assert signing.signature(VECTOR_SK, VECTOR_DATE, canonical) == signature


def test_gateway_parses_the_authorization_header() -> None:
    header = "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0000001, SignedHeaders=host;x-sdk-date, Signature=ab12"
    assert signing.parse_authorization(header) == signing.Credential(
        "HPUAEXAMPLEAK0000001", ("host", "x-sdk-date"), "ab12"
    )
    assert signing.parse_authorization("Bearer abc") is None
    assert signing.parse_authorization("SDK-HMAC-SHA256 Access=AK, Signature=ab12") is None


def test_gateway_canonical_forms_follow_the_signing_rules() -> None:
    # A '+' on the wire is a plus (unquote, not unquote_plus); %2F in a path is a separator.
    assert signing.query_pairs("q=a+b&r=a%20b&flag") == [("q", "a+b"), ("r", "a b"), ("flag", "")]
    assert signing.canonical_query([("b", "2"), ("a", "z"), ("a", "b"), ("B", "1")]) == "B=1&a=b&a=z&b=2"
    assert signing.canonical_path("/a%2Fb/c d") == "/a/b/c%20d/"
    # An empty body hashes as empty even when the unsigned-payload header is present.
    assert signing.body_digest(b"", "UNSIGNED-PAYLOAD") == hashlib.sha256(b"").hexdigest()
    assert signing.body_digest(b"x", "UNSIGNED-PAYLOAD") == "UNSIGNED-PAYLOAD"
    assert signing.signable_header_names(["Host", "X_Custom", "X-Sdk-Date"]) == ["host", "x-sdk-date"]


# ---------------------------------------------------------------------------------------------
# Cross-check with the official SDK signer
# ---------------------------------------------------------------------------------------------

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
    auth = SdkAkSkAuth(ak, sk, PROJECT, security_token=DEFAULT_SECURITY_TOKEN if temp else None)
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
    assert emu.stats()["auth_failures"] == 0


# ---------------------------------------------------------------------------------------------
# What a leak scan needs: secrets seen on the wire, clock skew, configurable credentials
# ---------------------------------------------------------------------------------------------


def test_stats_remember_every_secret_value_that_crossed_the_wire(emu: ModelArtsEmulator) -> None:
    temp_response = get(emu, jobs_path(PROJECT), auth=TEMP)
    bad_response = get(emu, jobs_path(PROJECT), auth=BAD_SK)
    emu.add_fault(kind="status", status=503, count=1)
    faulted = get(emu, jobs_path(PROJECT))  # answered by the fault, but the signature was sent
    token = issue_token(emu)
    get(emu, jobs_path(PROJECT), auth=TokenAuth(token))
    get(emu, jobs_path(PROJECT), auth=TokenAuth("MII-not-issued-here"))
    assert (temp_response.status_code, bad_response.status_code, faulted.status_code) == (200, 401, 503)
    seen = emu.stats()["secrets_seen"]
    assert len(seen["signatures"]) == 3  # three signed requests: accepted, refused, faulted
    assert all(re.fullmatch(r"[0-9a-f]{64}", signature) for signature in seen["signatures"])
    assert seen["iam_tokens"] == [token, "MII-not-issued-here"]  # issued once, presented once: kept once
    assert seen["security_tokens"] == [DEFAULT_SECURITY_TOKEN]
    over_http = requests.get(f"{emu.url}/_emulator/stats", timeout=10).json()["secrets_seen"]
    assert over_http == seen
    emu.reset()
    assert emu.stats()["secrets_seen"] == {
        "signatures": [], "iam_tokens": [], "security_tokens": [],
        "temporary_secret_keys": [], "metadata_session_tokens": [], "id_tokens": [],
    }  # fmt: skip


def test_clock_skew_makes_correct_signatures_expire(emu: ModelArtsEmulator) -> None:
    emu.set_clock_skew(16 * 60)
    assert_apigw(get(emu, jobs_path(PROJECT)), 401, "APIGW.0301", "calc ak sk signature fail:signature expired")
    emu.set_clock_skew(-14 * 60)  # within the 15-minute window
    assert get(emu, jobs_path(PROJECT)).status_code == 200
    control = requests.put(f"{emu.url}/_emulator/clock", json={"skew_seconds": -20 * 60}, timeout=10)
    assert control.status_code == 200 and control.json()["skew_seconds"] == -1200
    assert get(emu, jobs_path(PROJECT)).status_code == 401
    # Tokens are not signed, so the skew does not touch them.
    assert get(emu, jobs_path(PROJECT), auth=TokenAuth(issue_token(emu))).status_code == 200
    bad = requests.put(f"{emu.url}/_emulator/clock", json={"skew_seconds": "soon"}, timeout=10)
    assert bad.status_code == 400
    emu.reset()  # reset also puts the clock right
    assert get(emu, jobs_path(PROJECT)).status_code == 200


def test_cli_sets_every_credential(emu: ModelArtsEmulator) -> None:
    from modelarts_emulator.__main__ import config_from_args, parse_args

    args = parse_args(
        [
            "--ak", "LEAKAK00000000000001", "--sk", "leak-sk", "--temp-ak", "LEAKTEMPAK0000000001",
            "--temp-sk", "leak-temp-sk", "--security-token", "leak-security-token", "--user", "leak-account",
            "--password", "leak-pw", "--domain", "leak-account", "--iam-user", "leak-user",
            "--iam-password", "leak-pw2",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.access_key, config.secret_key) == ("LEAKAK00000000000001", "leak-sk")
    assert (config.temp_access_key, config.temp_secret_key) == ("LEAKTEMPAK0000000001", "leak-temp-sk")
    assert config.security_token == "leak-security-token"
    assert (config.user_name, config.password, config.domain_name) == ("leak-account", "leak-pw", "leak-account")
    assert (config.iam_user_name, config.iam_user_password) == ("leak-user", "leak-pw2")
    for secret in ("leak-sk", "leak-temp-sk", "leak-security-token", "leak-pw"):
        assert secret not in repr(config)
    with ModelArtsEmulator(config) as custom:
        temp = SdkAkSkAuth("LEAKTEMPAK0000000001", "leak-temp-sk", PROJECT, security_token="leak-security-token")
        assert get(custom, jobs_path(PROJECT), auth=temp).status_code == 200
        assert get(custom, jobs_path(PROJECT), auth=TEMP).status_code == 401  # the defaults no longer work
    default = config_from_args(parse_args([]))
    assert default.temp_access_key == DEFAULT_TEMP_ACCESS_KEY and default.security_token == DEFAULT_SECURITY_TOKEN
