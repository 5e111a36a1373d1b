"""Validation, status classification and error parsing: the API knowledge in api.py."""

from __future__ import annotations

import json

import pendulum
import pytest

from airflow_provider_modelarts import api
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsRequestRejectedError,
    ModelArtsServerError,
    ModelArtsSignatureExpiredError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.waiting.conditions import WaitCondition
from tests.airflow_names import AirflowFailException


def test_job_status_names_and_classes() -> None:
    assert len({member.value for member in api.JobStatus}) == 23
    assert api.JobStatus(10).name == "JOBSTAT_COMPLETED"
    assert api.JobStatus.COMPLETED is api.JobStatus.JOBSTAT_COMPLETED
    assert api.JobStatus(22).name == "MOUNT_FAILED"
    assert [s for s in api.JobStatus if s.is_success] == [api.JobStatus.COMPLETED]
    assert {int(s) for s in api.JobStatus if s.is_failure} == {3, 5, 6, 11, 12, 13, 14, 16, 17, 21, 22}
    # 20 (review finished) ends the version but is neither success nor failure; 9 (killing) is
    # still in progress.
    review_finished = api.JobStatus(20)
    assert review_finished.is_terminal and not review_finished.is_success and not review_finished.is_failure
    assert api.JobStatus(9).is_in_progress
    assert api.status_name(99) == "UNDOCUMENTED_99" and not api.is_terminal_code(99)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 1001}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"per_page": True}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": 65536}, "page"),
        ({"page": -1}, "page"),
        ({"status": 23}, "status"),
        ({"status": -1}, "status"),
        ({"status": "FINISHED"}, "status"),
        ({"order": "up"}, "order"),
        ({"sort_by": "name"}, "sort_by"),
        ({"search_content": "x" * 65}, "search_content"),
        ({"workspace_id": "a/b"}, "workspace_id"),
    ],
)
def test_list_filters_refuse_bad_values_naming_the_parameter(kwargs: dict[str, object], parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        api.JobListFilters.validate(**kwargs)  # type: ignore[arg-type]
    assert error.value.parameter == parameter
    assert parameter in str(error.value) and error.value.allowed in str(error.value)


def test_list_filters_coerce_templated_strings_and_build_the_query() -> None:
    filters = api.JobListFilters.validate(
        status="RUNNING", per_page="8", page=" 2 ", sort_by="create_time", order="DESC", search_content="a b"
    )
    assert filters.per_page == 8 and filters.page == 2 and filters.status == api.JobStatus.RUNNING
    assert filters.query("sortBy") == [
        ("per_page", "8"),
        ("page", "2"),
        ("order", "desc"),
        ("status", "8"),
        ("sortBy", "create_time"),
        ("search_content", "a b"),
    ]
    assert ("sort_by", "create_time") in filters.query(api.sort_param_for("password"))
    assert ("order", "asc") in api.JobListFilters.validate().query("sortBy")


def test_versions_query_without_paging_asks_for_all() -> None:
    assert api.list_versions_query() == [("page", "0")]
    assert api.list_versions_query(per_page=5) == [("per_page", "5"), ("page", "1")]
    with pytest.raises(ModelArtsValidationError, match="page"):
        api.list_versions_query(page=0)


@pytest.mark.parametrize("bad", [0, -3, "abc", "1.5", 2**63, None, True, 1.0])
def test_ids_must_be_positive_integers(bad: object) -> None:
    with pytest.raises(ModelArtsValidationError, match="job_id"):
        api.validate_id(bad, "job_id")


def test_wait_condition_refuses_empty_and_overlapping_sets() -> None:
    with pytest.raises(ModelArtsValidationError, match="target_status"):
        WaitCondition.validate(1, None, [], None)
    # Targets that are failures by default leave the defaults (they are what the user asked for);
    # only failure_statuses the user wrote may conflict with target_status.
    assert 11 not in WaitCondition.validate(1, None, [10, 11], None).failure_statuses
    with pytest.raises(ModelArtsValidationError, match="failure_statuses.*target_status.*JOBSTAT_FAILED"):
        WaitCondition.validate(1, None, [10, 11], [11, 12])
    with pytest.raises(ModelArtsValidationError, match="target_status"):
        WaitCondition.validate(1, None, [10, 42], None)


def test_wait_condition_verdicts() -> None:
    condition = WaitCondition.validate(7, 70, api.JobStatus.COMPLETED, None)
    assert condition.judge(10)[0] == "success"
    assert condition.judge(11) == (
        "failed",
        "training job 7 (version 70) has status 11 (JOBSTAT_FAILED): a failure status",
    )
    assert condition.judge(8)[0] == "waiting"
    assert condition.judge(20)[0] == "failed"
    assert condition.judge(99)[0] == "waiting"
    # Terminal but neither target nor failure: the job can no longer get there.
    narrow = WaitCondition.validate(7, 70, [8], [11])
    assert narrow.judge(10)[0] == "failed" and "not a target status" in narrow.judge(10)[1]


def _error(status: int, body: object, headers: dict[str, str] | None = None, **kwargs: object) -> ModelArtsApiError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.error_from_response(status, raw, headers or {}, **kwargs)  # type: ignore[arg-type]


def test_modelarts_body_with_error_message_or_error_msg() -> None:
    for key in ("error_message", "error_msg"):
        error = _error(400, {"is_success": False, "error_code": "ModelArts.0101", key: "bad per_page"})
        # A request the service refuses as such gets the same answer when resent: no retry helps.
        assert type(error) is ModelArtsRequestRejectedError
        assert isinstance(error, AirflowFailException)
        assert (error.http_status, error.error_code, error.error_message) == (400, "ModelArts.0101", "bad per_page")


def test_gateway_body_and_request_id() -> None:
    error = _error(401, {"error_msg": "verify aksk signature fail", "error_code": "APIGW.0301", "request_id": "r1"})
    assert isinstance(error, ModelArtsAuthError) and error.request_id == "r1"
    assert "5 minutes" in str(error)
    header_wins = _error(401, {"error_code": "APIGW.0301", "error_msg": "x"}, {"X-Request-Id": "h1"})
    assert header_wins.request_id == "h1"


def test_signature_expired_points_at_the_clock() -> None:
    error = _error(401, {"error_msg": "calc ak sk signature fail:signature expired", "error_code": "APIGW.0301"})
    assert isinstance(error, ModelArtsSignatureExpiredError) and "clock" in str(error)


def test_token_expired_codes() -> None:
    assert isinstance(
        _error(401, {"error_code": "APIGW.0307", "error_msg": "The token must be updated."}), ModelArtsTokenExpiredError
    )
    assert isinstance(
        _error(401, {"error_code": "ModelArts.0202", "error_message": "expired"}), ModelArtsTokenExpiredError
    )


def test_iam_legacy_and_new_bodies() -> None:
    legacy = _error(401, {"error": {"code": 401, "message": "The username or password is wrong.", "title": "x"}})
    assert isinstance(legacy, ModelArtsAuthError) and "username or password is wrong" in str(legacy)
    new = _error(400, {"error_msg": "bad body", "error_code": "IAM.0011"})
    assert new.error_code == "IAM.0011"


def test_throttling_with_retry_after() -> None:
    error = _error(429, {"error_code": "APIGW.0308", "error_msg": "throttled"}, {"Retry-After": "7"})
    assert isinstance(error, ModelArtsThrottledError) and error.retry_after == 7.0
    assert _error(429, {"error_code": "ModelArts.2799", "error_message": "x"}).retry_after is None  # type: ignore[attr-defined]


def test_not_found_and_server_errors() -> None:
    assert isinstance(_error(404, {"error_code": "ModelArts.2775", "error_message": "gone"}), ModelArtsNotFoundError)
    assert isinstance(_error(400, {"error_code": "ModelArts.2775", "error_message": "gone"}), ModelArtsNotFoundError)
    wrong_api = _error(404, {"error_code": "APIGW.0101", "error_msg": "API not found"})
    assert not isinstance(wrong_api, ModelArtsNotFoundError) and "endpoint" in str(wrong_api)
    assert isinstance(_error(503, b"<html>busy</html>"), ModelArtsServerError)


def test_echoed_canonical_request_is_kept_apart_and_redacted() -> None:
    echo = "GET|/v1/p/training-jobs/||host:h|x-security-token:TOPSECRET-TOKEN||host;x-security-token|e3b0"
    body = {"error_code": "APIGW.0301", "error_msg": f"verify aksk signature fail, canonicalRequest:{echo}"}
    error = _error(401, body, secrets=["TOPSECRET-TOKEN"])
    assert error.error_message == "verify aksk signature fail" and "TOPSECRET" not in str(error)
    assert error.server_canonical_request is not None
    assert error.server_canonical_request.splitlines()[0] == "GET"
    assert "x-security-token:***" in error.server_canonical_request


def test_secrets_in_any_message_are_redacted() -> None:
    error = _error(
        400, {"error_code": "ModelArts.0101", "error_message": "bad value TOPSECRET-VALUE"}, secrets=["TOPSECRET-VALUE"]
    )
    assert "TOPSECRET-VALUE" not in str(error) and "***" in str(error)


def test_iam_token_times() -> None:
    now = pendulum.datetime(2026, 1, 1, tz="UTC")
    issued, expires = api.parse_iam_token_times(
        {"token": {"issued_at": "2026-01-01T00:00:00.000000Z", "expires_at": "2026-01-02T00:00:00.000000Z"}}, now
    )
    assert (expires - issued).total_hours() == 24
    assert api.parse_iam_token_times({}, now) == (now, now.add(hours=1))


def test_retry_after_seconds_fraction_and_http_date() -> None:
    assert api.parse_retry_after("7") == 7.0 and api.parse_retry_after("1.5") == 1.5
    future = pendulum.now("UTC").add(seconds=30).to_rfc1123_string()
    assert 25 <= (api.parse_retry_after(future) or 0) <= 31
    assert api.parse_retry_after("soon") is None and api.parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (409, ModelArtsApiError),
        (408, ModelArtsApiError),
        (400, ModelArtsRequestRejectedError),
        (404, ModelArtsRequestRejectedError),
    ],
)
def test_only_4xx_that_may_change_on_their_own_keep_task_retries(status: int, expected: type) -> None:
    # 404 here is the gateway's "no such API" (wrong endpoint or region): resending cannot help.
    code = "APIGW.0101" if status == 404 else "ModelArts.0000"
    error = _error(status, {"error_code": code, "error_msg": "refused"})
    assert type(error) is expected
    assert isinstance(error, AirflowFailException) == (expected is ModelArtsRequestRejectedError)
