"""The shared poller, with a fake source and a virtual-time event loop: no HTTP, no wall-clock
sleeps, exact round times; and the hook a poller builds (``hook_for``) and its connection re-reads."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Hashable
from typing import TypeVar

import pytest
from modelarts_emulator import airflow_connection

from airflow_provider_modelarts import api
from airflow_provider_modelarts.cloud.auth import AkSkAuth
from airflow_provider_modelarts.exceptions import (
    ModelArtsServerError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.waiting.poller import (
    FIRST_ROUND_DELAY,
    MIN_ROUND_SPACING,
    PollerKey,
    RoundOutcome,
    hook_for,
)
from tests.log_capture import capture_task_logs
from tests.unit.waiting.poller_fakes import (
    RUNNING,
    FakeSource,
    VirtualTimeLoop,
    _poller,
    run_virtual,
)

PAGE = api.PER_PAGE_RANGE[1]
_R = TypeVar("_R")
ROTATING_CONN_ID = "modelarts_rotating"
OLD_SK, NEW_SK = "OldSecretKey000000000000000000000000000001", "NewSecretKey000000000000000000000000000002"


def test_a_short_interval_joining_a_long_sleep_is_checked_within_its_own_interval() -> None:
    async def main(loop: VirtualTimeLoop) -> list[float]:
        source = FakeSource(loop)
        poller = _poller(source)
        async with poller.watch("slow", 60.0) as slow:
            await poller.next_status(slow, 0)
            await asyncio.sleep(10 - loop.time())  # the poller now sleeps until 60.2
            async with poller.watch("fast", 1.0) as fast:
                seen, checks = 0, []
                for _ in range(4):
                    seen, _ = await poller.next_status(fast, seen)
                    checks.append(loop.time())
        assert source.rounds[1][1] == {"slow", "fast"}  # the slow watch rides along
        assert source.released == 1
        return checks

    checks = run_virtual(main)
    # Within 1 s of joining at t=10, then every second; not at the slow watcher's 60.2.
    assert checks == pytest.approx([11.0, 12.0, 13.0, 14.0])


def test_a_lone_watcher_is_checked_every_own_interval() -> None:
    async def main(loop: VirtualTimeLoop) -> list[float]:
        source = FakeSource(loop)
        poller = _poller(source)
        async with poller.watch("only", 30.0) as only:
            seen = 0
            for _ in range(3):
                seen, _ = await poller.next_status(only, seen)
        return source.times

    assert run_virtual(main) == pytest.approx([FIRST_ROUND_DELAY, 30 + FIRST_ROUND_DELAY, 60 + FIRST_ROUND_DELAY])


def test_a_zero_interval_does_not_make_rounds_run_back_to_back() -> None:
    """One trigger with ``poll_interval=0`` shares its rounds with every trigger of the poller:
    rounds still start MIN_ROUND_SPACING after the previous one ended (they used to repeat at once,
    for ever, at the same instant)."""

    async def yielding(func: Callable[[], _R]) -> _R:
        await asyncio.sleep(0)  # as a thread would: a poller without spacing then fails fast, not hangs
        return func()

    async def main(loop: VirtualTimeLoop) -> list[float]:
        source = FakeSource(loop)
        poller = _poller(source, run_blocking=yielding)
        async with poller.watch("eager", 0.0) as eager, poller.watch("patient", 60.0):
            seen = 0
            for _ in range(4):
                seen, _ = await poller.next_status(eager, seen)
        assert source.rounds[-1][1] == {"eager", "patient"}
        return source.times

    assert MIN_ROUND_SPACING == 1.0
    assert run_virtual(main) == pytest.approx([0.0, 1.0, 2.0, 3.0])


def test_the_next_round_waits_an_interval_after_a_slow_round_ends() -> None:
    """A round slowed by retries is not followed at once by another: its watchers get to act on
    its outcome (and leave) before anything is sent again."""

    async def slow(func: Callable[[], _R]) -> _R:
        if isinstance(func, functools.partial):  # a round, not the close
            await asyncio.sleep(5.0)
        return func()

    async def main(loop: VirtualTimeLoop) -> list[float]:
        source = FakeSource(loop)
        poller = _poller(source, run_blocking=slow)
        async with poller.watch("w", 1.0) as watcher:
            seen, ends = 0, []
            for _ in range(2):
                seen, _ = await poller.next_status(watcher, seen)
                ends.append(loop.time())
        assert ends == pytest.approx([5.2, 11.2])
        return source.times

    assert run_virtual(main) == pytest.approx([5.2, 11.2])  # read after the 5 s of each round


def test_watchers_joining_over_time_ride_on_the_running_schedule() -> None:
    """Joins never add rounds while the running schedule checks them within their interval: the
    cost stays one round per interval, however many triggers arrive."""

    async def main(loop: VirtualTimeLoop) -> list[float]:
        source = FakeSource(loop)
        poller = _poller(source)
        async with poller.watch("first", 5.0):

            async def join_later(index: int) -> None:
                await asyncio.sleep(index * 0.1)
                async with poller.watch(f"w{index}", 5.0) as watcher:
                    await poller.next_status(watcher, poller.rounds_run)
                    await asyncio.sleep(20 - loop.time())

            await asyncio.gather(*(join_later(index) for index in range(1, 50)))
        return source.times

    times = run_virtual(main)
    assert times == pytest.approx([0.2, 5.2, 10.2, 15.2])


def test_watchers_joining_and_leaving_during_a_round() -> None:
    async def main(loop: VirtualTimeLoop) -> None:
        source = FakeSource(loop)
        gate = asyncio.Event()

        async def held(func: Callable[[], _R]) -> _R:
            if isinstance(func, functools.partial):  # a round, not the close
                await gate.wait()
            return func()

        poller = _poller(source, run_blocking=held)
        async with poller.watch("stays", 5.0) as stays:
            leaving = poller.watch("leaves", 5.0)
            leaver = await leaving.__aenter__()
            await asyncio.sleep(1.0)  # round 1 started at 0.2 and is held
            async with poller.watch("joins", 5.0) as joiner:
                await leaving.__aexit__(None, None, None)
                assert poller.watches == {stays: "stays", joiner: "joins"} and leaver not in poller.watches
                gate.set()
                assert await poller.next_status(stays, 0) == (1, {"status": RUNNING})
                # Round 1 did not check the newcomer: it waits for the next round that does, due
                # 5 s after round 1 ended (t=1) for "stays" and 5 s after joining (t=1) for it.
                number, _ = await poller.next_status(joiner, 0)
                assert (number, loop.time()) == (2, pytest.approx(6.0))
        assert [watches for _, watches in source.rounds] == [{"stays", "leaves"}, {"stays", "joins"}]

    run_virtual(main)


def test_an_error_reaches_only_its_own_watcher() -> None:
    class OneBadJob(FakeSource):
        def read(self, watches: set[Hashable]) -> RoundOutcome[Hashable]:
            outcome = super().read(watches - {"bad"})
            if "bad" in watches:
                outcome.errors["bad"] = ModelArtsServerError(503, "", "Service unavailable")
            return outcome

    async def main(loop: VirtualTimeLoop) -> None:
        poller = _poller(OneBadJob(loop))
        async with poller.watch("good", 1.0) as good, poller.watch("bad", 1.0) as bad:
            with pytest.raises(ModelArtsServerError):
                await poller.next_status(bad, 0)
            assert await poller.next_status(good, 0) == (1, {"status": RUNNING})

    run_virtual(main)


def test_a_source_that_breaks_fails_the_round_of_every_watcher_as_an_error() -> None:
    class Broken(FakeSource):
        def read(self, watches: set[Hashable]) -> RoundOutcome[Hashable]:
            raise KeyError("jobs")

    async def main(loop: VirtualTimeLoop) -> None:
        poller = _poller(Broken(loop))
        async with poller.watch("a", 1.0) as first, poller.watch("b", 1.0) as second:
            for watcher in (first, second):
                with pytest.raises(KeyError):
                    await poller.next_status(watcher, 0)

    run_virtual(main)


# ---------------------------------------------------------------------------------------------
# The v1 round planner against a fake hook
# ---------------------------------------------------------------------------------------------


def _set_connection(monkeypatch: pytest.MonkeyPatch, login: str, password: str, **extra: object) -> None:
    # Nothing listens there: these tests make no request.
    connection = airflow_connection("http://127.0.0.1:9", login, password, **extra)
    monkeypatch.setenv(f"AIRFLOW_CONN_{ROTATING_CONN_ID.upper()}", json.dumps(connection))


def test_the_hook_switches_to_an_edited_connection_and_drops_the_old_session(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _set_connection(monkeypatch, "OLDAKOLDAKOLDAK00001", OLD_SK)
    hook = ModelArtsHook(ROTATING_CONN_ID)
    assert hook.refresh_connection() is False  # the first read: nothing to compare with
    session = hook.session
    assert hook.refresh_connection() is False and hook.session is session
    _set_connection(monkeypatch, "NEWAKNEWAKNEWAK00002", NEW_SK, endpoint="http://127.0.0.2:9")
    with caplog.at_level(logging.INFO), capture_task_logs() as hook_logs:
        assert hook.refresh_connection() is True
    assert hook.settings.login == "NEWAKNEWAKNEWAK00002" and hook.settings.endpoint == "http://127.0.0.2:9"
    assert hook.session is not session and isinstance(hook.session.auth, AkSkAuth)
    assert hook.session.auth.access_key == "NEWAKNEWAKNEWAK00002"
    # The log names what changed, never a value that is secret.
    assert [entry["event"] for entry in hook_logs] == [
        f"Connection {ROTATING_CONN_ID!r} changed (endpoint, login, password): the next requests use its new settings"
    ]
    assert all(secret not in text for secret in (OLD_SK, NEW_SK) for text in (caplog.text, str(hook_logs)))
    assert hook.request_count == 0


def test_an_unchanged_connection_is_not_validated_again_so_each_round_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _set_connection(monkeypatch, "OLDAKOLDAKOLDAK00001", OLD_SK, extra_for_a_later_version="x")
    hook = ModelArtsHook(ROTATING_CONN_ID)
    with caplog.at_level(logging.INFO):
        assert hook.refresh_connection() is False
        assert "extra_for_a_later_version" in caplog.text  # warned once, when first read
        caplog.clear()
        with capture_task_logs() as hook_logs:
            for _ in range(3):
                assert hook.refresh_connection() is False
    assert caplog.records == [] and hook_logs == []
    session = hook.session
    # An edit that changes no setting (an ignored key) keeps the session.
    _set_connection(monkeypatch, "OLDAKOLDAKOLDAK00001", OLD_SK, extra_for_a_later_version="y")
    assert hook.refresh_connection() is False and hook.session is session


def test_a_new_iam_password_drops_the_cached_token(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_connection(monkeypatch, "emulator-account", "Old-Password-1", auth_type="password")
    hook = ModelArtsHook(ROTATING_CONN_ID)
    old_cache = hook.token_cache
    _ = hook.session
    _set_connection(monkeypatch, "emulator-account", "New-Password-2", auth_type="password")
    assert hook.refresh_connection() is True
    assert hook.token_cache is not old_cache and hook.token_cache.current() is None
    assert hook.session.auth.cache is hook.token_cache  # type: ignore[union-attr]
    assert hook.settings.password == "New-Password-2" and hook.request_count == 0


def test_hook_for_passes_every_retry_setting() -> None:
    hook = hook_for(PollerKey("conn", None, None, None, retry_limit=2, retry_delay=0.5, retry_max_delay=7.0))
    assert (hook.retry_limit, hook.retry_delay, hook.retry_max_delay) == (2, 0.5, 7.0)
    assert PollerKey("c", None, None, None, 1, 1.0).retry_max_delay == api.DEFAULT_RETRY_MAX_DELAY
    assert PollerKey("c", None, None, None, 1, 1.0, 5.0) != PollerKey("c", None, None, None, 1, 1.0, 6.0)


# ---------------------------------------------------------------------------------------------
# Closing while a round runs in its worker thread
# ---------------------------------------------------------------------------------------------


def test_a_watcher_whose_wait_ended_gets_no_round_however_late_it_leaves() -> None:
    """The trigger stops checking as soon as it has its verdict; a loaded triggerer that takes
    longer than the interval to leave must not cost another request."""

    async def main(loop: VirtualTimeLoop) -> list[float]:
        source = FakeSource(loop)
        poller = _poller(source)
        async with poller.watch("done", 0.2) as watcher:
            await poller.next_status(watcher, poller.rounds_run)
            poller.stop_checking(watcher)
            await asyncio.sleep(5.0)  # acting on the verdict, slowly
        return source.times

    assert run_virtual(main) == pytest.approx([0.2])
