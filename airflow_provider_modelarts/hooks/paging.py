"""How :class:`~airflow_provider_modelarts.hooks.modelarts.ModelArtsHook` walks the APIs' pages.

Pure iteration over a ``fetch`` callable (one request per call): when to ask for the next page,
when to stop, and which rows are new. No HTTP here, so each rule can be tested on its own.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from airflow_provider_modelarts.cloud import v1, v2

# Pages of auto search trials read at most (the SDK allows 100 trials per job at 1-100 a page).
MAX_TRIAL_PAGES = 100


def v1_pages(
    fetch: Callable[[v1.JobListFilters], dict[str, Any]], filters: v1.JobListFilters, max_results: int | None
) -> Iterator[dict[str, Any]]:
    """Each v1 list page's body from ``filters.page`` on, until every job (or ``max_results``) was returned."""
    seen = 0
    for page in range(filters.page, v1.PAGE_RANGE[1] + 1):
        body = fetch(dataclasses.replace(filters, page=page))
        yield body
        jobs = body.get("jobs") or []
        seen += len(jobs)
        # job_total_count counts every job of the user, so once that many were seen no
        # filter can match more: this saves the empty page after an exact multiple.
        total = body.get("job_total_count")
        seen_all = isinstance(total, int) and seen >= total
        if len(jobs) < filters.per_page or seen_all or (max_results is not None and seen >= max_results):
            return


def v1_jobs(pages: Iterable[Mapping[str, Any]], limit: int | None) -> Iterator[dict[str, Any]]:
    """The jobs of v1 list pages, at most ``limit``."""
    yield from itertools.islice((job for body in pages for job in body.get("jobs") or []), limit)


def search_pages(
    fetch: Callable[[v2.JobSearch], dict[str, Any]], search: v2.JobSearch, max_results: int | None
) -> Iterator[dict[str, Any]]:
    """Each v2 search page's body from page ``search.offset`` on. Stops after a short page, once
    the pages cover ``count`` (the matches the first answer reported), after ``max_results``
    jobs, or on a page with no job not seen before (a server ignoring ``offset`` cannot loop it)."""
    seen: set[str] = set()
    page = search.offset
    pages = None
    while True:
        body = fetch(dataclasses.replace(search, offset=page))
        yield body
        items = [item for item in body.get("items") or [] if isinstance(item, Mapping)]
        ids = {str(v2.job_row(item)["id"]) for item in items}
        new = ids - seen
        seen |= ids
        count = body.get("count")
        if pages is None and isinstance(count, int) and not isinstance(count, bool):
            pages = v2.pages_needed(count, search.limit)
        page += 1
        if (
            len(items) < search.limit
            or not new
            or (pages is not None and page >= pages)
            or (max_results is not None and len(seen) >= max_results)
        ):
            return


def first_sightings(pages: Iterable[Mapping[str, Any]], most: int | None) -> Iterator[dict[str, Any]]:
    """The jobs of v2 search pages, each once (a job created while paging shifts the later pages
    by one), at most ``most``."""
    seen: set[object] = set()

    def jobs() -> Iterator[dict[str, Any]]:
        for body in pages:
            for job in body.get("items") or []:
                job_id = v2.job_row(job)["id"]
                if job_id not in seen:
                    seen.add(job_id)
                    yield job

    yield from itertools.islice(jobs(), most)


def trial_rows(fetch: Callable[[int], Mapping[str, Any]], size: int) -> list[dict[str, Any]]:
    """Every auto search trial, ``fetch(offset)`` returning one page of ``size``.

    Pages are asked by number (the SDK reads ``offset`` as a page number); a page that repeats
    trials already read shows OTC's reading (an entry offset), used from then on. Stops at a short
    or empty page, once ``total`` trials were read, or at a page with no new trial.
    """
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    offset, by_entry = 0, False
    for _ in range(MAX_TRIAL_PAGES):
        body = fetch(offset)
        page = v2.trial_rows(body)
        new = [row for row in page if _trial_key(row) not in seen]
        seen.update(_trial_key(row) for row in new)
        rows.extend(new)
        total = body.get("total")
        if (
            len(page) < size
            or not new
            or (isinstance(total, int) and not isinstance(total, bool) and len(rows) >= total)
        ):
            break
        by_entry = by_entry or len(new) < len(page)
        offset = len(rows) if by_entry else offset + 1
    return rows


def _trial_key(row: Mapping[str, Any]) -> str:
    """What tells two trials apart: the trial id, else the whole row."""
    trial_id = row.get("trial_id")
    return f"id:{trial_id}" if isinstance(trial_id, str) and trial_id else json.dumps(row, sort_keys=True, default=str)


def offset_pages(
    fetch: Callable[[int], Mapping[str, Any]],
    first: int,
    limit: int,
    items_key: str,
    key: Callable[[Mapping[str, Any]], str],
    max_results: int | None,
) -> Iterator[dict[str, Any]]:
    """The items of the v1 inference lists (models, services, events), where ``offset`` is a page
    index and ``limit`` the page size, each once, at most ``max_results``. Stops after a short
    page, once ``total_count`` items were read, or at a page with no new item (a server that
    ignored ``offset`` cannot keep it paging)."""
    seen: set[str] = set()
    page = first
    while True:
        body = fetch(page)
        items = [item for item in body.get(items_key) or [] if isinstance(item, Mapping)]
        new = [item for item in items if key(item) not in seen]
        for item in new:
            seen.add(key(item))
            yield dict(item)
            if max_results is not None and len(seen) >= max_results:
                return
        total = body.get("total_count")
        read_all = isinstance(total, int) and not isinstance(total, bool) and len(seen) >= total
        if len(items) < limit or not new or read_all:
            return
        page += 1


def row_key(field: str) -> Callable[[Mapping[str, Any]], str]:
    """What tells two list items apart: ``field``, else the whole item."""

    def key(item: Mapping[str, Any]) -> str:
        value = item.get(field) if field else None
        return f"id:{value}" if isinstance(value, str) and value else json.dumps(item, sort_keys=True, default=str)

    return key
