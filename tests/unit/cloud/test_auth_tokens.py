"""The IAM token cache: a failed early refresh keeps the valid token (advisory window); only a
token that expired or is about to does a failed refresh raise (mandatory window)."""

from __future__ import annotations

import pendulum
import pytest

from airflow_provider_modelarts.cloud import auth
from airflow_provider_modelarts.exceptions import ModelArtsServerError

START = pendulum.datetime(2026, 1, 1, tz="UTC")


class FakeIam:
    """Hands out 24-hour tokens, or fails while ``down``; counts the attempts."""

    def __init__(self, clock: list[pendulum.DateTime]) -> None:
        self.clock = clock
        self.down = False
        self.attempts = 0

    def fetch(self) -> auth.IamToken:
        self.attempts += 1
        if self.down:
            raise ModelArtsServerError(503, "APIGW.0613", "IAM service is currently unavailable")
        now = self.clock[0]
        return auth.IamToken(f"token-{self.attempts}", now, now.add(hours=24))


@pytest.fixture
def clock() -> list[pendulum.DateTime]:
    return [START]


@pytest.fixture
def iam(clock: list[pendulum.DateTime]) -> FakeIam:
    return FakeIam(clock)


@pytest.fixture
def cache(iam: FakeIam, clock: list[pendulum.DateTime]) -> auth.IamTokenCache:
    return auth.IamTokenCache(iam.fetch, clock=lambda: clock[0])


def test_a_failed_early_refresh_keeps_the_valid_token(
    cache: auth.IamTokenCache, iam: FakeIam, clock: list[pendulum.DateTime], caplog: pytest.LogCaptureFixture
) -> None:
    assert cache.get() == "token-1"
    iam.down = True
    clock[0] = START.add(hours=23, minutes=30)  # 30 minutes left: inside the advisory hour
    assert cache.get() == "token-1"
    assert iam.attempts == 2
    assert "Could not renew the IAM token early" in caplog.text and "token-1" not in caplog.text


def test_the_refresh_is_retried_later_not_on_every_call(
    cache: auth.IamTokenCache, iam: FakeIam, clock: list[pendulum.DateTime]
) -> None:
    cache.get()
    iam.down = True
    clock[0] = START.add(hours=23, minutes=30)
    for _ in range(5):
        assert cache.get() == "token-1"
    assert iam.attempts == 2  # one failed refresh, then no attempt on each call
    clock[0] = clock[0].add(seconds=auth.ADVISORY_RETRY_INTERVAL_SECONDS)
    assert cache.get() == "token-1"
    assert iam.attempts == 3  # tried again after the interval, failed again, token kept
    iam.down = False
    clock[0] = clock[0].add(seconds=auth.ADVISORY_RETRY_INTERVAL_SECONDS)
    assert cache.get() == "token-4"


def test_inside_the_mandatory_window_a_failed_refresh_raises(
    cache: auth.IamTokenCache, iam: FakeIam, clock: list[pendulum.DateTime]
) -> None:
    cache.get()
    iam.down = True
    clock[0] = START.add(hours=24).subtract(seconds=auth.MANDATORY_REFRESH_SECONDS - 1)
    with pytest.raises(ModelArtsServerError):
        cache.get()


def test_an_expired_token_is_never_used(
    cache: auth.IamTokenCache, iam: FakeIam, clock: list[pendulum.DateTime]
) -> None:
    cache.get()
    iam.down = True
    clock[0] = START.add(hours=25)
    with pytest.raises(ModelArtsServerError):
        cache.get()
    # Even just after a failed advisory attempt, the mandatory window forces a new try.
    assert iam.attempts == 2
    with pytest.raises(ModelArtsServerError):
        cache.get()
    assert iam.attempts == 3


def test_without_a_token_a_failure_raises(cache: auth.IamTokenCache, iam: FakeIam) -> None:
    iam.down = True
    with pytest.raises(ModelArtsServerError):
        cache.get()


def test_windows_scale_down_for_short_lived_tokens() -> None:
    token = auth.IamToken("t", START, START.add(minutes=20))  # 20 minutes: advisory 2 min, mandatory 1 min
    assert not token.refresh_due(START.add(minutes=17, seconds=59))
    assert token.refresh_due(START.add(minutes=18)) and not token.refresh_required(START.add(minutes=18))
    assert token.refresh_required(START.add(minutes=19))
