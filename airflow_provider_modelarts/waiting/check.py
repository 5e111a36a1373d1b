"""The one synchronous check of a wait, for every API: read the job once, judge it, and ride out
an outage, with the same verdicts and messages in the v1 and the v2 sensor (poke and reschedule
mode) and the create operator's synchronous wait. The trigger applies the same rules to the
shared poller's answers (``triggers/shared_checks.py``).

An API plugs in through its condition (:class:`~airflow_provider_modelarts.waiting.conditions.StatusWait`:
its statuses and how to read one from a job) and a ``read`` of the job; nothing else here knows
an API version. See ``docs/waiting-and-outages.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_modelarts.exceptions import ModelArtsError, sentence
from airflow_provider_modelarts.waiting.outage import Outage, record_failed_check

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.waiting.conditions import PhaseWaitCondition, StatusWait, Verdict

_Job = TypeVar("_Job", bound=Mapping[str, Any])


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def failed_check(
    condition: StatusWait[Any], outage: Outage, error: ModelArtsError, log: _Log
) -> tuple[str, Exception | None]:
    """A check that failed with ``error``: ``(message, None)`` while the outage is ridden out
    (logged as a warning), else ``(message, exception to raise)``.

    The exception is an ``AirflowFailException`` (no task retries) for an error no retry can fix
    (authentication, validation, a job that does not exist), and an ``AirflowException`` for a
    transient error once the outage has lasted ``max_outage`` (the task's retries apply).
    """
    error_verdict, error_message = condition.judge_error(error)
    if error_verdict == "failed":
        message = sentence(error_message)
        return message, AirflowFailException(message)
    rides_out, message = record_failed_check(outage, sentence(error_message))
    if rides_out:
        log.warning(message)
        return message, None
    return message, AirflowException(message)


def check_once(
    read: Callable[[], _Job],
    condition: StatusWait[Any],
    outage: Outage,
    log: _Log,
) -> tuple[Verdict, str, _Job | None]:
    """Read the job once with ``read``: ``(verdict, message, job)``, with ``job`` ``None`` while an
    outage is ridden out (the verdict is then ``"waiting"``). The verdict comes from
    ``condition.judge_job``; a ``"failed"`` one is returned, not raised, so the caller may still
    print the job's logs.

    :raises AirflowFailException: for an error no retry can fix.
    :raises AirflowException: for a transient error once the outage has lasted ``max_outage``.
    """
    try:
        job = read()
    except ModelArtsError as error:
        message, failure = failed_check(condition, outage, error, log)
        if failure is not None:
            raise failure from error
        return "waiting", message, None
    if outage.succeeded_check():
        log.info("%s answered again: the API outage is over", condition.subject)
    verdict, message = condition.judge_job(job)
    return verdict, sentence(message), job


def check_phase(
    hook: ModelArtsHook, condition: PhaseWaitCondition, outage: Outage, log: _Log
) -> tuple[Verdict, str, dict[str, Any] | None]:
    """:func:`check_once` for a v2 training job: one ``get_training_job``."""
    return check_once(lambda: hook.get_training_job(condition.training_job_id), condition, outage, log)
