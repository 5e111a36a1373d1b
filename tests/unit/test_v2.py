"""The v2 training-job API knowledge (v2.py) and the hook's v2 calls, with ``hook.request``
replaced by a recording fake: validation before any request, the search body, phases, the v2
error shape, and the paging arithmetic of the iterator."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from airflow.sdk import Connection

from airflow_provider_modelarts.cloud import retry as retry_policy
from airflow_provider_modelarts.cloud import transport, v1, v2
from airflow_provider_modelarts.cloud.v2 import JobPhase
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsDuplicateJobNameError,
    ModelArtsJobEndedError,
    ModelArtsNotFoundError,
    ModelArtsPermanentError,
    ModelArtsRequestRejectedError,
    ModelArtsServerError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsTransportError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.waiting.conditions import V2_PHASES, PhaseWaitCondition

PROJECT = "0123456789abcdef0123456789abcdef"
WORKSPACE = "fedcba9876543210fedcba9876543210"
JOB_ID = "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21"


# ---------------------------------------------------------------------------------------------
# A hook whose request() records the calls and answers from a fake project
# ---------------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    json_body: Any
    idempotent: bool
    error_table: transport.ErrorTable


@dataclass
class FakeProject:
    """Answers searches the way the docs describe them: ``offset`` is a page number, ``count``
    the number of matches. ``ignore_offset`` plays a server that always answers page 0;
    ``insert_before_page`` adds a newest job before serving that page (desc by create_time)."""

    job_count: int
    ignore_offset: bool = False
    insert_before_page: int | None = None
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.jobs = [_job(f"job-{n}", n) for n in range(self.job_count)]

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        idempotent: bool,
        error_table: transport.ErrorTable = v1.ERROR_TABLE,
    ) -> dict[str, Any]:
        self.calls.append(Call(method, path, json.loads(json.dumps(json_body)), idempotent, error_table))
        if method == "GET":
            return _job("one", 0)
        page = 0 if self.ignore_offset else json_body["offset"]
        if page == self.insert_before_page:
            self.jobs.insert(0, _job("newest", 10_000))
        limit = json_body["limit"]
        items = self.jobs[page * limit : (page + 1) * limit]
        return {"total": len(self.jobs), "count": len(self.jobs), "limit": limit, "offset": page, "items": items}


def _job(name: str, n: int) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"id": str(uuid.UUID(int=n + 1)), "name": name, "create_time": 1_700_000_000_000 - n},
        "status": {"phase": "Running", "secondary_phase": "Running", "duration": 1000 * n, "tasks": ["worker-0"]},
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


def _hook(monkeypatch: pytest.MonkeyPatch, project: FakeProject, **extra: object) -> ModelArtsHook:
    hook = ModelArtsHook("v2_unit")
    hook.configure(
        Connection(
            conn_id="v2_unit",
            conn_type="modelarts",
            login="AK",
            password="SK",
            extra=json.dumps({"region": "cn-north-4", "project_id": PROJECT, **extra}),
        )
    )
    monkeypatch.setattr(hook, "request", project.request)
    return hook


@pytest.fixture
def project() -> FakeProject:
    return FakeProject(job_count=0)


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, project: FakeProject) -> ModelArtsHook:
    return _hook(monkeypatch, project)


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------


def test_phases_are_the_documented_eight_in_lifecycle_order() -> None:
    assert [phase.value for phase in JobPhase] == [
        "Creating",
        "Pending",
        "Running",
        "Terminating",
        "Completed",
        "Failed",
        "Terminated",
        "Abnormal",
    ]


def test_phase_classes_tell_progress_success_failure_and_stopped_apart() -> None:
    assert {p for p in JobPhase if p.is_in_progress} == {
        JobPhase.CREATING,
        JobPhase.PENDING,
        JobPhase.RUNNING,
        JobPhase.TERMINATING,
    }
    assert [p for p in JobPhase if p.is_success] == [JobPhase.COMPLETED]
    assert {p for p in JobPhase if p.is_failure} == {JobPhase.FAILED, JobPhase.ABNORMAL, JobPhase.TERMINATED}
    assert [p for p in JobPhase if p.is_stopped] == [JobPhase.TERMINATED]
    assert {p for p in JobPhase if p.is_terminal} == v2.TERMINAL_PHASES == {JobPhase.COMPLETED} | v2.FAILURE_PHASES
    # Terminating is still in progress: the job may end Terminated, or finish first.
    assert JobPhase.TERMINATING.is_in_progress and not JobPhase.TERMINATING.is_stopped


def test_a_phase_equals_and_prints_as_the_api_spelling() -> None:
    assert JobPhase.COMPLETED == "Completed" and "Completed" in {JobPhase.COMPLETED}  # type: ignore[comparison-overlap]
    assert JobPhase.COMPLETED in {"Completed"}
    assert f"{JobPhase.RUNNING}" == str(JobPhase.RUNNING) == "Running"
    assert json.dumps([JobPhase.FAILED]) == '["Failed"]'


def test_undocumented_phases_count_as_in_progress_and_sort_last() -> None:
    assert v2.is_terminal_phase("Completed") and v2.is_terminal_phase("Abnormal")
    assert not v2.is_terminal_phase("Running") and not v2.is_terminal_phase("Queuing")
    assert sorted(["Queuing", "Failed", "Creating"], key=v2.phase_sort_key) == ["Creating", "Failed", "Queuing"]
    assert v2.phase_of({"status": {"phase": "Pending"}}) == "Pending"
    assert v2.phase_of({"status": None}) is None and v2.phase_of({}) is None


# ---------------------------------------------------------------------------------------------
# Validation: every bad value names the parameter, before any request
# ---------------------------------------------------------------------------------------------

BAD_SEARCHES: list[tuple[dict[str, Any], str]] = [
    ({"limit": 0}, "limit"),
    ({"limit": 51}, "limit"),
    ({"limit": "fifty"}, "limit"),
    ({"limit": True}, "limit"),
    ({"offset": -1}, "offset"),
    ({"offset": "first"}, "offset"),
    ({"offset": 1.5}, "offset"),
    ({"order": "up"}, "order"),
    ({"order": None}, "order"),
    ({"sort_by": "create-time"}, "sort_by"),
    ({"sort_by": ""}, "sort_by"),
    ({"phase": "Done"}, "phase"),
    ({"phase": ["Running", "Done"]}, "phase"),
    ({"phase": []}, "phase"),
    ({"phase": 8}, "phase"),
    ({"name": ""}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": ["a"]}, "name"),
    ({"workspace_id": "ws-research"}, "workspace_id"),
    ({"workspace_id": "a" * 31}, "workspace_id"),
    ({"workspace_id": "a" * 33}, "workspace_id"),
    ({"filters": {"key": "name", "operator": "like", "value": ["a"]}}, "filters"),
    ({"filters": "name like a"}, "filters"),
    ({"filters": [{"key": "Status Code", "operator": "in", "value": ["8"]}]}, "filters[].key"),
    ({"filters": [{"key": "name", "operator": "eq", "value": ["a"]}]}, "filters[].operator"),
    ({"filters": [{"key": "name", "operator": "like", "value": "a"}]}, "filters[].value"),
    ({"filters": [{"key": "name", "operator": "like", "value": None}]}, "filters[].value"),
    ({"filters": [{"key": "kind", "operator": "in", "value": [1]}]}, "filters[].value"),
    ({"filters": [{"key": "create_time", "operator": "between", "value": ["1"]}]}, "filters[].value"),
    ({"filters": [{"key": "phase", "operator": "in", "value": ["Done"]}]}, "filters[].value"),
    ({"filters": [{"key": "name", "operator": "like"}]}, "filters"),
    ({"filters": [{"key": "name", "operator": "like", "value": ["a"], "extra": 1}]}, "filters"),
]


@pytest.mark.parametrize(("kwargs", "parameter"), BAD_SEARCHES)
def test_a_bad_search_argument_is_named_before_any_request(
    hook: ModelArtsHook, project: FakeProject, kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        hook.search_training_jobs(**kwargs)
    assert error.value.parameter == parameter
    assert repr(parameter) in str(error.value)
    if "offset" not in kwargs:  # the iterator starts at the first page
        with pytest.raises(ModelArtsValidationError) as iterator_error:
            hook.iter_training_jobs_v2(**kwargs)
        assert iterator_error.value.parameter == parameter
    assert project.calls == []


@pytest.mark.parametrize(
    "bad_id",
    ["123", 123, "", "not-a-uuid", "3f8c2a6e2c1b4f6e9d9a5b1c7e0a4d21", f"{{{JOB_ID}}}", f"{JOB_ID}/../x", None],
)
def test_a_training_job_id_must_be_a_uuid(hook: ModelArtsHook, project: FakeProject, bad_id: object) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        hook.get_training_job(bad_id)  # type: ignore[arg-type]
    assert error.value.parameter == "training_job_id"
    assert "UUID" in str(error.value)
    assert project.calls == []


def test_max_results_is_checked_when_the_iterator_is_made(hook: ModelArtsHook, project: FakeProject) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        hook.iter_training_jobs_v2(max_results=0)
    assert error.value.parameter == "max_results"
    assert project.calls == []


def test_an_invalid_workspace_of_the_connection_is_named_before_any_request(
    monkeypatch: pytest.MonkeyPatch, project: FakeProject
) -> None:
    hook = _hook(monkeypatch, project, workspace_id="ws-research")
    with pytest.raises(ModelArtsValidationError) as error:
        hook.search_training_jobs()
    assert "connection 'v2_unit'" in error.value.parameter
    assert project.calls == []
    # An explicit, valid workspace does not need the connection's.
    hook.search_training_jobs(workspace_id="0")
    assert project.calls[0].json_body["workspace_id"] == "0"


# ---------------------------------------------------------------------------------------------
# Requests and bodies
# ---------------------------------------------------------------------------------------------


def test_get_training_job_reads_the_job_path(hook: ModelArtsHook, project: FakeProject) -> None:
    hook.get_training_job(JOB_ID.upper())
    assert project.calls == [
        Call("GET", f"/v2/{PROJECT}/training-jobs/{JOB_ID}", None, True, v2.ERROR_TABLE),
    ]
    hook.get_training_job(uuid.UUID(JOB_ID))  # type: ignore[arg-type]
    assert project.calls[-1].path.endswith(JOB_ID)


def test_the_default_search_is_one_idempotent_post_of_the_documented_defaults(
    hook: ModelArtsHook, project: FakeProject
) -> None:
    hook.search_training_jobs()
    assert project.calls == [
        Call(
            "POST",
            f"/v2/{PROJECT}/training-job-searches",
            {"offset": 0, "limit": 50, "sort_by": "create_time", "order": "desc"},
            True,
            v2.ERROR_TABLE,
        )
    ]


def test_phase_and_name_become_in_and_like_conditions_before_the_given_filters(
    hook: ModelArtsHook, project: FakeProject
) -> None:
    window = {"key": "create_time", "operator": "between", "value": ["1700000000000", "1800000000000"]}
    hook.search_training_jobs(
        phase=["running", JobPhase.PENDING, "RUNNING"],
        name="resnet",
        filters=[window, v2.SearchFilter("kind", "not", ("edge_job",))],
        sort_by="create_time",
        order="ASC",
        limit="10",
        offset=3,
        workspace_id=WORKSPACE,
    )
    assert project.calls[0].json_body == {
        "offset": 3,
        "limit": 10,
        "sort_by": "create_time",
        "order": "asc",
        "workspace_id": WORKSPACE,
        "filters": [
            {"key": "phase", "operator": "in", "value": ["Pending", "Running"]},
            {"key": "name", "operator": "like", "value": ["resnet"]},
            window,
            {"key": "kind", "operator": "not", "value": ["edge_job"]},
        ],
    }


def test_one_phase_is_a_one_value_in_condition_and_phase_filters_are_spelled_as_documented() -> None:
    search = v2.JobSearch.validate(
        phase="completed", filters=[{"key": "phase", "operator": "not", "value": ["abnormal"]}]
    )
    assert search.body()["filters"] == [
        {"key": "phase", "operator": "in", "value": ["Completed"]},
        {"key": "phase", "operator": "not", "value": ["Abnormal"]},
    ]


@pytest.mark.parametrize("key", v2.FILTER_KEYS)
@pytest.mark.parametrize("operator", v2.FILTER_OPERATORS)
def test_every_documented_key_and_operator_is_accepted(key: str, operator: str) -> None:
    values = ["Running", "Failed"] if key == "phase" else ["a", "b"]
    condition = v2.SearchFilter.validate({"key": key, "operator": operator, "value": values})
    assert condition.body() == {"key": key, "operator": operator, "value": values}


def test_the_workspace_defaults_to_the_connection(monkeypatch: pytest.MonkeyPatch, project: FakeProject) -> None:
    hook = _hook(monkeypatch, project, workspace_id=WORKSPACE)
    hook.search_training_jobs()
    hook.search_training_jobs(workspace_id="0")
    assert [call.json_body["workspace_id"] for call in project.calls] == [WORKSPACE, "0"]


def test_paths_of_the_v2_api() -> None:
    base = f"/v2/{PROJECT}/training-jobs"
    assert v2.training_jobs_path(PROJECT) == base
    assert v2.training_job_path(PROJECT, JOB_ID) == f"{base}/{JOB_ID}"
    assert v2.training_job_searches_path(PROJECT) == f"/v2/{PROJECT}/training-job-searches"
    assert v2.training_job_actions_path(PROJECT, JOB_ID) == f"{base}/{JOB_ID}/actions"
    assert v2.training_job_tasks_path(PROJECT, JOB_ID) == f"{base}/{JOB_ID}/tasks"
    assert v2.training_job_aom_logs_path(PROJECT, JOB_ID, "worker-0") == f"{base}/{JOB_ID}/logs/worker-0"
    assert (
        v2.training_job_log_preview_path(PROJECT, JOB_ID, "worker-0") == f"{base}/{JOB_ID}/tasks/worker-0/logs/preview"
    )
    assert v2.TERMINATE_ACTION == {"action_type": "terminate"}


# ---------------------------------------------------------------------------------------------
# Paging: C matches cost ceil(C / limit) requests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job_count", "limit"), [(0, 50), (1, 50), (49, 50), (50, 50), (51, 50), (100, 50), (137, 50), (137, 7), (5, 1)]
)
def test_the_iterator_costs_ceil_count_over_limit_requests(
    monkeypatch: pytest.MonkeyPatch, job_count: int, limit: int
) -> None:
    project = FakeProject(job_count)
    hook = _hook(monkeypatch, project)
    ids = [v2.job_row(job)["id"] for job in hook.iter_training_jobs_v2(limit=limit)]
    assert ids == [v2.job_row(job)["id"] for job in project.jobs]
    assert len(project.calls) == max(1, math.ceil(job_count / limit)) == v2.pages_needed(job_count, limit)
    assert [call.json_body["offset"] for call in project.calls] == list(range(len(project.calls)))


def test_the_iterator_is_lazy_and_stops_at_max_results(monkeypatch: pytest.MonkeyPatch) -> None:
    project = FakeProject(500)
    hook = _hook(monkeypatch, project)
    jobs = hook.iter_training_jobs_v2(limit=50, max_results=120)
    assert project.calls == []
    assert next(jobs)["metadata"]["name"] == "job-0"
    assert len(project.calls) == 1
    assert len(list(jobs)) == 119
    assert len(project.calls) == 3


def test_a_server_that_ignores_the_page_number_cannot_keep_the_iterator_paging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = FakeProject(120, ignore_offset=True)
    hook = _hook(monkeypatch, project)
    names = [job["metadata"]["name"] for job in hook.iter_training_jobs_v2(limit=50)]
    assert names == [f"job-{n}" for n in range(50)]
    assert len(project.calls) == 2


def test_a_job_created_while_paging_does_not_repeat_a_job(monkeypatch: pytest.MonkeyPatch) -> None:
    # Newest first: a job created before page 1 is served shifts job-49 onto page 1 too.
    project = FakeProject(100, insert_before_page=1)
    hook = _hook(monkeypatch, project)
    names = [job["metadata"]["name"] for job in hook.iter_training_jobs_v2(limit=50)]
    assert len(names) == len(set(names)) == 99
    assert len(project.calls) == 2


def test_the_page_iterator_keeps_each_body_and_starts_at_the_given_page(monkeypatch: pytest.MonkeyPatch) -> None:
    project = FakeProject(120)
    hook = _hook(monkeypatch, project)
    search = v2.JobSearch.validate(limit=50, offset=1)
    bodies = list(hook.iter_training_job_search_pages(search))
    assert [body["offset"] for body in bodies] == [1, 2]
    assert [len(body["items"]) for body in bodies] == [50, 20]
    assert all(body["count"] == 120 for body in bodies)


# ---------------------------------------------------------------------------------------------
# Errors: the v2 shape into the typed family
# ---------------------------------------------------------------------------------------------


def _error(
    status: int, code: str, table: transport.ErrorTable = v2.ERROR_TABLE, headers: Mapping[str, str] | None = None
) -> ModelArtsApiError:
    body = json.dumps(
        {"error_code": code, "error_msg": f"message of {code}", "error_solution": f"solution of {code}"}
    ).encode()
    return transport.error_from_response(
        status, body, {"X-Request-Id": "req-1", **(headers or {})}, ("SK-SECRET",), table=table
    )


def test_training_job_not_found_is_http_400_modelarts_2775() -> None:
    error = _error(400, "ModelArts.2775")
    assert type(error) is ModelArtsNotFoundError
    assert (error.http_status, error.error_code, error.error_message) == (
        400,
        "ModelArts.2775",
        "message of ModelArts.2775",
    )
    assert error.request_id == "req-1"
    # The v2 body says what to do; it becomes the hint.
    assert error.hint == "solution of ModelArts.2775" and "solution of ModelArts.2775" in str(error)
    assert not retry_policy.may_retry(error, idempotent=True, retry_max_delay=60)


@pytest.mark.parametrize("code", ["ModelArts.2799", "APIG.0308"])
def test_throttling_codes_are_throttled_errors_and_retried(code: str) -> None:
    error = _error(429, code, headers={"Retry-After": "3"})
    assert type(error) is ModelArtsThrottledError
    assert error.retry_after == 3.0
    assert retry_policy.may_retry(error, idempotent=True, retry_max_delay=60)
    assert retry_policy.may_retry(error, idempotent=False, retry_max_delay=60)


@pytest.mark.parametrize("code", sorted(v2.THROTTLED_CODES))
def test_a_throttling_code_is_recognised_whatever_http_status_carries_it(code: str) -> None:
    error = _error(400, code)
    assert type(error) is ModelArtsThrottledError
    assert retry_policy.may_retry(error, idempotent=True, retry_max_delay=60)
    # The v1 table does not know v2's codes: the same answer is a refused request there.
    assert type(_error(400, code, table=v1.ERROR_TABLE)) is ModelArtsRequestRejectedError


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (401, "ModelArts.0202", ModelArtsTokenExpiredError),
        (500, "ModelArts.0010", ModelArtsServerError),
        (400, "ModelArts.2788", ModelArtsRequestRejectedError),
        (409, "ModelArts.2796", ModelArtsApiError),
    ],
)
def test_other_v2_errors_keep_their_types(status: int, code: str, error_type: type[ModelArtsApiError]) -> None:
    error = _error(status, code)
    assert type(error) is error_type
    assert error.error_code == code


def test_v2_hints_say_which_argument_to_check() -> None:
    assert "sort_by" in str(_error(400, "ModelArts.2790"))
    assert "project_id" in str(_error(404, "ModelArts.2786"))


def test_secrets_echoed_in_a_v2_error_are_redacted() -> None:
    body = json.dumps({"error_code": "ModelArts.0104", "error_msg": "bad SK-SECRET", "error_solution": "SK-SECRET"})
    error = transport.error_from_response(400, body.encode(), {}, ("SK-SECRET",), table=v2.ERROR_TABLE)
    assert "SK-SECRET" not in str(error) and "SK-SECRET" not in (error.hint or "")


# ---------------------------------------------------------------------------------------------
# Compact forms of a job
# ---------------------------------------------------------------------------------------------

# Shaped like the "Querying the Details About a Training Job" response example.
FAILED_JOB: Mapping[str, Any] = {
    "kind": "job",
    "metadata": {
        "id": JOB_ID,
        "name": "resnet-train",
        "workspace_id": "0",
        "user_name": "alice",
        "create_time": 1_700_000_000_000,
        "description": "",
    },
    "status": {
        "phase": "Failed",
        "secondary_phase": "Failed",
        "duration": 61_000,
        "start_time": 1_700_000_005_000,
        "tasks": ["worker-0", "worker-1"],
        "task_statuses": [
            {"task": "worker-0", "exit_code": 0, "message": ""},
            {"task": "worker-1", "exit_code": 137, "message": "OOMKilled"},
        ],
    },
    "algorithm": {
        "outputs": [
            {"name": "train_url", "remote": {"obs": {"obs_url": "/bucket/out/"}}},
            {"name": "no_obs", "remote": {}},
        ]
    },
    "spec": {"resource": {"flavor_id": "modelarts.p3.large.public", "node_count": 2, "pool_id": None}},
}


def test_a_job_row_is_flat_and_json_serialisable() -> None:
    row = v2.job_row(FAILED_JOB)
    assert row == {
        "id": JOB_ID,
        "name": "resnet-train",
        "kind": "job",
        "phase": "Failed",
        "secondary_phase": "Failed",
        "create_time": 1_700_000_000_000,
        "start_time": 1_700_000_005_000,
        "duration": 61_000,
        "flavor": "modelarts.p3.large.public",
        "node_count": 2,
        "pool_id": None,
        "workspace_id": "0",
        "user_name": "alice",
        "tasks": ["worker-0", "worker-1"],
    }
    assert json.loads(json.dumps(row)) == row


def test_a_sparse_job_gives_a_row_of_nones() -> None:
    row = v2.job_row({"metadata": {"id": JOB_ID}, "status": None, "spec": "?"})
    assert row["id"] == JOB_ID and row["phase"] is None and row["flavor"] is None and row["tasks"] == []


def test_the_summary_adds_exit_codes_and_outputs_and_the_outcome_names_them() -> None:
    summary = v2.job_summary(FAILED_JOB)
    assert summary["task_statuses"][1] == {"task": "worker-1", "exit_code": 137, "message": "OOMKilled"}
    assert summary["outputs"] == {"train_url": "/bucket/out/"}
    assert v2.describe_outcome(FAILED_JOB) == (
        "secondary phase Failed; task worker-0 exit code 0; task worker-1 exit code 137 (OOMKilled)"
    )


# ---------------------------------------------------------------------------------------------
# The v2 wait
# ---------------------------------------------------------------------------------------------


def test_the_v2_scheme_fails_on_failed_abnormal_and_terminated_by_default() -> None:
    assert V2_PHASES.default_failures == {"Failed", "Abnormal", "Terminated"}
    wait = PhaseWaitCondition.validate(JOB_ID)
    assert wait.target_statuses == {"Completed"}
    assert wait.failure_statuses == {"Failed", "Abnormal", "Terminated"}
    assert {phase.value for phase in JobPhase if V2_PHASES.is_terminal(phase.value)} == {
        "Completed",
        "Failed",
        "Terminated",
        "Abnormal",
    }


def test_the_v2_wait_judges_a_job_and_names_the_failure() -> None:
    wait = PhaseWaitCondition.validate(JOB_ID.upper(), ["Completed"])
    subject = f"training job {JOB_ID}"
    assert wait.judge_job(FAILED_JOB) == (
        "failed",
        f"{subject} is Failed: a failure phase (secondary phase Failed; task worker-0 exit code 0; "
        "task worker-1 exit code 137 (OOMKilled))",
    )
    assert wait.judge_job({"status": {"phase": "Completed"}}) == ("success", f"{subject} is Completed: a target phase")
    assert wait.judge_job({"status": {"phase": "Running"}}) == (
        "waiting",
        f"{subject} is Running: waiting for Completed",
    )
    assert wait.judge_job({"status": {"phase": "Queuing"}})[0] == "waiting"
    assert wait.judge_job({"status": {}})[0] == "waiting"


def test_a_terminal_phase_outside_both_sets_fails_the_wait() -> None:
    wait = PhaseWaitCondition.validate(JOB_ID, "Completed", failure_phases=["Failed"])
    verdict, message = wait.judge_job({"status": {"phase": "Terminated", "secondary_phase": "Terminated"}})
    assert verdict == "failed"
    assert "Terminated: terminal, and not a target phase (Completed)" in message


def test_waiting_for_a_failure_phase_removes_it_from_the_default_failures() -> None:
    wait = PhaseWaitCondition.validate(JOB_ID, ["terminated", "Failed"])
    assert wait.failure_statuses == {"Abnormal"}
    assert wait.judge("Terminated")[0] == "success"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"training_job_id": "7"}, "training_job_id"),
        ({"target_phases": "Done"}, "target_phases"),
        ({"target_phases": []}, "target_phases"),
        ({"failure_phases": ["Broken"]}, "failure_phases"),
        ({"failure_phases": ["Completed"]}, "failure_phases"),
    ],
)
def test_bad_wait_arguments_name_the_parameter(kwargs: dict[str, Any], parameter: str) -> None:
    arguments: dict[str, Any] = {"training_job_id": JOB_ID, "target_phases": ["Completed"], **kwargs}
    with pytest.raises(ModelArtsValidationError) as error:
        PhaseWaitCondition.validate(**arguments)
    assert error.value.parameter == parameter


# ---------------------------------------------------------------------------------------------
# The create body
# ---------------------------------------------------------------------------------------------


def _create_body() -> dict[str, Any]:
    """A body shaped like the CreateTrainingJob example (code_dir + boot_file, one input, one
    output, a public flavor)."""
    return {
        "kind": "job",
        "metadata": {"name": "train-resnet_1", "description": "nightly", "annotations": {"a": "b"}},
        "algorithm": {
            "code_dir": "obs://bucket/code/",
            "boot_file": "obs://bucket/code/train.py",
            "engine": {"engine_name": "PyTorch", "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04"},
            "inputs": [
                {"name": "data_url", "remote": {"obs": {"obs_url": "obs://bucket/data/"}}},
                {"name": "dataset", "remote": {"dataset": {"id": "ds-1", "version_id": "v-1"}}},
            ],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "obs://bucket/out/"}}}],
            "environments": {"EPOCHS": "3"},
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": 1}},
    }


def _with(path: str, value: object) -> dict[str, Any]:
    """The example body with one value replaced (``_DELETE`` removes the key)."""
    body = _create_body()
    *parents, last = path.split(".")
    target: Any = body
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return body


_DELETE = object()


def test_a_valid_body_comes_back_normalised_without_changing_the_input() -> None:
    body = _create_body()
    del body["kind"]
    body["spec"]["resource"]["node_count"] = "2"
    before = json.loads(json.dumps(body))
    normalised = v2.validate_job_create(body)
    assert body == before
    assert normalised["kind"] == "job"
    assert normalised["spec"]["resource"]["node_count"] == 2
    assert normalised["metadata"] is not body["metadata"]
    assert normalised["algorithm"]["inputs"][0] is not body["algorithm"]["inputs"][0]
    normalised["algorithm"]["inputs"][0]["name"] = "changed"
    assert body["algorithm"]["inputs"][0]["name"] == "data_url"


@pytest.mark.parametrize(
    "algorithm",
    [
        {"id": "2e5451fe-913f-4492-821a-2981031382f7"},
        {"subscription_id": "sub-1", "item_version_id": "ver-1"},
        {
            "code_dir": "obs://b/c/",
            "boot_file": "obs://b/c/t.py",
            "engine": {"engine_name": "PyTorch", "engine_version": "1.8", "image_url": "swr/x:1"},
        },
        {"code_dir": "obs://b/c/", "boot_file": "obs://b/c/t.py", "engine": {"engine_id": "pytorch-cp36"}},
    ],
)
def test_each_documented_way_to_name_the_algorithm_and_engine_is_accepted(algorithm: dict[str, Any]) -> None:
    assert v2.validate_job_create(_with("algorithm", algorithm))["algorithm"] == algorithm


def test_a_dedicated_pool_without_flavor_is_accepted() -> None:
    assert v2.validate_job_create(_with("spec.resource", {"pool_id": "pool-1"}))["spec"]["resource"] == {
        "pool_id": "pool-1"
    }


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ([("kind", "job")], "job"),
        (None, "job"),
        (_with("kind", "notebook"), "job.kind"),
        (_with("metadata", _DELETE), "job.metadata"),
        (_with("metadata", "train"), "job.metadata"),
        (_with("metadata.name", _DELETE), "job.metadata.name"),
        (_with("metadata.name", ""), "job.metadata.name"),
        (_with("metadata.name", "a" * 65), "job.metadata.name"),
        (_with("metadata.name", "train resnet"), "job.metadata.name"),
        (_with("metadata.name", "train.resnet"), "job.metadata.name"),
        (_with("metadata.name", "训练"), "job.metadata.name"),
        (_with("metadata.name", 12), "job.metadata.name"),
        (_with("metadata.workspace_id", "ws"), "job.metadata.workspace_id"),
        (_with("metadata.description", "d" * 257), "job.metadata.description"),
        (_with("metadata.annotations", {"a": 1}), "job.metadata.annotations"),
        (_with("algorithm", _DELETE), "job.algorithm"),
        (_with("algorithm", {"command": "python t.py"}), "job.algorithm.engine.image_url"),
        (_with("algorithm", {"parameters": []}), "job.algorithm"),
        (_with("algorithm.id", "algo-1"), "job.algorithm"),
        (_with("algorithm", {"id": "a", "subscription_id": "s", "item_version_id": "v"}), "job.algorithm"),
        (_with("algorithm.boot_file", _DELETE), "job.algorithm.boot_file"),
        (_with("algorithm", {"subscription_id": "s"}), "job.algorithm.item_version_id"),
        (_with("algorithm.code_dir", ""), "job.algorithm.code_dir"),
        (_with("algorithm.engine", "pytorch"), "job.algorithm.engine"),
        (_with("algorithm.engine", {"engine_id": "e", "image_url": "i"}), "job.algorithm.engine"),
        (_with("algorithm.engine", {"engine_name": "PyTorch"}), "job.algorithm.engine.engine_version"),
        (_with("algorithm.engine", {"image_url": ""}), "job.algorithm.engine.image_url"),
        (_with("algorithm.inputs", {"name": "data_url"}), "job.algorithm.inputs"),
        (_with("algorithm.inputs.0", "obs://bucket/data/"), "job.algorithm.inputs[0]"),
        (_with("algorithm.inputs.0.name", _DELETE), "job.algorithm.inputs[0].name"),
        (_with("algorithm.inputs.1.remote", _DELETE), "job.algorithm.inputs[1].remote"),
        (_with("algorithm.inputs.1.remote", {}), "job.algorithm.inputs[1].remote"),
        (_with("algorithm.inputs.0.remote.obs", {"url": "obs://b/"}), "job.algorithm.inputs[0].remote.obs.obs_url"),
        (_with("algorithm.inputs.1.remote.dataset", {"version_id": "v"}), "job.algorithm.inputs[1].remote.dataset.id"),
        (
            _with("algorithm.inputs.0.remote", {"obs": {"obs_url": "obs://b/"}, "dataset": {"id": "d"}}),
            "job.algorithm.inputs[0].remote",
        ),
        (_with("algorithm.outputs.0.remote.obs.obs_url", ""), "job.algorithm.outputs[0].remote.obs.obs_url"),
        (_with("algorithm.outputs.0.name", ""), "job.algorithm.outputs[0].name"),
        (_with("algorithm.environments", [{"EPOCHS": "3"}]), "job.algorithm.environments"),
        (_with("algorithm.environments", {"EPOCHS": 3}), "job.algorithm.environments"),
        (_with("algorithm.environments", {f"K{n}": "v" for n in range(101)}), "job.algorithm.environments"),
        (_with("algorithm.environments", {"K": "v" * 4097}), "job.algorithm.environments"),
        (_with("spec", _DELETE), "job.spec"),
        (_with("spec.resource", _DELETE), "job.spec.resource"),
        (_with("spec.resource", {"node_count": 1}), "job.spec.resource"),
        (_with("spec.resource.flavor_id", ""), "job.spec.resource.flavor_id"),
        (_with("spec.resource.node_count", 0), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", -1), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", 1.5), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", True), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", "two"), "job.spec.resource.node_count"),
    ],
)
def test_each_create_rule_names_the_path_the_user_wrote(body: object, parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(body)
    assert error.value.parameter == parameter
    assert error.value.allowed


def test_the_parameter_prefix_is_the_callers() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("metadata.name", "bad name"), parameter="training_job")
    assert error.value.parameter == "training_job.metadata.name"
    assert "1 to 64" in error.value.allowed


def test_the_algorithm_error_lists_the_four_ways() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm", {"parameters": []}))
    assert error.value.allowed == (
        "exactly one of: id | subscription_id + item_version_id | code_dir + boot_file | engine.image_url + "
        "command (a custom image; code_dir optional, no boot_file)"
    )


# ---------------------------------------------------------------------------------------------
# Log pages and the cursor
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# The hook's lifecycle calls, with request() replaced by a scripted fake
# ---------------------------------------------------------------------------------------------


@dataclass
class ScriptedApi:
    """Answers each request with the next scripted outcome for its method and path kind
    (``create``, ``search``, ``terminate``, ``delete``, ``show``): a dict, or an exception."""

    script: dict[str, list[Any]]
    calls: list[tuple[str, str]] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        idempotent: bool,
        error_table: transport.ErrorTable = v1.ERROR_TABLE,
    ) -> dict[str, Any]:
        if path.endswith("/training-jobs") and method == "POST":
            kind = "create"
            assert not idempotent and error_table is v2.ERROR_TABLE
        elif path.endswith("/training-job-searches"):
            kind = "search"
            assert json_body["filters"] == [{"key": "name", "operator": "like", "value": ["train-1"]}]
        elif path.endswith("/actions"):
            kind = "terminate"
            assert json_body == {"action_type": "terminate"}
        else:
            kind = "delete" if method == "DELETE" else "show"
        self.calls.append((kind, method))
        outcome = self.script[kind].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return dict(outcome)


def _scripted_hook(monkeypatch: pytest.MonkeyPatch, **script: list[Any]) -> tuple[ModelArtsHook, ScriptedApi]:
    api = ScriptedApi({key: list(value) for key, value in script.items()})
    hook = _hook(monkeypatch, FakeProject(job_count=0))
    monkeypatch.setattr(hook, "request", api.request)
    hook.sleep = lambda seconds: None
    return hook, api


def _search_answer(*names: str) -> dict[str, Any]:
    items = [_job(name, n) for n, name in enumerate(names)]
    return {"total": 100, "count": len(items), "limit": 50, "offset": 0, "items": items}


CREATED = _job("train-1", 7)
LOST = ModelArtsTransportError("POST /v2/p/training-jobs failed after 1 attempt(s): ReadTimeout")


def _create(hook: ModelArtsHook) -> dict[str, Any]:
    return hook.create_training_job(_with("metadata.name", "train-1"))


def test_a_create_is_one_non_idempotent_post_of_the_normalised_body(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, create=[CREATED])
    assert _create(hook) == CREATED
    assert api.calls == [("create", "POST")]


def test_a_bad_body_is_named_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch)
    with pytest.raises(ModelArtsValidationError) as error:
        hook.create_training_job(_with("spec.resource.node_count", 0))
    assert error.value.parameter == "job.spec.resource.node_count"
    assert api.calls == []


def test_an_unclear_create_whose_job_exists_returns_it_without_resending(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(
        monkeypatch, create=[LOST], search=[_search_answer("train-1-old", "train-1", "xtrain-1")]
    )
    assert v2.job_row(_create(hook))["name"] == "train-1"
    assert api.calls == [("create", "POST"), ("search", "POST")]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_create_is_checked_then_resent_once_when_no_job_exists(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    hook, api = _scripted_hook(
        monkeypatch, create=[_error(status, "APIGW.0201"), CREATED], search=[_search_answer("train-10")]
    )
    assert _create(hook) == CREATED
    assert api.calls == [("create", "POST"), ("search", "POST"), ("create", "POST")]


@pytest.mark.parametrize(
    "error",
    [_error(400, "ModelArts.2788"), _error(501, "APIGW.0201"), _error(429, "ModelArts.2799"), _error(403, "X.1")],
)
def test_a_clear_refusal_of_a_create_is_raised_at_once(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    hook, api = _scripted_hook(monkeypatch, create=[error])
    with pytest.raises(type(error)):
        _create(hook)
    assert api.calls == [("create", "POST")]


def test_unclear_creates_are_resent_at_most_retry_limit_times(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, create=[LOST] * 5, search=[_search_answer()] * 5)
    with pytest.raises(ModelArtsTransportError) as error:
        _create(hook)
    assert "no job of that name exists" in str(error.value)
    assert [kind for kind, _ in api.calls] == ["create", "search"] * (hook.retry_limit + 1)


def test_a_failed_check_stops_the_create_instead_of_resending(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, create=[LOST], search=[ModelArtsTransportError("search down")])
    with pytest.raises(ModelArtsTransportError) as error:
        _create(hook)
    assert "Look for a job named 'train-1'" in str(error.value)
    assert api.calls == [("create", "POST"), ("search", "POST")]


def test_a_duplicate_name_is_a_permanent_typed_error_carrying_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, create=[_error(400, "ModelArts.2751")])
    with pytest.raises(ModelArtsDuplicateJobNameError) as error:
        _create(hook)
    assert (error.value.job_name, error.value.error_code, error.value.http_status) == ("train-1", "ModelArts.2751", 400)
    assert isinstance(error.value, ModelArtsPermanentError)
    assert "train-1" in str(error.value)
    assert api.calls == [("create", "POST")]


def test_a_duplicate_name_after_an_unclear_attempt_of_the_same_call_returns_that_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first attempt created the job but its answer was lost, and the search did not list
    # it yet: the resend gets 2751, and the job is ours.
    hook, api = _scripted_hook(
        monkeypatch,
        create=[LOST, _error(400, "ModelArts.2751")],
        search=[_search_answer(), _search_answer("train-1")],
    )
    assert v2.job_row(_create(hook))["name"] == "train-1"
    assert [kind for kind, _ in api.calls] == ["create", "search", "create", "search"]


def test_find_by_name_keeps_exact_names_only(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, search=[_search_answer("train-1", "train-10", "my-train-1", "train-1")])
    assert [v2.job_row(job)["name"] for job in hook.find_training_jobs_by_name("train-1")] == ["train-1", "train-1"]
    with pytest.raises(ModelArtsValidationError) as error:
        hook.find_training_jobs_by_name("train 1")
    assert error.value.parameter == "name"
    assert api.calls == [("search", "POST")]


def test_terminating_an_ended_job_is_a_permanent_job_ended_error(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, terminate=[CREATED, _error(409, "ModelArts.2796")])
    assert hook.terminate_training_job(JOB_ID) == CREATED
    with pytest.raises(ModelArtsJobEndedError) as error:
        hook.terminate_training_job(JOB_ID.upper())
    assert (error.value.training_job_id, error.value.error_code, error.value.http_status) == (
        JOB_ID,
        "ModelArts.2796",
        409,
    )
    assert isinstance(error.value, ModelArtsPermanentError)
    assert api.calls == [("terminate", "POST")] * 2


def test_other_terminate_errors_keep_their_types(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, _ = _scripted_hook(monkeypatch, terminate=[_error(400, "ModelArts.2775"), _error(400, "ModelArts.2812")])
    with pytest.raises(ModelArtsNotFoundError):
        hook.terminate_training_job(JOB_ID)
    with pytest.raises(ModelArtsRequestRejectedError) as error:
        hook.terminate_training_job(JOB_ID)
    assert "terminate" in (error.value.hint or "")


def test_an_unclear_delete_of_a_job_that_is_gone_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, delete=[LOST], show=[_error(400, "ModelArts.2775")])
    assert hook.delete_training_job(JOB_ID) is None
    assert api.calls == [("delete", "DELETE"), ("show", "GET")]


def test_an_unclear_delete_of_a_job_still_there_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, delete=[_error(502, "APIGW.0201"), {}], show=[CREATED])
    assert hook.delete_training_job(JOB_ID) is None
    assert api.calls == [("delete", "DELETE"), ("show", "GET"), ("delete", "DELETE")]


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


def test_the_lifecycle_codes_have_hints() -> None:
    for code in ("ModelArts.2751", "ModelArts.2796", "ModelArts.2812", "ModelArts.2776", "ModelArts.2818"):
        assert code in v2.ERROR_TABLE.hints
    assert "metadata.name" in str(_error(400, "ModelArts.2751"))
    assert {"ModelArts.2776", "ModelArts.2818"} == v2.LOG_NOT_READY_CODES


def _response(status: int, content: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = content
    response.url = "https://modelarts.example/v2/p/training-jobs/x"
    response.request = requests.Request("GET", response.url).prepare()
    return response


@pytest.mark.parametrize(("status", "content"), [(204, b""), (202, b""), (202, b"  "), (204, b'{"a": 1}')])
def test_an_empty_202_or_any_204_is_an_empty_answer_not_an_unreadable_body(status: int, content: bytes) -> None:
    hook = ModelArtsHook("v2_unit")
    answer = hook._decode(_response(status, content), v2.ERROR_TABLE)
    assert answer.status == status and answer.body == ({"a": 1} if content.startswith(b"{") else {})


def test_a_json_array_is_read_only_where_the_call_documents_one() -> None:
    hook = ModelArtsHook("v2_unit")
    tasks = b'[{"task": "worker-0", "ip": "10.0.0.1", "host_ip": "10.0.1.1", "schedule_count": 0}]'
    assert hook._decode(_response(200, tasks), v2.ERROR_TABLE, list_body=True).body == {
        "__list__": [{"task": "worker-0", "ip": "10.0.0.1", "host_ip": "10.0.1.1", "schedule_count": 0}]
    }
    with pytest.raises(retry_policy.UnreadableBodyError):
        hook._decode(_response(200, tasks), v2.ERROR_TABLE)
    with pytest.raises(retry_policy.UnreadableBodyError):
        hook._decode(_response(200, b""), v2.ERROR_TABLE)


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


@pytest.mark.parametrize("name", ["resnet\n", "resnet ", "", "x" * 65])
def test_a_job_name_with_a_trailing_newline_or_out_of_bounds_is_refused(name: str) -> None:
    with pytest.raises(ModelArtsValidationError, match="name"):
        v2.validate_job_name(name)


# ---------------------------------------------------------------------------------------------
# Issue 17: the create body as the reference documents it, any task name, lenient filters
# ---------------------------------------------------------------------------------------------

# CreateTrainingJob, "Example Requests" (opentelekomcloud-docs/modelarts, api-ref/source/
# training_management/creating_a_training_job.rst), verbatim: an algorithm id with free specs...
REFERENCE_ALGORITHM_ID_EXAMPLE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "TestModelArtsJob", "description": "This is a ModelArts job"},
    "algorithm": {
        "id": "3f5d6706-7b67-408d-8ba0-ec08048c45ed",
        "parameters": [
            {"name": "input_dir", "value": "obs://test/moxingtest-dir/"},
            {"name": "input_file", "value": "obs://test/moxingtest/"},
            {"name": "large_file_method", "value": "1"},
        ],
        "policies": {"auto_search": None},
        "environments": {},
    },
    "spec": {
        "resource": {"flavor_id": "modelarts.p3.large.public.free", "node_count": 1},
        "log_export_path": {"obs_url": ""},
    },
}
# ...and a custom image on a dedicated pool with an NFS volume: no id, no code_dir, no boot_file.
REFERENCE_CUSTOM_IMAGE_EXAMPLE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "TestModelArtsJob2", "description": "This is a ModelArts job2"},
    "algorithm": {
        "engine": {"image_url": "xxxxxxxx/fastseq:1.2"},
        "command": "cd /home/ma-user/ddp_demo && sh run_ddp.sh",
        "parameters": [],
        "policies": {"auto_search": None},
        "environments": {"NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "0"},
    },
    "spec": {
        "resource": {"flavor_id": "modelarts.pool.visual.xlarge", "node_count": 1, "pool_id": "poolfaf38d76"},
        "log_export_path": {"obs_url": "/training-test/limou/ddp-demo-log/"},
        "volumes": [
            {"nfs": {"nfs_server_path": "192.168.0.82:/", "local_path": "/home/ma-user/nfs/", "read_only": False}}
        ],
    },
}
# A preset framework with a custom image (JobEngine: "If you use a preset framework and custom image
# to create a training job, you must set both this parameter and image_url").
REFERENCE_PRESET_FRAMEWORK_EXAMPLE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "preset-framework-custom-image"},
    "algorithm": {
        "code_dir": "/bucket/code/",
        "boot_file": "/bucket/code/train.py",
        "engine": {
            "engine_name": "PyTorch",
            "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
            "image_url": "swr.cn-north-4.myhuaweicloud.com/team/pytorch-extra:1.0",
            "install_sys_packages": True,
        },
        "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": "/bucket/data/"}}}],
        "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "/bucket/output/"}}}],
    },
    "spec": {"resource": {"flavor_id": "modelarts.p3.large.public", "node_count": 1}},
}


@pytest.mark.parametrize(
    "example",
    [REFERENCE_ALGORITHM_ID_EXAMPLE, REFERENCE_CUSTOM_IMAGE_EXAMPLE, REFERENCE_PRESET_FRAMEWORK_EXAMPLE],
    ids=["algorithm-id", "custom-image", "preset-framework-custom-image"],
)
def test_the_reference_create_examples_pass_verbatim(example: dict[str, Any]) -> None:
    assert v2.validate_job_create(example) == example


@pytest.mark.parametrize(
    "algorithm",
    [
        {"engine": {"image_url": "swr/x:1"}, "command": "python /code/t.py"},
        {"engine": {"image_url": "swr/x:1"}, "command": "sh run.sh", "code_dir": "obs://b/c/"},
        {"engine": {"engine_name": "PyTorch", "engine_version": "1.8", "image_url": "swr/x:1"}, "command": "sh r.sh"},
        {"code_dir": "obs://b/c/", "boot_file": "obs://b/c/t.py", "engine": {"image_url": "swr/x:1"}, "command": "c"},
        {
            "code_dir": "obs://b/c/",
            "boot_file": "obs://b/c/t.py",
            "engine": {"engine_name": "P", "engine_version": "1"},
        },
        {"id": "algo-1", "engine": {"engine_name": "P", "engine_version": "1", "image_url": "swr/x:1"}},
    ],
    ids=["image-command", "image-command-code-dir", "preset-image-command", "code-image", "code-preset", "id-engine"],
)
def test_a_custom_image_and_a_preset_framework_with_an_image_are_accepted(algorithm: dict[str, Any]) -> None:
    assert v2.validate_job_create(_with("algorithm", algorithm))["algorithm"] == algorithm


@pytest.mark.parametrize(
    ("algorithm", "parameter"),
    [
        ({"engine": {"image_url": "swr/x:1"}}, "job.algorithm.command"),
        ({"engine": {"image_url": "swr/x:1"}, "code_dir": "obs://b/c/"}, "job.algorithm.command"),
        ({"engine": {"image_url": "swr/x:1"}, "command": ""}, "job.algorithm.command"),
        (
            {"engine": {"image_url": "swr/x:1"}, "code_dir": "obs://b/c/", "boot_file": "obs://b/c/t.py"},
            "job.algorithm.command",
        ),
        ({"environments": {"LR\n": "0.1"}, "id": "a"}, "job.algorithm.environments.LR\n"),
        ({"command": "sh run.sh", "code_dir": "obs://b/c/"}, "job.algorithm.engine.image_url"),
        (
            {"command": "sh run.sh", "engine": {"engine_name": "P", "engine_version": "1"}},
            "job.algorithm.engine.image_url",
        ),
        ({"engine": {"image_url": "swr/x:1"}, "command": "sh r.sh", "id": "a", "code_dir": "c"}, "job.algorithm"),
        ({"id": "a", "subscription_id": "s", "item_version_id": "v", "command": "sh r.sh"}, "job.algorithm"),
        ({"code_dir": "obs://b/c/", "engine": {"engine_name": "P", "engine_version": "1"}}, "job.algorithm.boot_file"),
        ({"id": "a", "engine": {"engine_id": "e", "engine_name": "P", "engine_version": "1"}}, "job.algorithm.engine"),
        ({"id": "a", "engine": {"engine_id": "e", "image_url": "swr/x:1"}}, "job.algorithm.engine"),
        ({"id": "a", "engine": {"engine_name": "P", "image_url": "swr/x:1"}}, "job.algorithm.engine.engine_version"),
        ({"id": "a", "engine": {"engine_version": "1"}}, "job.algorithm.engine.engine_name"),
    ],
)
def test_each_algorithm_or_engine_refusal_names_the_path_and_the_allowed_forms(
    algorithm: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm", algorithm))
    assert error.value.parameter == parameter
    assert error.value.allowed


def test_an_image_without_a_command_is_refused_before_any_request_naming_2806(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook, api = _scripted_hook(monkeypatch)
    body = json.loads(json.dumps(REFERENCE_CUSTOM_IMAGE_EXAMPLE))
    del body["algorithm"]["command"]
    with pytest.raises(ModelArtsValidationError) as error:
        hook.create_training_job(body)
    assert error.value.parameter == "job.algorithm.command"
    assert "engine.image_url and command" in error.value.allowed
    assert "ModelArts.2806" in error.value.allowed
    assert api.calls == []


def test_the_engine_refusal_lists_every_allowed_form() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm.engine", {"engine_id": "e", "engine_name": "P", "engine_version": "1"}))
    assert "engine_name + engine_version + image_url" in error.value.allowed
    assert "engine_id alone" in error.value.allowed


def test_auto_search_policies_pass_through_untouched() -> None:
    policies = {
        "auto_search": {
            "skip_search_params": "",
            "reward_attrs": [{"name": "acc", "mode": "max", "regex": "acc=([0-9.]+)"}],
            "search_params": [
                {"name": "lr", "param_type": "continuous", "lower_bound": "0.0001", "upper_bound": "0.1"},
                {"name": "bs", "param_type": "discrete", "discrete_values": ["16", "32"]},
            ],
            "algo_configs": [{"name": "bayes_opt_search", "params": [{"key": "num_samples", "value": "10"}]}],
        }
    }
    body = _with("algorithm.policies", policies)
    assert v2.validate_job_create(body)["algorithm"]["policies"] == policies


@pytest.mark.parametrize(
    ("path", "value", "parameter"),
    [
        (
            "algorithm.outputs.0.remote",
            {"dataset": {"id": "d", "version_id": "v"}},
            "job.algorithm.outputs[0].remote.dataset",
        ),
        (
            "algorithm.outputs.0.remote",
            {"obs": {"obs_url": "obs://b/"}, "dataset": {"id": "d", "version_id": "v"}},
            "job.algorithm.outputs[0].remote.dataset",
        ),
        ("algorithm.outputs.0.remote", {}, "job.algorithm.outputs[0].remote"),
        ("algorithm.outputs.0.remote.obs", {}, "job.algorithm.outputs[0].remote.obs.obs_url"),
        ("algorithm.inputs.1.remote.dataset", {"id": "ds-1"}, "job.algorithm.inputs[1].remote.dataset.version_id"),
        (
            "algorithm.inputs.1.remote.dataset",
            {"id": "ds-1", "version_id": ""},
            "job.algorithm.inputs[1].remote.dataset.version_id",
        ),
    ],
)
def test_outputs_go_to_obs_only_and_a_dataset_input_needs_its_version(path: str, value: object, parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with(path, value))
    assert error.value.parameter == parameter
    assert "obs" in error.value.allowed or "version" in error.value.allowed


def test_an_output_refusal_says_outputs_go_to_obs_only() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm.outputs.0.remote", {"dataset": {"id": "d", "version_id": "v"}}))
    assert "obs_url" in error.value.allowed


@pytest.mark.parametrize("name", ["1BAD", "BAD-NAME", "A B", "A$B", "É", ""])
def test_an_environment_name_must_be_letters_digits_and_underscores(name: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm.environments", {"OK": "1", name: "v"}))
    assert error.value.parameter == (f"job.algorithm.environments.{name}" if name else "job.algorithm.environments")
    assert "letters, digits and underscores" in error.value.allowed


def test_a_dollar_in_an_environment_value_warns_and_passes(caplog: pytest.LogCaptureFixture) -> None:
    environments = {"_PATH2": "$HOME/bin", "a1": "x", "NO_DOLLAR": "plain"}
    with caplog.at_level("WARNING", logger="airflow_provider_modelarts.cloud.v2"):
        body = v2.validate_job_create(_with("algorithm.environments", environments))
    assert body["algorithm"]["environments"] == environments
    warnings = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_modelarts.cloud.v2.create"]
    assert len(warnings) == 1
    assert "job.algorithm.environments._PATH2" in warnings[0] and "$" in warnings[0]


def test_a_federated_pool_job_names_its_pool_group() -> None:
    body = _with("kind", "federated_pool_job")
    body["spec"]["resource"] = {"pool_group_id": "group-1", "node_count": 2}
    assert v2.validate_job_create(body)["spec"]["resource"] == {"pool_group_id": "group-1", "node_count": 2}
    body["spec"]["resource"] = {"pool_group_id": "group-1", "flavor_id": "modelarts.pool.visual.xlarge"}
    assert v2.validate_job_create(body)["spec"]["resource"]["pool_group_id"] == "group-1"


@pytest.mark.parametrize(
    ("kind", "resource", "parameter"),
    [
        ("federated_pool_job", {"flavor_id": "f"}, "job.spec.resource.pool_group_id"),
        ("federated_pool_job", {"pool_group_id": ""}, "job.spec.resource.pool_group_id"),
        ("job", {"pool_group_id": "group-1"}, "job.spec.resource"),
    ],
)
def test_pool_group_id_is_the_federated_pool_jobs_resource(kind: str, resource: dict[str, Any], parameter: str) -> None:
    body = _with("kind", kind)
    body["spec"]["resource"] = resource
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(body)
    assert error.value.parameter == parameter
    assert "pool_group_id" in error.value.allowed


def test_an_unknown_filter_key_warns_and_is_sent(
    hook: ModelArtsHook, project: FakeProject, caplog: pytest.LogCaptureFixture
) -> None:
    condition = {"key": "user_name", "operator": "in", "value": ["alice"]}
    with caplog.at_level("WARNING", logger="airflow_provider_modelarts.cloud.v2"):
        hook.search_training_jobs(filters=[condition])
    assert project.calls[0].json_body["filters"] == [condition]
    warnings = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_modelarts.cloud.v2.search"]
    assert len(warnings) == 1 and "'user_name'" in warnings[0] and "ModelArts.2807" in warnings[0]


@pytest.mark.parametrize(
    "condition",
    [
        {"key": "kind", "operator": "in", "value": []},
        {"key": "create_time", "operator": "between", "value": ["", ""]},
        {"key": "create_time", "operator": "between", "value": []},
        {"key": "phase", "operator": "in", "value": []},
    ],
)
def test_an_empty_filter_value_is_sent_as_the_documented_example_does(condition: dict[str, Any]) -> None:
    assert v2.SearchFilter.validate(condition).body() == condition


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


def test_task_names_are_url_quoted_in_every_log_path() -> None:
    base = f"/v2/{PROJECT}/training-jobs/{JOB_ID}"
    assert v2.training_job_aom_logs_path(PROJECT, JOB_ID, "server-0") == f"{base}/logs/server-0"
    assert v2.training_job_aom_logs_path(PROJECT, JOB_ID, "a/b c") == f"{base}/logs/a%2Fb%20c"
    assert v2.training_job_log_preview_path(PROJECT, JOB_ID, "a/b c") == f"{base}/tasks/a%2Fb%20c/logs/preview"


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


def test_a_preset_framework_with_a_custom_image_may_run_its_boot_file_without_a_command() -> None:
    """[UNCERTAIN] 2806 is for custom-image jobs; a preset framework (engine_name + engine_version)
    with a custom image starts its boot file through the framework."""
    algorithm = {
        "code_dir": "obs://b/c/",
        "boot_file": "obs://b/c/train.py",
        "engine": {
            "engine_name": "PyTorch",
            "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7",
            "image_url": "swr/x:1",
        },
    }
    v2.validate_job_create(_with("algorithm", algorithm))
