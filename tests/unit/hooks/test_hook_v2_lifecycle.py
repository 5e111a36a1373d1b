"""The hook's v2 lifecycle calls (create, terminate, delete) with ``request()`` replaced by a
scripted fake: recovery after an unclear answer, typed errors, and how answers are decoded.

They test ModelArtsHook rather than cloud/v2; they belong under tests/unit/hooks/ once that
room exists."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_modelarts.cloud import retry as retry_policy
from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import (
    ModelArtsDuplicateJobNameError,
    ModelArtsJobEndedError,
    ModelArtsNotFoundError,
    ModelArtsPermanentError,
    ModelArtsRequestRejectedError,
    ModelArtsTransportError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.unit.hooks.fakes import CREATED, JOB_ID, LOST, _error, _scripted_hook, _search_answer, _with


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
