"""Writes whose answer was lost: how every create and delete of the hook recovers without
making a second resource (training jobs, models, services alike).

A create (a POST that is not idempotent) is never resent blindly. After an attempt without a
clear answer (a transport failure once the request may have reached the server, or a 500, 502,
503 or 504), the resource is looked up by what makes it unique (a job's or a service's name, a
model's name and version): found, it is the answer; not found, the body is sent again, at most
``retry_limit`` more times. A "duplicate" answer to a resend is looked up the same way (the lost
first attempt made it); a duplicate answer to a first attempt is the caller's duplicate. A lookup
that fails ends the call: resending without knowing could make a second resource. Reasons:
docs/durable-execution.md ("Creating a job").
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsError,
    ModelArtsNotFoundError,
    ModelArtsThrottledError,
    ModelArtsTransportError,
    join_sentences,
)
from airflow_provider_modelarts.hooks.base import ModelArtsBaseHook


def write_may_have_happened(error: ModelArtsApiError) -> bool:
    """Whether a write answered with this error may still have been carried out: a 500, 502,
    503 or 504 can come from the gateway or the service after the body arrived. A throttled
    request (429, or a throttling code) was refused before anything was done."""
    return error.http_status in (500, 502, 503, 504) and not isinstance(error, ModelArtsThrottledError)


@dataclass(frozen=True)
class Create:
    """One create, as :func:`create_once` needs it.

    :param what: the resource for messages, e.g. ``"Training job 'train-1'"``.
    :param noun: what a lookup looks for, e.g. ``"job"``, ``"model"``.
    :param identity: what makes it unique, for messages, e.g. ``"named 'train-1'"``.
    :param key: what ``identity`` gives, e.g. ``"name"``, ``"name and version"``.
    :param send: sends the create once (``idempotent=False``) and returns the answer.
    :param find: the resource of that identity, or ``None``; raises ``ModelArtsError`` if it cannot tell.
    :param duplicate_codes: the error codes that mean "this identity exists".
    :param duplicate: the typed error to raise for a duplicate of a first attempt.
    """

    what: str
    noun: str
    identity: str
    key: str
    send: Callable[[], dict[str, Any]]
    find: Callable[[], dict[str, Any] | None]
    duplicate_codes: Collection[str]
    duplicate: Callable[[ModelArtsApiError], ModelArtsApiError]


def create_once(hook: ModelArtsBaseHook, create: Create) -> dict[str, Any]:
    """Send ``create`` so that one call makes at most one resource (see the module's docstring).

    :return: the create's answer, or the found resource after an ambiguous attempt.
    :raises ModelArtsApiError: a clear refusal (its type), or ``create.duplicate(...)``.
    :raises ModelArtsTransportError: no attempt got a clear answer and nothing was found, or a lookup failed.
    """
    unclear: ModelArtsError | None = None
    for attempt in range(hook.retry_limit + 1):
        if attempt:
            delay = min(hook.retry_max_delay, hook.retry_delay * 2 ** (attempt - 1))
            hook.log.warning("%s was not created: sending the create again in %.1f s", create.what, delay)
            hook.sleep(delay)
        try:
            return create.send()
        except ModelArtsApiError as error:
            if error.error_code in create.duplicate_codes:
                if unclear is not None:
                    found = _look_up(hook, create, error)
                    if found is not None:
                        return found
                raise create.duplicate(error) from None
            if not write_may_have_happened(error):
                raise
            unclear = error
        except ModelArtsTransportError as error:
            unclear = error
        hook.log.warning("Creating %s got no clear answer (%s): looking it up", create.what, unclear)
        found = _look_up(hook, create, unclear)
        if found is not None:
            return found
    assert unclear is not None  # the loop only ends here after an unclear attempt
    raise ModelArtsTransportError(
        join_sentences(
            f"Creating {create.what} got no clear answer in {hook.retry_limit + 1} attempt(s), "
            f"and no {create.noun} of that {create.key} exists: {unclear}"
        )
    ) from unclear


def _look_up(hook: ModelArtsBaseHook, create: Create, unclear: ModelArtsError) -> dict[str, Any] | None:
    """Whether this call's own create landed. A failed lookup raises: never resend blind."""
    try:
        found = create.find()
    except ModelArtsError as error:
        raise ModelArtsTransportError(
            join_sentences(
                f"Creating {create.what} got no clear answer ({unclear})",
                f"Checking whether it was created failed too ({error})",
                f"Look for a {create.noun} {create.identity} before creating it again",
            )
        ) from error
    if found is not None:
        hook.log.warning("%s exists: the create did reach ModelArts", create.what)
    return found


def delete_once(
    hook: ModelArtsBaseHook, what: str, send: Callable[[bool], dict[str, Any]], read: Callable[[], object]
) -> dict[str, Any] | None:
    """Send a delete; after an unclear answer read the resource: gone (not found) is success
    (``None``), still there sends the delete once more, as idempotent.

    :param send: sends the delete, ``send(idempotent)``.
    :param read: reads the resource; raises ``ModelArtsNotFoundError`` once it is gone.
    """
    try:
        return send(False)
    except ModelArtsApiError as error:
        if not write_may_have_happened(error):
            raise
        unclear: ModelArtsError = error
    except ModelArtsTransportError as error:
        unclear = error
    hook.log.warning("Deleting %s got no clear answer (%s): checking whether it is gone", what, unclear)
    try:
        read()
    except ModelArtsNotFoundError:
        return None
    return send(True)
