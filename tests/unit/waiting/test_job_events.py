"""The job-event watermark: each job fires at most once, ties, late pages and late ends included."""

from __future__ import annotations

from typing import Any

from airflow_provider_modelarts.waiting.job_events import (
    LATE_END_GRACE_MS,
    WATCHABLE_PHASES,
    Watermark,
    event_payload,
    select_events,
)

COMPLETED = frozenset({"Completed"})


def _job(job_id: str, name: str, phase: str, start: int = 1_000, duration: int | None = 500) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "start_time": start}
    if duration is not None:
        status["duration"] = duration
    return {
        "metadata": {"id": job_id, "name": name},
        "status": status,
        "algorithm": {"outputs": [{"name": "model", "remote": {"obs": {"obs_url": f"obs://b/{name}/"}}}]},
    }


def test_only_jobs_that_ended_after_the_watermark_in_a_watched_phase_fire() -> None:
    jobs = [
        _job("old", "nightly-1", "Completed", start=100, duration=100),  # ended at 200: before
        _job("new", "nightly-2", "Completed", start=900, duration=400),  # ended at 1300
        _job("failed", "nightly-3", "Failed", start=900, duration=500),
        _job("running", "nightly-4", "Running", duration=None),
        _job("other", "adhoc-5", "Completed", start=900, duration=600),
    ]
    events, watermark = select_events(jobs, COMPLETED, "nightly-", Watermark(1_000))
    assert [job["metadata"]["id"] for _, job in events] == ["new"]
    assert watermark == Watermark(1_000, frozenset({("new", 1_300)}))
    # The next round sees the same jobs: nothing fires again.
    assert select_events(jobs, COMPLETED, "nightly-", watermark)[0] == []


def test_jobs_ending_in_the_same_millisecond_fire_once_each_across_rounds() -> None:
    first = _job("a", "n-a", "Completed", start=1_000, duration=1_000)
    second = _job("b", "n-b", "Completed", start=1_500, duration=500)
    events, watermark = select_events([first], COMPLETED, None, Watermark(0))
    assert len(events) == 1 and watermark == Watermark(0, frozenset({("a", 2_000)}))
    events, watermark = select_events([first, second], COMPLETED, None, watermark)
    assert [job["metadata"]["id"] for _, job in events] == ["b"]
    assert watermark == Watermark(0, frozenset({("a", 2_000), ("b", 2_000)}))


def test_events_come_oldest_end_first_and_a_job_on_two_pages_fires_once() -> None:
    late = _job("late", "x", "Completed", start=3_000, duration=10)
    early = _job("early", "y", "Terminated", start=1_000, duration=10)
    events, _ = select_events([late, early, late], frozenset(WATCHABLE_PHASES), None, Watermark(0))
    assert [job["metadata"]["id"] for _, job in events] == ["early", "late"]


def test_a_job_whose_end_reaches_the_search_late_still_fires_once_within_the_grace() -> None:
    """A later job fired first (the earlier one still showed Running): the earlier end fires when it
    shows up, within LATE_END_GRACE_MS of the newest end fired, and only once."""
    newest = _job("newest", "n-1", "Completed", start=1_000_000, duration=100_000)  # ended at 1_100_000
    events, watermark = select_events([newest], COMPLETED, None, Watermark(0))
    assert [job["metadata"]["id"] for _, job in events] == ["newest"]
    late = _job("late", "n-2", "Completed", start=1_000_000, duration=50_000)  # ended at 1_050_000
    events, watermark = select_events([newest, late], COMPLETED, None, watermark)
    assert [job["metadata"]["id"] for _, job in events] == ["late"]
    assert select_events([newest, late], COMPLETED, None, watermark)[0] == []
    # Beyond the grace, an earlier end is behind the horizon.
    too_late = _job("too-late", "n-3", "Completed", start=0, duration=1_100_000 - LATE_END_GRACE_MS)
    assert select_events([too_late], COMPLETED, None, watermark)[0] == []


def test_the_state_keeps_only_the_jobs_that_ended_within_the_grace() -> None:
    watermark = Watermark(0)
    for index in range(100):
        watermark = watermark.after(index * 60_000, f"job-{index}")
    newest = 99 * 60_000
    assert watermark.end_ms == newest - LATE_END_GRACE_MS
    within = {end for end in range(0, newest + 1, 60_000) if end > watermark.end_ms}
    assert {end for _, end in watermark.fired} == within
    assert len(watermark.fired) == LATE_END_GRACE_MS // 60_000
    assert watermark.covers(0, "job-0") and watermark.covers(newest, "job-99")
    assert not watermark.covers(newest, "another job ending with job-99")


def test_the_watermark_round_trips_through_json_and_ignores_foreign_values() -> None:
    watermark = Watermark(5, frozenset({("b", 9), ("a", 7)}))
    assert watermark.to_json() == {"end_ms": 5, "fired": {"a": 7, "b": 9}}
    assert Watermark.from_json(watermark.to_json()) == watermark
    assert Watermark.from_json(None) is None and Watermark.from_json({"end_ms": "5"}) is None
    assert Watermark.from_json({"end_ms": True}) is None
    assert Watermark.from_json({"end_ms": 5, "fired": {"a": "7"}}) == Watermark(5)


def test_the_payload_is_small_and_names_the_outputs() -> None:
    payload = event_payload(_job("j1", "nightly-1", "Completed"), 1_500, "https://console/x")
    assert payload == {
        "training_job_id": "j1",
        "name": "nightly-1",
        "phase": "Completed",
        "end_time": "1970-01-01T00:00:01.500000+00:00",
        "end_time_ms": 1_500,
        "outputs": {"model": "obs://b/nightly-1/"},
        "console_url": "https://console/x",
    }


def _never_ran(job_id: str, phase: str, created: int) -> dict[str, Any]:
    return {
        "metadata": {"id": job_id, "name": job_id, "create_time": created},
        "status": {"phase": phase, "start_time": 0, "duration": 0},
    }


def test_a_job_that_never_ran_ends_when_seen_ending_else_when_seen_if_created_after_the_horizon() -> None:
    phases = frozenset({"Abnormal", "Failed"})
    watermark = Watermark(10_000)
    old = _never_ran("old", "Failed", created=5_000)  # created before the horizon: needs an observed end
    new = _never_ran("new", "Abnormal", created=12_000)
    events, after = select_events([old, new], phases, None, watermark, seen_at_ms=30_000)
    assert [(end, job["metadata"]["id"]) for end, job in events] == [(30_000, "new")]
    events, after = select_events([old, new], phases, None, after, {"old": 40_000}, seen_at_ms=40_000)
    assert [(end, job["metadata"]["id"]) for end, job in events] == [(40_000, "old")]
    # Later rounds see them without an observed end: neither fires again, before or after pruning.
    assert select_events([old, new], phases, None, after, seen_at_ms=50_000)[0] == []
    pruned = after.after(40_000 + LATE_END_GRACE_MS + 1, "much-later")
    assert select_events([old, new], phases, None, pruned, seen_at_ms=60_000 + LATE_END_GRACE_MS)[0] == []


def test_a_job_that_never_ran_fires_once_when_a_late_watcher_reads_back_before_a_round_sees_it_end() -> None:
    """The review's case: a catch-up read sees J (never ran, Pending for 20 minutes) Failed with no
    observed end, in the same round as K, which ended 18 minutes after J was created; the next
    shared round reports an observed end for J. J fires once."""
    minute = 60_000
    phases = frozenset({"Completed", "Failed"})
    j = _never_ran("J", "Failed", created=100 * minute)
    k = _job("K", "K", "Completed", start=110 * minute, duration=8 * minute)  # ended at 118 minutes
    events, after = select_events([j, k], phases, None, Watermark(90 * minute), seen_at_ms=121 * minute)
    assert [job["metadata"]["id"] for _, job in events] == ["K", "J"]
    again, _ = select_events([j, k], phases, None, after, {"J": 121 * minute + 500}, seen_at_ms=121 * minute + 500)
    assert again == []
