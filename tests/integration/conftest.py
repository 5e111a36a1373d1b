"""What the integration tests share: the emulator's clock for the create operator's sleep, create
plans removed after each test, :func:`first_event` of a trigger, and :func:`manual_clock_emulator`
(an emulator of its own whose statuses move only with ``advance_time``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from modelarts_emulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, EmulatorConfig, ModelArtsEmulator

from airflow_provider_modelarts.operators import training_job_create
from tests.conftest import connection_json


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


async def first_event(trigger: Any) -> dict[str, Any]:
    """The payload of the first event ``trigger.run()`` yields (30 s at most); the generator is
    closed afterwards, as the triggerer closes it."""
    generator = trigger.run()
    try:
        event = await asyncio.wait_for(generator.__anext__(), timeout=30)
    finally:
        await generator.aclose()
    return dict(event.payload)


@contextmanager
def manual_clock_emulator(conn_id: str, **config: Any) -> Iterator[ModelArtsEmulator]:
    """An emulator on a manual clock (``advance_time``), reachable as connection ``conn_id``
    (``AIRFLOW_CONN_<ID>``) while the block runs; ``config``: more :class:`EmulatorConfig` fields."""
    with ModelArtsEmulator(EmulatorConfig(job_count=1, manual_clock=True, **config)) as emulator:
        variable = f"AIRFLOW_CONN_{conn_id.upper()}"
        os.environ[variable] = connection_json(emulator, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        try:
            yield emulator
        finally:
            os.environ.pop(variable, None)
