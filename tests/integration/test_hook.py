"""ModelArtsHook against the emulator over real HTTP: paging, filters, versions, both auth
modes, token reuse and refresh, the wire spelling of the sort parameter, retries and errors."""

from __future__ import annotations

import json
import math

import pytest
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.api import JobStatus
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsServerError,
    ModelArtsThrottledError,
    ModelArtsTransportError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from tests.conftest import (
    AKSK_CONN_ID,
    EMULATOR_JOB_COUNT,
    IAM_USER_CONN_ID,
    TEMP_CONN_ID,
    TOKEN_CONN_ID,
    api_requests,
)


def _wire_queries(emu: ModelArtsEmulator) -> list[str]:
    return [entry["query"] for entry in emu.stats()["requests"] if "/training-jobs" in entry["path"]]


def test_list_one_page_returns_the_body_as_the_api_does(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    body = hook.list_training_jobs(per_page=5, page=2)
    assert body["is_success"] is True
    assert body["job_total_count"] == EMULATOR_JOB_COUNT
    assert {"job_count_limit", "quotas"} <= body.keys()
    assert len(body["jobs"]) == 5
    assert {"job_id", "job_name", "job_desc", "version_id", "status", "create_time", "duration", "version_count"} <= (
        body["jobs"][0].keys()
    )
    assert api_requests(emu) == 1


def test_iter_paginates_2345_jobs_in_ceil_n_over_1000_requests(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    default_workspace = [job["job_id"] for job in hook.iter_training_jobs()]
    assert api_requests(emu) == math.ceil(len(default_workspace) / 1000) == 3
    research = [job["job_id"] for job in hook.iter_training_jobs(workspace_id="ws-research")]
    assert api_requests(emu) == 3 + math.ceil(len(research) / 1000)
    every_job = default_workspace + research
    assert len(every_job) == len(set(every_job)) == EMULATOR_JOB_COUNT


def test_iter_is_lazy_and_stops_at_max_results(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    iterator = hook.iter_training_jobs(per_page=100, max_results=250)
    assert api_requests(emu) == 0
    assert len(list(iterator)) == 250
    assert api_requests(emu) == 3


def test_iter_with_a_filter_pages_until_a_short_page(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    completed = list(hook.iter_training_jobs(status=JobStatus.COMPLETED, per_page=1000))
    assert completed and all(job["status"] == 10 for job in completed)
    assert api_requests(emu) == math.ceil((len(completed) + 1) / 1000)


def test_filters_sorting_and_search(hook: ModelArtsHook) -> None:
    by_created = hook.list_training_jobs(per_page=50, sort_by="create_time", order="desc")["jobs"]
    created = [job["create_time"] for job in by_created]
    assert created == sorted(created, reverse=True)
    found = hook.list_training_jobs(search_content="demo-resnet50", per_page=10)["jobs"]
    assert [job["job_name"] for job in found] == ["demo-resnet50-train"]
    failed = hook.list_training_jobs(status=11, per_page=1000)["jobs"]
    assert failed and {job["status"] for job in failed} == {11}


def test_sort_parameter_spelling_follows_the_auth_mode(
    hook: ModelArtsHook, token_hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    aksk = hook.list_training_jobs(per_page=20, sort_by="create_time", order="desc")["jobs"]
    token = token_hook.list_training_jobs(per_page=20, sort_by="create_time", order="desc")["jobs"]
    queries = _wire_queries(emu)
    assert "sortBy=create_time" in queries[0] and "sort_by" not in queries[0]
    assert "sort_by=create_time" in queries[-1] and "sortBy" not in queries[-1]
    # Both orders are really applied by the server (a wrong spelling would be ignored).
    assert [job["job_id"] for job in aksk] == [job["job_id"] for job in token]
    assert [j["create_time"] for j in token] == sorted((j["create_time"] for j in token), reverse=True)


def test_search_content_goes_on_the_wire_encoded_as_signed(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    body = hook.list_training_jobs(search_content="no such job ü~*+&=")
    assert body["jobs"] == []
    assert "search_content=no%20such%20job%20%C3%BC~%2A%2B%26%3D" in _wire_queries(emu)[0]


def test_versions_all_and_paged_and_detail(hook: ModelArtsHook) -> None:
    every = hook.list_job_versions(1)
    assert every["job_id"] == 1 and every["job_name"] == "demo-resnet50-train"
    assert len(every["versions"]) == every["version_count"] >= 2
    paged = hook.list_job_versions("1", per_page=1, page=1)
    assert len(paged["versions"]) == 1 and paged["versions"][0]["version_id"] == every["versions"][0]["version_id"]
    latest = every["versions"][0]["version_id"]
    detail = hook.get_job_version(1, str(latest))
    assert detail["version_id"] == latest and detail["job_id"] == 1 and "spec_code" in detail
    assert isinstance(detail["system_metric_list"], dict)


def test_token_auth_fetches_one_token_and_reuses_it(token_hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    token_hook.list_training_jobs(per_page=1)
    token_hook.list_job_versions(1)
    token_hook.list_training_jobs(per_page=2)
    stats = emu.stats()
    assert stats["by_endpoint"]["iam_tokens"] == 1
    assert stats["requests_total"] == 4
    assert {entry["auth"] for entry in stats["requests"] if "/v1/" in entry["path"]} == {"token"}


def test_iam_user_with_domain_name(emu: ModelArtsEmulator) -> None:
    hook = ModelArtsHook(IAM_USER_CONN_ID)
    assert hook.list_training_jobs(per_page=1)["is_success"] is True


def test_temporary_credentials_send_a_signed_security_token(emu: ModelArtsEmulator) -> None:
    hook = ModelArtsHook(TEMP_CONN_ID)
    assert hook.list_training_jobs(per_page=1)["is_success"] is True
    assert emu.stats()["requests"][-1]["auth"] == "aksk-temp"


def test_expired_token_is_refreshed_once(token_hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    token_hook.list_training_jobs(per_page=1)
    emu.add_fault(kind="token_expired", count=1, path_contains="/training-jobs")
    assert token_hook.list_training_jobs(per_page=1)["is_success"] is True
    stats = emu.stats()
    assert stats["by_endpoint"]["iam_tokens"] == 2
    assert stats["requests_total"] == 5  # token, list, rejected list, new token, list


def test_wrong_password_is_an_auth_error_without_retries(emu: ModelArtsEmulator, monkeypatch) -> None:
    from tests.conftest import connection_json

    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELARTS_BADPW",
        connection_json(emu, "emulator-account", "Wrong-Password-123", auth_type="password"),
    )
    hook = ModelArtsHook("modelarts_badpw", retry_delay=0.01)
    with pytest.raises(ModelArtsAuthError, match="username or password") as error:
        hook.list_training_jobs()
    assert "Wrong-Password-123" not in str(error.value)
    assert api_requests(emu) == 1


def test_bad_secret_key_is_refused_once_and_not_retried(emu: ModelArtsEmulator, monkeypatch) -> None:
    from tests.conftest import connection_json

    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_BADSK", connection_json(emu, "EMUAKMODELARTS000001", "not-the-sk-1234"))
    hook = ModelArtsHook("modelarts_badsk", retry_delay=0.01)
    with pytest.raises(ModelArtsAuthError) as error:
        hook.list_training_jobs()
    assert error.value.error_code == "APIGW.0301" and "not-the-sk-1234" not in str(error.value)
    assert api_requests(emu) == 1


def test_missing_job_and_version_are_not_found(hook: ModelArtsHook) -> None:
    with pytest.raises(ModelArtsNotFoundError, match="999999"):
        hook.list_job_versions(999999)
    with pytest.raises(ModelArtsNotFoundError):
        hook.get_job_version(1, 987654321)


def test_transient_5xx_burst_is_retried(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="status", status=503, count=2)
    assert hook.list_training_jobs(per_page=1)["is_success"] is True
    assert api_requests(emu) == 3


def test_endless_5xx_stops_at_the_retry_budget(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="status", status=502)
    with pytest.raises(ModelArtsServerError) as error:
        hook.list_training_jobs()
    assert error.value.http_status == 502
    assert api_requests(emu) == hook.retry_limit + 1


def test_429_honours_retry_after(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    waits: list[float] = []
    hook.sleep = waits.append
    emu.add_fault(kind="status", status=429, retry_after="0", count=1)
    assert hook.list_training_jobs(per_page=1)["is_success"] is True
    assert waits == [0.0] and api_requests(emu) == 2


def test_retry_after_beyond_the_budget_is_not_waited_for(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    waits: list[float] = []
    hook.sleep = waits.append
    emu.add_fault(kind="status", status=429, retry_after="3600")
    with pytest.raises(ModelArtsThrottledError) as error:
        hook.list_training_jobs()
    assert error.value.retry_after == 3600 and waits == [] and api_requests(emu) == 1


@pytest.mark.parametrize("kind", ["drop", "drop_mid", "not_json", "truncated"])
def test_transport_faults_are_retried_then_succeed(hook: ModelArtsHook, emu: ModelArtsEmulator, kind: str) -> None:
    emu.add_fault(kind=kind, count=1)
    assert hook.list_training_jobs(per_page=3)["is_success"] is True
    assert api_requests(emu) == 2


def test_endless_dropped_connections_raise_a_transport_error(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="drop")
    with pytest.raises(ModelArtsTransportError, match="attempt"):
        hook.list_training_jobs()
    assert api_requests(emu) == hook.retry_limit + 1


def test_slow_response_times_out_and_is_retried(emu: ModelArtsEmulator, monkeypatch) -> None:
    from tests.conftest import connection_json

    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELARTS_FAST",
        connection_json(emu, "EMUAKMODELARTS000001", "EmulatorSecretKey0000DoNotUseInProduct01", timeout=0.5),
    )
    hook = ModelArtsHook("modelarts_fast", retry_delay=0.01, retry_max_delay=0.05)
    emu.add_fault(kind="slow", delay=2.0, count=1)
    assert hook.list_training_jobs(per_page=1)["is_success"] is True
    # The emulator logs the slow request only once it answers, after the client gave up on it.
    assert hook.request_count == 2


def test_success_false_body_is_an_error_and_not_retried(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="success_false", count=1)
    with pytest.raises(ModelArtsApiError, match="ModelArts.0104"):
        hook.list_training_jobs()
    assert api_requests(emu) == 1


def test_validation_happens_before_any_request(emu: ModelArtsEmulator) -> None:
    hook = ModelArtsHook(AKSK_CONN_ID)
    for call in (
        lambda: hook.list_training_jobs(per_page=0),
        lambda: hook.list_training_jobs(order="sideways"),
        lambda: hook.iter_training_jobs(max_results=0),
        lambda: hook.list_job_versions("abc"),
        lambda: hook.get_job_version(1, -5),
    ):
        with pytest.raises(ModelArtsValidationError):
            call()
    assert api_requests(emu) == 0


def test_test_connection_reports_success_and_failure(emu: ModelArtsEmulator, monkeypatch) -> None:
    ok, message = ModelArtsHook(AKSK_CONN_ID).test_connection()
    assert ok and str(EMULATOR_JOB_COUNT) in message
    ok, message = ModelArtsHook(TOKEN_CONN_ID).test_connection()
    assert ok and "IAM user" in message
    from tests.conftest import connection_json

    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_BADSK2", connection_json(emu, "EMUAKMODELARTS000001", "wrong-sk-999"))
    ok, message = ModelArtsHook("modelarts_badsk2").test_connection()
    assert not ok and "APIGW.0301" in message and "wrong-sk-999" not in message
    ok, message = ModelArtsHook("no_such_connection").test_connection()
    assert not ok


def test_token_auth_paginates_too(token_hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    jobs = list(token_hook.iter_training_jobs(per_page=500, max_results=1200))
    assert len(jobs) == len({job["job_id"] for job in jobs}) == 1200
    stats = emu.stats()
    assert stats["by_endpoint"]["list_jobs"] == 3 and stats["by_endpoint"]["iam_tokens"] == 1


def test_iam_outage_is_retried_once_per_budget_not_multiplied(
    token_hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    emu.add_fault(kind="status", status=503, path_contains="/v3/auth/tokens")
    with pytest.raises(ModelArtsServerError):
        token_hook.list_training_jobs()
    # The token POST spent its own budget; the GET around it did not start it over again.
    assert emu.stats()["by_endpoint"]["iam_tokens"] == token_hook.retry_limit + 1
    assert emu.stats()["by_endpoint"]["list_jobs"] == 0


def test_a_ca_bundle_in_the_connection_wins_over_requests_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE override a session's verify; the connection's must win."""
    import certifi
    from modelarts_emulator import EmulatorConfig, airflow_connection

    with ModelArtsEmulator(EmulatorConfig(job_count=3, tls=True)) as secure:
        assert secure.ca_bundle is not None
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # does not know the emulator's cert
        monkeypatch.setenv(
            "AIRFLOW_CONN_MODELARTS_TLS", json.dumps(airflow_connection(secure.url, verify=secure.ca_bundle))
        )
        hook = ModelArtsHook("modelarts_tls", retry_limit=0)
        assert hook.list_training_jobs()["job_total_count"] == 3
        monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_TLS", json.dumps(airflow_connection(secure.url)))
        with pytest.raises(ModelArtsTransportError):
            ModelArtsHook("modelarts_tls", retry_limit=0).list_training_jobs()


# ------------------------------------------------------------------ retry classification (1h)


def test_503_honours_retry_after(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    waits: list[float] = []
    hook.sleep = waits.append
    emu.add_fault(kind="status", status=503, retry_after="0", count=1)
    assert hook.list_training_jobs(per_page=1)["is_success"] is True
    assert waits == [0.0] and api_requests(emu) == 2


def test_503_retry_after_beyond_the_budget_ends_the_call_at_once(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    waits: list[float] = []
    hook.sleep = waits.append
    emu.add_fault(kind="status", status=503, retry_after="3600")
    with pytest.raises(ModelArtsServerError) as error:
        hook.list_training_jobs()
    assert error.value.retry_after == 3600 and waits == [] and api_requests(emu) == 1


@pytest.mark.parametrize("status", [501, 505])
def test_not_implemented_and_http_version_are_not_retried(
    hook: ModelArtsHook, emu: ModelArtsEmulator, status: int
) -> None:
    emu.add_fault(kind="status", status=status)
    with pytest.raises(ModelArtsServerError) as error:
        hook.list_training_jobs()
    assert error.value.http_status == status and api_requests(emu) == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "soon"])
@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_that_is_not_a_delay_is_never_slept_on(
    hook: ModelArtsHook, emu: ModelArtsEmulator, status: int, value: str
) -> None:
    waits: list[float] = []
    hook.sleep = waits.append
    emu.add_fault(kind="status", status=status, retry_after=value, count=1)
    assert hook.list_training_jobs(per_page=1)["is_success"] is True
    # The usual backoff instead: finite and within retry_max_delay.
    assert len(waits) == 1 and 0 <= waits[0] <= hook.retry_max_delay
    assert api_requests(emu) == 2


# ------------------------------------------------------------------ one request path, idempotent or not


def _create_path(hook: ModelArtsHook) -> str:
    """A POST the v1 API does not offer: the gateway answers 404 APIGW.0101 once it gets through."""
    return f"/v1/{hook.settings.project_id}/training-jobs"


def _posts(emu: ModelArtsEmulator) -> int:
    """POSTs of the test's own calls (creates and IAM tokens). v2 searches are POSTs too, and a
    shared poller an earlier test left winding down may still send one: they are not counted."""
    return sum(
        1
        for entry in emu.stats()["requests"]
        if entry["method"] == "POST" and "training-job-searches" not in entry["path"]
    )


def test_request_is_the_path_of_every_get(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    body = hook.request(
        "GET", f"/v1/{hook.settings.project_id}/training-jobs", query=[("per_page", "2")], idempotent=True
    )
    assert len(body["jobs"]) == 2 and api_requests(emu) == 1


@pytest.mark.parametrize("kind", ["drop", "drop_mid", "not_json", "truncated"])
def test_a_request_that_is_not_idempotent_is_never_resent_once_it_may_have_arrived(
    hook: ModelArtsHook, emu: ModelArtsEmulator, kind: str
) -> None:
    emu.add_fault(kind=kind, count=1)
    with pytest.raises(ModelArtsTransportError):
        hook.request("POST", _create_path(hook), json_body={"job_name": "x"}, idempotent=False)
    assert _posts(emu) == api_requests(emu) == 1 and hook.request_count == 1


def test_a_request_that_is_not_idempotent_is_not_resent_after_a_5xx(
    hook: ModelArtsHook, emu: ModelArtsEmulator
) -> None:
    emu.add_fault(kind="status", status=503, retry_after="0")
    with pytest.raises(ModelArtsServerError):
        hook.request("POST", _create_path(hook), json_body={"job_name": "x"}, idempotent=False)
    assert api_requests(emu) == 1


def test_a_request_that_is_not_idempotent_is_resent_after_a_429(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    waits: list[float] = []
    hook.sleep = waits.append
    emu.add_fault(kind="status", status=429, retry_after="0", count=1)
    with pytest.raises(ModelArtsApiError) as error:
        hook.request("POST", _create_path(hook), json_body={"job_name": "x"}, idempotent=False)
    # The resent request got through the throttle: the emulator has no such API.
    assert error.value.http_status == 404 and error.value.error_code == "APIGW.0101"
    assert waits == [0.0] and _posts(emu) == 2


def test_an_idempotent_post_is_resent_after_a_dropped_connection(hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    emu.add_fault(kind="drop", count=1)
    with pytest.raises(ModelArtsApiError):
        hook.request("POST", _create_path(hook), json_body={"job_name": "x"}, idempotent=True)
    assert _posts(emu) == 2


def test_a_read_timeout_does_not_resend_a_request_that_is_not_idempotent(
    emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import connection_json

    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELARTS_FAST",
        connection_json(emu, "EMUAKMODELARTS000001", "EmulatorSecretKey0000DoNotUseInProduct01", timeout=0.5),
    )
    hook = ModelArtsHook("modelarts_fast", retry_delay=0.01, retry_max_delay=0.05)
    emu.add_fault(kind="slow", delay=1.0, count=1)
    with pytest.raises(ModelArtsTransportError, match="not resent"):
        hook.request("POST", _create_path(hook), json_body={"job_name": "x"}, idempotent=False)
    assert hook.request_count == 1


def test_a_refused_connection_proves_the_request_was_not_sent_so_it_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from modelarts_emulator import airflow_connection

    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELARTS_NOWHERE", json.dumps(airflow_connection(f"http://127.0.0.1:{port}", timeout=1))
    )
    hook = ModelArtsHook("modelarts_nowhere", retry_limit=2, retry_delay=0.01, retry_max_delay=0.05)
    hook.sleep = lambda _: None
    with pytest.raises(ModelArtsTransportError, match="3 attempt"):
        hook.request("POST", "/v1/p/training-jobs", json_body={"job_name": "x"}, idempotent=False)
    assert hook.request_count == 3


def test_an_expired_token_is_renewed_and_a_post_resent_once(token_hook: ModelArtsHook, emu: ModelArtsEmulator) -> None:
    """The gateway refused the request before the service saw it: safe to resend even a create."""
    token_hook.list_training_jobs(per_page=1)
    emu.add_fault(kind="token_expired", count=1, path_contains="/training-jobs")
    with pytest.raises(ModelArtsApiError) as error:
        token_hook.request("POST", _create_path(token_hook), json_body={"job_name": "x"}, idempotent=False)
    assert error.value.error_code == "APIGW.0101"
    assert emu.stats()["by_endpoint"]["iam_tokens"] == 2 and _posts(emu) == 2 + 2  # two tokens, two creates


# ------------------------------------------------------------------ errors that end the task (1e)


def test_auth_errors_end_the_task_without_retries(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.airflow_names import AirflowFailException
    from tests.conftest import connection_json

    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_BADSK3", connection_json(emu, "EMUAKMODELARTS000001", "wrong-sk-777"))
    with pytest.raises(ModelArtsAuthError) as error:
        ModelArtsHook("modelarts_badsk3").list_training_jobs()
    assert isinstance(error.value, AirflowFailException)
    assert "Check the Access Key ID and Secret Access Key" in str(error.value)
    with pytest.raises(ModelArtsNotFoundError) as missing:
        ModelArtsHook(AKSK_CONN_ID).list_job_versions(999999)
    assert isinstance(missing.value, AirflowFailException)
