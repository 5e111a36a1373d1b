"""A task's log from AOM (``GET .../training-jobs/{id}/logs/{task_id}``): task names, the query
of one page, the page itself (:class:`TaskLogPage`), how a follower moves through the pages
(:class:`TaskLogCursor`) and how it reads the lines older than a full first page
(:func:`read_older_lines`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_modelarts.cloud.validation import coerce_int
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

# "worker-0" for one node, "worker-0", "worker-1", ... for several (ShowTrainingJobLogsFromAom), but
# not a closed set: the create example's answer lists "worker-0", "server-0", and other job kinds
# name theirs launcher-0, ps-0, master-0... (status.tasks is a list of free strings in the SDK).
# Any path-safe name is accepted; the paths URL-quote it anyway.
_TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOG_LINES_RANGE = (1, 500)
DEFAULT_LOG_LINES = 500
DEFAULT_LOG_ORDER = "asc"


def validate_task_id(value: object, parameter: str = "task_id") -> str:
    """A task name from ``status.tasks``: ``worker-0``, ``worker-1``, ``server-0``, ``launcher-0``,
    ``ps-0``, ... (1-128 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit)."""
    if isinstance(value, str) and _TASK_ID_PATTERN.fullmatch(value):
        return value
    raise ModelArtsValidationError(
        parameter,
        "a task name from the job's status.tasks such as 'worker-0' or 'server-0': 1 to 128 letters, digits, "
        "'.', '_' or '-', starting with a letter or digit",
        value,
    )


def validate_log_lines(value: object, parameter: str = "lines") -> int:
    return coerce_int(value, parameter, *LOG_LINES_RANGE)


def validate_base_line(value: object, parameter: str = "base_line") -> str | None:
    """A cursor from an earlier page (its ``start_line`` or ``end_line``), or ``None``."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= 128 and value.isprintable():
        return value.strip()
    raise ModelArtsValidationError(parameter, "a position from an earlier page (its start_line or end_line)", value)


def log_query(base_line: str | None, lines: int, order: str) -> list[tuple[str, str]]:
    """The query of one AOM page; no ``base_line`` at all when there is none (the docs' "empty")."""
    query = [("lines", str(lines)), ("order", order)]
    if base_line is not None:
        query.insert(0, ("base_line", base_line))
    return query


@dataclass(frozen=True)
class TaskLogPage:
    """One page of a task's log from AOM (``GET .../training-jobs/{id}/logs/{task_id}``).

    :param start_line: the position of the page's first line, as the API gives it (a string;
        the v1 docs' example is a nanosecond-like number such as ``"1551252759254000002"``).
    :param end_line: the position of its last line (see :class:`TaskLogCursor` for how it is used).
    :param line_count: the API's ``lines``: how many lines the page holds.
    :param content: the lines, joined by ``\\n``.
    """

    start_line: str | None
    end_line: str | None
    line_count: int
    content: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TaskLogPage:
        content = body.get("content")
        count = body.get("lines")
        # The v1 example gives "lines" as a string ("1"): accept both.
        if isinstance(count, str) and count.strip().isdecimal():
            count = int(count)
        text = content if isinstance(content, str) else ""
        return cls(
            start_line=_position(body.get("start_line")),
            end_line=_position(body.get("end_line")),
            line_count=count if isinstance(count, int) and not isinstance(count, bool) else len(_split_lines(text)),
            content=text,
        )

    def lines(self) -> list[str]:
        """The page's lines, without their line ends (``\\r\\n`` too); a final newline does not
        make an empty last line."""
        return _split_lines(self.content)


def _position(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text or None


def _split_lines(content: str) -> list[str]:
    if not content:
        return []
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


@dataclass(frozen=True)
class TaskLogCursor:
    """Where a follower of one task's log is, and what it learned about the API's positions.

    How a task's log is followed from its first line, every line once and in order (the exact
    reading implemented by :meth:`next_query` and :meth:`advance`):

    1. **First call**: no ``base_line`` at all, ``order=asc``, ``lines=500``. The docs say an
       empty ``base_line`` "starts from the newest log" and that ``asc`` is "oldest to newest",
       which reads two ways: the log from its first line (oldest first), or the newest 500 lines
       (oldest of them first). While the log is shorter than a page both give the whole log. When
       the first page is *full*, older lines may exist (second reading), so the follower walks
       back once (:func:`read_older_lines`): ``order=desc`` from the oldest position it has, page
       after page, until a short or empty page, at most :data:`MAX_BACKFILL_PAGES` pages; those
       lines come first, oldest first. Under the first reading that walk costs one request and
       finds nothing. Only this first call can cost more than one request.
       (:meth:`ModelArtsHook.follow_training_job_log` does the walk; a caller that drives
       :meth:`advance` itself calls :func:`read_older_lines` after a full first page.)
    2. **Every later call**: ``base_line`` = the previous page's ``end_line``, ``order=asc``.
       The v2 page defines ``asc`` as "oldest to newest"; the v1 ``aom-log`` page defined the
       same word the other way round ("desc: query next records, asc: query previous records").
       We follow the v2 page, the one for this endpoint.
    3. **Is ``base_line`` inclusive?** The docs do not say, so both readings are handled:
       - *inclusive* (the page starts *at* ``base_line``): the new page's ``start_line`` equals
         the previous ``end_line`` and its first line is the previous page's last line again. That
         first line is dropped.
       - *exclusive* (the page starts after it): ``start_line`` differs from the previous
         ``end_line``, and every line is new.
       - *half-open positions*: ``end_line`` may be where the *next* line will go rather than
         the last line's own position (the v1 docs' example gives ``start_line`` ...002 and
         ``end_line`` ...003 for a one-line page). Then a page starting at the previous
         ``end_line`` starts with a *new* line, which must be kept.
       The cursor tells these apart from what it sees (:attr:`repeats_end_line`): a one-line page
       whose ``start_line`` equals its ``end_line`` proves ``end_line`` is the last line's own
       position (so a page starting there repeats it: drop); a one-line page with two different
       positions, or a page starting at the previous ``end_line`` with a *different* first line,
       proves the positions are half-open (never drop). Until either is learned, a first line at
       exactly the previous ``end_line`` with exactly the previous last line's text is taken as
       the repeat. The one case this cannot tell apart: half-open positions *and* a task that
       printed the same line twice across a page boundary before any one-line page was seen.
       (If the service skipped the line at an exclusive, half-open ``base_line``, no client
       reading could recover it; nothing in the docs suggests that combination.)
    4. **No new lines**: an empty page (or a page whose only line is the repeat) leaves the
       cursor where it was, so the next call asks from the same position. HTTP 204 /
       ``ModelArts.2776`` (the log does not exist yet) is not a page: the cursor stays at the
       start, and the next call is a first call again.
    5. A page without an ``end_line`` keeps the previous ``base_line`` (nothing to move to).

    :param base_line: the ``base_line`` of the next call (``None``: the first call).
    :param last_line: the text of the last line returned so far, to recognise its repeat.
    :param repeats_end_line: whether a page that starts at the previous ``end_line`` starts with
        the previous last line again, once learned (``None``: not yet; see point 3).
    :param lines_read: how many lines were returned so far (repeats not counted).
    :param page_size: ``lines`` per request, 1-500.
    """

    base_line: str | None = None
    last_line: str | None = None
    repeats_end_line: bool | None = None
    lines_read: int = 0
    page_size: int = field(default=DEFAULT_LOG_LINES)

    def next_query(self) -> list[tuple[str, str]]:
        """The query of the next call (see the class docstring, points 1 and 2)."""
        return log_query(self.base_line, self.page_size, DEFAULT_LOG_ORDER)

    def advance(self, page: TaskLogPage | None) -> tuple[TaskLogCursor, list[str]]:
        """The cursor after ``page`` (the answer to :meth:`next_query`; ``None`` for 204), and the
        page's lines that were not returned before, in order."""
        if page is None:
            return self, []
        lines = page.lines()
        repeats = self.repeats_end_line
        if page.line_count == 1 and len(lines) == 1 and page.start_line and page.end_line:
            repeats = page.start_line == page.end_line
        at_previous_end = (
            self.base_line is not None and page.start_line is not None and page.start_line == self.base_line
        )
        if at_previous_end and lines and self.last_line is not None:
            if repeats is None and lines[0] != self.last_line:
                repeats = False  # a new line at the old end: the positions are half-open
            if repeats is True or (repeats is None and lines[0] == self.last_line):
                lines = lines[1:]
        if not lines:
            return TaskLogCursor(self.base_line, self.last_line, repeats, self.lines_read, self.page_size), []
        cursor = TaskLogCursor(
            base_line=page.end_line or self.base_line,
            last_line=lines[-1],
            repeats_end_line=repeats,
            lines_read=self.lines_read + len(lines),
            page_size=self.page_size,
        )
        return cursor, lines


# A follower that starts late reads at most this many pages of older lines on its first call
# (10,000 lines at 500 a page): a task log longer than that is a console's job, not a task log's.
MAX_BACKFILL_PAGES = 20


def _number(position: str | None) -> int | None:
    return int(position) if position is not None and position.isdecimal() else None


def chronological_lines(page: TaskLogPage) -> list[str]:
    """The lines of an ``order=desc`` page, oldest first.

    The docs say desc is "newest to oldest". Positions are line numbers ("基线行号"), so when both
    are numbers the page's own ``start_line`` and ``end_line`` say which way its content runs
    (``start_line`` > ``end_line``: newest first); otherwise the docs' order is assumed.
    """
    lines = page.lines()
    start, end = _number(page.start_line), _number(page.end_line)
    if start is not None and end is not None and start <= end:
        return lines
    return lines[::-1]


def _desc_page_bounds(page: TaskLogPage) -> tuple[str | None, str | None]:
    """``(oldest, newest)`` position of an ``order=desc`` page."""
    start, end = _number(page.start_line), _number(page.end_line)
    if start is not None and end is not None and start <= end:
        return page.start_line, page.end_line
    return page.end_line, page.start_line


def read_older_lines(
    read_before: Callable[[str], TaskLogPage | None],
    first: TaskLogPage,
    page_size: int,
    max_pages: int = MAX_BACKFILL_PAGES,
) -> tuple[list[str], bool]:
    """The lines older than a full first page, oldest first (point 1 of :class:`TaskLogCursor`).

    :param read_before: reads one ``order=desc`` page from a ``base_line`` (the hook's request).
    :param first: the first page (``order=asc``, no ``base_line``), which was full.
    :return: the older lines, and whether the walk reached the start of the log (``False``: it
        stopped after ``max_pages`` pages, and still older lines were not read).
    """
    first_lines = first.lines()
    oldest_position = first.start_line
    oldest_text = first_lines[0] if first_lines else None
    older: list[str] = []
    for _ in range(max_pages):
        if oldest_position is None:
            return older, True
        page = read_before(oldest_position)
        if page is None:
            return older, True
        lines = chronological_lines(page)
        page_oldest, page_newest = _desc_page_bounds(page)
        # An inclusive base_line gives back the line at it (our oldest) as the page's newest.
        if lines and page_newest == oldest_position and lines[-1] == oldest_text:
            lines = lines[:-1]
        if not lines or page_oldest == oldest_position:
            return older, True
        older[:0] = lines
        oldest_position, oldest_text = page_oldest, lines[0]
        if page.line_count < page_size:
            return older, True
    return older, False
