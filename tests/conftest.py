"""Shared fixtures: a throwaway AIRFLOW_HOME, one in-process emulator over real HTTP, and
Airflow connections (AK/SK and IAM password) pointing at it through environment variables.

Under pytest-xdist (``make test`` runs ``-n``) each worker is its own process, so each has its own
AIRFLOW_HOME (its own SQLite metadata database, DAGs and logs folders), its own session emulator
on its own free port and its own ``AIRFLOW_CONN_*`` variables: request counts a test asserts are
only ever its own worker's.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

# Airflow reads its home when first imported: point it at a throwaway folder before that. Made
# here, per process, never inherited: an xdist worker starts with the controller's environment
# (AIRFLOW_HOME included), and two workers sharing one SQLite database would collide.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="modelarts-tests-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)  # one per process: xdist makes several
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pytest  # noqa: E402
from modelarts_emulator import EmulatorConfig, ModelArtsEmulator, airflow_connection  # noqa: E402
from modelarts_emulator import config as emulator_config  # noqa: E402

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook  # noqa: E402

AKSK_CONN_ID = "modelarts_default"
TOKEN_CONN_ID = "modelarts_token"
IAM_USER_CONN_ID = "modelarts_iam_user"
TEMP_CONN_ID = "modelarts_temp"
EMULATOR_JOB_COUNT = 2345


# Under xdist (``--dist loadgroup``: one test at a time to whichever worker has room), the two
# longest tests, which run the example DAGs with ``airflow dags test`` (minutes on 2 cores), start
# first on two workers, so neither is left running alone at the end. Only those two: the other
# DAG-run tests keep their place, so that not every worker starts an Airflow run at once (a starved
# CPU delays a DAG's sensor past the emulated job it should find still running).
# The order changes how long the run takes, never what a test sees: every worker is a process of
# its own (see the module docstring), so no test must be kept from running next to another. (Nor
# could one be: pytest 9.2 drops xdist_group's groups, pytest-xdist issue 1386.)
SLOW_FIRST = (
    "tests/reliability/test_secret_leaks.py::test_example_dags_leak_no_secret",
    "tests/integration/test_example_dags.py::test_example_dags_run_to_success",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # not an xdist worker: the usual order
        return

    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: collection order otherwise


def connection_json(emulator: ModelArtsEmulator, login: str, password: str, **extra: object) -> str:
    # A generous timeout: on a loaded 2-core machine a 1,000-row page can take seconds, and a
    # timeout's retry would change the exact request counts tests assert. Tests of timeouts set
    # their own, shorter one.
    return json.dumps(airflow_connection(emulator.url, login, password, **{"timeout": 20, **extra}))


class _InFlight:
    """API requests the session emulator is still serving, so that ``emu`` resets its statistics
    only once it is idle. A request an earlier test's client gave up on (a timeout against a slow
    fault) is logged when the emulator answers it, seconds later: reset before then, it would be
    counted in the next test, which then sees one request more than it sent."""

    def __init__(self, emulator: ModelArtsEmulator) -> None:
        self._count = 0
        self._idle = threading.Condition()
        handle_api = emulator.app.handle_api

        def counted(request: Any) -> Any:
            with self._idle:
                self._count += 1
            try:
                return handle_api(request)
            finally:
                with self._idle:
                    self._count -= 1
                    self._idle.notify_all()

        emulator.app.handle_api = counted  # type: ignore[method-assign]

    def wait_idle(self, timeout: float) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._count == 0, timeout):
                raise RuntimeError(
                    f"the session emulator is still serving {self._count} request(s) of an earlier "
                    f"test after {timeout:g} s; its statistics cannot be reset for the next test"
                )


# Longer than any delay a test gives the emulator (slow faults delay an answer by a few seconds).
IDLE_TIMEOUT = 60.0
_IN_FLIGHT: dict[ModelArtsEmulator, _InFlight] = {}


@pytest.fixture(scope="session")
def emulator() -> Iterator[ModelArtsEmulator]:
    emu = ModelArtsEmulator(EmulatorConfig(job_count=EMULATOR_JOB_COUNT))
    _IN_FLIGHT[emu] = _InFlight(emu)
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
    plans a test makes are deleted afterwards, so every test sees the same project.

    The reset waits for requests an earlier test left in flight, so its counts are this test's alone."""
    _IN_FLIGHT[emulator].wait_idle(IDLE_TIMEOUT)
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
