"""What the v1 and the v2 sensor share: how ``soft_fail`` and ``never_fail`` end a wait, and how a
verdict's message is worded, so both sensors (in every mode) say the same thing the same way."""

from __future__ import annotations

from typing import NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
)

# The errors Airflow's own soft_fail turns into a skip: those a retry cannot fix, and timeouts.
SOFT_FAIL_ERRORS = (AirflowFailException, AirflowSensorTimeout, AirflowTaskTimeout)


def skip_or_raise(error: BaseException, *, soft_fail: bool, never_fail: bool) -> NoReturn:
    """Apply ``soft_fail`` and ``never_fail`` the same way in every mode, keeping the reason.

    Airflow's own rules for an exception from ``poke``: ``soft_fail`` skips on an error a retry
    cannot fix, ``never_fail`` skips on any error, and anything else fails the task.
    """
    if soft_fail and isinstance(error, SOFT_FAIL_ERRORS):
        raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
    if never_fail and not isinstance(error, AirflowSkipException):
        raise AirflowSkipException(f"Skipping due to never_fail: {error}") from error
    raise error


def sentence(message: str) -> str:
    """A message as a sentence (capitalised), the same in poke, reschedule and deferrable mode."""
    return message[:1].upper() + message[1:]
