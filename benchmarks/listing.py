"""(a) Listing every job of a T=10,000-job project: requests made and wall time.

Three clients list the same project, interleaved run by run so that machine noise hits all three:

* **hook**: ``ModelArtsHook.iter_training_jobs()`` as a DAG would call it (a new hook per run, so
  each run pays its one TLS handshake and its connection lookup).
* **floor**: a bare ``requests.Session`` GETting exactly the pages the hook fetched (per_page
  1000), with no signing in the timed loop: each page's headers were signed *before* the clock
  started. The emulator still verifies them, so server work is the same as for the hook and the
  ratio isolates what the hook adds on the client (signing, validation, retries, decoding).
* **naive**: what the existing Huawei provider's hook does (apache-airflow-providers-huawei 1.7.0):
  a fresh ``requests.request`` per call, so a new TCP connection and TLS handshake each time,
  signed with ``huaweicloudsdkcore``, at the API's default per_page of 10.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from modelarts_emulator import config as emulator_config
from modelarts_emulator.process import EmulatorProcess, Timeline

from airflow_provider_modelarts import api
from airflow_provider_modelarts.cloud.auth import AkSkAuth
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from benchmarks.common import Section, bench_emulator, median, spread, times, verdict

CONN_ID = "modelarts_bench_listing"
JOB_COUNT = 10_000
NAIVE_PER_PAGE = api.DEFAULT_PER_PAGE
# Statuses of the listed jobs: their rows differ a little in size, as in a real project.
_TIMELINES: tuple[Timeline, ...] = (((10, None),), ((11, None),), ((8, None),), ((12, None),), ((7, None),))
# Headers the floor sends pre-signed: what AkSkAuth signs, plus the result.
_SIGNED_HEADERS = ("Content-Type", "Host", "X-Sdk-Date", "X-Project-Id", "Authorization")


@dataclass(frozen=True)
class Run:
    seconds: float
    jobs: int
    requests: int
    connections: int


class ListingBench:
    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        self.page_urls: list[str] = []

    def measure(self, client: Callable[[], int]) -> Run:
        """Time one listing; the request and connection counts are the emulator's own."""
        self.emulator.reset()
        start = time.perf_counter()
        jobs = client()
        seconds = time.perf_counter() - start
        stats = self.emulator.stats()
        return Run(seconds, jobs, int(stats["requests_total"]), int(stats["connections_opened"]))

    # -- the three clients ------------------------------------------------------------------

    def hook(self) -> int:
        hook = ModelArtsHook(CONN_ID)
        try:
            return sum(1 for _ in hook.iter_training_jobs())
        finally:
            hook.close()

    def learn_page_urls(self) -> None:
        """The exact URLs (path and canonical query) of the hook's pages, as the emulator saw them."""
        self.emulator.reset()
        self.hook()
        self.page_urls = [
            f"{self.emulator.url}{entry['path']}?{entry['query']}" for entry in self.emulator.stats()["requests"]
        ]

    def presigned_pages(self) -> list[tuple[str, dict[str, str]]]:
        """Each page URL with valid signed headers, built outside the timed region.

        X-Sdk-Date is accepted for 15 minutes, so signing right before each floor run is enough.
        """
        auth = AkSkAuth(
            emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY, self.emulator.project_id
        )
        pages = []
        for url in self.page_urls:
            prepared = requests.Request("GET", url, headers={"Content-Type": "application/json"}).prepare()
            auth(prepared)
            pages.append((url, {name: prepared.headers[name] for name in _SIGNED_HEADERS}))
        return pages

    def floor(self, pages: list[tuple[str, dict[str, str]]]) -> int:
        jobs = 0
        with requests.Session() as session:
            for url, headers in pages:
                # verify per request: a session-level verify loses to REQUESTS_CA_BUNDLE (see run.py).
                response = session.get(url, headers=headers, verify=self.emulator.ca_bundle, timeout=30)
                response.raise_for_status()
                jobs += len(json.loads(response.content)["jobs"])
        return jobs

    def naive(self, max_pages: int | None = None) -> int:
        credentials = BasicCredentials(
            emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY, self.emulator.project_id
        )
        host = urlsplit(self.emulator.url).netloc
        path = api.training_jobs_path(self.emulator.project_id)
        seen, page = 0, 1
        while max_pages is None or page <= max_pages:
            query: list[tuple[str, object]] = [
                ("per_page", str(NAIVE_PER_PAGE)),
                ("page", str(page)),
                ("sortBy", "job_name"),
                ("order", "asc"),
            ]
            request = credentials.sign_request(
                SdkRequest("GET", "https", host, path, query_params=query, header_params={})
            )
            # requests.request opens a new session, so a new connection and TLS handshake, every call.
            response = requests.request(
                "GET", request.url, headers=request.header_params, verify=self.emulator.ca_bundle, timeout=30
            )
            response.raise_for_status()
            body = json.loads(response.content)
            seen += len(body["jobs"])
            # Stop as the hook does (short page, or every job seen), so both make their fewest calls.
            if len(body["jobs"]) < NAIVE_PER_PAGE or seen >= body["job_total_count"]:
                break
            page += 1
        return seen


def run(runs: int, naive_runs: int) -> Section:
    section = Section("a", f"Listing all T={JOB_COUNT:,} jobs")
    with bench_emulator() as emulator:
        emulator.create_jobs(
            [(f"bench-list-{index:05d}", _TIMELINES[index % len(_TIMELINES)]) for index in range(JOB_COUNT)]
        )
        emulator.install_connection(CONN_ID)
        bench = ListingBench(emulator)
        # Warm-up: imports, TLS code paths and the emulator's sort cache; not counted.
        bench.learn_page_urls()
        bench.floor(bench.presigned_pages())
        bench.naive(max_pages=20)

        hook_runs: list[Run] = []
        floor_runs: list[Run] = []
        naive_runs_done: list[Run] = []
        for index in range(runs):
            pages = bench.presigned_pages()
            # Alternate who goes first, so neither always runs right after the other's garbage.
            order = ("hook", "floor") if index % 2 == 0 else ("floor", "hook")
            for name in order:
                if name == "hook":
                    hook_runs.append(bench.measure(bench.hook))
                else:
                    floor_runs.append(bench.measure(functools.partial(bench.floor, pages)))
            if index < naive_runs:
                naive_runs_done.append(bench.measure(bench.naive))

    _report(section, hook_runs, floor_runs, naive_runs_done)
    return section


def _report(section: Section, hook: list[Run], floor: list[Run], naive: list[Run]) -> None:
    expected_requests = math.ceil(JOB_COUNT / api.PER_PAGE_RANGE[1])
    hook_time, floor_time, naive_time = (median([run.seconds for run in runs]) for runs in (hook, floor, naive))
    hook_requests = {run.requests for run in hook}
    complete = all(run.jobs == JOB_COUNT for run in (*hook, *floor, *naive))
    requests_figure = "/".join(str(count) for count in sorted(hook_requests))

    section.row(
        "Requests to list all jobs (hook)",
        requests_figure,
        f"ceil(T/1000) = {expected_requests}",
        "-",
        f"exactly {expected_requests}",
        verdict(hook_requests == {expected_requests} and complete),
    )
    section.row(
        "Wall time, hook vs floor",
        f"{hook_time * 1000:.0f} ms",
        f"{floor_time * 1000:.0f} ms (bare Session, pre-signed)",
        times(hook_time / floor_time),
        "<= 1.3x floor",
        verdict(hook_time / floor_time <= 1.3),
    )
    naive_requests = sorted({run.requests for run in naive})
    section.row(
        "Wall time, hook vs existing providers' pattern",
        f"{hook_time * 1000:.0f} ms",
        f"{naive_time:.2f} s ({'/'.join(map(str, naive_requests))} requests, new connection each)",
        f"{times(naive_time / hook_time)} faster",
        ">= 10x faster",
        verdict(naive_time / hook_time >= 10),
    )
    section.notes += [
        f"Medians of {len(hook)} runs (hook, floor) and {len(naive)} runs (naive) after one warm-up run each; "
        f"spread hook {spread([r.seconds for r in hook])}, floor {spread([r.seconds for r in floor])}, "
        f"naive {min(r.seconds for r in naive):.2f}-{max(r.seconds for r in naive):.2f} s.",
        f"Every run of every client returned all {JOB_COUNT:,} jobs: {'yes' if complete else 'NO'}. "
        f"TLS connections opened per run: hook {median([r.connections for r in hook]):.0f}, "
        f"floor {median([r.connections for r in floor]):.0f}, naive {median([r.connections for r in naive]):.0f}.",
        f"Per request: hook {hook_time / max(hook_requests) * 1000:.1f} ms for a 1000-job page, "
        f"naive {naive_time / max(naive_requests) * 1000:.2f} ms for a 10-job page, each on a new connection "
        "with its own TLS handshake.",
        "The floor sends the hook's own page URLs with headers signed before its clock starts; the emulator "
        "still verifies every signature, so server time is identical and unsigned requests were not needed.",
    ]
