"""The ``api`` compatibility facade: DAG code that imports from it keeps working. The facts behind
each name are tested where they live (tests/unit/cloud/)."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_modelarts import api

# Where each name of the facade lives now; every name of ``api.__all__`` comes from one of these.
HOMES = (
    "airflow_provider_modelarts.cloud.endpoints",
    "airflow_provider_modelarts.cloud.transport",
    "airflow_provider_modelarts.cloud.v1",
    "airflow_provider_modelarts.cloud.validation",
    "airflow_provider_modelarts.exceptions",
)


@pytest.mark.parametrize("name", sorted(api.__all__))
def test_the_facade_still_offers_every_name_of_its_all_from_where_it_lives(name: str) -> None:
    value = getattr(api, name)
    homes = [module for module in map(importlib.import_module, HOMES) if getattr(module, name, None) is value]
    assert homes, f"api.{name} is not the object of any module it re-exports"


def test_job_status_imports_from_the_facade_as_dag_code_writes_it() -> None:
    from airflow_provider_modelarts.api import JobStatus

    assert JobStatus.COMPLETED.value == 10 and JobStatus(10) is JobStatus.JOBSTAT_COMPLETED
