"""cloud/transport.py: error bodies (ModelArts, gateway and IAM forms) into the typed family,
redaction, Retry-After and the IAM token's times; parsed through v1's error table."""

from __future__ import annotations

import json

import pendulum
import pytest

from airflow_provider_modelarts.cloud import transport, v1
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsRequestRejectedError,
    ModelArtsServerError,
    ModelArtsSignatureExpiredError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
)
from tests.airflow_names import AirflowFailException


def _error(status: int, body: object, headers: dict[str, str] | None = None, **kwargs: object) -> ModelArtsApiError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return v1.error_from_response(status, raw, headers or {}, **kwargs)  # type: ignore[arg-type]


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
    issued, expires = transport.parse_iam_token_times(
        {"token": {"issued_at": "2026-01-01T00:00:00.000000Z", "expires_at": "2026-01-02T00:00:00.000000Z"}}, now
    )
    assert (expires - issued).total_hours() == 24
    assert transport.parse_iam_token_times({}, now) == (now, now.add(hours=1))


def test_retry_after_seconds_fraction_and_http_date() -> None:
    assert transport.parse_retry_after("7") == 7.0 and transport.parse_retry_after("1.5") == 1.5
    future = pendulum.now("UTC").add(seconds=30).to_rfc1123_string()
    assert 25 <= (transport.parse_retry_after(future) or 0) <= 31
    assert transport.parse_retry_after("soon") is None and transport.parse_retry_after(None) is None


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
