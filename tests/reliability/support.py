"""Helpers shared by the reliability suites: connections, secret collection and results files."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modelarts_emulator import ModelArtsEmulator, airflow_connection
from modelarts_emulator import config as emulator_config

# Request timeouts: generous for most connections (a loaded machine must not turn into a retry),
# short for the one the slow-response faults use.
REQUEST_TIMEOUT = 10.0
SHORT_REQUEST_TIMEOUT = 1.5
AKSK_CONN_ID = "reliability_aksk"
SHORT_TIMEOUT_CONN_ID = "reliability_aksk_short_timeout"
TOKEN_CONN_ID = "reliability_token"
BAD_SK_CONN_ID = "reliability_bad_sk"
TIMEOUTS = {
    AKSK_CONN_ID: REQUEST_TIMEOUT,
    SHORT_TIMEOUT_CONN_ID: SHORT_REQUEST_TIMEOUT,
    TOKEN_CONN_ID: REQUEST_TIMEOUT,
    BAD_SK_CONN_ID: REQUEST_TIMEOUT,
}
# A wrong secret key for temporary credentials: the gateway then echoes the canonical request,
# security token included, so the provider must redact it.
WRONG_SECRET_KEY = "Reliability-Wrong-SK-0123456789abcdefghij"
# Values the suites treat as secret, whatever the connection: masked by Airflow, never shown.
CONNECTION_SECRETS = (
    emulator_config.DEFAULT_SECRET_KEY,
    emulator_config.DEFAULT_TEMP_SECRET_KEY,
    emulator_config.DEFAULT_SECURITY_TOKEN,
    emulator_config.DEFAULT_PASSWORD,
    emulator_config.DEFAULT_IAM_USER_PASSWORD,
    WRONG_SECRET_KEY,
)
RESULTS_ENV = "MODELARTS_RELIABILITY_RESULTS"


def connection_json(url: str, login: str, password: str, timeout: object = REQUEST_TIMEOUT, **extra: object) -> str:
    """An Airflow connection (JSON form) for the emulator at ``url``."""
    return json.dumps(airflow_connection(url, login, password, timeout=timeout, **extra))


def reliability_connections(url: str) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for the connections of the fault matrix."""
    return {
        f"AIRFLOW_CONN_{AKSK_CONN_ID.upper()}": connection_json(
            url, emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY
        ),
        f"AIRFLOW_CONN_{SHORT_TIMEOUT_CONN_ID.upper()}": connection_json(
            url, emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY, timeout=SHORT_REQUEST_TIMEOUT
        ),
        f"AIRFLOW_CONN_{TOKEN_CONN_ID.upper()}": connection_json(
            url, emulator_config.DEFAULT_USER_NAME, emulator_config.DEFAULT_PASSWORD, auth_type="password"
        ),
        f"AIRFLOW_CONN_{BAD_SK_CONN_ID.upper()}": connection_json(
            url,
            emulator_config.DEFAULT_TEMP_ACCESS_KEY,
            WRONG_SECRET_KEY,
            security_token=emulator_config.DEFAULT_SECURITY_TOKEN,
        ),
    }


def secrets_from_stats(stats: Mapping[str, Any]) -> list[str]:
    """Every signature, IAM token and security token the emulator saw on the wire."""
    seen: Mapping[str, Iterable[str]] = stats.get("secrets_seen") or {}
    return [value for values in seen.values() for value in values]


def find_leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets that occur in ``text`` (each shown by its first four characters only)."""
    return sorted({secret[:4] + "..." for secret in secrets if secret and secret in text})


def wait_for_requests(emu: ModelArtsEmulator, expected: int, within: float) -> int:
    """The emulator's request count once it reached ``expected`` (or ``within`` seconds passed).

    A request the client gave up on (a timeout) is logged only when the emulator answers it, after
    its delay; waiting here also keeps such a request from being counted in the next test.
    """
    deadline = time.monotonic() + within
    count = int(emu.stats()["requests_total"])
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.05)
        count = int(emu.stats()["requests_total"])
    return count


def record_result(suite: str, payload: Mapping[str, Any]) -> None:
    """Append one JSON line to ``<$MODELARTS_RELIABILITY_RESULTS>/<suite>.jsonl`` when that is set
    (``scripts/reliability_report.py`` sets it and reads the lines back)."""
    directory = os.environ.get(RESULTS_ENV)
    if not directory:
        return
    path = Path(directory) / f"{suite}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(dict(payload), sort_keys=True) + "\n")
