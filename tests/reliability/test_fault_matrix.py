"""The fault matrix: every injected fault through every layer that talks to ModelArts.

Layers, for the v1 API: the hook call, both operators, a sensor in poke mode, and the deferred
trigger (whose event is handed to the sensor's ``execute_complete``, as Airflow does on resume);
for the v2 API: the hook's ``get_training_job`` and ``search_training_jobs``, the search operator,
the phase sensor in poke mode and the phase trigger (its event handed to the phase sensor's
``execute_complete``). The v2 waits run with ``max_outage=0``: riding out an outage is tested in
tests/integration/test_v2_operator_sensor.py; here a fault past the retries must end the wait as
in v1. Faults are injected at the emulator, over real HTTP; nothing is mocked. For each cell the
test asserts:

* the outcome: success after retries, or the specific typed error (an ``error``/``failed`` event
  for the trigger), and that a sensor or trigger never reports success on a fault;
* the exact number of requests the emulator received: the retry budget (``retry_limit + 1``
  attempts) at most, a single request for 401/403 and other non-retryable answers;
* that the call ends within timeout × attempts plus backoff and ``Retry-After`` (no hang);
* that no secret, signature or IAM token shows up in the error text or the event.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from airflow.triggers.base import BaseTrigger, TriggerEvent
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsAuthError,
    ModelArtsNotFoundError,
    ModelArtsServerError,
    ModelArtsSignatureExpiredError,
    ModelArtsThrottledError,
    ModelArtsTokenExpiredError,
    ModelArtsTransportError,
)
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.training_jobs import (
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from airflow_provider_modelarts.operators.training_jobs_v2 import ModelArtsSearchTrainingJobsOperator
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor
from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from airflow_provider_modelarts.waiting.conditions import PERMANENT_ERRORS
from tests.airflow_names import AirflowException, AirflowFailException
from tests.integration.airflow_context import make_context

from .support import (
    AKSK_CONN_ID,
    BAD_SK_CONN_ID,
    CONNECTION_SECRETS,
    SHORT_TIMEOUT_CONN_ID,
    TIMEOUTS,
    TOKEN_CONN_ID,
    find_leaks,
    record_result,
    secrets_from_stats,
    wait_for_requests,
)

RETRY_LIMIT = 4  # five attempts per call: enough for a burst of 500, 502, 503 and 504
RETRY_DELAY = 0.01
BACKOFF_BOUND = 1.0  # per retry; the real waits here are at most 0.01 × 2^3 s
# Generous room for a loaded 2-core machine; a hang (a retry storm, an unbounded wait) is minutes.
SLACK_SECONDS = 20.0
POKE_INTERVAL = 0.2
# A sensor or trigger that waits sees its job deleted after this long.
DELETE_AFTER = 0.6


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    """What a layer produced: a value, or an error; for the trigger also its event."""

    value: Any = None
    error: BaseException | None = None
    event: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """Everything a user could read: error texts (with their causes) and the event."""
        parts: list[str] = []
        error, seen = self.error, set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            parts += [str(error), repr(error), str(getattr(error, "server_canonical_request", None) or "")]
            error = error.__cause__ or error.__context__
        if self.event is not None:
            parts.append(json.dumps(self.event, default=str))
        return "\n".join(parts)


@dataclass(frozen=True)
class Job:
    """The job a cell works on: a v1 job and version, or a v2 training job (its UUID and name)."""

    job_id: int = 0
    version_id: int = 0
    training_job_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class Layer:
    name: str
    run: Callable[[Job, str, int], Result]
    # API requests of one fault-free run (deferred: the trigger's poll, then the resumed task's
    # read of the version detail on the worker).
    base_requests: int
    waits: bool  # a sensor or trigger: it waits for the job, so a job can vanish meanwhile
    # IAM logins after a successful wait besides the fault's own: the resumed task runs on a
    # worker, with its own hook, so under password auth it obtains its own token.
    resume_tokens: int = 0
    api: str = "v1"  # which API the layer calls: "v1" or "v2"

    @property
    def fault_path(self) -> str:
        """Where faults are injected: every path of the layer's API (v2 search included)."""
        return "/training-jobs" if self.api == "v1" else "/v2/"


def _capture(call: Callable[[], Any]) -> Result:
    try:
        return Result(value=call())
    except Exception as error:
        return Result(error=error)


def run_hook(job: Job, conn_id: str, retry_limit: int) -> Result:
    hook = ModelArtsHook(conn_id, retry_limit=retry_limit, retry_delay=RETRY_DELAY)
    try:
        return _capture(lambda: hook.get_job_version(job.job_id, job.version_id))
    finally:
        hook.close()


def run_list_jobs_operator(job: Job, conn_id: str, retry_limit: int) -> Result:
    operator = ModelArtsListTrainingJobsOperator(
        task_id="list_jobs",
        per_page=5,
        modelarts_conn_id=conn_id,
        modelarts_retry_limit=retry_limit,
        modelarts_retry_delay=RETRY_DELAY,
    )
    return _capture(lambda: operator.execute(make_context()))  # type: ignore[arg-type]


def run_list_versions_operator(job: Job, conn_id: str, retry_limit: int) -> Result:
    operator = ModelArtsListJobVersionsOperator(
        task_id="list_versions",
        job_id=job.job_id,
        modelarts_conn_id=conn_id,
        modelarts_retry_limit=retry_limit,
        modelarts_retry_delay=RETRY_DELAY,
    )
    return _capture(lambda: operator.execute(make_context()))  # type: ignore[arg-type]


def _sensor(job: Job, conn_id: str, retry_limit: int) -> ModelArtsTrainingJobSensor:
    return ModelArtsTrainingJobSensor(
        task_id="wait",
        job_id=job.job_id,
        version_id=job.version_id,
        mode="poke",
        poke_interval=POKE_INTERVAL,
        timeout=60,
        modelarts_conn_id=conn_id,
        modelarts_retry_limit=retry_limit,
        modelarts_retry_delay=RETRY_DELAY,
        # One check's retry budget is what the matrix measures: a lasting fault ends the wait at
        # the first failed check (riding outages out is tests/integration/test_sensor_outage.py).
        max_outage=0,
    )


def run_sensor(job: Job, conn_id: str, retry_limit: int) -> Result:
    sensor = _sensor(job, conn_id, retry_limit)
    return _capture(lambda: sensor.execute(make_context()))  # type: ignore[arg-type]


async def first_event(trigger: BaseTrigger, timeout: float = 60.0) -> dict[str, Any]:
    generator = cast(AsyncGenerator[TriggerEvent, None], trigger.run())
    try:
        event = await asyncio.wait_for(generator.__anext__(), timeout=timeout)
    finally:
        await generator.aclose()
    return dict(event.payload)


def run_trigger(job: Job, conn_id: str, retry_limit: int) -> Result:
    trigger = ModelArtsTrainingJobTrigger(
        job_id=job.job_id,
        version_id=job.version_id,
        target_statuses=[10],
        failure_statuses=[3, 5, 6, 11, 12, 13, 14, 16, 17, 21, 22],
        modelarts_conn_id=conn_id,
        poll_interval=POKE_INTERVAL,
        end_time=time.time() + 60,
        retry_limit=retry_limit,
        retry_delay=RETRY_DELAY,
        max_outage=0,  # as in _sensor
    )
    event = asyncio.run(first_event(trigger))
    # Resume the task with the event, exactly as Airflow does after the triggerer fired.
    sensor = _sensor(job, conn_id, retry_limit)
    result = _capture(lambda: sensor.execute_complete(make_context(), event))  # type: ignore[arg-type]
    result.event = event
    return result


def run_hook_v2_get(job: Job, conn_id: str, retry_limit: int) -> Result:
    hook = ModelArtsHook(conn_id, retry_limit=retry_limit, retry_delay=RETRY_DELAY)
    try:
        return _capture(lambda: hook.get_training_job(job.training_job_id))
    finally:
        hook.close()


def run_hook_v2_search(job: Job, conn_id: str, retry_limit: int) -> Result:
    hook = ModelArtsHook(conn_id, retry_limit=retry_limit, retry_delay=RETRY_DELAY)
    try:
        return _capture(lambda: hook.search_training_jobs(name=job.name, limit=5))
    finally:
        hook.close()


def run_search_operator_v2(job: Job, conn_id: str, retry_limit: int) -> Result:
    operator = ModelArtsSearchTrainingJobsOperator(
        task_id="search_jobs",
        name=job.name,
        limit=5,
        modelarts_conn_id=conn_id,
        modelarts_retry_limit=retry_limit,
        modelarts_retry_delay=RETRY_DELAY,
    )
    return _capture(lambda: operator.execute(make_context()))  # type: ignore[arg-type]


def _phase_sensor(job: Job, conn_id: str, retry_limit: int) -> ModelArtsTrainingJobPhaseSensor:
    return ModelArtsTrainingJobPhaseSensor(
        task_id="wait_v2",
        training_job_id=job.training_job_id,
        mode="poke",
        poke_interval=POKE_INTERVAL,
        timeout=60,
        max_outage=0,
        modelarts_conn_id=conn_id,
        modelarts_retry_limit=retry_limit,
        modelarts_retry_delay=RETRY_DELAY,
    )


def run_phase_sensor(job: Job, conn_id: str, retry_limit: int) -> Result:
    sensor = _phase_sensor(job, conn_id, retry_limit)
    return _capture(lambda: sensor.execute(make_context()))  # type: ignore[arg-type]


def run_phase_trigger(job: Job, conn_id: str, retry_limit: int) -> Result:
    trigger = ModelArtsTrainingJobPhaseTrigger(
        training_job_id=job.training_job_id,
        target_phases=["Completed"],
        failure_phases=["Failed", "Abnormal", "Terminated"],
        modelarts_conn_id=conn_id,
        poll_interval=POKE_INTERVAL,
        end_time=time.time() + 60,
        retry_limit=retry_limit,
        retry_delay=RETRY_DELAY,
        max_outage=0,
    )
    event = asyncio.run(first_event(trigger))
    # Resume the task with the event, as Airflow does; the v2 event carries the summary, so the
    # resumed task sends no request.
    sensor = _phase_sensor(job, conn_id, retry_limit)
    result = _capture(lambda: sensor.execute_complete(make_context(), event))  # type: ignore[arg-type]
    result.event = event
    return result


LAYERS = (
    Layer("hook", run_hook, base_requests=1, waits=False),
    Layer("list_jobs_operator", run_list_jobs_operator, base_requests=1, waits=False),
    Layer("list_versions_operator", run_list_versions_operator, base_requests=1, waits=False),
    Layer("sensor_poke", run_sensor, base_requests=1, waits=True),
    Layer("deferred_trigger", run_trigger, base_requests=2, waits=True, resume_tokens=1),
    Layer("v2_hook_get", run_hook_v2_get, base_requests=1, waits=False, api="v2"),
    Layer("v2_hook_search", run_hook_v2_search, base_requests=1, waits=False, api="v2"),
    Layer("v2_search_operator", run_search_operator_v2, base_requests=1, waits=False, api="v2"),
    Layer("v2_phase_sensor_poke", run_phase_sensor, base_requests=1, waits=True, api="v2"),
    Layer("v2_phase_trigger", run_phase_trigger, base_requests=1, waits=True, api="v2"),
)
V1_LAYERS = tuple(layer.name for layer in LAYERS if layer.api == "v1")


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

Arm = Callable[[ModelArtsEmulator, Job, Layer], None]


def inject(*faults: dict[str, Any]) -> Arm:
    """Arm emulator faults (in order: the first matching one answers) on the training-job API."""

    def arm(emu: ModelArtsEmulator, job: Job, layer: Layer) -> None:
        for fault in faults:
            emu.add_fault(path_contains=layer.fault_path, **fault)

    return arm


def skew_clock(emu: ModelArtsEmulator, job: Job, layer: Layer) -> None:
    emu.set_clock_skew(20 * 60)  # the gateway's clock is 20 minutes ahead of ours


def delete_job(emu: ModelArtsEmulator, job: Job, layer: Layer) -> None:
    delete: Callable[[], None] = (
        (lambda: emu.delete_job(job.job_id))
        if layer.api == "v1"
        else (lambda: emu.delete_training_job(job.training_job_id))
    )
    if layer.waits:  # the job disappears while the sensor or trigger waits for it
        timer = threading.Timer(DELETE_AFTER, delete)
        timer.daemon = True
        timer.start()
    else:
        delete()


def no_fault(emu: ModelArtsEmulator, job: Job, layer: Layer) -> None:
    return None


@dataclass(frozen=True)
class Fault:
    """One row of the matrix.

    :param failures: for a transient fault, how many requests fail before one gets through.
    :param error: for a lasting fault, the typed error the hook, operators and sensor raise.
    :param marker: text the error message (or the trigger's event message) must contain.
    :param attempts: API requests of a lasting fault (None: the whole retry budget).
    :param tokens: IAM token requests (password connection only).
    :param waited: seconds the client must wait by the server's word (Retry-After): a lower bound.
    :param settle: seconds the emulator may still be busy with a request the client gave up on.
    """

    name: str
    arm: Arm
    failures: int = 0
    error: type[Exception] | None = None
    marker: str = ""
    attempts: int | None = None
    conn_id: str = AKSK_CONN_ID
    tokens: int = 0
    retry_limit: int = RETRY_LIMIT
    waited: float = 0.0
    settle: float = 0.0
    job_timeline: tuple[tuple[int, float | None], ...] = ((10, None),)
    # The same timeline for a v2 job: (phase, emulated seconds).
    phase_timeline: tuple[tuple[str, float | None], ...] = (("Completed", None),)
    layers: tuple[str, ...] = field(default_factory=lambda: tuple(layer.name for layer in LAYERS))

    @property
    def transient(self) -> bool:
        return self.error is None


FAULTS = (
    Fault("burst_500_502_503_504", inject(*({"kind": "status", "status": s, "count": 1} for s in (500, 502, 503, 504))),
          failures=4),
    Fault("endless_5xx", inject({"kind": "status", "status": 503}), error=ModelArtsServerError, marker="HTTP 503"),
    Fault("throttled_429_with_retry_after", inject({"kind": "status", "status": 429, "retry_after": "1", "count": 1}),
          failures=1, waited=1.0),
    Fault("throttled_429_without_retry_after", inject({"kind": "status", "status": 429, "count": 2}), failures=2),
    Fault("endless_429", inject({"kind": "status", "status": 429}), error=ModelArtsThrottledError, marker="HTTP 429"),
    Fault("throttled_429_retry_after_beyond_budget", inject({"kind": "status", "status": 429, "retry_after": "3600"}),
          error=ModelArtsThrottledError, marker="APIGW.0308", attempts=1),
    Fault("connection_dropped_before_response", inject({"kind": "drop", "count": 2}), failures=2),
    Fault("connection_dropped_mid_response", inject({"kind": "drop_mid", "count": 2}), failures=2),
    Fault("connection_always_dropped_mid_response", inject({"kind": "drop_mid"}), error=ModelArtsTransportError,
          marker="attempt(s)"),
    Fault("response_slower_than_timeout", inject({"kind": "slow", "delay": 3.0, "count": 1}), failures=1,
          conn_id=SHORT_TIMEOUT_CONN_ID, settle=3.0),
    Fault("responses_always_slower_than_timeout", inject({"kind": "slow", "delay": 3.0}),
          error=ModelArtsTransportError, marker="ReadTimeout", conn_id=SHORT_TIMEOUT_CONN_ID, retry_limit=1,
          settle=3.0),
    Fault("body_not_json", inject({"kind": "not_json", "count": 2}), failures=2),
    Fault("body_never_json", inject({"kind": "not_json"}), error=ModelArtsTransportError, marker="not a JSON object"),
    Fault("body_cut_short", inject({"kind": "truncated", "count": 2}), failures=2),
    # v1 only: the v2 API has no is_success field.
    Fault("success_status_with_is_success_false", inject({"kind": "success_false", "count": 1}),
          error=ModelArtsApiError, marker="ModelArts.0104", attempts=1, layers=V1_LAYERS),
    Fault("iam_token_expired_mid_run", inject({"kind": "token_expired", "count": 1}), failures=1,
          conn_id=TOKEN_CONN_ID, tokens=2),
    Fault("iam_token_always_expired", inject({"kind": "token_expired"}), error=ModelArtsTokenExpiredError,
          marker="APIGW.0307", attempts=2, conn_id=TOKEN_CONN_ID, tokens=2),
    Fault("bad_signature_401", no_fault, error=ModelArtsAuthError, marker="APIGW.0301", attempts=1,
          conn_id=BAD_SK_CONN_ID),
    Fault("forbidden_403", inject({"kind": "status", "status": 403}), error=ModelArtsAuthError, marker="APIGW.0302",
          attempts=1),
    Fault("signature_expired_skewed_clock", skew_clock, error=ModelArtsSignatureExpiredError,
          marker="signature expired", attempts=1),
    Fault("job_deleted_404", delete_job, error=ModelArtsNotFoundError, marker="ModelArts.2775", attempts=1,
          job_timeline=((8, None),), phase_timeline=(("Running", None),),
          layers=("hook", "list_versions_operator", "sensor_poke", "deferred_trigger",
                  "v2_hook_get", "v2_phase_sensor_poke", "v2_phase_trigger")),
)  # fmt: skip

CASES = [
    pytest.param(fault, layer, id=f"{fault.name}-{layer.name}")
    for fault in FAULTS
    for layer in LAYERS
    if layer.name in fault.layers
]


# ---------------------------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------------------------


def expected_requests(fault: Fault, layer: Layer) -> int | None:
    """Requests the emulator must see; None where it depends on how long the layer waited."""
    if fault.transient:
        resume_tokens = layer.resume_tokens if fault.conn_id == TOKEN_CONN_ID else 0
        return fault.tokens + resume_tokens + layer.base_requests + fault.failures
    if fault.name == "job_deleted_404" and layer.waits:
        return None
    return fault.tokens + (fault.attempts if fault.attempts is not None else fault.retry_limit + 1)


def time_bound(fault: Fault) -> float:
    attempts = fault.retry_limit + 1
    timeout = TIMEOUTS[fault.conn_id]
    return timeout * attempts * 2 + BACKOFF_BOUND * fault.retry_limit * 2 + fault.waited + SLACK_SECONDS


def assert_outcome(fault: Fault, layer: Layer, result: Result) -> None:
    if fault.transient:
        # Success after retries: the task does not fail on a fault its retry budget covers.
        assert result.error is None, f"a transient fault failed the task: {result.text}"
        if layer.waits and layer.api == "v1":
            assert result.value["status"] == 10 and result.value["status_name"] == "JOBSTAT_COMPLETED"
        elif layer.waits:
            assert result.value["phase"] == "Completed"
        return
    # Never success: not a value, and for the trigger not a success event either.
    assert result.error is not None, f"a lasting fault ended in success: {result.value!r}"
    deleted = fault.name == "job_deleted_404"
    if layer.name in ("deferred_trigger", "v2_phase_trigger"):
        assert result.event is not None
        if deleted:
            # The job is gone: the event fails the task at once, without task retries.
            assert result.event["status"] == "failed" and "not found" in result.event["message"]
            assert isinstance(result.error, AirflowFailException)
        elif fault.error is not None and issubclass(fault.error, PERMANENT_ERRORS):
            # No retry can fix it (refused credentials or permissions): failed, without task retries.
            assert result.event["status"] == "failed", result.event
            assert fault.marker in result.event["message"]
            assert isinstance(result.error, AirflowFailException)
        else:
            # Retries are spent: the event reports an error, which the task's own retries handle.
            assert result.event["status"] == "error", result.event
            assert fault.marker in result.event["message"]
            assert isinstance(result.error, AirflowException)
            assert not isinstance(result.error, AirflowFailException)
        # Nothing about the job: a fault never passes for a job's state.
        assert result.event.get("version" if layer.api == "v1" else "summary") is None
        return
    if deleted and layer.name in ("sensor_poke", "v2_phase_sensor_poke"):
        assert isinstance(result.error, AirflowFailException), result.text
        assert "does not exist" in str(result.error) and fault.marker in str(result.error)
        return
    assert fault.error is not None
    if layer.name in ("sensor_poke", "v2_phase_sensor_poke") and issubclass(fault.error, PERMANENT_ERRORS):
        # Worded as the deferred trigger words it, so every mode gives the same message; the typed
        # error stays reachable as the cause.
        assert type(result.error) is AirflowFailException, result.text
        assert "a retry would fail the same way" in str(result.error)
        assert fault.marker in str(result.error)
        result = Result(error=result.error.__cause__)
    elif layer.name in ("sensor_poke", "v2_phase_sensor_poke"):
        # Retries are spent: the trigger's "error" wording, as a plain AirflowException so the task's
        # own retries apply; the typed error stays reachable as the cause.
        assert type(result.error) is AirflowException, result.text
        assert str(result.error).startswith("Checking training job "), result.text
        assert fault.marker in str(result.error)
        result = Result(error=result.error.__cause__)
    assert isinstance(result.error, fault.error), result.text
    if fault.error is ModelArtsApiError:  # the generic error, not a subclass that would mean something else
        assert type(result.error) is ModelArtsApiError
    if fault.error is ModelArtsAuthError:
        assert not isinstance(result.error, ModelArtsSignatureExpiredError | ModelArtsTokenExpiredError)
    assert fault.marker in str(result.error)
    echoed = getattr(result.error, "server_canonical_request", None)
    if fault.name == "bad_signature_401" and echoed:
        # The gateway echoed what it signed, security token included: kept for debugging, redacted.
        assert "x-security-token:***" in echoed, echoed
    if fault.name == "throttled_429_retry_after_beyond_budget":
        assert isinstance(result.error, ModelArtsThrottledError) and result.error.retry_after == 3600


@pytest.mark.usefixtures("reliability_conns")
@pytest.mark.parametrize(("fault", "layer"), CASES)
def test_fault_matrix(emu: ModelArtsEmulator, fault: Fault, layer: Layer) -> None:
    name = f"fault-{fault.name[:40]}-{time.monotonic_ns()}"
    if layer.api == "v1":
        created = emu.create_job(job_name=name, timeline=fault.job_timeline)
        job = Job(created["job_id"], created["version_id"])
    else:
        created = emu.create_training_job(name, [list(step) for step in fault.phase_timeline])
        job = Job(training_job_id=created["id"], name=name)
    fault.arm(emu, job, layer)

    started = time.monotonic()
    try:
        result = layer.run(job, fault.conn_id, fault.retry_limit)
    finally:
        if layer.api == "v2" and job.training_job_id in emu.app.training_jobs.jobs:
            emu.delete_training_job(job.training_job_id)  # the session emulator's other tests count v2 jobs
    elapsed = time.monotonic() - started

    assert_outcome(fault, layer, result)
    # No hang: within timeout × attempts, the backoff and any Retry-After, with generous slack.
    assert elapsed < time_bound(fault), f"took {elapsed:.1f} s"
    if fault.waited:
        assert elapsed >= fault.waited  # Retry-After was honoured, not cut short

    expected = expected_requests(fault, layer)
    served = wait_for_requests(emu, expected or 0, within=fault.settle + 5)
    stats = emu.stats()
    if expected is not None:
        assert served == expected, stats["requests"]
    if fault.name == "job_deleted_404":
        # Identified by its code: the documented error table pairs ModelArts.2775 with HTTP 400.
        not_found = [entry for entry in stats["requests"] if entry["error_code"] == "ModelArts.2775"]
        assert len(not_found) == 1  # a missing job is final: never asked again
    budget = fault.tokens + fault.retry_limit + 1 + (layer.base_requests if fault.transient else 0)
    api_requests = served - stats["by_endpoint"]["iam_tokens"]
    # A sensor or trigger that waited polled the running job before it vanished: one call per poll.
    within_budget = api_requests <= budget or (expected is None and layer.waits)
    assert within_budget
    if fault.conn_id != TOKEN_CONN_ID:
        assert stats["by_endpoint"]["iam_tokens"] == 0
    refused = [entry for entry in stats["requests"] if entry["status"] in (401, 403)]
    auth_refusal = fault.error in (ModelArtsAuthError, ModelArtsSignatureExpiredError)
    if auth_refusal:
        assert len(refused) == 1  # never retried: a run of bad signatures locks the AK

    # No secret, signature or IAM token in what the user reads.
    secrets = [*CONNECTION_SECRETS, *secrets_from_stats(stats)]
    assert secrets_from_stats(stats), "the emulator saw no credential at all"
    leaks = find_leaks(result.text, secrets)
    assert leaks == []
    record_result(
        "fault_matrix",
        {
            "fault": fault.name,
            "layer": layer.name,
            "expected": "success" if fault.transient else "typed error",
            "outcome": "success" if result.error is None else type(result.error).__name__,
            "requests": served,
            "exact_count": expected is not None,
            "within_budget": within_budget,
            "auth_refusal": auth_refusal,
            "auth_requests_refused": len(refused),
            "elapsed": round(elapsed, 2),
            "secrets_checked": len(secrets),
            "leaks": len(leaks),
        },
    )
