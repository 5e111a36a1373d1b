"""The temporary-credential auth types on the connection: what each needs, refuses and leaves out."""

from __future__ import annotations

import pytest

from airflow_provider_modelarts.connection.settings import settings_from_connection
from airflow_provider_modelarts.exceptions import ModelArtsConnectionConfigError

PROJECT = "0123456789abcdef0123456789abcdef"
REGION = {"region": "cn-north-4"}


def _refused(extra: dict[str, object], login: str | None = None, password: str | None = None) -> str:
    with pytest.raises(ModelArtsConnectionConfigError) as error:
        settings_from_connection("tmp", login, password, extra)
    return error.value.key


@pytest.mark.parametrize("auth_type", ["metadata", "idp", "default_chain"])
def test_project_id_may_be_left_out(auth_type: str) -> None:
    extra = {**REGION, "auth_type": auth_type}
    if auth_type == "idp":
        extra |= {"idp_id": "k8s", "id_token_file": "/var/run/secrets/tokens/oidc-token"}
    settings = settings_from_connection("tmp", None, None, extra)
    assert settings.project_id == "" and settings.temporary
    assert settings_from_connection("tmp", None, None, {**extra, "project_id": PROJECT}).project_id == PROJECT


def test_metadata_defaults_to_the_link_local_service() -> None:
    settings = settings_from_connection("tmp", None, None, {**REGION, "auth_type": "metadata"})
    assert settings.metadata_url == "http://169.254.169.254"
    assert settings.login == "" and settings.password == "" and settings.secrets == ()


@pytest.mark.parametrize(
    ("extra", "login", "password", "key"),
    [
        ({"auth_type": "metadata"}, "AK", None, "login"),
        ({"auth_type": "default_chain"}, None, "leftover-secret", "password"),
        ({"auth_type": "idp", "id_token_file": "/t"}, None, None, "idp_id"),
        ({"auth_type": "idp", "idp_id": "k8s"}, None, None, "id_token_file"),
        ({"auth_type": "idp", "idp_id": " ", "id_token_file": "/t"}, None, None, "idp_id"),
        ({"auth_type": "metadata", "idp_id": "k8s"}, None, None, "idp_id"),
        (
            {"auth_type": "idp", "idp_id": "k8s", "id_token_file": "/t", "metadata_url": "http://m"},
            None,
            None,
            "metadata_url",
        ),
        ({"auth_type": "metadata", "metadata_url": "169.254.169.254"}, None, None, "metadata_url"),
        ({"auth_type": "metadata", "security_token": "tok"}, None, None, "security_token"),
        ({"auth_type": "instance"}, None, None, "auth_type"),
    ],
)
def test_bad_temporary_connections_name_the_key(
    extra: dict[str, object], login: str | None, password: str | None, key: str
) -> None:
    assert _refused({**REGION, **extra}, login, password) == key


def test_a_leftover_secret_is_never_echoed() -> None:
    with pytest.raises(ModelArtsConnectionConfigError) as error:
        settings_from_connection("tmp", None, "leftover-secret", {**REGION, "auth_type": "metadata"})
    assert "leftover-secret" not in str(error.value)
    assert "auth_type metadata" in str(error.value) and "clear it" in str(error.value)


def test_aksk_and_password_still_need_a_project() -> None:
    assert _refused({**REGION}, "AK", "SK") == "project_id"
    assert _refused({**REGION, "auth_type": "password"}, "user", "pw") == "project_id"
