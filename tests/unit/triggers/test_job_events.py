"""ModelArtsTrainingJobEventTrigger's arguments: checked at parse time, named as the user wrote them."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.triggers import job_events
from airflow_provider_modelarts.triggers.job_events import ModelArtsTrainingJobEventTrigger


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"phases": ["Running"]}, "phases"),
        ({"phases": []}, "phases"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": True}, "poll_interval"),
        ({"lookback": -1}, "lookback"),
        ({"lookback": float("inf")}, "lookback"),
        ({"lookback": float("nan")}, "lookback"),
        ({"poll_interval": float("nan")}, "poll_interval"),
        ({"poll_interval": float("inf")}, "poll_interval"),
        ({"retry_delay": -1}, "retry_delay"),
        ({"retry_max_delay": "x"}, "retry_max_delay"),
        ({"modelarts_conn_id": ""}, "modelarts_conn_id"),
        ({"name_filter": ""}, "name_filter"),
        ({"workspace_id": "not a workspace"}, "workspace_id"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict[str, object], parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        ModelArtsTrainingJobEventTrigger(**kwargs)  # type: ignore[arg-type]
    assert error.value.parameter == parameter


def test_lookback_is_refused_below_airflow_3_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_events, "AIRFLOW_V_3_3_PLUS", False)
    with pytest.raises(ModelArtsValidationError, match="asset state store") as error:
        ModelArtsTrainingJobEventTrigger(lookback=3600)
    assert error.value.parameter == "lookback"
    assert ModelArtsTrainingJobEventTrigger().lookback is None


def test_serialize_gives_the_same_kwargs_whatever_the_spelling() -> None:
    a = ModelArtsTrainingJobEventTrigger(phases=["Failed", "Completed"], poll_interval=60)
    b = ModelArtsTrainingJobEventTrigger(phases=("Completed", "Failed", "Completed"), poll_interval=60.0)
    assert a.serialize() == b.serialize()
    assert a.serialize()[1]["phases"] == ["Completed", "Failed"]


class PublicOnlyStore:
    """An asset state store with only the public single-asset methods (no ``_by_name``/``_by_uri``)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    async def aget(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)

    async def aset(self, key: str, value: object) -> None:
        self.values[key] = value


def test_a_store_without_the_private_maps_still_keeps_the_watermark() -> None:
    trigger = ModelArtsTrainingJobEventTrigger()
    store = PublicOnlyStore()
    trigger.asset_state_store = store  # type: ignore[attr-defined]
    first, resuming = asyncio.run(trigger._load_watermark())
    assert list(store.values) == [trigger._state_key()] and not resuming
    assert asyncio.run(trigger._load_watermark()) == (first, True)


def test_without_a_store_the_watermark_starts_now_in_memory() -> None:
    trigger = ModelArtsTrainingJobEventTrigger()
    assert trigger._accessors() == []


def test_the_state_key_is_what_decides_which_jobs_fire_not_how_the_watcher_polls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tuning the poll interval or the retries keeps the watermark (a new trigger row, the same
    state); a new filter or lookback is a new watcher. (The key is only used on 3.3+, where
    lookback is allowed.)"""
    monkeypatch.setattr(job_events, "AIRFLOW_V_3_3_PLUS", True)
    base = ModelArtsTrainingJobEventTrigger(name_filter="nightly-", lookback=3600, poll_interval=5)
    tuned = ModelArtsTrainingJobEventTrigger(
        name_filter="nightly-", lookback=3600, poll_interval=6, retry_delay=2, retry_max_delay=30
    )
    assert tuned.serialize() != base.serialize() and tuned._state_key() == base._state_key()
    for other in ({"name_filter": "weekly-"}, {"lookback": 7200}, {"phases": ["Failed"]}, {"workspace_id": "0"}):
        changed = ModelArtsTrainingJobEventTrigger(**{"name_filter": "nightly-", "lookback": 3600, **other})
        assert changed._state_key() != base._state_key(), other


def test_watchers_with_other_retry_settings_do_not_share_a_search() -> None:
    """The search's hook is built from the group's kwargs: a group is one set of retry settings."""
    base = ModelArtsTrainingJobEventTrigger(name_filter="a")
    assert ModelArtsTrainingJobEventTrigger(name_filter="b").shared_stream_key() == base.shared_stream_key()
    assert ModelArtsTrainingJobEventTrigger(retry_delay=5).shared_stream_key() != base.shared_stream_key()
