"""(e) v2 sensor fleet: W=500 phase triggers waiting at once in one event loop, over A active jobs.

The project holds the W=500 watched v2 training jobs, A_BG=1,000 more jobs that stay Running for the
whole run, and 500 finished ones (nobody watches those). Each watched job runs, then ends at its
own instant, staggered over half a minute (80% Completed; the rest Failed, Abnormal or Terminated,
in shuffled order). The triggers run as the triggerer runs them: re-created from ``serialize()``,
one task each iterating ``run()``, all in one event loop of a fresh interpreter (``run.py`` starts
``python -m benchmarks.fleet_v2``). Measured, as in (d):

* requests per round: the shared poller's hook is sampled each time a round completes; each round
  is checked against the issue's bound ``min(W, ceil(A / 50) + E)``, with A the project's active
  jobs when the round started and E the watched jobs that ended since the previous round (the
  jobs the round must read directly);
* that every trigger yields exactly one event, its own, with the right outcome and phase, and not
  before its job ended;
* the event loop's lag, with the ticker of (d).

The baseline is the one-call-per-sensor pattern (one ``GET`` per waiting trigger per interval),
computed from the same run as in (d): the number of triggers still waiting at each round.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelarts_emulator.process import EmulatorProcess, PhaseTimeline

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from airflow_provider_modelarts.waiting.poller_v2 import SEARCH_PAGE_SIZE
from benchmarks.common import INFO, Section, bench_emulator, median, percentile, section_main, verdict
from benchmarks.fleet import LAG_GOAL, LoopWatch, RoundSample, TriggerOutcome

CONN_ID = "modelarts_bench_fleet_v2"
WATCHERS = 500
ACTIVE_BACKGROUND = 1000  # jobs nobody watches that stay Running: A = this + the watched jobs still active
FINISHED_BACKGROUND = 500  # jobs nobody watches that ended long ago: never searched for
POLL_INTERVAL = 1.0
FIRST_FINISH = 3.0  # seconds after a watched job is created
FINISH_SPREAD = 30.0  # the last one finishes this much later
FAILURE_PHASES = ("Failed", "Abnormal", "Terminated")
RUN_TIMEOUT = FIRST_FINISH + FINISH_SPREAD + 90.0


@dataclass(frozen=True)
class WatchedJob:
    training_job_id: str
    final: str
    finishes_at: float  # time.monotonic() at which its phase becomes ``final``

    @property
    def expected(self) -> str:
        return "success" if self.final == "Completed" else "failed"


def make_trigger(job: WatchedJob) -> ModelArtsTrainingJobPhaseTrigger:
    """A phase trigger re-created from its serialized form, as the triggerer does."""
    classpath, kwargs = ModelArtsTrainingJobPhaseTrigger(
        training_job_id=job.training_job_id,
        target_phases=["Completed"],
        failure_phases=list(FAILURE_PHASES),
        modelarts_conn_id=CONN_ID,
        poll_interval=POLL_INTERVAL,
        end_time=time.time() + RUN_TIMEOUT,
    ).serialize()
    module, _, name = classpath.rpartition(".")
    trigger_class: type[ModelArtsTrainingJobPhaseTrigger] = getattr(importlib.import_module(module), name)
    return trigger_class(**kwargs)


async def run_trigger(trigger: ModelArtsTrainingJobPhaseTrigger, outcome: TriggerOutcome) -> None:
    async for event in trigger.run():
        if not outcome.events:
            outcome.at = time.monotonic()
        outcome.events.append(dict(event.payload))


@dataclass
class CallLog:
    """What the shared poller's hook was asked, counted by wrapping its two v2 reads (the
    measurement only counts; every call still goes to the emulator)."""

    searches: int = 0
    reads: int = 0
    active_reads: int = 0  # direct reads that found the job still in an active phase


CALLS = CallLog()


def count_calls() -> None:
    search_page, get_job = ModelArtsHook.search_training_jobs_page, ModelArtsHook.get_training_job

    def counted_search(self: ModelArtsHook, search: v2.JobSearch) -> dict[str, Any]:
        CALLS.searches += 1
        return search_page(self, search)

    def counted_get(self: ModelArtsHook, training_job_id: str) -> dict[str, Any]:
        CALLS.reads += 1
        job = get_job(self, training_job_id)
        phase = v2.parse_phase(v2.phase_of(job) or "")
        CALLS.active_reads += phase is not None and phase.is_in_progress
        return job

    ModelArtsHook.search_training_jobs_page = counted_search  # type: ignore[method-assign]
    ModelArtsHook.get_training_job = counted_get  # type: ignore[method-assign]


@dataclass(frozen=True)
class RoundCalls:
    round_number: int
    searches: int
    reads: int
    active_reads: int


class PhaseLoopWatch(LoopWatch):
    """(d)'s ticker, also noting the call counts each time a round completes."""

    def __init__(self, outcomes: list[TriggerOutcome]) -> None:
        super().__init__(outcomes)
        self.calls: list[RoundCalls] = []

    def _sample(self) -> None:
        super()._sample()
        pollers = SharedStatusPoller.active()
        if pollers and (not self.calls or pollers[0].rounds_run != self.calls[-1].round_number):
            self.calls.append(RoundCalls(pollers[0].rounds_run, CALLS.searches, CALLS.reads, CALLS.active_reads))


@dataclass
class FleetRun:
    outcomes: list[TriggerOutcome]
    samples: list[RoundSample]
    calls: list[RoundCalls]
    lags: list[float]
    total_requests: int
    seconds: float


async def _fleet(jobs: list[WatchedJob]) -> FleetRun:
    outcomes = [TriggerOutcome() for _ in jobs]
    triggers = [make_trigger(job) for job in jobs]
    watch = PhaseLoopWatch(outcomes)
    stop = asyncio.Event()
    ticker = asyncio.create_task(watch.run(stop))
    start = time.monotonic()
    await asyncio.wait_for(
        asyncio.gather(*(run_trigger(trigger, out) for trigger, out in zip(triggers, outcomes, strict=True))),
        timeout=RUN_TIMEOUT,
    )
    seconds = time.monotonic() - start
    stop.set()
    await ticker
    total = watch.hook.request_count if watch.hook is not None else 0
    return FleetRun(outcomes, watch.samples, watch.calls, [tick.lag for tick in watch.ticks], total, seconds)


def _plans() -> list[tuple[float, str]]:
    """(seconds until it ends, final phase) for each watched job, in creation order."""
    rng = random.Random(7)
    ranks = list(range(WATCHERS))
    rng.shuffle(ranks)
    return [
        (
            FIRST_FINISH + FINISH_SPREAD * rank / (WATCHERS - 1),
            FAILURE_PHASES[(index // 5) % len(FAILURE_PHASES)] if index % 5 == 4 else "Completed",
        )
        for index, rank in enumerate(ranks)
    ]


def _timeline(running_for: float, final: str) -> PhaseTimeline:
    return (("Pending", 1.0), ("Running", running_for - 1.0), (final, None))


def _create_jobs(emulator: EmulatorProcess) -> list[WatchedJob]:
    emulator.create_training_jobs(
        [(f"bench-v2-active-{index:05d}", (("Running", None),)) for index in range(ACTIVE_BACKGROUND)]
        + [(f"bench-v2-done-{index:05d}", (("Completed", None),)) for index in range(FINISHED_BACKGROUND)]
    )
    jobs = []
    for index, (running_for, final) in enumerate(_plans()):
        # One at a time: each timeline starts when its request is served.
        created = emulator.create_training_job(f"bench-v2-fleet-{index:03d}", _timeline(running_for, final))
        jobs.append(WatchedJob(created["id"], final, time.monotonic() + running_for))
    return jobs


def _correct(job: WatchedJob, outcome: TriggerOutcome) -> bool:
    if len(outcome.events) != 1:
        return False
    event = outcome.events[0]
    summary = event.get("summary") or {}
    return (
        event.get("status") == job.expected
        and event.get("training_job_id") == job.training_job_id
        and event.get("phase") == job.final
        and summary.get("id") == job.training_job_id
        # Not before the job really ended (small allowance for the two processes' clocks).
        and outcome.at >= job.finishes_at - 0.05
    )


def _bounds(samples: list[RoundSample], calls: list[RoundCalls]) -> list[int]:
    """The issue's bound for each round: min(W, ceil(A / 50) + E), with W the triggers waiting
    before the round, A the project's active jobs then (the unwatched Running ones and the watched
    jobs still waiting) and E the watched jobs that left the active set: the round's direct reads
    that found a job no longer active."""
    bounds = []
    rounds = zip(samples, calls, calls[1:], strict=False)
    for sample, before, after in rounds:
        active = ACTIVE_BACKGROUND + sample.waiting
        left = (after.reads - before.reads) - (after.active_reads - before.active_reads)
        bounds.append(min(sample.waiting, math.ceil(active / SEARCH_PAGE_SIZE) + left))
    return bounds


def measure() -> Section:
    section = Section(
        "e", f"v2 sensor fleet: W={WATCHERS} phase triggers, A={ACTIVE_BACKGROUND + WATCHERS:,} active jobs at start"
    )
    clock = time.monotonic()
    with bench_emulator() as emulator:
        jobs = _create_jobs(emulator)
        emulator.install_connection(CONN_ID)
        now = time.monotonic()
        print(f"[bench] e: emulator started and jobs created in {now - clock:.0f} s", file=sys.stderr, flush=True)
        emulator.reset()
        count_calls()
        fleet = asyncio.run(_fleet(jobs))
        stats = emulator.stats()
    _report(section, jobs, fleet, stats)
    return section


def _report(section: Section, jobs: list[WatchedJob], fleet: FleetRun, stats: dict[str, Any]) -> None:
    samples = fleet.samples
    intervals = list(zip(samples, samples[1:], strict=False))
    # The first sample is taken before the first round (round 0): every interval is one round.
    per_round = [later.requests - earlier.requests for earlier, later in intervals]
    first_round = per_round[0]
    call_rounds = list(zip(fleet.calls, fleet.calls[1:], strict=False))
    active_reads = [later.active_reads - earlier.active_reads for earlier, later in call_rounds]
    pages = [later.searches - earlier.searches for earlier, later in call_rounds]
    bounds = _bounds(samples, fleet.calls)
    over = [
        (number, spent, bound)
        for number, (spent, bound) in enumerate(zip(per_round, bounds, strict=False), start=1)
        if spent > bound
    ]
    within = sum(1 for spent, bound in zip(per_round, bounds, strict=False) if spent <= bound)
    naive_per_round = [sample.waiting for sample in samples[:-1]]
    naive_total = WATCHERS + sum(naive_per_round)  # the first interval: every trigger asks once
    correct = sum(_correct(job, outcome) for job, outcome in zip(jobs, fleet.outcomes, strict=True))
    by_endpoint = stats["by_endpoint"]
    searches, reads = by_endpoint.get("search_training_jobs", 0), by_endpoint.get("get_training_job", 0)
    start_bound = min(WATCHERS, math.ceil((ACTIVE_BACKGROUND + WATCHERS) / SEARCH_PAGE_SIZE))
    worst_lag = max(fleet.lags, default=0.0)

    section.row(
        "v2 requests per round (search pages + direct reads)",
        f"max {max(per_round)}, median {median(per_round):.0f}; first round {first_round}",
        f"{max(naive_per_round)} (1 GET per waiting sensor; computed)",
        f"{max(naive_per_round) / max(median(per_round), 1):.0f}x fewer (median round)",
        f"<= min(W, ceil(A/50) + E) each round ({start_bound} in the first)",
        verdict(within == len(per_round) == len(bounds)),
    )
    section.row(
        "v2 requests in the whole run",
        f"{fleet.total_requests:,} ({searches:,} search pages, {reads:,} direct reads)",
        f"{naive_total:,} (naive, computed)",
        f"{naive_total / max(fleet.total_requests, 1):.0f}x fewer",
        "(report)",
        INFO,
    )
    section.row(
        "v2 triggers with exactly one event, their own and correct",
        f"{correct}/{len(jobs)}",
        "-",
        "-",
        f"{len(jobs)}/{len(jobs)}",
        verdict(correct == len(jobs)),
    )
    section.row(
        "v2 fleet: event loop lag, worst (p99)",
        f"{worst_lag * 1000:.0f} ms ({percentile(fleet.lags, 0.99) * 1000:.1f} ms)",
        "-",
        "-",
        f"< {LAG_GOAL * 1000:.0f} ms",
        verdict(worst_lag < LAG_GOAL),
    )
    delays = [outcome.at - job.finishes_at for job, outcome in zip(jobs, fleet.outcomes, strict=True) if outcome.events]
    statuses = [outcome.events[0]["status"] for outcome in fleet.outcomes if outcome.events]
    section.notes += [
        f"One run of {fleet.seconds:.0f} s: {len(jobs)} phase triggers, poll interval {POLL_INTERVAL:.0f} s, "
        f"jobs ending {FIRST_FINISH:.0f}-{FIRST_FINISH + FINISH_SPREAD:.0f} s after they start; events: "
        f"{statuses.count('success')} success, {statuses.count('failed')} failed, "
        f"{len(statuses) - statuses.count('success') - statuses.count('failed')} other. "
        f"Time from a job's end to its event: median {median(delays):.2f} s, max {max(delays):.2f} s.",
        f"The project: {ACTIVE_BACKGROUND:,} unwatched jobs Running throughout, {FINISHED_BACKGROUND} finished ones, "
        f"and the {WATCHERS} watched jobs (active until they end), so A falls from {ACTIVE_BACKGROUND + WATCHERS:,} "
        f"to {ACTIVE_BACKGROUND:,}. {len(per_round)} shared rounds, {within} of them within min(W, ceil(A/50) + E), "
        "with W and A from the triggers still waiting before the round and E the round's direct reads that found "
        "a job no longer active.",
        f"Naive baseline (computed, not run): one `get_training_job` per waiting sensor per interval = "
        f"{WATCHERS} requests in the first interval, {naive_total:,} over the run.",
        f"Search pages per round: max {max(pages)}, median {median(pages):.0f}. Direct reads that found the job "
        f"still active (the search did not show it): {sum(active_reads)} in the run, at most {max(active_reads)} "
        "in one round.",
    ]
    if over:
        worst = ", ".join(f"round {number}: {spent} > {bound}" for number, spent, bound in over[:6])
        section.notes.append(
            f"Gap (requests): {len(over)} rounds cost more than the bound ({worst}). A round chooses "
            "between searching and reading each job before it knows E: it expects as many watched jobs to leave "
            "the active set as left by the last round, and pays the difference when that guess is wrong."
        )


def main(argv: Sequence[str] | None = None) -> int:
    return section_main(measure, "benchmarks.fleet_v2", "e", argv)


if __name__ == "__main__":
    sys.exit(main())
