"""The shared poller and the v1 round planner, with a fake hook and a virtual-time event loop:
no HTTP, no wall-clock sleeps, exact request counts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import selectors
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

import pytest
from modelarts_emulator import airflow_connection

from airflow_provider_modelarts import api
from airflow_provider_modelarts.cloud.auth import AkSkAuth
from airflow_provider_modelarts.exceptions import (
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsServerError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.waiting.poller import (
    FIRST_ROUND_DELAY,
    MIN_ROUND_SPACING,
    PollerKey,
    RoundOutcome,
    RoundPlanner,
    SharedStatusPoller,
    SourceClosedError,
    StatusSource,
    hook_for,
)
from tests.log_capture import capture_task_logs

_R = TypeVar("_R")
PAGE = api.PER_PAGE_RANGE[1]
RUNNING, COMPLETED = int(api.JobStatus.RUNNING), int(api.JobStatus.COMPLETED)

# ---------------------------------------------------------------------------------------------
# Virtual time: the loop's clock jumps to the next timer instead of waiting for it.
# ---------------------------------------------------------------------------------------------


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready:
            return ready  # type: ignore[no-any-return]
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        self.loop.now += max(timeout, 0.0)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[VirtualTimeLoop], Any]) -> Any:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


async def inline(func: Callable[[], _R]) -> _R:
    """Runs a round on the event loop itself: deterministic, and the clock stands still meanwhile."""
    return func()


class UnchangingConnection:
    """The hook of a :class:`FakeSource`: its connection never changes."""

    def __init__(self) -> None:
        self.reads = 0

    def refresh_connection(self) -> bool:
        self.reads += 1
        return False


class FakeSource(StatusSource[Hashable]):
    """Every watch is RUNNING unless told otherwise; records when each round ran and what it read."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(hook=UnchangingConnection())  # type: ignore[arg-type]
        self.loop = loop
        self.rounds: list[tuple[float, frozenset[Hashable]]] = []
        self.statuses: dict[Hashable, int] = {}
        self.released = 0

    def read(self, watches: set[Hashable]) -> RoundOutcome[Hashable]:
        self.rounds.append((self.loop.time(), frozenset(watches)))
        return RoundOutcome(0, snapshots={watch: {"status": self.statuses.get(watch, RUNNING)} for watch in watches})

    def release(self) -> None:
        self.released += 1

    @property
    def times(self) -> list[float]:
        return [when for when, _ in self.rounds]


def _poller(source: StatusSource[Hashable], run_blocking: Any = inline) -> SharedStatusPoller[Hashable]:
    return SharedStatusPoller("key", lambda _key: source, run_blocking=run_blocking)


# ---------------------------------------------------------------------------------------------
# When rounds run
# ---------------------------------------------------------------------------------------------


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


class FakeHook:
    """A v1 project of ``total`` jobs (ids 1..total, oldest first), each with version ``10 * id``.

    Counts requests per endpoint, and models the real hook's lazily created session: a request
    after :meth:`close` opens a new one. :meth:`switch_connection` models a user editing the
    Airflow connection: the next :meth:`refresh_connection` reads it, closes the session and from
    then on the hook talks to another project (its size and statuses).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.connection_reads = 0
        self.edited_connection: tuple[int, dict[tuple[int, int], int]] | None = None
        # Connection reads and requests, in order: "connection", "list 1", "detail 7", ...
        self.calls: list[str] = []
        self.status: dict[tuple[int, int], int] = {}
        self.older_versions: dict[int, list[int]] = {}
        self.deleted: set[int] = set()
        self.failing_jobs: dict[int, Exception] = {}
        self.failing_pages: dict[int, Exception] = {}
        self.requests: list[tuple[str, int]] = []
        self.sessions_opened = 0
        self.session_open = False
        self.closes = 0
        self.closed_event = threading.Event()
        self.before_request: Callable[[str, int], None] = lambda endpoint, arg: None

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def _request(self, endpoint: str, arg: int) -> None:
        if not self.session_open:
            self.session_open = True
            self.sessions_opened += 1
        self.requests.append((endpoint, arg))
        self.calls.append(f"{endpoint} {arg}")
        self.before_request(endpoint, arg)

    def switch_connection(self, total: int, status: dict[tuple[int, int], int]) -> None:
        self.edited_connection = (total, status)

    def refresh_connection(self) -> bool:
        self.connection_reads += 1
        self.calls.append("connection")
        if self.edited_connection is None:
            return False
        (self.total, self.status), self.edited_connection = self.edited_connection, None
        self.close()
        return True

    def _exists(self, job_id: int) -> bool:
        return 1 <= job_id <= self.total and job_id not in self.deleted

    def latest(self, job_id: int) -> int:
        return 10 * job_id

    def list_training_jobs_page(self, filters: api.JobListFilters) -> dict[str, Any]:
        self._request("list", filters.page)
        if filters.page in self.failing_pages:
            raise self.failing_pages[filters.page]
        first = (filters.page - 1) * filters.per_page + 1
        ids = [job for job in range(first, min(first + filters.per_page, self.total + 1)) if self._exists(job)]
        return {
            "job_total_count": self.total - len(self.deleted),
            "jobs": [
                {"job_id": job, "version_id": self.latest(job), "status": self.status.get((job, self.latest(job)), 8)}
                for job in ids
            ],
        }

    def get_job_version(self, job_id: int, version_id: int) -> dict[str, Any]:
        self._request("detail", job_id)
        self._raise_for(job_id)
        return {"job_id": job_id, "version_id": version_id, "status": self.status.get((job_id, version_id), RUNNING)}

    def list_job_versions(self, job_id: int) -> dict[str, Any]:
        self._request("versions", job_id)
        self._raise_for(job_id)
        versions = [self.latest(job_id), *self.older_versions.get(job_id, [])]
        return {
            "job_name": f"job-{job_id}",
            "versions": [{"version_id": v, "status": self.status.get((job_id, v), RUNNING)} for v in versions],
        }

    def _raise_for(self, job_id: int) -> None:
        if job_id in self.failing_jobs:
            raise self.failing_jobs[job_id]
        if not self._exists(job_id):
            raise ModelArtsNotFoundError(404, "ModelArts.0104", f"Training job (ID: {job_id}) not found")

    def close(self) -> None:
        self.session_open = False
        self.closes += 1
        self.closed_event.set()


def _planner(hook: FakeHook) -> RoundPlanner:
    return RoundPlanner(hook)  # type: ignore[arg-type]


def _latest_watches(*job_ids: int) -> set[tuple[int, int]]:
    return {(job, 10 * job) for job in job_ids}


def test_a_round_for_many_watchers_costs_one_request_per_list_page() -> None:
    hook = FakeHook(total=2500)
    planner = _planner(hook)
    watches = _latest_watches(*range(1, 2500, 100))
    hook.status[(1001, 10010)] = COMPLETED
    for _ in range(2):
        outcome = planner.fetch(watches)
        assert set(outcome.snapshots) == watches and not outcome.errors
        assert outcome.snapshots[(1001, 10010)]["status"] == COMPLETED
    assert hook.requests == [("list", page) for page in (1, 2, 3)] * 2
    assert math.ceil(2500 / PAGE) == 3


def test_few_watchers_in_a_big_project_cost_one_call_each_once_the_size_is_known() -> None:
    hook = FakeHook(total=2500)
    planner = _planner(hook)
    watches = _latest_watches(1500, 2400)
    planner.fetch(watches)
    # The first round reads one page to learn the size; the other two pages would cost as much
    # as asking each job directly.
    assert sorted(hook.requests) == [("detail", 1500), ("detail", 2400), ("list", 1)]
    hook.requests.clear()
    assert set(planner.fetch(watches).snapshots) == watches
    assert sorted(hook.requests) == [("detail", 1500), ("detail", 2400)]


def test_watchers_of_older_versions_share_one_versions_call_per_job() -> None:
    hook = FakeHook(total=5)
    hook.older_versions[3] = [29, 28]
    hook.status[(3, 28)] = COMPLETED
    planner = _planner(hook)
    outcome = planner.fetch({(3, 29), (3, 28), (3, 30), (4, 40)})
    assert hook.requests == [("list", 1), ("versions", 3)]
    assert outcome.snapshots[(3, 28)]["status"] == COMPLETED and outcome.snapshots[(3, 28)]["job_name"] == "job-3"
    assert set(outcome.snapshots) == {(3, 29), (3, 28), (3, 30), (4, 40)}


def test_an_endless_5xx_on_one_job_fails_only_that_jobs_watches() -> None:
    hook = FakeHook(total=5)
    hook.older_versions[2] = [19]
    hook.failing_jobs[2] = ModelArtsServerError(502, "APIGW.0201", "Backend unavailable")
    planner = _planner(hook)
    outcome = planner.fetch({(1, 10), (2, 19), (3, 30), (7, 70)})
    assert set(outcome.snapshots) == {(1, 10), (3, 30)}
    assert isinstance(outcome.errors[(2, 19)], ModelArtsServerError)
    assert isinstance(outcome.errors[(7, 70)], ModelArtsNotFoundError)  # never existed
    assert sorted(hook.requests) == [("detail", 7), ("list", 1), ("versions", 2)]


def test_a_version_missing_from_its_job_is_not_found_for_its_watch_only() -> None:
    hook = FakeHook(total=5)
    hook.older_versions[2] = [19]
    outcome = _planner(hook).fetch({(2, 18), (2, 19)})
    assert set(outcome.snapshots) == {(2, 19)}
    assert isinstance(outcome.errors[(2, 18)], ModelArtsNotFoundError)
    assert "18" in str(outcome.errors[(2, 18)])


def test_a_failed_list_page_fails_the_watches_it_would_have_served_and_no_others() -> None:
    hook = FakeHook(total=2500)
    planner = _planner(hook)
    watches = _latest_watches(*range(1, 2500, 100))
    planner.fetch(watches)  # learns the project's size
    hook.requests.clear()
    hook.failing_pages[2] = ModelArtsServerError(503, "APIGW.0613", "unavailable")
    outcome = planner.fetch(watches)
    on_page_one = {watch for watch in watches if watch[0] <= PAGE}
    assert set(outcome.snapshots) == on_page_one
    assert set(outcome.errors) == watches - on_page_one
    assert all(error is hook.failing_pages[2] for error in outcome.errors.values())
    # Not retried job by job: that would multiply the requests to a failing service.
    assert hook.requests == [("list", 1), ("list", 2)]


def test_an_auth_error_on_the_list_reaches_every_watch_it_served() -> None:
    hook = FakeHook(total=5)
    hook.failing_pages[1] = ModelArtsAuthError(403, "APIGW.0302", "not authorized")
    outcome = _planner(hook).fetch(_latest_watches(1, 2))
    assert not outcome.snapshots and set(outcome.errors) == _latest_watches(1, 2)
    assert hook.requests == [("list", 1)]


# ---------------------------------------------------------------------------------------------
# The connection as it is at each round (a poller outlives connection edits)
# ---------------------------------------------------------------------------------------------


def _rounds_of(calls: list[str]) -> list[list[str]]:
    """Each round's requests, sorted (a round asks for jobs in no set order), checking that each
    round starts with exactly one connection lookup."""
    assert calls[0] == "connection"
    rounds: list[list[str]] = []
    for call in calls:
        if call == "connection":
            rounds.append([])
        else:
            rounds[-1].append(call)
    return [sorted(requests) for requests in rounds]


def test_each_round_reads_the_connection_first_and_sends_nothing_more_for_it() -> None:
    hook = FakeHook(total=2500)
    planner = _planner(hook)
    watches = _latest_watches(1500, 2400)
    for _ in range(2):
        planner.fetch(watches)
    # One connection lookup a round, before its requests; no extra request to ModelArts.
    assert _rounds_of(hook.calls) == [["detail 1500", "detail 2400", "list 1"], ["detail 1500", "detail 2400"]]
    assert hook.sessions_opened == 1 and hook.closes == 0


def test_an_edited_connection_serves_the_next_round_and_its_project_size_is_learnt_again() -> None:
    hook = FakeHook(total=2500)
    planner = _planner(hook)
    watches = _latest_watches(1500, 2400)
    planner.fetch(watches)
    assert planner.known_total == 2500
    # The user points the connection at another project, of 5 jobs, where job 3 has completed.
    hook.switch_connection(total=5, status={(3, 30): COMPLETED})
    hook.calls.clear()
    outcome = planner.fetch(watches | _latest_watches(3))
    # The old session was closed before the round's first request, and the old project's size
    # was forgotten: one list page covers the new project (it used to cost a call per job).
    assert _rounds_of(hook.calls) == [["detail 1500", "detail 2400", "list 1"]]
    assert hook.calls[1] == "list 1" and hook.closes == 1 and hook.sessions_opened == 2 and planner.known_total == 5
    assert outcome.snapshots[(3, 30)]["status"] == COMPLETED
    assert set(outcome.errors) == _latest_watches(1500, 2400)
    assert all(isinstance(error, ModelArtsNotFoundError) for error in outcome.errors.values())


def test_a_watcher_joining_after_a_connection_edit_is_checked_with_the_new_connection() -> None:
    """The review's reproduction, deterministically: a busy poller (an older watcher keeps it
    alive) used to serve a newcomer with the connection read when the poller was created."""
    hook = FakeHook(total=2500)

    async def main(loop: VirtualTimeLoop) -> dict[str, Any]:
        poller = _poller(_planner(hook))  # type: ignore[arg-type]
        async with poller.watch((2001, 20010), 30.0) as old:
            await poller.next_status(old, 0)
            assert hook.calls == ["connection", "detail 2001"]
            await asyncio.sleep(10 - loop.time())
            hook.switch_connection(total=5, status={(3, 30): COMPLETED})
            async with poller.watch((3, 30), 1.0) as new:
                _, snapshot = await poller.next_status(new, poller.rounds_run)
                with pytest.raises(ModelArtsNotFoundError):  # the old watch is checked there too
                    await poller.next_status(old, 1)
            assert loop.time() == pytest.approx(11.0)  # within its own interval of joining
        return snapshot

    assert run_virtual(main)["status"] == COMPLETED and hook.connection_reads == 2
    assert _rounds_of(hook.calls) == [["detail 2001"], ["detail 2001", "list 1"]]
    assert hook.closes == 2  # the edit closed the old session; the last watcher, the new one


ROTATING_CONN_ID = "modelarts_rotating"
OLD_SK, NEW_SK = "OldSecretKey000000000000000000000000000001", "NewSecretKey000000000000000000000000000002"


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


@pytest.fixture
def blocked_hook() -> Iterator[tuple[FakeHook, threading.Event, threading.Event]]:
    """A hook whose first request blocks until released, in a project of three list pages."""
    hook = FakeHook(total=2500)
    in_request, release = threading.Event(), threading.Event()

    def block_first(endpoint: str, arg: int) -> None:
        if len(hook.requests) == 1:
            in_request.set()
            assert release.wait(10), "the test never released the request"

    hook.before_request = block_first
    yield hook, in_request, release
    release.set()


def test_closing_during_a_round_sends_no_new_request_and_closes_the_session(
    blocked_hook: tuple[FakeHook, threading.Event, threading.Event],
) -> None:
    hook, in_request, release = blocked_hook
    planner = _planner(hook)
    planner.known_total = 2500  # the round will need three list pages

    async def main() -> None:
        poller: SharedStatusPoller[Any] = SharedStatusPoller("key", lambda _key: planner)
        async with contextlib.AsyncExitStack() as stack:
            for job_id in range(2001, 2005):  # on page 3: the list is the cheaper way
                await stack.enter_async_context(poller.watch((job_id, 10 * job_id), 60.0))
            assert await asyncio.to_thread(in_request.wait, 10)
        # The last watcher left while the round's thread sits in its first request.
        assert poller._task is not None and poller._task.done()
        assert hook.closes == 0  # the session is in use: the round's thread closes it
        release.set()

    asyncio.run(main())  # returns once the default executor's threads have ended
    assert hook.closed_event.is_set() and hook.closes == 1
    assert hook.requests == [("list", 1)]  # pages 2 and 3 were never asked for
    assert hook.sessions_opened == 1 and not hook.session_open
    with pytest.raises(SourceClosedError):
        planner.fetch({(1, 10)})
    assert hook.requests == [("list", 1)] and hook.sessions_opened == 1


def test_closing_an_idle_poller_closes_the_session_at_once() -> None:
    hook = FakeHook(total=5)
    planner = _planner(hook)

    async def main() -> None:
        poller: SharedStatusPoller[Any] = SharedStatusPoller("key", lambda _key: planner, run_blocking=inline)
        async with poller.watch((1, 10), 60.0) as watcher:
            await poller.next_status(watcher, 0)
        assert hook.closes == 1

    asyncio.run(main())
    assert hook.requests == [("detail", 1)] and hook.closes == 1 and not hook.session_open


def test_a_bare_v1_hook_factory_still_works() -> None:
    """``watching`` took a hook factory before sources existed: a hook gets a RoundPlanner."""
    hook = FakeHook(total=5)

    async def main() -> None:
        key = PollerKey("legacy", None, None, None, 0, 1.0)
        async with SharedStatusPoller.watching(key, (2, 20), 60.0, lambda _key: hook) as (poller, watcher):
            assert isinstance(poller.source, RoundPlanner) and poller.hook is hook
            _, snapshot = await poller.next_status(watcher, 0)
            assert snapshot["job_id"] == 2
        assert SharedStatusPoller.active() == []

    asyncio.run(main())


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
