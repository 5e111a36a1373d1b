"""The v2 phase source of the coalesced poller, with a fake hook and a virtual-time event loop:
no HTTP, no wall-clock sleeps, exact request counts."""

from __future__ import annotations

import dataclasses
import math
import uuid
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsNotFoundError, ModelArtsServerError
from airflow_provider_modelarts.waiting.poller import PollerKey, SharedStatusPoller
from airflow_provider_modelarts.waiting.poller_v2 import (
    ACTIVE_PHASES,
    SEARCH_PAGE_SIZE,
    PhasePollerKey,
    PhaseSource,
    v2_source_for,
)
from tests.unit.waiting.poller_fakes import VirtualTimeLoop, inline, run_virtual

ACTIVE = {phase.value for phase in ACTIVE_PHASES}


def job_id(index: int) -> str:
    return str(uuid.UUID(int=index))


class FakeV2Hook:
    """A v2 project of ``total`` jobs (ids from :func:`job_id`, oldest first), each in a phase.

    The search serves the jobs whose phase the search names, oldest first, ``limit`` a page, with
    ``offset`` the page number, as the API does. Requests are recorded per endpoint.
    """

    def __init__(self, phases: dict[str, str]) -> None:
        self.phases = dict(phases)  # insertion order = creation order
        self.requests: list[tuple[str, Any]] = []
        self.failing_pages: dict[int, Exception] = {}
        self.failing_jobs: dict[str, Exception] = {}
        # Jobs that end (become Completed) while a round pages through the active set: each search
        # page served ends the next one of the queue, just after the page was taken.
        self.ending_queue: list[str] = []
        self.closes = 0

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def count(self, endpoint: str) -> int:
        return sum(1 for name, _ in self.requests if name == endpoint)

    def refresh_connection(self) -> bool:
        """The shared poller re-reads the connection before each round; here it never changes."""
        return False

    def _job(self, training_job_id: str) -> dict[str, Any]:
        return {
            "metadata": {"id": training_job_id, "name": f"job-{training_job_id[-4:]}"},
            "status": {
                "phase": self.phases[training_job_id],
                "task_statuses": [],
            },
        }

    def search_training_jobs_page(self, search: v2.JobSearch) -> dict[str, Any]:
        self.requests.append(("search", search.offset))
        if search.offset in self.failing_pages:
            raise self.failing_pages[search.offset]
        (condition,) = search.filters
        assert (condition.key, condition.operator) == ("phase", "in") and search.order == "asc"
        matching = [job for job, phase in self.phases.items() if phase in condition.value]
        page = matching[search.offset * search.limit : (search.offset + 1) * search.limit]
        if self.ending_queue:
            self.phases[self.ending_queue.pop(0)] = "Completed"
        return {"total": len(self.phases), "count": len(matching), "items": [self._job(job) for job in page]}

    def get_training_job(self, training_job_id: str) -> dict[str, Any]:
        self.requests.append(("get", training_job_id))
        if training_job_id in self.failing_jobs:
            raise self.failing_jobs[training_job_id]
        if training_job_id not in self.phases:
            raise ModelArtsNotFoundError(400, "ModelArts.2775", f"Training job {training_job_id} not found")
        return self._job(training_job_id)

    def close(self) -> None:
        self.closes += 1


def project(active: int, finished: int = 0) -> FakeV2Hook:
    """``finished`` Completed jobs, then ``active`` Running ones."""
    phases = {job_id(index): "Completed" for index in range(finished)}
    phases.update({job_id(finished + index): "Running" for index in range(active)})
    return FakeV2Hook(phases)


def source(hook: FakeV2Hook) -> PhaseSource:
    return PhaseSource(hook)  # type: ignore[arg-type]


def running(hook: FakeV2Hook) -> list[str]:
    return [job for job, phase in hook.phases.items() if phase in ACTIVE]


def test_a_round_searches_only_the_active_phases() -> None:
    hook = project(active=3, finished=10)
    watches = set(running(hook))
    outcome = source(hook).fetch(watches)
    assert {v2.phase_of(job) for job in outcome.snapshots.values()} == {"Running"} and not outcome.errors
    assert set(outcome.snapshots) == watches
    assert hook.requests == [("search", 0)]
    assert {phase.value for phase in ACTIVE_PHASES} == {"Creating", "Pending", "Running", "Terminating"}


def test_many_watchers_cost_one_request_per_page_of_active_jobs() -> None:
    hook = project(active=120, finished=400)
    planner = source(hook)
    watches = set(running(hook)[::2]) | {running(hook)[-1]}  # 61 watchers spread over 3 pages
    for _ in range(2):
        outcome = planner.fetch(watches)
        assert set(outcome.snapshots) == watches and not outcome.errors
    # The first round learns the size from page 0, then reads the others last first.
    assert hook.requests == [("search", page) for page in (0, 2, 1, 2, 1, 0)]
    assert math.ceil(120 / SEARCH_PAGE_SIZE) == 3


def test_paging_stops_once_every_watched_job_was_found() -> None:
    hook = project(active=120)
    planner = source(hook)
    watches = set(running(hook)[50:])  # on pages 1 and 2 of 3
    planner.fetch(watches)
    hook.requests.clear()
    planner.fetch(watches)
    assert hook.requests == [("search", 2), ("search", 1)]


def test_jobs_ending_while_a_round_pages_do_not_slip_past_it() -> None:
    """Each job that leaves the active set moves the later ones a place towards the front. Read
    front to back, the job on a page boundary would slip into the page already read and cost a
    direct read although it is still active; read back to front, it is found on the next page."""
    hook = project(active=150)
    planner = source(hook)
    watches = set(running(hook))
    planner.fetch(watches)
    hook.requests.clear()
    # An early job ends just after the round's first page (page 2) was served: every later job,
    # the first of page 2 included, moves a place towards the front.
    first = running(hook)[3]
    hook.ending_queue = [first]
    outcome = planner.fetch(watches)
    assert set(outcome.snapshots) == watches and not outcome.errors
    still_active_read_directly = [arg for name, arg in hook.requests if name == "get" and hook.phases[arg] in ACTIVE]
    assert still_active_read_directly == []
    assert [name for name, _ in hook.requests].count("search") == 3
    assert ("get", first) in hook.requests  # it left the active set: E = 1


def test_a_round_costs_the_bound_while_jobs_end_under_it() -> None:
    """Fleet-like: 10 jobs end during every page; each round still costs ceil(A / 50) + E."""
    hook = project(active=1000)
    planner = source(hook)
    watches = set(running(hook)[::2])
    planner.fetch(watches)
    for round_number in range(5):
        hook.requests.clear()
        active_at_start = len(running(hook))
        ended_before = {job for job in watches if hook.phases[job] not in ACTIVE}
        pages = math.ceil(active_at_start / SEARCH_PAGE_SIZE)
        watched_active = [job for job in running(hook) if job in watches]
        hook.ending_queue = watched_active[round_number::7][:pages][::-1]
        outcome = planner.fetch(watches)
        assert set(outcome.snapshots) == watches and not outcome.errors
        left = {job for job in watches if hook.phases[job] not in ACTIVE} - ended_before
        assert hook.request_count <= pages + len(left) + len(ended_before & watches), round_number
        assert all(hook.phases[arg] not in ACTIVE for name, arg in hook.requests if name == "get")


def test_jobs_that_left_the_active_set_cost_one_read_each() -> None:
    """ceil(A / 50) + E: the search pages, plus one read per watched job that left the active set."""
    hook = project(active=120)
    planner = source(hook)
    watches = set(running(hook)[::2])
    planner.fetch(watches)
    hook.requests.clear()
    left = sorted(watches)[:5]
    for training_job_id in left[:3]:
        hook.phases[training_job_id] = "Completed"
    hook.phases[left[3]] = "Failed"
    hook.phases[left[4]] = "Abnormal"
    outcome = planner.fetch(watches)
    assert set(outcome.snapshots) == watches and not outcome.errors
    assert {v2.phase_of(outcome.snapshots[job]) for job in left} == {"Completed", "Failed", "Abnormal"}
    active_now = 120 - 5
    assert hook.count("search") == math.ceil(active_now / SEARCH_PAGE_SIZE) == 3
    assert sorted(arg for name, arg in hook.requests if name == "get") == left
    assert hook.request_count == 3 + 5


def test_few_watchers_in_a_busy_project_cost_one_read_each_once_its_size_is_known() -> None:
    hook = project(active=500)
    planner = source(hook)
    watches = {running(hook)[10], running(hook)[400]}
    planner.fetch(watches)
    # The first round searches one page to learn how many jobs are active: the job on it is
    # served, and the other is read directly (the other nine pages would cost more).
    assert hook.requests == [("search", 0), ("get", running(hook)[400])]
    hook.requests.clear()
    assert set(planner.fetch(watches).snapshots) == watches
    assert sorted(hook.requests) == sorted(("get", job) for job in watches)


def test_a_lone_watcher_costs_one_read() -> None:
    hook = project(active=5)
    planner = source(hook)
    for _ in range(3):
        planner.fetch({running(hook)[0]})
    assert hook.requests == [("get", running(hook)[0])] * 3


def test_watched_jobs_the_search_cannot_show_are_counted_in_the_plan() -> None:
    """Jobs found outside the search last round (another workspace, an undocumented phase) will
    be read again: when that makes the search dearer than reading every job, no search is sent."""
    hook = project(active=60)
    elsewhere = [job_id(1000 + index) for index in range(3)]
    for training_job_id in elsewhere:
        hook.phases[training_job_id] = "Queuing"  # undocumented: never in the active search
    planner = source(hook)
    watches = {running(hook)[0], *elsewhere}
    planner.fetch(watches)  # the first round cannot know the three are not among the 60 active jobs
    assert hook.count("search") == 2 and hook.count("get") == 3
    hook.requests.clear()
    outcome = planner.fetch(watches)  # 2 pages + 3 reads > 4 reads: read each
    assert set(outcome.snapshots) == watches
    assert hook.count("search") == 0 and hook.count("get") == 4


def test_a_job_that_does_not_exist_fails_only_its_own_watch() -> None:
    hook = project(active=5)
    missing = job_id(99999)
    outcome = source(hook).fetch({*running(hook)[:3], missing})
    assert set(outcome.snapshots) == set(running(hook)[:3])
    assert isinstance(outcome.errors[missing], ModelArtsNotFoundError)
    assert hook.requests == [("search", 0), ("get", missing)]


def test_a_failed_page_fails_the_watches_it_would_have_served_and_reads_none_directly() -> None:
    hook = project(active=120)
    planner = source(hook)
    watches = set(running(hook)[::2])
    planner.fetch(watches)
    hook.requests.clear()
    hook.failing_pages[1] = ModelArtsServerError(503, "ModelArts.0001", "unavailable")
    outcome = planner.fetch(watches)
    on_page_two = watches & set(running(hook)[2 * SEARCH_PAGE_SIZE :])
    assert set(outcome.snapshots) == on_page_two
    assert set(outcome.errors) == watches - on_page_two
    assert all(error is hook.failing_pages[1] for error in outcome.errors.values())
    assert hook.requests == [("search", 2), ("search", 1)]


def test_one_jobs_transient_error_stays_with_that_job() -> None:
    hook = project(active=5)
    broken = running(hook)[1]
    hook.phases[broken] = "Completed"  # left the active set: read directly, and that read fails
    hook.failing_jobs[broken] = ModelArtsServerError(502, "APIG.0201", "Backend unavailable")
    watches = set(running(hook)[:3]) | {broken}
    outcome = source(hook).fetch(watches)
    assert set(outcome.errors) == {broken} and set(outcome.snapshots) == watches - {broken}


def test_v1_and_v2_watchers_of_one_connection_get_separate_pollers() -> None:
    settings = {"conn_id": "c", "region": None, "project_id": None, "workspace_id": None, "retry_limit": 1}
    v1_key, v2_key = PollerKey(**settings, retry_delay=1.0), PhasePollerKey(**settings, retry_delay=1.0)
    assert v1_key != v2_key and v2_key == PhasePollerKey(**settings, retry_delay=1.0)
    assert dataclasses.asdict(v2_key)["api_version"] == "v2"
    made = v2_source_for(v2_key)
    assert isinstance(made, PhaseSource) and made.hook.retry_limit == 1


def test_a_fleet_of_500_waiting_sensors_against_one_call_per_sensor() -> None:
    """The benchmark row: W=500 triggers waiting on jobs in a project of A=1200 active jobs (and
    3000 finished ones). One call per sensor costs 500 requests a round; the shared rounds cost
    ceil(A / 50) = 24, plus one read for each job that finished since the last round."""
    hook = project(active=1200, finished=3000)
    watched = [*running(hook)[::2][:499], running(hook)[-1]]  # on every one of the 24 pages
    rounds: list[int] = []

    async def main(loop: VirtualTimeLoop) -> None:
        poller: SharedStatusPoller[str] = SharedStatusPoller("fleet", lambda _key: source(hook), run_blocking=inline)
        import contextlib

        async with contextlib.AsyncExitStack() as stack:
            watchers = [await stack.enter_async_context(poller.watch(job, 60.0)) for job in watched]
            seen = 0
            for finished_since in (0, 7):
                for training_job_id in watched[:finished_since]:
                    hook.phases[training_job_id] = "Completed"
                before = hook.request_count
                for watcher in watchers:
                    number, job = await poller.next_status(watcher, seen)
                seen = number
                rounds.append(hook.request_count - before)
            _, job = await poller.next_status(watchers[0], 0)
            assert v2.phase_of(job) == "Completed"

    run_virtual(main)
    active_after = 1200 - 7
    # Round 1 reads page 0 (to learn the size), then the others last first: all 24 pages.
    assert rounds == [24, math.ceil(active_after / SEARCH_PAGE_SIZE) + 7]
    assert rounds[0] <= min(500, math.ceil(1200 / SEARCH_PAGE_SIZE))
    assert hook.closes == 1


@pytest.mark.parametrize("watchers", [1, 2, 30, 49])
def test_a_round_never_costs_more_than_one_read_per_watcher_once_the_project_is_known(watchers: int) -> None:
    hook = project(active=2000)
    planner = source(hook)
    watches = set(running(hook)[::40][:watchers])
    planner.fetch(watches)
    hook.requests.clear()
    planner.fetch(watches)
    assert hook.request_count <= min(watchers, math.ceil(2000 / SEARCH_PAGE_SIZE))


def test_when_most_watched_jobs_are_ending_a_round_reads_each_instead_of_searching() -> None:
    """E is learnt from the last round: 20 watched jobs left the active set then, so 20 more are
    expected to leave by this round. With 25 watchers and 20 pages, reading each (25) beats
    searching (20 pages + about 20 reads)."""
    hook = project(active=1000)
    planner = source(hook)
    watches = set(running(hook)[-45:])
    planner.fetch(watches)
    ending = sorted(watches)[:20]
    for training_job_id in ending:
        hook.phases[training_job_id] = "Completed"
    planner.fetch(watches)  # they are found to have left: their watchers end
    watches -= set(ending)
    for training_job_id in sorted(watches)[:18]:
        hook.phases[training_job_id] = "Failed"
    hook.requests.clear()
    outcome = planner.fetch(watches)
    assert set(outcome.snapshots) == watches and not outcome.errors
    assert hook.count("search") == 0 and hook.request_count == len(watches) == 25
