"""``ModelArtsCreateTrainingJobOperator``: job names and workspaces. Retry names unique per task
instance, one workspace for the create and the lookups, and a name taken between the lookup and
the create (mapped tasks sharing a name, in parallel), over real HTTP against the emulator."""

from __future__ import annotations

import re
from typing import Any

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.operators.training_job_create import (
    ModelArtsCreateTrainingJobOperator,
    ModelArtsTrainingJobFailedError,
)
from tests.integration.airflow_context import TaskInstanceRuns
from tests.integration.test_create_operator import CONN_ID, RUNS_FOR_TEN_MINUTES, body, operator, runs_of

FAILS = [("Creating", 1), ("Pending", 1), ("Running", 3), ("Failed", None)]
SECOND_WORKSPACE = "5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b"  # a workspace of the emulated project


pytestmark = pytest.mark.usefixtures("emulator_time")  # tests/integration/conftest.py


# -- retry names are unique to the task instance ------------------------------------------------


def test_retries_of_two_runs_sharing_a_name_never_collide(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-sfx", FAILS, exit_code=1, message="boom")
    names = []
    for run_id in ("manual__a", "manual__b"):
        runs = runs_of(run_id, retries=1)
        for _ in range(2):
            with pytest.raises(ModelArtsTrainingJobFailedError):
                operator("rv-sfx", on_name_conflict="suffix", print_log=False).execute(runs.context())
            runs.retry()
        names += [job.name for job in emu.app.training_jobs.jobs.values() if job.name.startswith("rv-sfx")]
    assert len(set(names)) == 4 and all(re.fullmatch(r"rv-sfx(-[0-9a-f]{8}-try[12])?", name) for name in names)


# -- one workspace for the create, the lookups and the shared search ----------------------------


def test_the_job_is_created_in_the_operators_workspace(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-ws", RUNS_FOR_TEN_MINUTES)
    created = operator("rv-ws-1", workspace_id=SECOND_WORKSPACE, wait_for_completion=False).execute(runs_of().context())
    assert emu.app.training_jobs.jobs[created["id"]].workspace_id == SECOND_WORKSPACE


def test_a_body_workspace_is_where_the_lookups_search(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-wsb", RUNS_FOR_TEN_MINUTES)
    job = body("rv-wsb-1")
    job["metadata"]["workspace_id"] = SECOND_WORKSPACE
    kwargs: dict[str, Any] = {
        "task_id": "train",
        "job": job,
        "modelarts_conn_id": CONN_ID,
        "on_name_conflict": "suffix",
    }
    ModelArtsCreateTrainingJobOperator(**kwargs, wait_for_completion=False).execute(runs_of("manual__a").context())
    second = ModelArtsCreateTrainingJobOperator(**kwargs, wait_for_completion=False).execute(
        runs_of("manual__b").context()
    )
    assert second["name"] != "rv-wsb-1"  # the holder was seen, in the body's workspace


def test_a_lost_create_answer_in_a_workspace_still_makes_one_job(emu: ModelArtsEmulator) -> None:
    emu.set_create_plan("rv-wsd", RUNS_FOR_TEN_MINUTES)
    emu.add_fault("drop_mid", count=1, path_contains="/training-jobs")
    created = operator(
        "rv-wsd-1", workspace_id=SECOND_WORKSPACE, wait_for_completion=False, modelarts_retry_delay=0.01
    ).execute(runs_of().context())
    assert created["name"] == "rv-wsd-1"
    assert [job.name for job in emu.app.training_jobs.jobs.values() if job.name == "rv-wsd-1"] == ["rv-wsd-1"]


def test_a_body_workspace_that_contradicts_the_operators_is_refused(emu: ModelArtsEmulator) -> None:
    job = body("rv-wsx-1")
    job["metadata"]["workspace_id"] = "0"
    task = ModelArtsCreateTrainingJobOperator(
        task_id="train", job=job, modelarts_conn_id=CONN_ID, workspace_id=SECOND_WORKSPACE
    )
    with pytest.raises(ModelArtsValidationError, match=r"job\.metadata\.workspace_id"):
        task.execute(runs_of().context())


# -- mapped tasks sharing a name, running in parallel --------------------------------


@pytest.mark.parametrize("on_name_conflict", ["suffix", "fail"])
def test_a_name_taken_between_the_lookup_and_the_create_follows_on_name_conflict(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, on_name_conflict: str
) -> None:
    """Map index 1 has searched (the name was free) when map index 0 creates under that name."""
    from airflow_provider_modelarts.exceptions import ModelArtsDuplicateJobNameError
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from tests.integration.airflow_context import TaskStateStore

    name = f"rv-race-{on_name_conflict}"
    emu.set_create_plan(name, RUNS_FOR_TEN_MINUTES)
    store = TaskStateStore()
    real_create = ModelArtsHook.create_training_job
    sibling: list[dict[str, Any]] = []
    started: list[bool] = []

    def mapped(index: int) -> tuple[ModelArtsCreateTrainingJobOperator, dict[str, Any]]:
        task = operator(name, on_name_conflict=on_name_conflict, wait_for_completion=False)
        return task, TaskInstanceRuns(task_id="train", map_index=index, store=store).context()

    def create_after_sibling(self: ModelArtsHook, job: Any) -> dict[str, Any]:
        if not started:  # the first create is map index 1's: map index 0 gets in first
            started.append(True)
            task, context = mapped(0)
            sibling.append(task.execute(context))
        return real_create(self, job)

    monkeypatch.setattr(ModelArtsHook, "create_training_job", create_after_sibling)
    task, context = mapped(1)
    if on_name_conflict == "fail":
        with pytest.raises(ModelArtsDuplicateJobNameError):
            task.execute(context)
        return
    second = task.execute(context)
    assert sibling[0]["name"] == name
    assert re.fullmatch(rf"{name}-[0-9a-f]{{8}}-try1", second["name"]) and second["id"] != sibling[0]["id"]
