"""The model and service operators over real HTTP against the emulator (issue 19): register and
wait, deploy or update and wait, batch inference, start/stop/delete, durability across tries,
and bad input that sends nothing.

Time is the emulator's: the operators' sleep between checks moves its clock. The waits are the
shared wait path's (``waiting/inference.py`` conditions and readers, ``triggers/inference.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from modelarts_emulator import ModelArtsEmulator

from airflow_provider_modelarts.exceptions import ModelArtsModelDeleteError, ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators import inference_base
from airflow_provider_modelarts.operators.models import (
    MODEL_ID_XCOM_KEY,
    ModelArtsCreateModelOperator,
    ModelArtsDeleteModelOperator,
    ModelArtsModelFailedError,
)
from airflow_provider_modelarts.operators.services import (
    SERVICE_ID_XCOM_KEY,
    ModelArtsBatchInferenceOperator,
    ModelArtsDeleteServiceOperator,
    ModelArtsDeployServiceOperator,
    ModelArtsServiceDeleteTimeoutError,
    ModelArtsServiceExistsError,
    ModelArtsServiceFailedError,
    ModelArtsStartServiceOperator,
    ModelArtsStopServiceOperator,
)
from airflow_provider_modelarts.triggers.inference import ModelArtsModelTrigger, ModelArtsServiceTrigger
from airflow_provider_modelarts.version_compat import AirflowTaskTerminated
from tests.conftest import api_requests
from tests.integration.airflow_context import TaskInstanceRuns
from tests.integration.conftest import first_event

pytestmark = pytest.mark.xdist_group("inference")
CONN_ID = "modelarts_default"
SOURCE = "obs://demo-bucket/models/resnet/"


@pytest.fixture
def inference(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelArtsEmulator]:
    """The operators' sleep moves the emulator's clock; models, services and plans are forgotten afterwards."""
    monkeypatch.setattr(inference_base, "sleep", emu.advance_time)
    yield emu
    emu.app.inference.clear()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _model(name: str, version: str = "1.0.0", source: str = SOURCE) -> dict[str, Any]:
    return {"model_name": name, "model_version": version, "source_location": source, "model_type": "PyTorch"}


def _real_time(name: str, model_id: str, instances: int = 1) -> dict[str, Any]:
    config = [
        {"model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": instances, "weight": 100}
    ]
    return {"service_name": name, "infer_type": "real-time", "config": config}


def _batch(name: str, model_id: str) -> dict[str, Any]:
    entry = {
        "model_id": model_id, "specification": "modelarts.vm.cpu.2u", "instance_count": 1,
        "src_path": "obs://demo-bucket/batch/in/", "dest_path": "obs://demo-bucket/batch/out/",
        "req_uri": "/", "mapping_type": "file",
    }  # fmt: skip
    return {"service_name": name, "infer_type": "batch", "config": [entry]}


def _published(emu: ModelArtsEmulator, name: str | None = None) -> str:
    result = ModelArtsCreateModelOperator(
        task_id="register", model=_model(name or _name("it-model")), modelarts_conn_id=CONN_ID, poll_interval=1
    ).execute(TaskInstanceRuns(task_id="register").context())
    return str(result["model_id"])


def _named(emu: ModelArtsEmulator, kind: str, name: str) -> list[dict[str, Any]]:
    rows = emu.app.inference.model_states() if kind == "model" else emu.app.inference.service_states()
    return [row for row in rows if row[f"{kind}_name"] == name]


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def test_a_model_is_registered_waited_for_and_returned_compactly(inference: ModelArtsEmulator) -> None:
    name = _name("it-model")
    runs = TaskInstanceRuns(task_id="register")
    context = runs.context()
    operator = ModelArtsCreateModelOperator(
        task_id="register", model=_model(name), modelarts_conn_id=CONN_ID, poll_interval=1
    )
    result = operator.execute(context)
    assert set(result) == {"model_id", "model_name", "model_version", "model_status", "console_url"}
    assert (result["model_name"], result["model_version"], result["model_status"]) == (name, "1.0.0", "published")
    assert result["model_id"] in result["console_url"]
    assert context["ti"].xcom_pull(key=MODEL_ID_XCOM_KEY) == result["model_id"]
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("obs://demo-bucket", "models/resnet/")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("modelarts", f"models/{name}/versions/1.0.0")]


def test_a_retry_uses_the_model_an_earlier_try_registered(inference: ModelArtsEmulator) -> None:
    name = _name("it-model")
    runs = TaskInstanceRuns(task_id="register")
    first = ModelArtsCreateModelOperator(
        task_id="register", model=_model(name), modelarts_conn_id=CONN_ID, poll_interval=1, wait_for_completion=False
    ).execute(runs.context())
    runs.retry()
    second = ModelArtsCreateModelOperator(
        task_id="register", model=_model(name), modelarts_conn_id=CONN_ID, poll_interval=1
    ).execute(runs.context())
    assert second["model_id"] == first["model_id"] and second["model_status"] == "published"
    assert len(_named(inference, "model", name)) == 1


def test_a_model_of_that_name_and_version_from_another_source_is_not_taken(inference: ModelArtsEmulator) -> None:
    name = _name("it-model")
    _published(inference, name)
    with pytest.raises(ModelArtsValidationError, match="model.model_version"):
        ModelArtsCreateModelOperator(
            task_id="register", model=_model(name, source="obs://demo-bucket/other/"), modelarts_conn_id=CONN_ID
        ).execute(TaskInstanceRuns(task_id="register").context())


def test_a_model_that_fails_to_build_fails_the_task_with_the_reason(inference: ModelArtsEmulator) -> None:
    inference.app.inference.model_plans.put(
        "it-broken", timeline=[["building", 2], ["building_failed", None]], failure_message="no config.json"
    )
    with pytest.raises(ModelArtsModelFailedError, match="building_failed") as failure:
        ModelArtsCreateModelOperator(
            task_id="register", model=_model(_name("it-broken")), modelarts_conn_id=CONN_ID, poll_interval=1
        ).execute(TaskInstanceRuns(task_id="register").context())
    assert isinstance(failure.value, AirflowFailException) and "no config.json" in str(failure.value)


def test_a_clear_after_a_failed_build_registers_the_model_again(inference: ModelArtsEmulator) -> None:
    """The first build failed; the fix is in OBS, and a Clear means to build it again: the failed
    model of that name and version is deleted and registered once more (a reviewer's finding)."""
    name = _name("it-rebuild")
    plans = inference.app.inference.model_plans
    plans.put(name, timeline=[["building", 2], ["building_failed", None]], failure_message="no config.json")
    runs = TaskInstanceRuns(task_id="register")
    build = lambda: ModelArtsCreateModelOperator(  # noqa: E731
        task_id="register", model=_model(name), modelarts_conn_id=CONN_ID, poll_interval=1
    )
    with pytest.raises(ModelArtsModelFailedError):
        build().execute(runs.context())
    failed_id = runs.xcom[MODEL_ID_XCOM_KEY]
    plans.put(name, timeline=[["building", 2], ["published", None]])
    runs.clear()
    result = build().execute(runs.context())
    assert result["model_status"] == "published" and result["model_id"] != failed_id
    assert [row["model_id"] for row in _named(inference, "model", name)] == [result["model_id"]]


# ---------------------------------------------------------------------------------------------
# Real-time services
# ---------------------------------------------------------------------------------------------


def _deploy(body: dict[str, Any], runs: TaskInstanceRuns | None = None, **kwargs: Any) -> Any:
    operator = ModelArtsDeployServiceOperator(
        task_id="deploy", service=body, modelarts_conn_id=CONN_ID, poll_interval=1, **kwargs
    )
    return operator.execute((runs or TaskInstanceRuns(task_id="deploy")).context())


def test_a_service_is_deployed_and_a_retry_uses_it(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    name = _name("it-svc")
    runs = TaskInstanceRuns(task_id="deploy")
    first = _deploy(_real_time(name, model_id), runs)
    assert first["status"] == "running" and first["access_address"] and first["service_id"] in first["console_url"]
    runs.retry()
    before = inference.stats()["by_endpoint"]
    second = _deploy(_real_time(name, model_id), runs)
    assert second["service_id"] == first["service_id"] and second["status"] == "running"
    after = inference.stats()["by_endpoint"]
    sent = {endpoint: after[endpoint] - before.get(endpoint, 0) for endpoint in after}
    # find, read, one check: the running service has this config (its envs: {} default is no change)
    assert {endpoint: count for endpoint, count in sent.items() if count} == {"list_services": 1, "get_service": 2}
    assert len(_named(inference, "service", name)) == 1


@pytest.mark.parametrize(("teardown", "after"), [("delete", "a new service"), ("stop", "the same one, started")])
def test_a_retry_waits_out_the_stop_or_delete_its_earlier_try_began(
    inference: ModelArtsEmulator, teardown: str, after: str
) -> None:
    """Try 1's on_kill (or a teardown) is deleting or stopping the service when the retry comes:
    the retry waits until that ends, then deploys again or starts it, rather than adopting a
    service on its way out (a reviewer's finding)."""
    model_id = _published(inference)
    name = _name("it-svc")
    runs = TaskInstanceRuns(task_id="deploy")
    first = _deploy(_real_time(name, model_id), runs)
    hook = ModelArtsHook(CONN_ID)
    try:
        if teardown == "delete":
            hook.delete_service(first["service_id"])
        else:
            hook.update_service(first["service_id"], status="stopped")
        assert hook.get_service(first["service_id"])["status"] in ("deleting", "stopping")
    finally:
        hook.close()
    runs.retry()
    second = _deploy(_real_time(name, model_id), runs)
    assert second["status"] == "running"
    assert (second["service_id"] == first["service_id"]) is (teardown == "stop"), after
    assert len(_named(inference, "service", name)) == 1


def test_a_teardown_with_nothing_to_delete_succeeds_without_a_request(inference: ModelArtsEmulator) -> None:
    """The example DAG's teardown after a failure upstream: the ids pulled with Jinja render empty."""
    before = sum(inference.stats()["by_endpoint"].values())
    for operator, key in (
        (ModelArtsDeleteServiceOperator, "service_id"),
        (ModelArtsDeleteModelOperator, "model_id"),
    ):
        pulled = f"{{{{ ti.xcom_pull(task_ids='never_ran', key='{key}') or '' }}}}"
        task = operator(task_id=f"delete_{key}", modelarts_conn_id=CONN_ID, **{key: pulled})
        context = TaskInstanceRuns(task_id=task.task_id).context()
        task.render_template_fields(context)
        assert task.execute(context) == {key: None, "deleted": False}
    assert sum(inference.stats()["by_endpoint"].values()) == before


def test_an_existing_service_is_updated_or_refused_as_if_exists_says(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    name = _name("it-svc")
    first = _deploy(_real_time(name, model_id))
    with pytest.raises(ModelArtsServiceExistsError, match="if_exists"):
        _deploy(_real_time(name, model_id, instances=2), if_exists="fail")
    updated = _deploy(_real_time(name, model_id, instances=2), xcom_fields="all")
    assert updated["service_id"] == first["service_id"] and updated["status"] == "running"
    assert updated["config"][0]["instance_count"] == 2


def test_a_failed_deploy_fails_with_error_msg_and_events(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    inference.app.inference.service_plans.put(
        "it-bad-svc", timeline=[["deploying", 2], ["failed", None]], error_msg="image pull failed"
    )
    with pytest.raises(ModelArtsServiceFailedError, match="image pull failed") as failure:
        _deploy(_real_time(_name("it-bad-svc"), model_id))
    assert "last events:" in str(failure.value)


def test_start_and_stop_are_idempotent(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    service_id = _deploy(_real_time(_name("it-svc"), model_id))["service_id"]

    def run(cls: type, **kwargs: Any) -> Any:
        operator = cls(task_id="t", service_id=service_id, modelarts_conn_id=CONN_ID, poll_interval=1, **kwargs)
        return operator.execute(TaskInstanceRuns(task_id="t").context())

    assert run(ModelArtsStartServiceOperator)["status"] == "running"  # already running: nothing sent
    assert run(ModelArtsStopServiceOperator)["status"] == "stopped"
    before = api_requests(inference)
    assert run(ModelArtsStopServiceOperator)["status"] == "stopped"
    assert api_requests(inference) - before == 1  # one read, no update
    assert run(ModelArtsStartServiceOperator)["status"] == "running"


def test_deleting_what_is_gone_succeeds(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    service_id = _deploy(_real_time(_name("it-svc"), model_id))["service_id"]
    context = TaskInstanceRuns(task_id="t").context()
    delete = ModelArtsDeleteServiceOperator(
        task_id="t", service_id=service_id, modelarts_conn_id=CONN_ID, poll_interval=1
    )
    assert delete.execute(context)["deleted"] is True
    before = api_requests(inference)
    assert delete.execute(context)["deleted"] is False
    assert api_requests(inference) - before == 1  # the DELETE's 404, no wait
    model = ModelArtsDeleteModelOperator(task_id="m", model_id=model_id, modelarts_conn_id=CONN_ID)
    assert model.execute(context)["deleted"] is True
    assert model.execute(context)["deleted"] is False


def test_delete_service_waits_until_gone_so_the_model_delete_right_after_succeeds(
    inference: ModelArtsEmulator,
) -> None:
    """The emulator's service is ``deleting`` 2 s: DELETE, then a read at 0, 1 and 2 s (gone)."""
    model_id = _published(inference)
    service_id = _deploy(_real_time(_name("it-svc"), model_id))["service_id"]
    context = TaskInstanceRuns(task_id="t").context()
    before = api_requests(inference)
    delete = ModelArtsDeleteServiceOperator(
        task_id="t", service_id=service_id, modelarts_conn_id=CONN_ID, poll_interval=1
    )
    assert delete.execute(context) == {"service_id": service_id, "deleted": True}
    assert api_requests(inference) - before == 4  # DELETE 1, GET 3 (deleting, deleting, 404)
    before = api_requests(inference)
    model = ModelArtsDeleteModelOperator(task_id="m", model_id=model_id, modelarts_conn_id=CONN_ID)
    assert model.execute(context)["deleted"] is True  # no ModelArts.3009, no retry
    assert api_requests(inference) - before == 1


def test_delete_service_without_waiting_leaves_the_model_in_use(inference: ModelArtsEmulator) -> None:
    """Why the wait is the default: right after an unwaited delete the model is still refused."""
    model_id = _published(inference)
    service_id = _deploy(_real_time(_name("it-svc"), model_id))["service_id"]
    context = TaskInstanceRuns(task_id="t").context()
    before = api_requests(inference)
    delete = ModelArtsDeleteServiceOperator(
        task_id="t", service_id=service_id, modelarts_conn_id=CONN_ID, wait_for_completion=False
    )
    assert delete.execute(context)["deleted"] is True
    assert api_requests(inference) - before == 1
    model = ModelArtsDeleteModelOperator(task_id="m", model_id=model_id, modelarts_conn_id=CONN_ID)
    with pytest.raises(ModelArtsModelDeleteError, match="ModelArts.3009"):
        model.execute(context)
    inference.advance_time(5)
    assert model.execute(context)["deleted"] is True


def test_delete_service_wait_has_a_deadline(inference: ModelArtsEmulator) -> None:
    """A service still deleting when ``wait_timeout`` runs out fails the try (retryable); the
    retry's DELETE of a service being deleted changes nothing, and its wait sees it gone."""
    model_id = _published(inference)
    service_id = _deploy(_real_time(_name("it-svc"), model_id))["service_id"]
    context = TaskInstanceRuns(task_id="t").context()
    before = api_requests(inference)
    delete = ModelArtsDeleteServiceOperator(
        task_id="t", service_id=service_id, modelarts_conn_id=CONN_ID, poll_interval=1, wait_timeout=1.5
    )
    with pytest.raises(ModelArtsServiceDeleteTimeoutError, match="still there \\(deleting\\)"):
        delete.execute(context)
    assert not isinstance(ModelArtsServiceDeleteTimeoutError("x"), AirflowFailException)
    assert api_requests(inference) - before == 3  # DELETE 1, GET at 0 and 1 s; 2 s would pass 1.5
    inference.advance_time(1)
    assert delete.execute(context)["deleted"] is False  # gone by now: the retry's DELETE answers 404


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [({"poll_interval": 0}, "poll_interval"), ({"wait_timeout": -1}, "wait_timeout"),
     ({"wait_for_completion": "yes"}, "wait_for_completion")],
)  # fmt: skip
def test_delete_service_bad_wait_settings_are_refused(
    inference: ModelArtsEmulator, kwargs: dict[str, Any], parameter: str
) -> None:
    before = api_requests(inference)
    with pytest.raises(ModelArtsValidationError, match=parameter):
        ModelArtsDeleteServiceOperator(task_id="t", service_id="a" * 8, modelarts_conn_id=CONN_ID, **kwargs)
    assert api_requests(inference) == before


# ---------------------------------------------------------------------------------------------
# Batch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delete_on_finish", [True, False])
def test_a_batch_run_finishes_returns_dest_path_and_is_deleted(
    inference: ModelArtsEmulator, delete_on_finish: bool
) -> None:
    model_id = _published(inference)
    name = _name("it-batch")
    operator = ModelArtsBatchInferenceOperator(
        task_id="batch", service=_batch(name, model_id), modelarts_conn_id=CONN_ID, poll_interval=1,
        delete_on_finish=delete_on_finish,
    )  # fmt: skip
    context = TaskInstanceRuns(task_id="batch").context()
    result = operator.execute(context)
    assert result["dest_path"] == "obs://demo-bucket/batch/out/" and result["status"] == "finished"
    assert context["ti"].xcom_pull(key=SERVICE_ID_XCOM_KEY) == result["service_id"]
    inference.advance_time(5)
    assert len(_named(inference, "service", name)) == (0 if delete_on_finish else 1)
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [d.name for d in lineage.inputs] == ["batch/in/"] and [d.name for d in lineage.outputs] == ["batch/out/"]


@pytest.mark.parametrize(
    ("teardown", "seconds", "seen"), [("stop", 3, "stopped"), ("stop", 0, "stopping"), ("delete", 0, "deleting")]
)
def test_a_retry_after_its_batch_service_was_stopped_runs_the_batch_again(
    inference: ModelArtsEmulator, teardown: str, seconds: float, seen: str
) -> None:
    """Try 1's kill (or timeout) stopped the batch service, or is still stopping or deleting it;
    the retry waits that out, deletes what is left and deploys the batch again, instead of failing
    on the stopped run (a reviewer's finding)."""
    model_id = _published(inference)
    name = _name("it-rbatch")
    hook = ModelArtsHook(CONN_ID)
    try:
        stale = str(hook.create_service(_batch(name, model_id))["service_id"])
        if teardown == "stop":
            hook.update_service(stale, status="stopped")
        else:
            hook.delete_service(stale)
        inference.advance_time(seconds)
        assert [row["status"] for row in _named(inference, "service", name)] == [seen]
        runs = TaskInstanceRuns(task_id="batch")
        result = ModelArtsBatchInferenceOperator(
            task_id="batch", service=_batch(name, model_id), modelarts_conn_id=CONN_ID, poll_interval=1
        ).execute(runs.context())
    finally:
        hook.close()
    assert result["status"] == "finished" and result["service_id"] != stale
    inference.advance_time(5)
    assert _named(inference, "service", name) == []  # the stale one deleted first, the new one on finish


def test_batch_start_and_stop_take_xcom_fields(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    batch = ModelArtsBatchInferenceOperator(
        task_id="batch", service=_batch(_name("it-xbatch"), model_id), modelarts_conn_id=CONN_ID, poll_interval=1,
        xcom_fields=["service_id", "dest_path", "infer_type"],
    ).execute(TaskInstanceRuns(task_id="batch").context())  # fmt: skip
    assert set(batch) == {"service_id", "dest_path", "infer_type"} and batch["infer_type"] == "batch"
    deployed = ModelArtsDeployServiceOperator(
        task_id="deploy", service=_real_time(_name("it-xsvc"), model_id), modelarts_conn_id=CONN_ID, poll_interval=1
    ).execute(TaskInstanceRuns(task_id="deploy").context())
    stopped = ModelArtsStopServiceOperator(
        task_id="stop", service_id=deployed["service_id"], modelarts_conn_id=CONN_ID, poll_interval=1,
        xcom_fields="all",
    ).execute(TaskInstanceRuns(task_id="stop").context())  # fmt: skip
    assert stopped["status"] == "stopped" and "config" in stopped  # the whole service object
    with pytest.raises(ModelArtsValidationError, match="xcom_fields"):
        ModelArtsStartServiceOperator(task_id="start", service_id=deployed["service_id"], xcom_fields=3)


# ---------------------------------------------------------------------------------------------
# Deferred: the task defers after its first check, the trigger's event resumes it (a new
# operator object, as in a new process) with the same result as the worker's wait
# ---------------------------------------------------------------------------------------------


def _defer_and_resume(
    emu: ModelArtsEmulator, build: Any, task_id: str, seconds: float, trigger_type: type
) -> tuple[Any, dict[str, Any], TaskInstanceRuns]:
    """Run ``build()`` deferred: its first check defers, ``seconds`` pass, the trigger's first
    event resumes a fresh ``build()``. Returns (what execute_complete returned or raised, the event, runs)."""
    runs = TaskInstanceRuns(task_id=task_id)
    with pytest.raises(TaskDeferred) as deferred:
        build().execute(runs.context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, trigger_type) and deferred.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    emu.advance_time(seconds)
    event = asyncio.run(first_event(trigger_type(**kwargs)))  # the triggerer rebuilds it from its kwargs
    runs.resume()
    try:
        return build().execute_complete(runs.context(), event), event, runs
    except Exception as error:  # noqa: BLE001 - the test judges it
        return error, event, runs


def test_a_deferred_model_resumes_with_the_worker_waits_result(inference: ModelArtsEmulator) -> None:
    name = _name("it-dmodel")
    build = lambda: ModelArtsCreateModelOperator(  # noqa: E731
        task_id="register", model=_model(name), modelarts_conn_id=CONN_ID, poll_interval=1, deferrable=True
    )
    result, event, runs = _defer_and_resume(inference, build, "register", 60, ModelArtsModelTrigger)
    assert event["status"] == "success" and event["row"]["model_status"] == "published"
    assert result == {
        "model_id": runs.xcom[MODEL_ID_XCOM_KEY], "model_name": name, "model_version": "1.0.0",
        "model_status": "published", "console_url": result["console_url"],
    }  # fmt: skip
    assert result["model_id"] in result["console_url"]  # the link restored after the resume
    assert len(_named(inference, "model", name)) == 1


def test_a_deferred_model_that_fails_to_build_fails_with_the_reason(inference: ModelArtsEmulator) -> None:
    inference.app.inference.model_plans.put(
        "it-dbroken", timeline=[["building", 2], ["building_failed", None]], failure_message="no config.json"
    )
    build = lambda: ModelArtsCreateModelOperator(  # noqa: E731
        task_id="register", model=_model(_name("it-dbroken")), modelarts_conn_id=CONN_ID, deferrable=True
    )
    failure, event, _ = _defer_and_resume(inference, build, "register", 5, ModelArtsModelTrigger)
    assert event["status"] == "failed" and event["resource_status"] == "building_failed"
    assert isinstance(failure, ModelArtsModelFailedError) and "no config.json" in str(failure)


def test_a_deferred_deploy_resumes_with_the_worker_waits_result(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    worker = _deploy(_real_time(_name("it-svc"), model_id))
    name = _name("it-dsvc")
    build = lambda: ModelArtsDeployServiceOperator(  # noqa: E731
        task_id="deploy", service=_real_time(name, model_id), modelarts_conn_id=CONN_ID, deferrable=True
    )
    before = api_requests(inference)
    result, event, runs = _defer_and_resume(inference, build, "deploy", 10, ModelArtsServiceTrigger)
    assert event["status"] == "success" and event["warning"] is False
    assert set(result) == set(worker) and result["status"] == "running" and result["access_address"]
    assert result["service_id"] == runs.xcom[SERVICE_ID_XCOM_KEY] == event["service_id"]
    # find, create, the first check, the trigger's one read; the resume reads nothing (the event's row)
    assert api_requests(inference) - before == 4


@pytest.mark.parametrize("concerning", ["warn", "fail"])
def test_a_deferred_concerning_deploy_succeeds_with_a_warning_or_fails_on_request(
    inference: ModelArtsEmulator, concerning: str
) -> None:
    model_id = _published(inference)
    inference.app.inference.service_plans.put("it-dconc", timeline=[["deploying", 2], ["concerning", None]])
    name = _name("it-dconc")
    build = lambda: ModelArtsDeployServiceOperator(  # noqa: E731
        task_id="deploy", service=_real_time(name, model_id), modelarts_conn_id=CONN_ID, deferrable=True,
        concerning=concerning,
    )  # fmt: skip
    outcome, event, _ = _defer_and_resume(inference, build, "deploy", 5, ModelArtsServiceTrigger)
    if concerning == "warn":
        assert event["status"] == "success" and event["warning"] is True and outcome["status"] == "concerning"
    else:
        assert event["status"] == "failed" and isinstance(outcome, ModelArtsServiceFailedError)
        assert "concerning" in str(outcome)


def test_a_deferred_failed_deploy_fails_with_error_msg_and_events(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    inference.app.inference.service_plans.put(
        "it-dbad", timeline=[["deploying", 2], ["failed", None]], error_msg="image pull failed"
    )
    build = lambda: ModelArtsDeployServiceOperator(  # noqa: E731
        task_id="deploy", service=_real_time(_name("it-dbad"), model_id), modelarts_conn_id=CONN_ID, deferrable=True
    )
    failure, event, _ = _defer_and_resume(inference, build, "deploy", 5, ModelArtsServiceTrigger)
    assert event["status"] == "failed" and event["resource_status"] == "failed"
    assert isinstance(failure, ModelArtsServiceFailedError)
    assert "image pull failed" in str(failure) and "last events:" in str(failure)


def test_a_deferred_batch_run_resumes_with_dest_path_and_is_deleted(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    name = _name("it-dbatch")
    build = lambda: ModelArtsBatchInferenceOperator(  # noqa: E731
        task_id="batch", service=_batch(name, model_id), modelarts_conn_id=CONN_ID, deferrable=True
    )
    result, event, runs = _defer_and_resume(inference, build, "batch", 20, ModelArtsServiceTrigger)
    assert event["status"] == "success" and event["row"]["dest_paths"] == ["obs://demo-bucket/batch/out/"]
    assert result["dest_path"] == "obs://demo-bucket/batch/out/" and result["status"] == "finished"
    assert result["service_id"] == runs.xcom[SERVICE_ID_XCOM_KEY]
    inference.advance_time(5)
    assert _named(inference, "service", name) == []  # delete_on_finish, after the resume


def test_a_resumed_task_reports_the_same_lineage_as_the_worker_wait(inference: ModelArtsEmulator) -> None:
    """The resumed task is a new operator object that sent nothing: its lineage comes from its
    rendered body (a reviewer's finding: it was empty)."""
    built: list[Any] = []

    def keep(operator: Any) -> Any:
        built.append(operator)
        return operator

    name = _name("it-lmodel")
    register = lambda: keep(ModelArtsCreateModelOperator(  # noqa: E731
        task_id="register", model=_model(name), modelarts_conn_id=CONN_ID, deferrable=True
    ))  # fmt: skip
    _defer_and_resume(inference, register, "register", 60, ModelArtsModelTrigger)
    model_lineage = built[-1].get_openlineage_facets_on_complete(None)
    assert [d.name for d in model_lineage.inputs] == ["models/resnet/"] and len(model_lineage.outputs) == 1
    model_id = _published(inference)
    batch = lambda: keep(ModelArtsBatchInferenceOperator(  # noqa: E731
        task_id="batch", service=_batch(_name("it-lbatch"), model_id), modelarts_conn_id=CONN_ID, deferrable=True
    ))  # fmt: skip
    _defer_and_resume(inference, batch, "batch", 20, ModelArtsServiceTrigger)
    batch_lineage = built[-1].get_openlineage_facets_on_complete(None)
    assert [d.name for d in batch_lineage.inputs] == ["batch/in/"]
    assert [d.name for d in batch_lineage.outputs] == ["batch/out/"]


def test_a_deferred_batch_run_that_is_stopped_fails(inference: ModelArtsEmulator) -> None:
    model_id = _published(inference)
    name = _name("it-dstop")
    runs = TaskInstanceRuns(task_id="batch")
    operator = ModelArtsBatchInferenceOperator(
        task_id="batch", service=_batch(name, model_id), modelarts_conn_id=CONN_ID, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(runs.context())
    inference.advance_time(5)  # running
    ModelArtsStopServiceOperator(
        task_id="stop", service_id=runs.xcom[SERVICE_ID_XCOM_KEY], modelarts_conn_id=CONN_ID, wait_for_completion=False
    ).execute(TaskInstanceRuns(task_id="stop").context())
    inference.advance_time(5)
    event = asyncio.run(first_event(deferred.value.trigger))
    assert event["status"] == "failed" and event["resource_status"] == "stopped"
    with pytest.raises(ModelArtsServiceFailedError, match="stopped"):
        operator.execute_complete(runs.context(), event)


# ---------------------------------------------------------------------------------------------
# on_kill: Airflow calls it from its SIGTERM handler while the task waits
# ---------------------------------------------------------------------------------------------


def _kill_during_first_sleep(emu: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, operator: Any) -> None:
    """The operator is killed during its first sleep between checks; it ends terminated."""

    def sleep(seconds: float) -> None:
        operator.on_kill()
        emu.advance_time(seconds)

    monkeypatch.setattr(inference_base, "sleep", sleep)
    with pytest.raises(AirflowTaskTerminated):
        operator.execute(TaskInstanceRuns(task_id=operator.task_id).context())


@pytest.mark.parametrize(("action", "after"), [("stop", ["stopped"]), ("delete", []), ("none", ["running"])])
def test_a_killed_deploy_stops_deletes_or_leaves_what_it_created(
    inference: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, action: str, after: list[str]
) -> None:
    model_id = _published(inference)
    name = _name("it-ksvc")
    operator = ModelArtsDeployServiceOperator(
        task_id="deploy", service=_real_time(name, model_id), modelarts_conn_id=CONN_ID, poll_interval=1,
        on_kill_action=action,
    )  # fmt: skip
    _kill_during_first_sleep(inference, monkeypatch, operator)
    inference.advance_time(10)
    assert [row["status"] for row in _named(inference, "service", name)] == after


def test_a_killed_deploy_stops_but_never_deletes_a_service_it_only_updated(
    inference: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = _published(inference)
    name = _name("it-kupd")
    _deploy(_real_time(name, model_id))
    operator = ModelArtsDeployServiceOperator(
        task_id="deploy", service=_real_time(name, model_id, instances=2), modelarts_conn_id=CONN_ID,
        poll_interval=1, on_kill_action="delete",
    )  # fmt: skip
    _kill_during_first_sleep(inference, monkeypatch, operator)
    inference.advance_time(10)
    assert [row["status"] for row in _named(inference, "service", name)] == ["stopped"]


def test_a_killed_batch_run_is_stopped(inference: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = _published(inference)
    name = _name("it-kbatch")
    operator = ModelArtsBatchInferenceOperator(
        task_id="batch", service=_batch(name, model_id), modelarts_conn_id=CONN_ID, poll_interval=1
    )
    _kill_during_first_sleep(inference, monkeypatch, operator)
    inference.advance_time(10)
    assert [row["status"] for row in _named(inference, "service", name)] == ["stopped"]
    operator.on_kill()  # once: nothing more is sent
    before = api_requests(inference)
    operator.on_kill()
    assert api_requests(inference) == before


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def _rt(**kwargs: Any) -> ModelArtsDeployServiceOperator:
    return ModelArtsDeployServiceOperator(task_id="t", service=_real_time("s", "m"), **kwargs)


@pytest.mark.parametrize(
    ("build", "parameter"),
    [
        (lambda: ModelArtsCreateModelOperator(task_id="t", model=_model("m", version="1.0")), "model_version"),
        (lambda: ModelArtsCreateModelOperator(task_id="t", model=_model("m"), poll_interval=0), "poll_interval"),
        (lambda: _rt(if_exists="x"), "if_exists"),
        (lambda: _rt(concerning="x"), "concerning"),
        (lambda: _rt(on_kill_action="kill"), "on_kill_action"),
        (lambda: ModelArtsDeployServiceOperator(task_id="t", service=_batch("s", "m")), "service.infer_type"),
        (lambda: ModelArtsBatchInferenceOperator(task_id="t", service=_real_time("s", "m")), "service.infer_type"),
        (lambda: ModelArtsDeleteModelOperator(task_id="t", model_id="bad id"), "model_id"),
        (lambda: ModelArtsStopServiceOperator(task_id="t", service_id="bad id"), "service_id"),
    ],
)  # fmt: skip
def test_bad_literals_are_refused_at_parse_time(build: Any, parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError, match=parameter):
        build()


def test_bad_rendered_values_send_nothing(inference: ModelArtsEmulator) -> None:
    context = TaskInstanceRuns(task_id="t").context()
    model = ModelArtsCreateModelOperator(task_id="t", model={"model_name": "{{ ds }}"}, modelarts_conn_id=CONN_ID)
    service = ModelArtsDeployServiceOperator(
        task_id="t", service={"service_name": "{{ ds }}"}, modelarts_conn_id=CONN_ID
    )
    stop = ModelArtsStopServiceOperator(task_id="t", service_id="{{ ds }}", modelarts_conn_id=CONN_ID)
    model.model, service.service, stop.service_id = _model("m", version="01.0.0"), _batch("s", "m"), "bad id"
    before = api_requests(inference)
    for operator, parameter in ((model, "model_version"), (service, "service.infer_type"), (stop, "service_id")):
        with pytest.raises(ModelArtsValidationError, match=parameter):
            operator.execute(context)
    assert api_requests(inference) == before


# ---------------------------------------------------------------------------------------------
# Assets from tasks: the outlets' asset events carry the service's id and status, and the batch
# run's outputs (the model's: tests/integration/test_dag_assets.py, with dag.test())
# ---------------------------------------------------------------------------------------------


def _with_outlet_events(context: dict[str, Any]) -> dict[str, Any]:
    """A task's context with Airflow's own outlet event accessors, fresh as in each task process."""
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return {**context, "outlet_events": OutletEventAccessors()}


def test_the_outlets_of_a_deployed_service_carry_its_id_and_status(inference: ModelArtsEmulator) -> None:
    from airflow.sdk import Asset, AssetAlias

    model_id = _published(inference)
    name = _name("it-asvc")
    served, alias = Asset("modelarts://services/served"), AssetAlias("served-outputs")
    context = _with_outlet_events(TaskInstanceRuns(task_id="deploy").context())
    result = ModelArtsDeployServiceOperator(
        task_id="deploy", service=_real_time(name, model_id), modelarts_conn_id=CONN_ID, poll_interval=1,
        outlets=[served, alias],
    ).execute(context)  # fmt: skip
    assert context["outlet_events"][served].extra == {
        "service_id": result["service_id"], "service_name": name, "status": "running",
        "console_url": result["console_url"],
    }  # fmt: skip
    assert context["outlet_events"][alias].asset_alias_events == []  # a service has no OBS output


def test_the_outlets_of_a_resumed_batch_run_carry_its_outputs(inference: ModelArtsEmulator) -> None:
    from airflow.sdk import Asset, AssetAlias

    model_id = _published(inference)
    name = _name("it-abatch")
    scored, alias = Asset("modelarts://batch/scored"), AssetAlias("scored-outputs")
    build = lambda: ModelArtsBatchInferenceOperator(  # noqa: E731
        task_id="batch", service=_batch(name, model_id), modelarts_conn_id=CONN_ID, deferrable=True,
        outlets=[scored, alias],
    )  # fmt: skip
    runs = TaskInstanceRuns(task_id="batch")
    deferring = _with_outlet_events(runs.context())
    with pytest.raises(TaskDeferred) as deferred:
        build().execute(deferring)
    assert len(deferring["outlet_events"]) == 0  # nothing before the result is final
    _, kwargs = deferred.value.trigger.serialize()
    inference.advance_time(20)
    event = asyncio.run(first_event(ModelArtsServiceTrigger(**kwargs)))
    runs.resume()
    resumed = _with_outlet_events(runs.context())
    result = build().execute_complete(resumed, event)
    output = "obs://demo-bucket/batch/out/"
    extra = {
        "service_id": runs.xcom[SERVICE_ID_XCOM_KEY], "service_name": name, "status": "finished",
        "console_url": result["console_url"],
    }  # fmt: skip
    assert resumed["outlet_events"][scored].extra == {**extra, "outputs": [output]}
    assert [
        (added.dest_asset_key.name, added.dest_asset_key.uri, added.extra)
        for added in resumed["outlet_events"][alias].asset_alias_events
    ] == [(output, "obs://demo-bucket/batch/out", extra)]


def test_the_outlets_of_a_model_not_waited_for_carry_what_the_create_answered(inference: ModelArtsEmulator) -> None:
    """No status: the create's answer has none, and the task reads nothing more (as its XCom row)."""
    from airflow.sdk import Asset

    name = _name("it-amodel")
    registered = Asset("modelarts://models/registered")
    context = _with_outlet_events(TaskInstanceRuns(task_id="register").context())
    result = ModelArtsCreateModelOperator(
        task_id="register", model=_model(name), modelarts_conn_id=CONN_ID, wait_for_completion=False,
        outlets=[registered],
    ).execute(context)  # fmt: skip
    assert context["outlet_events"][registered].extra == {
        "model_id": result["model_id"], "model_name": name, "model_version": "1.0.0",
        "model_status": result["model_status"], "source_location": SOURCE, "console_url": result["console_url"],
    }  # fmt: skip
    assert result["model_status"] is None
