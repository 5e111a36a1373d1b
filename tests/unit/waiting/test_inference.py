"""The model and service waits: their statuses, verdicts, messages and validation, one synchronous
check with an outage on a fake clock, and the poller sources' request plans (a fake hook)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_modelarts.exceptions import (
    ModelArtsNotFoundError,
    ModelArtsServerError,
    ModelArtsValidationError,
)
from airflow_provider_modelarts.waiting import outage as outage_module
from airflow_provider_modelarts.waiting.check import check_once
from airflow_provider_modelarts.waiting.inference import (
    LAST_EVENTS_KEY,
    ModelWaitCondition,
    ServiceWaitCondition,
    service_reader,
)
from airflow_provider_modelarts.waiting.outage import Outage
from airflow_provider_modelarts.waiting.poller_inference import ModelSource, ServiceSource

LOG = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------


def test_model_defaults_come_from_cloud_inference() -> None:
    condition = ModelWaitCondition("m-1")
    assert condition.target_statuses == {"published"}
    assert condition.failure_statuses == {"failed", "building_failed"}


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("publishing", "waiting"), ("building", "waiting"), ("Published", "success"), ("failed", "failed"),
     ("building_failed", "failed"), ("something_new", "waiting")],
)  # fmt: skip
def test_model_verdicts(status: str, verdict: str) -> None:
    assert ModelWaitCondition("m-1").judge_job({"model_status": status})[0] == verdict


def test_a_model_failure_names_the_reason() -> None:
    verdict, message = ModelWaitCondition("m-1").judge_job({"model_status": "failed", "failed_msg": "no config.json"})
    assert verdict == "failed" and message == "model m-1 has status failed: a failure status (reason: no config.json)"


def test_waiting_for_a_failure_status_is_not_a_conflict() -> None:
    condition = ModelWaitCondition("m-1", frozenset({"building_failed"}))
    assert condition.failure_statuses == {"failed"}
    assert condition.judge_job({"model_status": "building_failed"})[0] == "success"
    # published is terminal and not awaited: the wait can no longer succeed
    assert condition.judge_job({"model_status": "published"})[0] == "failed"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"model_id": "a b"}, "model_id"),
        ({"model_id": "m", "target_statuses": []}, "target_statuses"),
        ({"model_id": "m", "target_statuses": ["done"]}, "target_statuses"),
        ({"model_id": "m", "failure_statuses": {"x": 1}}, "failure_statuses"),
        ({"model_id": "m", "failure_statuses": ["published"]}, "failure_statuses"),
    ],
)
def test_bad_model_arguments_name_the_parameter(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        ModelWaitCondition(**kwargs)
    assert error.value.parameter == parameter


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("deploying", "waiting"), ("pending", "waiting"), ("waiting", "waiting"), ("running", "success"),
     ("failed", "failed"), ("stopped", "failed"), ("finished", "failed"), ("concerning", "success")],
)  # fmt: skip
def test_service_verdicts_for_running(status: str, verdict: str) -> None:
    assert ServiceWaitCondition("s-1").judge_job({"status": status})[0] == verdict


def test_concerning_warns_fails_or_waits() -> None:
    warn = ServiceWaitCondition("s-1")
    verdict, message = warn.judge_job({"status": "concerning"})
    assert verdict == "success" and "concerning='warn'" in message and warn.is_warning("concerning")
    verdict, message = ServiceWaitCondition("s-1", concerning="fail").judge_job({"status": "concerning"})
    assert verdict == "failed" and "concerning='fail'" in message
    batch = ServiceWaitCondition("s-1", frozenset({"finished"}))
    assert batch.judge_job({"status": "concerning"})[0] == "waiting"
    listed = ServiceWaitCondition("s-1", frozenset({"concerning"}), concerning="fail")
    assert listed.judge_job({"status": "concerning"})[0] == "success" and not listed.is_warning("concerning")
    with pytest.raises(ModelArtsValidationError) as error:
        ServiceWaitCondition("s-1", concerning="ignore")  # type: ignore[arg-type]
    assert error.value.parameter == "concerning"


def test_a_service_failure_names_error_msg_and_last_events() -> None:
    service = {
        "status": "failed",
        "error_msg": "image pull failed",
        LAST_EVENTS_KEY: [{"occur_time": 1, "event_type": "abnormal", "event_info": "pull error"}],
    }
    verdict, message = ServiceWaitCondition("s-1").judge_job(service)
    assert verdict == "failed"
    assert message.endswith("(error_msg: image pull failed; last events: 1 [abnormal] pull error)")


def test_rows_are_compact() -> None:
    row = ServiceWaitCondition("s-1").row(
        {"service_id": "s-1", "status": "finished", "infer_type": "batch", "config": [{"dest_path": "obs://o/"}]}
    )
    assert row["dest_paths"] == ["obs://o/"] and "config" not in row
    assert ModelWaitCondition("m-1").row({"model_id": "m-1", "failure_reason": "x"})["failure_reason"] == "x"


# ---------------------------------------------------------------------------------------------
# One synchronous check
# ---------------------------------------------------------------------------------------------


class FakeHook:
    """Answers get_service/list_services/list_service_events/get_model/list_models from dicts, and counts."""

    def __init__(self, services: dict[str, Any] | None = None, models: dict[str, Any] | None = None) -> None:
        self.services = services or {}
        self.models = models or {}
        self.calls: list[str] = []
        self.fail: BaseException | None = None

    def _answer(self, call: str, table: dict[str, Any], key: str) -> dict[str, Any]:
        self.calls.append(call)
        if self.fail is not None:
            raise self.fail
        if key not in table:
            raise ModelArtsNotFoundError(404, "ModelArts.3502", f"{key} does not exist")
        return dict(table[key])

    def get_service(self, service_id: str) -> dict[str, Any]:
        return self._answer("get_service", self.services, service_id)

    def get_model(self, model_id: str) -> dict[str, Any]:
        return self._answer("get_model", self.models, model_id)

    def list_services(self, **_: Any) -> list[dict[str, Any]]:
        self.calls.append("list_services")
        return [{"service_id": key, **value} for key, value in self.services.items() if not value.get("hidden")]

    def list_models(self, **_: Any) -> list[dict[str, Any]]:
        self.calls.append("list_models")
        return [{"model_id": key, **value} for key, value in self.models.items()]

    def list_service_events(self, service_id: str, **_: Any) -> list[dict[str, Any]]:
        self.calls.append("list_service_events")
        return [
            {"occur_time": 2, "event_type": "abnormal", "event_info": "b"},
            {"occur_time": 1, "event_type": "normal", "event_info": "a"},
        ]

    def refresh_connection(self) -> bool:
        return False

    def close(self) -> None:
        pass


def test_check_once_reads_events_only_for_a_failure() -> None:
    hook = FakeHook({"s-1": {"status": "running"}, "s-2": {"status": "failed", "error_msg": "boom"}})
    ok = ServiceWaitCondition("s-1")
    assert check_once(service_reader(hook, ok), ok, Outage(60.0), LOG)[0] == "success"  # type: ignore[arg-type]
    assert hook.calls == ["get_service"]
    bad = ServiceWaitCondition("s-2")
    verdict, message, _ = check_once(service_reader(hook, bad), bad, Outage(60.0), LOG)  # type: ignore[arg-type]
    assert verdict == "failed" and "boom" in message and "1 [normal] a; 2 [abnormal] b" in message


def test_check_once_rides_out_an_outage_on_the_clock_then_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count(1000.0, 60.0)
    monkeypatch.setattr(outage_module, "wall_clock", lambda: next(ticks))
    hook = FakeHook({"s-1": {"status": "running"}})
    hook.fail = ModelArtsServerError(503, "", "unavailable")
    condition, outage = ServiceWaitCondition("s-1"), Outage(180.0)
    read = service_reader(hook, condition)  # type: ignore[arg-type]
    assert [check_once(read, condition, outage, LOG)[0] for _ in range(3)] == ["waiting"] * 3
    with pytest.raises(AirflowException) as error:
        check_once(read, condition, outage, LOG)
    assert not isinstance(error.value, AirflowFailException) and "max_outage 180 s" in str(error.value)


def test_a_missing_service_fails_for_good() -> None:
    condition = ServiceWaitCondition("s-9")
    with pytest.raises(AirflowFailException, match="Service s-9 does not exist"):
        check_once(service_reader(FakeHook(), condition), condition, Outage(60.0), LOG)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The poller sources
# ---------------------------------------------------------------------------------------------


def test_one_watch_reads_directly_many_share_a_list() -> None:
    hook = FakeHook({f"s-{n}": {"status": "running"} for n in range(5)})
    source = ServiceSource(hook)  # type: ignore[arg-type]
    assert set(source.fetch({"s-0"}).snapshots) == {"s-0"} and hook.calls == ["get_service"]
    hook.calls.clear()
    outcome = source.fetch({f"s-{n}" for n in range(5)})
    assert len(outcome.snapshots) == 5 and hook.calls == ["list_services"]


def test_a_failed_listed_service_is_read_with_its_events_and_a_hidden_one_directly() -> None:
    hook = FakeHook(
        {"s-0": {"status": "running"}, "s-1": {"status": "failed"}, "s-2": {"status": "deploying", "hidden": True}}
    )
    outcome = ServiceSource(hook).fetch({"s-0", "s-1", "s-2", "s-3"})  # type: ignore[arg-type]
    assert hook.calls == ["list_services", "get_service", "list_service_events", "get_service", "get_service"]
    assert LAST_EVENTS_KEY in outcome.snapshots["s-1"] and "s-2" in outcome.snapshots
    assert isinstance(outcome.errors["s-3"], ModelArtsNotFoundError)


def test_a_failed_list_fails_the_watches_without_direct_reads() -> None:
    hook = FakeHook({"s-0": {"status": "running"}})

    def broken(**_: Any) -> list[dict[str, Any]]:
        hook.calls.append("list_services")
        raise ModelArtsServerError(503, "", "down")

    hook.list_services = broken  # type: ignore[method-assign]
    outcome = ServiceSource(hook).fetch({"s-0", "s-1"})  # type: ignore[arg-type]
    assert hook.calls == ["list_services"] and set(outcome.errors) == {"s-0", "s-1"}


def test_the_model_source_rereads_failures_for_their_reason() -> None:
    hook = FakeHook(models={"m-0": {"model_status": "published"}, "m-1": {"model_status": "building_failed"}})
    outcome = ModelSource(hook).fetch({"m-0", "m-1"})  # type: ignore[arg-type]
    assert hook.calls == ["list_models", "get_model"] and set(outcome.snapshots) == {"m-0", "m-1"}
