"""The log preview, job events and auto search trials over real HTTP against the emulator: the
hook's calls, and what the create operator makes of them (multi-task logs, the preview when the
AOM endpoint does not exist, the failure message's last events, ``best_trial``).

Time is the emulator's (see test_create_operator.py): the operator's sleep moves its clock.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from modelarts_emulator import ModelArtsEmulator
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators import training_job_create
from airflow_provider_modelarts.operators.training_job_create import (
    ModelArtsCreateTrainingJobOperator,
    ModelArtsTrainingJobFailedError,
)
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.waiting import logs as job_logs
from tests.conftest import connection_json
from tests.integration.airflow_context import TaskInstanceRuns
from tests.integration.test_create_operator import _run_trigger
from tests.log_capture import capture_task_logs

CONN_ID = "modelarts_default"
PREVIEW_CONN_ID = "modelarts_log_preview"
BUCKET = "obs://demo-bucket"
RUNS_THEN_COMPLETES = [("Creating", 2), ("Pending", 2), ("Running", 20), ("Completed", None)]
RUNS_THEN_FAILS = [("Creating", 2), ("Pending", 2), ("Running", 20), ("Failed", None)]
WORKER_LINES = [f"epoch {n}/6 loss=0.{9 - n}" for n in range(1, 7)]
SERVER_LINES = [f"parameter server: round {n} synced" for n in range(1, 5)]
AUTO_SEARCH = {
    "reward_attrs": [{"name": "acc", "mode": "max", "regex": "acc=(\\d+\\.\\d+)"}],
    "search_params": [
        {"name": "learning_rate", "param_type": "continuous", "lower_bound": "0.0001", "upper_bound": "0.1"}
    ],
    "algo_configs": [{"name": "bayes_opt_search", "params": [{"key": "num_samples", "value": "8", "type": "int"}]}],
}


def body(name: str, auto_search: dict[str, Any] | None = None) -> dict[str, Any]:
    algorithm: dict[str, Any] = {
        "code_dir": f"{BUCKET}/code/",
        "boot_file": f"{BUCKET}/code/train.py",
        "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"{BUCKET}/models/{name}/"}}}],
        "parameters": [{"name": "epochs", "value": "3"}],
    }
    if auto_search is not None:
        algorithm["policies"] = {"auto_search": auto_search}
    return {
        "kind": "job",
        "metadata": {"name": name, "description": "events and trials"},
        "algorithm": algorithm,
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


@pytest.fixture
def preview_connection(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection whose log_api is ``preview``."""
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{PREVIEW_CONN_ID.upper()}",
        connection_json(emu, emulator_config.DEFAULT_ACCESS_KEY, emulator_config.DEFAULT_SECRET_KEY, log_api="preview"),
    )
    return PREVIEW_CONN_ID


def operator(name: str, conn_id: str = CONN_ID, **kwargs: Any) -> ModelArtsCreateTrainingJobOperator:
    kwargs.setdefault("poll_interval", 5)
    job = kwargs.pop("job", None) or body(name)
    return ModelArtsCreateTrainingJobOperator(task_id="train", job=job, modelarts_conn_id=conn_id, **kwargs)


def events_of(entries: list[dict[str, Any]]) -> list[str]:
    return [str(entry["event"]) for entry in entries]


def task_lines(entries: list[dict[str, Any]], task: str) -> list[str]:
    prefix = f"[{task}] "
    return [line[len(prefix) :] for line in events_of(entries) if line.startswith(prefix)]


def requests_to(emu: ModelArtsEmulator, fragment: str) -> list[dict[str, Any]]:
    return [entry for entry in emu.stats()["requests"] if fragment in entry["path"]]


# ---------------------------------------------------------------------------------------------
# Logs: several tasks, and the preview
# ---------------------------------------------------------------------------------------------


def test_a_two_task_jobs_server_0_log_reaches_the_task_log(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan(
        "it-evt-two",
        RUNS_THEN_COMPLETES,
        tasks=["worker-0", "server-0"],
        logs={"worker-0": WORKER_LINES, "server-0": SERVER_LINES},
    )
    with capture_task_logs() as entries:
        result = operator("it-evt-two-1").execute(TaskInstanceRuns(task_id="train").context())
    assert result["phase"] == "Completed"
    assert [line for line in task_lines(entries, "worker-0") if "epoch" in line] == WORKER_LINES
    assert [line for line in task_lines(entries, "server-0") if "parameter server" in line] == SERVER_LINES
    assert task_lines(entries, "server-0") == emu.task_log(result["id"], "server-0")  # all of it, once
    assert {status["task"] for status in result["task_statuses"]} == {"worker-0", "server-0"}
    # Through AOM (its default here): no preview request, no notice.
    assert not requests_to(emu, "/logs/preview") and not any("preview" in line for line in events_of(entries))


def test_without_the_aom_endpoint_a_deferred_task_streams_every_line_once_through_the_preview(
    emu: ModelArtsEmulator, plans: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_provider_modelarts.waiting.poller.MIN_ROUND_SPACING", 0.05)
    emu.set_aom_logs(False)
    emu.set_create_plan(
        "it-evt-prev",
        RUNS_THEN_COMPLETES,
        tasks=["worker-0", "server-0"],
        logs={"worker-0": WORKER_LINES, "server-0": SERVER_LINES},
    )
    runs = TaskInstanceRuns(task_id="train")
    task = operator("it-evt-prev-1", deferrable=True, poll_interval=0.1)
    with capture_task_logs() as before, pytest.raises(TaskDeferred) as deferred:
        task.execute(runs.context())
    classpath, kwargs = deferred.value.trigger.serialize()
    with capture_task_logs() as during:
        event = asyncio.run(_run_trigger(ModelArtsTrainingJobPhaseTrigger(**kwargs), emu))
    assert event["status"] == "success"
    entries = before + during
    job_id = event["training_job_id"]
    for task_name in ("worker-0", "server-0"):
        assert task_lines(entries, task_name) == emu.task_log(job_id, task_name)  # every line, once, in order
    # AOM was asked once, answered 404 APIGW.0101, and never again (the switch is in the saved
    # state the trigger started from, or made there); every other log read is a preview.
    aom = [entry for entry in emu.stats()["requests"] if "/logs/" in entry["path"] and "preview" not in entry["path"]]
    assert len(aom) == 1 and aom[0]["status"] == 404
    assert sum("AOM log endpoint is not served here" in line for line in events_of(entries)) == 1
    assert requests_to(emu, "/logs/preview")
    runs.resume()
    result = task.execute_complete(runs.context(), event)
    assert result["phase"] == "Completed" and "best_trial" not in result
    assert not requests_to(emu, "autosearch-trials")


def test_with_log_api_preview_a_small_window_still_gives_every_line_once(
    emulator_time: ModelArtsEmulator, plans: None, preview_connection: str
) -> None:
    """A 120-byte preview window, read every 5 s while about 3 lines of 30 bytes arrive: the
    window moves on between reads, and the byte positions still give each line once."""
    emu = emulator_time
    emu.set_log_preview_max_bytes(120)
    lines = [f"step {n:02d} of 12, loss 0.{n:02d}" for n in range(12)]
    emu.set_create_plan("it-evt-win", RUNS_THEN_COMPLETES, logs={"worker-0": lines})
    with capture_task_logs() as entries:
        result = operator("it-evt-win-1", conn_id=preview_connection).execute(
            TaskInstanceRuns(task_id="train").context()
        )
    assert task_lines(entries, "worker-0") == emu.task_log(result["id"], "worker-0")
    assert not [entry for entry in emu.stats()["requests"] if "/logs/worker-0" in entry["path"]]  # never AOM
    assert not any("cannot be read" in line for line in events_of(entries))


def test_a_log_that_outgrows_the_preview_window_between_reads_says_so_once(
    emulator_time: ModelArtsEmulator, plans: None, preview_connection: str
) -> None:
    emu = emulator_time
    emu.set_log_preview_max_bytes(60)
    lines = [f"a rather long line number {n:02d} of the log" for n in range(12)]
    emu.set_create_plan("it-evt-gap", [("Running", 20), ("Completed", None)], logs={"worker-0": lines})
    with capture_task_logs() as entries:
        # Checked every 30 s: most of the log passes the 60-byte window unseen.
        result = operator("it-evt-gap-1", conn_id=preview_connection, poll_interval=30).execute(
            TaskInstanceRuns(task_id="train").context()
        )
    notices = [line for line in events_of(entries) if "cannot be read" in line]
    assert len(notices) == 1 and notices[0].startswith("[worker-0] ")
    printed = [line for line in task_lines(entries, "worker-0") if "cannot be read" not in line]
    whole = emu.task_log(result["id"], "worker-0")
    assert printed[-1] == whole[-1] and len(printed) == len(set(printed)) < len(whole)


def test_the_hook_reads_a_preview_and_refuses_a_bad_task_name(emu: ModelArtsEmulator, hook: ModelArtsHook) -> None:
    created = emu.create_training_job(
        "it-evt-hook-prev", [("Running", None)], tasks=["worker-0", "server-0"], logs={"server-0": SERVER_LINES}
    )
    emu.advance_time(1000)
    preview = hook.read_training_job_log_preview(created["id"], "server-0")
    assert preview is not None and preview.lines() == emu.task_log(created["id"], "server-0")
    assert preview.full_size == preview.current_size == len(preview.content.encode())
    emu.reset()
    with pytest.raises(ModelArtsValidationError, match="task_id"):
        hook.read_training_job_log_preview(created["id"], "../worker-0")
    assert emu.stats()["requests_total"] == 0
    pending = emu.create_training_job("it-evt-hook-pend", [("Pending", None)])
    assert hook.read_training_job_log_preview(pending["id"], "worker-0") is None  # 204: no log yet


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


def test_a_failed_jobs_message_names_its_last_events(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan(
        "it-evt-fail", RUNS_THEN_FAILS, exit_code=137, message="OOMKilled", logs={"worker-0": WORKER_LINES}
    )
    with pytest.raises(ModelArtsTrainingJobFailedError) as failed:
        operator("it-evt-fail-1", print_log=False).execute(TaskInstanceRuns(task_id="train").context())
    message = str(failed.value)
    phase_at, tail_at, events_at = (
        message.index("is Failed"),
        message.index("Last lines of the job's log:"),
        message.index("Last events:"),
    )
    assert phase_at < tail_at < events_at and "exit code 137" in message[:tail_at]
    events = message[events_at:].splitlines()[1:]
    assert len(events) == training_job_create.FAILURE_EVENTS
    assert events[-1].endswith("Error [Job] Training job failed.")
    assert any("Error [Task]" in line and "OOMKilled" in line for line in events)
    assert len(requests_to(emu, "/events")) == 1


def test_without_the_aom_endpoint_a_failed_jobs_tail_comes_from_the_preview_for_one_aom_request(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_aom_logs(False)
    emu.set_create_plan(
        "it-evt-ftail", RUNS_THEN_FAILS, exit_code=3, message="diverged", logs={"worker-0": WORKER_LINES}
    )
    with pytest.raises(ModelArtsTrainingJobFailedError) as failed:
        operator("it-evt-ftail-1").execute(TaskInstanceRuns(task_id="train").context())
    message = str(failed.value)
    tail = message[message.index("Last lines of the job's log:") : message.index("Last events:")]
    assert tail.splitlines()[1:] == [f"[worker-0] {line}" for line in WORKER_LINES]
    # The follower learned it once; the failure tail did not ask AOM again.
    aom = [entry for entry in emu.stats()["requests"] if "/logs/worker-0" in entry["path"]]
    assert len(aom) == 1 and aom[0]["status"] == 404


def test_an_events_read_that_fails_never_hides_the_failure(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-evt-nofail", RUNS_THEN_FAILS, exit_code=2, message="bad input")
    emu.add_fault("status", path_contains="/events", status=403)
    with capture_task_logs() as entries, pytest.raises(ModelArtsTrainingJobFailedError) as failed:
        operator("it-evt-nofail-1", print_log=False).execute(TaskInstanceRuns(task_id="train").context())
    assert "exit code 2" in str(failed.value) and "Last events:" not in str(failed.value)
    assert any("Could not read the training job's events" in line for line in events_of(entries))


def test_the_hook_lists_events_with_its_filters(emu: ModelArtsEmulator, hook: ModelArtsHook) -> None:
    created = emu.create_training_job("it-evt-list", RUNS_THEN_FAILS, exit_code=1, message="boom")
    emu.advance_time(100)
    everything = hook.list_training_job_events(created["id"], limit=100, order="asc")
    assert everything[0]["message"] == "Training job created." and everything[-1]["message"] == "Training job failed."
    assert all(set(event) >= {"time", "level", "message", "source"} for event in everything)
    errors = hook.list_training_job_events(created["id"], level="error", order="desc")
    assert errors and all(event["level"] == "Error" for event in errors)
    assert errors[0]["message"] == "Training job failed."
    assert hook.list_training_job_events(created["id"], limit=2, offset=1, order="asc") == everything[2:4]
    emu.reset()
    for bad in ({"limit": 0}, {"level": "Debug"}, {"start_time": "1"}, {"pattern": "x" * 300}, {"order": "up"}):
        with pytest.raises(ModelArtsValidationError):
            hook.list_training_job_events(created["id"], **bad)
    assert emu.stats()["requests_total"] == 0


# ---------------------------------------------------------------------------------------------
# Auto search
# ---------------------------------------------------------------------------------------------


def test_an_auto_search_jobs_result_has_its_best_trial_for_one_request(
    emulator_time: ModelArtsEmulator, plans: None
) -> None:
    emu = emulator_time
    emu.set_create_plan("it-evt-as", RUNS_THEN_COMPLETES)
    result = operator("it-evt-as-1", job=body("it-evt-as-1", AUTO_SEARCH)).execute(
        TaskInstanceRuns(task_id="train").context()
    )
    assert len(requests_to(emu, "autosearch-trials")) == 1
    best = result["best_trial"]
    trials = ModelArtsHook(CONN_ID).list_auto_search_trials(result["id"])
    assert len(trials) == 8 and best in trials
    assert float(best["best_reward"]) == max(float(trial["best_reward"]) for trial in trials)
    assert {"trial_id", "config", "acc", "status"} <= set(best)
    assert len(json.dumps(result)) <= training_job_create.COMPACT_XCOM_LIMIT_BYTES


def test_a_job_that_does_not_search_costs_no_trials_request(emulator_time: ModelArtsEmulator, plans: None) -> None:
    emu = emulator_time
    emu.set_create_plan("it-evt-plain", RUNS_THEN_COMPLETES)
    result = operator("it-evt-plain-1").execute(TaskInstanceRuns(task_id="train").context())
    assert "best_trial" not in result and not requests_to(emu, "autosearch-trials")


def test_the_hook_pages_through_every_trial(emu: ModelArtsEmulator, hook: ModelArtsHook, plans: None) -> None:
    search = {
        **AUTO_SEARCH,
        "algo_configs": [{"name": "tpe_search", "params": [{"key": "num_samples", "value": "60"}]}],
    }
    emu.set_create_plan("it-evt-trials", [("Running", 10), ("Completed", None)])
    created = hook.create_training_job(body("it-evt-trials-1", search))
    emu.advance_time(100)
    emu.reset()
    trials = hook.list_auto_search_trials(created["metadata"]["id"], limit=25)
    assert len(trials) == 60 and len({trial["trial_id"] for trial in trials}) == 60
    # Pages by number (the emulator's reading, and the SDK's): 25 + 25 + 10, the short page ends it.
    assert [entry["query"] for entry in requests_to(emu, "autosearch-trials")] == [
        "limit=25&offset=0",
        "limit=25&offset=1",
        "limit=25&offset=2",
    ]
    with pytest.raises(ModelArtsValidationError, match="limit"):
        hook.list_auto_search_trials(created["metadata"]["id"], limit=101)
    assert len(requests_to(emu, "autosearch-trials")) == 3


def test_the_connection_setting_chooses_the_follower_api(emu: ModelArtsEmulator, preview_connection: str) -> None:
    assert ModelArtsHook(preview_connection).log_api == "preview"
    assert ModelArtsHook(CONN_ID).log_api == "auto"
    follower = job_logs.JobLogFollower(ModelArtsHook(preview_connection), "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21", print)
    assert follower.reading == "preview"


def test_after_a_deferral_the_failure_tail_asks_the_preview_only_where_aom_is_missing(
    emu: ModelArtsEmulator, plans: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The follower learned before the deferral that AOM is not served: the resumed task reads
    that from the log state it left in XCom, and its failure tail sends no second AOM request."""
    monkeypatch.setattr("airflow_provider_modelarts.waiting.poller.MIN_ROUND_SPACING", 0.05)
    emu.set_aom_logs(False)
    emu.set_create_plan("it-evt-ftail", RUNS_THEN_FAILS, exit_code=3, message="boom", logs={"worker-0": WORKER_LINES})
    runs = TaskInstanceRuns(task_id="train")
    task = operator("it-evt-ftail-1", deferrable=True, poll_interval=0.1)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(runs.context())
    _classpath, kwargs = deferred.value.trigger.serialize()
    event = asyncio.run(_run_trigger(ModelArtsTrainingJobPhaseTrigger(**kwargs), emu))
    assert event["status"] == "failed"
    runs.resume()
    resumed = operator("it-evt-ftail-1", deferrable=True, poll_interval=0.1)  # a new process
    with pytest.raises(ModelArtsTrainingJobFailedError) as failed:
        resumed.execute_complete(runs.context(), event)
    assert "Last lines of the job's log:" in str(failed.value)
    aom = [entry for entry in emu.stats()["requests"] if "/logs/" in entry["path"] and "preview" not in entry["path"]]
    assert len(aom) == 1  # the first read, before the deferral
