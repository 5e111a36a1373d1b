"""The package's rooms, enforced statically (AST over airflow_provider_modelarts/, nothing imported).

The rules (docs: the architecture review of issue 18, §4):

- nothing in the package imports the ``api`` compatibility facade (it is for DAG code only);
- no module is over :data:`MAX_LINES` lines;
- the package root holds only :data:`ROOT_FILES` and folders;
- a role folder (hooks, operators, sensors, triggers) imports no sibling role folder, except that
  operators, sensors and triggers may import hooks, and operators and sensors may import triggers
  (a deferrable task builds its trigger, as upstream providers' operators do);
- ``cloud/`` (what Huawei documents) imports none of the Airflow task rooms (hooks, operators,
  sensors, triggers, waiting).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import airflow_provider_modelarts

PACKAGE = airflow_provider_modelarts.__name__
ROOT = Path(airflow_provider_modelarts.__file__).parent
MAX_LINES = 600
ROOT_FILES = frozenset(
    {"__init__.py", "api.py", "exceptions.py", "get_provider_info.py", "links.py", "version_compat.py", "py.typed"}
)
ROLE_FOLDERS = ("hooks", "operators", "sensors", "triggers")
# Which role folder may import which other one.
ROLE_MAY_IMPORT: dict[str, frozenset[str]] = {
    "hooks": frozenset(),
    "operators": frozenset({"hooks", "triggers"}),
    "sensors": frozenset({"hooks", "triggers"}),
    "triggers": frozenset({"hooks"}),
}
TASK_ROOMS = ("hooks", "operators", "sensors", "triggers", "waiting")


def _modules() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py") if "__pycache__" not in path.parts)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _is_module(dotted: str) -> bool:
    if not dotted.startswith(PACKAGE + "."):
        return False
    rest = Path(*dotted.split(".")[1:])
    return (ROOT / rest).with_suffix(".py").is_file() or (ROOT / rest / "__init__.py").is_file()


def _imports(path: Path) -> Iterator[str]:
    """Every module of this package that ``path`` imports, at any depth (lazy imports too)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            yield source
            # ``from package import module`` imports that module.
            yield from (f"{source}.{a.name}" for a in node.names if _is_module(f"{source}.{a.name}"))


def _room(dotted: str) -> str | None:
    """The first folder under the package that a dotted module name is in (None: the root)."""
    parts = dotted.split(".")
    if len(parts) < 2 or not (ROOT / parts[1]).is_dir():
        return None
    return parts[1]


def _breaches() -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for path in _modules():
        module = _relative(path)
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES:
            found.add(("size", module, "lines"))
        own_room = path.relative_to(ROOT).parts[0] if len(path.relative_to(ROOT).parts) > 1 else None
        for imported in set(_imports(path)):
            room = _room(imported)
            if imported == f"{PACKAGE}.api" and module != "api.py":
                found.add(("facade", module, imported))
            if (
                own_room in ROLE_MAY_IMPORT
                and room in ROLE_FOLDERS
                and room not in {own_room, *ROLE_MAY_IMPORT[own_room]}
            ):
                found.add(("roles", module, imported))
            if own_room == "cloud" and room in TASK_ROOMS:
                found.add(("cloud", module, imported))
    for entry in ROOT.iterdir():
        if entry.is_file() and entry.name not in ROOT_FILES:
            found.add(("root", entry.name, "file"))
    return found


BREACHES = _breaches()


def _unexpected(rule: str) -> list[tuple[str, str, str]]:
    return sorted(breach for breach in BREACHES if breach[0] == rule)


def test_nothing_in_the_package_imports_the_api_facade() -> None:
    assert _unexpected("facade") == [], "import each name from where it lives (see api.py's docstring)"


def test_no_module_is_over_the_line_limit() -> None:
    assert _unexpected("size") == [], f"split modules over {MAX_LINES} lines by concern"


def test_the_package_root_holds_only_the_root_modules_and_folders() -> None:
    assert _unexpected("root") == [], f"the root holds {sorted(ROOT_FILES)} and folders; put the rest in a room"


def test_role_folders_import_no_sibling_role_folder_but_hooks() -> None:
    assert _unexpected("roles") == [], "shared task code goes to utils/ (e.g. utils/mixins.py), not a sibling role"


def test_cloud_imports_none_of_the_airflow_task_rooms() -> None:
    assert _unexpected("cloud") == [], f"cloud/ is what Huawei documents: it imports none of {TASK_ROOMS}"


def test_the_rules_see_the_package() -> None:
    # A walk that found nothing would pass every rule above.
    modules = {_relative(path) for path in _modules()}
    assert {"api.py", "cloud/v2/__init__.py", "hooks/modelarts.py"} <= modules
    assert f"{PACKAGE}.cloud.transport" in set(_imports(ROOT / "cloud" / "v2" / "errors.py"))
