"""Job schedules: v2 training jobs the emulator creates by itself, on its own clock, that a
watcher polling the search API sees start and finish (modelarts_emulator.v2.schedules).

With a manual clock everything is exact: jobs fall due as ``advance_time`` moves time, each with
its timeline anchored at its due instant. The real-clock path is checked with a high speed and
sub-second waits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_client import SdkAkSkAuth
from modelarts_emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    EmulatorConfig,
    ModelArtsEmulator,
)
from modelarts_emulator.__main__ import config_from_args, parse_args
from modelarts_emulator.process import EmulatorProcess
from modelarts_emulator.v2.catalog import RESEARCH_WORKSPACE_ID_V2
from modelarts_emulator.v2.schedules import parse_cli_schedule

PROJECT = DEFAULT_PROJECT_ID
AKSK = SdkAkSkAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, PROJECT)
SEARCH_PATH = f"/v2/{PROJECT}/training-job-searches"
JOBS_PATH = f"/v2/{PROJECT}/training-jobs"


@pytest.fixture
def emu() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator(EmulatorConfig(job_count=0, v2_job_count=3, manual_clock=True)) as emulator:
        yield emulator


def search(emu: ModelArtsEmulator, like: str | None, **body: Any) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"limit": 50, **body}
    if like is not None:
        query["filters"] = [{"key": "name", "operator": "like", "value": [like]}]
    response = requests.post(f"{emu.url}{SEARCH_PATH}", json=query, auth=AKSK, timeout=10)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in items}


def phases(emu: ModelArtsEmulator, like: str) -> dict[str, str]:
    return {name: item["status"]["phase"] for name, item in by_name(search(emu, like)).items()}


def wall_ms(emu: ModelArtsEmulator, emulated_seconds: float) -> int:
    """Epoch ms of an instant this many seconds after the store's start (speed 1, manual clock)."""
    store = emu.app.training_jobs
    return store.wall_ms(store.anchor + emulated_seconds)


def control(emu: ModelArtsEmulator, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{emu.url}/_emulator{path}", json=body, timeout=10)


# ---------------------------------------------------------------------------------------------
# The manual clock: exact counts, instants and phases
# ---------------------------------------------------------------------------------------------


def test_advancing_95_seconds_every_30_creates_exactly_three_jobs_at_30_60_90(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("nightly", every=30)
    assert search(emu, "nightly") == []
    emu.advance_time(95)
    items = by_name(search(emu, "nightly"))
    assert sorted(items) == ["nightly-1", "nightly-2", "nightly-3"]
    for number, due in ((1, 30), (2, 60), (3, 90)):
        job = items[f"nightly-{number}"]
        # create_time is the due instant, less the moment scheduling takes (as for a client's job).
        assert wall_ms(emu, due) - 1000 <= job["metadata"]["create_time"] <= wall_ms(emu, due) - 200
        # The default timeline: Creating 2 s, Pending 1 s, Running 10 s, Completed.
        if number < 3:
            assert job["status"]["phase"] == "Completed"
            assert job["status"]["start_time"] == wall_ms(emu, due + 3)
            assert job["status"]["duration"] == 10_000
            assert job["status"]["running_records"][0]["end_at"] == wall_ms(emu, due + 13) // 1000
        else:
            assert job["status"]["phase"] == "Running"  # 5 s into its timeline
            assert job["status"]["duration"] == 2_000
    listed = emu.job_schedules()[0]
    assert listed["created"] == 3 and [job["name"] for job in listed["jobs"]] == ["nightly-1", "nightly-2", "nightly-3"]
    assert listed["next_in"] == pytest.approx(25.0) and listed["done"] is False
    emu.advance_time(25)
    assert len(search(emu, "nightly")) == 4


def test_a_watcher_sees_each_job_move_through_its_phases(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule(
        "watched", every=20, count=2, timeline=[["Creating", 4], ["Pending", 5], ["Running", 5], ["Completed", None]]
    )
    seen: list[dict[str, str]] = []
    for _ in range(8):
        emu.advance_time(5)
        seen.append(phases(emu, "watched"))
    assert seen == [
        {},
        {},
        {},
        {"watched-1": "Creating"},  # 20 s
        {"watched-1": "Pending"},
        {"watched-1": "Running"},
        {"watched-1": "Completed"},
        {"watched-1": "Completed", "watched-2": "Creating"},  # 40 s
    ]


def test_any_api_request_creates_the_jobs_that_fell_due(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("quiet", every=10, count=1)
    # Move the clock without advance_time's catch-up: the search itself must notice the due job.
    emu.app._time_advanced += 12.0
    (item,) = search(emu, "quiet")
    assert item["status"]["phase"] == "Pending"  # 2 s in: Creating 2 s, then Pending
    response = requests.get(f"{emu.url}{JOBS_PATH}/{item['metadata']['id']}", auth=AKSK, timeout=10)
    assert response.status_code == 200 and response.json()["status"]["phase"] == "Pending"


def test_names_dates_outcomes_and_outputs(emu: ModelArtsEmulator) -> None:
    # A workspace exists once it has a job (the API's create checks the same).
    emu.create_training_job("research-1", [("Completed", None)], workspace_id=RESEARCH_WORKSPACE_ID_V2)
    emu.set_job_schedule(
        "eval",
        every=60,
        count=4,
        start_after=0,
        job_name="nightly-{date}-{n:03d}",
        outcomes=["Completed", "Failed", "Terminated"],
        exit_code=137,
        message="OOMKilled",
        outputs=["obs://models/{name}/model/", {"name": "metrics", "obs_url": "/models/{schedule}/metrics/{n}/"}],
        workspace_id=RESEARCH_WORKSPACE_ID_V2,
        description="nightly evaluation",
    )
    emu.advance_time(200)  # jobs at 0, 60, 120 and 180 s: each has ended by 200 s
    date = time.strftime("%Y%m%d", time.gmtime(wall_ms(emu, 0) / 1000))
    items = by_name(search(emu, "nightly-", workspace_id=RESEARCH_WORKSPACE_ID_V2))
    assert sorted(items) == [f"nightly-{date}-{n:03d}" for n in (1, 2, 3, 4)]
    first, second, third, fourth = (items[f"nightly-{date}-{n:03d}"] for n in (1, 2, 3, 4))
    assert [first["status"]["phase"], second["status"]["phase"], third["status"]["phase"]] == [
        "Completed",
        "Failed",
        "Terminated",
    ]
    assert fourth["status"]["phase"] == "Completed"  # the pattern repeats
    assert second["status"]["task_statuses"] == [{"task": "worker-0", "exit_code": 137, "message": "OOMKilled"}]
    assert third["status"]["running_records"][0]["end_reason"] == "job terminated"
    outputs = {entry["name"]: entry["remote"]["obs"]["obs_url"] for entry in first["algorithm"]["outputs"]}
    assert outputs == {"train_url": f"obs://models/nightly-{date}-001/model/", "metrics": "/models/eval/metrics/1/"}
    assert first["metadata"]["workspace_id"] == RESEARCH_WORKSPACE_ID_V2
    assert first["metadata"]["description"] == "nightly evaluation"
    assert [job["outcome"] for job in emu.job_schedules()[0]["jobs"]] == [
        "Completed",
        "Failed",
        "Terminated",
        "Completed",
    ]


def test_scheduled_jobs_look_like_jobs_created_through_the_api(emu: ModelArtsEmulator) -> None:
    body = {
        "kind": "job",
        "metadata": {"name": "by-a-client"},
        "algorithm": {"code_dir": "obs://b/code/", "boot_file": "obs://b/code/train.py"},
        "spec": {"resource": {"flavor_id": "modelarts.p3.large.public"}},
    }
    client = requests.post(f"{emu.url}{JOBS_PATH}", json=body, auth=AKSK, timeout=10)
    assert client.status_code == 201
    emu.set_job_schedule("shape", every=5, count=1)
    emu.advance_time(30)
    client_job, scheduled = search(emu, "by-a-client")[0], search(emu, "shape")[0]

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items() if key not in ("outputs", "description")}
        if isinstance(value, list):
            return [shape(item) for item in value[:1]]
        return type(value).__name__

    assert shape(scheduled) == shape(client_job)
    assert scheduled["kind"] == "job" and scheduled["status"]["phase"] == "Completed"
    assert (
        scheduled["algorithm"]["outputs"][0]["remote"]["obs"]["obs_url"] == "obs://modelarts-emulator/shape-1/output/"
    )


def test_count_stops_the_schedule(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("few", every=10, count=2)
    emu.advance_time(1000)
    assert sorted(phases(emu, "few")) == ["few-1", "few-2"]
    listed = emu.job_schedules()[0]
    assert listed["done"] is True and listed["next_in"] is None and listed["created"] == 2


def test_removing_a_schedule_stops_it_and_keeps_its_jobs(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("gone", every=30)
    emu.advance_time(35)
    emu.remove_job_schedule("gone")
    emu.advance_time(300)
    assert phases(emu, "gone") == {"gone-1": "Completed"}
    assert emu.job_schedules() == []
    with pytest.raises(KeyError):
        emu.remove_job_schedule("gone")


def test_start_after_zero_creates_the_first_job_at_once_and_reset_keeps_schedules(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("now", every=100, start_after=0)
    assert phases(emu, "now") == {"now-1": "Creating"}
    emu.reset()
    emu.advance_time(100)
    assert sorted(phases(emu, "now")) == ["now-1", "now-2"]


def test_two_schedules_and_a_client_job_interleave_in_due_order(emu: ModelArtsEmulator) -> None:
    emu.set_job_schedule("aa", every=20, count=2)
    emu.set_job_schedule("bb", every=15, count=2)
    emu.advance_time(50)
    emu.create_training_job("client", [("Running", 5), ("Completed", None)])
    items = search(emu, None, sort_by="create_time", order="asc")
    assert [item["metadata"]["name"] for item in items if "-" in item["metadata"]["name"]][-4:] == [
        "bb-1",  # 15
        "aa-1",  # 20
        "bb-2",  # 30
        "aa-2",  # 40
    ]
    jobs = emu.app.training_jobs.jobs.values()
    assert [job.name for job in sorted(jobs, key=lambda job: job.sequence)][-5:] == [
        "bb-1",
        "aa-1",
        "bb-2",
        "aa-2",
        "client",
    ]


def test_a_name_already_used_is_skipped(emu: ModelArtsEmulator) -> None:
    emu.create_training_job("dup-1", [("Completed", None)])
    emu.set_job_schedule("dup", every=10, count=2)
    emu.advance_time(25)
    listed = emu.job_schedules()[0]
    assert listed["skipped"] == ["dup-1"] and [job["name"] for job in listed["jobs"]] == ["dup-2"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "needs 'every'"),
        ({"every": 0.5}, "every must be from 1"),
        ({"every": 10, "count": 0}, "count must be"),
        ({"every": 10, "colour": "red"}, "unknown job schedule fields: colour"),
        ({"every": 10, "final_phase": "Running"}, "an outcome must be one of"),
        ({"every": 10, "final_phase": "Failed", "outcomes": ["Failed"]}, "not both"),
        ({"every": 10, "outcomes": ["Failed"], "timeline": [["Running", None]]}, "must end in a final phase"),
        ({"every": 10, "exit_code": 3}, "end Failed"),
        ({"every": 10, "outputs": ["s3://x/y"]}, "must be an OBS URL"),
        ({"every": 10, "workspace_id": "nope"}, "does not exist"),
        ({"every": 10, "job_name": "a b {n}"}, "letters, digits"),
        ({"every": 10, "job_name": "x-{week}"}, "cannot be filled in"),
        ({"every": 10, "timeline": [["Sleeping", 1], ["Completed", None]]}, "timeline phase"),
        ({"every": 10, "flavor_id": "no.such.flavor"}, "ModelArts.2781"),
    ],
)
def test_invalid_specs_are_refused(emu: ModelArtsEmulator, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        emu.set_job_schedule("bad", **spec)
    response = control(emu, "PUT", "/v2/job-schedules/bad", spec)
    assert response.status_code == 400 and message.split("'")[0] in response.json()["error"]
    assert emu.job_schedules() == []


# ---------------------------------------------------------------------------------------------
# Control API, real clock, command line, child process
# ---------------------------------------------------------------------------------------------


def test_the_control_api(emu: ModelArtsEmulator) -> None:
    put = control(emu, "PUT", "/v2/job-schedules/nightly", {"every": 30, "count": 3, "job_name": "nightly-{n}"})
    assert put.status_code == 200 and put.json()["name"] == "nightly" and put.json()["next_in"] == 30
    assert control(emu, "POST", "/advance", {"seconds": 65}).status_code == 200
    listed = control(emu, "GET", "/v2/job-schedules").json()["schedules"]
    assert [job["name"] for job in listed[0]["jobs"]] == ["nightly-1", "nightly-2"]
    assert control(emu, "POST", "/reset").status_code == 200
    assert len(control(emu, "GET", "/v2/job-schedules").json()["schedules"]) == 1
    assert control(emu, "DELETE", "/v2/job-schedules/nightly").status_code == 200
    assert control(emu, "DELETE", "/v2/job-schedules/nightly").status_code == 404
    control(emu, "PUT", "/v2/job-schedules/a", {"every": 5})
    control(emu, "PUT", "/v2/job-schedules/b", {"every": 5})
    assert control(emu, "DELETE", "/v2/job-schedules").status_code == 200
    assert control(emu, "PUT", "/v2/job-schedules/c", {"name": "c", "every": 5}).status_code == 200
    assert control(emu, "PUT", "/v2/job-schedules/c", {"name": "d", "every": 5}).status_code == 400
    assert control(emu, "DELETE", "/v2/job-schedules/c").status_code == 200
    assert control(emu, "GET", "/v2/job-schedules").json() == {"schedules": []}


def test_the_real_clock_creates_due_jobs_lazily() -> None:
    config = EmulatorConfig(job_count=0, v2_job_count=0, speed=50.0)
    with ModelArtsEmulator(config) as emu:
        # Every 5 emulated seconds = 0.1 real seconds; Running 2 s = 0.04 real seconds.
        emu.set_job_schedule("fast", every=5, count=3, timeline=[["Running", 2], ["Completed", None]])
        assert search(emu, "fast") == []
        deadline = time.monotonic() + 5
        while len(search(emu, "fast")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        items = search(emu, "fast", sort_by="create_time", order="asc")
        assert [item["metadata"]["name"] for item in items] == ["fast-1", "fast-2", "fast-3"]
        assert {item["status"]["phase"] for item in items} == {"Completed"}
        # Running 2 emulated seconds: 40 real milliseconds, what the duration reports.
        assert {item["status"]["duration"] for item in items} == {40}
        # Anchored at their due instants (0.1 s apart in real time), not at when they were noticed.
        store = emu.app.training_jobs
        anchors = sorted(job.anchor for job in store.jobs.values())
        assert [round(later - earlier, 6) for earlier, later in zip(anchors, anchors[1:], strict=False)] == [0.1, 0.1]
        assert emu.job_schedules()[0]["done"] is True


def test_cli_schedule_forms(tmp_path: Path) -> None:
    assert parse_cli_schedule("nightly:every=30:count=3:job_name=nightly-{date}-{n}") == [
        {"name": "nightly", "every": 30.0, "count": 3, "job_name": "nightly-{date}-{n}"}
    ]
    compact = (
        "eval:every=60:outcomes=Completed,Failed:outputs=obs://b/{name}/,/b/x/:timeline=Creating/2,Running/10,Completed"
    )
    assert parse_cli_schedule(compact) == [
        {
            "name": "eval",
            "every": 60.0,
            "outcomes": ["Completed", "Failed"],
            "outputs": ["obs://b/{name}/", "/b/x/"],
            "timeline": [["Creating", 2.0], ["Running", 10.0], ["Completed", None]],
        }
    ]
    spec = {"name": "j", "every": 10, "final_phase": "Failed"}
    assert parse_cli_schedule(json.dumps(spec)) == [spec]
    (tmp_path / "s.json").write_text(json.dumps([spec, {**spec, "name": "k"}]))
    assert [item["name"] for item in parse_cli_schedule(f"@{tmp_path / 's.json'}")] == ["j", "k"]
    with pytest.raises(ValueError, match="must be a number"):
        parse_cli_schedule("x:every=soon")
    with pytest.raises(ValueError, match="'name'"):
        parse_cli_schedule('{"every": 10}')
    args = parse_args(["--manual-clock", "--job-schedule", "nightly:every=30", "--job-schedule", json.dumps(spec)])
    config = config_from_args(args)
    assert [schedule["name"] for schedule in config.job_schedules] == ["nightly", "j"]
    emu = ModelArtsEmulator(config)
    emu.advance_time(31)
    assert [len(schedule["jobs"]) for schedule in emu.job_schedules()] == [1, 3]
    with pytest.raises(ValueError, match="every must be"):
        ModelArtsEmulator(config_from_args(parse_args(["--job-schedule", "x:every=0"])))


def test_a_child_process_started_with_a_schedule(tmp_path: Path) -> None:
    extra = ["--manual-clock", "--job-schedule", "nightly:every=30:count=2:final_phase=Failed"]
    with EmulatorProcess(jobs=0, v2_jobs=0, directory=tmp_path, quiet=True, extra_args=extra) as process:
        process.advance(45)
        (listed,) = process.job_schedules()
        assert [job["name"] for job in listed["jobs"]] == ["nightly-1"] and listed["jobs"][0]["outcome"] == "Failed"
        process.set_job_schedule("more", every=10, timeline=[("Running", 1), ("Completed", None)])
        process.advance(25)
        assert {schedule["name"]: schedule["created"] for schedule in process.job_schedules()} == {
            "nightly": 2,
            "more": 2,
        }
        process.remove_job_schedule("more")
        process.clear_job_schedules()
        assert process.job_schedules() == []
