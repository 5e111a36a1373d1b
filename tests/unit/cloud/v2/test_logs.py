"""cloud/v2/logs.py: AOM log pages, the cursor under each reading of the positions, the walk back
of a late follower, task names, and the hook's log arguments checked before any request."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from tests.unit.hooks.fakes import JOB_ID, PROJECT, _scripted_hook


def test_a_log_page_reads_the_documented_fields() -> None:
    page = v2.TaskLogPage.from_body(
        {"start_line": "1551252759254000002", "end_line": "1551252759254000004", "lines": 2, "content": "a\r\nb\n"}
    )
    assert page == v2.TaskLogPage("1551252759254000002", "1551252759254000004", 2, "a\r\nb\n")
    assert page.lines() == ["a", "b"]


def test_a_log_page_accepts_numbers_and_a_string_count_as_in_the_v1_example() -> None:
    page = v2.TaskLogPage.from_body({"start_line": 1551252759254000002, "end_line": "", "lines": "1", "content": "x"})
    assert (page.start_line, page.end_line, page.line_count, page.lines()) == ("1551252759254000002", None, 1, ["x"])
    empty = v2.TaskLogPage.from_body({})
    assert (empty.start_line, empty.end_line, empty.line_count, empty.lines()) == (None, None, 0, [])


class FakeAom:
    """A task log served under one reading of the docs. Line i (0-based) has position 1000 + i.

    ``inclusive``: a page starts at ``base_line`` itself (else just after it). ``half_open``:
    ``end_line`` is the position after the page's last line (else the last line's own).
    ``newest_first_page``: an empty base_line gives the newest lines (else the first ones).
    ``order=desc`` from a base_line gives the lines before it, newest first, ``start_line`` the
    newest position."""

    def __init__(
        self, inclusive: bool, half_open: bool, lines: Sequence[str] = (), newest_first_page: bool = False
    ) -> None:
        self.inclusive = inclusive
        self.half_open = half_open
        self.newest_first_page = newest_first_page
        self.log: list[str] = list(lines)
        self.calls: list[list[tuple[str, str]]] = []

    def page(self, query: Sequence[tuple[str, str]]) -> v2.TaskLogPage | None:
        self.calls.append(list(query))
        if not self.log:
            return None  # HTTP 204, ModelArts.2776
        args = dict(query)
        size = int(args["lines"])
        if args["order"] == "desc":
            base = int(args["base_line"]) - 1000
            stop = base + 1 if self.inclusive else base
            chosen = self.log[max(0, stop - size) : stop][::-1]
            if not chosen:
                return v2.TaskLogPage(None, None, 0, "")
            newest = stop - 1
            return v2.TaskLogPage(
                str(1000 + newest), str(1000 + newest - len(chosen) + 1), len(chosen), "\n".join(chosen)
            )
        after = 0 if self.inclusive else 1
        if "base_line" in args:
            first = int(args["base_line"]) - 1000 + after
        else:
            first = max(0, len(self.log) - size) if self.newest_first_page else 0
        chosen = self.log[first : first + size]
        if not chosen:
            return v2.TaskLogPage(None, None, 0, "")
        last = first + len(chosen) - 1
        end = last + 1 if self.half_open else last
        return v2.TaskLogPage(str(1000 + first), str(1000 + end), len(chosen), "\n".join(chosen) + "\n")


def _follow(aom: FakeAom, rounds: Sequence[Sequence[str]], page_size: int = 3) -> list[str]:
    """Append each round's lines to the log, then read once; finally read until nothing comes."""
    cursor = v2.TaskLogCursor(page_size=page_size)
    seen: list[str] = []
    for new_lines in rounds:
        aom.log.extend(new_lines)
        cursor, lines = cursor.advance(aom.page(cursor.next_query()))
        seen.extend(lines)
    for _ in range(len(aom.log) + 2):
        cursor, lines = cursor.advance(aom.page(cursor.next_query()))
        seen.extend(lines)
    assert cursor.lines_read == len(seen)
    return seen


@pytest.mark.parametrize(
    ("inclusive", "half_open"),
    [(True, False), (False, False), (True, True)],
    ids=["inclusive", "exclusive", "half-open"],
)
def test_following_a_log_gets_every_line_once_in_order_under_each_reading(inclusive: bool, half_open: bool) -> None:
    rounds = [[], ["epoch 1"], [], ["epoch 2", "loss 0.5", "epoch 3", "loss 0.4", "done"], [], ["tail"]]
    aom = FakeAom(inclusive, half_open)
    assert _follow(aom, rounds) == [line for batch in rounds for line in batch]
    assert "base_line" not in dict(aom.calls[0])


@pytest.mark.parametrize(("inclusive", "half_open"), [(True, False), (False, False), (True, True)])
def test_identical_lines_are_kept_once_the_positions_are_learned(inclusive: bool, half_open: bool) -> None:
    # A one-line first page teaches the cursor what end_line means; later repeats of the same
    # text across a page boundary are then real lines.
    rounds = [["start"], ["."], ["."], [".", ".", "."], ["."]]
    assert _follow(FakeAom(inclusive, half_open), rounds, page_size=2) == [line for r in rounds for line in r]


def test_the_cursor_learns_what_end_line_means_from_a_one_line_page() -> None:
    closed = v2.TaskLogCursor().advance(v2.TaskLogPage("7", "7", 1, "x\n"))[0]
    half_open = v2.TaskLogCursor().advance(v2.TaskLogPage("7", "8", 1, "x\n"))[0]
    assert (closed.repeats_end_line, half_open.repeats_end_line) == (True, False)
    assert (closed.base_line, closed.last_line) == ("7", "x")


def test_no_log_yet_and_an_empty_page_leave_the_cursor_where_it_was() -> None:
    cursor = v2.TaskLogCursor()
    assert cursor.advance(None) == (cursor, [])
    cursor, lines = cursor.advance(v2.TaskLogPage("1", "2", 2, "a\nb"))
    assert (cursor.base_line, lines) == ("2", ["a", "b"])
    assert cursor.advance(v2.TaskLogPage(None, None, 0, "")) == (cursor, [])
    assert cursor.next_query() == [("base_line", "2"), ("lines", "500"), ("order", "asc")]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"training_job_id": "job-1"}, "training_job_id"),
        ({"task_id": "-worker"}, "task_id"),
        ({"task_id": "worker/0"}, "task_id"),
        ({"task_id": "worker-0\n"}, "task_id"),
        ({"task_id": ""}, "task_id"),
        ({"lines": 0}, "lines"),
        ({"lines": 501}, "lines"),
        ({"order": "newest"}, "order"),
        ({"base_line": ""}, "base_line"),
        ({"base_line": -1}, "base_line"),
    ],
)
def test_log_arguments_are_checked_before_any_request(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], parameter: str
) -> None:
    hook, api = _scripted_hook(monkeypatch)
    monkeypatch.setattr(hook, "_exchange", lambda *args, **kw: pytest.fail("no request expected"))
    arguments: dict[str, Any] = {"training_job_id": JOB_ID, "task_id": "worker-0", **kwargs}
    with pytest.raises(ModelArtsValidationError) as error:
        hook.read_training_job_log(**arguments)
    assert error.value.parameter == parameter


@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("newest_first_page", [True, False])
def test_a_late_follower_reads_the_older_lines_first(
    monkeypatch: pytest.MonkeyPatch, inclusive: bool, newest_first_page: bool
) -> None:
    log = [f"line {n}" for n in range(23)]
    aom = FakeAom(inclusive, half_open=False, lines=log, newest_first_page=newest_first_page)
    hook, _ = _scripted_hook(monkeypatch)

    def read(
        training_job_id: str, task_id: str, base_line: str | None = None, lines: int = 500, order: str = "asc"
    ) -> v2.TaskLogPage | None:
        return aom.page(v2.log_query(base_line, lines, order))

    monkeypatch.setattr(hook, "read_training_job_log", read)
    cursor, lines = hook.follow_training_job_log(JOB_ID, "worker-0", v2.TaskLogCursor(page_size=5))
    first_call_requests = len(aom.calls)
    aom.log.append("line 23")
    for _ in range(10):
        cursor, more = hook.follow_training_job_log(JOB_ID, "worker-0", cursor)
        lines += more
    assert lines == [*log, "line 23"]
    assert cursor.lines_read == 24
    # Newest page first: one asc page, then desc pages back to the start (18 older lines, 5 a
    # page, 4 new ones a page when the base line comes back). First page first: one desc page,
    # which finds nothing older.
    assert first_call_requests == 1 + (math.ceil(18 / (4 if inclusive else 5)) if newest_first_page else 1)


def test_the_walk_back_stops_after_its_page_limit() -> None:
    aom = FakeAom(inclusive=False, half_open=False, lines=[str(n) for n in range(100)], newest_first_page=True)
    first = aom.page(v2.log_query(None, 10, "asc"))
    assert first is not None
    older, complete = v2.read_older_lines(lambda base: aom.page(v2.log_query(base, 10, "desc")), first, 10, 3)
    assert (older, complete) == ([str(n) for n in range(60, 90)], False)


def test_a_desc_page_runs_the_way_its_positions_say() -> None:
    assert v2.chronological_lines(v2.TaskLogPage("10", "8", 3, "c\nb\na")) == ["a", "b", "c"]
    assert v2.chronological_lines(v2.TaskLogPage("8", "10", 3, "a\nb\nc")) == ["a", "b", "c"]
    assert v2.chronological_lines(v2.TaskLogPage("x", "y", 2, "b\na")) == ["a", "b"]


@pytest.mark.parametrize(
    "task", ["worker-0", "worker-12", "server-0", "launcher-0", "ps-0", "master-0", "a.b_c", "X" * 128]
)
def test_any_task_name_from_status_tasks_is_accepted(task: str) -> None:
    assert v2.validate_task_id(task) == task


@pytest.mark.parametrize("task", ["", "-a", ".a", "_a", "a/b", "a b", "a%2F", "X" * 129, "worker-0\n", 0])
def test_a_task_name_that_is_not_path_safe_is_refused(task: object) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_task_id(task)
    assert error.value.parameter == "task_id"
    assert "'server-0'" in error.value.allowed


def test_the_hook_reads_the_log_of_a_server_task(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, _ = _scripted_hook(monkeypatch)
    urls: list[str] = []

    def exchange(method: str, url: str, **kwargs: Any) -> Any:
        urls.append(url)
        return type(
            "Answer", (), {"status": 200, "body": {"start_line": "1", "end_line": "1", "lines": 1, "content": "x"}}
        )()

    monkeypatch.setattr(hook, "_exchange", exchange)
    page = hook.read_training_job_log(JOB_ID, "server-0")
    assert page is not None and page.lines() == ["x"]
    assert urls[0].endswith(f"/v2/{PROJECT}/training-jobs/{JOB_ID}/logs/server-0")
