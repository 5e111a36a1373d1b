"""Old import paths of modules that moved into a room, kept working with a deprecation warning.

Each old path is a placeholder module in ``sys.modules`` (the way Airflow's own
``airflow.utils.deprecation_tools.add_deprecated_classes`` keeps moved modules importable): the
first attribute read from it imports the new module, warns once per name with the new path, and
hands the attribute over. Nothing is imported until DAG code reads from an old path, so the
package's import stays as cheap as before.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Mapping
from typing import Any


class MovedModuleWarning(DeprecationWarning):
    """An import from a module path that moved; the message names the new path."""


class _MovedModule(types.ModuleType):
    """A placeholder at an old module path that forwards every attribute to the new module."""

    def __init__(self, old: str, new: tuple[str, ...]) -> None:
        super().__init__(old, f"Moved to {', '.join(new)}; this path warns and forwards.")
        self.__moved_to__ = new

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for target in self.__moved_to__:
            module = importlib.import_module(target)
            if hasattr(module, name):
                warnings.warn(
                    f"{self.__name__} moved to {target}: import {name} from there "
                    f"(the old path will be removed in the next major release)",
                    MovedModuleWarning,
                    stacklevel=2,
                )
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} (moved to {', '.join(self.__moved_to__)}) has no {name!r}")

    def __dir__(self) -> list[str]:
        return sorted({name for target in self.__moved_to__ for name in dir(importlib.import_module(target))})


def register_moved_modules(package: str, moves: Mapping[str, str | tuple[str, ...]]) -> None:
    """Make ``package.<old>`` importable for each ``old -> new`` (both relative to ``package``).

    :param package: the package's ``__name__``.
    :param moves: old module name at the package root -> its new dotted path under the package, or
        the paths it was split into (a name is looked up in them in order).
    """
    parent = sys.modules.get(package)
    if parent is None:  # the package's __init__ run under another name (a test of the Airflow floor)
        return
    for old, new in moves.items():
        old_path = f"{package}.{old}"
        if old_path not in sys.modules:
            targets = (new,) if isinstance(new, str) else new
            placeholder = _MovedModule(old_path, tuple(f"{package}.{target}" for target in targets))
            sys.modules[old_path] = placeholder
            setattr(parent, old, placeholder)
