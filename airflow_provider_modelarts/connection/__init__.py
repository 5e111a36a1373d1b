"""The Airflow connection type: its fields (declared once), their reading, and the 3.0/3.1 form."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Before the rooms, airflow_provider_modelarts.connection was the module now at .settings.
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib
    import warnings

    from airflow_provider_modelarts.utils.moved import MovedModuleWarning

    settings = importlib.import_module(f"{__name__}.settings")
    value = getattr(settings, name)
    warnings.warn(
        f"{__name__}.{name} moved to {settings.__name__}: import {name} from there "
        "(the old path will be removed in the next major release)",
        MovedModuleWarning,
        stacklevel=2,
    )
    globals()[name] = value  # warn once: ``from ... import name`` reads the attribute twice
    return value
