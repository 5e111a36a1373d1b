"""The v1 source of the shared poller: :class:`RoundPlanner` reads the statuses of a round's
watched job versions.

A round costs ``ceil(T / 1000)`` list requests for T jobs, or one call per job when fewer; see
``docs/waiting-and-outages.md``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from airflow_provider_modelarts.cloud.v1 import PER_PAGE_RANGE, JobListFilters
from airflow_provider_modelarts.exceptions import ModelArtsError, ModelArtsNotFoundError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.waiting.poller import PollerKey, RoundOutcome, StatusSource, hook_for

__all__ = ["RoundPlanner", "WatchKey", "v1_source_for"]

WatchKey = tuple[int, int]  # a v1 watch: (job_id, version_id)


class RoundPlanner(StatusSource[WatchKey]):
    """The v1 source: the statuses of a set of job versions with as few requests as possible.

    Errors stay with the job they concern: a job whose calls fail (not found, or a transient error
    once the hook's retries are spent) fails only its own watches. A list page that fails leaves
    the watches it would have served with that error: the failure says nothing about any one job,
    and asking every one of them directly would multiply the requests sent to a failing service
    (the hook has already retried the page). Jobs that earlier pages showed are served as usual.
    """

    def __init__(self, hook: ModelArtsHook) -> None:
        super().__init__(hook)
        # job_total_count from the last list call: how many list pages a round would cost.
        self.known_total: int | None = None

    def connection_changed(self) -> None:
        self.known_total = None  # another endpoint or project: its size is unknown

    def read(self, watches: set[WatchKey]) -> RoundOutcome[WatchKey]:
        outcome: RoundOutcome[WatchKey] = RoundOutcome(number=0)
        latest, list_error = self._from_list({job_id for job_id, _ in watches})
        direct: dict[int, set[int]] = {}
        for job_id, version_id in watches:
            row = latest.get(job_id)
            if row is not None and row.get("version_id") == version_id:
                outcome.snapshots[(job_id, version_id)] = dict(row)
            elif row is None and list_error is not None:
                outcome.errors[(job_id, version_id)] = list_error
            else:
                direct.setdefault(job_id, set()).add(version_id)
        for job_id, version_ids in direct.items():
            self._fetch_job(job_id, version_ids, job_is_listed=job_id in latest, outcome=outcome)
        return outcome

    def _list_pages(self) -> int:
        return max(1, math.ceil((self.known_total or 0) / PER_PAGE_RANGE[1]))

    def _from_list(self, job_ids: set[int]) -> tuple[dict[int, dict[str, Any]], ModelArtsError | None]:
        """Latest-version rows of the jobs, read from the job list while that is the cheaper way,
        and the error of the page that failed, if one did."""
        found: dict[int, dict[str, Any]] = {}
        # create_time ascending keeps pages stable while new jobs are created (they go last).
        filters = JobListFilters.validate(per_page=PER_PAGE_RANGE[1], sort_by="create_time", order="asc")
        page = 1
        while len(found) < len(job_ids):
            pages_left = self._list_pages() - page + 1
            if pages_left >= len(job_ids) - len(found):
                break  # asking each remaining job directly costs no more
            self.check_open()
            try:
                body = self.hook.list_training_jobs_page(dataclasses.replace(filters, page=page))
            except ModelArtsError as error:
                return found, error
            if isinstance(body.get("job_total_count"), int):
                self.known_total = body["job_total_count"]
            jobs = body.get("jobs") or []
            found.update((job["job_id"], job) for job in jobs if job.get("job_id") in job_ids)
            if len(jobs) < filters.per_page:
                break
            page += 1
        return found, None

    def _fetch_job(
        self, job_id: int, version_ids: set[int], job_is_listed: bool, outcome: RoundOutcome[WatchKey]
    ) -> None:
        self.check_open()
        try:
            if len(version_ids) == 1 and not job_is_listed:
                # Probably the latest version of a job the list did not cover: one detail call.
                (version_id,) = version_ids
                outcome.snapshots[(job_id, version_id)] = self.hook.get_job_version(job_id, version_id)
                return
            # Older versions: one call for all the job's versions serves every watcher of the job.
            body = self.hook.list_job_versions(job_id)
        except ModelArtsError as error:
            for version_id in version_ids:
                outcome.errors[(job_id, version_id)] = error
            return
        by_id = {version.get("version_id"): version for version in body.get("versions") or []}
        for version_id in version_ids:
            version = by_id.get(version_id)
            if version is None:
                outcome.errors[(job_id, version_id)] = ModelArtsNotFoundError(
                    404, "", f"Training job version (ID: {version_id}) not found in job {job_id}"
                )
            else:
                outcome.snapshots[(job_id, version_id)] = {
                    "job_id": job_id,
                    "job_name": body.get("job_name"),
                    **version,
                }


def v1_source_for(key: PollerKey) -> RoundPlanner:
    """The v1 source of a poller: a :class:`RoundPlanner` on :func:`hook_for`'s hook."""
    return RoundPlanner(hook_for(key))
