"""Which failures of one request a retry may fix: the hook's retry policy, as pure functions.

Kept apart from :mod:`airflow_provider_modelarts.cloud.transport` because it needs ``requests``' exception
types, and DAG files must not import ``requests``.
"""

from __future__ import annotations

import requests
from urllib3.exceptions import NewConnectionError

from airflow_provider_modelarts.cloud.transport import is_retryable_status
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsError,
    ModelArtsThrottledError,
    ModelArtsTransportError,
)

# Transport failures worth another attempt of an idempotent request.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
# Set on an error whose own retries are spent (e.g. the IAM token call inside a request's auth), so
# the request around it does not retry it again and multiply the attempts.
RETRIES_SPENT_ATTRIBUTE = "_modelarts_retries_spent"


class UnreadableBodyError(ModelArtsTransportError):
    """A 2xx answer whose body is not the JSON object the API documents (a proxy page, or a body
    cut short): retried like any transport fault, if the request is idempotent."""


def proves_not_sent(error: BaseException) -> bool:
    """True when the failure happened before the request could reach the server: the TCP
    connection was refused, its name did not resolve, or connecting timed out."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.ConnectionError) or isinstance(error, requests.exceptions.SSLError):
        return False
    cause = error.args[0] if error.args else None
    return isinstance(cause, NewConnectionError) or isinstance(getattr(cause, "reason", None), NewConnectionError)


def may_retry(error: BaseException, *, idempotent: bool, retry_max_delay: float) -> bool:
    """The retry policy of one request.

    An idempotent request (a read, or a token request, which only mints another token) is retried
    after connection errors, timeouts, cut-off or unreadable bodies, 429 and the retryable 5xx.
    A request that is not idempotent (e.g. creating a training job) is never sent again once it
    may have reached the server: only a failure that proves it was not sent (a refused connection
    or a connect timeout) or a 429 (the gateway refused it before the service saw it) is retried.
    A ``Retry-After`` longer than ``retry_max_delay`` ends the call at once.
    """
    if getattr(error, RETRIES_SPENT_ATTRIBUTE, False):
        return False
    if isinstance(error, ModelArtsApiError):
        # A throttled request was refused before anything was done: safe to resend, any method.
        throttled = isinstance(error, ModelArtsThrottledError)
        if not (throttled or is_retryable_status(error.http_status)):
            return False
        if not (throttled or idempotent):
            return False
        return error.retry_after is None or error.retry_after <= retry_max_delay
    if isinstance(error, ModelArtsError) and not isinstance(error, UnreadableBodyError):
        return False
    if not idempotent:
        return proves_not_sent(error)
    return isinstance(error, (UnreadableBodyError, *RETRYABLE_TRANSPORT_ERRORS))
