"""Apache Airflow provider for Huawei Cloud ModelArts: training jobs (v2 and the old v1 API)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version

import packaging.version

from airflow_provider_modelarts.utils.moved import register_moved_modules

__all__ = ["__version__"]

__version__ = "0.1.0"

# The floor declared in pyproject.toml, checked here too (as the official providers' generated
# __init__.py does) for installs that bypassed the resolver, e.g. `pip install --no-deps`.
MIN_AIRFLOW_VERSION = "3.0.0"


def _installed_airflow_version() -> str | None:
    """Airflow's version from the installed distributions.

    Read from package metadata rather than ``airflow.__version__``: importing Airflow here would
    make every ``import airflow_provider_modelarts`` import Airflow, and Airflow may log to stdout
    on import, and reading the provider's metadata (get_provider_info) must stay cheap.
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


# Modules that sat at the package root before the rooms (connection/, cloud/, waiting/, utils/): each
# old import path keeps working, with a deprecation warning naming the new one (utils/moved.py).
register_moved_modules(
    __name__,
    {
        "auth": "cloud.auth",
        "conn_fields": "connection.fields",
        "connection_form": "connection.form",
        "endpoints": "cloud.endpoints",
        "job_logs": "waiting.logs",
        "job_submission": "utils.submission",
        "job_wait": "waiting.conditions",
        "lineage": "utils.lineage",
        "naming": "utils.naming",
        "outage": "waiting.outage",
        "phase_check": "waiting.check",
        "polling": ("waiting.poller", "waiting.poller_v1"),
        "polling_v2": "waiting.poller_v2",
        "retry_policy": "cloud.retry",
        "transport": "cloud.transport",
        "v1": "cloud.v1",
        "v2": ("cloud.v2", "cloud.validation", "exceptions"),  # and what v2.py imported
        "validation": "cloud.validation",
    },
    # The emulator left the provider for its own distribution (emulator/ in the repository).
    elsewhere={"emulator": ("modelarts_emulator", "pip install ./emulator from the provider's repository")},
)
