"""One exception family for everything this provider raises.

``ModelArtsError`` derives from Airflow's ``AirflowException`` so tasks fail with the normal retry
handling unless an operator deliberately raises ``AirflowFailException``. No exception text ever
includes a credential: messages are built from error codes, server messages and identifiers only.
"""

from __future__ import annotations

# The shim resolves airflow.sdk.exceptions on 3.1+ and airflow.exceptions on 3.0.
from airflow.providers.common.compat.sdk import AirflowException


class ModelArtsError(AirflowException):
    """Base class of every error raised by this provider."""


class ModelArtsValidationError(ModelArtsError, ValueError):
    """A parameter value is not allowed. Raised before any request is sent.

    :param parameter: the parameter's name, as the user wrote it.
    :param allowed: what is allowed, in words.
    :param value: the offending value (never a secret).
    """

    def __init__(self, parameter: str, allowed: str, value: object = None) -> None:
        self.parameter = parameter
        self.allowed = allowed
        self.value = value
        super().__init__(f"Invalid value {value!r} for parameter {parameter!r}: {allowed}.")


class ModelArtsConnectionConfigError(ModelArtsError, ValueError):
    """The Airflow connection is missing a value or holds a malformed one."""

    def __init__(self, conn_id: str, key: str, problem: str) -> None:
        self.conn_id = conn_id
        self.key = key
        super().__init__(f"Connection {conn_id!r}: {key!r} {problem}")


class ModelArtsTransportError(ModelArtsError):
    """The request could not be completed: connection refused or dropped, timeout, cut-off or
    unreadable body. Raised once the retry budget is spent."""


class ModelArtsApiError(ModelArtsError):
    """The service (or its API gateway, or IAM) answered with an error.

    :param http_status: the HTTP status code.
    :param error_code: e.g. ``ModelArts.0101``, ``APIGW.0301``, ``IAM.0001``; may be empty.
    :param error_message: the service's message.
    :param request_id: ``X-Request-Id`` (or the body's ``request_id``), for Huawei support.
    :param hint: what the user can check, when we know.
    """

    def __init__(
        self,
        http_status: int,
        error_code: str,
        error_message: str,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.error_code = error_code
        self.error_message = error_message
        self.request_id = request_id
        self.hint = hint
        # What the gateway says it signed, when it echoes that after a signature failure.
        self.server_canonical_request: str | None = None
        text = f"ModelArts API error (HTTP {http_status}"
        if error_code:
            text += f", {error_code}"
        text += f"): {error_message}"
        if request_id:
            text += f" [request id {request_id}]"
        if hint:
            text += f". {hint}"
        super().__init__(text)


class ModelArtsAuthError(ModelArtsApiError):
    """401/403: credentials, signature, token or permissions were refused. Never retried, because
    the gateway locks an AK for five minutes after five bad signatures."""


class ModelArtsTokenExpiredError(ModelArtsAuthError):
    """The IAM token was refused as expired (``APIGW.0307`` or ``ModelArts.0202``)."""


class ModelArtsSignatureExpiredError(ModelArtsAuthError):
    """The gateway says the signature expired: the local clock is more than 15 minutes off."""


class ModelArtsThrottledError(ModelArtsApiError):
    """429: the request was throttled and retries (if any) did not get through.

    :param retry_after: seconds the server asked us to wait, if it said.
    """

    def __init__(self, *args: object, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ModelArtsNotFoundError(ModelArtsApiError):
    """The training job or version does not exist (any more)."""


class ModelArtsServerError(ModelArtsApiError):
    """5xx from the service or gateway, after the retry budget was spent."""
