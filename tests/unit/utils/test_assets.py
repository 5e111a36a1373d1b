"""Assets from tasks: OBS URLs as assets (consistent with the OpenLineage datasets), the extra each
operator's outlets carry, and how it reaches Airflow's own outlet event accessors."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.utils.assets import (
    batch_extra,
    model_extra,
    obs_asset,
    obs_asset_name,
    publish_to_outlets,
    service_extra,
    training_job_extra,
)
from airflow_provider_modelarts.utils.lineage import obs_dataset_name

# URL -> (asset name, the URI Airflow keeps)
NAMES = {
    "obs://bucket/path/": ("obs://bucket/path/", "obs://bucket/path"),
    "obs://bucket/path": ("obs://bucket/path", "obs://bucket/path"),
    "obs://bucket/a/b/model.pt": ("obs://bucket/a/b/model.pt", "obs://bucket/a/b/model.pt"),
    "obs://bucket/": ("obs://bucket/", "obs://bucket/"),
    "obs://bucket": ("obs://bucket/", "obs://bucket/"),
}


@pytest.mark.parametrize(("url", "expected"), NAMES.items())
def test_an_obs_url_is_an_asset_named_as_its_openlineage_dataset(url: str, expected: tuple[str, str]) -> None:
    name, uri = expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # obs has no registered normaliser: Airflow warns about nothing
        asset = obs_asset(url)
    assert (asset.name, asset.uri) == (name, uri)
    assert obs_asset_name(url) == name
    namespace, dataset = obs_dataset_name(url) or ("", "")
    assert name == f"{namespace}/{dataset.lstrip('/')}"  # OpenLineage's namespace and name, joined


def test_obs_asset_is_the_asset_a_dag_writes_for_the_same_url() -> None:
    assert obs_asset("obs://bucket/out/") == Asset("obs://bucket/out/")
    assert obs_asset("obs://bucket/out/") != obs_asset("obs://bucket/out")  # the slash is part of the name
    grouped = obs_asset("obs://bucket/out/", group="model", extra={"team": "vision"})
    assert (grouped.group, grouped.extra) == ("model", {"team": "vision"})


@pytest.mark.parametrize("url", ["s3://bucket/path", "obs://", "obs:///path", "OBS://bucket/x", "{{ params.url }}"])
def test_what_is_not_an_obs_url_is_refused(url: str) -> None:
    with pytest.raises(ModelArtsValidationError, match="an OBS URL"):
        obs_asset(url)


JOB = {
    "kind": "job",
    "metadata": {"id": "job-1", "name": "nightly-1"},
    "status": {"phase": "Completed", "secondary_phase": "Completed", "duration": 1000, "tasks": ["worker-0"]},
    "algorithm": {
        "outputs": [
            {"name": "train_url", "remote": {"obs": {"obs_url": "obs://bucket/out/"}}},
            {"name": "logs", "remote": {"obs": {"obs_url": "obs://bucket/logs/"}}},
        ]
    },
}


def test_the_extra_of_each_kind_is_small_and_json() -> None:
    job = training_job_extra(JOB, "https://console/job-1")
    assert job == (
        {
            "training_job_id": "job-1",
            "name": "nightly-1",
            "phase": "Completed",
            "outputs": {"train_url": "obs://bucket/out/", "logs": "obs://bucket/logs/"},
            "console_url": "https://console/job-1",
        },
        ["obs://bucket/out/", "obs://bucket/logs/"],
    )
    model = model_extra(
        {"model_id": "m-1", "model_name": "m", "model_version": "1.0.0", "model_status": "published",
         "source_location": "obs://bucket/out/", "config": {"big": "x" * 10_000}},
        None,
    )  # fmt: skip
    assert model == (
        {
            "model_id": "m-1",
            "model_name": "m",
            "model_version": "1.0.0",
            "model_status": "published",
            "source_location": "obs://bucket/out/",
            "console_url": None,
        },
        [],
    )
    service = service_extra({"service_id": "s-1", "service_name": "svc", "status": "running", "config": []}, "u")
    assert service == ({"service_id": "s-1", "service_name": "svc", "status": "running", "console_url": "u"}, [])
    batch = batch_extra("b-1", {"status": "finished", "dest_paths": ["obs://b/r/"]}, ["obs://b/r/"], None)
    assert batch == (
        {
            "service_id": "b-1",
            "service_name": None,
            "status": "finished",
            "console_url": None,
            "outputs": ["obs://b/r/"],
        },
        ["obs://b/r/"],
    )
    for extra, _ in (job, model, service, batch):
        json.dumps(extra)
    assert training_job_extra(None, None)[0] == {
        "training_job_id": None,
        "name": None,
        "phase": None,
        "outputs": {},
        "console_url": None,
    }


def _alias_events(accessors: OutletEventAccessors, alias: AssetAlias) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (event.dest_asset_key.name, event.dest_asset_key.uri, event.extra)
        for event in accessors[alias].asset_alias_events
    ]


def test_an_asset_outlet_gets_the_extra_and_an_alias_one_asset_per_obs_output() -> None:
    """Airflow's own outlet event accessors (the Task SDK's, as a running task has them)."""
    accessors = OutletEventAccessors()
    model, alias, ref = Asset("modelarts://models/m"), AssetAlias("trained"), Asset.ref(name="elsewhere")
    accessors[model].extra["mine"] = 1  # what the task put there itself stays
    extra, urls = training_job_extra(JOB, None)
    publish_to_outlets({"outlet_events": accessors}, [model, alias, ref], (extra, [*urls, urls[0]]))
    assert accessors[model].extra == {"mine": 1, **extra}
    flat = {key: value for key, value in extra.items() if key != "outputs"}  # the asset is the output
    assert _alias_events(accessors, alias) == [
        ("obs://bucket/out/", "obs://bucket/out", flat),
        ("obs://bucket/logs/", "obs://bucket/logs", flat),
    ]
    assert len(accessors) == 2  # nothing for the AssetRef

    # An output declared as an Asset outlet too is not added through the alias (it has its event).
    accessors = OutletEventAccessors()
    publish_to_outlets({"outlet_events": accessors}, [alias, obs_asset("obs://bucket/out/")], (extra, urls))
    assert accessors[obs_asset("obs://bucket/out/")].extra == extra
    assert _alias_events(accessors, alias) == [("obs://bucket/logs/", "obs://bucket/logs", flat)]


def test_nothing_is_published_without_outlets_an_event_or_a_task() -> None:
    accessors = OutletEventAccessors()
    event = training_job_extra(JOB, None)
    publish_to_outlets({"outlet_events": accessors}, [], event)
    publish_to_outlets({"outlet_events": accessors}, [Asset("a")], None)
    publish_to_outlets({}, [Asset("a")], event)
    assert len(accessors) == 0


TOO_LONG = "obs://bucket/" + "x" * 1500  # Airflow refuses a name over 1500 characters


def test_an_output_no_asset_can_be_named_after_is_left_out_of_the_alias() -> None:
    accessors = OutletEventAccessors()
    alias = AssetAlias("outputs")
    publish_to_outlets({"outlet_events": accessors}, [alias], ({"x": 1}, [TOO_LONG, "s3://other/", "obs://bucket/ok/"]))
    assert _alias_events(accessors, alias) == [("obs://bucket/ok/", "obs://bucket/ok", {"x": 1})]
