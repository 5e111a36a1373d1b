"""The log follower with a fake log service: every line once and in order, the request cost,
and restarts. No HTTP, no sleeps."""

from __future__ import annotations

from typing import Any

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.waiting.logs import (
    REPEATED_MARK,
    JobLogFollower,
    format_log_tail,
    read_log_tail,
)

JOB_ID = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"


class FakeLogs:
    """Task logs that grow; the cursor is the index of the next line (an exclusive reading)."""

    def __init__(self, tasks: dict[str, list[str]], page_size: int = 500) -> None:
        self.logs = tasks
        self.page_size = page_size
        self.requests: list[str] = []

    def follow_training_job_log(
        self, training_job_id: str, task_id: str, cursor: v2.TaskLogCursor | None = None
    ) -> tuple[v2.TaskLogCursor, list[str]]:
        self.requests.append(task_id)
        current = cursor or v2.TaskLogCursor(page_size=self.page_size)
        start = int(current.base_line or 0)
        lines = self.logs[task_id][start : start + current.page_size]
        after = v2.TaskLogCursor(
            base_line=str(start + len(lines)),
            last_line=lines[-1] if lines else current.last_line,
            repeats_end_line=False,
            lines_read=current.lines_read + len(lines),
            page_size=current.page_size,
        )
        return after, lines

    def read_training_job_log(
        self, training_job_id: str, task_id: str, base_line: str | None = None, lines: int = 50, order: str = "asc"
    ) -> v2.TaskLogPage | None:
        self.requests.append(f"tail:{task_id}")
        newest_first = list(reversed(self.logs[task_id]))[:lines]
        return v2.TaskLogPage("0", "0", len(newest_first), "\n".join(newest_first))


def job(phase: str, tasks: tuple[str, ...] = ("worker-0", "worker-1")) -> dict[str, Any]:
    return {"metadata": {"id": JOB_ID}, "status": {"phase": phase, "tasks": list(tasks)}}


def test_every_line_appears_once_in_order_per_task_with_one_request_per_task_per_poll() -> None:
    service = FakeLogs({"worker-0": [], "worker-1": []})
    printed: list[str] = []
    follower = JobLogFollower(service, JOB_ID, printed.append)
    for step in range(4):
        service.logs["worker-0"] += [f"epoch {step} loss {step}"]
        service.logs["worker-1"] += [f"w1 step {step}a", f"w1 step {step}b"]
        follower.poll(job("Running"))
        assert service.requests == ["worker-0", "worker-1"] * (step + 1)
    assert [line for line in printed if line.startswith("[worker-0]")] == [
        f"[worker-0] epoch {step} loss {step}" for step in range(4)
    ]
    assert len([line for line in printed if line.startswith("[worker-1]")]) == 8
    assert len(printed) == len(set(printed)) == 12


def test_once_the_job_ended_each_log_is_drained_then_never_asked_again() -> None:
    service = FakeLogs({"worker-0": [f"line {n}" for n in range(1203)]}, page_size=500)
    printed: list[str] = []
    follower = JobLogFollower(service, JOB_ID, printed.append)
    follower.poll(job("Running", ("worker-0",)))
    assert len(printed) == 500 and len(service.requests) == 1  # one page per poll while it runs
    follower.poll(job("Failed", ("worker-0",)))
    assert printed == [f"[worker-0] line {n}" for n in range(1203)]
    assert len(service.requests) == 3
    follower.poll(job("Failed", ("worker-0",)))
    assert len(service.requests) == 3  # no request once a task has no new lines


def test_a_follower_rebuilt_from_a_saved_state_loses_nothing_and_marks_only_the_interrupted_lines() -> None:
    """The state is saved before a page is printed: a restart in the middle of printing reprints
    that page's lines, marked; a line the log gained since (read in the same page) is new and
    unmarked, and so is every later line."""
    service = FakeLogs({"worker-0": ["a", "b"]})
    saved: list[dict[str, Any]] = []
    first: list[str] = []
    JobLogFollower(service, JOB_ID, first.append, save=saved.append).poll(job("Running", ("worker-0",)))
    assert first == ["[worker-0] a", "[worker-0] b"]
    service.logs["worker-0"] += ["c"]
    # A triggerer restart: the trigger is re-created with the last state it saved.
    second: list[str] = []
    # Interrupted while the page was printed: the state saved before it is the last one.
    interrupted = [state for state in saved if state["worker-0"]["printing"]][-1]
    rebuilt = JobLogFollower(service, JOB_ID, second.append, state=interrupted)
    rebuilt.poll(job("Running", ("worker-0",)))
    assert second == [f"[worker-0] {REPEATED_MARK}a", f"[worker-0] {REPEATED_MARK}b", "[worker-0] c"]
    service.logs["worker-0"] += ["d"]
    rebuilt.poll(job("Completed", ("worker-0",)))
    assert second[-1] == "[worker-0] d"


def test_the_state_is_saved_again_once_a_page_is_printed_so_a_restart_then_repeats_nothing() -> None:
    service = FakeLogs({"worker-0": ["a", "b"]})
    saved: list[dict[str, Any]] = []
    JobLogFollower(service, JOB_ID, lambda _line: None, save=saved.append).poll(job("Running", ("worker-0",)))
    assert [state["worker-0"]["printing"] for state in saved] == [True, False]
    service.logs["worker-0"] += ["c"]
    again: list[str] = []
    JobLogFollower(service, JOB_ID, again.append, state=saved[-1]).poll(job("Running", ("worker-0",)))
    assert again == ["[worker-0] c"]


def test_a_state_saved_after_a_page_was_printed_repeats_nothing() -> None:
    service = FakeLogs({"worker-0": ["a"]})
    follower = JobLogFollower(service, JOB_ID, lambda _line: None)
    follower.poll(job("Running", ("worker-0",)))
    service.logs["worker-0"] += ["b"]
    again: list[str] = []
    JobLogFollower(service, JOB_ID, again.append, state=follower.state()).poll(job("Running", ("worker-0",)))
    assert again == ["[worker-0] b"]


def test_a_state_saved_by_an_earlier_release_marks_the_whole_next_page() -> None:
    """A saved state without ``printing_lines`` (the release before) cannot say how many lines the
    interrupted page had: the whole page read again is marked, as that release did."""
    service = FakeLogs({"worker-0": ["a", "b", "c"]})
    old_state = {"worker-0": {"cursor": {}, "printing": True, "exhausted": False}}
    printed: list[str] = []
    JobLogFollower(service, JOB_ID, printed.append, state=old_state).poll(job("Running", ("worker-0",)))
    assert printed == [f"[worker-0] {REPEATED_MARK}{line}" for line in ("a", "b", "c")]


def test_an_interrupted_page_longer_than_the_log_now_read_marks_every_line_read() -> None:
    service = FakeLogs({"worker-0": ["a"]})
    state = {"worker-0": {"cursor": {}, "printing": True, "printing_lines": 5, "exhausted": False}}
    printed: list[str] = []
    JobLogFollower(service, JOB_ID, printed.append, state=state).poll(job("Running", ("worker-0",)))
    assert printed == [f"[worker-0] {REPEATED_MARK}a"]


def test_the_failure_tail_is_in_reading_order() -> None:
    service = FakeLogs({"worker-0": [f"l{n}" for n in range(30)], "worker-1": []})
    tails = read_log_tail(service, JOB_ID, ["worker-0", "worker-1"])
    assert tails == {"worker-0": [f"l{n}" for n in range(10, 30)]}
    assert format_log_tail(tails).splitlines()[0] == "[worker-0] l10"
