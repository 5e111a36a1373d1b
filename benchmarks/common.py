"""What every measurement shares: result rows, goal verdicts, statistics and formatting, and the
emulator the measurements run against.

Nothing here imports Airflow or the provider, so ``run.py`` can prepare the environment (Airflow
reads it on first import) before any measurement module is loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from modelarts_emulator.process import EmulatorProcess

MET = "MET"
NOT_MET = "NOT MET"
INFO = "-"


@dataclass(frozen=True)
class Row:
    """One line of the results table. ``verdict`` is MET, NOT MET, or ``-`` for context rows."""

    section: str
    measurement: str
    result: str
    baseline: str
    ratio: str
    goal: str
    verdict: str


@dataclass
class Section:
    """A measurement's table rows plus the notes that explain how to read them."""

    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def row(self, measurement: str, result: str, baseline: str, ratio: str, goal: str, verdict: str) -> None:
        self.rows.append(Row(self.key, measurement, result, baseline, ratio, goal, verdict))


def section_to_json(section: Section) -> str:
    """For measurements that run in their own interpreter and hand their section back to run.py."""
    return json.dumps(dataclasses.asdict(section))


def section_main(measure: Callable[[], Section], module: str, letter: str, argv: Sequence[str] | None = None) -> int:
    """The ``main`` of a measurement that run.py starts in its own interpreter: measure, then write
    the section as JSON to ``--output``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=f"({letter}) of make bench")
    parser.add_argument("--output", required=True, help="where to write the section as JSON")
    args = parser.parse_args(argv)
    section = measure()
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(section_to_json(section))
    return 0


def section_from_json(text: str) -> Section:
    data = json.loads(text)
    rows = [Row(**row) for row in data.pop("rows")]
    return Section(rows=rows, **data)


def verdict(condition: bool) -> str:
    return MET if condition else NOT_MET


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: the value was really observed)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def spread(values: Sequence[float]) -> str:
    """``min-max`` of the runs, so a reader sees how noisy the median is."""
    return f"{min(values) * 1000:.0f}-{max(values) * 1000:.0f} ms"


def ms(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def times(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.0f}x"


def render_table(sections: Sequence[Section]) -> str:
    """The Markdown results table, one row per figure, every goal with its verdict."""
    header = ("", "Measurement", "Result (median)", "Baseline (median)", "Ratio", "Goal", "Verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for section in sections:
        for row in section.rows:
            cells = (row.section, row.measurement, row.result, row.baseline, row.ratio, row.goal, row.verdict)
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def render_notes(sections: Sequence[Section]) -> str:
    parts = []
    for section in sections:
        if section.notes:
            parts.append(f"**{section.key}. {section.title}**\n")
            parts.extend(f"- {note}" for note in section.notes)
            parts.append("")
    return "\n".join(parts).rstrip()


def bench_emulator() -> EmulatorProcess:
    """The emulator as every measurement runs it: in its own process (in this one its handler threads
    would compete with the code under test for the interpreter lock), over TLS as in the cloud, and
    with no seeded jobs, so a measurement creates exactly the jobs it needs, all in the default
    workspace, and the project's size is exactly what it says. Use it as a context manager."""
    return EmulatorProcess(jobs=0, v2_jobs=0, speed=1.0, tls=True, quiet=True)
