"""Fixtures the create-operator tests share: the emulator's clock for the operator's sleep, and
create plans removed after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.operators import training_job_create


@pytest.fixture
def emulator_time(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> ModelArtsEmulator:
    """The operator's sleep between checks moves the emulator's clock instead of waiting."""
    monkeypatch.setattr(training_job_create, "sleep", emu.advance_time)
    return emu


@pytest.fixture
def plans(emu: ModelArtsEmulator) -> Iterator[None]:
    """Create plans a test sets are removed afterwards."""
    yield
    emu.clear_create_plans()
