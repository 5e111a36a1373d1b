"""A connection that names its server with host, port and schema (the JSON fields, or the host part of
a URI) reaches that server over real HTTP, instead of falling back to the public cloud."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from modelarts_emulator import ModelArtsEmulator
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.conftest import api_requests

CONN_ID = "modelarts_by_host"
ENV = f"AIRFLOW_CONN_{CONN_ID.upper()}"
EXTRA = f"region={emulator_config.DEFAULT_REGION}&project_id={emulator_config.DEFAULT_PROJECT_ID}&timeout=5"


@pytest.fixture
def by_host(emu: ModelArtsEmulator) -> Iterator[ModelArtsHook]:
    hook = ModelArtsHook(CONN_ID, retry_limit=0)
    yield hook
    hook.close()


def _address(emu: ModelArtsEmulator) -> tuple[str, int]:
    parts = urlsplit(emu.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _aksk() -> str:
    return f"{quote(emulator_config.DEFAULT_ACCESS_KEY, safe='')}:{quote(emulator_config.DEFAULT_SECRET_KEY, safe='')}"


def test_json_connection_with_host_port_and_schema(
    emu: ModelArtsEmulator, by_host: ModelArtsHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = _address(emu)
    connection = {
        "conn_type": "modelarts",
        "login": emulator_config.DEFAULT_ACCESS_KEY,
        "password": emulator_config.DEFAULT_SECRET_KEY,
        "host": host,
        "port": port,
        "schema": "http",
        "extra": {"region": emulator_config.DEFAULT_REGION, "project_id": emulator_config.DEFAULT_PROJECT_ID},
    }
    monkeypatch.setenv(ENV, json.dumps(connection))
    assert by_host.list_training_jobs(per_page=1, page=1)["is_success"] is True
    assert by_host.settings.endpoint == emu.url
    assert api_requests(emu) == 1


@pytest.mark.parametrize("form", ["schema in the path", "scheme in the host"])
def test_uri_connection_with_the_host_part(
    form: str, emu: ModelArtsEmulator, by_host: ModelArtsHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = _address(emu)
    if form == "schema in the path":
        uri = f"modelarts://{_aksk()}@{host}:{port}/http?{EXTRA}"
    else:
        uri = f"modelarts://http://{_aksk()}@{host}:{port}/?{EXTRA}"
    monkeypatch.setenv(ENV, uri)
    assert len(by_host.list_training_jobs(per_page=3, page=1)["jobs"]) == 3
    assert by_host.settings.endpoint == emu.url
    assert api_requests(emu) == 1


def test_uri_connection_with_password_auth_takes_iam_from_its_own_extra(
    emu: ModelArtsEmulator, by_host: ModelArtsHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host is the ModelArts endpoint only: IAM is another service, named by ``iam_endpoint``."""
    host, port = _address(emu)
    login = f"{quote(emulator_config.DEFAULT_USER_NAME, safe='')}:{quote(emulator_config.DEFAULT_PASSWORD, safe='')}"
    iam = quote(emu.url, safe="")
    monkeypatch.setenv(ENV, f"modelarts://{login}@{host}:{port}/http?{EXTRA}&auth_type=password&iam_endpoint={iam}")
    assert by_host.list_training_jobs(per_page=1, page=1)["is_success"] is True
    assert api_requests(emu) == 2  # the IAM token, then the list
