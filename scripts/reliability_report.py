"""Run the reliability suites and write their figures into docs/reliability.md.

Runs ``tests/reliability`` (the fault matrix, the bad-input matrix, the secret-leak scan and restart
safety; ``make test`` runs the same tests) with a results directory in which each test records what
it tried, then replaces the block of docs/reliability.md between ``<!-- reliability:start -->`` and
``<!-- reliability:end -->`` with a short table of those figures. Nothing is written unless every
test passed, so the documentation never shows figures of a failing run.

    .venv/bin/python scripts/reliability_report.py            # run, then rewrite the block in docs/reliability.md
    .venv/bin/python scripts/reliability_report.py --dry-run  # run, then print the block only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "reliability.md"
START_MARKER = "<!-- reliability:start -->"
END_MARKER = "<!-- reliability:end -->"
RESULTS_ENV = "MODELARTS_RELIABILITY_RESULTS"  # read by tests/reliability/support.py
COMMAND = ".venv/bin/python scripts/reliability_report.py"
SUITES = ("test_fault_matrix", "test_bad_inputs", "test_secret_leaks", "test_restart_safety", "test_training_lifecycle")


@dataclass(frozen=True)
class TestCounts:
    passed: int
    failed: int
    skipped: int
    by_suite: dict[str, int]


def run_suites(results: Path) -> tuple[int, float, Path]:
    """Run the suites; returns pytest's exit code, the wall time and the JUnit XML path."""
    junit = results / "junit.xml"
    env = {**os.environ, RESULTS_ENV: str(results)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability",
               f"--junitxml={junit}"]  # fmt: skip
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT, env=env).returncode
    return code, time.monotonic() - started, junit


def count_tests(junit: Path) -> TestCounts:
    passed = failed = skipped = 0
    by_suite: Counter[str] = Counter()
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        outcome = {child.tag for child in case}
        if outcome & {"failure", "error"}:
            failed += 1
        elif "skipped" in outcome:
            skipped += 1
        else:
            passed += 1
            suite = next((name for name in SUITES if name in case.get("classname", "")), "other")
            by_suite[suite] += 1
    return TestCounts(passed, failed, skipped, dict(by_suite))


def read_records(results: Path, suite: str) -> list[dict[str, Any]]:
    path = results / f"{suite}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fault_row(records: list[dict[str, Any]]) -> str:
    faults = sorted({record["fault"] for record in records})
    layers = sorted({record["layer"] for record in records})
    recovered = sum(1 for record in records if record["expected"] == "success" and record["outcome"] == "success")
    typed = sum(1 for record in records if record["expected"] != "success" and record["outcome"] != "success")
    wrong = sum(1 for record in records if record["expected"] != "success" and record["outcome"] == "success")
    auth_cases = [record for record in records if record["auth_refusal"]]
    retried_auth = sum(1 for record in auth_cases if record["auth_requests_refused"] > 1)
    within = sum(1 for record in records if record["within_budget"])
    exact = sum(1 for record in records if record["exact_count"])
    texts = sum(1 for record in records if record["outcome"] != "success")
    leaks = sum(record["leaks"] for record in records)
    v2_cases = sum(1 for record in records if record["layer"].startswith("v2_"))
    return (
        f"| Fault matrix | {len(faults)} faults × {len(layers)} layers (v1: hook, both operators, sensor poke, "
        "deferred trigger; v2: hook get and search, search operator, phase sensor poke, phase trigger) = "
        f"**{len(records)} cases** ({len(records) - v2_cases} v1, {v2_cases} v2) | "
        f"{recovered} recovered within the retry budget, {typed} ended in their typed error; "
        f"wrong successes: **{wrong}**; 401/403 retried: **{retried_auth}** (of {len(auth_cases)} refusals); "
        f"requests within the retry budget: {within}/{len(records)} (exact count asserted in {exact}); "
        f"{texts} error texts checked for secrets: {leaks} found |"
    )


def fault_list(records: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(record["fault"] for record in records))
    return "Faults: " + "; ".join(name.replace("_", " ") for name in names) + "."


def bad_input_row(records: list[dict[str, Any]]) -> str:
    targets = Counter(record["target"] for record in records)
    moments = Counter(record["when"] for record in records)
    spread = ", ".join(f"{target} {count}" for target, count in sorted(targets.items()))
    when = ", ".join(f"{moment} {count}" for moment, count in sorted(moments.items()))
    return (
        f"| Bad inputs | **{len(records)} invalid inputs** ({spread}); refused at {when} | "
        f"{len(records)}/{len(records)} refused naming the parameter and what is allowed; requests sent: **0** |"
    )


def leak_row(records: list[dict[str, Any]]) -> str:
    """One row for the leak scan's cases (one record per case, each its own test)."""
    if not records:
        return "| Secret-leak scan | not run | - |"
    runs = [run for record in records for run in record["runs"]]
    kinds: Counter[str] = Counter()
    places: Counter[str] = Counter()
    for record in records:
        kinds.update(record["secrets_by_kind"])
        places.update(record["places"])
    findings = sum(len(record["findings"]) for record in records)
    scanned = sum(record["secrets_scanned"] for record in records)
    megabytes = sum(record["bytes_scanned"] for record in records) / 1e6
    dags = ", ".join(dict.fromkeys(f"`{run['dag_id']}`" for run in runs))
    temporary = (
        kinds["temporary_secret_key"]
        + kinds["security_token_seen"]
        + kinds["metadata_session_token"]
        + kinds["id_token_seen"]
    )
    return (
        f"| Secret-leak scan | {len(runs)} `airflow dags test` runs of the example DAGs {dags} in {len(records)} "
        f"cases (AK/SK with security token, IAM password; poke and deferrable; a failed job; the model "
        f"lifecycle's deferred model and service waits; wrong SK; wrong password; temporary credentials from "
        f"the metadata service, IAM federation and the default chain, renewed during the run). "
        f"**{scanned} secret values**: AK, SK, security token, password, wrong SK, wrong password, ID token, "
        f"{kinds['iam_token']} IAM tokens, {kinds['signature']} request signatures, {temporary} issued or presented "
        f"temporary secrets (secret keys, security tokens, metadata session tokens, ID tokens); searched in "
        f"{places['task and trigger log lines (stdout/stderr)']} task and trigger log lines, "
        f"{places['exception tracebacks']} tracebacks, {places['XCom values']} XCom values, "
        f"{places['trigger kwargs']} trigger kwargs and every byte of the metadata DB "
        f"({megabytes:.1f} MB in all) | secrets found: **{findings}** |"
    )


def restart_row(records: list[dict[str, Any]]) -> str:
    restarts = [record for record in records if record["case"].endswith(("_restart", "_down"))]
    shared = len(records) - len(restarts)
    outcomes = ", ".join(sorted({record["outcome"] for record in restarts}))
    return (
        f"| Restart safety | {len(restarts)} triggers cancelled mid-wait and re-created from their serialised "
        f"form (outcomes: {outcomes}); {shared} cases of sensors or triggers sharing a job | same outcome as an "
        f"undisturbed trigger: {len(restarts)}/{len(restarts)}; interference: **0** |"
    )


def lifecycle_row(records: list[dict[str, Any]]) -> str:
    def of(kind: str) -> list[dict[str, Any]]:
        return [record for record in records if record["kind"] == kind]

    jobs = [record for record in records if record["kind"] != "logs"]
    duplicates = sum(max(0, record["jobs"] - record["expected_jobs"]) for record in jobs)
    orphans = sum(record["orphans"] for record in jobs)
    logs = of("logs")
    creates = of("create")
    return (
        f"| Training lifecycle | create operator: {len(of('kill'))} kills (worker on_kill in Creating, Pending, "
        f"Running; deferred trigger on_kill), {len(of('retry'))} retries, crashes and Clears (crash in each phase "
        f"and after Completed, crash between create and record, retries after failed jobs, a Clear mid-run), "
        f"{len(creates)} creates answered with a fault (dropped mid-answer, answer after the timeout, gateway 502, "
        f"dropped before the service); {len(logs)} logs of "
        f"{min((r['lines'] for r in logs), default=0)}-{max((r['lines'] for r in logs), default=0)} lines followed "
        f"through {sum(r['restarts'] for r in logs)} follower restarts | duplicate jobs: **{duplicates}**; running "
        f"jobs nobody waits for: **{orphans}**; jobs per faulted create: "
        f"{max((r['jobs'] for r in creates), default=0)} at most; log lines lost: "
        f"**{sum(r['lost'] for r in logs)}**; lines repeated without the (repeated) mark: "
        f"**{sum(r['repeated_unmarked'] for r in logs)}** |"
    )


def inference_row(records: list[dict[str, Any]]) -> str:
    """The models and services rows of test_training_lifecycle.py (issue 19), recorded as ``inference_lifecycle``."""
    if not records:
        return "| Models and services | not run | - |"

    def of(kind: str, resource: str | None = None) -> list[dict[str, Any]]:
        return [r for r in records if r["kind"] == kind and (resource is None or r["resource"] == resource)]

    def duplicates(resource: str) -> int:
        return sum(max(0, r["count"] - r["expected"]) for r in records if r["resource"] == resource)

    kills = {r["case"]: r for r in of("kill")}
    actions = "; ".join(
        f"{case.removeprefix('kill_deploy_')}: {r['count']} service{'s' if r['count'] != 1 else ''}"
        for case, r in kills.items()
        if case.startswith("kill_deploy_")
    )
    creates = of("create")
    model_kills = [r for case, r in kills.items() if not case.startswith("kill_deploy_")]
    return (
        f"| Models and services | {len(kills)} kills (deploy operator killed while it waits, `on_kill_action` "
        f"stop, delete, none; model registration killed while it builds, then retried), {len(of('retry'))} crashes "
        f"and retries ({len(of('retry', 'model'))} of register, {len(of('retry', 'service'))} of deploy, each crashed "
        f"after its create), {len(creates)} ambiguous create answers ({len(of('create', 'model'))} for models, "
        f"{len(of('create', 'service'))} for services: the POST dropped mid-answer, answered after the timeout, "
        f"gateway 502, dropped before the service) | kill: {actions}; model: "
        f"{sum(r['count'] for r in model_kills)} model after its retry; duplicate models: **{duplicates('model')}**; "
        f"duplicate services: **{duplicates('service')}**; resources per faulted create: "
        f"{max((r['count'] for r in creates), default=0)} at most; live services nobody waits for: "
        f"**{sum(r['orphans'] for r in records)}** |"
    )


def render_block(counts: TestCounts, seconds: float, results: Path) -> str:
    lines = [
        START_MARKER,
        f"Figures from the last run of `{COMMAND}`, which runs `tests/reliability/` (part of `make test`) "
        f"and rewrites this block only if all {counts.passed} tests pass ({seconds:.0f} s on a 2-core machine).",
        "",
        "| Suite | Tried | Result |",
        "|---|---|---|",
        fault_row(read_records(results, "fault_matrix")),
        bad_input_row(read_records(results, "bad_inputs")),
        leak_row(read_records(results, "secret_leaks")),
        restart_row(read_records(results, "restart_safety")),
        lifecycle_row(read_records(results, "training_lifecycle")),
        inference_row(read_records(results, "inference_lifecycle")),
        "",
        fault_list(read_records(results, "fault_matrix")),
        END_MARKER,
    ]
    return "\n".join(lines)


def replace_block(document: str, block: str) -> str:
    start, end = document.find(START_MARKER), document.find(END_MARKER)
    if start < 0 or end < start:
        raise SystemExit(f"{REPORT.relative_to(ROOT)} has no {START_MARKER} ... {END_MARKER} block")
    return document[:start] + block + document[end + len(END_MARKER) :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="print the block instead of writing docs/reliability.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelarts-reliability-") as directory:
        results = Path(directory)
        code, seconds, junit = run_suites(results)
        if code != 0 or not junit.exists():
            print(
                f"The reliability suites failed (pytest exit code {code}); {REPORT.relative_to(ROOT)} was not changed."
            )
            return 1
        counts = count_tests(junit)
        if counts.failed or counts.skipped or set(counts.by_suite) != set(SUITES):
            print(f"Unexpected test outcomes {counts}; {REPORT.relative_to(ROOT)} was not changed.")
            return 1
        block = render_block(counts, seconds, results)
    if args.dry_run:
        print(block)
        return 0
    REPORT.write_text(replace_block(REPORT.read_text(encoding="utf-8"), block), encoding="utf-8")
    print(block)
    print(f"\n{REPORT.relative_to(ROOT)} updated ({counts.passed} tests passed in {seconds:.0f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
