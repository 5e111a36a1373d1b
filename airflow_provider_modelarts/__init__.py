"""Apache Airflow provider for Huawei Cloud ModelArts (v1) training jobs."""

from __future__ import annotations

__version__ = "0.1.0"
