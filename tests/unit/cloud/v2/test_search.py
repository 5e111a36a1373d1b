"""cloud/v2/search.py and the hook's search calls, with ``hook.request`` replaced by a recording
fake: every bad argument named before any request, the search body, filters, and the paging
arithmetic of the iterator."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.v2 import JobPhase
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.unit.hooks.fakes import JOB_ID, PROJECT, WORKSPACE, Call, FakeProject, _hook, _scripted_hook, _search_answer

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


def test_find_by_name_keeps_exact_names_only(monkeypatch: pytest.MonkeyPatch) -> None:
    hook, api = _scripted_hook(monkeypatch, search=[_search_answer("train-1", "train-10", "my-train-1", "train-1")])
    assert [v2.job_row(job)["name"] for job in hook.find_training_jobs_by_name("train-1")] == ["train-1", "train-1"]
    with pytest.raises(ModelArtsValidationError) as error:
        hook.find_training_jobs_by_name("train 1")
    assert error.value.parameter == "name"
    assert api.calls == [("search", "POST")]


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
