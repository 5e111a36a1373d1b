"""cloud/v2/errors.py: the v2 error shape into the typed family, throttling codes, hints and
redaction."""

from __future__ import annotations

import json

import pytest

from airflow_provider_modelarts.cloud import retry as retry_policy
from airflow_provider_modelarts.cloud import transport, v1, v2
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsNotFoundError,
    ModelArtsRequestRejectedError,
    ModelArtsServerError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
)
from tests.unit.hooks.fakes import _error


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


def test_the_lifecycle_codes_have_hints() -> None:
    for code in ("ModelArts.2751", "ModelArts.2796", "ModelArts.2812", "ModelArts.2776", "ModelArts.2818"):
        assert code in v2.ERROR_TABLE.hints
    assert "metadata.name" in str(_error(400, "ModelArts.2751"))
    assert {"ModelArts.2776", "ModelArts.2818"} == v2.LOG_NOT_READY_CODES
