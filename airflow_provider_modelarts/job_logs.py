"""Following a v2 training job's task logs into the Airflow task log.

Each task of a job (``worker-0``, ``worker-1`` ... from ``status.tasks``) has its own log, read
in pages from a cursor (:meth:`ModelArtsHook.follow_training_job_log`, the AOM endpoint, with the
cursor reading of :class:`~airflow_provider_modelarts.v2.TaskLogCursor`). A
:class:`JobLogFollower` keeps one cursor per task and, each time it is polled, asks each task for
the lines after its cursor: one request per task per poll, and none for a task whose log was read
to its end after the job ended. When the job has ended, a poll drains each log to its end (a
burst of more than one page per task is possible only then), so the task log gets every line.

What a line looks like in the task log: ``[worker-0] <the line>``, in order per task.

Surviving restarts. The follower's state (:meth:`JobLogFollower.state`, JSON) is saved through a
callback *before* a page is printed, with the page marked as being printed and its number of
lines, and again once the page was printed. A follower rebuilt from a saved state (a triggerer
restart re-creates the trigger; a reschedule starts a new process) reads on from the last page
known printed; if a page was being
printed when the state was saved, its lines may have reached the task log already, so the same
number of lines, read again from the same cursor, is printed marked ``(repeated)``. Lines past
them (the log grew since) are new and are printed unmarked. So no line is lost, a line can repeat
only with the mark, and the mark is only on lines that may really have been printed before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from airflow_provider_modelarts import v2
from airflow_provider_modelarts.exceptions import ModelArtsError

#: Passes over the logs not yet read to their end, once the job ended, before giving up on them
#: (each request has the hook's own retries too).
DRAIN_ATTEMPTS = 3
#: Lines of each task's log a failure message quotes.
FAILURE_TAIL_LINES = 20
REPEATED_MARK = "(repeated) "


class LogReader(Protocol):
    """What the follower uses of :class:`~airflow_provider_modelarts.hooks.modelarts.ModelArtsHook`."""

    def follow_training_job_log(
        self, training_job_id: str, task_id: str, cursor: v2.TaskLogCursor | None = None
    ) -> tuple[v2.TaskLogCursor, list[str]]: ...

    def read_training_job_log(
        self,
        training_job_id: str,
        task_id: str,
        base_line: str | None = None,
        lines: int = ...,
        order: str = ...,
    ) -> v2.TaskLogPage | None: ...


@dataclass
class TaskFollow:
    """Where one task's log has been printed to.

    :param cursor: the API cursor after the last page printed (:class:`v2.TaskLogCursor`).
    :param printing: a page's printing began from ``cursor`` (set only in saved states): the next
        page may repeat lines already in the task log.
    :param printing_lines: how many lines that page had: only that many lines read again from
        ``cursor`` may be in the task log already (``None``, in states saved by releases that did
        not record it: the whole next page).
    :param exhausted: the job ended and this log was read to its end: no more requests.
    """

    cursor: v2.TaskLogCursor = field(default_factory=v2.TaskLogCursor)
    printing: bool = False
    printing_lines: int | None = None
    exhausted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": asdict(self.cursor),
            "printing": self.printing,
            "printing_lines": self.printing_lines,
            "exhausted": self.exhausted,
        }

    @classmethod
    def from_json(cls, saved: Mapping[str, Any]) -> TaskFollow:
        raw = saved.get("cursor")
        try:
            cursor = v2.TaskLogCursor(**raw) if isinstance(raw, Mapping) else v2.TaskLogCursor()
        except TypeError:  # saved by another version of the provider: start over
            cursor = v2.TaskLogCursor()
        lines = saved.get("printing_lines")
        printing_lines = lines if isinstance(lines, int) and not isinstance(lines, bool) and lines >= 0 else None
        return cls(cursor, saved.get("printing") is True, printing_lines, saved.get("exhausted") is True)


class JobLogFollower:
    """Prints the new lines of a job's task logs each time :meth:`poll` is called.

    :param reader: the hook (or anything with ``follow_training_job_log``).
    :param training_job_id: the job.
    :param emit: where a line goes (e.g. ``self.log.info``); called once per line.
    :param state: a state saved by an earlier follower of the same job (see the module docstring).
    :param save: called with :meth:`state` before and after each page is printed (``None``:
        nothing to save).
    """

    def __init__(
        self,
        reader: LogReader,
        training_job_id: str,
        emit: Callable[[str], None],
        state: Mapping[str, Any] | None = None,
        save: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.reader = reader
        self.training_job_id = training_job_id
        self.emit = emit
        self.save = save
        self.tasks: dict[str, TaskFollow] = {
            task: TaskFollow.from_json(saved)
            for task, saved in (state or {}).items()
            if isinstance(task, str) and isinstance(saved, Mapping)
        }
        self.requests = 0  # log requests sent, for tests and benchmarks

    def state(self) -> dict[str, Any]:
        """The per-task positions as JSON-serialisable data, to rebuild a follower later."""
        return {task: follow.to_json() for task, follow in self.tasks.items()}

    def poll(self, job: Mapping[str, Any]) -> int:
        """Print what each task logged since the last poll; returns the number of lines printed.

        :param job: the job object as last read (its ``status.tasks`` and phase decide which
            logs to read and whether to drain them).
        """
        ended = _has_ended(job)
        printed = 0
        errors: dict[str, ModelArtsError] = {}
        # Once the job ended, the logs not read to their end get more passes: nothing reads them later.
        for _ in range(DRAIN_ATTEMPTS if ended else 1):
            errors = {}
            for task in _tasks_of(job):
                try:  # one task's failed read never stops the others
                    printed += self._poll_task(task, ended)
                except ModelArtsError as error:
                    errors[task] = error
            if not errors:
                break
        if errors:
            failed_task, failure = next(iter(errors.items()))
            what = "lines of its log may be missing" if ended else "it is read again at the next check"
            raise LogReadError(failed_task, failure, what) from failure
        return printed

    def poll_or_warn(self, job: Mapping[str, Any], warn: Callable[..., Any]) -> int:
        """:meth:`poll`, with a log that could not be read reported through ``warn`` (e.g.
        ``log.warning``) instead of raised: the log is a convenience, never a reason to fail a wait."""
        try:
            return self.poll(job)
        except ModelArtsError as error:
            warn("Could not read the training job's log: %s", error)
            return 0

    def _poll_task(self, task: str, ended: bool) -> int:
        follow = self.tasks.setdefault(task, TaskFollow())
        printed = 0
        while not follow.exhausted:
            self.requests += 1
            cursor, lines = self.reader.follow_training_job_log(self.training_job_id, task, follow.cursor)
            printed += self._print(task, follow, cursor, lines)
            reached_end = len(lines) < cursor.page_size - 1  # one line may be a dropped repeat
            # While the job runs: one request per task per poll. Once it ended: to the end.
            if not ended:
                break
            if reached_end:
                follow.exhausted = True
        return printed

    def _print(self, task: str, follow: TaskFollow, cursor: v2.TaskLogCursor, lines: list[str]) -> int:
        if lines:
            # How many of these lines an interrupted follower may have printed already.
            repeats = (len(lines) if follow.printing_lines is None else follow.printing_lines) if follow.printing else 0
            # Saved first, marked as printing: a follower rebuilt from this state marks these lines.
            follow.printing, follow.printing_lines = True, len(lines)
            if self.save is not None:
                self.save(self.state())
            for index, line in enumerate(lines):
                self.emit(f"[{task}] " + (REPEATED_MARK if index < repeats else "") + line)
        was_printing = follow.printing
        follow.cursor, follow.printing, follow.printing_lines = cursor, False, None
        if was_printing and self.save is not None:
            # Saved again once printed: a restart from here repeats none of these lines.
            self.save(self.state())
        return len(lines)


class LogReadError(ModelArtsError):
    """A task's log could not be read (the hook's retries spent); says what that means for the
    task log. The wait goes on: a log is a convenience, never a reason to fail the training."""

    def __init__(self, task: str, error: ModelArtsError, consequence: str) -> None:
        super().__init__(f"the log of task {task} could not be read ({error}); {consequence}")
        self.task = task


def read_log_tail(reader: LogReader, training_job_id: str, tasks: Iterable[str]) -> dict[str, list[str]]:
    """The last :data:`FAILURE_TAIL_LINES` lines of each task's log (one request per task), for a
    failure message. A task whose log cannot be read is left out: the message is still worth having."""
    tails: dict[str, list[str]] = {}
    for task in tasks:
        try:
            page = reader.read_training_job_log(training_job_id, task, lines=FAILURE_TAIL_LINES, order="desc")
        except ModelArtsError:
            continue
        if page is not None and page.lines():
            # Newest first from the API: turned back into reading order.
            tails[task] = list(reversed(page.lines()))
    return tails


def format_log_tail(tails: Mapping[str, list[str]]) -> str:
    """The tails of :func:`read_log_tail` as message text, one ``[task] line`` per line."""
    return "\n".join(f"[{task}] {line}" for task, lines in tails.items() for line in lines)


def _tasks_of(job: Mapping[str, Any]) -> list[str]:
    return [task for task in v2.job_row(job)["tasks"] if isinstance(task, str)]


def _has_ended(job: Mapping[str, Any]) -> bool:
    phase = v2.parse_phase(v2.phase_of(job) or "")
    return phase is not None and phase.is_terminal
