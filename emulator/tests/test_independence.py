"""The emulator reads the documented API on its own: ``modelarts_emulator`` imports nothing of
``airflow_provider_modelarts``.

If the emulator imported the client's constants, parsers or signer, a misreading of the docs would
be shared by both sides and no test against the emulator could catch it. Two checks enforce the
rule: a static one over every module's source (``ast``), which also sees imports on paths no test
runs, and a dynamic one in a fresh interpreter, which sees what importing and running it loads.
Since the emulator is its own distribution, no module of the provider may be loaded at all.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROVIDER = "airflow_provider_modelarts"
EMULATOR = "modelarts_emulator"


def _emulator_modules() -> list[tuple[str, Path]]:
    """``(dotted name, file)`` of every module of the emulator package, found without importing it."""
    spec = importlib.util.find_spec(EMULATOR)
    assert spec is not None and spec.submodule_search_locations
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    modules = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append((".".join([EMULATOR, *parts]), path))
    return modules


def _package_of(module: str, is_package: bool) -> list[str]:
    """The package a relative import in ``module`` starts from, as a list of name parts."""
    parts = module.split(".")
    return parts if is_package else parts[:-1]


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Absolute names a ``from ... import ...`` reaches: ``pkg.name`` for each name (it may be a
    submodule), or the module itself for ``*``. Relative imports are resolved against ``module``."""
    if node.level:
        base = _package_of(module, is_package)
        climb = node.level - 1
        if climb >= len(base):
            raise ImportError(f"{module}: relative import climbs above the top-level package")
        base = base[: len(base) - climb]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    if any(alias.name == "*" for alias in node.names):
        return [origin]
    return [f"{origin}.{alias.name}" for alias in node.names]


def _dynamic_import_target(node: ast.Call) -> str | None:
    """The constant module name of ``importlib.import_module("...")`` or ``__import__("...")``."""
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """Provider modules that ``source`` (the code of ``module``) imports."""
    reached: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            reached.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            reached.extend(_resolve(node, module, is_package))
        elif isinstance(node, ast.Call):
            target = _dynamic_import_target(node)
            if target is not None:
                reached.append(target)
    return [name for name in reached if name == PROVIDER or name.startswith(f"{PROVIDER}.")]


# ---------------------------------------------------------------------------------------------
# The checker itself can fail
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from airflow_provider_modelarts import api", ["airflow_provider_modelarts.api"]),
        ("from airflow_provider_modelarts.api import JobStatus", ["airflow_provider_modelarts.api.JobStatus"]),
        ("import airflow_provider_modelarts.auth", ["airflow_provider_modelarts.auth"]),
        ("import airflow_provider_modelarts.hooks.modelarts as h", ["airflow_provider_modelarts.hooks.modelarts"]),
        (
            "def later():\n    from airflow_provider_modelarts.hooks import modelarts",
            ["airflow_provider_modelarts.hooks.modelarts"],
        ),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from airflow_provider_modelarts import auth",
            ["airflow_provider_modelarts.auth"],
        ),
        (
            "import importlib\nimportlib.import_module('airflow_provider_modelarts.api')",
            ["airflow_provider_modelarts.api"],
        ),
        ("__import__('airflow_provider_modelarts.auth')", ["airflow_provider_modelarts.auth"]),
        ("import airflow_provider_modelarts", ["airflow_provider_modelarts"]),
    ],
)
def test_checker_finds_client_imports(source: str, found: list[str]) -> None:
    assert forbidden_imports(source, f"{EMULATOR}.app") == found


@pytest.mark.parametrize(
    "source",
    [
        "from modelarts_emulator.v1 import spec",
        "from modelarts_emulator.signing import canonical_request",
        "import modelarts_emulator.v1.models",
        "from . import signing",
        "from .v1.spec import Status",
        "import hashlib, hmac, json",
        "from urllib.parse import quote",
        "import importlib\nimportlib.import_module('modelarts_emulator.server')",
    ],
)
def test_checker_accepts_emulator_and_standard_imports(source: str) -> None:
    assert forbidden_imports(source, f"{EMULATOR}.app") == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        # Relative imports stay inside the emulator: in a subpackage, ".." is modelarts_emulator.
        ("from ..connection import read_extra", []),
        ("from .. import auth", []),
        ("from ..api import *", []),
    ],
)
def test_relative_imports_cannot_reach_the_provider(source: str, found: list[str]) -> None:
    assert forbidden_imports(source, f"{EMULATOR}.v2.create") == found


def test_relative_imports_resolve_from_a_package_init() -> None:
    # In modelarts_emulator/__init__.py, "." is the emulator package itself; ".." is above the top.
    assert forbidden_imports("from . import config", EMULATOR, is_package=True) == []
    assert forbidden_imports("from .. import api", f"{EMULATOR}.v2", is_package=True) == []
    with pytest.raises(ImportError):
        forbidden_imports("from .. import api", EMULATOR, is_package=True)
    with pytest.raises(ImportError):
        forbidden_imports("from .... import x", f"{EMULATOR}.app")


# ---------------------------------------------------------------------------------------------
# The rule, on the real package
# ---------------------------------------------------------------------------------------------


def test_the_checker_sees_every_emulator_module() -> None:
    names = {name for name, _ in _emulator_modules()}
    # The modules that hold the documented API and the gateway must be among those scanned.
    assert {
        EMULATOR,
        f"{EMULATOR}.v1.spec",
        f"{EMULATOR}.v2.spec",
        f"{EMULATOR}.signing",
        f"{EMULATOR}.gateway",
        f"{EMULATOR}.app",
        f"{EMULATOR}.process",
    } <= names


@pytest.mark.parametrize(("module", "path"), _emulator_modules(), ids=lambda value: str(value).rsplit(".", 1)[-1])
def test_no_emulator_module_imports_the_client(module: str, path: Path) -> None:
    is_package = path.name == "__init__.py"
    assert forbidden_imports(path.read_text(encoding="utf-8"), module, is_package) == []


_FRESH_INTERPRETER = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys, urllib.error, urllib.request

    import modelarts_emulator as emulator

    for info in pkgutil.walk_packages(emulator.__path__, emulator.__name__ + "."):
        importlib.import_module(info.name)
    config = emulator.EmulatorConfig(job_count=3)
    # Serve a few requests too, so that imports made while running would also be seen.
    with emulator.ModelArtsEmulator(config) as server:
        body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": config.user_name, "password": config.password,
            "domain": {"name": config.domain_name}}}},
            "scope": {"project": {"id": config.project_id}}}}).encode()
        issued = urllib.request.urlopen(urllib.request.Request(
            server.url + "/v3/auth/tokens", data=body, headers={"Content-Type": "application/json"}))
        token = issued.headers["X-Subject-Token"]
        jobs = server.url + "/v1/" + config.project_id + "/training-jobs?per_page=2"
        listed = urllib.request.urlopen(urllib.request.Request(jobs, headers={"X-Auth-Token": token}))
        statuses = [issued.status, listed.status]
        try:
            urllib.request.urlopen(urllib.request.Request(jobs, headers={
                "Authorization": "SDK-HMAC-SHA256 Access=" + config.access_key
                + ", SignedHeaders=host;x-sdk-date, Signature=00",
                "X-Sdk-Date": "20240102T030405Z"}))
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    print(json.dumps({"statuses": statuses, "modules": sorted(sys.modules)}))
    """
)


def test_a_fresh_interpreter_running_the_emulator_loads_no_client_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_INTERPRETER], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["statuses"] == [201, 200, 401]  # it really served: IAM, token auth, a bad signature
    modules: list[str] = report["modules"]
    assert f"{EMULATOR}.v1.spec" in modules and f"{EMULATOR}.signing" in modules
    loaded_provider = [name for name in modules if name == PROVIDER or name.startswith(f"{PROVIDER}.")]
    assert loaded_provider == []
    # Nor does it need Airflow or the client's HTTP and time libraries.
    assert [name for name in modules if name.split(".")[0] in ("airflow", "requests", "pendulum")] == []
