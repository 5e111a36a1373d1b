"""Following a v2 training job's task logs into the Airflow task log.

Each job task's log is read through AOM or the log preview (the connection's ``log_api``), one
request per task per poll; the follower's JSON state survives restarts, and a line printed again
after one is marked ``(repeated)``. See ``docs/logs.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, cast

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsError

#: Passes over the logs not yet read to their end, once the job ended, before giving up on them
#: (each request has the hook's own retries too).
DRAIN_ATTEMPTS = 3
#: Lines of each task's log a failure message quotes.
FAILURE_TAIL_LINES = 20
REPEATED_MARK = "(repeated) "
#: The last lines a preview follower remembers (each cut to :data:`TAIL_CHARS` characters), to
#: find its place again when the preview's sizes cannot say where it is.
TAIL_LINES = 3
TAIL_CHARS = 200
# Where a saved state records that ``auto`` switched to the preview (task names start with a
# letter or digit, so this key is never a task's).
_LOG_API_KEY = "__log_api__"


class LogReader(Protocol):
    """What the follower uses of :class:`~airflow_provider_modelarts.hooks.modelarts.ModelArtsHook`.

    The preview needs ``read_training_job_log_preview`` too (:class:`PreviewReader`); a reader
    without it is read through AOM only. A reader's ``log_api`` attribute (the hook's reads the
    connection) chooses the API when the follower is not told.
    """

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


class PreviewReader(Protocol):
    def read_training_job_log_preview(self, training_job_id: str, task_id: str) -> v2.TaskLogPreview | None: ...


@dataclass(frozen=True)
class PreviewPosition:
    """Where a follower of one task's log preview is.

    :param offset: bytes of the log printed, up to the end of a line (``None``: not known, when
        the preview gave no usable sizes; the place is then found from ``tail``).
    :param tail: the last lines printed, at most :data:`TAIL_LINES`, each cut to
        :data:`TAIL_CHARS` characters.
    :param lines_printed: how many lines were printed so far.
    """

    offset: int | None = 0
    tail: tuple[str, ...] = ()
    lines_printed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "tail": list(self.tail),
            "lines_printed": self.lines_printed,
        }

    @classmethod
    def from_json(cls, saved: object) -> PreviewPosition | None:
        if not isinstance(saved, Mapping):
            return None
        offset, tail, count = saved.get("offset"), saved.get("tail"), saved.get("lines_printed")
        return cls(
            offset=offset if isinstance(offset, int) and _count(offset) else None,
            tail=tuple(line for line in tail if isinstance(line, str))[-TAIL_LINES:] if isinstance(tail, list) else (),
            lines_printed=count if isinstance(count, int) and _count(count) else 0,
        )


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class PreviewStep:
    """What one preview read gave (:func:`advance_preview`).

    :param position: the position after printing ``lines``.
    :param lines: the new lines, in order.
    :param missed_bytes: bytes of the log, before the preview's window, that were never printed
        and can no longer be read (the log outgrew the 5 MB window); 0 when none.
    :param lost_place: the preview's sizes could not place the last read and its last lines were
        not found in the content: every line of the content is returned, some may repeat.
    """

    position: PreviewPosition
    lines: list[str]
    missed_bytes: int = 0
    lost_place: bool = False


def advance_preview(position: PreviewPosition, preview: v2.TaskLogPreview, ended: bool) -> PreviewStep:
    """The lines of ``preview`` after ``position``, and the position after them.

    The content is the last bytes of the log (``full_size`` bytes in all), so it starts at byte
    ``full_size - len(content)``. When ``position.offset`` falls in that window at the end of a
    line (the last line printed checks against ``tail``), the lines after it are new. When it
    falls before the window, the bytes between were never read: every line of the window is new
    (``missed_bytes`` says how much is lost). Otherwise (no usable sizes, a log that shrank or
    no longer matches), the place is the last occurrence of ``tail`` in the content, and what
    follows it is new. While the job runs a last line without its line end is left for later;
    once it ended (``ended``) it is returned too.
    """
    data = preview.content.encode("utf-8")
    full = preview.full_size if preview.full_size is not None and preview.full_size >= len(data) else None
    start = full - len(data) if full is not None else None
    offset = position.offset
    if start is not None and full is not None and offset is not None:
        if start <= offset <= full and _at_line_end(data, offset - start, position.tail):
            return _step(position, data, offset - start, start, ended)
        if offset < start:
            # The window starts inside the gap, most likely inside a line: that first piece is
            # part of what is lost, never printed as if it were a line.
            first_end = data.find(b"\n") + 1
            skip = first_end if start > 0 else 0
            return _step(position, data, skip, start, ended, missed=start - offset + skip)
    found = _after_tail(data, position.tail)
    if found is not None:
        return _step(position, data, found, start, ended)
    first_read = position.lines_printed == 0 and not position.tail
    return _step(position, data, 0, start, ended, lost=not first_read)


def _step(
    position: PreviewPosition,
    data: bytes,
    rel: int,
    start: int | None,
    ended: bool,
    missed: int = 0,
    lost: bool = False,
) -> PreviewStep:
    new = data[rel:]
    cut = len(new) if ended else new.rfind(b"\n") + 1
    lines = _split(new[:cut].decode("utf-8", "replace"))
    tail = (position.tail + tuple(line[:TAIL_CHARS] for line in lines))[-TAIL_LINES:]
    after = replace(
        position,
        offset=start + rel + cut if start is not None else None,
        tail=tail,
        lines_printed=position.lines_printed + len(lines),
    )
    return PreviewStep(after, lines, missed, lost)


def _split(text: str) -> list[str]:
    return v2.TaskLogPreview(text, None, None).lines()


def _at_line_end(data: bytes, rel: int, tail: tuple[str, ...]) -> bool:
    """Whether byte ``rel`` of the window is just after the end of the last line printed."""
    if rel == 0:
        return True  # the window starts where the last read ended
    if data[rel - 1 : rel] != b"\n":
        return False
    if not tail:
        return True
    begin = data.rfind(b"\n", 0, rel - 1) + 1
    if begin == 0:
        return True  # the line before starts before the window: nothing to compare
    line = data[begin : rel - 1].decode("utf-8", "replace")
    return line.removesuffix("\r")[:TAIL_CHARS] == tail[-1]


def _after_tail(data: bytes, tail: tuple[str, ...]) -> int | None:
    """The byte just after the last occurrence of ``tail`` (whole lines) in the window, or after
    its last lines at the very start of the window; ``None`` when it is not there."""
    if not tail:
        return None
    ends: list[int] = []
    texts: list[str] = []
    begin = 0
    while True:
        end = data.find(b"\n", begin)
        if end < 0:
            break
        texts.append(data[begin:end].decode("utf-8", "replace").removesuffix("\r")[:TAIL_CHARS])
        ends.append(end + 1)
        begin = end + 1
    size = len(tail)
    for index in range(len(texts) - 1, size - 2, -1):
        if tuple(texts[index - size + 1 : index + 1]) == tail:
            return ends[index]
    # The window may begin inside the tail: its first lines are the tail's last ones.
    for kept in range(size - 1, 0, -1):
        if tuple(texts[:kept]) == tail[-kept:]:
            return ends[kept - 1]
    return None


@dataclass
class TaskFollow:
    """Where one task's log has been printed to.

    :param cursor: the AOM cursor after the last page printed (:class:`v2.TaskLogCursor`).
    :param printing: a page's printing began from ``cursor`` (or ``preview``) (set only in saved
        states): the next page may repeat lines already in the task log.
    :param printing_lines: how many lines that page had: only that many lines read again from
        the same position may be in the task log already (``None``, in states saved by releases
        that did not record it: the whole next page).
    :param exhausted: the job ended and this log was read to its end: no more requests.
    :param preview: the position in the log preview, once the log is read through it.
    """

    cursor: v2.TaskLogCursor = field(default_factory=v2.TaskLogCursor)
    printing: bool = False
    printing_lines: int | None = None
    exhausted: bool = False
    preview: PreviewPosition | None = None

    def to_json(self) -> dict[str, Any]:
        saved: dict[str, Any] = {
            "cursor": asdict(self.cursor),
            "printing": self.printing,
            "printing_lines": self.printing_lines,
            "exhausted": self.exhausted,
        }
        if self.preview is not None:
            saved["preview"] = self.preview.to_json()
        return saved

    @classmethod
    def from_json(cls, saved: Mapping[str, Any]) -> TaskFollow:
        raw = saved.get("cursor")
        try:
            cursor = v2.TaskLogCursor(**raw) if isinstance(raw, Mapping) else v2.TaskLogCursor()
        except TypeError:  # saved by another version of the provider: start over
            cursor = v2.TaskLogCursor()
        lines = saved.get("printing_lines")
        printing_lines = lines if _count(lines) else None
        return cls(
            cursor,
            saved.get("printing") is True,
            printing_lines,
            saved.get("exhausted") is True,
            PreviewPosition.from_json(saved.get("preview")),
        )


class JobLogFollower:
    """Prints the new lines of a job's task logs each time :meth:`poll` is called.

    :param reader: the hook (or anything with ``follow_training_job_log``, and
        ``read_training_job_log_preview`` for the preview).
    :param training_job_id: the job.
    :param emit: where a line goes (e.g. ``self.log.info``); called once per line.
    :param state: a state saved by an earlier follower of the same job (see the module docstring).
    :param save: called with :meth:`state` before and after each page is printed (``None``:
        nothing to save).
    :param log_api: ``aom``, ``preview`` or ``auto``; ``None`` (the default) takes the reader's
        ``log_api`` (the hook's connection setting) on the first poll, else ``aom``.
    """

    def __init__(
        self,
        reader: LogReader,
        training_job_id: str,
        emit: Callable[[str], None],
        state: Mapping[str, Any] | None = None,
        save: Callable[[dict[str, Any]], None] | None = None,
        log_api: str | None = None,
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
        self.log_api = v2.validate_log_api(log_api) if log_api is not None else None
        # auto switched to the preview (kept in the state): AOM is not asked again.
        self.switched = self.saved_state_switched(state or {})
        self.requests = 0  # log requests sent, for tests and benchmarks

    @staticmethod
    def saved_state_switched(state: Mapping[str, Any]) -> bool:
        """Whether a saved :meth:`state` records that ``auto`` switched to the log preview."""
        return state.get(_LOG_API_KEY) == v2.LOG_API_PREVIEW

    def state(self) -> dict[str, Any]:
        """The per-task positions as JSON-serialisable data, to rebuild a follower later."""
        state: dict[str, Any] = {task: follow.to_json() for task, follow in self.tasks.items()}
        if self.switched:
            state[_LOG_API_KEY] = v2.LOG_API_PREVIEW
        return state

    @property
    def reading(self) -> str:
        """The API the next read uses: ``aom`` or ``preview`` (reads the reader's ``log_api``
        once, so call it where blocking is fine)."""
        configured = self._configured()
        if configured == v2.LOG_API_PREVIEW or (configured == v2.LOG_API_AUTO and self.switched):
            return v2.LOG_API_PREVIEW
        return v2.LOG_API_AOM

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
            if isinstance(failure, ModelArtsApiError) and v2.is_api_not_found(failure.http_status, failure.error_code):
                # log_api "aom" on a cloud without that endpoint (Open Telekom Cloud, the EU site).
                what = (
                    "this cloud serves no AOM log endpoint: set the connection extra log_api to 'auto' or "
                    "'preview' to read the logs through the log preview"
                )
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

    def _configured(self) -> str:
        if self.log_api is None:
            configured = getattr(self.reader, "log_api", v2.LOG_API_AOM)
            self.log_api = v2.validate_log_api(configured) if configured is not None else v2.LOG_API_AOM
            if self.log_api != v2.LOG_API_AOM and _preview_reader(self.reader) is None:
                self.log_api = v2.LOG_API_AOM  # a reader that cannot preview
        return self.log_api

    def _poll_task(self, task: str, ended: bool) -> int:
        follow = self.tasks.setdefault(task, TaskFollow())
        if self.reading == v2.LOG_API_PREVIEW:
            return self._poll_preview(task, follow, ended)
        try:
            return self._poll_aom(task, follow, ended)
        except ModelArtsApiError as error:
            if self._configured() != v2.LOG_API_AUTO or not v2.is_api_not_found(error.http_status, error.error_code):
                raise
            self._switch_to_preview(error)
            return self._poll_preview(task, follow, ended)

    def _switch_to_preview(self, error: ModelArtsApiError) -> None:
        self.switched = True
        self.emit(
            f"The AOM log endpoint is not served here (HTTP {error.http_status} {error.error_code}): the logs are "
            "read through the log preview (the newest part of each task's log, at most 5 MB) from now on"
        )
        if self.save is not None:
            self.save(self.state())

    def _poll_aom(self, task: str, follow: TaskFollow, ended: bool) -> int:
        printed = 0
        while not follow.exhausted:
            self.requests += 1
            cursor, lines = self.reader.follow_training_job_log(self.training_job_id, task, follow.cursor)
            printed += self._print(task, follow, lines, _set_cursor(cursor))
            reached_end = len(lines) < cursor.page_size - 1  # one line may be a dropped repeat
            # While the job runs: one request per task per poll. Once it ended: to the end.
            if not ended:
                break
            if reached_end:
                follow.exhausted = True
        return printed

    def _poll_preview(self, task: str, follow: TaskFollow, ended: bool) -> int:
        if follow.exhausted:
            return 0
        reader = _preview_reader(self.reader)
        assert reader is not None  # _configured() reads AOM when the reader cannot preview
        if follow.preview is None:
            # Lines printed through AOM before a switch: found again by their last one.
            read = follow.cursor.lines_read
            last = follow.cursor.last_line
            follow.preview = (
                PreviewPosition(None, (last[:TAIL_CHARS],), read) if read and last is not None else PreviewPosition()
            )
        self.requests += 1
        preview = reader.read_training_job_log_preview(self.training_job_id, task)
        if preview is None:  # no log yet (or never, for a job that ended without one)
            follow.exhausted = ended
            return 0
        step = advance_preview(follow.preview, preview, ended)
        if step.missed_bytes:  # every gap, so that no hole in the task log is silent
            self.emit(
                f"[{task}] {step.missed_bytes} bytes of this log cannot be read: they are older than the log "
                f"preview's window (the newest {len(preview.content.encode('utf-8'))} bytes of the log, at most "
                f"{v2.PREVIEW_MAX_BYTES // (1024 * 1024)} MB) and were not read while they were in it; the whole "
                "log is in the ModelArts console (or the job's log_export_path)"
            )
        if step.lost_place:
            self.emit(
                f"[{task}] the log preview no longer holds the last lines printed (the log was rewritten or "
                "rotated): its whole content follows, some lines may repeat"
            )
        printed = self._print(task, follow, step.lines, _set_preview(step.position))
        if ended:
            follow.exhausted = True
        return printed

    def _print(self, task: str, follow: TaskFollow, lines: list[str], advance: Callable[[TaskFollow], None]) -> int:
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
        advance(follow)
        follow.printing, follow.printing_lines = False, None
        if was_printing and self.save is not None:
            # Saved again once printed: a restart from here repeats none of these lines.
            self.save(self.state())
        return len(lines)


def _set_cursor(cursor: v2.TaskLogCursor) -> Callable[[TaskFollow], None]:
    def advance(follow: TaskFollow) -> None:
        follow.cursor = cursor

    return advance


def _set_preview(position: PreviewPosition) -> Callable[[TaskFollow], None]:
    def advance(follow: TaskFollow) -> None:
        follow.preview = position

    return advance


class LogReadError(ModelArtsError):
    """A task's log could not be read (the hook's retries spent); says what that means for the
    task log. The wait goes on: a log is a convenience, never a reason to fail the training."""

    def __init__(self, task: str, error: ModelArtsError, consequence: str) -> None:
        super().__init__(f"the log of task {task} could not be read ({error}); {consequence}")
        self.task = task


def read_log_tail(
    reader: LogReader, training_job_id: str, tasks: Iterable[str], log_api: str | None = None
) -> dict[str, list[str]]:
    """The last :data:`FAILURE_TAIL_LINES` lines of each task's log (one request per task), for a
    failure message. A task whose log cannot be read is left out: the message is still worth having.

    :param log_api: as for :class:`JobLogFollower`: ``aom`` reads the AOM endpoint, ``preview``
        the log preview, ``auto`` (and ``None``, by default the reader's ``log_api``) AOM until the
        gateway answers that it does not exist, then the preview for this task and the next.
    """
    try:
        api = _resolve_api(reader, log_api)
    except ModelArtsError:
        api = v2.LOG_API_AOM
    tails: dict[str, list[str]] = {}
    for task in tasks:
        try:
            if api == v2.LOG_API_PREVIEW:
                lines = _preview_tail(reader, training_job_id, task)
            else:
                try:
                    lines = _aom_tail(reader, training_job_id, task)
                except ModelArtsApiError as error:
                    if api != v2.LOG_API_AUTO or not v2.is_api_not_found(error.http_status, error.error_code):
                        raise
                    api = v2.LOG_API_PREVIEW
                    lines = _preview_tail(reader, training_job_id, task)
        except ModelArtsError:
            continue
        if lines:
            tails[task] = lines
    return tails


def _resolve_api(reader: object, log_api: str | None) -> str:
    configured = log_api if log_api is not None else getattr(reader, "log_api", v2.LOG_API_AOM)
    api = v2.validate_log_api(configured) if configured is not None else v2.LOG_API_AOM
    return api if _preview_reader(reader) is not None else v2.LOG_API_AOM


def _aom_tail(reader: LogReader, training_job_id: str, task: str) -> list[str]:
    page = reader.read_training_job_log(training_job_id, task, lines=FAILURE_TAIL_LINES, order="desc")
    # Newest first from the API: turned back into reading order.
    return list(reversed(page.lines())) if page is not None else []


def _preview_tail(reader: object, training_job_id: str, task: str) -> list[str]:
    preview_reader = _preview_reader(reader)
    preview = preview_reader.read_training_job_log_preview(training_job_id, task) if preview_reader else None
    return preview.lines()[-FAILURE_TAIL_LINES:] if preview is not None else []


def _preview_reader(reader: object) -> PreviewReader | None:
    return cast(PreviewReader, reader) if callable(getattr(reader, "read_training_job_log_preview", None)) else None


def format_log_tail(tails: Mapping[str, list[str]]) -> str:
    """The tails of :func:`read_log_tail` as message text, one ``[task] line`` per line."""
    return "\n".join(f"[{task}] {line}" for task, lines in tails.items() for line in lines)


def _tasks_of(job: Mapping[str, Any]) -> list[str]:
    return [task for task in v2.job_row(job)["tasks"] if isinstance(task, str)]


def _has_ended(job: Mapping[str, Any]) -> bool:
    phase = v2.parse_phase(v2.phase_of(job) or "")
    return phase is not None and phase.is_terminal
