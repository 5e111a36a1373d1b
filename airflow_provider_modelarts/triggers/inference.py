"""``ModelArtsModelTrigger`` and ``ModelArtsServiceTrigger``: the deferrable halves of the model and
service sensors and operators (issue 19), on the shared poller
(:mod:`airflow_provider_modelarts.waiting.poller_inference`).

Verdicts and messages come from the conditions of :mod:`airflow_provider_modelarts.waiting.inference`,
as in poke and reschedule mode; the deadline and outages are handled by
:func:`~airflow_provider_modelarts.triggers.shared_checks.shared_checks`, as for training jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.triggers.base import TriggerEvent

from airflow_provider_modelarts.cloud.inference.common import validate_choice
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.triggers.base import ModelArtsBaseTrigger, TriggerSettings
from airflow_provider_modelarts.triggers.shared_checks import shared_checks
from airflow_provider_modelarts.utils.teardown import KILL_ACTION_XCOM_KEY, KILL_ACTIONS, end_service_quietly
from airflow_provider_modelarts.version_compat import TaskStateUnavailableError, task_ended, triggerer_calls_on_kill
from airflow_provider_modelarts.waiting.inference import Concerning, ModelWaitCondition, ServiceWaitCondition

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from airflow_provider_modelarts.waiting.poller import PollerKey, StatusSource

__all__ = ["ModelArtsModelTrigger", "ModelArtsServiceTrigger"]


class _InferenceTrigger(ModelArtsBaseTrigger):
    """Poll one model or service until its wait ends; emits exactly one event,
    ``{"status": "success" | "failed" | "timeout" | "error", "message", <id_field>,
    "resource_status", "row", "warning"}``: ``resource_status`` is the last status read (``None``
    before any), ``row`` the compact row of the resource once it was read, ``warning`` whether a
    success came with a warning (a ``concerning`` service).
    """

    id_field: ClassVar[str]
    condition: ModelWaitCondition | ServiceWaitCondition

    def __init__(self, last_status: str | None, modelarts_conn_id: str, **settings: Unpack[TriggerSettings]) -> None:
        super().__init__(modelarts_conn_id=modelarts_conn_id, **settings)
        self.last_status = last_status

    @property
    def resource_id(self) -> str:
        return str(getattr(self.condition, self.id_field))

    def _own_kwargs(self) -> dict[str, Any]:
        """What a subclass adds to :meth:`serialize`."""
        return {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        scheme, condition = self.condition.scheme, self.condition
        targets = (
            condition.target_argument()
            if isinstance(condition, ServiceWaitCondition)
            else scheme.ordered(condition.target_statuses)
        )
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                self.id_field: self.resource_id,
                "target_statuses": targets,
                "failure_statuses": scheme.ordered(self.condition.failure_statuses),
                **self._shared_kwargs(),
                **self._own_kwargs(),
                "last_status": self.last_status,
            },
        )

    def poller_key(self) -> PollerKey:
        raise NotImplementedError

    def _source_factory(self) -> Callable[[Any], StatusSource[Any]]:
        raise NotImplementedError

    def _event(self, status: str, message: str, resource: Mapping[str, Any] | None = None) -> TriggerEvent:
        resource_status = self.condition.status_of(resource) if resource is not None else self.last_status
        condition = self.condition
        warning = isinstance(condition, ServiceWaitCondition) and condition.is_warning(resource_status)
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                self.id_field: self.resource_id,
                "resource_status": resource_status,
                "row": self.condition.row(resource) if resource is not None else None,
                "warning": status == "success" and warning,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Imported when the trigger runs (in the triggerer), not when a DAG file imports the sensor.
        from airflow_provider_modelarts.waiting.poller import SharedStatusPoller

        watch = self.resource_id
        async with SharedStatusPoller.watching(
            self.poller_key(), watch, self.poll_interval, self._source_factory()
        ) as (poller, watcher_id):
            resource: dict[str, Any] | None = None
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
                        status = self.condition.status_of(resource) if resource else self.last_status
                        what = f": {self.condition.describe(status)}" if status else ""
                        yield self._event("timeout", f"timed out waiting for {self.condition.subject}{what}", resource)
                        return
                    if check.ended is not None:
                        yield self._event(*check.ended)
                        return
                    current = check.snapshot
                    assert current is not None
                    previous, resource = resource, current
                    verdict, message = self.condition.judge_job(current)
                    if verdict != "waiting":
                        poller.stop_checking(watcher_id)  # no round for it while it reports and leaves
                        yield self._event(verdict, message, current)
                        return
                    # Log changes only: many triggers share one round.
                    if previous is None or self.condition.status_of(previous) != self.condition.status_of(current):
                        self.log.info("%s (shared check %d)", message, check.round)


class ModelArtsModelTrigger(_InferenceTrigger):
    """Poll one model until it reaches a target status (``published``) or fails
    (:class:`~airflow_provider_modelarts.waiting.inference.ModelWaitCondition`).

    :param model_id: the model's id.
    :param target_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that fail it (any other terminal status fails it too).
    :param modelarts_conn_id: the ModelArts connection id.
    :param last_status: the status the deferring task's own check saw (for a timeout before the
        first check).
    :param settings: the region, project, workspace, pace, deadline, retry and outage keywords of
        :class:`~airflow_provider_modelarts.triggers.base.ModelArtsBaseTrigger`.
    """

    id_field = "model_id"
    condition: ModelWaitCondition

    def __init__(
        self,
        model_id: str,
        target_statuses: list[str],
        failure_statuses: list[str],
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        *,
        last_status: str | None = None,
        **settings: Unpack[TriggerSettings],
    ) -> None:
        self.condition = ModelWaitCondition(model_id, target_statuses, failure_statuses)
        super().__init__(last_status, modelarts_conn_id=modelarts_conn_id, **settings)

    def poller_key(self) -> PollerKey:
        from airflow_provider_modelarts.waiting.poller_inference import ModelPollerKey

        return ModelPollerKey(**self._poller_key_fields())

    def _source_factory(self) -> Callable[[Any], StatusSource[Any]]:
        from airflow_provider_modelarts.waiting.poller_inference import model_source_for

        return model_source_for


class ModelArtsServiceTrigger(_InferenceTrigger):
    """Poll one real-time or batch service until it reaches a target status (``running``, or
    ``finished`` for a batch run) or fails
    (:class:`~airflow_provider_modelarts.waiting.inference.ServiceWaitCondition`). A failure's
    message carries the service's ``error_msg`` and its last events.

    :param service_id: the service's id.
    :param target_statuses: statuses that end the wait successfully; ``None``: by the service's
        type (``running`` for real-time, ``finished`` for batch).
    :param failure_statuses: statuses that fail it (any other terminal status fails it too).
    :param modelarts_conn_id: the ModelArts connection id.
    :param concerning: ``"warn"`` or ``"fail"``: what ``concerning`` does to a wait for ``running``.
    :param on_kill_action: what a user's Mark failed or Mark success of the deferred task does to
        the service: ``"stop"``, ``"delete"`` or ``"none"`` (default). On Airflow 3.3+ the
        triggerer calls ``on_kill``, below it cancels ``run()``; either way the trigger reads the
        task's state (``task_instance``) and acts only if the task ended: a Clear leaves the
        service to the new try, and a triggerer restart leaves it alone.
    :param task_instance: ``{"dag_id", "task_id", "run_id", "map_index"}`` of the deferred task.
    :param last_status: as for :class:`ModelArtsModelTrigger`.
    :param settings: as for :class:`ModelArtsModelTrigger`.
    """

    id_field = "service_id"
    condition: ServiceWaitCondition

    def __init__(
        self,
        service_id: str,
        target_statuses: list[str] | None,
        failure_statuses: list[str],
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        *,
        concerning: Concerning = "warn",
        on_kill_action: str = "none",
        task_instance: dict[str, Any] | None = None,
        last_status: str | None = None,
        **settings: Unpack[TriggerSettings],
    ) -> None:
        self.condition = ServiceWaitCondition(
            service_id,
            target_statuses,
            failure_statuses,
            concerning=concerning,
        )
        self.on_kill_action = validate_choice(on_kill_action, "on_kill_action", KILL_ACTIONS)
        # Not ``self.task_instance``: BaseTrigger's, which the triggerer sets to its own task instance.
        self.task_instance_keys = task_instance
        super().__init__(last_status, modelarts_conn_id=modelarts_conn_id, **settings)

    def _own_kwargs(self) -> dict[str, Any]:
        return {
            "concerning": self.condition.concerning,
            "on_kill_action": self.on_kill_action,
            "task_instance": self.task_instance_keys,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event_yielded = False
        try:
            async for event in super().run():
                event_yielded = True
                yield event
        except asyncio.CancelledError:
            # Below Airflow 3.3 the triggerer never calls on_kill: the cancelled run() decides.
            if self.on_kill_action != "none" and not event_yielded and not triggerer_calls_on_kill():
                await self._end_if_task_ended()
            raise

    async def on_kill(self) -> None:
        """Airflow 3.3+ calls this on Mark failed, Mark success and Clear (never on a triggerer
        restart or a timeout): stop or delete the service, unless the task was cleared."""
        if self.on_kill_action == "none":
            return
        try:
            await self._end_if_task_ended()
        except asyncio.CancelledError:
            # The triggerer cancels a trigger until it ends, and may cut a slow on_kill short.
            self.log.warning(
                "on_kill was cut short before it could decide: service %s was left as it is. If the task was "
                "marked failed or success, %s it in the ModelArts console",
                self.resource_id, self.on_kill_action,
            )  # fmt: skip
            raise

    async def _end_if_task_ended(self) -> None:
        """Stop or delete the service if the user ended the task (Mark failed or success). Not
        after a Clear: the new try finds this service by its name and goes on with it, so
        stopping it would fail that try. Not while the task is still deferred (a triggerer
        restart, or the trigger moving to another triggerer)."""
        from airflow_provider_modelarts.waiting.poller import run_in_worker_thread

        what = f"service {self.resource_id}"
        keys = self.task_instance_keys
        if not keys:
            self.log.warning("Trigger cancelled without its task instance's keys: %s left as it is", what)
            return
        try:
            ended = await run_in_worker_thread(lambda: task_ended(keys))
        except TaskStateUnavailableError as error:
            self.log.warning(
                "Trigger cancelled, but the state of task instance %s could not be read (%s): %s was left as it "
                "is. If the task was marked failed or success, %s it in the ModelArts console",
                keys, error, what, self.on_kill_action,
            )  # fmt: skip
            return
        if not ended:
            self.log.info("Trigger cancelled while its task was cleared or still waits: %s is left to it", what)
            return
        if not await run_in_worker_thread(lambda: self._still_this_try(keys)):
            # Cleared, and a later try already ended (with this service, found by its name).
            self.log.info("Trigger cancelled after a later try of its task took %s over: it is left to it", what)
            return
        self.log.info("The deferred task was marked failed or success: %s %s", self.on_kill_action, what)
        await self._end()

    def _still_this_try(self, keys: Mapping[str, Any]) -> bool:
        """Whether the task's kill record (written when this try deferred) is still this try's.
        A Clear clears the task's XComs; a later try that defers writes its own. Blocking."""
        if keys.get("try_number") is None:
            return True  # no try to compare with: the state alone decides
        from airflow.providers.common.compat.sdk import XCom

        where = {name: keys[name] for name in ("dag_id", "task_id", "run_id", "map_index")}
        try:
            record = XCom.get_one(key=KILL_ACTION_XCOM_KEY, **where)
        except Exception as error:  # noqa: BLE001 - unsure whose service it is: leave it
            self.log.warning(
                "Could not read the task's kill record (%s): service %s left as it is", error, self.resource_id
            )
            return False
        return isinstance(record, Mapping) and record.get("try_number") == keys["try_number"]

    async def _end(self) -> None:
        from airflow_provider_modelarts.waiting.poller import hook_for, run_in_worker_thread

        hook = hook_for(self.poller_key())
        try:
            await run_in_worker_thread(
                lambda: end_service_quietly(hook, self.resource_id, self.on_kill_action, self.log)
            )
        finally:
            hook.close()

    def poller_key(self) -> PollerKey:
        from airflow_provider_modelarts.waiting.poller_inference import ServicePollerKey

        return ServicePollerKey(**self._poller_key_fields())

    def _source_factory(self) -> Callable[[Any], StatusSource[Any]]:
        from airflow_provider_modelarts.waiting.poller_inference import service_source_for

        return service_source_for
