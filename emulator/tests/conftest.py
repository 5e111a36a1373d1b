"""Fixtures of the emulator's tests. They need neither Airflow nor the provider: only the emulator,
``requests`` and Huawei's official SDK (the ``test`` extra of ``emulator/pyproject.toml``).

``emu`` is one emulator per test module (v1 jobs, default v2 jobs), reset before each test so
faults, AK locks and statistics never leak from one test into the next; a module that needs
another project or a manual clock defines its own ``emu``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_client import JOB_COUNT
from modelarts_emulator import EmulatorConfig, ModelArtsEmulator


@pytest.fixture(scope="module")
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=JOB_COUNT)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> None:
    # Faults, AK locks and stats must not leak from one test into the next.
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


@pytest.fixture(scope="module")
def short_emu() -> Iterator[ModelArtsEmulator]:
    """Short token lifetime and AK lock, to see both end within a test."""
    config = EmulatorConfig(job_count=8, token_ttl_seconds=1.0, ak_lock_seconds=0.6)
    with ModelArtsEmulator(config) as emulator:
        yield emulator
