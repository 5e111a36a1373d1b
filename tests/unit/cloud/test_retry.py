"""Which failures a retry may fix, Retry-After parsing, and which errors end a task without retries."""

from __future__ import annotations

import json

import pendulum
import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from airflow_provider_modelarts.cloud import transport, v1
from airflow_provider_modelarts.cloud.retry import (
    RETRIES_SPENT_ATTRIBUTE,
    UnreadableBodyError,
    may_retry,
    proves_not_sent,
)
from airflow_provider_modelarts.cloud.validation import TASK_RETRY_PARAMETERS, validate_retry_settings
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsConnectionConfigError,
    ModelArtsError,
    ModelArtsNotFoundError,
    ModelArtsPermanentError,
    ModelArtsRequestRejectedError,
    ModelArtsServerError,
    ModelArtsSignatureExpiredError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsTransportError,
    ModelArtsValidationError,
    join_sentences,
)
from tests.airflow_names import AirflowFailException

# ------------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0.5", "1e3", "soon", "", " "])
def test_retry_after_that_is_not_a_delay_or_a_date_is_treated_as_absent(value: str) -> None:
    assert transport.parse_retry_after(value) is None


def test_retry_after_delay_seconds_and_http_dates() -> None:
    assert transport.parse_retry_after("7") == 7.0 and transport.parse_retry_after(" 1.5 ") == 1.5
    now = pendulum.datetime(2026, 1, 1, 12, tz="UTC")
    assert transport.parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    # A date in the past means "now".
    assert transport.parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0


def _error(status: int, headers: dict[str, str] | None = None, code: str = "APIGW.0201") -> ModelArtsApiError:
    body = json.dumps({"error_code": code, "error_msg": "x"}).encode()
    return v1.error_from_response(status, body, headers or {})


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retry_after_is_kept_on_every_retryable_status(status: int) -> None:
    assert _error(status, {"Retry-After": "12"}).retry_after == 12.0


def test_retry_after_on_a_status_that_is_not_retried_is_ignored() -> None:
    assert _error(501, {"Retry-After": "12"}).retry_after is None


def test_503_with_nan_retry_after_has_none() -> None:
    assert _error(503, {"Retry-After": "nan"}).retry_after is None


# ------------------------------------------------------------------------------- the policy


def _refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def _dropped() -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))


@pytest.mark.parametrize(
    ("error", "idempotent_retried", "not_idempotent_retried"),
    [
        (_refused(), True, True),
        (requests.exceptions.ConnectTimeout(), True, True),
        (_dropped(), True, False),
        (requests.exceptions.ReadTimeout(), True, False),
        (requests.exceptions.ChunkedEncodingError(), True, False),
        (requests.exceptions.SSLError(), True, False),
        (UnreadableBodyError("proxy page"), True, False),
        (_error(429), True, True),
        (_error(500, code="ModelArts.0010"), True, False),
        (_error(502), True, False),
        (_error(503), True, False),
        (_error(504), True, False),
        (_error(501), False, False),
        (_error(505), False, False),
        (_error(400, code="ModelArts.0101"), False, False),
        (_error(401, code="APIGW.0301"), False, False),
        (_error(403, code="APIGW.0302"), False, False),
        (_error(400, code="ModelArts.2775"), False, False),
        (ModelArtsTransportError("no token header"), False, False),
        (ValueError("a bug"), False, False),
    ],
)
def test_retry_policy(error: BaseException, idempotent_retried: bool, not_idempotent_retried: bool) -> None:
    assert may_retry(error, idempotent=True, retry_max_delay=60) is idempotent_retried
    assert may_retry(error, idempotent=False, retry_max_delay=60) is not_idempotent_retried


def test_only_failures_before_sending_prove_a_request_was_not_sent() -> None:
    assert proves_not_sent(_refused()) and proves_not_sent(requests.exceptions.ConnectTimeout())
    assert not proves_not_sent(_dropped()) and not proves_not_sent(requests.exceptions.ReadTimeout())


def test_a_retry_after_beyond_the_longest_wait_ends_the_call() -> None:
    for status in (429, 503):
        assert may_retry(_error(status, {"Retry-After": "30"}), idempotent=True, retry_max_delay=60)
        assert not may_retry(_error(status, {"Retry-After": "61"}), idempotent=True, retry_max_delay=60)


def test_an_error_whose_retries_are_spent_is_not_retried_again() -> None:
    error = _error(503)
    setattr(error, RETRIES_SPENT_ATTRIBUTE, True)
    assert not may_retry(error, idempotent=True, retry_max_delay=60)


# ------------------------------------------------------------------------------- permanent errors


@pytest.mark.parametrize(
    "error",
    [
        _error(401, code="APIGW.0301"),
        _error(403, code="APIGW.0302"),
        _error(401, code="APIGW.0307"),
        v1.error_from_response(401, b'{"error_code": "APIGW.0301", "error_msg": "signature expired"}', {}),
        _error(400, code="ModelArts.2775"),
        ModelArtsValidationError("per_page", "an integer from 1 to 1000", 0),
        ModelArtsConnectionConfigError("modelarts_default", "region", "is required"),
    ],
)
def test_errors_no_retry_can_fix_end_the_task_without_retries(error: ModelArtsError) -> None:
    assert isinstance(error, AirflowFailException) and isinstance(error, ModelArtsPermanentError)


def test_permanent_errors_keep_their_classes_and_other_bases() -> None:
    assert issubclass(ModelArtsValidationError, ValueError) and issubclass(ModelArtsConnectionConfigError, ValueError)
    assert issubclass(ModelArtsTokenExpiredError, ModelArtsAuthError)
    assert issubclass(ModelArtsSignatureExpiredError, ModelArtsAuthError)
    assert issubclass(ModelArtsAuthError, ModelArtsApiError) and issubclass(ModelArtsNotFoundError, ModelArtsApiError)


@pytest.mark.parametrize(
    "error",
    [_error(429), _error(503), ModelArtsTransportError("dropped"), UnreadableBodyError("proxy page")],
)
def test_transient_errors_keep_the_task_retries(error: ModelArtsError) -> None:
    assert not isinstance(error, AirflowFailException)


def test_throttled_error_keeps_its_signature() -> None:
    error = ModelArtsThrottledError(429, "APIGW.0308", "throttled", None, None, retry_after=3.0)
    assert error.retry_after == 3.0 and isinstance(_error(503), ModelArtsServerError)


# ------------------------------------------------------------------------------- messages


def test_message_and_hint_never_join_with_a_stray_dot() -> None:
    error = ModelArtsAuthError(401, "APIGW.0301", "Incorrect IAM authentication information.", None, "Check the keys")
    assert str(error) == (
        "ModelArts API error (HTTP 401, APIGW.0301): Incorrect IAM authentication information. Check the keys"
    )
    for text in (str(error), str(_error(401, code="APIGW.0301")), str(_error(429))):
        assert ". ." not in text and ".." not in text
    assert join_sentences("Bad value.", ". Check X") == "Bad value. Check X"
    assert join_sentences("Bad value", "Check X.") == "Bad value. Check X."
    assert join_sentences("Bad value", None, "") == "Bad value"


def test_validation_messages_end_with_one_dot() -> None:
    assert str(ModelArtsValidationError("x", "one of a, b.", 1)).endswith("one of a, b.")
    assert str(ModelArtsValidationError("x", "one of a, b", 1)).endswith("one of a, b.")


def test_connection_errors_say_what_to_check() -> None:
    text = str(ModelArtsConnectionConfigError("modelarts_default", "region", "is required."))
    assert "Connections" in text and ". ." not in text and ".." not in text


def test_v2_error_solution_becomes_the_hint() -> None:
    body = {"error_code": "ModelArts.2755", "error_msg": "Algorithm not found.", "error_solution": "Check the id."}
    error = transport.error_from_response(400, json.dumps(body).encode(), {}, table=transport.ErrorTable())
    assert error.hint == "Check the id." and str(error).endswith("Algorithm not found. Check the id.")


def test_error_codes_are_data_of_each_api() -> None:
    table = transport.ErrorTable(not_found_codes=frozenset({"ModelArts.9999"}))
    body = json.dumps({"error_code": "ModelArts.9999", "error_msg": "gone"}).encode()
    assert isinstance(transport.error_from_response(400, body, {}, table=table), ModelArtsNotFoundError)
    assert (
        type(transport.error_from_response(400, body, {}, table=transport.ErrorTable()))
        is ModelArtsRequestRejectedError
    )


# ------------------------------------------------------------------------------- retry settings


def test_retry_settings_are_reported_under_the_name_the_user_wrote() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        validate_retry_settings(100, 1.0, 60.0, names=TASK_RETRY_PARAMETERS)
    assert error.value.parameter == "modelarts_retry_limit" and "'modelarts_retry_limit'" in str(error.value)
    with pytest.raises(ModelArtsValidationError) as error:
        validate_retry_settings(1, 0, 60.0, names=TASK_RETRY_PARAMETERS)
    assert error.value.parameter == "modelarts_retry_delay"
    with pytest.raises(ModelArtsValidationError) as error:
        validate_retry_settings(1, 1.0, float("inf"), names=TASK_RETRY_PARAMETERS)
    assert error.value.parameter == "modelarts_retry_max_delay"
    with pytest.raises(ModelArtsValidationError) as error:
        validate_retry_settings(100, 1.0)
    assert error.value.parameter == "retry_limit"
