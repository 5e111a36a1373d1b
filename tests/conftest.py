"""Shared fixtures: a throwaway AIRFLOW_HOME, one in-process emulator over real HTTP, and
Airflow connections (AK/SK and IAM password) pointing at it through environment variables."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator

# Airflow reads its home when first imported: point it at a throwaway folder before that.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="modelarts-tests-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pytest  # noqa: E402

from airflow_provider_modelarts.emulator import EmulatorConfig, ModelArtsEmulator, airflow_connection  # noqa: E402
from airflow_provider_modelarts.emulator import config as emulator_config  # noqa: E402
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook  # noqa: E402

AKSK_CONN_ID = "modelarts_default"
TOKEN_CONN_ID = "modelarts_token"
IAM_USER_CONN_ID = "modelarts_iam_user"
TEMP_CONN_ID = "modelarts_temp"
EMULATOR_JOB_COUNT = 2345


def connection_json(emulator: ModelArtsEmulator, login: str, password: str, **extra: object) -> str:
    # A generous timeout: on a loaded 2-core machine a 1,000-row page can take seconds, and a
    # timeout's retry would change the exact request counts tests assert. Tests of timeouts set
    # their own, shorter one.
    return json.dumps(airflow_connection(emulator.url, login, password, **{"timeout": 20, **extra}))


@pytest.fixture(scope="session")
def emulator() -> Iterator[ModelArtsEmulator]:
    emu = ModelArtsEmulator(EmulatorConfig(job_count=EMULATOR_JOB_COUNT))
    emu.start()
    env = {
        f"AIRFLOW_CONN_{AKSK_CONN_ID.upper()}": connection_json(
            emu, emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY
        ),
        f"AIRFLOW_CONN_{TOKEN_CONN_ID.upper()}": connection_json(
            emu, emulator_config.DEFAULT_USER_NAME, emulator_config.DEFAULT_PASSWORD, auth_type="password"
        ),
        f"AIRFLOW_CONN_{IAM_USER_CONN_ID.upper()}": connection_json(
            emu,
            emulator_config.DEFAULT_IAM_USER_NAME,
            emulator_config.DEFAULT_IAM_USER_PASSWORD,
            auth_type="password",
            domain_name=emulator_config.DEFAULT_DOMAIN_NAME,
        ),
        f"AIRFLOW_CONN_{TEMP_CONN_ID.upper()}": connection_json(
            emu,
            emulator_config.DEFAULT_TEMP_ACCESS_KEY,
            emulator_config.DEFAULT_TEMP_SECRET_KEY,
            security_token=emulator_config.DEFAULT_SECURITY_TOKEN,
        ),
    }
    os.environ.update(env)
    try:
        yield emu
    finally:
        for key in env:
            os.environ.pop(key, None)
        emu.stop()


@pytest.fixture
def emu(emulator: ModelArtsEmulator) -> Iterator[ModelArtsEmulator]:
    """The session emulator with clean stats, no faults and no AK lock; jobs (v1 and v2) and create
    plans a test makes are deleted afterwards, so every test sees the same project."""
    emulator.reset()
    original_jobs = set(emulator.app.store.jobs)
    original_training_jobs = set(emulator.app.training_jobs.jobs)
    yield emulator
    for job_id in set(emulator.app.store.jobs) - original_jobs:
        emulator.delete_job(job_id)
    for training_job_id in set(emulator.app.training_jobs.jobs) - original_training_jobs:
        emulator.app.training_jobs.delete(training_job_id)
    emulator.clear_create_plans()
    emulator.reset()


def api_requests(emu: ModelArtsEmulator) -> int:
    """ModelArts and IAM requests the emulator has served since the last reset."""
    return int(emu.stats()["requests_total"])


@pytest.fixture
def hook(emu: ModelArtsEmulator) -> Iterator[ModelArtsHook]:
    """An AK/SK hook with fast retries, so fault tests do not wait for real backoff."""
    hook = ModelArtsHook(AKSK_CONN_ID, retry_delay=0.01, retry_max_delay=0.05)
    yield hook
    hook.close()


@pytest.fixture
def token_hook(emu: ModelArtsEmulator) -> Iterator[ModelArtsHook]:
    hook = ModelArtsHook(TOKEN_CONN_ID, retry_delay=0.01, retry_max_delay=0.05)
    yield hook
    hook.close()
