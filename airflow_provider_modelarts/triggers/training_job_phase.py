"""``ModelArtsTrainingJobPhaseTrigger``: the deferrable half of :class:`ModelArtsTrainingJobPhaseSensor`
and of :class:`ModelArtsCreateTrainingJobOperator`.

With ``terminate_on_kill``, a user's kill of the deferred task terminates the job on every Airflow 3
minor: ``on_kill`` from 3.3, a state lookup in the cancelled ``run()`` below. See
``docs/waiting-and-outages.md``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.triggers.base import TriggerEvent

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.triggers.base import ModelArtsBaseTrigger, TriggerSettings, stop_if_task_killed
from airflow_provider_modelarts.triggers.shared_checks import shared_checks
from airflow_provider_modelarts.utils.submission import terminate_quietly
from airflow_provider_modelarts.waiting.conditions import PhaseWaitCondition

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.waiting.poller_v2 import PhasePollerKey

_T = TypeVar("_T")
#: The XCom key under which a deferred task's log follower keeps its position.
LOG_STATE_XCOM_KEY = "modelarts_log_position"


def log_xcom_for(ti: Any, log_state: dict[str, Any] | None) -> dict[str, Any]:
    """Before a task defers with ``print_log``: push the log follower's state to the task's XCom
    and return where it is, the trigger's ``log_xcom``.

    The trigger reads it back after a triggerer restart. Pushed before deferring, it exists from the
    start, so that read never looks up a missing XCom (which Airflow would log as an error).
    """
    ti.xcom_push(key=LOG_STATE_XCOM_KEY, value=log_state or {})
    return {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id, "map_index": ti.map_index}


class ModelArtsTrainingJobPhaseTrigger(ModelArtsBaseTrigger):
    """Poll one v2 training job until it reaches a target phase or a terminal one.

    Emits exactly one event, ``{"status": "success" | "failed" | "timeout" | "error", "message",
    "training_job_id", "phase", "summary"}`` (``summary``: :func:`~airflow_provider_modelarts.cloud.v2.job_summary`
    of the job, once it was read). Everything it needs is in its kwargs (JSON primitives and the
    connection id, never a secret) and the deadline is absolute, so the triggerer can re-create it
    from :meth:`serialize` at any time. Triggers of one connection and project share their checks
    through the coalesced poller (:mod:`airflow_provider_modelarts.waiting.poller_v2`): a round searches the
    active phases and reads directly only the watched jobs the search did not show.

    Verdicts and messages come from :class:`~airflow_provider_modelarts.waiting.conditions.PhaseWaitCondition`,
    as in the sensor's poke and reschedule modes. An error no retry can fix ends the wait with
    ``failed``. A transient one (the hook's retries spent) is ridden out, logged, until the failed
    checks have gone on for ``max_outage`` seconds; then the event is ``error``, so the task's
    own retries apply.

    :param training_job_id: the job's UUID.
    :param target_phases: phases that end the wait successfully.
    :param failure_phases: phases that fail it (any other terminal phase fails it too).
    :param modelarts_conn_id: the ModelArts connection id.
    :param settings: the region, project, workspace, pace, deadline, retry and outage keywords of
        :class:`~airflow_provider_modelarts.triggers.base.ModelArtsBaseTrigger`.
    :param print_log: follow the job's task logs into the task log (trigger log records are shown
        in the task log), with :class:`~airflow_provider_modelarts.waiting.logs.JobLogFollower`: one log
        request per task per round while the job runs, and the rest of each log once it ended,
        before the event.
    :param log_state: the follower's state when the task deferred (what it printed already).
    :param log_xcom: ``{"dag_id", "task_id", "run_id", "map_index"}`` of the deferred task: the
        follower's state is saved in its XCom :data:`LOG_STATE_XCOM_KEY` before each page is
        printed, so a trigger re-created after a triggerer restart reads on from there (XComs
        survive the deferral; Airflow clears them only when a try starts).
    :param terminate_on_kill: terminate the job when a user marks the deferred task failed or
        success, or clears it. Airflow 3.3+ calls :meth:`on_kill` then, which terminates it.
        Airflow 3.0 to 3.2 never call it: there the cancelled :meth:`run` terminates the job if
        ``task_instance`` is set and that task instance is no longer deferred (not on a triggerer
        restart, nor once the event was yielded; a state that cannot be read is logged, and stops
        nothing). Without ``task_instance``, nothing is stopped below 3.3.
    :param task_instance: ``{"dag_id", "task_id", "run_id", "map_index"}`` of the deferred task,
        whose state tells a kill from a triggerer restart below Airflow 3.3 (optional: triggers
        serialized without it still load).
    :param last_phase: the phase the deferring task's own check saw: a timeout before this
        trigger's first check (a triggerer that picks it up late) still reports the last phase.
    """

    def __init__(
        self,
        training_job_id: str,
        target_phases: list[str],
        failure_phases: list[str],
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        *,
        print_log: bool = False,
        log_state: dict[str, Any] | None = None,
        log_xcom: dict[str, Any] | None = None,
        terminate_on_kill: bool = False,
        last_phase: str | None = None,
        task_instance: dict[str, Any] | None = None,
        **settings: Unpack[TriggerSettings],
    ) -> None:
        self.condition = PhaseWaitCondition.validate(training_job_id, target_phases, failure_phases)
        super().__init__(modelarts_conn_id=modelarts_conn_id, **settings)
        self.print_log = bool(print_log)
        self.log_state = log_state
        self.log_xcom = log_xcom
        self.terminate_on_kill = bool(terminate_on_kill)
        self.last_phase = last_phase
        # Not ``self.task_instance``: BaseTrigger's, which the triggerer sets to its own task instance
        # object (a property from Airflow 3.3 whose setter reads ``.task_id``).
        self.task_instance_keys = task_instance
        # Set before each yield: once the event is out the task leaves DEFERRED, so a later cancel
        # would look like a kill.
        self._event_yielded = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "training_job_id": self.condition.training_job_id,
                "target_phases": self.condition.scheme.ordered(self.condition.target_statuses),
                "failure_phases": self.condition.scheme.ordered(self.condition.failure_statuses),
                **self._shared_kwargs(),
                "print_log": self.print_log,
                "log_state": self.log_state,
                "log_xcom": self.log_xcom,
                "terminate_on_kill": self.terminate_on_kill,
                "last_phase": self.last_phase,
                "task_instance": self.task_instance_keys,
            },
        )

    def poller_key(self) -> PhasePollerKey:
        from airflow_provider_modelarts.waiting.poller_v2 import PhasePollerKey

        return PhasePollerKey(**self._poller_key_fields())

    def _event(
        self, status: str, message: str, job: dict[str, Any] | None = None, phase: str | None = None
    ) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                "training_job_id": self.condition.training_job_id,
                "phase": v2.phase_of(job) if job else phase,
                "summary": v2.job_summary(job) if job else None,
            }
        )

    async def _log_follower(self) -> _TriggerLogs:
        from airflow_provider_modelarts.waiting.poller import hook_for

        saved = await _in_thread(self._load_log_state)
        return _TriggerLogs(self, hook_for(self.poller_key()), saved if saved is not None else self.log_state)

    def _load_log_state(self) -> dict[str, Any] | None:
        """The follower state a trigger of this deferral saved last (``None``: none yet)."""
        if not self.log_xcom:
            return None
        from airflow.providers.common.compat.sdk import XCom

        try:
            value = XCom.get_one(key=LOG_STATE_XCOM_KEY, **self.log_xcom)
        except Exception as error:  # the log is a convenience: never fail the wait for it
            self.log.warning("Could not read the saved log position (%s); reading on from the deferral's", error)
            return None
        return value if isinstance(value, dict) else None

    def save_log_state(self, state: dict[str, Any]) -> None:
        """Keep the follower's state in the task's XCom (blocking; called in a worker thread)."""
        self.log_state = state
        if not self.log_xcom:
            return
        from airflow.providers.common.compat.sdk import XCom

        try:
            XCom.set(key=LOG_STATE_XCOM_KEY, value=state, **self.log_xcom)
        except Exception as error:
            self.log.warning("Could not save the log position (%s); a triggerer restart may repeat lines", error)

    async def on_kill(self) -> None:
        """Terminate the job when a user kills the deferred task (Airflow 3.3+ calls this on
        mark failed, mark success and clear; never on a triggerer restart or a timeout)."""
        if not self.terminate_on_kill:
            return
        await self._terminate()

    async def _terminate(self) -> None:
        from airflow_provider_modelarts.waiting.poller import hook_for

        hook = hook_for(self.poller_key())
        try:
            await _in_thread(lambda: terminate_quietly(hook, self.condition.training_job_id, self.log))
        finally:
            hook.close()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        self._event_yielded = False
        try:
            logs = await self._log_follower() if self.print_log else None
            try:
                async for event in self._wait(logs):
                    self._event_yielded = True
                    yield event
            finally:
                if logs is not None:
                    logs.hook.close()
        except asyncio.CancelledError:
            await self._terminate_if_killed()
            raise

    async def _terminate_if_killed(self) -> None:
        """Below Airflow 3.3, on a cancelled :meth:`run`: terminate the job if the deferred task
        was killed (no longer deferred). Never raises: the cancellation goes on."""
        if not self.terminate_on_kill or self._event_yielded:
            return
        job = f"training job {self.condition.training_job_id}"
        await stop_if_task_killed(self.log, self.task_instance_keys, job, "terminate", self._terminate)

    async def _wait(self, logs: _TriggerLogs | None) -> AsyncIterator[TriggerEvent]:
        # Imported when the trigger runs (in the triggerer), not when a DAG file imports the sensor.
        from airflow_provider_modelarts.waiting.poller import SharedStatusPoller
        from airflow_provider_modelarts.waiting.poller_v2 import v2_source_for

        watch = self.condition.training_job_id
        async with SharedStatusPoller.watching(self.poller_key(), watch, self.poll_interval, v2_source_for) as (
            poller,
            watcher_id,
        ):
            job: dict[str, Any] | None = None
            checks = shared_checks(
                poller,
                watcher_id,
                self.end_time,
                self.condition.judge_error,
                self.outage,
                self.log,
                self.condition.subject,
            )
            async with aclosing(checks):
                async for check in checks:
                    if check.timed_out:
                        phase = v2.phase_of(job) if job else self.last_phase
                        what = f": {self.condition.describe(phase)}" if phase else ""
                        message = f"timed out waiting for {self.condition.subject}{what}"
                        yield self._event("timeout", message, job, phase)
                        return
                    if check.ended is not None:
                        yield self._event(*check.ended)
                        return
                    current = check.snapshot
                    assert current is not None
                    previous, job = job, current
                    if logs is not None:
                        await logs.poll(current)
                    verdict, message = self.condition.judge_job(current)
                    if verdict != "waiting":
                        poller.stop_checking(watcher_id)  # no round for it while it reports and leaves
                        if logs is not None:  # where the log was printed to, for the record
                            await _in_thread(lambda: self.save_log_state(logs.follower.state()))
                        yield self._event(verdict, message, current)
                        return
                    # Log changes only: hundreds of triggers share one round.
                    if previous is None or v2.phase_of(previous) != v2.phase_of(current):
                        self.log.info("%s (shared check %d)", message, check.round)


async def _in_thread(function: Callable[[], _T]) -> _T:
    """Blocking work (HTTP, the Task SDK's XCom calls) off the event loop."""
    from airflow_provider_modelarts.waiting.poller import run_in_worker_thread

    return await run_in_worker_thread(function)


class _TriggerLogs:
    """The trigger's log follower: polled in a worker thread, its lines logged by the trigger."""

    def __init__(self, trigger: ModelArtsTrainingJobPhaseTrigger, hook: ModelArtsHook, state: dict[str, Any] | None):
        from airflow_provider_modelarts.waiting.logs import JobLogFollower

        self.hook = hook
        self.follower = JobLogFollower(
            hook, trigger.condition.training_job_id, trigger.log.info, state=state, save=trigger.save_log_state
        )
        self.log = trigger.log
        self.interval = trigger.poll_interval
        self.last_poll: float | None = None

    async def poll(self, job: dict[str, Any]) -> None:
        """Print the new lines: at most once per the trigger's own ``poll_interval`` while the job
        runs (the shared rounds may come faster, paced by another trigger's shorter interval), and
        to the end of each log once it ended."""
        now = time.monotonic()
        running = not v2.is_terminal_phase(v2.phase_of(job) or "")
        if running and self.last_poll is not None and now - self.last_poll < self.interval:
            return
        self.last_poll = now
        await _in_thread(lambda: self._poll(job))

    def _poll(self, job: dict[str, Any]) -> None:
        # Like the shared poller's rounds, each read uses the connection as it is now (an edited
        # connection, e.g. another auth type, applies to the log reads too). One lookup, no request.
        try:
            self.hook.refresh_connection()
        except Exception as error:
            self.log.warning("Could not re-read the connection before reading the log (%s)", type(error).__name__)
        self.follower.poll_or_warn(job, self.log.warning)
