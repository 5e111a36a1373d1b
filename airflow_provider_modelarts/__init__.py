"""Apache Airflow provider for Huawei Cloud ModelArts (v1) training jobs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version

import packaging.version

__all__ = ["__version__"]

__version__ = "0.1.0"

# The floor declared in pyproject.toml, checked here too (as the official providers' generated
# __init__.py does) for installs that bypassed the resolver, e.g. `pip install --no-deps`.
MIN_AIRFLOW_VERSION = "3.0.0"


def _installed_airflow_version() -> str | None:
    """Airflow's version from the installed distributions.

    Read from package metadata rather than ``airflow.__version__``: importing Airflow here would
    make every ``import airflow_provider_modelarts`` import Airflow, and Airflow may log to stdout
    on import, which the emulator's command line must route away first.
    """
    for distribution in ("apache-airflow-core", "apache-airflow"):  # Airflow 3 splits core out; 2 did not
        try:
            return distribution_version(distribution)
        except PackageNotFoundError:
            continue
    return None


_airflow_version = _installed_airflow_version()
if _airflow_version is not None and packaging.version.parse(
    packaging.version.parse(_airflow_version).base_version
) < packaging.version.parse(MIN_AIRFLOW_VERSION):
    raise RuntimeError(
        f"The package `airflow-provider-modelarts:{__version__}` needs Apache Airflow {MIN_AIRFLOW_VERSION}+ "
        f"(this is Airflow {_airflow_version})"
    )
