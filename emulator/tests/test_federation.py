"""IAM federation over real HTTP, as ``huaweicloudsdkcore``'s ``FederalAccessor`` and the IAM docs
describe it: an OpenID Connect ID token for an IAM token (``POST /v3.0/OS-AUTH/id-token/tokens``,
iam_13_0605), the token for a temporary AK/SK (``POST /v3.0/OS-CREDENTIAL/securitytokens``,
iam_04_0002: 15 minutes to 24 hours, default 15 minutes), and the project id by region
(``GET /v3/projects?name=...``, iam_06_0001). The JWT's signature is not verified by the emulator.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from credential_client import (
    EXPIRES_AT,
    ID_TOKEN_PATH,
    PROJECTS_PATH,
    SECURITYTOKENS_PATH,
    list_jobs_with,
    shifted_clock,
    signer,
)
from emulator_client import (
    AKSK,
    PROJECT,
    TokenAuth,
    assert_apigw,
    get,
    iam_time,
    issue_token,
    last_request,
)
from modelarts_emulator import DEFAULT_IDP_ID, DEFAULT_REGION, ModelArtsEmulator, make_id_token

SUBJECT = "system:serviceaccount:airflow:worker"


def id_token_request(
    emu: ModelArtsEmulator, id_token: str, idp_id: str | None = DEFAULT_IDP_ID, scope: dict[str, Any] | None = None
) -> requests.Response:
    auth: dict[str, Any] = {"id_token": {"id": id_token}}
    if scope is not None:
        auth["scope"] = scope
    headers = {"X-Idp-Id": idp_id} if idp_id is not None else {}
    return requests.post(f"{emu.url}{ID_TOKEN_PATH}", json={"auth": auth}, headers=headers, timeout=5)


def federated_token(emu: ModelArtsEmulator, **scope: Any) -> str:
    response = id_token_request(emu, make_id_token(), scope=scope or None)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def securitytokens_request(
    emu: ModelArtsEmulator, token: str | None, duration: Any = None, header_token: str | None = None
) -> requests.Response:
    token_part: dict[str, Any] = {}
    if token is not None:
        token_part["id"] = token
    if duration is not None:
        token_part["duration_seconds"] = duration
    body = {"auth": {"identity": {"methods": ["token"], "token": token_part}}}
    headers = {"X-Auth-Token": header_token} if header_token else {}
    return requests.post(f"{emu.url}{SECURITYTOKENS_PATH}", json=body, headers=headers, timeout=5)


def remaining_seconds(credential: dict[str, Any]) -> float:
    return (iam_time(credential["expires_at"]) - datetime.now(timezone.utc)).total_seconds()


def _segment(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------
# ID token -> IAM token
# ---------------------------------------------------------------------------------------------


def test_make_id_token_is_a_jwt() -> None:
    header, payload, signature = make_id_token(expires_in=60).split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "RS256", "kid": "emulator", "typ": "JWT"}
    assert decoded["sub"] == SUBJECT and decoded["exp"] - decoded["iat"] == 60 and signature


def test_an_id_token_gives_an_unscoped_federated_token(emu: ModelArtsEmulator) -> None:
    id_token = make_id_token(subject="system:serviceaccount:ml:trainer")
    response = id_token_request(emu, id_token)
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert EXPIRES_AT.match(body["expires_at"]) and EXPIRES_AT.match(body["issued_at"])
    assert body["methods"] == ["mapped"]  # iam_13_0605: "For federated users ... mapped"
    assert body["user"]["name"] == "system:serviceaccount:ml:trainer"
    assert body["user"]["OS-FEDERATION"]["identity_provider"]["id"] == DEFAULT_IDP_ID
    assert "project" not in body and "domain" not in body
    stats = emu.stats()
    assert stats["by_endpoint"]["iam_id_token"] == 1 and stats["tokens_issued"] == 1
    assert id_token in stats["secrets_seen"]["id_tokens"] and token in stats["secrets_seen"]["iam_tokens"]
    # Unscoped: no ModelArts project in it.
    assert get(emu, f"/v1/{PROJECT}/training-jobs", auth=TokenAuth(token)).status_code == 401


def test_scoped_id_token_requests(emu: ModelArtsEmulator) -> None:
    response = id_token_request(emu, make_id_token(), scope={"project": {"id": PROJECT}})
    assert response.status_code == 201 and response.json()["token"]["project"]["id"] == PROJECT
    assert get(emu, f"/v1/{PROJECT}/training-jobs", auth=TokenAuth(response.headers["X-Subject-Token"])).ok
    by_name = id_token_request(emu, make_id_token(), scope={"project": {"name": DEFAULT_REGION}})
    assert by_name.status_code == 201
    domain_id = by_name.json()["token"]["user"]["domain"]["id"]
    domain = id_token_request(emu, make_id_token(), scope={"domain": {"id": domain_id}})
    assert domain.status_code == 201 and domain.json()["token"]["domain"]["id"] == domain_id
    assert id_token_request(emu, make_id_token(), scope={"project": {"id": "0" * 32}}).status_code == 400


def test_an_unknown_or_missing_idp_is_refused(emu: ModelArtsEmulator) -> None:
    unknown = id_token_request(emu, make_id_token(), idp_id="someone-elses-idp")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "IAM.0004"
    missing = id_token_request(emu, make_id_token(), idp_id=None)
    assert missing.status_code == 400 and missing.json()["error_code"] == "IAM.0011"


@pytest.mark.parametrize(
    "id_token",
    [
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        f"{_segment({'alg': 'RS256'})}.!!!.sig",
        f"{_segment({'alg': 'RS256'})}.{base64.urlsafe_b64encode(b'not json').decode()}.sig",
        f"{_segment({'alg': 'RS256'})}.{_segment({'exp': 9999999999})}.sig",
        f"{_segment({'alg': 'RS256'})}.{_segment({'sub': 'x', 'exp': '9999999999'})}.sig",
        f"{_segment({'alg': 'RS256'})}.{_segment({'sub': 'x', 'exp': 9999999999})}.",
        f"{_segment(['alg'])}.{_segment({'sub': 'x', 'exp': 9999999999})}.sig",
    ],
)
def test_a_malformed_id_token_is_a_401(emu: ModelArtsEmulator, id_token: str) -> None:
    response = id_token_request(emu, id_token)
    assert response.status_code == 401
    assert response.json()["error"]["title"] == "Unauthorized"


def test_an_expired_id_token_is_a_401(emu: ModelArtsEmulator) -> None:
    assert id_token_request(emu, make_id_token(expires_in=-5)).status_code == 401
    with shifted_clock(emu) as clock:
        id_token = make_id_token(expires_in=30)
        assert id_token_request(emu, id_token).status_code == 201
        clock.offset = 31
        assert id_token_request(emu, id_token).status_code == 401


def test_a_bad_id_token_body_is_a_400(emu: ModelArtsEmulator) -> None:
    url = f"{emu.url}{ID_TOKEN_PATH}"
    headers = {"X-Idp-Id": DEFAULT_IDP_ID}
    for body in (b"{", b"[]", b'{"auth": {}}', b'{"auth": {"id_token": {"id": 5}}}'):
        response = requests.post(url, data=body, headers=headers, timeout=5)
        assert response.status_code == 400 and response.json()["error_code"] == "IAM.0011"
    assert_apigw(requests.get(url, headers=headers, timeout=5), 404, "APIGW.0101")


# ---------------------------------------------------------------------------------------------
# IAM token -> temporary AK/SK
# ---------------------------------------------------------------------------------------------


def test_securitytokens_default_and_bounds(emu: ModelArtsEmulator) -> None:
    token = federated_token(emu)
    default = securitytokens_request(emu, token)
    assert default.status_code == 201, default.text
    credential = default.json()["credential"]
    assert set(credential) == {"access", "secret", "securitytoken", "expires_at"}
    assert EXPIRES_AT.match(credential["expires_at"]) and 890 < remaining_seconds(credential) <= 900
    longest = securitytokens_request(emu, token, 86400).json()["credential"]
    assert 86390 < remaining_seconds(longest) <= 86400
    assert securitytokens_request(emu, token, 900).status_code == 201
    for duration in (899, 86401, "900", True, 1.5, 0):
        response = securitytokens_request(emu, token, duration)
        assert response.status_code == 400 and response.json()["error_code"] == "IAM.0011", duration
    stats = emu.stats()
    assert stats["by_endpoint"]["iam_securitytokens"] == 9
    assert credential["secret"] in stats["secrets_seen"]["temporary_secret_keys"]
    assert credential["securitytoken"] in stats["secrets_seen"]["security_tokens"]


def test_securitytokens_accepts_the_header_token_and_any_emulator_token(emu: ModelArtsEmulator) -> None:
    federated = federated_token(emu)
    assert securitytokens_request(emu, None, header_token=federated).status_code == 201
    # X-Auth-Token takes priority over the body's token id.
    assert securitytokens_request(emu, "bogus", header_token=federated).status_code == 201
    assert securitytokens_request(emu, federated, header_token="bogus").status_code == 401
    # A password token works too.
    assert securitytokens_request(emu, issue_token(emu)).status_code == 201


def test_securitytokens_refuses_unknown_and_expired_tokens(emu: ModelArtsEmulator) -> None:
    assert securitytokens_request(emu, "MIInot-a-token").status_code == 401
    assert securitytokens_request(emu, None).status_code == 401
    body = {"auth": {"identity": {"methods": ["password"], "token": {"id": "x"}}}}
    assert requests.post(f"{emu.url}{SECURITYTOKENS_PATH}", json=body, timeout=5).status_code == 400
    token = federated_token(emu)
    emu.expire_credentials()
    response = securitytokens_request(emu, token)
    assert response.status_code == 401 and response.json()["error"]["code"] == 401
    assert emu.stats()["expired_credential_refusals"] == 1


def test_issued_credentials_work_until_they_expire(emu: ModelArtsEmulator) -> None:
    with shifted_clock(emu) as clock:
        credential = securitytokens_request(emu, federated_token(emu)).json()["credential"]
        assert list_jobs_with(emu, signer(credential)).status_code == 200
        assert last_request(emu)["auth"] == "aksk-temp"
        clock.offset = 901
        assert_apigw(list_jobs_with(emu, signer(credential)), 401, "APIGW.0307", "The token must be updated.")
    assert emu.stats()["expired_credential_refusals"] == 1


def test_temporary_credential_seconds_overrides_the_duration(emu: ModelArtsEmulator) -> None:
    emu.set_credential_settings(temporary_credential_seconds=5)
    credential = securitytokens_request(emu, federated_token(emu), 3600).json()["credential"]
    assert 0 < remaining_seconds(credential) <= 5
    emu.reset()
    restored = securitytokens_request(emu, federated_token(emu), 3600).json()["credential"]
    assert 3590 < remaining_seconds(restored) <= 3600


def test_faults_apply_to_the_federation_paths(emu: ModelArtsEmulator) -> None:
    emu.add_fault("status", count=1, path_contains=ID_TOKEN_PATH, status=503)
    assert id_token_request(emu, make_id_token()).status_code == 503
    emu.add_fault("drop", count=1, path_contains=SECURITYTOKENS_PATH)
    token = federated_token(emu)
    with pytest.raises(requests.ConnectionError):
        securitytokens_request(emu, token)
    assert securitytokens_request(emu, token).status_code == 201


# ---------------------------------------------------------------------------------------------
# Projects by region
# ---------------------------------------------------------------------------------------------


def test_projects_by_region(emu: ModelArtsEmulator) -> None:
    response = get(emu, PROJECTS_PATH, [("name", DEFAULT_REGION)], AKSK)
    assert response.status_code == 200, response.text
    body = response.json()
    [project] = body["projects"]
    assert project["id"] == PROJECT and project["name"] == DEFAULT_REGION and project["enabled"] is True
    assert project["domain_id"] and {"self", "previous", "next"} <= set(body["links"])
    assert last_request(emu)["auth"] == "aksk"
    assert get(emu, PROJECTS_PATH, [("name", "eu-west-0")], AKSK).json()["projects"] == []
    assert len(get(emu, PROJECTS_PATH, [], AKSK).json()["projects"]) == 1
    assert emu.stats()["by_endpoint"]["iam_projects"] == 3


def test_projects_with_temporary_credentials_a_token_or_nothing(emu: ModelArtsEmulator) -> None:
    token = federated_token(emu)
    credential = securitytokens_request(emu, token).json()["credential"]
    assert get(emu, PROJECTS_PATH, [("name", DEFAULT_REGION)], signer(credential)).status_code == 200
    assert last_request(emu)["auth"] == "aksk-temp"
    assert get(emu, PROJECTS_PATH, [("name", DEFAULT_REGION)], TokenAuth(token)).status_code == 200
    assert_apigw(requests.get(f"{emu.url}{PROJECTS_PATH}", timeout=5), 401, "APIGW.0301")
    emu.expire_credentials()
    assert_apigw(get(emu, PROJECTS_PATH, [], signer(credential)), 401, "APIGW.0307")
    assert_apigw(get(emu, PROJECTS_PATH, [], TokenAuth(token)), 401, "APIGW.0307")
    assert emu.stats()["expired_credential_refusals"] == 2
