"""cloud/v1.py: the v1 status codes and their classes, the list filters and the versions query,
ids, and the v1 wait condition built on the status classes (waiting.conditions' WaitCondition)."""

from __future__ import annotations

import pytest

from airflow_provider_modelarts.cloud import v1
from airflow_provider_modelarts.exceptions import (
    ModelArtsValidationError,
)
from airflow_provider_modelarts.waiting.conditions import WaitCondition


def test_job_status_names_and_classes() -> None:
    assert len({member.value for member in v1.JobStatus}) == 23
    assert v1.JobStatus(10).name == "JOBSTAT_COMPLETED"
    assert v1.JobStatus.COMPLETED is v1.JobStatus.JOBSTAT_COMPLETED
    assert v1.JobStatus(22).name == "MOUNT_FAILED"
    assert [s for s in v1.JobStatus if s.is_success] == [v1.JobStatus.COMPLETED]
    assert {int(s) for s in v1.JobStatus if s.is_failure} == {3, 5, 6, 11, 12, 13, 14, 16, 17, 21, 22}
    # 20 (review finished) ends the version but is neither success nor failure; 9 (killing) is
    # still in progress.
    review_finished = v1.JobStatus(20)
    assert review_finished.is_terminal and not review_finished.is_success and not review_finished.is_failure
    assert v1.JobStatus(9).is_in_progress
    assert v1.status_name(99) == "UNDOCUMENTED_99" and not v1.is_terminal_code(99)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 1001}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"per_page": True}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": 65536}, "page"),
        ({"page": -1}, "page"),
        ({"status": 23}, "status"),
        ({"status": -1}, "status"),
        ({"status": "FINISHED"}, "status"),
        ({"order": "up"}, "order"),
        ({"sort_by": "name"}, "sort_by"),
        ({"search_content": "x" * 65}, "search_content"),
        ({"workspace_id": "a/b"}, "workspace_id"),
    ],
)
def test_list_filters_refuse_bad_values_naming_the_parameter(kwargs: dict[str, object], parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v1.JobListFilters.validate(**kwargs)  # type: ignore[arg-type]
    assert error.value.parameter == parameter
    assert parameter in str(error.value) and error.value.allowed in str(error.value)


def test_list_filters_coerce_templated_strings_and_build_the_query() -> None:
    filters = v1.JobListFilters.validate(
        status="RUNNING", per_page="8", page=" 2 ", sort_by="create_time", order="DESC", search_content="a b"
    )
    assert filters.per_page == 8 and filters.page == 2 and filters.status == v1.JobStatus.RUNNING
    assert filters.query("sortBy") == [
        ("per_page", "8"),
        ("page", "2"),
        ("order", "desc"),
        ("status", "8"),
        ("sortBy", "create_time"),
        ("search_content", "a b"),
    ]
    assert ("sort_by", "create_time") in filters.query(v1.sort_param_for("password"))
    assert ("order", "asc") in v1.JobListFilters.validate().query("sortBy")


def test_versions_query_without_paging_asks_for_all() -> None:
    assert v1.list_versions_query() == [("page", "0")]
    assert v1.list_versions_query(per_page=5) == [("per_page", "5"), ("page", "1")]
    with pytest.raises(ModelArtsValidationError, match="page"):
        v1.list_versions_query(page=0)


@pytest.mark.parametrize("bad", [0, -3, "abc", "1.5", 2**63, None, True, 1.0])
def test_ids_must_be_positive_integers(bad: object) -> None:
    with pytest.raises(ModelArtsValidationError, match="job_id"):
        v1.validate_id(bad, "job_id")


def test_wait_condition_refuses_empty_and_overlapping_sets() -> None:
    with pytest.raises(ModelArtsValidationError, match="target_status"):
        WaitCondition.validate(1, None, [], None)
    # Targets that are failures by default leave the defaults (they are what the user asked for);
    # only failure_statuses the user wrote may conflict with target_status.
    assert 11 not in WaitCondition.validate(1, None, [10, 11], None).failure_statuses
    with pytest.raises(ModelArtsValidationError, match="failure_statuses.*target_status.*JOBSTAT_FAILED"):
        WaitCondition.validate(1, None, [10, 11], [11, 12])
    with pytest.raises(ModelArtsValidationError, match="target_status"):
        WaitCondition.validate(1, None, [10, 42], None)


def test_wait_condition_verdicts() -> None:
    condition = WaitCondition.validate(7, 70, v1.JobStatus.COMPLETED, None)
    assert condition.judge(10)[0] == "success"
    assert condition.judge(11) == (
        "failed",
        "training job 7 (version 70) has status 11 (JOBSTAT_FAILED): a failure status",
    )
    assert condition.judge(8)[0] == "waiting"
    assert condition.judge(20)[0] == "failed"
    assert condition.judge(99)[0] == "waiting"
    # Terminal but neither target nor failure: the job can no longer get there.
    narrow = WaitCondition.validate(7, 70, [8], [11])
    assert narrow.judge(10)[0] == "failed" and "not a target status" in narrow.judge(10)[1]
