"""Temporary credentials over real HTTP: the metadata service, IAM federation and the default
chain, as the emulator plays them; renewal before expiry and after a refusal; one cache per
connection and process; the project looked up once. Counts are read at the emulator."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator
from modelarts_emulator import config as emulator_config
from modelarts_emulator.federation import make_id_token

from airflow_provider_modelarts.exceptions import (
    ModelArtsCredentialsError,
    ModelArtsPermanentError,
    ModelArtsServerError,
)
from airflow_provider_modelarts.hooks import credentials
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

CONN_ID = "modelarts_temporary"
PROJECT = emulator_config.DEFAULT_PROJECT_ID
IDP = emulator_config.DEFAULT_IDP_ID


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test starts with no shared credentials, as a new worker process does."""
    credentials.forget_all()
    yield
    credentials.forget_all()


@pytest.fixture
def chain_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No HUAWEICLOUD_SDK_* variable and no profile file, unless a test sets them."""
    for name in (
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "HUAWEICLOUD_SDK_IDP_ID",
        "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", str(tmp_path / "no-such-profile"))
    return monkeypatch


def _connect(monkeypatch: pytest.MonkeyPatch, emu: ModelArtsEmulator, **extra: Any) -> ModelArtsHook:
    """Connection ``CONN_ID`` of a temporary-credential type (no login, no password, no project)."""
    connection = {
        "conn_type": "modelarts",
        "extra": {"region": emulator_config.DEFAULT_REGION, "endpoint": emu.url, "iam_endpoint": emu.url,
                  "timeout": 20, **extra},
    }  # fmt: skip
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    return ModelArtsHook(CONN_ID, retry_delay=0.01, retry_max_delay=0.05)


def _calls(emu: ModelArtsEmulator) -> dict[str, int]:
    return {name: count for name, count in emu.stats()["by_endpoint"].items() if count}


def _token_file(tmp_path: Path, **claims: Any) -> Path:
    path = tmp_path / "oidc-token"
    path.write_text(make_id_token(**claims))
    return path


def test_metadata_credentials_sign_requests_and_find_the_project(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued_before = len(emu.temporary_credentials())
    hook = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url)
    assert hook.list_training_jobs(per_page=1)["job_total_count"] > 0
    assert hook.settings.project_id == emulator_config.DEFAULT_PROJECT_ID
    assert _calls(emu) == {"metadata_token": 1, "metadata_securitykey": 1, "iam_projects": 1, "list_jobs": 1}
    issued = emu.temporary_credentials()[issued_before:]
    assert len(issued) == 1 and issued[0]["source"] == "metadata"
    ok, message = hook.test_connection()
    assert ok and "temporary credentials from the instance metadata service" in message


def test_a_metadata_service_without_session_tokens_is_used_without_one(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.set_credential_settings(metadata_session_token=False)
    hook = _connect(
        monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, project_id=emulator_config.DEFAULT_PROJECT_ID
    )
    hook.list_training_jobs(per_page=1)
    emu.expire_credentials()
    hook.list_training_jobs(per_page=1)  # refused as expired, renewed, sent again
    # The SDK asks for a session token again only a day later.
    assert _calls(emu) == {"metadata_token": 1, "metadata_securitykey": 2, "list_jobs": 3}
    assert emu.stats()["expired_credential_refusals"] == 1


def test_an_instance_without_an_agency_ends_the_task_without_a_request(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.set_credential_settings(metadata_agency=False)
    hook = _connect(
        monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, project_id=emulator_config.DEFAULT_PROJECT_ID
    )
    with pytest.raises(ModelArtsCredentialsError, match="no agency") as error:
        hook.list_training_jobs()
    assert isinstance(error.value, ModelArtsPermanentError)  # no task retries
    assert "list_jobs" not in _calls(emu) and _calls(emu)["metadata_securitykey"] == 1


def test_a_briefly_unavailable_metadata_service_is_retried(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.add_fault("status", count=2, path_contains="/openstack/latest/securitykey", status=503)
    hook = _connect(
        monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, project_id=emulator_config.DEFAULT_PROJECT_ID
    )
    hook.list_training_jobs(per_page=1)
    assert _calls(emu)["metadata_securitykey"] == 3


def test_off_the_cloud_the_metadata_type_says_so_at_once(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    hook = _connect(
        monkeypatch, emu, auth_type="metadata", metadata_url=closed, project_id=emulator_config.DEFAULT_PROJECT_ID
    )
    with pytest.raises(ModelArtsCredentialsError, match="does not seem to run on a Huawei Cloud ECS"):
        hook.list_training_jobs()
    assert emu.stats()["requests_total"] == 0


def test_credentials_are_renewed_before_they_expire(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emu.set_credential_settings(temporary_credential_seconds=2.0)
    hook = _connect(
        monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, project_id=emulator_config.DEFAULT_PROJECT_ID
    )
    hook.list_training_jobs(per_page=1)
    time.sleep(1.1)  # past half of their life: due
    hook.list_training_jobs(per_page=1)
    assert _calls(emu)["metadata_securitykey"] == 2 and emu.stats()["expired_credential_refusals"] == 0


def test_idp_federation_reads_the_rotated_token_file_at_each_renewal(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = _token_file(tmp_path, subject="system:serviceaccount:airflow:worker-1")
    hook = _connect(monkeypatch, emu, auth_type="idp", idp_id=IDP, id_token_file=str(token_file))
    hook.list_training_jobs(per_page=1)
    first = token_file.read_text()
    rotated = make_id_token(subject="system:serviceaccount:airflow:worker-2")
    token_file.write_text(rotated)
    emu.expire_credentials()
    hook.list_training_jobs(per_page=1)
    assert emu.stats()["secrets_seen"]["id_tokens"] == [first, rotated]
    assert _calls(emu) == {"iam_id_token": 2, "iam_securitytokens": 2, "iam_projects": 1, "list_jobs": 3}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"idp_id": "no-such-idp"}, "IAM refused the federation with identity provider 'no-such-idp'"),
        ({"expired": True}, "IAM refused the federation"),
        ({"missing_file": True}, "Cannot read the ID token file"),
    ],
)
def test_idp_refusals_end_the_task_with_what_to_check(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extra: dict[str, Any], message: str
) -> None:
    token_file = _token_file(tmp_path, expires_in=-60.0 if extra.get("expired") else 3600.0)
    path = str(token_file) + ("-missing" if extra.get("missing_file") else "")
    hook = _connect(monkeypatch, emu, auth_type="idp", idp_id=extra.get("idp_id", emulator_config.DEFAULT_IDP_ID),
                    id_token_file=path, project_id=PROJECT)  # fmt: skip
    with pytest.raises(ModelArtsCredentialsError, match=message) as error:
        hook.list_training_jobs()
    assert token_file.read_text() not in str(error.value)
    assert "list_jobs" not in _calls(emu)


def test_default_chain_takes_the_environment_first(
    emu: ModelArtsEmulator, chain_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chain_env.setenv("HUAWEICLOUD_SDK_AK", emulator_config.DEFAULT_ACCESS_KEY)
    chain_env.setenv("HUAWEICLOUD_SDK_SK", emulator_config.DEFAULT_SECRET_KEY)
    chain_env.setenv("HUAWEICLOUD_SDK_PROJECT_ID", emulator_config.DEFAULT_PROJECT_ID)
    hook = _connect(chain_env, emu, auth_type="default_chain", metadata_url=emu.url)
    hook.list_training_jobs(per_page=1)
    logged = capsys.readouterr().out
    assert "default_chain uses the environment (HUAWEICLOUD_SDK_*)" in logged
    assert emulator_config.DEFAULT_SECRET_KEY not in logged
    assert _calls(emu) == {"list_jobs": 1}  # no metadata call, no project lookup


def test_default_chain_reads_the_profile_file(
    emu: ModelArtsEmulator, chain_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = _token_file(tmp_path)
    profile = tmp_path / "credentials"
    profile.write_text(f"[basic]\nidp_id = {emulator_config.DEFAULT_IDP_ID}\nid_token_file = {token_file}\n")
    chain_env.setenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", str(profile))
    hook = _connect(chain_env, emu, auth_type="default_chain", metadata_url=emu.url)
    hook.list_training_jobs(per_page=1)
    logged = capsys.readouterr().out
    assert f"the profile file {profile} [basic]" in logged
    assert _calls(emu) == {"iam_id_token": 1, "iam_securitytokens": 1, "iam_projects": 1, "list_jobs": 1}


def test_default_chain_ends_at_the_metadata_service(
    emu: ModelArtsEmulator, chain_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = _connect(chain_env, emu, auth_type="default_chain", metadata_url=emu.url)
    hook.list_training_jobs(per_page=1)
    logged = capsys.readouterr().out
    assert f"default_chain uses the instance metadata service at {emu.url}" in logged
    assert _calls(emu)["metadata_securitykey"] == 1


def test_one_cache_and_one_project_lookup_per_connection_and_process(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = [_connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url) for _ in range(3)]
    for hook in hooks:
        hook.list_training_jobs(per_page=1)
    assert _calls(emu) == {"metadata_token": 1, "metadata_securitykey": 1, "iam_projects": 1, "list_jobs": 3}


def test_secrets_are_masked_and_not_in_errors(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url)
    hook.list_training_jobs(per_page=1)
    shared = hook.temporary_credentials.cache.current_item()
    assert shared is not None
    assert shared.secret_key not in repr(shared) and shared.security_token not in repr(hook.session.auth)
    assert set(shared.secrets) <= set(hook._secrets())


def test_default_chain_off_the_cloud_says_what_it_looked_for(
    emu: ModelArtsEmulator, chain_env: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    hook = _connect(chain_env, emu, auth_type="default_chain", metadata_url=closed, project_id=PROJECT)
    with pytest.raises(ModelArtsCredentialsError) as error:
        hook.list_training_jobs()
    message = str(error.value)
    assert "default_chain found no HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK" in message
    assert "no usable profile file at" in message and "does not seem to run on a Huawei Cloud ECS" in message
    assert emu.stats()["requests_total"] == 0


def test_a_metadata_service_busy_for_session_tokens_is_used_without_one(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK treats a 503 to the token request like a service without session tokens.
    emu.set_credential_settings(metadata_session_token=False)
    emu.add_fault("status", count=1, path_contains="/meta-data/latest/api/token", status=503)
    hook = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, project_id=PROJECT)
    hook.list_training_jobs(per_page=1)
    assert _calls(emu) == {"metadata_token": 1, "metadata_securitykey": 1, "list_jobs": 1}


def test_an_edited_region_looks_the_project_up_again(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url)
    hook.list_training_jobs(per_page=1)
    edited = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, region="ap-southeast-3")
    with pytest.raises(ModelArtsCredentialsError, match="no project named 'ap-southeast-3'"):
        edited.list_training_jobs(per_page=1)
    assert _calls(emu)["iam_projects"] == 2


def test_an_edited_connection_renews_through_its_own_settings(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials of the old settings are not reused, and the new ones are obtained with the new
    settings (here a timeout), not through the first hook that ever used the connection."""
    old = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, project_id=PROJECT)
    old.list_training_jobs(per_page=1)
    new = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, project_id=PROJECT, timeout=7)
    new.list_training_jobs(per_page=1)
    assert new.temporary_credentials is not old.temporary_credentials
    assert new.temporary_credentials.hook is new and _calls(emu)["metadata_securitykey"] == 2


def test_a_failed_project_lookup_after_an_edit_is_tried_again(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived hook (a triggerer's poller) whose refresh meets an IAM outage keeps its old
    settings and tries again at the next refresh, signed with the new settings' credentials."""
    hook = _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url)
    hook.list_training_jobs(per_page=1)
    _connect(monkeypatch, emu, auth_type="metadata", metadata_url=emu.url, timeout=30)  # the edit
    emu.add_fault("status", count=6, path_contains="/v3/projects", status=503)
    with pytest.raises(ModelArtsServerError):
        hook.refresh_connection()
    assert hook.settings.timeout == 20 and hook.settings.project_id == PROJECT  # the old settings, intact
    emu.clear_faults()
    assert hook.refresh_connection() is True
    assert hook.settings.timeout == 30 and hook.settings.project_id == PROJECT
    hook.list_training_jobs(per_page=1)
    assert emu.stats()["requests"][-1]["path"] == f"/v1/{PROJECT}/training-jobs"
