"""(f) service fleet: W=1,200 deferred service triggers waiting at once in one event loop.

The project holds exactly the W watched real-time services (T = W), all deploying, each of one
published model. Each ends at its own instant, staggered over half a minute: 80% ``running``, 10%
``failed`` (with an ``error_msg``), 10% ``concerning`` (a warning by default). The triggers run as
the triggerer runs them: re-created from ``serialize()``, one task each iterating ``run()``, all in
one event loop of a fresh interpreter (``run.py`` starts ``python -m benchmarks.fleet_services``).

Measured, as in (e): the requests of each shared round (the poller hook's count, sampled each time
a round completes), checked against the issue's bound ``ceil(W / limit) + E``, read as the poller states it,
``min(W, ceil(T / limit)) + E`` with T = W watched services at the start (limit = 1,000, the v1
list's page size, ``waiting/poller_inference.py``; the list pages cover every service of the project,
so a round costs ceil(T / limit) pages even after some waits ended), W the triggers waiting before the round, E
the round's direct requests for services whose wait ends with them: the ``GET`` of a ``failed`` or
``concerning`` service and its events). A direct read that finds a service still deploying is
not in E: it counts against the bound. Also: exactly one correct event per trigger, and the loop's lag.

The baseline is the one-call-per-sensor pattern (one ``GET`` per waiting trigger per interval),
computed from the same run.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelarts_emulator.process import EmulatorProcess

from airflow_provider_modelarts.cloud.inference.common import DEFAULT_LIMIT
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.triggers.inference import ModelArtsServiceTrigger
from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
from airflow_provider_modelarts.waiting.poller_inference import SERVICE_DETAIL_STATUSES
from benchmarks.common import INFO, Section, bench_emulator, median, percentile, section_main, verdict
from benchmarks.fleet import (
    LAG_GOAL,
    FullCollections,
    LoopWatch,
    TriggerOutcome,
    lag_story,
    worst_outside_gc,
)
from benchmarks.fleet import (
    FleetRun as TriggerFleetRun,
)

CONN_ID = "modelarts_bench_fleet_services"
WATCHERS = 1200
POLL_INTERVAL = 1.0
FIRST_FINISH = 3.0  # seconds after the triggers start
FINISH_SPREAD = 30.0
RUN_TIMEOUT = FIRST_FINISH + FINISH_SPREAD + 90.0
PREFIX = "bench-svc-"


@dataclass(frozen=True)
class WatchedService:
    service_id: str
    final: str  # running, failed or concerning
    finishes_at: float = 0.0

    @property
    def expected(self) -> str:
        return "failed" if self.final == "failed" else "success"


def make_trigger(service: WatchedService) -> ModelArtsServiceTrigger:
    """A service trigger re-created from its serialized form, as the triggerer does."""
    classpath, kwargs = ModelArtsServiceTrigger(
        service.service_id,
        ["running"],
        ["failed"],
        CONN_ID,
        poll_interval=POLL_INTERVAL,
        end_time=time.time() + RUN_TIMEOUT,
    ).serialize()
    module, _, name = classpath.rpartition(".")
    trigger_class: type[ModelArtsServiceTrigger] = getattr(importlib.import_module(module), name)
    return trigger_class(**kwargs)


async def run_trigger(trigger: ModelArtsServiceTrigger, outcome: TriggerOutcome) -> None:
    async for event in trigger.run():
        if not outcome.events:
            outcome.at = time.monotonic()
        outcome.events.append(dict(event.payload))


@dataclass
class CallLog:
    """The shared poller's direct requests, counted by wrapping the hook's two service reads."""

    reads: int = 0
    ended_reads: int = 0  # GETs that found a service whose wait ends (failed, concerning)
    events: int = 0


CALLS = CallLog()


def count_calls() -> None:
    get_service, list_events = ModelArtsHook.get_service, ModelArtsHook.list_service_events

    def counted_get(self: ModelArtsHook, service_id: str) -> dict[str, Any]:
        CALLS.reads += 1
        service = get_service(self, service_id)
        CALLS.ended_reads += service.get("status") in SERVICE_DETAIL_STATUSES
        return service

    def counted_events(self: ModelArtsHook, service_id: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        CALLS.events += 1
        return list_events(self, service_id, *args, **kwargs)

    ModelArtsHook.get_service = counted_get  # type: ignore[method-assign]
    ModelArtsHook.list_service_events = counted_events  # type: ignore[method-assign]


@dataclass(frozen=True)
class RoundCalls:
    round_number: int
    reads: int
    ended_reads: int
    events: int


class ServiceLoopWatch(LoopWatch):
    def __init__(self, outcomes: list[TriggerOutcome]) -> None:
        super().__init__(outcomes)
        self.calls: list[RoundCalls] = []

    def _sample(self) -> None:
        super()._sample()
        pollers = SharedStatusPoller.active()
        if pollers and (not self.calls or pollers[0].rounds_run != self.calls[-1].round_number):
            self.calls.append(RoundCalls(pollers[0].rounds_run, CALLS.reads, CALLS.ended_reads, CALLS.events))


@dataclass
class FleetRun(TriggerFleetRun):
    """(d)'s run record (ticks, full collections) plus the poller's direct reads per round."""

    calls: list[RoundCalls] = field(default_factory=list)


async def _fleet(services: list[WatchedService]) -> FleetRun:
    outcomes = [TriggerOutcome() for _ in services]
    triggers = [make_trigger(service) for service in services]
    watch = ServiceLoopWatch(outcomes)
    stop = asyncio.Event()
    with FullCollections() as collections:
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
    return FleetRun(outcomes, watch.ticks, watch.samples, collections.pauses, total, seconds, watch.calls)


def _finals() -> list[str]:
    finals = {8: "failed", 9: "concerning"}
    return [finals.get(index % 10, "running") for index in range(WATCHERS)]


def _create_services(emulator: EmulatorProcess) -> list[WatchedService]:
    """One published model, then W services deploying until their timelines are set."""
    emulator.set_model_plan("bench-model", [("building", 0.1), ("published", None)])
    emulator.set_service_plan(PREFIX, [("deploying", None)])
    hook = ModelArtsHook(CONN_ID)
    try:
        model_id = hook.create_model(
            {"model_name": "bench-model", "model_version": "1.0.0", "source_location": "obs://bench/model/",
             "model_type": "PyTorch"}
        )["model_id"]  # fmt: skip
        time.sleep(0.5)
        config = [{"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "weight": 100}]
        ids = [
            hook.create_service({"service_name": f"{PREFIX}{index:05d}", "infer_type": "real-time", "config": config})[
                "service_id"
            ]
            for index in range(WATCHERS)
        ]
    finally:
        hook.close()
    return [WatchedService(service_id, final) for service_id, final in zip(ids, _finals(), strict=True)]


def _start_timelines(emulator: EmulatorProcess, services: list[WatchedService]) -> list[WatchedService]:
    rng = random.Random(7)
    ranks = list(range(len(services)))
    rng.shuffle(ranks)
    started = []
    for service, rank in zip(services, ranks, strict=True):
        deploying = FIRST_FINISH + FINISH_SPREAD * rank / (len(services) - 1)
        emulator.set_service_timeline(service.service_id, [("deploying", deploying), (service.final, None)])
        started.append(WatchedService(service.service_id, service.final, time.monotonic() + deploying))
    return started


def _correct(service: WatchedService, outcome: TriggerOutcome) -> bool:
    if len(outcome.events) != 1:
        return False
    event = outcome.events[0]
    return (
        event.get("status") == service.expected
        and event.get("service_id") == service.service_id
        and event.get("resource_status") == service.final
        and bool(event.get("warning")) == (service.final == "concerning")
        and outcome.at >= service.finishes_at - 0.05
    )


def measure() -> Section:
    title = f"service fleet: W={WATCHERS:,} deferred service triggers, T=W services, limit {DEFAULT_LIMIT}"
    section = Section("f", title)
    clock = time.monotonic()
    with bench_emulator() as emulator:
        emulator.install_connection(CONN_ID)
        services = _create_services(emulator)
        print(f"[bench] f: {len(services)} services created in {time.monotonic() - clock:.0f} s", file=sys.stderr)
        emulator.reset()
        count_calls()
        services = _start_timelines(emulator, services)
        fleet = asyncio.run(_fleet(services))
        stats = emulator.stats()
    _report(section, services, fleet, stats)
    return section


def _report(section: Section, services: list[WatchedService], fleet: FleetRun, stats: dict[str, Any]) -> None:
    samples = fleet.samples
    per_round = [later.requests - earlier.requests for earlier, later in zip(samples, samples[1:], strict=False)]
    calls = list(zip(fleet.calls, fleet.calls[1:], strict=False))
    ended = [(b.ended_reads - a.ended_reads) + (b.events - a.events) for a, b in calls]
    stray = [(b.reads - a.reads) - (b.ended_reads - a.ended_reads) for a, b in calls]
    # The list pages cover the project (T = W services at the start, all still there: a service
    # that ended its wait is not deleted), so a round's list costs ceil(T / limit) pages.
    pages = math.ceil(WATCHERS / DEFAULT_LIMIT)
    bounds = [min(sample.waiting, pages) + e for sample, e in zip(samples, ended, strict=False)]
    within = sum(1 for spent, bound in zip(per_round, bounds, strict=False) if spent <= bound)
    compared = min(len(per_round), len(bounds))
    over = [(n, s, b) for n, (s, b) in enumerate(zip(per_round, bounds, strict=False), start=1) if s > b]
    naive_rounds = [sample.waiting for sample in samples[:-1]]
    naive_total = WATCHERS + sum(naive_rounds)
    correct = sum(_correct(service, outcome) for service, outcome in zip(services, fleet.outcomes, strict=True))
    worst_lag = max(fleet.lags, default=0.0)
    by_endpoint = stats.get("by_endpoint", {})
    section.row(
        "service requests per round (list pages + direct reads)",
        f"max {max(per_round)}, median {median(per_round):.0f}; first round {per_round[0]}",
        f"{max(naive_rounds)} (1 GET per waiting sensor; computed)",
        f"{max(naive_rounds) / max(median(per_round), 1):.0f}x fewer (median round)",
        f"<= min(W, ceil(T/{DEFAULT_LIMIT})) + E each round, T = W at the start ({pages} in the first)",
        verdict(within == compared and compared > 0),
    )
    section.row(
        "service requests in the whole run",
        f"{fleet.total_requests:,}",
        f"{naive_total:,} (naive, computed)",
        f"{naive_total / max(fleet.total_requests, 1):.0f}x fewer",
        "(report)",
        INFO,
    )
    section.row(
        "service triggers with exactly one event, their own and correct",
        f"{correct}/{len(services)}",
        "-",
        "-",
        f"{len(services)}/{len(services)}",
        verdict(correct == len(services)),
    )
    section.row(
        "service fleet: event loop lag, worst (p99)",
        f"{worst_lag * 1000:.0f} ms ({percentile(fleet.lags, 0.99) * 1000:.1f} ms)",
        "-",
        "-",
        f"< {LAG_GOAL * 1000:.0f} ms",
        verdict(worst_lag < LAG_GOAL),
    )
    section.row(
        "... worst lag outside full GC pauses",
        f"{worst_outside_gc(fleet) * 1000:.0f} ms",
        "-",
        "-",
        "(diagnosis)",
        INFO,
    )
    delays = [o.at - s.finishes_at for s, o in zip(services, fleet.outcomes, strict=True) if o.events]
    section.notes += [
        f"One run of {fleet.seconds:.0f} s: {len(services):,} service triggers, poll interval {POLL_INTERVAL:.0f} s, "
        f"services ending {FIRST_FINISH:.0f}-{FIRST_FINISH + FINISH_SPREAD:.0f} s after the start (80% running, "
        f"10% failed, 10% concerning). Time from a service's end to its event: median {median(delays):.2f} s, "
        f"max {max(delays):.2f} s. {compared} shared rounds, {within} within min(W, ceil(T/{DEFAULT_LIMIT})) + E "
        "(W: triggers still waiting before the round; T: the project's services, the W watched ones, which stay "
        "listed after their waits end; E: the round's GETs of failed/concerning services and "
        f"their events lists). Direct reads that found a service still deploying: {sum(stray)}. Endpoints "
        f"served: {', '.join(f'{k} {v:,}' for k, v in sorted(by_endpoint.items()))}.",
        f"Lag, {len(fleet.ticks):,} ticks: {lag_story(fleet)}",
    ]
    if over:
        worst = ", ".join(f"round {n}: {s} > {b}" for n, s, b in over[:6])
        section.notes.append(f"Gap (requests): {len(over)} rounds cost more than the bound ({worst}).")


def main(argv: Sequence[str] | None = None) -> int:
    return section_main(measure, "benchmarks.fleet_services", "f", argv)


if __name__ == "__main__":
    sys.exit(main())
