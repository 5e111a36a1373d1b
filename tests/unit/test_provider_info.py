"""Provider registration: the dict Airflow reads, its modules and classes, and clean imports."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib import metadata, resources
from pathlib import Path

import jsonschema

from airflow_provider_modelarts.get_provider_info import get_provider_info
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook


def test_provider_info_is_valid_against_airflows_own_schema() -> None:
    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_package_name_matches_the_distribution_and_entry_point() -> None:
    info = get_provider_info()
    assert info["package-name"] == metadata.distribution("airflow-provider-modelarts").metadata["Name"]
    points = [
        ep
        for ep in metadata.entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_modelarts")
    ]
    assert len(points) == 1 and points[0].load() is get_provider_info


def test_listed_modules_and_classes_import_and_agree_with_the_hook() -> None:
    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for link in info["extra-links"]:
        module, _, name = link.rpartition(".")
        assert getattr(importlib.import_module(module), name)().name.startswith("ModelArts ")
    (conn_type,) = info["connection-types"]
    module, _, name = conn_type["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(module), name) is ModelArtsHook
    assert conn_type["connection-type"] == ModelArtsHook.conn_type == "modelarts"
    assert conn_type["hook-name"] == ModelArtsHook.hook_name


def test_conn_fields_are_valid_against_the_provider_yaml_schema() -> None:
    """The runtime schema does not check conn-fields; the stricter provider.yaml schema does."""
    full = json.loads(resources.files("airflow").joinpath("provider.yaml.schema.json").read_text())
    connection_schema = full["properties"]["connection-types"]
    connection_schema = {**connection_schema, "definitions": full.get("definitions", {})}
    jsonschema.validate(get_provider_info()["connection-types"], connection_schema)


def test_importing_the_provider_emits_no_deprecation_warning() -> None:
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning);"
        "import airflow_provider_modelarts.operators.training_jobs, airflow_provider_modelarts.sensors.training_job,"
        "airflow_provider_modelarts.triggers.training_job, airflow_provider_modelarts.links"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_dag_side_imports_stay_light() -> None:
    """Importing the operators, the sensor and the trigger (what a DAG file does) loads neither the
    transport (requests, the hook), nor the emulator, TLS code or huaweicloudsdkcore."""
    code = (
        "import sys, airflow.sdk; before = set(sys.modules);"
        "import airflow_provider_modelarts.operators.training_jobs, airflow_provider_modelarts.sensors.training_job,"
        "airflow_provider_modelarts.triggers.training_job;"
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    added = set(result.stdout.split())
    assert "airflow_provider_modelarts.operators.training_jobs" in added
    heavy = (
        "requests",
        "urllib3",
        "tenacity",
        "cryptography",
        "huaweicloudsdkcore",
        "modelarts_emulator",
    )
    assert not {name for name in added if name.split(".")[0] in heavy or name.startswith(heavy)}
    assert "airflow_provider_modelarts.hooks.modelarts" not in added


def test_the_apache_licence_ships_at_the_root_and_is_declared() -> None:
    """hatchling copies a root LICENSE into the wheel's ``dist-info/licenses`` (checked with
    ``pip wheel`` and ``unzip -l``); the text must be the licence that pyproject declares."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text.splitlines()[1] and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert 'license = "Apache-2.0"' in (root / "pyproject.toml").read_text(encoding="utf-8").splitlines()
