"""``make bench``: run every measurement side by side with its baseline and print one Markdown table.

a. listing all 10,000 jobs of a project (hook vs a bare session vs the existing providers' pattern);
b. signing cost per request (this provider's signer vs huaweicloudsdkcore's);
c. import cost of the operators, the sensor and the trigger on top of ``import airflow.sdk``;
d. a fleet of 500 training-job triggers in one event loop over 5,000 jobs;
e. a fleet of 500 v2 phase triggers in one event loop over 1,500 active v2 jobs;
f. a fleet of 1,200 deferred service triggers in one event loop (models and services, issue 19);
g. W = 1 to 1,000 job-event watchers of one connection sharing one search per interval (issue 21).

The emulator runs in its own process with TLS on, so connection reuse counts as it does against
the cloud. Every figure is a median of several runs after a warm-up, next to a baseline measured
in the same run: absolute times vary with the machine and its load, ratios carry over.

``--update-docs`` (or its older name ``--update-readme``) also writes the report between the
``performance`` markers of docs/performance.md, which the README links to.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "performance.md"
START_MARKER = "<!-- performance:start -->"
END_MARKER = "<!-- performance:end -->"
MEASUREMENTS = ("a", "b", "c", "d", "e", "f", "g")
# requests lets these override a Session's own ``verify`` (psf/requests#3829). The hook sets only
# ``session.verify`` from the connection, so with either variable set (as on this machine) it would
# verify the emulator against the system CA store and fail. The report's Environment line says so.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

if TYPE_CHECKING:
    from benchmarks.common import Section


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for trying the benchmark out")
    parser.add_argument(
        "--only", default=",".join(MEASUREMENTS), help="comma-separated measurements to run (default: a,b,c,d,e,f,g)"
    )
    parser.add_argument(
        "--update-docs",
        "--update-readme",
        dest="update_readme",
        action="store_true",
        help="write the report into docs/performance.md",
    )
    args = parser.parse_args(argv)
    args.only = [item.strip() for item in args.only.split(",") if item.strip()]
    unknown = set(args.only) - set(MEASUREMENTS)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    return args


def prepare_environment(airflow_home: str) -> list[str]:
    """Set what Airflow reads on first import; return the CA variables that had to be removed."""
    os.environ["AIRFLOW_HOME"] = airflow_home
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    # 500 triggers each log one INFO line per round; the triggerer would write them to per-trigger
    # files, here they would flood the terminal. Warnings (e.g. retries) still show.
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    removed = [name for name in CA_BUNDLE_VARIABLES if os.environ.pop(name, None) is not None]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # run as a script: make ``benchmarks`` importable
    return removed


def describe_machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at start {load}"
    )


def run_fleet(module: str = "benchmarks.fleet") -> Section:
    """(d) to (g), each in a fresh interpreter: its garbage collector must see a triggerer's heap, not this one's."""
    from benchmarks.common import section_from_json

    with tempfile.TemporaryDirectory(prefix="modelarts-bench-fleet-") as directory:
        output = Path(directory) / "fleet.json"
        command = [sys.executable, "-m", module, "--output", str(output)]
        subprocess.run(command, cwd=ROOT, env=os.environ.copy(), check=True)
        return section_from_json(output.read_text(encoding="utf-8"))


def run_measurements(selected: Sequence[str], quick: bool) -> list[Section]:
    sections: list[Section] = []
    for key in MEASUREMENTS:
        if key not in selected:
            continue
        print(f"[bench] running {key} ...", file=sys.stderr, flush=True)
        start = time.monotonic()
        # Imported one at a time, so each measurement loads only what it needs.
        if key == "a":
            from benchmarks import listing

            section = listing.run(runs=3 if quick else 7, naive_runs=1 if quick else 3)
        elif key == "b":
            from benchmarks import signing

            section = signing.run(repeats=3 if quick else 9)
        elif key == "c":
            from benchmarks import imports

            section = imports.run(repeats=3 if quick else 7, env=os.environ)
        elif key == "d":
            section = run_fleet()
        elif key == "e":
            section = run_fleet("benchmarks.fleet_v2")
        elif key == "f":
            section = run_fleet("benchmarks.fleet_services")
        else:
            section = run_fleet("benchmarks.job_events")
        section.seconds = time.monotonic() - start
        print(f"[bench] {key} done in {section.seconds:.0f} s", file=sys.stderr, flush=True)
        sections.append(section)
    return sections


def render_report(sections: Sequence[Section], machine: str, runtime: float, removed: Sequence[str]) -> str:
    from benchmarks.common import MET, NOT_MET, render_notes, render_table

    verdicts = [row.verdict for section in sections for row in section.rows]
    met, not_met = verdicts.count(MET), verdicts.count(NOT_MET)
    durations = ", ".join(f"{section.key} {section.seconds:.0f} s" for section in sections)
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {machine}. "
        f"`make bench` took {runtime:.0f} s ({durations}). Absolute times vary with the machine and its load; "
        "the ratios, taken against baselines measured in the same run, are what carries over.",
        "",
        render_table(sections),
        "",
        f"Goals met: {met} of {met + not_met}.",
        "",
        render_notes(sections),
    ]
    if removed:
        lines += [
            "",
            f"Environment: {' and '.join(removed)} were unset for the run. requests lets them override a "
            "Session's `verify`, so the hook would ignore the connection's `verify` CA bundle while they are "
            "set (psf/requests#3829).",
        ]
    return "\n".join(lines)


def update_report(report: str) -> None:
    text = REPORT.read_text(encoding="utf-8")
    head, start, rest = text.partition(START_MARKER)
    _, end, tail = rest.partition(END_MARKER)
    if not start or not end:
        raise SystemExit(f"{REPORT.relative_to(ROOT)} has no {START_MARKER} ... {END_MARKER} block")
    how_to = (
        "Run `make bench` (it installs the `[bench]` extra, i.e. `huaweicloudsdkcore` for the signer "
        "comparison and the existing-provider baseline, then runs `benchmarks/run.py`; about 4 minutes). "
        "`benchmarks/run.py --quick` does fewer runs, `--only a,c` selects measurements and `--update-docs` "
        "rewrites this section from the run. The emulator runs in its own process with TLS on, so that its "
        "work neither competes with the measured client for the interpreter lock nor hides connection costs. "
        "The results of the last run on the project's machine:"
    )
    REPORT.write_text(f"{head}{start}\n{how_to}\n\n{report}\n{end}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    airflow_home = tempfile.mkdtemp(prefix="modelarts-bench-airflow-")
    try:
        removed = prepare_environment(airflow_home)
        machine = describe_machine()
        start = time.monotonic()
        sections = run_measurements(args.only, args.quick)
        report = render_report(sections, machine, time.monotonic() - start, removed)
    finally:
        shutil.rmtree(airflow_home, ignore_errors=True)
    print(report)
    if args.update_readme:
        update_report(report)
        print(f"\n[bench] wrote the report into {REPORT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
