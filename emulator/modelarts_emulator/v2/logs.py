"""Per-task training logs that grow as a job runs, and the AOM log page that reads them.

``GET /v2/{project_id}/training-jobs/{training_job_id}/logs/{task_id}`` ("查询训练作业指定任务的日志 -
ShowTrainingJobLogsFromAom", https://support.huaweicloud.com/api-modelarts/ShowTrainingJobLogsFromAom.html):
query ``base_line`` ("the baseline line position used for paging, obtained from an API
response; empty: start from the newest log"), ``lines`` (1-500, default 50) and ``order``
(``asc``: oldest to newest, ``desc``: newest to oldest, default ``desc``); the 200 body is
``{"start_line": str, "end_line": str, "lines": int, "content": str}``, and a task with no log
yet answers HTTP 204 ``ModelArts.2776`` NotReadyToFetchLog (error code table, modelarts_03_0095).

How a task's log grows: each task has a *script* of ``(t, line)`` pairs, ``t`` in emulated
seconds after Running began; a line is in the log once the job has been Running for ``t``
seconds. A create plan's lines are given by the plan; otherwise the script is a start line, one
line per epoch spread over the planned Running time, and an end line: the save line of a job
that Completes, a traceback ending with the task's message for a task that Failed (an error
line for the other tasks of a Failed job), a SIGTERM line when the job was terminated. A job that
never ran (Abnormal, terminated while Pending) has no log: 204 for good. Lines stay readable
after the job ended (until it is deleted).

Readings of the docs (each is this emulator's choice where the page says no more):

* **Line positions.** A position is a decimal string, strictly increasing along a task's log:
  ``create_time_ms * 1_000_000 + n`` for the ``n``-th line (1-based), the shape of the docs'
  v1 AOM example ``"1551252759254000002"`` (an epoch-ms time and a sequence number;
  https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0149.html). A line
  keeps its position for good. Any string of digits is a valid ``base_line``, including one
  below the first position (``0``) or above the last; anything else is 400 ModelArts.2788.
* **``base_line`` is exclusive.** ``order=asc`` returns the lines *after* ``base_line``, oldest
  first; ``order=desc`` the lines *before* it, newest first; at most ``lines`` of them, the ones
  next to ``base_line``. So the ``end_line`` of a page, passed back as ``base_line`` in the same
  order, continues the read without repeating a line.
* **Empty ``base_line``** means "the newest log" in both orders: the newest ``lines`` lines,
  sorted as ``order`` says (so ``order=asc`` with no ``base_line`` is the tail of the log,
  oldest first). To read from the very beginning, send ``base_line=0`` with ``order=asc``.
* **``start_line``/``end_line``** are the positions of the first and the last line *of
  ``content`` as returned* (for ``desc`` the first is the newest). A page with no line (nothing
  after the cursor yet) is a 200 with ``lines: 0``, ``content: ""`` and ``start_line`` =
  ``end_line`` = the ``base_line`` sent, so the cursor stays where it was.
* **``content``** is the page's lines, each ending with ``"\\n"``.
* **204** has no body (RFC 9110 §15.3.5: a 204 response cannot carry content); the emulator's
  request log records its error code ModelArts.2776.
* **An unknown ``task_id``** (not in ``status.tasks``) is 400 ModelArts.2788 "Invalid
  parameter(task_id)." The table has no training task-not-found code.

The preview, ``GET /v2/{project_id}/training-jobs/{training_job_id}/tasks/{task_id}/logs/preview``
("Querying the Logs of a Specified Task in a Given Training Job (Preview)",
ShowTrainingJobLogsPreview), answers ``{"content", "current_size", "full_size"}``: the whole log
when it is at most n MB, else its newest n MB; ``current_size`` (at most 5 MB) is the size of
``content`` and ``full_size`` that of the whole log, in bytes. Readings:

* The log is the same text the AOM page reads: its lines, each ending with ``"\\n"``, UTF-8.
* n is 5 MB (:data:`.spec.LOG_PREVIEW_MAX_BYTES`); ``EmulatorConfig.log_preview_max_bytes``
  lowers it so a test can see the tail of a small log. The cut is at a byte position, moved
  forward to the next character boundary, so ``content`` may begin mid-line (the docs' example
  begins mid-log too) and ``current_size`` is at most the cap.
* A task with no log yet answers as the AOM page does: HTTP 204, ModelArts.2776 (the reference's
  "treat HTTP 204 (ModelArts.2776) as not ready" applies to both log reads).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.models import JobState, TrainingJob

POSITION_SCALE = 1_000_000
DEFAULT_EPOCHS = 10
MAX_EPOCHS = 50
WORK_DIR = "/home/ma-user/modelarts/user-job-dir/code"


@dataclass(frozen=True)
class LogPage:
    start_line: str
    end_line: str
    lines: list[str]

    def payload(self) -> dict[str, object]:
        return {
            "start_line": self.start_line,
            "end_line": self.end_line,
            "lines": len(self.lines),
            "content": "".join(f"{line}\n" for line in self.lines),
        }


def _running_window(job: TrainingJob) -> tuple[float, float | None] | None:
    """Start and end (None: not planned to end) of the first Running step, in emulated seconds."""
    for index, (phase, _, _) in enumerate(job.timeline):
        if phase == v2_spec.RUNNING:
            end = job.starts[index + 1] if index + 1 < len(job.timeline) else None
            return job.starts[index], end
    return None


def _after_running(job: TrainingJob) -> str | None:
    for index, (phase, _, _) in enumerate(job.timeline[:-1]):
        if phase == v2_spec.RUNNING:
            return job.timeline[index + 1][0]
    return None


def _epochs(job: TrainingJob) -> int:
    parameters = (job.request or {}).get("algorithm", {}).get("parameters") or []
    for parameter in parameters:
        if isinstance(parameter, dict) and parameter.get("name") == "epochs":
            try:
                return max(1, min(MAX_EPOCHS, int(str(parameter.get("value")))))
            except ValueError:
                break
    return DEFAULT_EPOCHS


def default_script(job: TrainingJob, task: str) -> list[tuple[float, str]]:
    """Plausible lines for a task: start, epochs, and the end line of the planned outcome."""
    run = job.planned_run
    rng = random.Random(f"{job.profile}-{task}")
    epochs = _epochs(job)
    script = [
        (0.0, f"INFO [{task}] ModelArts training job {job.name} started, {job.node_count} node(s)"),
        (0.0, f"INFO [{task}] cd {WORK_DIR} && python train.py"),
    ]
    loss = rng.uniform(2.0, 4.0)
    accuracy = rng.uniform(0.05, 0.2)
    for epoch in range(1, epochs + 1):
        loss *= rng.uniform(0.75, 0.95)
        accuracy += (0.98 - accuracy) * rng.uniform(0.1, 0.3)
        moment = run * epoch / (epochs + 1)
        script.append((moment, f"INFO [{task}] epoch {epoch}/{epochs} loss={loss:.4f} accuracy={accuracy:.4f}"))
    final = _after_running(job)
    if final == v2_spec.COMPLETED:
        script.append((run, f"INFO [{task}] training finished, model saved"))
    elif final == v2_spec.FAILED:
        failed = {outcome.task: outcome for outcome in job.failures}
        outcome = failed.get(task)
        if outcome is not None:
            script += [
                (run, "Traceback (most recent call last):"),
                (run, f'  File "{WORK_DIR}/train.py", line 87, in <module>'),
                (run, f"ERROR [{task}] {outcome.message} (exit code {outcome.exit_code})"),
            ]
        else:
            script.append((run, f"ERROR [{task}] a peer task failed; stopping"))
    return script


def task_script(job: TrainingJob, task: str) -> Sequence[tuple[float, str]]:
    if job.log_scripts is not None and task in job.log_scripts:
        return job.log_scripts[task]
    return default_script(job, task)


def visible_lines(job: TrainingJob, task: str, state: JobState) -> list[str]:
    """The task's log at this instant: the script lines whose time has come, then a SIGTERM line
    once a terminate has ended Running. Lines never move, so positions are stable."""
    window = _running_window(job)
    if window is None or state.running_since is None:
        return []
    start, end = window
    since = state.elapsed - start
    ended = end is not None and state.elapsed >= end
    cut = (end - start) if (ended and end is not None) else since
    # A line due exactly at the end of Running (the traceback) is printed at that instant.
    lines = [text for moment, text in task_script(job, task) if moment <= cut + 1e-9]
    if ended and _after_running(job) == v2_spec.TERMINATING:
        lines.append(f"WARN [{task}] received SIGTERM: the training job is being terminated")
    return lines


class LogQueryError(ValueError):
    def __init__(self, parameter: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter


def parse_query(pairs: Sequence[tuple[str, str]]) -> tuple[int | None, int, str, list[str]]:
    """``(base_line or None, lines, order, ignored parameter names)`` of the query string."""
    values: dict[str, str] = {}
    ignored = []
    for name, value in pairs:
        if name in ("base_line", "lines", "order"):
            values.setdefault(name, value)
        else:
            ignored.append(name)
    raw_base = values.get("base_line", "")
    if raw_base and not raw_base.isdigit():
        raise LogQueryError("base_line")
    raw_lines = values.get("lines", "")
    if raw_lines and (not raw_lines.isdigit() or not v2_spec.LOG_LINES_MIN <= int(raw_lines) <= v2_spec.LOG_LINES_MAX):
        raise LogQueryError("lines")
    count = int(raw_lines) if raw_lines else v2_spec.LOG_LINES_DEFAULT
    order = values.get("order") or v2_spec.LOG_ORDER_DEFAULT
    if order not in v2_spec.LOG_ORDERS:
        raise LogQueryError("order")
    return (int(raw_base) if raw_base else None), count, order, sorted(set(ignored))


@dataclass(frozen=True)
class Preview:
    content: str
    current_size: int
    full_size: int

    def payload(self) -> dict[str, object]:
        return {"content": self.content, "current_size": self.current_size, "full_size": self.full_size}


def preview(lines: Sequence[str], max_bytes: int) -> Preview:
    """The newest ``max_bytes`` of the log, cut at a character boundary."""
    data = "".join(f"{line}\n" for line in lines).encode("utf-8")
    tail = data[max(0, len(data) - max_bytes) :]
    start = 0
    while start < len(tail) and tail[start] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        start += 1
    tail = tail[start:]
    return Preview(tail.decode("utf-8"), len(tail), len(data))


def page(job: TrainingJob, lines: list[str], base_line: int | None, count: int, order: str) -> LogPage:
    """One page of ``lines`` (the task's whole visible log), as the module docstring reads the docs."""
    base = job.create_ms * POSITION_SCALE
    positions = [base + number for number in range(1, len(lines) + 1)]
    if base_line is None:
        chosen = list(range(max(0, len(lines) - count), len(lines)))
    elif order == "asc":
        chosen = [index for index, position in enumerate(positions) if position > base_line][:count]
    else:
        before = [index for index, position in enumerate(positions) if position < base_line]
        chosen = before[-count:] if before else []
    if order == "desc":
        chosen.reverse()
    if not chosen:
        cursor = str(base_line) if base_line is not None else ""
        return LogPage(cursor, cursor, [])
    return LogPage(str(positions[chosen[0]]), str(positions[chosen[-1]]), [lines[index] for index in chosen])
