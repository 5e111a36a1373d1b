"""The v1 source of the shared poller (``poller_v1.RoundPlanner``), with a fake hook: no HTTP, exact
request counts."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_modelarts import api
from airflow_provider_modelarts.exceptions import (
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsServerError,
)
from airflow_provider_modelarts.waiting.poller import (
    PollerKey,
    SharedStatusPoller,
    SourceClosedError,
)
from airflow_provider_modelarts.waiting.poller_v1 import RoundPlanner
from tests.unit.waiting.poller_fakes import (
    COMPLETED,
    RUNNING,
    VirtualTimeLoop,
    _poller,
    inline,
    run_virtual,
)

PAGE = api.PER_PAGE_RANGE[1]


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


def test_a_v1_source_factory_serves_a_watch_and_a_bare_hook_is_refused() -> None:
    """``watching`` took a bare v1 hook before sources existed; the generic poller no longer wraps
    one (that made it import the v1 source): the factory returns a RoundPlanner."""
    hook = FakeHook(total=5)

    async def main() -> None:
        key = PollerKey("legacy", None, None, None, 0, 1.0)
        async with SharedStatusPoller.watching(key, (2, 20), 60.0, lambda _key: _planner(hook)) as (poller, watcher):
            assert isinstance(poller.source, RoundPlanner) and poller.hook is hook
            _, snapshot = await poller.next_status(watcher, 0)
            assert snapshot["job_id"] == 2
        assert SharedStatusPoller.active() == []
        with pytest.raises(TypeError, match="must return a StatusSource"):
            SharedStatusPoller("bare", lambda _key: hook)  # type: ignore[arg-type,return-value]

    asyncio.run(main())
