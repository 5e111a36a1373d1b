"""Hyperparameter (auto) search trials of a v2 training job, and the two endpoints that show them.

* ``GET /v2/{project_id}/training-jobs/{training_job_id}/autosearch-trials?limit=&offset=``
  ("Querying All Trials Using Hyperparameter Search", ShowAutoSearchTrials): ``{"total",
  "count", "limit", "offset", "group_by", "items": {"header": [...], "data": [[...], ...]}}``;
* ``GET .../autosearch-trials/{trial_id}`` ("Querying Information About a Trial Using
  Hyperparameter Search", ShowAutoSearchPerTrial): ``{"header": [...], "data": [[...], ...]}``.

Sources: OTC ``training_management/querying_all_trials_using_hyperparameter_search.rst`` (the
table and its example), the SDK's ``ShowAutoSearchTrialsResponse``, ``ListAutoSearchTrialsItems``
and ``ShowAutoSearchPerTrialResponse``. A job is an auto-search job when its create body had
``algorithm.policies.auto_search`` (Tables 8-13: ``reward_attrs[{name, mode, regex}]``,
``search_params[{name, param_type, lower_bound, upper_bound, discrete_points_num,
discrete_values}]``, ``algo_configs[{name, params[{key, value, type}]}]``).

Readings (this emulator's choices where the pages say no more):

* The header is the example's: ``["", "done", "pid", "config", "trial_id",
  "training_iteration", "time_total_s", "worker_index", "reward_attr", "status", <one column per
  reward_attrs name, in order>, "best_reward"]`` (the example has ``acc`` and ``loss``). Without
  ``reward_attrs`` the one metric column is ``reward``.
* **Every cell is a string**: the table and the SDK type ``data`` as ``Array<Array<String>>``
  (``list[list[str]]``). The example shows ``config`` as a JSON object; here it is that object
  as a JSON string (``{"<param>": value, ..., "trial_index": n, "param/<param>": value, ...}``),
  which the SDK model can hold.
* ``reward_attr`` is the first reward attribute's value at the trial's latest iteration and
  ``best_reward`` its best value over the trial's iterations (by its ``mode``, max by default).
* Trials run one after another over the job's Running time: 8 trials (the example's count)
  unless an ``algo_configs`` entry has a ``num_samples`` parameter (1-100), each of
  :data:`ITERATIONS` iterations. A trial is listed once it has started; ``done`` is "True" once it
  finished; ``status`` is ``TERMINATED`` when done, ``RUNNING`` while the job runs, and
  ``TERMINATED`` (not done) when the job was stopped first. A job that Failed failed in its last
  trial: that trial shows ``ERROR``, not done, one iteration short. Before Running there is no
  trial (``total`` 0).
* Everything is derived from the job id: the same job always shows the same trials.
* ``offset`` is a page number (the SDK: "分页列表的起始页 ... 最小为0"), ``limit`` 1-100 (default
  50, the example's); other values are 400 ModelArts.2788 naming the parameter.
* A job without ``auto_search`` has no trials: 200 with ``total`` 0 and an empty table.
* The per-trial answer has the same header and one row per finished iteration
  (``training_iteration`` 1, 2, ...); an unknown ``trial_id`` is 400 ModelArts.2788
  "Invalid parameter(trial_id)."; an unknown job is 400 ModelArts.2775 for both.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelarts_emulator.responses import Response, json_response, v2_error
from modelarts_emulator.v2 import spec as v2_spec
from modelarts_emulator.v2.models import JobState, TrainingJob, TrainingJobStore

DEFAULT_TRIALS = 8
MAX_TRIALS = 100
ITERATIONS = 2
BASE_HEADER = ("", "done", "pid", "config", "trial_id", "training_iteration", "time_total_s", "worker_index")
DEFAULT_REWARD = "reward"


@dataclass(frozen=True)
class Reward:
    name: str
    mode: str


def auto_search_of(job: TrainingJob) -> dict[str, Any] | None:
    algorithm = (job.request or {}).get("algorithm") or {}
    policies = algorithm.get("policies") or {}
    found = policies.get("auto_search") if isinstance(policies, dict) else None
    return found if isinstance(found, dict) else None


def _rewards(auto_search: dict[str, Any]) -> list[Reward]:
    rewards = [
        Reward(entry["name"], entry.get("mode") or "max")
        for entry in auto_search.get("reward_attrs") or []
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    ]
    return rewards or [Reward(DEFAULT_REWARD, "max")]


def _trial_count(auto_search: dict[str, Any]) -> int:
    for config in auto_search.get("algo_configs") or []:
        params = config.get("params") if isinstance(config, dict) else None
        for param in params if isinstance(params, list) else []:
            if isinstance(param, dict) and param.get("key") == "num_samples":
                try:
                    return max(1, min(MAX_TRIALS, int(str(param.get("value")))))
                except ValueError:
                    break
    return DEFAULT_TRIALS


def _number(value: Any, default: float) -> float:
    try:
        return float(str(value))
    except ValueError:
        return default


def _sample(param: dict[str, Any], rng: random.Random) -> Any:
    values = param.get("discrete_values")
    if isinstance(values, list) and values:
        raw = rng.choice(values)
        number = _number(raw, float("nan"))
        if number == number:  # not NaN: a number given as a string
            return int(number) if number.is_integer() else number
        return raw
    low = _number(param.get("lower_bound"), 0.0)
    high = _number(param.get("upper_bound"), 1.0)
    points = _number(param.get("discrete_points_num"), 0.0)
    if param.get("param_type") == "discrete" and points >= 2:
        step = (high - low) / (int(points) - 1)
        return low + step * rng.randrange(int(points))
    return rng.uniform(low, high)


@dataclass(frozen=True)
class Trial:
    index: int
    trial_id: str
    pid: int
    config: dict[str, Any]
    quality: float
    started: float  # emulated seconds after Running began
    span: float

    def metric(self, reward: Reward, iteration: int) -> float:
        progress = iteration / ITERATIONS
        if reward.mode == "min":
            return round(2.5 - 2.0 * self.quality * progress, 6)
        return round(0.98 * self.quality * progress, 6)


def _trials(job: TrainingJob, auto_search: dict[str, Any]) -> list[Trial]:
    count = _trial_count(auto_search)
    span = job.planned_run / count if job.planned_run > 0 else 1.0
    params = [entry for entry in auto_search.get("search_params") or [] if isinstance(entry, dict)]
    trials = []
    for index in range(count):
        rng = random.Random(f"{job.job_id}-trial-{index}")
        config: dict[str, Any] = {str(param.get("name")): _sample(param, rng) for param in params}
        config = {**config, "trial_index": index, **{f"param/{name}": value for name, value in config.items()}}
        trials.append(
            Trial(
                index,
                f"{rng.getrandbits(32):08x}",
                300 + 29 * index + rng.randrange(7),
                config,
                rng.random(),
                index * span,
                span,
            )  # fmt: skip
        )
    return trials


def _progress(job: TrainingJob, state: JobState) -> tuple[float, str] | None:
    """Seconds of Running seen so far, and how Running ended ("" while it goes on); None before."""
    if state.running_since is None:
        return None
    for index, (phase, _, _) in enumerate(job.timeline):
        if phase == v2_spec.RUNNING:
            end = job.starts[index + 1] if index + 1 < len(job.timeline) else None
            if end is not None and state.elapsed >= end:
                return end - job.starts[index], job.timeline[index + 1][0]
            return state.elapsed - job.starts[index], ""
    return None


def _header(rewards: list[Reward]) -> list[str]:
    return [*BASE_HEADER, "reward_attr", "status", *(reward.name for reward in rewards), "best_reward"]


def _row(trial: Trial, rewards: list[Reward], iterations: int, done: bool, status: str, seconds: float) -> list[str]:
    primary = rewards[0]
    values = [trial.metric(reward, iterations) for reward in rewards] if iterations else []
    best = ""
    if iterations:
        seen = [trial.metric(primary, number) for number in range(1, iterations + 1)]
        best = str(min(seen) if primary.mode == "min" else max(seen))
    return [
        str(trial.index),
        str(done),
        str(trial.pid),
        json.dumps(trial.config, sort_keys=False),
        trial.trial_id,
        str(iterations),
        str(round(seconds, 6)),
        "",
        str(values[0]) if values else "",
        status,
        *([str(value) for value in values] if values else ["" for _ in rewards]),
        best,
    ]


def _visible(
    job: TrainingJob, state: JobState, auto_search: dict[str, Any]
) -> list[tuple[Trial, int, bool, str, float]]:
    """The trials started so far: (trial, iterations done, done, status, seconds run)."""
    progress = _progress(job, state)
    if progress is None:
        return []
    seen, ended = progress
    rows = []
    for trial in _trials(job, auto_search):
        if trial.started > seen + 1e-9:
            break
        ran = min(trial.span, seen - trial.started)
        iterations = min(ITERATIONS, int((ran / trial.span) * ITERATIONS + 1e-9))
        done = iterations >= ITERATIONS
        if done:
            status = "TERMINATED"
        elif not ended:
            status = "RUNNING"
        else:
            status = "ERROR" if ended == v2_spec.FAILED else "TERMINATED"
        rows.append((trial, iterations, done, status, ran))
    if ended == v2_spec.FAILED and rows:
        # The job failed in its last trial: that trial errored before its last iteration.
        trial, iterations, _, _, ran = rows[-1]
        rows[-1] = (trial, min(iterations, ITERATIONS - 1), False, "ERROR", ran)
    return rows


def _page_query(pairs: Sequence[tuple[str, str]]) -> tuple[int, int] | str:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    raw_limit, raw_offset = values.get("limit", ""), values.get("offset", "")
    if raw_limit and (
        not raw_limit.isdigit() or not v2_spec.TRIALS_LIMIT_MIN <= int(raw_limit) <= v2_spec.TRIALS_LIMIT_MAX
    ):
        return "limit"
    if raw_offset and not raw_offset.isdigit():
        return "offset"
    return (int(raw_limit) if raw_limit else v2_spec.TRIALS_LIMIT_DEFAULT), (int(raw_offset) if raw_offset else 0)


def list_trials(store: TrainingJobStore, raw_id: str, pairs: Sequence[tuple[str, str]]) -> Response:
    """``GET .../training-jobs/{id}/autosearch-trials``."""
    query = _page_query(pairs)
    if isinstance(query, str):
        return v2_error(v2_spec.INVALID_PARAM, query)
    limit, offset = query
    with store.lock:
        job = store.get(raw_id)
        if job is None:
            return v2_error(v2_spec.JOB_NOT_FOUND, raw_id)
        auto_search = auto_search_of(job)
        visible = _visible(job, job.state(store.now(), store.speed), auto_search) if auto_search is not None else []
    rewards = _rewards(auto_search) if auto_search is not None else []
    page = visible[offset * limit : offset * limit + limit]
    payload = {
        "total": len(visible),
        "count": len(page),
        "limit": limit,
        "offset": offset,
        "group_by": "",
        "items": {
            "header": _header(rewards) if auto_search is not None else [],
            "data": [
                _row(trial, rewards, iterations, done, status, ran) for trial, iterations, done, status, ran in page
            ],
        },
    }
    return json_response(200, payload)


def show_trial(store: TrainingJobStore, raw_id: str, trial_id: str) -> Response:
    """``GET .../training-jobs/{id}/autosearch-trials/{trial_id}``: one row per finished iteration."""
    with store.lock:
        job = store.get(raw_id)
        if job is None:
            return v2_error(v2_spec.JOB_NOT_FOUND, raw_id)
        auto_search = auto_search_of(job)
        visible = _visible(job, job.state(store.now(), store.speed), auto_search) if auto_search is not None else []
    found = [entry for entry in visible if entry[0].trial_id == trial_id]
    if auto_search is None or not found:
        return v2_error(v2_spec.INVALID_PARAM, "trial_id")
    rewards = _rewards(auto_search)
    trial, iterations, done, status, _ = found[0]
    rows = [
        _row(
            trial,
            rewards,
            number,
            done and number == iterations,
            status if number == iterations else "RUNNING",
            trial.span * number / ITERATIONS,
        )  # fmt: skip
        for number in range(1, iterations + 1)
    ]
    return json_response(200, {"header": _header(rewards), "data": rows})
