"""(c) Import cost: what importing the operators, the sensor and the trigger adds to ``import airflow.sdk``.

Each run is a fresh interpreter under ``python -X importtime`` that first imports the baseline,
writes a marker to stderr, then imports the provider modules. Every import reported after the
marker was caused by the provider; their top-level cumulative times add up to its cost. The
import tree after the marker also says which modules the provider pulled in, so the check that
nothing heavy is imported at module level reads the same output.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from benchmarks.common import INFO, Section, median, verdict

PROVIDER_MODULES = (
    "airflow_provider_modelarts.operators.training_jobs",
    "airflow_provider_modelarts.sensors.training_job",
    "airflow_provider_modelarts.triggers.training_job",
)
# Test and bench machinery that must never load with the operators, sensor or trigger.
FORBIDDEN_PREFIXES = ("modelarts_emulator", "huaweicloudsdkcore", "cryptography")
BASELINES = {
    "import airflow.sdk": "import airflow.sdk",
    # What a worker or triggerer has loaded anyway before it imports any provider: the base classes.
    "airflow.sdk + base classes": (
        "import airflow.sdk\n"
        "from airflow.sdk import BaseHook, BaseOperator, BaseSensorOperator\n"
        "import airflow.triggers.base"
    ),
}
MARKER = "--- provider imports start ---"
GOAL_MS = 30.0
PROVIDER_PACKAGE = "airflow_provider_modelarts"


@dataclass
class Node:
    name: str
    self_us: int
    cumulative_us: int
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class ImportRun:
    added_us: int  # sum of the top-level cumulative times after the marker
    modules: frozenset[str]  # every module imported after the marker
    external: Mapping[str, int]  # non-provider modules imported directly by provider modules -> cumulative
    own_us: int  # self time of the provider's own modules


def _parse(lines: list[str]) -> list[Node]:
    """The import forest of ``-X importtime`` lines (children are printed before their parent)."""
    pending: dict[int, list[Node]] = defaultdict(list)
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        head, cumulative_us, name = line.split("|", 2)
        self_us = head.split(":", 1)[1]
        # The name column is indented two spaces per nesting level after one separating space.
        level = (len(name) - len(name.lstrip(" ")) - 1) // 2
        node = Node(name.strip(), int(self_us), int(cumulative_us), pending.pop(level + 1, []))
        pending[level].append(node)
    return pending[0]


def _walk(nodes: list[Node]) -> list[Node]:
    result = []
    for node in nodes:
        result.append(node)
        result.extend(_walk(node.children))
    return result


def _one_run(baseline: str, env: Mapping[str, str]) -> ImportRun:
    code = f"{baseline}\nimport sys\nsys.stderr.write({MARKER!r} + '\\n')\nsys.stderr.flush()\n" + "".join(
        f"import {module}\n" for module in PROVIDER_MODULES
    )
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=dict(env), capture_output=True, text=True, check=True
    )
    lines = completed.stderr.splitlines()
    after = lines[lines.index(MARKER) + 1 :]
    roots = _parse(after)
    nodes = _walk(roots)
    external: dict[str, int] = {}
    for node in nodes:
        if node.name.startswith(PROVIDER_PACKAGE):
            for child in node.children:
                if not child.name.startswith(PROVIDER_PACKAGE):
                    external[child.name] = child.cumulative_us
    own = sum(node.self_us for node in nodes if node.name.startswith(PROVIDER_PACKAGE))
    return ImportRun(sum(root.cumulative_us for root in roots), frozenset(node.name for node in nodes), external, own)


def run(repeats: int, env: Mapping[str, str]) -> Section:
    section = Section("c", "Import cost of the operators, the sensor and the trigger")
    results: dict[str, list[ImportRun]] = {name: [] for name in BASELINES}
    for baseline in BASELINES.values():
        _one_run(baseline, env)  # warm-up: bytecode caches and the page cache
    for _ in range(repeats):
        for name, baseline in BASELINES.items():  # alternate, so machine noise hits both alike
            results[name].append(_one_run(baseline, env))

    literal = results["import airflow.sdk"]
    added_ms = median([r.added_us for r in literal]) / 1000
    section.row(
        "Import cost on top of `import airflow.sdk`",
        f"{added_ms:.0f} ms",
        "-",
        "-",
        f"< {GOAL_MS:.0f} ms",
        verdict(added_ms < GOAL_MS),
    )
    with_bases = results["airflow.sdk + base classes"]
    section.row(
        "... on top of airflow.sdk with BaseOperator/BaseSensorOperator/BaseHook/BaseTrigger loaded",
        f"{median([r.added_us for r in with_bases]) / 1000:.0f} ms",
        "-",
        "-",
        "(context)",
        INFO,
    )
    loaded = set().union(*(r.modules for r in literal))
    forbidden = sorted(m for m in loaded if m.startswith(FORBIDDEN_PREFIXES))
    section.row(
        "Emulator, TLS code (cryptography) or huaweicloudsdkcore imported",
        ", ".join(forbidden) if forbidden else "none",
        "-",
        "-",
        "none",
        verdict(not forbidden),
    )
    section.notes += [
        f"`python -X importtime`, median of {repeats} fresh interpreters per baseline after a warm-up run; "
        f"modules imported: {', '.join(PROVIDER_MODULES)}.",
        f"On top of `import airflow.sdk` the provider loads {median([len(r.modules) for r in literal]):.0f} modules; "
        f"its own {sum(1 for m in loaded if m.startswith(PROVIDER_PACKAGE))} take "
        f"{median([r.own_us for r in literal]) / 1000:.1f} ms of their own (self time).",
        "Largest third-party/Airflow imports made by provider modules (median cumulative ms, on top of "
        "`import airflow.sdk`): "
        + _top_external(literal)
        + "; with the base classes preloaded: "
        + _top_external(with_bases)
        + ".",
    ]
    if added_ms >= GOAL_MS:
        section.notes.append(
            "Gap: the operators and the sensor import the hook at module level, and through it `requests`, the "
            "signer and the connection code; the sensor also imports the trigger, and the trigger the poller and "
            "the hook. Importing the hook where it is first used (`execute`, a cached `hook` property; "
            "annotations under `TYPE_CHECKING`), the trigger where the sensor defers, and the poller inside "
            "`run()` would leave only `api`, `exceptions`, `links` and `job_wait` to parse-time imports."
        )
    return section


def _top_external(runs: list[ImportRun], count: int = 6) -> str:
    names = set().union(*(r.external.keys() for r in runs))
    # A module is imported where it is first needed, so take each run's figure, 0 where it was not seen.
    figures = {name: median([r.external.get(name, 0) for r in runs]) / 1000 for name in names}
    top = sorted(figures.items(), key=lambda item: item[1], reverse=True)[:count]
    return ", ".join(f"`{name}` {value:.1f}" for name, value in top if value >= 0.5) or "none over 0.5 ms"
