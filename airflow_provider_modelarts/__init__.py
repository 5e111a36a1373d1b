"""Apache Airflow provider for Huawei Cloud ModelArts (v1) training jobs."""

from __future__ import annotations

import packaging.version
from airflow import __version__ as airflow_version

__all__ = ["__version__"]

__version__ = "0.1.0"

# The floor declared in pyproject.toml, checked here too (as the official providers' generated
# __init__.py does) for installs that bypassed the resolver, e.g. `pip install --no-deps`.
MIN_AIRFLOW_VERSION = "3.0.0"

if packaging.version.parse(packaging.version.parse(airflow_version).base_version) < packaging.version.parse(
    MIN_AIRFLOW_VERSION
):
    raise RuntimeError(
        f"The package `airflow-provider-modelarts:{__version__}` needs Apache Airflow {MIN_AIRFLOW_VERSION}+ "
        f"(this is Airflow {airflow_version})"
    )
