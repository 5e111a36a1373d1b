"""The trials of an auto search (hyperparameter search) job
(``GET .../training-jobs/{id}/autosearch-trials``): the answer's table as rows, the job's
reward attribute, and the best trial.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_modelarts.cloud.v2._read import _list, _mapping

# Auto search trials (ShowAutoSearchTrials): query limit and offset ("Offset of a data entry");
# the answer is {total, count, limit, offset, group_by, items: {header: [...], data: [[...]]}}.
TRIALS_PAGE_LIMIT = 50
# The reward columns of a trial, best first: its best reward, then the reward attribute's value.
REWARD_COLUMNS = ("best_reward", "reward_attr", "reward")
REWARD_MODES = ("max", "min")


def trial_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The trials of one answer as rows by column name (``items.header`` names ``items.data``'s
    columns). Every column is kept, unknown ones too; a value past the header's end is kept under
    ``column_<index>``, and a repeated column name gets ``_<index>`` added."""
    items = _mapping(body.get("items"))
    header = [str(name) if name is not None else "" for name in _list(items.get("header"))]
    names: list[str] = []
    for index, name in enumerate(header):
        names.append(f"{name}_{index}" if name in names else name)
    rows = []
    for data in _list(items.get("data")):
        if not isinstance(data, list):
            continue
        rows.append({(names[i] if i < len(names) else f"column_{i}"): value for i, value in enumerate(data)})
    return rows


def auto_search_of(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A job body's ``algorithm.policies.auto_search``, or ``None`` (a job that does not search;
    the documented example of a plain job sends ``"auto_search": null``)."""
    auto_search = _mapping(_mapping(job.get("algorithm")).get("policies")).get("auto_search")
    return auto_search if isinstance(auto_search, Mapping) else None


def reward_of(auto_search: Mapping[str, Any]) -> tuple[str | None, str]:
    """The first reward attribute's name and mode (``max`` unless it says ``min``)."""
    first = next((attr for attr in _list(auto_search.get("reward_attrs")) if isinstance(attr, Mapping)), {})
    name = first.get("name")
    mode = first.get("mode")
    return (
        name if isinstance(name, str) and name else None,
        mode.strip().lower() if isinstance(mode, str) and mode.strip().lower() in REWARD_MODES else "max",
    )


def _reward_value(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None
    return number if number is not None and number == number and abs(number) != float("inf") else None


def best_trial(rows: Iterable[Mapping[str, Any]], auto_search: Mapping[str, Any]) -> dict[str, Any] | None:
    """The trial with the best reward: the first of :data:`REWARD_COLUMNS` the rows have, else
    the column named by the first ``reward_attrs`` entry; highest for mode ``max`` (the
    default), lowest for ``min``. Rows without a readable reward are passed over; ``None`` when
    no row has one. The first of equal rewards wins."""
    rows = list(rows)
    name, mode = reward_of(auto_search)
    columns = [column for column in (*REWARD_COLUMNS, name) if column]
    column = next((c for c in columns if any(_reward_value(row.get(c)) is not None for row in rows)), None)
    if column is None:
        return None
    best: tuple[float, Mapping[str, Any]] | None = None
    for row in rows:
        value = _reward_value(row.get(column))
        if value is None:
            continue
        if best is None or (value > best[0] if mode == "max" else value < best[0]):
            best = (value, row)
    return dict(best[1]) if best is not None else None
