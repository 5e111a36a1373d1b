"""One synchronous check of a v2 training job's phase, shared by the phase sensor (poke and
reschedule mode) and the create operator's synchronous wait, so both judge a job, an error and
an API outage the same way (the trigger applies the same rules to the shared poller's answers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_modelarts.exceptions import ModelArtsError, sentence
from airflow_provider_modelarts.waiting.outage import Outage, record_failed_check

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.waiting.conditions import PhaseWaitCondition, Verdict


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def check_phase(
    hook: ModelArtsHook, condition: PhaseWaitCondition, outage: Outage, log: _Log
) -> tuple[Verdict, str, dict[str, Any] | None]:
    """Read the job once: ``(verdict, message, job)``, with ``job`` ``None`` while an outage is
    ridden out (the verdict is then ``"waiting"``).

    :raises AirflowFailException: (no task retries) for an error no retry can fix: authentication,
        validation, a job that does not exist.
    :raises AirflowException: for a transient error once the outage has lasted ``max_outage``
        (the task's retries apply).
    """
    try:
        job = hook.get_training_job(condition.training_job_id)
    except ModelArtsError as error:
        error_verdict, error_message = condition.judge_error(error)
        if error_verdict == "failed":
            raise AirflowFailException(sentence(error_message)) from error
        rides_out, message = record_failed_check(outage, sentence(error_message))
        if rides_out:
            log.warning(message)
            return "waiting", message, None
        raise AirflowException(message) from error
    if outage.succeeded_check():
        log.info("%s answered again: the API outage is over", condition.subject)
    verdict, message = condition.judge_job(job)
    return verdict, sentence(message), job
