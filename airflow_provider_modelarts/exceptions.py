"""One exception family for everything this provider raises.

``ModelArtsError`` derives from Airflow's ``AirflowException``, so a task that hits a transient
failure (a transport error, throttling, a 5xx once the hook's own retries are spent) fails with the
normal task retry handling. Errors that no retry can fix derive from :class:`ModelArtsPermanentError`,
which is also an ``AirflowFailException``: the task fails at once, without its retries. That matters
most for authentication: each retry with a wrong secret key sends one more bad signature, and the
gateway locks the access key for five minutes after more than five in a row.

No exception text ever includes a credential: messages are built from error codes, server
messages and identifiers only.
"""

from __future__ import annotations

# The shim resolves airflow.sdk.exceptions on 3.1+ and airflow.exceptions on 3.0.
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

_SENTENCE_ENDS = (".", "!", "?")


def join_sentences(*parts: str | None) -> str:
    """Join message parts into sentences: ``"Bad value."`` and ``"Check X"`` give
    ``"Bad value. Check X"``, never ``"Bad value.. Check X"`` or ``"Bad value. . Check X"``."""
    text = ""
    for part in parts:
        piece = (part or "").strip()
        if not piece:
            continue
        if not text:
            text = piece
            continue
        text = text.rstrip(" ")
        if not text.endswith(_SENTENCE_ENDS):
            text += "."
        text += " " + piece.lstrip(". ")
    return text


def sentence(message: str) -> str:
    """A message as a sentence (capitalised), the same in poke, reschedule and deferrable mode."""
    return message[:1].upper() + message[1:]


class ModelArtsError(AirflowException):
    """Base class of every error raised by this provider."""


class ModelArtsPermanentError(ModelArtsError, AirflowFailException):
    """An error that retrying cannot fix (authentication, configuration, validation, not found).

    It is an ``AirflowFailException``, so the task fails without using its ``retries``.
    """


class ModelArtsValidationError(ModelArtsPermanentError, ValueError):
    """A parameter value is not allowed. Raised before any request is sent.

    :param parameter: the parameter's name, as the user wrote it.
    :param allowed: what is allowed, in words.
    :param value: the offending value (never a secret).
    """

    def __init__(self, parameter: str, allowed: str, value: object = None) -> None:
        self.parameter = parameter
        self.allowed = allowed
        self.value = value
        message = f"Invalid value {value!r} for parameter {parameter!r}: {allowed}"
        super().__init__(message if message.endswith(_SENTENCE_ENDS) else message + ".")


class ModelArtsConnectionConfigError(ModelArtsPermanentError, ValueError):
    """The Airflow connection is missing a value or holds a malformed one."""

    def __init__(self, conn_id: str, key: str, problem: str) -> None:
        self.conn_id = conn_id
        self.key = key
        super().__init__(
            join_sentences(
                f"Connection {conn_id!r}: {key!r} {problem}",
                "Fix the connection (Admin > Connections, or its AIRFLOW_CONN_ variable or secrets backend)",
            )
        )


class ModelArtsCredentialsError(ModelArtsPermanentError):
    """Temporary credentials cannot be obtained, for a reason no retry fixes: the instance has no
    agency, Airflow does not run on a cloud instance, the ID token file is missing, IAM refused the
    identity provider, or the default chain found nothing. The message says what to check."""


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
    :param retry_after: seconds the server asked us to wait (``Retry-After``), if it said.
    """

    def __init__(
        self,
        http_status: int,
        error_code: str,
        error_message: str,
        request_id: str | None = None,
        hint: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.http_status = http_status
        self.error_code = error_code
        self.error_message = error_message
        self.request_id = request_id
        self.hint = hint
        self.retry_after = retry_after
        # What the gateway says it signed, when it echoes that after a signature failure.
        self.server_canonical_request: str | None = None
        text = f"ModelArts API error (HTTP {http_status}"
        if error_code:
            text += f", {error_code}"
        text += f"): {error_message}"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(join_sentences(text, hint))


class ModelArtsAuthError(ModelArtsApiError, ModelArtsPermanentError):
    """401/403: credentials, signature, token or permissions were refused. Never retried, neither
    by the hook nor by the task, because the gateway locks an AK for five minutes after more than
    five bad signatures in a row."""


class ModelArtsTokenExpiredError(ModelArtsAuthError):
    """The IAM token was refused as expired (``APIGW.0307`` or ``ModelArts.0202``)."""


class ModelArtsSignatureExpiredError(ModelArtsAuthError):
    """The gateway says the signature expired: the local clock is more than 15 minutes off."""


class ModelArtsThrottledError(ModelArtsApiError):
    """429: the request was throttled and retries (if any) did not get through.

    :param retry_after: seconds the server asked us to wait, if it said.
    """


class ModelArtsNotFoundError(ModelArtsApiError, ModelArtsPermanentError):
    """The training job or version does not exist (any more)."""


class ModelArtsRequestRejectedError(ModelArtsApiError, ModelArtsPermanentError):
    """4xx other than auth, not found, throttling and conflicts: the service or its gateway refused
    the request itself (e.g. 400 ``ModelArts.0101`` invalid parameter, 404 ``APIGW.0101`` no such
    API at this endpoint). Resending the same request gets the same answer, so no retry is spent."""


class ModelArtsServerError(ModelArtsApiError):
    """5xx from the service or gateway, after the retry budget was spent (or at once for a status
    no retry can fix, such as 501 Not Implemented)."""


class ModelArtsDuplicateJobNameError(ModelArtsRequestRejectedError):
    """400 ``ModelArts.2751``: a training job with this name already exists, so the create was
    refused. Permanent: the same body gets the same answer.

    :param job_name: the name the create asked for.
    """

    def __init__(self, job_name: str, error: ModelArtsApiError) -> None:
        self.job_name = job_name
        super().__init__(
            error.http_status,
            error.error_code,
            join_sentences(f"A training job named {job_name!r} already exists", error.error_message),
            error.request_id,
            error.hint,
            retry_after=error.retry_after,
        )


class ModelArtsJobEndedError(ModelArtsApiError, ModelArtsPermanentError):
    """409 ``ModelArts.2796``: the job has already ended, so it cannot be terminated (the API
    terminates Creating, Pending and Running jobs only). Permanent. Callers that only want the job
    stopped catch this to treat terminate as idempotent.

    :param training_job_id: the job that was asked to terminate.
    """

    def __init__(self, training_job_id: str, error: ModelArtsApiError) -> None:
        self.training_job_id = training_job_id
        super().__init__(
            error.http_status,
            error.error_code,
            join_sentences(f"Training job {training_job_id} has already ended", error.error_message),
            error.request_id,
            error.hint,
            retry_after=error.retry_after,
        )


class ModelArtsResourceExistsError(ModelArtsRequestRejectedError):
    """A create was refused because its unique identity is taken: a model of this name and version
    (409 ``ModelArts.3002``) or a service of this name (409 ``ModelArts.3503``). Permanent: the same
    body gets the same answer.

    :param resource: ``"model"`` or ``"service"``.
    :param name: the identity the create asked for, e.g. ``"resnet 1.0.0"``.
    """

    def __init__(self, resource: str, name: str, error: ModelArtsApiError) -> None:
        self.resource = resource
        self.name = name
        super().__init__(
            error.http_status,
            error.error_code,
            join_sentences(f"A {resource} {name} already exists", error.error_message),
            error.request_id,
            error.hint,
            retry_after=error.retry_after,
        )


class ModelArtsModelDeleteError(ModelArtsApiError):
    """A model delete answered 200 but listed failures in ``delete_failed_list`` (e.g.
    ``ModelArts.3009``: the model is used by a service). Not permanent: once the service is
    deleted, a retry succeeds.

    :param model_id: the model the delete was for.
    :param failures: the ``{model_id, error_code, error_msg}`` entries.
    """

    def __init__(self, model_id: str, failures: list[dict[str, object]], http_status: int = 200) -> None:
        self.model_id = model_id
        self.failures = failures
        first = failures[0] if failures else {}
        reasons = "; ".join(f"{entry.get('model_id')}: {entry.get('error_msg')}" for entry in failures)
        super().__init__(
            http_status,
            str(first.get("error_code") or ""),
            f"Model {model_id} was not deleted ({reasons})",
            hint="A model used by a service cannot be deleted: delete the service first",
        )


class ModelArtsServiceWaitTimeoutError(ModelArtsError):
    """A service did not settle (stopping, deleting) within the wait for it: the task's retries apply."""


class ModelArtsServiceDeleteTimeoutError(ModelArtsServiceWaitTimeoutError):
    """The service was still there when the delete's wait ran out (``wait_timeout``): the task's
    retries apply (a retry's delete of a service being deleted changes nothing, then waits)."""


class ModelArtsServiceNotReadyError(ModelArtsError):
    """A service cannot be invoked yet: it has no ``access_address`` (not deployed, not running,
    or a batch service).

    :param service_id: the service.
    :param status: its status when it was read.
    """

    def __init__(self, service_id: str, status: object) -> None:
        self.service_id = service_id
        self.status = status
        super().__init__(
            f"Service {service_id} has no access address (status {status}): "
            "only a running real-time service can be invoked"
        )
