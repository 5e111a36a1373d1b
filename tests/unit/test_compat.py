"""Version gates, the import guard and the generated Airflow 3.0/3.1 connection form.

These run in every environment of ``make matrix`` (one per Airflow minor), so each assertion that
depends on the Airflow release is written against the flags and checked there.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import airflow
import pytest
from packaging.version import Version

import airflow_provider_modelarts
from airflow_provider_modelarts import version_compat
from airflow_provider_modelarts.connection import form as connection_form
from airflow_provider_modelarts.connection.fields import CONN_FIELDS, CONN_TYPE
from airflow_provider_modelarts.get_provider_info import get_provider_info
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook


def _connection_type_info() -> dict[str, Any]:
    info: dict[str, Any] = get_provider_info()["connection-types"][0]
    return info


# ---------------------------------------------------------------- the environment under test


def test_matrix_runs_the_airflow_release_it_names() -> None:
    expected = os.environ.get("MODELARTS_EXPECT_AIRFLOW")
    if expected is None:
        pytest.skip("only in `make matrix`, which names each environment's Airflow release")
    assert airflow.__version__ == expected


def test_matrix_imports_the_installed_wheel_not_the_source_tree() -> None:
    if not os.environ.get("MODELARTS_EXPECT_INSTALLED_WHEEL"):
        pytest.skip("only in `make matrix`, which installs the built wheel")
    package_dir = Path(airflow_provider_modelarts.__file__).resolve().parent
    assert package_dir.parent == Path(sysconfig.get_paths()["purelib"]).resolve()


def test_version_flags_follow_the_running_airflow() -> None:
    running = Version(Version(airflow.__version__).base_version)
    assert (running.major, running.minor, running.micro) == version_compat.AIRFLOW_VERSION
    assert version_compat.AIRFLOW_V_3_1_PLUS is (running >= Version("3.1.0"))
    assert version_compat.AIRFLOW_V_3_2_PLUS is (running >= Version("3.2.0"))
    assert version_compat.AIRFLOW_V_3_3_PLUS is (running >= Version("3.3.0"))
    assert version_compat.AIRFLOW_V_3_4_PLUS is (running >= Version("3.4.0"))


# ---------------------------------------------------------------- import guard


def _import_package_with_airflow(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Execute the package's __init__.py afresh (as a throwaway module) while Airflow claims ``version``."""
    real_version = importlib.metadata.version

    def fake_version(distribution: str) -> str:
        if distribution in ("apache-airflow-core", "apache-airflow"):
            return version
        return real_version(distribution)

    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    spec = importlib.util.spec_from_file_location("_modelarts_guard_probe", airflow_provider_modelarts.__file__)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


@pytest.mark.parametrize("version", ["2.11.2", "2.10.5", "1.10.15"])
def test_import_below_the_floor_fails_with_one_clear_message(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuntimeError, match=r"needs Apache Airflow 3\.0\.0\+ \(this is Airflow " + version):
        _import_package_with_airflow(version, monkeypatch)


@pytest.mark.parametrize("version", ["3.0.0", "3.0.0rc1", "3.3.2", "3.4.0", "4.0.0.dev0"])
def test_import_at_or_above_the_floor_succeeds(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _import_package_with_airflow(version, monkeypatch)


def test_importing_the_package_does_not_import_airflow(tmp_path: Path) -> None:
    """The emulator's command line imports the package before it routes Airflow's stdout logging away."""
    script = "import sys, airflow_provider_modelarts; print('airflow' in sys.modules)"
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "False\n"


def test_declared_floor_matches_the_import_guard() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert f'"apache-airflow>={airflow_provider_modelarts.MIN_AIRFLOW_VERSION}",' in pyproject
    assert "apache-airflow>=3.0.0,<" not in pyproject


# ---------------------------------------------------------------- task_state_store


class FakeStore:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def test_task_state_store_is_used_from_airflow_3_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", True)
    store = FakeStore()
    with_store: Any = {"task_state_store": store}
    without_store: Any = {}
    assert version_compat.task_state_store(with_store) is store
    assert version_compat.task_state_store(without_store) is None


def test_task_state_store_is_never_used_below_airflow_3_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    context: Any = {"task_state_store": FakeStore()}
    assert version_compat.task_state_store(context) is None


def test_task_state_store_on_the_running_airflow() -> None:
    store = FakeStore()
    context: Any = {"task_state_store": store}
    found = version_compat.task_state_store(context)
    assert found is (store if version_compat.AIRFLOW_V_3_3_PLUS else None)


# ---------------------------------------------------------------- connection form below 3.2


def test_widgets_are_generated_from_conn_fields() -> None:
    from wtforms import PasswordField, StringField
    from wtforms.validators import AnyOf, Optional

    widgets = ModelArtsHook.get_connection_form_widgets()
    assert list(widgets) == list(CONN_FIELDS)
    for name, widget in widgets.items():
        spec = CONN_FIELDS[name]
        assert widget.args == (spec["label"],)
        assert widget.kwargs["description"] == spec["description"]
        expected_class = PasswordField if spec["schema"].get("format") == "password" else StringField
        assert widget.field_class is expected_class, name
        assert isinstance(widget.kwargs["validators"][0], Optional)
    assert widgets["security_token"].field_class is PasswordField
    enum = [v for v in widgets["auth_type"].kwargs["validators"] if isinstance(v, AnyOf)]
    assert len(enum) == 1 and list(enum[0].values) == ["aksk", "password", "metadata", "idp", "default_chain"]
    assert widgets["auth_type"].kwargs["default"] == "aksk"
    # wtforms has no float field that Airflow 3.0/3.1 accept: the timeout is text, parsed by the connection.
    assert widgets["timeout"].kwargs["default"] == "30"
    assert widgets["region"].kwargs["default"] is None


def test_field_behaviour_is_the_provider_info_in_legacy_keys() -> None:
    declared = _connection_type_info()["ui-field-behaviour"]
    behaviour = ModelArtsHook.get_ui_field_behaviour()
    assert behaviour == {
        "hidden_fields": declared["hidden-fields"],
        "relabeling": declared["relabeling"],
        "placeholders": declared["placeholders"],
    }
    behaviour["hidden_fields"].append("login")  # a copy: the declaration is not shared
    assert "login" not in _connection_type_info()["ui-field-behaviour"]["hidden-fields"]
    assert connection_form.ui_field_behaviour()["hidden_fields"] == declared["hidden-fields"]


def test_the_api_server_form_shows_the_modelarts_fields_on_this_airflow() -> None:
    """What the UI's connection form is built from (GET /ui/connections/hook_meta), on every release.

    Below 3.2 it comes from the hook's generated widgets (with Airflow's own wtforms stand-ins),
    from 3.2 from the declarative conn-fields: the user sees the same fields either way.
    """
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    HookMetaService.hook_meta_data.cache_clear()
    meta = {hook.connection_type: hook for hook in HookMetaService.hook_meta_data()}
    assert CONN_TYPE in meta, sorted(key for key in meta if key)
    modelarts = meta[CONN_TYPE]
    assert modelarts.hook_name == "Huawei Cloud ModelArts"
    extra = modelarts.extra_fields or {}
    assert sorted(extra) == sorted(CONN_FIELDS)
    for name, spec in CONN_FIELDS.items():
        assert extra[name]["schema"]["title"] == spec["label"], name
    assert extra["security_token"]["schema"].get("format") == "password"
    assert extra["auth_type"]["schema"].get("enum") == ["aksk", "password", "metadata", "idp", "default_chain"]
    # The cloud and log_api choices too. Checked here, not in a test of their own: Airflow 3.2's
    # HookMetaService cannot build the form twice in one process (its mocked flask_babel module has
    # no __spec__ the second time), so one test per process asks for it.
    assert extra["cloud"]["schema"].get("enum") == ["huaweicloud", "huaweicloud-eu", "otc", "hcs"]
    assert extra["log_api"]["schema"].get("enum") == ["aom", "preview", "auto"]
    assert "cloud_domain" in extra
    standard = modelarts.standard_fields
    assert standard is not None
    relabeling = _connection_type_info()["ui-field-behaviour"]["relabeling"]
    assert standard.login is not None and standard.login.title == relabeling["login"]
    assert standard.password is not None and standard.password.title == relabeling["password"]
    assert standard.host is not None and standard.host.hidden
    assert standard.port is not None and standard.port.hidden


def test_the_cloud_and_log_api_choices_are_drop_downs_below_3_2() -> None:
    from wtforms import StringField
    from wtforms.validators import AnyOf

    widgets = ModelArtsHook.get_connection_form_widgets()
    for name, values, default in (
        ("cloud", ["huaweicloud", "huaweicloud-eu", "otc", "hcs"], "huaweicloud"),
        ("log_api", ["aom", "preview", "auto"], "auto"),
    ):
        enum = [v for v in widgets[name].kwargs["validators"] if isinstance(v, AnyOf)]
        assert len(enum) == 1 and list(enum[0].values) == values, name
        assert widgets[name].kwargs["default"] == default
    assert widgets["cloud_domain"].field_class is StringField
    assert widgets["cloud_domain"].kwargs["default"] is None


# ---------------------------------------------------------------- no DeprecationWarning from this package


def test_no_deprecation_warning_from_this_package_on_this_airflow(tmp_path: Path) -> None:
    """Import every module and build the legacy form in a fresh interpreter, warnings from here as errors."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil, warnings
        warnings.filterwarnings("error", category=DeprecationWarning, module=r"airflow_provider_modelarts(\\..*)?$")
        import airflow_provider_modelarts
        prefix = "airflow_provider_modelarts."
        names = [m.name for m in pkgutil.walk_packages(airflow_provider_modelarts.__path__, prefix)]
        for name in names:
            importlib.import_module(name)
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
        ModelArtsHook.get_connection_form_widgets()
        ModelArtsHook.get_ui_field_behaviour()
        print("imported", len(names))
        """
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported" in result.stdout
