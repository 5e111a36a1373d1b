"""The package's rooms, enforced statically (AST over airflow_provider_modelarts/, nothing imported).

The rules (docs: the architecture review of issue 18, §4):

- nothing in the package imports the ``api`` compatibility facade (it is for DAG code only);
- no module is over :data:`MAX_LINES` lines;
- the package root holds only :data:`ROOT_FILES` and folders;
- each room (and each root module) imports only the rooms :data:`MAY_IMPORT` lists for it, the
  table of docs/architecture.md: the imports point one way, from the Airflow glue down to what
  Huawei documents, and no role folder imports a sibling except that a deferrable operator or
  sensor builds its trigger (as upstream providers' operators do). ``utils/moved.py`` imports
  nothing of the package, so any module may use it.
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
_GROUND = frozenset({"__init__", "exceptions", "version_compat"})  # __init__: __version__
_TASK_GLUE = frozenset({"cloud", "connection", "hooks", "links", "triggers", "utils", "waiting", *_GROUND})
# Room (folder) or root module -> the rooms and root modules it may import.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "__init__": frozenset(),
    "exceptions": frozenset(),
    "version_compat": frozenset({"exceptions"}),
    "cloud": frozenset({"exceptions"}),
    "api": frozenset({"cloud", "exceptions"}),
    "connection": frozenset({"cloud", "exceptions"}),
    "get_provider_info": frozenset({"connection"}),
    "hooks": frozenset({"cloud", "connection", *_GROUND}),
    "links": frozenset({"hooks", "connection", "cloud", *_GROUND}),
    "waiting": frozenset({"cloud", "hooks", *_GROUND}),
    "utils": frozenset({"cloud", "connection", "hooks", *_GROUND}),
    "triggers": frozenset({"cloud", "connection", "hooks", "utils", "waiting", *_GROUND}),
    "operators": _TASK_GLUE,
    "sensors": _TASK_GLUE,
}
STANDALONE = f"{PACKAGE}.utils.moved"


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


def _room(dotted: str) -> str:
    """The folder under the package that a dotted module name is in, or its root module's name."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _breaches() -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for path in _modules():
        module = _relative(path)
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES:
            found.add(("size", module, "lines"))
        own_room = _room(_module_name(path))
        for imported in set(_imports(path)):
            room = _room(imported)
            if imported == f"{PACKAGE}.api" and module != "api.py":
                found.add(("facade", module, imported))
            if room != own_room and imported != STANDALONE and room not in MAY_IMPORT.get(own_room, frozenset()):
                found.add(("rooms", module, imported))
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


def test_each_room_imports_only_the_rooms_below_it() -> None:
    assert _unexpected("rooms") == [], (
        "imports point down (see MAY_IMPORT and docs/architecture.md); shared task code goes to utils/"
    )


def test_every_room_and_root_module_has_a_row_in_the_table() -> None:
    assert {_room(_module_name(path)) for path in _modules()} == set(MAY_IMPORT)


def test_the_table_has_no_cycle() -> None:
    done: set[str] = set()

    def visit(room: str, path: tuple[str, ...]) -> None:
        assert room not in path, f"cycle: {' -> '.join((*path, room))}"
        if room not in done:
            for below in MAY_IMPORT[room]:
                visit(below, (*path, room))
            done.add(room)

    for room in MAY_IMPORT:
        visit(room, ())


def test_the_rules_see_the_package() -> None:
    # A walk that found nothing would pass every rule above.
    modules = {_relative(path) for path in _modules()}
    assert {"api.py", "cloud/v2/__init__.py", "hooks/modelarts.py"} <= modules
    assert f"{PACKAGE}.cloud.transport" in set(_imports(ROOT / "cloud" / "v2" / "errors.py"))
