"""(g) job-event watchers: W ``ModelArtsTrainingJobEventTrigger`` s on one connection share one search.

For W = 1, 10, 100 and 1,000 watchers of one connection (one emulator each, on its manual clock),
with filters that differ (five name filters, four sets of phases), the watchers run as a triggerer
runs them: re-created from ``serialize()``, one task each, all in one event loop of a fresh
interpreter (``run.py`` starts ``python -m benchmarks.job_events``). Below Airflow 3.3 a triggerer
calls ``run()``, which joins the provider's own shared loop (``waiting/shared_stream.py``); on 3.3+
it routes them through Airflow's ``SharedStreamManager`` and ``filter_shared_stream``. Both paths are
measured when this Airflow has the second.

The jobs come from the emulator's job schedules, on its manual clock: once every watcher is reading
the stream, the clock jumps an hour ahead (so every job is newer than every watcher) and three
schedules start (a long ``nightly`` job, a short ``sweep`` every 30 s, a slow ``adhoc`` one with a
Pending step; Completed, Failed and Terminated outcomes). Before each measured round the clock moves
one emulated minute; after the last one it stands still for two more rounds, so every watcher sees
the final state.

Measured at the emulator (``/_emulator/stats``, ``by_endpoint["search_training_jobs"]``, sampled after
each round): the search requests of every round. The goal: at most one per interval after the
first, while the jobs the search must read back to (those created since the oldest job in
progress, plus a minute) fit in one page of 50. The first round also seeds the jobs in progress
and reads back over the jobs created in the last day (two requests here: the project starts
empty). Events are checked against the jobs the emulator reports at the end: each watcher gets
each job in a watched phase whose name contains its filter exactly once, and nothing else.

The baseline is the naive watcher: one search per watcher per interval (computed, not run).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.process import EmulatorProcess

from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.triggers.job_events import ModelArtsTrainingJobEventTrigger
from airflow_provider_modelarts.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_modelarts.waiting.job_event_search import JobEventSearch, SearchRound
from airflow_provider_modelarts.waiting.job_events import Watermark
from benchmarks.common import INFO, Section, median, section_main, times, verdict

CONN_ID = "modelarts_bench_job_events"
SIZES = (1, 10, 100, 1000)
POLL_INTERVAL = 0.2  # real seconds between two rounds
STEP = 60.0  # emulated seconds the clock moves before each measured round
MEASURED_ROUNDS = 12
IDLE_ROUNDS = 2  # rounds with the clock standing still at the end
AHEAD = 3600.0  # the jump before the schedules start: every job is newer than every watcher
RUN_TIMEOUT = 120.0
SEARCH = "search_training_jobs"
NAME_FILTERS: tuple[str | None, ...] = (None, "nightly-", "sweep-", "adhoc-", "-1")
PHASE_SETS: tuple[tuple[str, ...], ...] = (
    ("Completed",),
    ("Failed",),
    ("Completed", "Failed", "Terminated"),
    ("Terminated", "Abnormal"),
)
SCHEDULES: dict[str, dict[str, Any]] = {
    "nightly": {
        "every": 120,
        "timeline": [["Creating", 5], ["Running", 200], ["Completed", None]],
        "outcomes": ["Completed", "Completed", "Failed"],
    },
    "sweep": {
        "every": 30,
        "timeline": [["Creating", 2], ["Running", 75], ["Completed", None]],
        "outcomes": ["Completed", "Failed", "Completed", "Completed"],
    },
    "adhoc": {
        "every": 150,
        "start_after": 30,
        "timeline": [["Creating", 5], ["Pending", 30], ["Running", 400], ["Completed", None]],
        "outcomes": ["Completed", "Terminated"],
    },
}
TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Abnormal"})
PATHS = ("run", "manager") if AIRFLOW_V_3_3_PLUS else ("run",)
PATH_NAMES = {
    "run": "run() (3.0-3.2: the provider's shared loop)",
    "manager": "3.3+ SharedStreamManager + filter_shared_stream",
}


def make_trigger(index: int) -> ModelArtsTrainingJobEventTrigger:
    """Watcher ``index``, re-created from its serialized form as the triggerer does."""
    classpath, kwargs = ModelArtsTrainingJobEventTrigger(
        modelarts_conn_id=CONN_ID,
        phases=PHASE_SETS[(index // len(NAME_FILTERS)) % len(PHASE_SETS)],
        name_filter=NAME_FILTERS[index % len(NAME_FILTERS)],
        poll_interval=POLL_INTERVAL,
    ).serialize()
    module, _, name = classpath.rpartition(".")
    trigger_class: type[ModelArtsTrainingJobEventTrigger] = getattr(importlib.import_module(module), name)
    return trigger_class(**kwargs)


@dataclass(frozen=True)
class RoundSample:
    measured: bool  # the clock moved one step before it
    searches: int  # search requests the emulator served during the round
    requests: int  # all API requests the emulator served during the round
    jobs: int  # jobs the round handed to the watchers


@dataclass
class Rounds:
    """Wraps ``JobEventSearch.round`` (the one search of a group; every call still reaches the
    emulator) to drive the emulator's clock and read its counters between rounds. Runs in the
    round's worker thread, so the clock never moves while a search is in flight."""

    emulator: EmulatorProcess
    start: bool = False  # set by the driver once every watcher reads the stream
    started: bool = False
    measured_left: int = MEASURED_ROUNDS
    samples: list[RoundSample] = field(default_factory=list)
    loops: set[int] = field(default_factory=set)  # ids of the JobEventSearch objects: one per loop
    since_start: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _last: tuple[int, int] = (0, 0)

    def install(self) -> None:
        original, rounds = JobEventSearch.round, self

        def counted(self: JobEventSearch, hook: ModelArtsHook, now_ms: int) -> SearchRound:
            with rounds.lock:
                measured = rounds._before_round()
                found = original(self, hook, now_ms)
                stats = rounds.emulator.stats()
                searches, requests = stats["by_endpoint"].get(SEARCH, 0), stats["requests_total"]
                rounds.samples.append(
                    RoundSample(measured, searches - rounds._last[0], requests - rounds._last[1], len(found.jobs))
                )
                rounds._last = (searches, requests)
                rounds.loops.add(id(self))
                rounds.since_start += rounds.started
                return found

        JobEventSearch.round = counted  # type: ignore[method-assign]

    def _before_round(self) -> bool:
        if self.start and not self.started:
            self.started = True
            self.emulator.advance(AHEAD)
            for name, spec in SCHEDULES.items():
                self.emulator.set_job_schedule(name, **spec)
        if self.started and self.measured_left > 0:
            self.emulator.advance(STEP)
            self.measured_left -= 1
            return True
        return False

    def after_start(self) -> int:
        """Rounds since the schedules started (measured, then idle); read from the event loop."""
        return self.since_start


@dataclass
class WatcherRun:
    size: int
    path: str
    samples: list[RoundSample]
    loops: int
    events: list[list[dict[str, Any]]]
    expected: list[set[str]]
    jobs_seen: int
    ready_seconds: float
    seconds: float


class Ready:
    """Counts watchers that have loaded their watermark and are about to read the stream: loading
    it is the last thing the trigger does before its first read of the shared stream."""

    def __init__(self) -> None:
        self.count = 0
        original, ready = ModelArtsTrainingJobEventTrigger._load_watermark, self

        async def counted(self: ModelArtsTrainingJobEventTrigger) -> tuple[Watermark, bool]:
            loaded = await original(self)
            ready.count += 1
            return loaded

        self._original = original
        ModelArtsTrainingJobEventTrigger._load_watermark = counted  # type: ignore[method-assign]

    def remove(self) -> None:
        ModelArtsTrainingJobEventTrigger._load_watermark = self._original  # type: ignore[method-assign]


async def _consume(stream: Any, into: list[dict[str, Any]]) -> None:
    async for event in stream:
        into.append(dict(event.payload))


async def _watch(
    triggers: list[ModelArtsTrainingJobEventTrigger], path: str, rounds: Rounds
) -> tuple[list[list[dict[str, Any]]], float]:
    """Run the watchers until the measured and idle rounds are done; their events, and how long
    they took to be ready."""
    events: list[list[dict[str, Any]]] = [[] for _ in triggers]
    ready = Ready()
    manager: Any = None
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    try:
        if path == "manager":
            from airflow.triggers.shared_stream import SharedStreamManager

            manager = SharedStreamManager()
            streams: list[Any] = [
                trigger.filter_shared_stream(
                    manager.subscribe(trigger_id=index, trigger=trigger, key=trigger.shared_stream_key())
                )
                for index, trigger in enumerate(triggers)
            ]
        else:
            streams = [trigger.run() for trigger in triggers]
        tasks = [loop.create_task(_consume(stream, into)) for stream, into in zip(streams, events, strict=True)]
        deadline = start + RUN_TIMEOUT
        while ready.count < len(triggers) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        ready_seconds = time.monotonic() - start
        rounds.start = True
        while rounds.after_start() < MEASURED_ROUNDS + IDLE_ROUNDS and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(POLL_INTERVAL / 2)  # the last idle round's fan-out reaches every watcher
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stream in streams:
            await stream.aclose()
        if manager is not None:
            for index, trigger in enumerate(triggers):
                await manager.unsubscribe(index, trigger.shared_stream_key())
            await manager.stop_all()
    finally:
        ready.remove()
    return events, ready_seconds


def _expected(
    emulator: EmulatorProcess, triggers: list[ModelArtsTrainingJobEventTrigger]
) -> tuple[list[set[str]], int]:
    """What each watcher should have fired for: the jobs the emulator reports in a watched phase
    whose names contain the filter (written out here, not the provider's own rule)."""
    hook = ModelArtsHook(CONN_ID)
    try:
        jobs = [
            (str(job["metadata"]["id"]), job["metadata"]["name"], job["status"]["phase"])
            for job in hook.iter_training_jobs_v2()
        ]
    finally:
        hook.close()
    expected = [
        {
            job_id
            for job_id, name, phase in jobs
            if phase in TERMINAL
            and phase in trigger.phases
            and (trigger.name_filter is None or trigger.name_filter in name)
        }
        for trigger in triggers
    ]
    return expected, len(jobs)


def measure_one(size: int, path: str) -> WatcherRun:
    # Its own emulator, on its manual clock, with no seeded jobs: the project holds the scheduled
    # jobs only. In its own process and over TLS, as every measurement runs it (common.bench_emulator).
    with EmulatorProcess(
        jobs=0, v2_jobs=0, speed=1.0, tls=True, quiet=True, extra_args=("--manual-clock",)
    ) as emulator:
        emulator.install_connection(CONN_ID)
        emulator.reset()
        rounds = Rounds(emulator)
        original = JobEventSearch.round
        rounds.install()
        try:
            triggers = [make_trigger(index) for index in range(size)]
            start = time.monotonic()
            events, ready_seconds = asyncio.run(_watch(triggers, path, rounds))
            seconds = time.monotonic() - start
        finally:
            JobEventSearch.round = original  # type: ignore[method-assign]
        expected, jobs_seen = _expected(emulator, triggers)
    return WatcherRun(
        size, path, rounds.samples, len(rounds.loops), events, expected, jobs_seen, ready_seconds, seconds
    )


def correct(run: WatcherRun) -> int:
    """Watchers whose events are exactly their expected jobs, each once, each with its own data."""
    good = 0
    for events, expected in zip(run.events, run.expected, strict=True):
        ids = [event.get("training_job_id") for event in events]
        complete = len(ids) == len(set(ids)) and set(ids) == expected
        good += complete and all(event.get("phase") in TERMINAL and event.get("name") for event in events)
    return good


def measure() -> Section:
    section = Section("g", "Job-event watchers: W watchers of one connection, one search per interval")
    runs: list[WatcherRun] = []
    for path in PATHS:
        for size in SIZES:
            clock = time.monotonic()
            runs.append(measure_one(size, path))
            print(f"[bench] g: {path} W={size} in {time.monotonic() - clock:.1f} s", file=sys.stderr, flush=True)
    _report(section, runs)
    return section


def _report(section: Section, runs: list[WatcherRun]) -> None:
    for path in PATHS:
        mine = [run for run in runs if run.path == path]
        name = "run()" if path == "run" else "3.3 manager"
        for run in mine:
            later = [sample.searches for sample in run.samples[1:]]  # every round after the first
            worst, total = max(later), sum(sample.searches for sample in run.samples)
            naive = run.size * len(run.samples)
            section.row(
                f"{name}, W={run.size:,} watchers: search requests per interval",
                f"max {worst}, median {median(later):.0f}; first round {run.samples[0].searches}; "
                f"{total} in {len(run.samples)} intervals",
                f"{run.size:,} per interval; {naive:,} in the run (1 search per watcher; computed)",
                f"{times(naive / total)} fewer in the run" if run.size > 1 else INFO,
                "<= 1 per interval after the first",
                verdict(worst <= 1 and run.loops == 1),
            )
        good = [correct(run) for run in mine]
        section.row(
            f"{name}: watchers with each matching job once, nothing else",
            ", ".join(f"{g:,}/{run.size:,}" for g, run in zip(good, mine, strict=True))
            + f" ({', '.join(f'{sum(len(e) for e in run.events):,}' for run in mine)} events)",
            "-",
            "-",
            "all",
            verdict(all(g == run.size for g, run in zip(good, mine, strict=True))),
        )
    sizes = ", ".join(f"{size:,}" for size in SIZES)
    schedules = ", ".join(f"{name} every {spec['every']} s" for name, spec in SCHEDULES.items())
    section.notes += [
        f"For each W in ({sizes}) and each path ({'; '.join(PATH_NAMES[path] for path in PATHS)}): a fresh "
        f"emulator on its manual clock; W watchers with {len(NAME_FILTERS)} name filters x {len(PHASE_SETS)} "
        f"phase sets, poll interval {POLL_INTERVAL} s. Once every watcher was reading, the clock jumped "
        f"{AHEAD:.0f} s and three job schedules started ({schedules}; Completed, Failed and Terminated "
        f"outcomes); then {MEASURED_ROUNDS} rounds each after a {STEP:.0f} s step, and {IDLE_ROUNDS} with the "
        "clock still. Requests are counted at the emulator (`by_endpoint.search_training_jobs`) after each round.",
        "The first round costs 2 searches: it also seeds the jobs in progress, and reads back over the jobs "
        "created in the last day (none here: the project starts empty; N such jobs cost ceil(N/50) pages). "
        "A later round reads one page "
        "while the jobs created since the oldest job in progress (plus a minute) fit in it; here at most "
        f"{max(sample.jobs for run in runs for sample in run.samples)} of the page's 50.",
    ]
    for path in PATHS:
        mine = [run for run in runs if run.path == path]
        section.notes.append(
            f"{PATH_NAMES[path]}: "
            + "; ".join(
                f"W={run.size:,} {run.seconds:.1f} s ({run.ready_seconds:.1f} s until every watcher read the "
                f"stream), {len(run.samples)} rounds, {run.loops} search loop, max "
                f"{max(s.requests for s in run.samples[1:])} API request per round after the first"
                for run in mine
            )
            + f". The project held {mine[-1].jobs_seen} jobs at the end."
        )


def main(argv: Sequence[str] | None = None) -> int:
    return section_main(measure, "benchmarks.job_events", "g", argv)


if __name__ == "__main__":
    sys.exit(main())
