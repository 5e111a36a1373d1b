"""Fixtures of the reliability suites, on top of the session emulator of ``tests/conftest.py``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from modelarts_emulator import ModelArtsEmulator

from .support import reliability_connections


@pytest.fixture(scope="session")
def reliability_conns(emulator: ModelArtsEmulator) -> Iterator[None]:
    """The connections of the fault matrix (1 s request timeout), as ``AIRFLOW_CONN_*`` variables."""
    env = reliability_connections(emulator.url)
    os.environ.update(env)
    try:
        yield
    finally:
        for key in env:
            os.environ.pop(key, None)
