"""max_outage: its validation, and how a run of failed checks is ridden out and ended."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.waiting.outage import DEFAULT_MAX_OUTAGE, Outage, validate_max_outage


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(timedelta(minutes=15), 900.0), (90, 90.0), (0.5, 0.5), (0, 0.0), (DEFAULT_MAX_OUTAGE, 900.0)],
)
def test_max_outage_takes_seconds_or_a_timedelta(value: object, seconds: float) -> None:
    assert validate_max_outage(value) == seconds


@pytest.mark.parametrize("value", [-1, timedelta(seconds=-1), "15m", True, None, float("inf"), float("nan")])
def test_a_bad_max_outage_names_the_parameter(value: object) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        validate_max_outage(value)
    assert error.value.parameter == "max_outage"


def test_failed_checks_are_ridden_out_until_max_outage_then_end_the_wait() -> None:
    outage = Outage(max_outage=600.0)
    assert outage.failed_check(1000.0) == (
        True,
        "the API has been failing for 0.0 s; riding it out (up to max_outage 600 s)",
    )
    assert outage.failed_check(1599.0)[0] is True
    rides_out, message = outage.failed_check(1600.0)
    assert rides_out is False and message == "the API has been failing for 600.0 s, reaching max_outage 600 s"


def test_a_successful_check_ends_the_outage_and_the_next_one_starts_afresh() -> None:
    outage = Outage(max_outage=600.0)
    outage.failed_check(1000.0)
    assert outage.succeeded_check() is True and outage.started_at is None
    assert outage.succeeded_check() is False
    assert outage.failed_check(5000.0)[0] is True and outage.started_at == 5000.0


def test_max_outage_zero_rides_out_nothing() -> None:
    assert Outage(max_outage=0.0).failed_check(1.0) == (False, "max_outage is 0, so no outage is ridden out")


def test_a_start_in_the_future_is_taken_as_now() -> None:
    """A clock set back (or a start written by a host whose clock ran ahead) cannot stretch an outage."""
    outage = Outage(max_outage=60.0, started_at=10_000.0)
    assert outage.failed_check(100.0)[0] is True and outage.started_at == 100.0
