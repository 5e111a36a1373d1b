"""The v2 status source of the coalesced poller: the phases of many watched v2 training jobs with
as few requests as the search allows.

A v2 job that is still moving is in an *active* phase (Creating, Pending, Running, Terminating).
So a round searches only the active phases, 50 jobs a page (the search's largest page), and
reads directly (``GET`` the job) only the watched jobs the search did not show: the jobs that left
the active set since the last round (they finished: their watchers end with this round), and
jobs the search cannot show (another workspace, or an undocumented phase). For W watchers, A
active jobs in the project and E watched jobs missing from the active set, a round costs
``ceil(A / 50) + E`` requests, or ``W`` (one ``GET`` per watcher) when that is fewer:

* the plan uses what the last round learnt: the number of active jobs (the search's ``count``),
  which watches the search did not show, and how many watched jobs left the active set (as many
  are expected to leave by this round: near the end of a fleet, when most watched jobs are ending,
  reading each one beats searching pages that show none of them);
* paging stops as soon as every watched job was found, and switches to direct reads when the
  pages left would cost at least as much as reading the jobs still missing.

Pages are offsets into the active set sorted by ``create_time`` ascending, and a round reads them
last page first. Jobs leave the active set while a round pages (they finish), and each one that
leaves moves every later job one place towards the front. Read front to back, a job on the page
boundary would then slip into a page already read and cost a direct read; read back to front, it
only moves into a page still to come (and may be seen twice, which is harmless). New jobs have the
newest ``create_time``, so they go last and move nothing. Only the first round, which does not know
yet how many pages there are, reads page 0 before the others. A job the search did not show is
always read directly: the search is never taken as proof that a job is gone or finished.

Errors stay with the watches they concern, as in the v1
:class:`~airflow_provider_modelarts.waiting.poller_v1.RoundPlanner`: a failed page fails the watches it would
have served (asking each job instead would multiply the requests sent to a failing service), and a
failed ``GET`` fails only its job's watches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.waiting.poller import PollerKey, RoundOutcome, StatusSource, hook_for

#: The phases a round searches: the ones a job can still leave.
ACTIVE_PHASES: tuple[v2.JobPhase, ...] = tuple(phase for phase in v2.PHASE_ORDER if phase.is_in_progress)
#: Jobs per search page: the most the API allows.
SEARCH_PAGE_SIZE = v2.LIMIT_RANGE[1]


@dataclass(frozen=True)
class PhasePollerKey(PollerKey):
    """A :class:`PollerKey` for v2 watches: never equal to a v1 key with the same settings, so v1
    and v2 triggers of one connection get separate pollers (their sources read differently)."""

    api_version: str = "v2"


class PhaseSource(StatusSource[str]):
    """The v2 source: the job objects of a set of watched training job ids (lower-case UUIDs).

    :param hook: the hook the rounds use (its workspace, or the connection's, scopes the search).
    """

    def __init__(self, hook: ModelArtsHook) -> None:
        super().__init__(hook)
        # The search's count of active jobs at the last round that searched: how many pages it costs.
        self.known_active: int | None = None
        # Watched jobs the last round read directly and found outside the active phases (another
        # workspace, an undocumented phase): they will cost a direct read again.
        self.outside_search: set[str] = set()
        # create_time ascending: jobs created while paging go last instead of shifting the pages.
        self._search = v2.JobSearch.validate(phase=ACTIVE_PHASES, order="asc", limit=SEARCH_PAGE_SIZE)

    def search_pages(self) -> int:
        """Search pages a round costs, as far as the last search told (one while unknown)."""
        return v2.pages_needed(self.known_active or 0, SEARCH_PAGE_SIZE)

    def read(self, watches: set[str]) -> RoundOutcome[str]:
        outcome: RoundOutcome[str] = RoundOutcome(number=0)
        expected_outside = watches & self.outside_search
        # As many watched jobs as left the active set last round (their watches are gone now) are
        # expected to leave it by this round: the search will not show them, so each costs a read.
        expected_leaving = min(len(self.outside_search - watches), len(watches) - len(expected_outside))
        missing = set(watches)
        if self.search_pages() + len(expected_outside) + expected_leaving < len(watches):
            missing = self._from_search(watches, outcome)
        for training_job_id in sorted(missing):
            self.check_open()
            try:
                outcome.snapshots[training_job_id] = self.hook.get_training_job(training_job_id)
            except ModelArtsError as error:
                outcome.errors[training_job_id] = error
        # Jobs read directly that are still active were read so only because that was cheaper.
        self.outside_search = {
            training_job_id
            for training_job_id in missing
            if training_job_id in outcome.snapshots and not _is_active(outcome.snapshots[training_job_id])
        }
        return outcome

    def _from_search(self, watches: set[str], outcome: RoundOutcome[str]) -> set[str]:
        """Serve the watches the active-phase search shows; return those left to read directly.

        Pages are read last first (see the module's docstring). A page that fails fails the
        watches still unserved (they get no direct read).
        """
        missing = set(watches)
        read_pages: set[int] = set()
        while missing:
            page_count = self.search_pages()
            pages_left = [page for page in range(page_count) if page not in read_pages]
            if not pages_left or (read_pages and len(pages_left) >= len(missing)):
                break  # nothing left to search, or reading each remaining job directly costs no more
            # Page 0 while the size is unknown (its count tells the size); then the last page left.
            page = 0 if self.known_active is None else pages_left[-1]
            self.check_open()
            try:
                body = self.hook.search_training_jobs_page(dataclasses.replace(self._search, offset=page))
            except ModelArtsError as error:
                for training_job_id in missing:
                    outcome.errors[training_job_id] = error
                return set()
            read_pages.add(page)
            count = body.get("count")
            # Without a count (never seen), assume the pages read so far were all there is.
            self.known_active = count if isinstance(count, int) and not isinstance(count, bool) else 0
            for item in body.get("items") or []:
                found = _job_id(item) if isinstance(item, dict) else None
                if found is not None and found in missing:
                    outcome.snapshots[found] = item
                    missing.discard(found)
        return missing


def _is_active(job: dict[str, Any]) -> bool:
    phase = v2.parse_phase(v2.phase_of(job) or "")
    return phase is not None and phase.is_in_progress


def _job_id(job: dict[str, Any]) -> str | None:
    job_id = v2.job_row(job)["id"]
    return job_id.lower() if isinstance(job_id, str) else None


def v2_source_for(key: PollerKey) -> PhaseSource:
    """The v2 source of a poller: a :class:`PhaseSource` on :func:`hook_for`'s hook."""
    return PhaseSource(hook_for(key))
