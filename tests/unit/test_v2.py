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
from airflow.sdk import Connection

from airflow_provider_modelarts import retry_policy, transport, v1, v2
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsNotFoundError,
    ModelArtsRequestRejectedError,
    ModelArtsServerError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.job_wait import V2_PHASES, PhaseWaitCondition
from airflow_provider_modelarts.v2 import JobPhase

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
    ({"filters": [{"key": "status", "operator": "in", "value": ["8"]}]}, "filters[].key"),
    ({"filters": [{"key": "name", "operator": "eq", "value": ["a"]}]}, "filters[].operator"),
    ({"filters": [{"key": "name", "operator": "like", "value": "a"}]}, "filters[].value"),
    ({"filters": [{"key": "name", "operator": "like", "value": []}]}, "filters[].value"),
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
        f"{subject} is Failed: a failure status (secondary phase Failed; task worker-0 exit code 0; "
        "task worker-1 exit code 137 (OOMKilled))",
    )
    assert wait.judge_job({"status": {"phase": "Completed"}}) == ("success", f"{subject} is Completed: a target status")
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
    assert "Terminated: terminal, and not a target status (Completed)" in message


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
