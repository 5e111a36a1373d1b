"""What the integration tests share: the emulator's clock for the create operator's sleep, create
plans removed after each test, and :func:`first_event` of a trigger."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

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


async def first_event(trigger: Any) -> dict[str, Any]:
    """The payload of the first event ``trigger.run()`` yields (30 s at most); the generator is
    closed afterwards, as the triggerer closes it."""
    generator = trigger.run()
    try:
        event = await asyncio.wait_for(generator.__anext__(), timeout=30)
    finally:
        await generator.aclose()
    return dict(event.payload)
