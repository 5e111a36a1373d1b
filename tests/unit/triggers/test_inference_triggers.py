"""The model and service triggers serialize to JSON kwargs that re-create them exactly."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.triggers.inference import ModelArtsModelTrigger, ModelArtsServiceTrigger


def _recreate(trigger: Any) -> Any:
    path, kwargs = trigger.serialize()
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))


@pytest.mark.parametrize(
    "trigger",
    [
        ModelArtsModelTrigger("m-1", ["published"], ["building_failed", "failed"], "conn"),
        ModelArtsModelTrigger(
            "m-2", ["building_failed"], ["failed"], "conn", last_status="building", poll_interval=5,
            end_time=1.5e9, max_outage=30, outage_started_at=1.4e9, region="eu-west-101", project_id="p",
        ),
        ModelArtsServiceTrigger("s-1", ["running"], ["failed"], "conn"),
        ModelArtsServiceTrigger("s-2", ["finished"], ["failed", "stopped"], concerning="fail", retry_limit=1),
    ],
)  # fmt: skip
def test_serialize_round_trips_exactly(trigger: Any) -> None:
    again = _recreate(trigger)
    assert type(again) is type(trigger) and again.serialize() == trigger.serialize()
    assert again.condition == trigger.condition


def test_serialized_kwargs_name_the_watch_and_the_concerning_rule() -> None:
    _, kwargs = ModelArtsServiceTrigger("s-1", ["running"], ["failed"], "conn", concerning="fail").serialize()
    assert kwargs["service_id"] == "s-1" and kwargs["concerning"] == "fail"
    assert kwargs["target_statuses"] == ["running"] and kwargs["failure_statuses"] == ["failed"]
    _, kwargs = ModelArtsModelTrigger("m-1", ["published"], ["failed", "building_failed"]).serialize()
    assert kwargs["failure_statuses"] == ["failed", "building_failed"]  # the documented order


def test_model_and_service_triggers_never_share_a_poller() -> None:
    model = ModelArtsModelTrigger("x-1", ["published"], ["failed"], "conn")
    service = ModelArtsServiceTrigger("x-1", ["running"], ["failed"], "conn")
    assert model.poller_key() != service.poller_key()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        ModelArtsServiceTrigger("s-1", ["running"], ["failed"], concerning="maybe")  # type: ignore[arg-type]
    assert error.value.parameter == "concerning"
