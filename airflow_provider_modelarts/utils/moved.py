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
    """A placeholder at an old module path that forwards every attribute to the new module.

    Reads, writes and deletes all reach the new module, so ``mock.patch("<old path>.name")`` and
    ``monkeypatch.setattr`` patch the object the code really uses, as they did before the move.
    """

    def __init__(self, old: str, new: tuple[str, ...], hint: str = "") -> None:
        super().__init__(old, f"Moved to {', '.join(new)}; this path warns and forwards.")
        object.__setattr__(self, "__moved_to__", new)
        object.__setattr__(self, "__moved_hint__", hint)
        # Originals of names set through this path, so that deleting one (how pytest's monkeypatch
        # and mock.patch undo a patch they see no module __dict__ entry for) restores the original.
        object.__setattr__(self, "__patched__", {})

    def _targets(self) -> list[types.ModuleType]:
        try:
            return [importlib.import_module(target) for target in self.__moved_to__]
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                f"{self.__name__} moved to {', '.join(self.__moved_to__)}{self.__moved_hint__}"
            ) from error

    def _owner(self, name: str) -> types.ModuleType | None:
        """The module that has ``name``, preferring the one that defines it."""
        owners = [module for module in self._targets() if hasattr(module, name)]
        defining = [
            module for module in owners if getattr(getattr(module, name), "__module__", None) == module.__name__
        ]
        return next(iter(defining or owners), None)

    def _warn(self, module: types.ModuleType, name: str) -> None:
        warnings.warn(
            f"{self.__name__} moved to {module.__name__}: import {name} from there "
            f"(the old path will be removed in the next major release)",
            MovedModuleWarning,
            stacklevel=3,
        )

    def __getattr__(self, name: str) -> Any:
        if name == "__all__":  # ``from <old path> import *``
            return sorted({name for module in self._targets() for name in _public_names(module)})
        if name.startswith("__"):
            raise AttributeError(name)
        module = self._owner(name)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} (moved to {', '.join(self.__moved_to__)}) has no {name!r}")
        self._warn(module, name)
        return getattr(module, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("__"):
            object.__setattr__(self, name, value)
            return
        module = self._owner(name) or self._targets()[0]
        self._warn(module, name)
        self.__patched__.setdefault(name, (module, getattr(module, name, _MISSING)))
        setattr(module, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self.__patched__:
            module, original = self.__patched__.pop(name)
            if original is not _MISSING:
                setattr(module, name, original)
                return
        else:
            module = self._owner(name)
        if module is None or not hasattr(module, name):
            raise AttributeError(name)
        delattr(module, name)

    def __dir__(self) -> list[str]:
        return sorted({name for module in self._targets() for name in dir(module)})


_MISSING = object()


def _public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    return list(names) if names is not None else [name for name in vars(module) if not name.startswith("_")]


def register_moved_modules(
    package: str, moves: Mapping[str, str | tuple[str, ...]], elsewhere: Mapping[str, tuple[str, str]] | None = None
) -> None:
    """Make ``package.<old>`` importable for each ``old -> new``.

    :param package: the package's ``__name__``.
    :param moves: old module name at the package root -> its new dotted path under the package, or
        the paths it was split into (a name is looked up in them in order).
    :param elsewhere: old module name -> (the absolute module it moved to, in another
        distribution, and what to install when that is missing).
    """
    parent = sys.modules.get(package)
    if parent is None:  # the package's __init__ run under another name (a test of the Airflow floor)
        return
    for old, new in moves.items():
        old_path = f"{package}.{old}"
        if old_path not in sys.modules:
            targets = (new,) if isinstance(new, str) else new
            _register(parent, old, _MovedModule(old_path, tuple(f"{package}.{target}" for target in targets)))
    for old, (module, install) in (elsewhere or {}).items():
        if f"{package}.{old}" not in sys.modules:
            _register(parent, old, _MovedModule(f"{package}.{old}", (module,), f" ({install})"))


def _register(parent: types.ModuleType, old: str, placeholder: _MovedModule) -> None:
    sys.modules[placeholder.__name__] = placeholder
    setattr(parent, old, placeholder)
