"""The ECS/BMS/CCE metadata service over real HTTP, as ``huaweicloudsdkcore``'s ``MetadataAccessor``
uses it (``auth/internal.py``): PUT a session token (``X-Metadata-Token-Ttl-Seconds: 21600``; 404,
405 or 503 mean "go on without one"), GET ``/openstack/latest/securitykey`` with
``X-Metadata-Token``; on a 401 whose body lacks "Please configure Cloud Service Agency first", a new
token once and a retry. The credentials it gives are then accepted by the gateway until they expire.
"""

from __future__ import annotations

import string
from datetime import datetime, timezone

import pytest
import requests
from credential_client import (
    CONFIG_AGENCY_ERROR,
    EXPIRES_AT,
    SECURITYKEY_PATH,
    TOKEN_PATH,
    list_jobs_with,
    metadata_credential,
    securitykey,
    session_token,
    shifted_clock,
    signer,
)
from emulator_client import PROJECT, TEMP, SdkAkSkAuth, assert_apigw, iam_time, last_request
from modelarts_emulator import EmulatorConfig, ModelArtsEmulator
from modelarts_emulator.__main__ import config_from_args, parse_args

UPPER_ALNUM = set(string.ascii_uppercase + string.digits)


def test_session_token_then_securitykey_gives_temporary_credentials(emu: ModelArtsEmulator) -> None:
    response = requests.put(f"{emu.url}{TOKEN_PATH}", headers={"X-Metadata-Token-Ttl-Seconds": "21600"}, timeout=3)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    token = response.text
    assert token and token.strip() == token
    answer = securitykey(emu, token)
    assert answer.status_code == 200, answer.text
    credential = answer.json()["credential"]
    assert set(credential) == {"access", "secret", "securitytoken", "expires_at"}
    assert len(credential["access"]) == 20 and set(credential["access"]) <= UPPER_ALNUM
    assert len(credential["secret"]) == 40 and credential["securitytoken"]
    assert EXPIRES_AT.match(credential["expires_at"])
    # None configured: 24 hours (the emulator's documented-maximum default).
    remaining = (iam_time(credential["expires_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert 86400 - 60 < remaining <= 86400
    # Each call issues fresh credentials.
    assert metadata_credential(emu)["access"] != credential["access"]
    stats = emu.stats()
    assert stats["by_endpoint"]["metadata_token"] == 2 and stats["by_endpoint"]["metadata_securitykey"] == 2
    seen = stats["secrets_seen"]
    assert token in seen["metadata_session_tokens"]
    assert credential["secret"] in seen["temporary_secret_keys"]
    assert credential["securitytoken"] in seen["security_tokens"]
    assert last_request(emu)["auth"] is None  # no AK/SK or IAM token on these paths


def test_securitykey_without_a_valid_session_token_is_a_plain_401(emu: ModelArtsEmulator) -> None:
    for token in (None, "not-a-session-token"):
        response = securitykey(emu, token)
        assert response.status_code == 401
        # The SDK retries with a new token only when this message is absent.
        assert CONFIG_AGENCY_ERROR not in response.text and response.text == "Unauthorized"


@pytest.mark.parametrize("ttl", [None, "", "abc", "0", "21601", "-5", "1.5"])
def test_a_bad_token_ttl_is_a_400(emu: ModelArtsEmulator, ttl: str | None) -> None:
    headers = {} if ttl is None else {"X-Metadata-Token-Ttl-Seconds": ttl}
    response = requests.put(f"{emu.url}{TOKEN_PATH}", headers=headers, timeout=3)
    assert response.status_code == 400


def test_ttl_bounds_are_accepted_and_other_methods_refused(emu: ModelArtsEmulator) -> None:
    assert session_token(emu, "1") and session_token(emu, "21600")
    assert requests.get(f"{emu.url}{TOKEN_PATH}", timeout=3).status_code == 405
    assert requests.post(f"{emu.url}{SECURITYKEY_PATH}", timeout=3).status_code == 405


def test_an_expired_session_token_is_refused_and_a_new_one_works(emu: ModelArtsEmulator) -> None:
    with shifted_clock(emu) as clock:
        token = session_token(emu, "5")
        assert securitykey(emu, token).status_code == 200
        clock.offset = 6
        assert securitykey(emu, token).status_code == 401
        assert securitykey(emu, session_token(emu)).status_code == 200


def test_without_session_token_support_put_is_404_and_securitykey_needs_none(emu: ModelArtsEmulator) -> None:
    emu.set_credential_settings(metadata_session_token=False)
    response = requests.put(f"{emu.url}{TOKEN_PATH}", headers={"X-Metadata-Token-Ttl-Seconds": "21600"}, timeout=3)
    assert response.status_code == 404
    assert securitykey(emu, None).status_code == 200
    # A token a client still sends is ignored.
    assert securitykey(emu, "stale").status_code == 200


def test_without_an_agency_securitykey_says_so(emu: ModelArtsEmulator) -> None:
    emu.set_credential_settings(metadata_agency=False)
    response = securitykey(emu, session_token(emu))
    assert response.status_code == 401 and CONFIG_AGENCY_ERROR in response.text
    # The session token is checked first: a bad one is still the plain 401.
    assert securitykey(emu, "bad").text == "Unauthorized"
    assert emu.stats()["secrets_seen"]["temporary_secret_keys"] == []


def test_metadata_credentials_are_accepted_until_they_expire(emu: ModelArtsEmulator) -> None:
    emu.set_credential_settings(temporary_credential_seconds=60)
    with shifted_clock(emu) as clock:
        credential = metadata_credential(emu)
        remaining = (iam_time(credential["expires_at"]) - datetime.now(timezone.utc)).total_seconds()
        assert 55 < remaining <= 60
        assert list_jobs_with(emu, signer(credential)).status_code == 200
        assert last_request(emu)["auth"] == "aksk-temp"
        # Only with its own (signed) security token.
        assert_apigw(list_jobs_with(emu, signer(credential, None)), 401, "APIGW.0301")
        other = metadata_credential(emu)
        assert_apigw(list_jobs_with(emu, signer(credential, other["securitytoken"])), 401, "APIGW.0301")
        emu.reset()  # clear the failure count (reset keeps issued credentials) and the settings
        assert emu.credential_settings()["temporary_credential_seconds"] is None
        clock.offset = 61
        for _ in range(7):  # never locks the AK: expiry is not a failed attempt
            response = list_jobs_with(emu, signer(credential))
            assert_apigw(response, 401, "APIGW.0307", "The token must be updated.")
        assert emu.stats()["expired_credential_refusals"] == 7
        assert emu.stats()["auth_failures"] == 7
        # The other credential, issued when the override was 60 s, expired too; a new one works.
        assert_apigw(list_jobs_with(emu, signer(other)), 401, "APIGW.0307")
        assert list_jobs_with(emu, signer(metadata_credential(emu))).status_code == 200


def test_expire_control_refuses_issued_credentials_until_the_client_refreshes(emu: ModelArtsEmulator) -> None:
    token = session_token(emu)
    response = securitykey(emu, token)
    credential = response.json()["credential"]
    assert list_jobs_with(emu, signer(credential)).status_code == 200
    expired = requests.post(f"{emu.url}/_emulator/credentials/expire", timeout=3).json()["expired"]
    assert expired["temporary_credentials"] >= 1 and expired["metadata_session_tokens"] >= 1
    assert_apigw(list_jobs_with(emu, signer(credential)), 401, "APIGW.0307", "The token must be updated.")
    # The session token expired too: the SDK's retry path (new token, then securitykey).
    assert securitykey(emu, token).status_code == 401
    fresh = metadata_credential(emu)
    assert list_jobs_with(emu, signer(fresh)).status_code == 200
    assert emu.stats()["expired_credential_refusals"] == 1
    # The configured static temporary AK is not an issued one: it keeps working.
    assert list_jobs_with(emu, TEMP).status_code == 200


def test_faults_apply_to_the_metadata_paths(emu: ModelArtsEmulator) -> None:
    token = session_token(emu)
    emu.add_fault("status", count=1, path_contains=SECURITYKEY_PATH, status=503)
    assert securitykey(emu, token).status_code == 503
    assert securitykey(emu, token).status_code == 200
    emu.add_fault("drop", count=1, path_contains=SECURITYKEY_PATH)
    with pytest.raises(requests.ConnectionError):
        securitykey(emu, token)
    emu.add_fault("status", count=1, path_contains=TOKEN_PATH, status=503)
    response = requests.put(f"{emu.url}{TOKEN_PATH}", headers={"X-Metadata-Token-Ttl-Seconds": "60"}, timeout=3)
    assert response.status_code == 503
    stats = emu.stats()
    assert stats["faults_served"] == 3 and stats["by_endpoint"]["metadata_securitykey"] == 3


def test_credential_settings_control_and_reset(emu: ModelArtsEmulator) -> None:
    control = f"{emu.url}/_emulator/credentials"
    configured = {"metadata_agency": True, "metadata_session_token": True, "temporary_credential_seconds": None}
    assert requests.get(control, timeout=3).json() == configured
    changed = {"metadata_agency": False, "metadata_session_token": False, "temporary_credential_seconds": 5}
    assert requests.put(control, json=changed, timeout=3).json() == {**changed, "temporary_credential_seconds": 5.0}
    assert emu.credential_settings()["metadata_agency"] is False
    for bad in ({"metadata_agency": "no"}, {"temporary_credential_seconds": 0}, {"speed": 1}):
        assert requests.put(control, json=bad, timeout=3).status_code == 400
    assert requests.post(f"{emu.url}/_emulator/reset", timeout=3).status_code == 200
    assert requests.get(control, timeout=3).json() == configured


def test_cli_flags_and_config() -> None:
    args = parse_args(
        ["--no-metadata-agency", "--no-metadata-session-token", "--temporary-credential-seconds", "30",
         "--idp-id", "my-idp"]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.metadata_agency, config.metadata_session_token) == (False, False)
    assert (config.temporary_credential_seconds, config.idp_id) == (30.0, "my-idp")
    defaults = config_from_args(parse_args([]))
    assert defaults.metadata_agency and defaults.metadata_session_token
    assert defaults.temporary_credential_seconds is None and defaults.idp_id == "emulator-idp"
    with pytest.raises(ValueError):
        EmulatorConfig(temporary_credential_seconds=0)


def test_configured_switches_hold_from_the_start() -> None:
    config = EmulatorConfig(job_count=1, v2_job_count=1, metadata_agency=False, metadata_session_token=False)
    with ModelArtsEmulator(config) as emu:
        assert requests.put(f"{emu.url}{TOKEN_PATH}", timeout=3).status_code == 404
        response = securitykey(emu, None)
        assert response.status_code == 401 and CONFIG_AGENCY_ERROR in response.text


# ---------------------------------------------------------------------------------------------
# The independent check: Huawei's own SDK reads the emulator's metadata service.
# ---------------------------------------------------------------------------------------------


def test_the_official_sdk_obtains_credentials_and_they_sign_an_accepted_request(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huaweicloudsdkcore.auth.internal import MetadataAccessor
    from huaweicloudsdkcore.auth.provider import MetadataCredentialProvider
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    monkeypatch.setattr(MetadataAccessor, "_METADATA_ENDPOINT", emu.url)
    emu.set_credential_settings(temporary_credential_seconds=120)
    credentials = MetadataCredentialProvider.get_basic_credential_metadata_provider().get_credentials()
    assert credentials.ak and credentials.sk and credentials.security_token
    auth = SdkAkSkAuth(credentials.ak, credentials.sk, PROJECT, security_token=credentials.security_token)
    assert list_jobs_with(emu, auth).status_code == 200
    assert last_request(emu)["auth"] == "aksk-temp"

    # Expired at the gateway: refused; the SDK refreshes (120 s is under its 40-minute threshold).
    emu.expire_credentials()
    assert_apigw(list_jobs_with(emu, auth), 401, "APIGW.0307")
    credentials.process_sts(None)
    assert credentials.ak != auth.access_key
    refreshed = SdkAkSkAuth(credentials.ak, credentials.sk, PROJECT, security_token=credentials.security_token)
    assert list_jobs_with(emu, refreshed).status_code == 200
    stats = emu.stats()["by_endpoint"]
    # The second round: securitykey with the expired session token (401), a new token, a retry.
    assert stats["metadata_token"] == 2 and stats["metadata_securitykey"] == 3

    # Without an agency the SDK gives up at once, without asking for another token.
    emu.reset()
    emu.set_credential_settings(metadata_agency=False)
    with pytest.raises(ClientRequestException) as raised:
        MetadataAccessor().get_credential()
    assert raised.value.status_code == 401
    assert emu.stats()["by_endpoint"]["metadata_token"] == 1

    # Without session tokens (404) the SDK goes on without one.
    emu.reset()
    emu.set_credential_settings(metadata_session_token=False)
    assert MetadataAccessor().get_credential().access
