"""ModelArtsHook's v2 calls against the emulator over real HTTP: show, search with filters,
sorting and page numbers, the iterator's request count, not-found, and both auth modes.

The module asks the emulator itself whether it serves the v2 API: a v1-only emulator answers a
v2 path with the gateway's 404 (APIGW.0101, "no such API"), and then every test here is
skipped; once the emulator serves v2, a random job id gets ModelArts.2775 and the tests run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsApiError, ModelArtsNotFoundError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.conftest import AKSK_CONN_ID, api_requests


@pytest.fixture(scope="module", autouse=True)
def _emulator_serves_v2(emulator: ModelArtsEmulator) -> Iterator[None]:
    hook = ModelArtsHook(AKSK_CONN_ID, retry_limit=0)
    try:
        hook.get_training_job(str(uuid.uuid4()))
    except ModelArtsNotFoundError:
        pass
    except ModelArtsApiError as error:
        if error.http_status == 404 and error.error_code.startswith(("APIGW.", "APIG.")):
            pytest.skip(f"the emulator serves no v2 training-job API yet ({error.error_code})")
        raise
    finally:
        hook.close()
    yield


def _is_uuid(value: object) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def test_one_search_page_is_the_body_as_returned(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    body = hook.search_training_jobs(limit=5)
    assert {"total", "count", "items"} <= body.keys()
    assert body["count"] <= body["total"]
    assert 0 < len(body["items"]) <= 5
    for job in body["items"]:
        row = v2.job_row(job)
        assert _is_uuid(row["id"]) and row["phase"] in {phase.value for phase in v2.JobPhase}
    assert api_requests(emu) == 1


def test_show_returns_the_job_the_search_listed(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    listed = hook.search_training_jobs(limit=1)["items"][0]
    job = hook.get_training_job(listed["metadata"]["id"].upper())
    assert job["metadata"]["id"] == listed["metadata"]["id"]
    assert job["metadata"]["name"] == listed["metadata"]["name"]
    assert api_requests(emu) == 2


def test_a_missing_job_is_not_found_at_once(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    with pytest.raises(ModelArtsNotFoundError) as error:
        hook.get_training_job(str(uuid.uuid4()))
    assert (error.value.http_status, error.value.error_code) == (400, "ModelArts.2775")
    assert api_requests(emu) == 1


def test_the_iterator_costs_ceil_count_over_limit_requests(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    count = hook.search_training_jobs(limit=1)["count"]
    limit = 7
    ids = [v2.job_row(job)["id"] for job in hook.iter_training_jobs_v2(limit=limit)]
    assert len(ids) == len(set(ids)) == count
    assert api_requests(emu) == 1 + v2.pages_needed(count, limit)


def test_max_results_stops_paging(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    count = hook.search_training_jobs(limit=1)["count"]
    wanted = min(count, 5)
    assert len(list(hook.iter_training_jobs_v2(limit=2, max_results=wanted))) == wanted
    assert api_requests(emu) == 1 + v2.pages_needed(wanted, 2)


def test_offset_is_a_page_number(hook: ModelArtsHook) -> None:
    first_two_pages = [job["metadata"]["id"] for job in hook.search_training_jobs(limit=6)["items"]]
    page_0 = [job["metadata"]["id"] for job in hook.search_training_jobs(limit=3, offset=0)["items"]]
    page_1 = [job["metadata"]["id"] for job in hook.search_training_jobs(limit=3, offset=1)["items"]]
    assert page_0 + page_1 == first_two_pages


def test_a_phase_filter_returns_only_those_phases(hook: ModelArtsHook) -> None:
    wanted = {"Completed", "Failed"}
    jobs = list(hook.iter_training_jobs_v2(phase=sorted(wanted)))
    assert {v2.phase_of(job) for job in jobs} <= wanted


def test_a_name_filter_finds_the_job(hook: ModelArtsHook) -> None:
    listed = hook.search_training_jobs(limit=1)["items"][0]
    found = list(hook.iter_training_jobs_v2(name=listed["metadata"]["name"]))
    assert listed["metadata"]["id"] in {job["metadata"]["id"] for job in found}
    assert all(listed["metadata"]["name"] in job["metadata"]["name"] for job in found)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sorting_by_create_time(hook: ModelArtsHook, order: str) -> None:
    created = [job["metadata"]["create_time"] for job in hook.search_training_jobs(order=order, limit=50)["items"]]
    assert created == sorted(created, reverse=order == "desc")


def test_token_auth_searches_too(token_hook: ModelArtsHook) -> None:
    assert "items" in token_hook.search_training_jobs(limit=1)
