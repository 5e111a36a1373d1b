"""Reading the Airflow connection: JSON and URI forms, legacy keys, coercion, clear errors."""

from __future__ import annotations

import json
import logging

import pytest
from airflow.sdk import Connection

from airflow_provider_modelarts.cloud import endpoints
from airflow_provider_modelarts.connection.settings import CONN_FIELDS, settings_from_connection
from airflow_provider_modelarts.exceptions import ModelArtsConnectionConfigError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

PROJECT = "0123456789abcdef0123456789abcdef"


def _settings(extra: dict[str, object], login: str | None = "AK", password: str | None = "SK-SECRET-VALUE"):
    return settings_from_connection("my_conn", login, password, extra)


def test_defaults_follow_the_region() -> None:
    settings = _settings({"region": "cn-north-4", "project_id": PROJECT})
    assert settings.auth_type == "aksk"
    assert settings.endpoint == "https://modelarts.cn-north-4.myhuaweicloud.com"
    assert settings.iam_endpoint == "https://iam.cn-north-4.myhuaweicloud.com"
    assert settings.verify is True and settings.timeout == 30.0 and settings.workspace_id is None
    assert "SK-SECRET-VALUE" not in repr(settings)


def test_uri_connection_strings_are_coerced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELARTS_URI",
        f"modelarts://AKID:secret%2Fkey@/?region=ap-southeast-1&project_id={PROJECT}&timeout=12.5&verify=false"
        "&endpoint=http%3A%2F%2F127.0.0.1%3A9000&auth_type=aksk&workspace_id=ws1",
    )
    settings = ModelArtsHook("modelarts_uri").settings
    assert settings.timeout == 12.5 and settings.verify is False
    assert settings.endpoint == "http://127.0.0.1:9000" and settings.password == "secret/key"
    assert settings.workspace_id == "ws1"


def test_json_connection_with_legacy_prefixed_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {
        "conn_type": "modelarts",
        "login": "user",
        "password": "pw",
        "extra": {
            "extra__modelarts__region": "cn-north-4",
            "extra__modelarts__project_id": PROJECT,
            "extra__modelarts__auth_type": "password",
            "extra__modelarts__domain_name": "account",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_JSON", json.dumps(conn))
    settings = ModelArtsHook("modelarts_json", region="cn-south-1").settings
    assert settings.auth_type == "password" and settings.domain_name == "account"
    assert settings.region == "cn-south-1"


def test_hook_constructor_does_no_io() -> None:
    hook = ModelArtsHook("does_not_exist")
    assert "settings" not in hook.__dict__ and "session" not in hook.__dict__


@pytest.mark.parametrize(
    ("extra", "login", "password", "key"),
    [
        ({"project_id": PROJECT}, "AK", "SK-VAL", "region"),
        ({"region": "cn-north-4"}, "AK", "SK-VAL", "project_id"),
        ({"region": "north", "project_id": PROJECT}, "AK", "SK-VAL", "region"),
        ({"region": "cn-north-4", "project_id": "a/b"}, "AK", "SK-VAL", "project_id"),
        ({"region": "cn-north-4", "project_id": PROJECT, "auth_type": "oauth"}, "AK", "SK-VAL", "auth_type"),
        (
            {"region": "cn-north-4", "project_id": PROJECT, "endpoint": "modelarts.example"},
            "AK",
            "SK-VAL",
            "endpoint",
        ),
        ({"region": "cn-north-4", "project_id": PROJECT, "endpoint": "http://h:99999"}, "AK", "SK-VAL", "endpoint"),
        ({"region": "cn-north-4", "project_id": PROJECT, "timeout": "soon"}, "AK", "SK-VAL", "timeout"),
        ({"region": "cn-north-4", "project_id": PROJECT, "timeout": -1}, "AK", "SK-VAL", "timeout"),
        ({"region": "cn-north-4", "project_id": PROJECT, "verify": 5}, "AK", "SK-VAL", "verify"),
        ({"region": "cn-north-4", "project_id": PROJECT, "auth_type": "password"}, "user", None, "password"),
        ({"region": "cn-north-4", "project_id": PROJECT}, None, "SK-VAL", "login"),
        (
            {"region": "cn-north-4", "project_id": PROJECT, "auth_type": "password", "security_token": "t0ken"},
            "user",
            "pw",
            "security_token",
        ),
    ],
)
def test_bad_connections_name_the_connection_and_the_key(
    extra: dict[str, object], login: str | None, password: str | None, key: str
) -> None:
    with pytest.raises(ModelArtsConnectionConfigError) as error:
        settings_from_connection("my_conn", login, password, extra)
    assert error.value.key == key
    assert "'my_conn'" in str(error.value) and repr(key) in str(error.value)
    if password and len(password) > 2:
        assert password not in str(error.value)


def test_every_conn_field_is_read_and_nothing_else() -> None:
    """One source of truth: a value in each declared field changes the settings."""
    base = {"region": "cn-north-4", "project_id": PROJECT}
    reference = _settings(base)
    changed = {
        "auth_type": "password",
        "domain_name": "acct",
        "endpoint": "http://127.0.0.1:1",
        "iam_endpoint": "http://127.0.0.1:2",
        "workspace_id": "ws",
        "verify": "false",
        "timeout": 5,
        "console_url": "https://console.example/{region}",
        "cloud": "otc",
        "log_api": "preview",
    }
    paired = ("security_token", "cloud_domain", "metadata_url", "idp_id", "id_token_file")
    for key in CONN_FIELDS:
        if key in base or key in paired:
            continue
        assert _settings({**base, key: changed[key]}) != reference, key
    assert _settings({**base, "security_token": "tok-value"}).security_token == "tok-value"
    # cloud_domain goes with cloud hcs only, metadata_url with metadata, the IdP fields with idp.
    assert _settings({**base, "cloud": "hcs", "cloud_domain": "example.com"}).cloud_domain == "example.com"
    metadata = settings_from_connection(
        "c", None, None, {**base, "auth_type": "metadata", "metadata_url": "http://m:1"}
    )
    assert metadata.metadata_url == "http://m:1"
    idp = {**base, "auth_type": "idp", "idp_id": "k8s", "id_token_file": "/t"}
    assert (
        settings_from_connection("c", None, None, idp).idp_id,
        settings_from_connection("c", None, None, idp).id_token_file,
    ) == ("k8s", "/t")
    assert set(changed) | set(base) | set(paired) == set(CONN_FIELDS)


def test_connection_object_round_trip() -> None:
    conn = Connection(
        conn_id="c",
        conn_type="modelarts",
        login="AK",
        password="SK",
        extra=json.dumps({"region": "cn-north-4", "project_id": PROJECT}),
    )
    hook = ModelArtsHook("c")
    assert hook.configure(conn).project_id == PROJECT


class _RecordingExtra(dict[str, object]):
    """The connection's extra, noting every key the hook looks up."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.read: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> object:
        self.read.add(key)
        return super().__getitem__(key)


def test_every_key_the_hook_reads_is_a_conn_field() -> None:
    extra = _RecordingExtra(region="cn-north-4", project_id=PROJECT)
    settings_from_connection("c", "AK", "SK-VALUE", extra)
    legacy = {f"extra__modelarts__{name}" for name in CONN_FIELDS}
    assert extra.read and extra.read <= set(CONN_FIELDS) | legacy
    assert {key for key in extra.read if key in CONN_FIELDS} == set(CONN_FIELDS)


# ---------------------------------------------------------------- unknown extra keys: warned, not refused

BASE = {"region": "cn-north-4", "project_id": PROJECT}
WARNING_LOGGER = "airflow_provider_modelarts.connection.settings"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WARNING_LOGGER and r.levelno == logging.WARNING]


def test_an_unknown_extra_key_warns_naming_the_nearest_known_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=WARNING_LOGGER):
        settings = _settings({**BASE, "projectid": "x", "verfy": "false"})
    assert settings.project_id == PROJECT and settings.verify is True
    assert _warnings(caplog) == [
        "Connection 'my_conn': ignoring extra key 'projectid', which is not a ModelArts connection field; "
        "did you mean 'project_id'?",
        "Connection 'my_conn': ignoring extra key 'verfy', which is not a ModelArts connection field; "
        "did you mean 'verify'?",
    ]


def test_a_key_from_a_later_version_warns_and_lists_the_known_keys(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=WARNING_LOGGER):
        _settings({**BASE, "extra__modelarts__api_version": "v2", "_private_tool_key": 1})
    assert _warnings(caplog) == [
        "Connection 'my_conn': ignoring extra key 'extra__modelarts__api_version', which is not a ModelArts "
        "connection field; known keys: " + ", ".join(CONN_FIELDS)
    ]


def test_known_keys_plain_or_legacy_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=WARNING_LOGGER):
        settings = _settings({"extra__modelarts__region": "cn-north-4", "project_id": PROJECT, "timeout": 7})
    assert settings.region == "cn-north-4" and settings.timeout == 7.0
    assert _warnings(caplog) == []


# ---------------------------------------------------------------- host, port and schema as the endpoint


def _with_host(
    extra: dict[str, object] | None = None,
    host: str | None = None,
    port: int | str | None = None,
    schema: str | None = None,
):
    return settings_from_connection(
        "my_conn", "AK", "SK-SECRET-VALUE", {**BASE, **(extra or {})}, host=host, port=port, schema=schema
    )


@pytest.mark.parametrize(
    ("host", "port", "schema", "endpoint"),
    [
        ("127.0.0.1", 8089, "http", "http://127.0.0.1:8089"),
        ("modelarts.example.com", None, None, "https://modelarts.example.com"),
        ("Modelarts.Example.com", "8443", "HTTPS", "https://modelarts.example.com:8443"),
        ("127.0.0.1:8089", None, "http", "http://127.0.0.1:8089"),
        ("http://127.0.0.1", 8089, "", "http://127.0.0.1:8089"),
        ("::1", 8089, "http", "http://[::1]:8089"),
        ("modelarts.example.com", 0, "", "https://modelarts.example.com"),
    ],
)
def test_host_port_and_schema_give_the_endpoint_when_the_extra_is_unset(
    host: str, port: int | str | None, schema: str | None, endpoint: str
) -> None:
    settings = _with_host(host=host, port=port, schema=schema)
    assert settings.endpoint == endpoint
    assert settings.iam_endpoint == "https://iam.cn-north-4.myhuaweicloud.com"


def test_the_endpoint_taken_from_host_is_logged_with_the_assumed_scheme(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=WARNING_LOGGER):
        _with_host(host="10.0.0.5", port=8089)
        _with_host(host="10.0.0.5", port=8089, schema="http")
    assert [r.getMessage() for r in caplog.records if r.name == WARNING_LOGGER] == [
        "Connection 'my_conn': ModelArts endpoint https://10.0.0.5:8089, from the connection's host "
        "(no schema given, so https; set schema to http for a plain-HTTP server)",
        "Connection 'my_conn': ModelArts endpoint http://10.0.0.5:8089, from the connection's host",
    ]


def test_host_fields_that_repeat_the_endpoint_extra_are_accepted() -> None:
    extra = {"endpoint": "https://modelarts.example.com/"}
    assert _with_host(extra, host="MODELARTS.example.com").endpoint == "https://modelarts.example.com"
    assert _with_host(extra, host="modelarts.example.com", port=443, schema="https").endpoint == (
        "https://modelarts.example.com"
    )
    assert _with_host({"endpoint": "http://127.0.0.1:8089"}, port=8089, schema="http").endpoint == (
        "http://127.0.0.1:8089"
    )


@pytest.mark.parametrize(
    ("host", "port", "schema", "key", "written"),
    [
        ("127.0.0.1", None, None, "host", "'127.0.0.1'"),
        ("modelarts.example.com", 8443, None, "port", "'8443'"),
        ("modelarts.example.com", None, "http", "schema", "'http'"),
        (None, 8089, None, "port", "'8089'"),
    ],
)
def test_host_fields_that_contradict_the_endpoint_extra_are_refused_naming_both(
    host: str | None, port: int | None, schema: str | None, key: str, written: str
) -> None:
    with pytest.raises(ModelArtsConnectionConfigError) as error:
        _with_host({"endpoint": "https://modelarts.example.com"}, host=host, port=port, schema=schema)
    assert error.value.key == key
    assert str(error.value) == (
        f"Connection 'my_conn': {key!r} ({written}) and the 'endpoint' extra ('https://modelarts.example.com') "
        "name different servers: keep one of them (the connection form sets 'endpoint'; clear host, port and "
        "schema, or make them match it). Fix the connection (Admin > Connections, or its AIRFLOW_CONN_ variable "
        "or secrets backend)"
    )


@pytest.mark.parametrize(
    ("host", "port", "schema", "key", "problem"),
    [
        (None, 8089, "http", "port", "is set but the connection has no host"),
        ("", None, "http", "schema", "is set but the connection has no host"),
        ("h.example", None, "postgres", "schema", "must be http or https"),
        ("h.example", 70000, None, "port", "must be a port from 1 to 65535, got 70000"),
        ("h.example", "http", None, "port", "must be a port from 1 to 65535, got 'http'"),
        ("ftp://h.example", None, None, "host", "must be a host name, or an http(s) URL"),
        ("https://h.example", None, "http", "host", "says https but 'schema' says http"),
        ("h.example:8089", 8090, None, "port", "(8090) and the port in 'host' ('h.example:8089') differ"),
        ("h.example/modelarts", None, None, "host", "must be a host name such as modelarts.example.com"),
        ("AK:SK-SECRET-VALUE@h.example", None, None, "host", "must be a host name only"),
        ("https://AK:SK-SECRET-VALUE@h.example", None, None, "host", "must be a host name only"),
    ],
)
def test_bad_host_port_or_schema_is_refused_naming_the_field(
    host: str | None, port: int | str | None, schema: str | None, key: str, problem: str
) -> None:
    with pytest.raises(ModelArtsConnectionConfigError) as error:
        _with_host(host=host, port=port, schema=schema)
    assert error.value.key == key and problem in str(error.value)
    assert "SK-SECRET-VALUE" not in str(error.value)


def test_the_hook_reads_the_host_of_a_uri_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELARTS_HOSTED",
        f"modelarts://AKID:secret@10.1.2.3:8089/http?region=cn-north-4&project_id={PROJECT}",
    )
    assert ModelArtsHook("modelarts_hosted").settings.endpoint == "http://10.1.2.3:8089"


def test_the_hook_reads_host_port_and_schema_of_a_json_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "modelarts", "login": "AK", "password": "SK", "host": "10.1.2.3", "port": 8443, "extra": BASE}
    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_HOSTED", json.dumps(conn))
    assert ModelArtsHook("modelarts_hosted").settings.endpoint == "https://10.1.2.3:8443"


# ---------------------------------------------------------------- clouds, regions and the log API (issue 17)


def test_ap_southeast_1_uses_the_sdks_cn_host_and_iam_stays_com() -> None:
    settings = _settings({"region": "ap-southeast-1", "project_id": PROJECT})
    assert settings.endpoint == "https://modelarts.ap-southeast-1.myhuaweicloud.cn"
    assert settings.iam_endpoint == "https://iam.ap-southeast-1.myhuaweicloud.com"
    assert settings.cloud == "huaweicloud" and settings.cloud_domain is None


def test_the_region_table_is_the_official_sdks() -> None:
    region_module = pytest.importorskip("huaweicloudsdkmodelarts.v1.region.modelarts_region")
    sdk = {region_id: region.endpoints[0] for region_id, region in region_module.ModelArtsRegion.static_fields.items()}
    assert dict(endpoints.MODELARTS_REGION_ENDPOINTS) == sdk
    for region_id, endpoint in sdk.items():
        assert _settings({"region": region_id, "project_id": PROJECT}).endpoint == endpoint


def test_a_region_outside_the_table_follows_the_com_pattern() -> None:
    settings = _settings({"region": "ru-moscow-1", "project_id": PROJECT})
    assert settings.endpoint == "https://modelarts.ru-moscow-1.myhuaweicloud.com"


@pytest.mark.parametrize(
    ("extra", "endpoint", "iam"),
    [
        (
            {"cloud": "huaweicloud", "region": "cn-north-4"},
            "modelarts.cn-north-4.myhuaweicloud.com",
            "iam.cn-north-4.myhuaweicloud.com",
        ),
        (
            {"cloud": "huaweicloud-eu", "region": "eu-west-101"},
            "modelarts.eu-west-101.myhuaweicloud.eu",
            "iam.eu-west-101.myhuaweicloud.eu",
        ),
        ({"cloud": "otc", "region": "eu-de"}, "modelarts.eu-de.otc.t-systems.com", "iam.eu-de.otc.t-systems.com"),
        ({"cloud": " OTC ", "region": "eu-nl"}, "modelarts.eu-nl.otc.t-systems.com", "iam.eu-nl.otc.t-systems.com"),
        (
            {"cloud": "hcs", "cloud_domain": "cloud.example.com", "region": "cn-site-1"},
            "modelarts.cn-site-1.cloud.example.com",
            "iam.cn-site-1.cloud.example.com",
        ),
        (
            {"cloud": "hcs", "cloud_domain": ".Example.COM.", "region": "ap-southeast-1"},
            "modelarts.ap-southeast-1.example.com",
            "iam.ap-southeast-1.example.com",
        ),
        (
            {"extra__modelarts__cloud": "otc", "region": "eu-de"},
            "modelarts.eu-de.otc.t-systems.com",
            "iam.eu-de.otc.t-systems.com",
        ),
    ],
)
def test_each_cloud_builds_its_modelarts_and_iam_endpoints(extra: dict[str, object], endpoint: str, iam: str) -> None:
    settings = _settings({**extra, "project_id": PROJECT})
    assert (settings.endpoint, settings.iam_endpoint) == (f"https://{endpoint}", f"https://{iam}")


def test_the_endpoint_extras_override_the_cloud() -> None:
    settings = _settings(
        {
            "region": "eu-de",
            "project_id": PROJECT,
            "cloud": "otc",
            "endpoint": "https://modelarts.private.example:8443",
            "iam_endpoint": "https://iam.private.example",
        }
    )
    assert settings.endpoint == "https://modelarts.private.example:8443"
    assert settings.iam_endpoint == "https://iam.private.example"
    assert settings.cloud == "otc"


def test_the_host_field_still_overrides_the_cloud() -> None:
    settings = settings_from_connection(
        "my_conn", "AK", "SK", {"region": "eu-de", "project_id": PROJECT, "cloud": "otc"}, host="modelarts.vpc.example"
    )
    assert settings.endpoint == "https://modelarts.vpc.example"


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"cloud": "aws"}, "cloud", "huaweicloud, huaweicloud-eu, otc, hcs"),
        ({"cloud": 1}, "cloud", "huaweicloud, huaweicloud-eu, otc, hcs"),
        ({"cloud": "hcs"}, "cloud_domain", "is required with cloud hcs"),
        ({"cloud": "hcs", "cloud_domain": "https://example.com"}, "cloud_domain", "a domain name such as example.com"),
        ({"cloud": "hcs", "cloud_domain": "example.com/x"}, "cloud_domain", "a domain name such as example.com"),
        ({"cloud_domain": "example.com"}, "cloud_domain", "only used with cloud hcs"),
        ({"cloud": "otc", "cloud_domain": "example.com"}, "cloud_domain", "only used with cloud hcs"),
        ({"log_api": "logs"}, "log_api", "aom, preview, auto"),
        ({"log_api": True}, "log_api", "aom, preview, auto"),
    ],
)
def test_a_bad_cloud_or_log_api_is_a_configuration_error_naming_the_extra(
    extra: dict[str, object], key: str, says: str
) -> None:
    with pytest.raises(ModelArtsConnectionConfigError) as error:
        _settings({"region": "cn-north-4", "project_id": PROJECT, **extra})
    assert error.value.key == key
    assert says in str(error.value) and repr(key) in str(error.value)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "auto"), ("aom", "aom"), (" Preview ", "preview"), ("AUTO", "auto")]
)
def test_log_api_is_read_and_exposed_on_the_settings(value: str | None, expected: str) -> None:
    extra: dict[str, object] = {"region": "cn-north-4", "project_id": PROJECT}
    if value is not None:
        extra["log_api"] = value
    assert _settings(extra).log_api == expected


def test_log_api_is_a_declared_field_with_its_three_values() -> None:
    schema = CONN_FIELDS["log_api"]["schema"]
    assert schema["enum"] == ["aom", "preview", "auto"] and schema["default"] == "auto"
    assert CONN_FIELDS["cloud"]["schema"]["enum"] == ["huaweicloud", "huaweicloud-eu", "otc", "hcs"]
    assert CONN_FIELDS["cloud"]["schema"]["default"] == "huaweicloud"


def test_the_hook_settings_carry_cloud_and_log_api(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {
        "conn_type": "modelarts",
        "login": "AK",
        "password": "SK",
        "extra": {"region": "eu-west-101", "project_id": PROJECT, "cloud": "huaweicloud-eu", "log_api": "preview"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_EU", json.dumps(conn))
    settings = ModelArtsHook("modelarts_eu").settings
    assert settings.endpoint == "https://modelarts.eu-west-101.myhuaweicloud.eu"
    assert settings.log_api == "preview" and settings.cloud == "huaweicloud-eu"


def test_a_cloud_stack_site_may_name_its_region_as_it_likes() -> None:
    """A region id is a DNS label (it goes into host names); Huawei Cloud Stack sites choose their own."""
    settings = _settings(
        {"cloud": "hcs", "cloud_domain": "cloud.example.com", "region": "region1", "project_id": PROJECT}
    )
    assert settings.endpoint == "https://modelarts.region1.cloud.example.com"
