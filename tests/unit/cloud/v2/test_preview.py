"""cloud/v2/preview.py and the log follower built on it: following a task log through the log
preview (the newest bytes of the log and its full size), the ``auto`` switch from AOM to the
preview, the failure tail, and the parsing of the preview body. A fake log service, no HTTP.

The follower tests (waiting.logs' JobLogFollower) may move to tests/unit/waiting/ later."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsRequestRejectedError, ModelArtsValidationError
from airflow_provider_modelarts.waiting.logs import (
    REPEATED_MARK,
    JobLogFollower,
    LogReadError,
    PreviewPosition,
    advance_preview,
    read_log_tail,
)

JOB_ID = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"


def api_not_found() -> ModelArtsRequestRejectedError:
    return ModelArtsRequestRejectedError(404, "APIGW.0101", "API not found")


class PreviewLogs:
    """Task logs as text; the preview is the last ``window`` bytes, cut anywhere (mid-line too)."""

    def __init__(
        self, logs: dict[str, str], window: int = 5 * 1024 * 1024, log_api: str = "preview", aom: bool = False
    ) -> None:
        self.logs = logs
        self.window = window
        self.log_api = log_api
        self.aom = aom
        self.requests: list[str] = []
        self.sizes = True

    def read_training_job_log_preview(self, training_job_id: str, task_id: str) -> v2.TaskLogPreview | None:
        self.requests.append(f"preview:{task_id}")
        text = self.logs.get(task_id)
        if text is None:
            return None
        data = text.encode("utf-8")
        part = data[-self.window :] if len(data) > self.window else data
        content = part.decode("utf-8", "ignore")
        if not self.sizes:
            return v2.TaskLogPreview(content, None, None)
        return v2.TaskLogPreview(content, len(content.encode()), len(data))

    def follow_training_job_log(
        self, training_job_id: str, task_id: str, cursor: v2.TaskLogCursor | None = None
    ) -> tuple[v2.TaskLogCursor, list[str]]:
        self.requests.append(f"aom:{task_id}")
        if not self.aom:
            raise api_not_found()
        current = cursor or v2.TaskLogCursor()
        start = int(current.base_line or 0)
        lines = self.logs[task_id].splitlines()[start : start + current.page_size]
        return (
            v2.TaskLogCursor(
                str(start + len(lines)),
                lines[-1] if lines else current.last_line,
                False,
                current.lines_read + len(lines),
                current.page_size,
            ),
            lines,
        )

    def read_training_job_log(
        self, training_job_id: str, task_id: str, base_line: str | None = None, lines: int = 50, order: str = "asc"
    ) -> v2.TaskLogPage | None:
        self.requests.append(f"aom-tail:{task_id}")
        if not self.aom:
            raise api_not_found()
        newest = list(reversed(self.logs[task_id].splitlines()))[:lines]
        return v2.TaskLogPage("0", "0", len(newest), "\n".join(newest))


def job(phase: str, tasks: tuple[str, ...] = ("worker-0",)) -> dict[str, Any]:
    return {"metadata": {"id": JOB_ID}, "status": {"phase": phase, "tasks": list(tasks)}}


def body(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


# ---------------------------------------------------------------------------------------------
# The preview reading itself
# ---------------------------------------------------------------------------------------------


def test_only_whole_new_lines_are_returned_and_a_line_being_written_waits() -> None:
    position = PreviewPosition()
    step = advance_preview(position, v2.TaskLogPreview("a\nb\npart", 8, 8), ended=False)
    assert step.lines == ["a", "b"] and step.position.offset == 4 and not step.missed_bytes
    step = advance_preview(step.position, v2.TaskLogPreview("a\nb\npartial\nc\n", 14, 14), ended=False)
    assert step.lines == ["partial", "c"] and step.position.offset == 14
    assert advance_preview(step.position, v2.TaskLogPreview("a\nb\npartial\nc\n", 14, 14), ended=False).lines == []
    # Once the job ended, a last line without its line end is printed too.
    ended = advance_preview(step.position, v2.TaskLogPreview("a\nb\npartial\nc\nlast", 18, 18), ended=True)
    assert ended.lines == ["last"] and ended.position.offset == 18


def test_a_window_that_moved_on_still_gives_exactly_the_new_lines() -> None:
    step = advance_preview(PreviewPosition(), v2.TaskLogPreview("l1\nl2\n", 6, 6), ended=False)
    # The log is now 12 bytes; the window holds its last 7: "2\nl3\nl4\n" minus one byte.
    step = advance_preview(step.position, v2.TaskLogPreview("\nl3\nl4\n", 7, 12), ended=False)
    assert step.lines == ["l3", "l4"] and not step.missed_bytes and step.position.offset == 12


def test_bytes_that_left_the_window_unread_are_counted_and_the_rest_printed() -> None:
    step = advance_preview(PreviewPosition(), v2.TaskLogPreview("l1\n", 3, 3), ended=False)
    step = advance_preview(step.position, v2.TaskLogPreview("9\nl10\n", 6, 30), ended=False)
    # Bytes 3-23 (after l1, before the window), and "9\n": the end of a line the window cut.
    assert step.missed_bytes == 23
    assert step.lines == ["l10"] and step.position.offset == 30


def test_without_sizes_the_place_is_found_from_the_last_lines_printed() -> None:
    step = advance_preview(PreviewPosition(), v2.TaskLogPreview("x\ny\nz\n", None, None), ended=False)
    assert step.lines == ["x", "y", "z"] and step.position.offset is None
    step = advance_preview(step.position, v2.TaskLogPreview("y\nz\nw\n", None, None), ended=False)
    assert step.lines == ["w"] and not step.lost_place
    # The window begins inside the remembered lines: only their end is in it.
    step = advance_preview(step.position, v2.TaskLogPreview("w\nv\n", None, None), ended=False)
    assert step.lines == ["v"]
    lost = advance_preview(step.position, v2.TaskLogPreview("new\n", None, None), ended=False)
    assert lost.lines == ["new"] and lost.lost_place


def test_sizes_that_do_not_fit_the_content_fall_back_to_the_last_lines() -> None:
    """Sizes that do not count what the content holds (characters instead of UTF-8 bytes, or a
    full size one off): the byte position misses a line end, and the place is found from the last
    lines printed instead; nothing repeats, nothing is lost."""
    first = advance_preview(PreviewPosition(), v2.TaskLogPreview("é1\nb\n", 5, 5), ended=False)
    assert first.lines == ["é1", "b"] and first.position.offset is None  # 5 < the 6 bytes held
    second = advance_preview(first.position, v2.TaskLogPreview("é1\nb\nc\n", 7, 7), ended=False)
    assert second.lines == ["c"] and not second.lost_place
    step = advance_preview(PreviewPosition(), v2.TaskLogPreview("a\nb\n", 4, 4), ended=False)
    step = advance_preview(step.position, v2.TaskLogPreview("a\nb\nc\n", 6, 7), ended=False)
    assert step.lines == ["c"] and not step.missed_bytes and step.position.offset == 7


def test_a_position_survives_its_json_form() -> None:
    position = PreviewPosition(120, ("a", "b"), 7)
    assert PreviewPosition.from_json(json.loads(json.dumps(position.to_json()))) == position
    assert PreviewPosition.from_json({"offset": -1, "tail": "x", "lines_printed": True}) == PreviewPosition(None)


# ---------------------------------------------------------------------------------------------
# The follower in preview mode
# ---------------------------------------------------------------------------------------------


def test_the_follower_prints_every_line_once_in_order_through_the_preview() -> None:
    lines = [f"step {n}" for n in range(40)]
    service = PreviewLogs({"worker-0": "", "server-0": ""})
    printed: list[str] = []
    follower = JobLogFollower(service, JOB_ID, printed.append)
    for chunk in range(0, 40, 7):
        service.logs["worker-0"] += body(lines[chunk : chunk + 7])
        service.logs["server-0"] += body([f"ps {chunk}"]) + "half a li"
        follower.poll(job("Running", ("worker-0", "server-0")))
        service.logs["server-0"] += "ne\n"
    follower.poll(job("Completed", ("worker-0", "server-0")))
    assert [line for line in printed if line.startswith("[worker-0]")] == [f"[worker-0] {line}" for line in lines]
    server = [line for line in printed if line.startswith("[server-0]")]
    assert server == [
        item for chunk in range(0, 40, 7) for item in (f"[server-0] ps {chunk}", "[server-0] half a line")
    ]
    assert not any(line.startswith("[worker-0] ") and "aom" in line for line in printed)
    # One request per task per poll (6 polls running, one drain once it ended), none afterwards.
    assert len(service.requests) == 2 * 7 and all(r.startswith("preview:") for r in service.requests)
    follower.poll(job("Completed", ("worker-0", "server-0")))
    assert len(service.requests) == 14


def test_a_log_that_outgrows_the_window_says_so_at_each_gap_and_loses_only_the_gaps() -> None:
    service = PreviewLogs({"worker-0": body(["a", "b"])}, window=12)
    printed: list[str] = []
    follower = JobLogFollower(service, JOB_ID, printed.append)
    follower.poll(job("Running"))
    service.logs["worker-0"] += body([f"line {n}" for n in range(10)])  # 70 bytes: most never seen
    follower.poll(job("Running"))
    service.logs["worker-0"] += body(["x"])
    follower.poll(job("Running"))
    service.logs["worker-0"] += body([f"again {n}" for n in range(10)])
    follower.poll(job("Completed"))
    notices = [line for line in printed if "cannot be read" in line]
    assert len(notices) == 2 and all(notice.startswith("[worker-0] ") for notice in notices)
    lines = [line for line in printed if line not in notices]
    assert all(line.split("] ", 1)[1] in {"a", "b", "x"} or " " in line.split("] ", 1)[1] for line in lines)
    assert lines[:2] == ["[worker-0] a", "[worker-0] b"]
    assert "[worker-0] x" in lines and len(lines) == len(set(lines))


def test_a_restart_from_the_state_saved_before_printing_marks_only_those_lines() -> None:
    service = PreviewLogs({"worker-0": body(["a", "b"])})
    saved: list[dict[str, Any]] = []
    JobLogFollower(service, JOB_ID, lambda _line: None, save=saved.append).poll(job("Running"))
    service.logs["worker-0"] += body(["c"])
    interrupted = [state for state in saved if state["worker-0"]["printing"]][-1]
    again: list[str] = []
    rebuilt = JobLogFollower(service, JOB_ID, again.append, state=json.loads(json.dumps(interrupted)))
    rebuilt.poll(job("Running"))
    assert again == [f"[worker-0] {REPEATED_MARK}a", f"[worker-0] {REPEATED_MARK}b", "[worker-0] c"]
    # From the state saved once printed, nothing repeats.
    after: list[str] = []
    service.logs["worker-0"] += body(["d"])
    JobLogFollower(service, JOB_ID, after.append, state=json.loads(json.dumps(saved[-1]))).poll(job("Running"))
    assert after == ["[worker-0] c", "[worker-0] d"]


def test_a_log_that_does_not_exist_yet_costs_one_request_and_ends_when_the_job_ended() -> None:
    service = PreviewLogs({})
    follower = JobLogFollower(service, JOB_ID, lambda _line: None)
    assert follower.poll(job("Running")) == 0
    follower.poll(job("Failed"))
    follower.poll(job("Failed"))
    assert service.requests == ["preview:worker-0", "preview:worker-0"]


# ---------------------------------------------------------------------------------------------
# auto: AOM until the gateway says it does not exist
# ---------------------------------------------------------------------------------------------


def test_auto_switches_to_the_preview_once_and_remembers_it_in_the_state() -> None:
    service = PreviewLogs({"worker-0": body(["a"]), "worker-1": body(["b"])}, log_api="auto")
    saved: list[dict[str, Any]] = []
    printed: list[str] = []
    follower = JobLogFollower(service, JOB_ID, printed.append, save=saved.append)
    follower.poll(job("Running", ("worker-0", "worker-1")))
    # One AOM request learns it is missing; every read after it is a preview.
    assert service.requests == ["aom:worker-0", "preview:worker-0", "preview:worker-1"]
    assert "AOM log endpoint is not served here" in printed[0] and "APIGW.0101" in printed[0]
    assert printed[1:] == ["[worker-0] a", "[worker-1] b"]
    assert saved[-1]["__log_api__"] == "preview"
    service.requests.clear()
    service.logs["worker-0"] += body(["c"])
    again: list[str] = []
    rebuilt = JobLogFollower(service, JOB_ID, again.append, state=json.loads(json.dumps(saved[-1])))
    rebuilt.poll(job("Running", ("worker-0", "worker-1")))
    assert service.requests == ["preview:worker-0", "preview:worker-1"] and again == ["[worker-0] c"]


def test_auto_keeps_aom_where_it_exists() -> None:
    service = PreviewLogs({"worker-0": body(["a"])}, log_api="auto", aom=True)
    printed: list[str] = []
    JobLogFollower(service, JOB_ID, printed.append).poll(job("Running"))
    assert printed == ["[worker-0] a"] and service.requests == ["aom:worker-0"]


def test_aom_chosen_explicitly_reports_the_missing_endpoint_and_never_previews() -> None:
    service = PreviewLogs({"worker-0": body(["a"])}, log_api="aom")
    follower = JobLogFollower(service, JOB_ID, lambda _line: None)
    with pytest.raises(LogReadError, match="APIGW.0101") as error:
        follower.poll(job("Running"))
    assert "set the connection extra log_api to 'auto' or 'preview'" in str(error.value)
    assert service.requests == ["aom:worker-0"]


def test_an_unknown_log_api_is_refused() -> None:
    with pytest.raises(ModelArtsValidationError, match="log_api"):
        JobLogFollower(PreviewLogs({}), JOB_ID, print, log_api="cloud")


def test_the_failure_tail_reads_the_preview_where_aom_is_missing() -> None:
    service = PreviewLogs({"worker-0": body([f"l{n}" for n in range(30)]), "server-0": "no line end"}, log_api="auto")
    tails = read_log_tail(service, JOB_ID, ["worker-0", "server-0"])
    assert tails == {"worker-0": [f"l{n}" for n in range(10, 30)], "server-0": ["no line end"]}
    assert service.requests == ["aom-tail:worker-0", "preview:worker-0", "preview:server-0"]
    service.requests.clear()
    assert read_log_tail(service, JOB_ID, ["worker-0"], log_api="aom") == {}
    assert service.requests == ["aom-tail:worker-0"]


# ---------------------------------------------------------------------------------------------
# Parsing: the preview body
# ---------------------------------------------------------------------------------------------


def test_the_preview_body_is_read_under_its_old_field_name_too() -> None:
    assert v2.TaskLogPreview.from_body({"context": "a\n", "current_size": "2", "full_size": 9}) == (
        v2.TaskLogPreview("a\n", 2, 9)
    )
    assert v2.TaskLogPreview.from_body({"content": 5, "full_size": True}) == v2.TaskLogPreview("", None, None)
    assert v2.is_api_not_found(404, "APIG.0101") and not v2.is_api_not_found(400, "ModelArts.0101")
