"""What "waiting for a model" and "waiting for a service" mean (issue 19), for the one wait path:
:func:`~airflow_provider_modelarts.waiting.check.check_once` in the sensors' poke and reschedule
modes and the operators' synchronous waits, the shared poller in the triggers.

Statuses are the v1 API's lower-case strings (``published``, ``running``, ...), read any case.
Their meaning comes from :mod:`airflow_provider_modelarts.cloud.inference`: which statuses are
in progress, which succeed, which fail. A status the pages do not document is waited for (until
the timeout), as an in-progress one.

``concerning`` (a running service with unhealthy instances) is not a status a wait is usually
written for: with ``concerning="warn"`` (the default) it ends a wait for ``running`` successfully,
with a warning in the message; with ``concerning="fail"`` it fails the wait. Listed among the
targets or failures by the user, it is what they say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_modelarts.cloud.inference import models, services
from airflow_provider_modelarts.cloud.inference.common import validate_resource_id
from airflow_provider_modelarts.exceptions import ModelArtsError, ModelArtsValidationError
from airflow_provider_modelarts.waiting.conditions import StatusScheme, StatusWait, Verdict

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

__all__ = [
    "LAST_EVENTS_KEY",
    "MODEL_STATUSES",
    "SERVICE_STATUSES",
    "ModelWaitCondition",
    "ServiceWaitCondition",
    "model_reader",
    "service_reader",
    "with_events",
    "with_last_events",
]

Concerning = Literal["warn", "fail"]
CONCERNING_CHOICES: tuple[str, ...] = ("warn", "fail")
#: Where a failed service's last events go in the object the wait judges (not an API field).
LAST_EVENTS_KEY = "last_events"
#: How many of a failed service's latest events its failure message shows.
LAST_EVENTS = 5

_MODEL_ORDER = [status.value for status in models.ModelStatus]
_SERVICE_ORDER = [status.value for status in services.ServiceStatus]


def _sort_key(order: list[str]) -> Callable[[str], tuple[int, str]]:
    return lambda status: (order.index(status) if status in order else len(order), status)


def _values(statuses: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(status.value) for status in statuses)


MODEL_STATUSES: StatusScheme[str] = StatusScheme(
    label=str,
    name=str,
    is_terminal=lambda status: status in _values(models.TERMINAL_STATUSES),
    sort_key=_sort_key(_MODEL_ORDER),
    default_failures=_values(models.FAILURE_STATUSES),
)
# A service never ends for good (it can be started, updated or deleted), but without an action it
# stays failed, stopped or finished: a wait that is still open there cannot end well.
SERVICE_STATUSES: StatusScheme[str] = StatusScheme(
    label=str,
    name=str,
    is_terminal=lambda status: (
        status in _values(services.FAILURE_STATUSES | services.STOPPED_STATUSES | services.BATCH_SUCCESS_STATUSES)
    ),
    sort_key=_sort_key(_SERVICE_ORDER),
    default_failures=_values(services.FAILURE_STATUSES),
)


def _status_set(value: object, parameter: str, parse: Callable[[object], Any], documented: list[str]) -> frozenset[str]:
    """A status or several (any case), each documented, as lower-case values."""
    items = [value] if isinstance(value, str) else value
    allowed = "a status or a non-empty list of statuses, each one of " + ", ".join(documented)
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        raise ModelArtsValidationError(parameter, allowed, value)
    statuses = list(items)
    parsed = [parse(item) for item in statuses]
    if not statuses or any(status is None for status in parsed):
        raise ModelArtsValidationError(parameter, allowed, value)
    return frozenset(status.value for status in parsed)


def _status_of(value: object) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True, init=False)
class ModelWaitCondition(StatusWait[str]):
    """The wait for a model (``GET /v1/{project_id}/models/{model_id}``, ``model_status``).

    Validated on construction; each error names the parameter.

    :param model_id: the model's id.
    :param target_statuses: statuses that end the wait successfully (default ``published``).
    :param failure_statuses: statuses that fail it (default ``failed`` and ``building_failed``,
        minus the targets). Any other terminal status fails it too.
    """

    model_id: str
    target_statuses: frozenset[str]
    failure_statuses: frozenset[str]

    def __init__(
        self,
        model_id: str,
        target_statuses: str | Iterable[str] = (models.ModelStatus.PUBLISHED.value,),
        failure_statuses: str | Iterable[str] | None = None,
    ) -> None:
        parse, documented = models.parse_model_status, _MODEL_ORDER
        target = _status_set(target_statuses, "target_statuses", parse, documented)
        chosen = (
            None if failure_statuses is None else _status_set(failure_statuses, "failure_statuses", parse, documented)
        )
        object.__setattr__(self, "model_id", validate_resource_id(model_id, "model_id"))
        object.__setattr__(self, "target_statuses", target)
        object.__setattr__(
            self, "failure_statuses", MODEL_STATUSES.split(target, chosen, "target_statuses", "failure_statuses")
        )

    @property
    def scheme(self) -> StatusScheme[str]:
        return MODEL_STATUSES

    @property
    def subject(self) -> str:
        return f"model {self.model_id}"

    def status_of(self, job: Mapping[str, Any]) -> str | None:
        return _status_of(job.get("model_status"))

    def outcome(self, job: Mapping[str, Any]) -> str:
        """The model's failure reason, when it gives one."""
        reason = models.failure_reason(job) or _text(job.get("failure_reason"))
        return f"reason: {reason}" if reason else ""

    def row(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """The compact XCom row of the model."""
        row = models.model_row(job)
        row["failure_reason"] = row["failure_reason"] or _text(job.get("failure_reason"))
        return row


@dataclass(frozen=True, init=False)
class ServiceWaitCondition(StatusWait[str]):
    """The wait for a real-time or batch service (``GET /v1/{project_id}/services/{service_id}``).

    Validated on construction; each error names the parameter.

    :param service_id: the service's id.
    :param target_statuses: statuses that end the wait successfully; ``None`` (default): by the
        service's type, ``running`` for a real-time service and ``finished`` for a batch run
        (:attr:`by_type`, decided on each read from the service's ``infer_type``).
    :param failure_statuses: statuses that fail it (default ``failed``, minus the targets). Any
        other terminal status (``stopped``, ``finished``, ``failed``) fails it too.
    :param concerning: ``"warn"`` (default): ``concerning`` ends a wait for ``running``
        successfully, with a warning; ``"fail"``: it fails the wait. Unused when the user lists
        ``concerning`` in either set.
    """

    service_id: str
    target_statuses: frozenset[str]
    failure_statuses: frozenset[str]
    concerning: Concerning
    by_type: bool

    def __init__(
        self,
        service_id: str,
        target_statuses: str | Iterable[str] | None = None,
        failure_statuses: str | Iterable[str] | None = None,
        concerning: Concerning = "warn",
    ) -> None:
        parse, documented = services.parse_service_status, _SERVICE_ORDER
        object.__setattr__(self, "by_type", target_statuses is None)
        object.__setattr__(self, "_chosen_failures", failure_statuses)
        if target_statuses is None:
            target_statuses = (services.ServiceStatus.RUNNING.value,)
        target = _status_set(target_statuses, "target_statuses", parse, documented)
        chosen = (
            None if failure_statuses is None else _status_set(failure_statuses, "failure_statuses", parse, documented)
        )
        if concerning not in CONCERNING_CHOICES:
            raise ModelArtsValidationError("concerning", "'warn' or 'fail'", concerning)
        object.__setattr__(self, "concerning", concerning)
        object.__setattr__(self, "service_id", validate_resource_id(service_id, "service_id"))
        object.__setattr__(self, "target_statuses", target)
        object.__setattr__(
            self, "failure_statuses", SERVICE_STATUSES.split(target, chosen, "target_statuses", "failure_statuses")
        )

    @property
    def scheme(self) -> StatusScheme[str]:
        return SERVICE_STATUSES

    @property
    def subject(self) -> str:
        return f"service {self.service_id}"

    def judge(self, status: str) -> tuple[Verdict, str]:
        concerning = services.ServiceStatus.CONCERNING.value
        if status == concerning and status not in self.target_statuses | self.failure_statuses:
            description = f"{self.describe(status)} (running, some instances unhealthy)"
            if self.concerning == "fail":
                return "failed", f"{description}: a failure, as concerning='fail'"
            if services.ServiceStatus.RUNNING.value in self.target_statuses:
                return "success", f"{description}: a warning only, as concerning='warn'"
        return super().judge(status)

    def target_argument(self) -> list[str] | None:
        """``target_statuses`` as a trigger takes it: ``None`` while they follow the type."""
        return None if self.by_type else self.scheme.ordered(self.target_statuses)

    def for_service(self, job: Mapping[str, Any]) -> ServiceWaitCondition:
        """The condition for this service: with targets by type, a batch run's wait is for ``finished``."""
        if not self.by_type or job.get("infer_type") != services.BATCH:
            return self
        finished = (services.ServiceStatus.FINISHED.value,)
        return ServiceWaitCondition(self.service_id, finished, self.__dict__["_chosen_failures"], self.concerning)

    def judge_job(self, job: Mapping[str, Any]) -> tuple[Verdict, str]:
        chosen = self.for_service(job)
        return super().judge_job(job) if chosen is self else chosen.judge_job(job)

    def is_warning(self, status: str | None) -> bool:
        """Whether a success at ``status`` is one with a warning (``concerning``)."""
        return status == services.ServiceStatus.CONCERNING.value and status not in self.target_statuses

    def status_of(self, job: Mapping[str, Any]) -> str | None:
        return _status_of(job.get("status"))

    def outcome(self, job: Mapping[str, Any]) -> str:
        """The service's ``error_msg`` and its last events, when they were read."""
        parts = []
        error_msg = _text(job.get("error_msg"))
        if error_msg:
            parts.append(f"error_msg: {error_msg}")
        events = job.get(LAST_EVENTS_KEY)
        if isinstance(events, list) and events:
            parts.append("last events: " + "; ".join(services.format_event(event) for event in events))
        return "; ".join(parts)

    def row(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """The compact XCom row of the service (``dest_paths`` for a batch service)."""
        row = services.service_row(job)
        if row.get("infer_type") == services.BATCH:
            row["dest_paths"] = services.batch_outputs(job)
        return row


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def with_last_events(hook: ModelArtsHook, condition: ServiceWaitCondition, service: dict[str, Any]) -> dict[str, Any]:
    """``service``, with its last events under :data:`LAST_EVENTS_KEY` when the wait fails on it
    (one more request). Events that cannot be read are left out: they only explain a failure."""
    if condition.judge_job(service)[0] != "failed":
        return service
    return with_events(hook, service, condition.service_id)


def with_events(hook: ModelArtsHook, service: dict[str, Any], service_id: str) -> dict[str, Any]:
    """``service`` with its last :data:`LAST_EVENTS` events, oldest first, under
    :data:`LAST_EVENTS_KEY` (one request); as it is when they cannot be read."""
    try:
        events = hook.list_service_events(service_id, order="desc", limit=LAST_EVENTS, max_results=LAST_EVENTS)
    except ModelArtsError:
        return service
    return {**service, LAST_EVENTS_KEY: list(reversed(events))}


def model_reader(hook: ModelArtsHook, condition: ModelWaitCondition) -> Callable[[], dict[str, Any]]:
    """The ``read`` of :func:`~airflow_provider_modelarts.waiting.check.check_once` for a model."""
    return lambda: hook.get_model(condition.model_id)


def service_reader(hook: ModelArtsHook, condition: ServiceWaitCondition) -> Callable[[], dict[str, Any]]:
    """The ``read`` of :func:`~airflow_provider_modelarts.waiting.check.check_once` for a service:
    ``get_service``, and its last events when it failed (:func:`with_last_events`)."""
    return lambda: with_last_events(hook, condition, hook.get_service(condition.service_id))
