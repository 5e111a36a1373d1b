"""Temporary credentials, pure: the credential answer, the SDK's refresh rule, the default chain's
environment and profile file, and the shared renewing cache under a fake clock."""

from __future__ import annotations

import threading
from pathlib import Path

import pendulum
import pytest

from airflow_provider_modelarts.cloud import auth
from airflow_provider_modelarts.cloud import credentials as creds
from airflow_provider_modelarts.exceptions import ModelArtsCredentialsError, ModelArtsServerError

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _credentials(lifetime_seconds: float, n: int = 1, start: pendulum.DateTime = START) -> creds.TemporaryCredentials:
    return creds.TemporaryCredentials(
        access_key=f"TEMPAK{n}",
        secret_key=f"temp-secret-{n}",
        security_token=f"security-token-{n}",
        obtained_at=start,
        expires_at=start.add(seconds=lifetime_seconds),
        source="test",
    )


def test_the_metadata_answer_is_read() -> None:
    body = {
        "credential": {
            "access": "TEMPAK",
            "secret": "temp-secret",
            "securitytoken": "gQ-token",
            "expires_at": "2026-01-01T06:00:00.000000Z",
        }
    }
    got = creds.parse_credential(body, source="metadata", now=START)
    assert (got.access_key, got.secret_key, got.security_token) == ("TEMPAK", "temp-secret", "gQ-token")
    assert got.expires_at == START.add(hours=6)
    assert "temp-secret" not in repr(got) and "gQ-token" not in repr(got)


def test_camel_case_variants_are_read_too() -> None:
    body = {"credential": {"access": "A", "secret": "S", "securityToken": "T", "expiresAt": "2026-01-01T01:00:00Z"}}
    assert creds.parse_credential(body, source="x", now=START).security_token == "T"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "'credential'"),
        ({"credential": {"secret": "S", "securitytoken": "T", "expires_at": "2026-01-01T01:00:00Z"}}, "'access'"),
        ({"credential": {"access": "A", "secret": "S", "securitytoken": "T"}}, "'expires_at'"),
        ({"credential": {"access": "A", "secret": "S", "securitytoken": "T", "expires_at": "tomorrow"}}, "expires_at"),
    ],
)
def test_a_malformed_answer_names_what_is_missing_and_no_secret(body: dict[str, object], named: str) -> None:
    with pytest.raises(ModelArtsCredentialsError) as error:
        creds.parse_credential(body, source="the metadata service", now=START)
    assert named in str(error.value) and "'S'" not in str(error.value)


def test_six_hour_credentials_are_renewed_40_minutes_before_expiry() -> None:
    six_hours = _credentials(6 * 3600)
    assert not six_hours.refresh_due(START.add(hours=5, minutes=19))
    assert six_hours.refresh_due(START.add(hours=5, minutes=20, seconds=1))
    assert not six_hours.refresh_required(START.add(hours=5, minutes=54))
    assert six_hours.refresh_required(START.add(hours=5, minutes=55))


def test_short_lived_credentials_are_renewed_halfway() -> None:
    # The SDK's fixed 40 minutes would renew a 15-minute credential before every request.
    quarter_hour = _credentials(900)
    assert not quarter_hour.refresh_due(START.add(seconds=449))
    assert quarter_hour.refresh_due(START.add(seconds=451))
    assert quarter_hour.refresh_required(START.add(seconds=810))


def test_keys_without_expiry_are_never_renewed() -> None:
    static = creds.TemporaryCredentials("AK", "SK", None, START, None, "env")
    assert not static.refresh_due(START.add(years=1)) and not static.refresh_required(START.add(years=1))


class FakeSource:
    def __init__(self, clock: list[pendulum.DateTime], lifetime: float = 6 * 3600) -> None:
        self.clock, self.lifetime, self.fetches, self.down = clock, lifetime, 0, False

    def fetch(self) -> creds.TemporaryCredentials:
        self.fetches += 1
        if self.down:
            raise ModelArtsServerError(503, "", "metadata service unavailable")
        return _credentials(self.lifetime, self.fetches, self.clock[0])


def test_the_cache_renews_early_and_keeps_valid_credentials_when_that_fails() -> None:
    clock = [START]
    source = FakeSource(clock)
    cache = auth.RenewingCache(source.fetch, clock=lambda: clock[0], what="temporary credentials")
    assert cache.get_item().access_key == "TEMPAK1"
    clock[0] = START.add(hours=5, minutes=30)  # 30 minutes left: due
    source.down = True
    assert cache.get_item().access_key == "TEMPAK1"  # still valid: used
    clock[0] = START.add(hours=5, minutes=56)  # 4 minutes left: required
    with pytest.raises(ModelArtsServerError):
        cache.get_item()
    source.down = False
    assert cache.get_item().access_key == "TEMPAK4"
    assert cache.renewals == 2


def test_only_the_rejected_credentials_are_dropped() -> None:
    clock = [START]
    source = FakeSource(clock)
    cache = auth.RenewingCache(source.fetch, clock=lambda: clock[0])
    cache.get_item()
    cache.invalidate("TEMPAK1")
    assert cache.get_item().access_key == "TEMPAK2"
    cache.invalidate("TEMPAK1")  # a second thread rejected with the old ones: the new ones stay
    assert cache.get_item().access_key == "TEMPAK2" and source.fetches == 2


def test_many_threads_due_at_once_make_one_renewal() -> None:
    clock = [START]
    source = FakeSource(clock)
    cache = auth.RenewingCache(source.fetch, clock=lambda: clock[0])
    barrier = threading.Barrier(50)
    seen: list[str] = []

    def use() -> None:
        barrier.wait()
        seen.append(cache.get_item().access_key)

    threads = [threading.Thread(target=use) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert source.fetches == 1 and set(seen) == {"TEMPAK1"}


def test_the_environment_gives_a_federation_first_then_an_aksk() -> None:
    entry, ignored = creds.from_environment(
        {"HUAWEICLOUD_SDK_AK": "AK", "HUAWEICLOUD_SDK_SK": "SK", "HUAWEICLOUD_SDK_PROJECT_ID": "p"}
    )
    assert entry is not None and (entry.access_key, entry.secret_key, entry.project_id) == ("AK", "SK", "p")
    assert not entry.is_federation and ignored == []
    # As the SDK's EnvCredentialProvider: an IdP id with a token file wins over an AK/SK.
    both = {"HUAWEICLOUD_SDK_AK": "AK", "HUAWEICLOUD_SDK_SK": "SK", "HUAWEICLOUD_SDK_IDP_ID": "k8s",
            "HUAWEICLOUD_SDK_ID_TOKEN_FILE": "/t"}  # fmt: skip
    entry, _ = creds.from_environment(both)
    assert entry is not None and entry.is_federation and (entry.idp_id, entry.id_token_file) == ("k8s", "/t")
    assert creds.from_environment({"PATH": "/bin"}) == (None, [])


def test_half_a_pair_is_skipped_as_the_sdk_does_and_named() -> None:
    assert creds.from_environment({"HUAWEICLOUD_SDK_AK": "AK"}) == (None, ["HUAWEICLOUD_SDK_AK"])
    entry, ignored = creds.from_environment(
        {"HUAWEICLOUD_SDK_AK": "stale", "HUAWEICLOUD_SDK_IDP_ID": "k8s", "HUAWEICLOUD_SDK_ID_TOKEN_FILE": "/t"}
    )
    assert entry is not None and entry.is_federation and ignored == ["HUAWEICLOUD_SDK_AK"]


def test_the_profile_file_basic_section_only() -> None:
    basic, _ = creds.from_profile("[basic]\nak = AK\nsk = SK\nsecurity_token = T\n", "/p")
    assert basic is not None and basic.security_token == "T" and "[basic]" in basic.origin
    federation, _ = creds.from_profile(
        "[basic]\nidp_id = k8s\nid_token_file = /t\niam_endpoint = https://iam.x\n", "/p"
    )
    assert federation is not None and federation.iam_endpoint == "https://iam.x"
    # [global] holds the SDK's GlobalCredentials, not the basic ones ModelArts uses.
    assert creds.from_profile("[global]\nak = AK\nsk = SK\n", "/p") == (None, [])
    assert creds.from_profile("[basic]\nsk = SK\n", "/p") == (None, ["sk"])
    with pytest.raises(ModelArtsCredentialsError, match="not an INI file"):
        creds.from_profile("ak = AK", "/p")


def test_the_profile_path_follows_the_sdk() -> None:
    assert creds.profile_path({}) == "~/.huaweicloud/credentials"
    assert creds.profile_path({"HUAWEICLOUD_SDK_CREDENTIALS_FILE": "/etc/hw"}) == "/etc/hw"


def test_one_project_per_region_or_a_clear_error() -> None:
    assert creds.project_of_region({"projects": [{"id": "p1", "name": "cn-north-4"}]}, "cn-north-4") == "p1"
    with pytest.raises(ModelArtsCredentialsError, match="no project named 'xx-1'.*project_id"):
        creds.project_of_region({"projects": []}, "xx-1")
    with pytest.raises(ModelArtsCredentialsError, match="p1, p2"):
        creds.project_of_region({"projects": [{"id": "p1"}, {"id": "p2"}]}, "cn-north-4")


def test_the_id_token_file_is_read_fresh(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("jwt-1\n")
    assert creds.read_id_token(str(path)) == "jwt-1"
    path.write_text("jwt-2")  # kubelet rotated it
    assert creds.read_id_token(str(path)) == "jwt-2"
    path.write_text("")
    with pytest.raises(ModelArtsCredentialsError, match="is empty"):
        creds.read_id_token(str(path))
    with pytest.raises(ModelArtsCredentialsError, match="id_token_file") as error:
        creds.read_id_token(str(path) + "-missing")
    # Named in two parts: Airflow masks the whole path, the value of an extra named "...token...".
    assert f"'token-missing' in '{tmp_path}'" in str(error.value) and str(path) not in str(error.value)


def test_the_federation_bodies() -> None:
    assert creds.id_token_request("jwt") == {"auth": {"id_token": {"id": "jwt"}}}
    body = creds.security_token_request("tok")
    assert body["auth"]["identity"] == {"methods": ["token"], "token": {"id": "tok", "duration_seconds": 21600}}
