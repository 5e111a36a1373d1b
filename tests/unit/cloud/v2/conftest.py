"""Fixtures of the cloud/v2 tests: an empty fake project and a hook that asks it."""

from __future__ import annotations

import pytest

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.unit.hooks.fakes import FakeProject, _hook


@pytest.fixture
def project() -> FakeProject:
    return FakeProject(job_count=0)


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, project: FakeProject) -> ModelArtsHook:
    return _hook(monkeypatch, project)
