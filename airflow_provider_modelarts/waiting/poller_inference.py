"""The model and service sources of the shared poller (issue 19): the objects of many watched
models or services with as few requests as the v1 lists allow.

A round lists the project's services (or models), 1000 a page, when that costs fewer requests than
reading each watched one (``GET`` by id); else it reads each directly. The list's last length is
how many pages the next round's list costs (one while unknown). For W watchers of T services a
round then costs ``min(W, ceil(T / 1000)) + E`` requests, where E counts the watched ones read
directly:

* the ones the list did not show (another workspace, created since, deleted: a ``GET`` tells);
* the ones whose listed status ends a wait and needs the full object to say how: a failed model
  (its reason), a failed or ``concerning`` service (``error_msg`` and its last events, one more
  request) and a finished batch service (its ``config``, the output paths). These end their
  watchers' waits, so each costs its E once.

A status seen in the list is never taken as proof that a resource is gone: only a ``GET`` answers
"not found". Errors stay with the watches they concern, as in the other sources: a failed list page
fails the watches it would have served (their direct reads are not sent: asking each one would
multiply the requests sent to a failing service), and a failed ``GET`` only its own watch.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.cloud.inference import models, services
from airflow_provider_modelarts.cloud.inference.common import DEFAULT_LIMIT
from airflow_provider_modelarts.exceptions import ModelArtsError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.waiting.inference import with_events
from airflow_provider_modelarts.waiting.poller import PollerKey, RoundOutcome, StatusSource, hook_for

__all__ = [
    "ModelPollerKey",
    "ModelSource",
    "ServicePollerKey",
    "ServiceSource",
    "model_source_for",
    "service_source_for",
]

#: Service statuses whose full object (and, for failures, last events) a verdict needs.
SERVICE_DETAIL_STATUSES = frozenset(
    status.value
    for status in (services.ServiceStatus.FAILED, services.ServiceStatus.CONCERNING, services.ServiceStatus.FINISHED)
)
SERVICE_EVENT_STATUSES = frozenset({services.ServiceStatus.FAILED.value, services.ServiceStatus.CONCERNING.value})
#: Model statuses whose full object (the failure reason) a verdict needs.
MODEL_DETAIL_STATUSES = frozenset(status.value for status in models.FAILURE_STATUSES)


@dataclass(frozen=True)
class ModelPollerKey(PollerKey):
    """A :class:`PollerKey` for model watches: never equal to another source's key."""

    api_version: str = "v1-models"


@dataclass(frozen=True)
class ServicePollerKey(PollerKey):
    """A :class:`PollerKey` for service watches: never equal to another source's key."""

    api_version: str = "v1-services"


class _ListedSource(StatusSource[str]):
    """Watches are resource ids; a round lists or reads directly, whichever costs less."""

    id_field: str
    status_field: str
    detail_statuses: frozenset[str]

    def __init__(self, hook: ModelArtsHook) -> None:
        super().__init__(hook)
        # How many resources the last list showed: how many pages the next one costs.
        self.known_total: int | None = None

    def connection_changed(self) -> None:
        self.known_total = None

    def list_pages(self) -> int:
        return max(1, math.ceil((self.known_total or 0) / DEFAULT_LIMIT))

    @abstractmethod
    def _list(self) -> list[dict[str, Any]]:
        """Every resource of the project (auto-paged, 1000 a page)."""

    @abstractmethod
    def _get(self, resource_id: str) -> dict[str, Any]:
        """One resource's full object (and what its verdict needs besides)."""

    def read(self, watches: set[str]) -> RoundOutcome[str]:
        outcome: RoundOutcome[str] = RoundOutcome(number=0)
        direct = set(watches)
        if self.list_pages() < len(watches):
            self.check_open()
            try:
                listed = self._list()
            except ModelArtsError as error:
                for resource_id in watches:
                    outcome.errors[resource_id] = error
                return outcome
            self.known_total = len(listed)
            by_id = {item.get(self.id_field): item for item in listed}
            direct = set()
            for resource_id in watches:
                item = by_id.get(resource_id)
                if item is None or _status(item, self.status_field) in self.detail_statuses:
                    direct.add(resource_id)
                else:
                    outcome.snapshots[resource_id] = item
        for resource_id in sorted(direct):
            self.check_open()
            try:
                outcome.snapshots[resource_id] = self._get(resource_id)
            except ModelArtsError as error:
                outcome.errors[resource_id] = error
        return outcome


def _status(item: dict[str, Any], status_field: str) -> str | None:
    value = item.get(status_field)
    return value.strip().lower() if isinstance(value, str) else None


class ModelSource(_ListedSource):
    """The models' source: ``list_models`` pages, or ``get_model`` for each."""

    id_field = "model_id"
    status_field = "model_status"
    detail_statuses = MODEL_DETAIL_STATUSES

    def _list(self) -> list[dict[str, Any]]:
        return self.hook.list_models(limit=DEFAULT_LIMIT)

    def _get(self, resource_id: str) -> dict[str, Any]:
        return self.hook.get_model(resource_id)


class ServiceSource(_ListedSource):
    """The services' source: ``list_services`` pages, or ``get_service`` for each; a failed or
    ``concerning`` service's last events come along (see
    :func:`~airflow_provider_modelarts.waiting.inference.with_last_events`)."""

    id_field = "service_id"
    status_field = "status"
    detail_statuses = SERVICE_DETAIL_STATUSES

    def _list(self) -> list[dict[str, Any]]:
        return self.hook.list_services(limit=DEFAULT_LIMIT)

    def _get(self, resource_id: str) -> dict[str, Any]:
        service = self.hook.get_service(resource_id)
        if _status(service, self.status_field) not in SERVICE_EVENT_STATUSES:
            return service
        self.check_open()
        return with_events(self.hook, service, resource_id)


def model_source_for(key: PollerKey) -> ModelSource:
    """The models' source of a poller, on :func:`hook_for`'s hook."""
    return ModelSource(hook_for(key))


def service_source_for(key: PollerKey) -> ServiceSource:
    """The services' source of a poller, on :func:`hook_for`'s hook."""
    return ServiceSource(hook_for(key))
