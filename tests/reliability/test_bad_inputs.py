"""The bad-input matrix: invalid values for the hook, the operators, the sensors, the triggers and
the connection (v1 and v2 APIs) are refused, with a message naming the parameter and what is allowed, before any
request leaves (the emulator counts zero).

When a value is refused depends on when it is known:

* ``parse``: a literal in a DAG file is refused while Airflow parses the file (a real ``DagBag``
  import: the DAG does not load and the import error names the parameter);
* ``render``: a templated value is refused once rendered, when the task starts, before any call;
* ``call``: hook arguments, trigger kwargs and connection values are refused by the call that
  would use them.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DAG, BaseOperator
from modelarts_emulator import ModelArtsEmulator
from modelarts_emulator import config as emulator_config

from airflow_provider_modelarts.exceptions import ModelArtsConnectionConfigError, ModelArtsValidationError
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
from airflow_provider_modelarts.operators.models import ModelArtsCreateModelOperator
from airflow_provider_modelarts.operators.services import ModelArtsBatchInferenceOperator
from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.operators.training_jobs import (
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from airflow_provider_modelarts.operators.training_jobs_v2 import ModelArtsSearchTrainingJobsOperator
from airflow_provider_modelarts.sensors.inference import ModelArtsServiceSensor
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor
from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor
from airflow_provider_modelarts.triggers.inference import ModelArtsModelTrigger, ModelArtsServiceTrigger
from airflow_provider_modelarts.triggers.training_job import ModelArtsTrainingJobTrigger
from airflow_provider_modelarts.triggers.training_job_phase import ModelArtsTrainingJobPhaseTrigger
from tests.conftest import AKSK_CONN_ID, api_requests
from tests.integration.airflow_context import make_context

from .support import record_result

BAD_CONN_ID = "reliability_bad_input"
ID_RANGE = "an integer from 1 to 9223372036854775807"
STATUS_ALLOWED = "a ModelArts job status code from 0 to 22 or its name"
NAME_ALLOWED = "1 to 64 letters, digits, '-' or '_'"
REGION_ALLOWED = "a Huawei Cloud region id such as 'cn-north-4'"
UUID_ALLOWED = "a v2 training job id: a UUID"
PHASES = "Creating, Pending, Running, Terminating, Completed, Failed, Terminated, Abnormal"
PHASE_ALLOWED = f"one of {PHASES}"
LIMIT_ALLOWED = "an integer from 1 to 50"
OFFSET_ALLOWED = "an integer from 0 to 9223372036854775807"
# A key of another shape than a field name; an unknown field name is only warned about (issue 17).
FILTER_KEY_ALLOWED = "a job field name such as name, create_time, phase, algorithm_name, kind, user_id, runtime_type"
FILTER_OPERATOR_ALLOWED = "one of between, like, in, not"
FILTERS_ALLOWED = "a list of conditions, each a mapping with exactly 'key', 'operator' and 'value'"
MAX_OUTAGE_ALLOWED = "a timedelta or a number of seconds, 0 or more"
JOB_UUID = "6f3c2a1e-7b4d-4e0a-9c1f-2d3e4f5a6b01"
DAG_HEADER = """\
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_modelarts.operators.training_jobs import (
    ModelArtsListJobVersionsOperator,
    ModelArtsListTrainingJobsOperator,
)
from airflow_provider_modelarts.operators.training_jobs_v2 import ModelArtsSearchTrainingJobsOperator
from airflow_provider_modelarts.operators.training_job_create import ModelArtsCreateTrainingJobOperator
from airflow_provider_modelarts.operators.models import ModelArtsCreateModelOperator, ModelArtsDeleteModelOperator
from airflow_provider_modelarts.operators.services import (
    ModelArtsBatchInferenceOperator,
    ModelArtsDeleteServiceOperator,
    ModelArtsDeployServiceOperator,
    ModelArtsStartServiceOperator,
    ModelArtsStopServiceOperator,
)
from airflow_provider_modelarts.sensors.inference import ModelArtsModelSensor, ModelArtsServiceSensor
from airflow_provider_modelarts.sensors.training_job import ModelArtsTrainingJobSensor
from airflow_provider_modelarts.sensors.training_job_phase import ModelArtsTrainingJobPhaseSensor

with DAG("bad_input_{name}", schedule=None, start_date=datetime(2026, 1, 1)):
"""


@dataclass(frozen=True)
class BadInput:
    """One invalid input.

    :param target: what receives it: hook, operator, sensor, trigger or connection.
    :param when: parse (DAG file), render (templated value) or call.
    :param parameter: the parameter (or connection key) the message must name.
    :param allowed: what is allowed, as the message must say it.
    :param task: for ``parse``: the task expression written into a DAG file.
    :param call: for ``call`` and ``render``: what must be refused.
    :param connection: for connection inputs: the connection, as ``AIRFLOW_CONN_RELIABILITY_BAD_INPUT``.
    """

    name: str
    target: str
    when: str
    parameter: str
    allowed: str
    task: str = ""
    call: Callable[[], object] | None = None
    connection: dict[str, Any] | None = field(default=None, hash=False)


def hook_call(method: str, *args: Any, **kwargs: Any) -> Callable[[], object]:
    def call() -> object:
        hook = ModelArtsHook(AKSK_CONN_ID)
        result = getattr(hook, method)(*args, **kwargs)
        return list(result) if method.startswith("iter") else result

    return call


def rendered(factory: Callable[[], BaseOperator], params: dict[str, Any]) -> Callable[[], object]:
    """Build the task in a DAG with ``params``, render its templates, then start it."""

    def call() -> object:
        with DAG("bad_input_render", schedule=None, start_date=datetime(2026, 1, 1), params=params):
            task = factory()
        context: dict[str, Any] = make_context()
        context["params"] = params
        task.render_template_fields(context)  # type: ignore[arg-type]
        return task.execute(context)  # type: ignore[arg-type]

    return call


def connection(
    auth_type: str = "aksk", login: str | None = None, password: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A connection to nowhere in particular: every case is refused before a request could leave."""
    base_extra: dict[str, Any] = {
        "region": emulator_config.DEFAULT_REGION,
        "project_id": emulator_config.DEFAULT_PROJECT_ID,
        "endpoint": "http://127.0.0.1:9",
        "auth_type": auth_type,
    }
    base_extra.update(extra)
    return {
        "conn_type": "modelarts",
        "login": emulator_config.DEFAULT_ACCESS_KEY if login is None else login,
        "password": emulator_config.DEFAULT_SECRET_KEY if password is None else password,
        "extra": {key: value for key, value in base_extra.items() if value is not None},
    }


def training_body(name: str = "bad-input-job", algorithm_id: str | None = None, node_count: int = 1) -> dict[str, Any]:
    """A v2 create body, valid unless an argument makes it not."""
    algorithm: dict[str, Any] = {"code_dir": "obs://b/code/", "boot_file": "obs://b/code/train.py"}
    if algorithm_id is not None:
        algorithm["id"] = algorithm_id
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": algorithm,
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.8u", "node_count": node_count}},
    }


# Models and services (issue 19): valid bodies, each case changes one value.
RESOURCE_ID = "10eb0091-887f-4839-9929-cbc884f1e20e"
ID_ALLOWED = "an id such as '10eb0091-887f-4839-9929-cbc884f1e20e' (letters, digits, '-', '_')"
VERSION_ALLOWED = "Digit.Digit.Digit, each 1 or 2 digits without a leading 0"
SERVICE_STATUS_ALLOWED = "each one of deploying, pending, waiting, stopping, deleting, running, finished"
MODEL_STATUS_ALLOWED = "each one of publishing, published, failed, building, building_failed"


def model_body(**changes: Any) -> dict[str, Any]:
    body = {"model_name": "bad-input-model", "model_version": "1.0.0", "source_location": "obs://b/model/",
            "model_type": "PyTorch"}  # fmt: skip
    return {key: value for key, value in {**body, **changes}.items() if value is not None}


def service_body(infer_type: str = "real-time", **changes: Any) -> dict[str, Any]:
    """A real-time or batch service body; ``changes`` change its one config entry (None removes a key)."""
    entry: dict[str, Any] = {"model_id": RESOURCE_ID, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}
    if infer_type == "batch":
        entry.update(src_path="obs://b/in/", dest_path="obs://b/out/", req_uri="/", mapping_type="file")
    else:
        entry["weight"] = 100
    entry = {key: value for key, value in {**entry, **changes}.items() if value is not None}
    return {"service_name": "bad-input-service", "infer_type": infer_type, "config": [entry]}


def through_hook() -> object:
    return ModelArtsHook(BAD_CONN_ID).list_training_jobs()


def through_operator() -> object:
    operator = ModelArtsListTrainingJobsOperator(task_id="t", modelarts_conn_id=BAD_CONN_ID)
    return operator.execute(make_context())  # type: ignore[arg-type]


def through_sensor() -> object:
    sensor = ModelArtsTrainingJobSensor(task_id="s", job_id=1, version_id=1, modelarts_conn_id=BAD_CONN_ID)
    return sensor.execute(make_context())  # type: ignore[arg-type]


CASES = (
    # -- hook methods --------------------------------------------------------------------------
    BadInput("per_page_zero", "hook", "call", "per_page", "an integer from 1 to 1000",
             call=hook_call("list_training_jobs", per_page=0)),
    BadInput("per_page_above_1000", "hook", "call", "per_page", "an integer from 1 to 1000",
             call=hook_call("list_training_jobs", per_page=1001)),
    BadInput("per_page_text", "hook", "call", "per_page", "an integer from 1 to 1000",
             call=hook_call("list_training_jobs", per_page="ten")),
    BadInput("per_page_float", "hook", "call", "per_page", "an integer from 1 to 1000",
             call=hook_call("list_training_jobs", per_page=2.5)),
    BadInput("page_zero", "hook", "call", "page", "an integer from 1 to 65535",
             call=hook_call("list_training_jobs", page=0)),
    BadInput("page_above_65535", "hook", "call", "page", "an integer from 1 to 65535",
             call=hook_call("list_training_jobs", page=65536)),
    BadInput("page_boolean", "hook", "call", "page", "an integer from 1 to 65535",
             call=hook_call("list_training_jobs", page=True)),
    BadInput("status_code_23", "hook", "call", "status", STATUS_ALLOWED,
             call=hook_call("list_training_jobs", status=23)),
    BadInput("status_code_negative", "hook", "call", "status", STATUS_ALLOWED,
             call=hook_call("list_training_jobs", status=-1)),
    BadInput("status_unknown_name", "hook", "call", "status", STATUS_ALLOWED,
             call=hook_call("list_training_jobs", status="FINISHED")),
    BadInput("order_unknown", "hook", "call", "order", "'asc' or 'desc'",
             call=hook_call("list_training_jobs", order="sideways")),
    BadInput("sort_key_unknown", "hook", "call", "sort_by", "one of job_name, job_desc, status",
             call=hook_call("list_training_jobs", sort_by="priority")),
    BadInput("search_content_65_chars", "hook", "call", "search_content", "a string of at most 64 characters",
             call=hook_call("list_training_jobs", search_content="x" * 65)),
    BadInput("workspace_id_path_traversal", "hook", "call", "workspace_id", NAME_ALLOWED,
             call=hook_call("list_training_jobs", workspace_id="../0")),
    BadInput("max_results_zero", "hook", "call", "max_results", ID_RANGE,
             call=hook_call("iter_training_jobs", max_results=0)),
    BadInput("job_id_text", "hook", "call", "job_id", ID_RANGE, call=hook_call("list_job_versions", "abc")),
    BadInput("job_id_negative", "hook", "call", "job_id", ID_RANGE, call=hook_call("list_job_versions", -5)),
    BadInput("versions_per_page_zero", "hook", "call", "per_page", "an integer from 1 to 1000",
             call=hook_call("list_job_versions", 1, per_page=0)),
    BadInput("version_id_zero", "hook", "call", "version_id", ID_RANGE, call=hook_call("get_job_version", 1, 0)),
    BadInput("version_id_decimal_text", "hook", "call", "version_id", ID_RANGE,
             call=hook_call("get_job_version", 1, "1.5")),
    BadInput("hook_region_malformed", "hook", "call", "region", REGION_ALLOWED,
             call=lambda: ModelArtsHook(AKSK_CONN_ID, region="Mars")),
    BadInput("hook_retry_limit_negative", "hook", "call", "retry_limit", "an integer from 0 to 20",
             call=lambda: ModelArtsHook(AKSK_CONN_ID, retry_limit=-1)),
    BadInput("hook_retry_delay_zero", "hook", "call", "retry_delay", "a number of seconds greater than 0",
             call=lambda: ModelArtsHook(AKSK_CONN_ID, retry_delay=0)),
    # -- operators, in a DAG file ----------------------------------------------------------------
    BadInput("operator_per_page_5000", "operator", "parse", "per_page", "an integer from 1 to 1000",
             task="ModelArtsListTrainingJobsOperator(task_id='t', per_page=5000)"),
    BadInput("operator_order_unknown", "operator", "parse", "order", "'asc' or 'desc'",
             task="ModelArtsListTrainingJobsOperator(task_id='t', order='up')"),
    BadInput("operator_status_99", "operator", "parse", "status", STATUS_ALLOWED,
             task="ModelArtsListTrainingJobsOperator(task_id='t', status=99)"),
    BadInput("operator_fetch_all_text", "operator", "parse", "fetch_all", "True or False",
             task="ModelArtsListTrainingJobsOperator(task_id='t', fetch_all='yes')"),
    BadInput("operator_max_results_negative", "operator", "parse", "max_results", ID_RANGE,
             task="ModelArtsListTrainingJobsOperator(task_id='t', max_results=-1)"),
    BadInput("operator_project_id_malformed", "operator", "parse", "project_id", NAME_ALLOWED,
             task="ModelArtsListTrainingJobsOperator(task_id='t', project_id='bad id!')"),
    BadInput("operator_region_malformed", "operator", "parse", "region", REGION_ALLOWED,
             task="ModelArtsListTrainingJobsOperator(task_id='t', region='Cn-North')"),
    BadInput("versions_operator_job_id_text", "operator", "parse", "job_id", ID_RANGE,
             task="ModelArtsListJobVersionsOperator(task_id='t', job_id='abc')"),
    BadInput("versions_operator_page_zero", "operator", "parse", "page", "an integer from 1 to 65535",
             task="ModelArtsListJobVersionsOperator(task_id='t', job_id=1, page=0)"),
    # -- operators, templated ----------------------------------------------------------------
    BadInput("operator_per_page_rendered_0", "operator", "render", "per_page", "an integer from 1 to 1000",
             call=rendered(lambda: ModelArtsListTrainingJobsOperator(task_id="t", per_page="{{ params.n }}"),
                           {"n": "0"})),
    BadInput("operator_search_rendered_too_long", "operator", "render", "search_content",
             "a string of at most 64 characters",
             call=rendered(lambda: ModelArtsListTrainingJobsOperator(task_id="t", search_content="{{ params.q }}"),
                           {"q": "y" * 65})),
    BadInput("operator_sort_key_rendered_unknown", "operator", "render", "sort_by", "one of job_name",
             call=rendered(lambda: ModelArtsListTrainingJobsOperator(task_id="t", sort_by="{{ params.key }}"),
                           {"key": "priority"})),
    BadInput("versions_operator_job_id_rendered_negative", "operator", "render", "job_id", ID_RANGE,
             call=rendered(lambda: ModelArtsListJobVersionsOperator(task_id="t", job_id="{{ params.job }}"),
                           {"job": "-3"})),
    # -- the sensor, in a DAG file and templated --------------------------------------------------
    BadInput("sensor_empty_target_status", "sensor", "parse", "target_status", "a non-empty collection",
             task="ModelArtsTrainingJobSensor(task_id='s', job_id=1, target_status=[])"),
    BadInput("sensor_overlapping_statuses", "sensor", "parse", "failure_statuses",
             "statuses that are not also in target_status (overlap: JOBSTAT_COMPLETED)",
             task="ModelArtsTrainingJobSensor(task_id='s', job_id=1, target_status=[10], failure_statuses=[10, 11])"),
    BadInput("sensor_unknown_target_status", "sensor", "parse", "target_status", STATUS_ALLOWED,
             task="ModelArtsTrainingJobSensor(task_id='s', job_id=1, target_status=99)"),
    BadInput("sensor_job_id_text", "sensor", "parse", "job_id", ID_RANGE,
             task="ModelArtsTrainingJobSensor(task_id='s', job_id='abc')"),
    BadInput("sensor_version_id_negative", "sensor", "parse", "version_id", ID_RANGE,
             task="ModelArtsTrainingJobSensor(task_id='s', job_id=1, version_id=-1)"),
    BadInput("sensor_retry_limit_100", "sensor", "parse", "modelarts_retry_limit", "an integer from 0 to 20",
             task="ModelArtsTrainingJobSensor(task_id='s', job_id=1, modelarts_retry_limit=100)"),
    BadInput("sensor_job_id_rendered_zero", "sensor", "render", "job_id", ID_RANGE,
             call=rendered(lambda: ModelArtsTrainingJobSensor(task_id="s", job_id="{{ params.job }}"), {"job": "0"})),
    BadInput("sensor_version_id_rendered_text", "sensor", "render", "version_id", ID_RANGE,
             call=rendered(lambda: ModelArtsTrainingJobSensor(task_id="s", job_id=1, version_id="{{ params.v }}",
                                                              deferrable=True), {"v": "latest"})),
    BadInput("trigger_empty_target_statuses", "trigger", "call", "target_status", "a non-empty collection",
             call=lambda: ModelArtsTrainingJobTrigger(job_id=1, version_id=1, target_statuses=[],
                                                      failure_statuses=[11])),
    # -- v2: hook methods --------------------------------------------------------------------------
    BadInput("v2_training_job_id_v1_style", "hook", "call", "training_job_id", UUID_ALLOWED,
             call=hook_call("get_training_job", "12345")),
    BadInput("v2_training_job_id_path_traversal", "hook", "call", "training_job_id", UUID_ALLOWED,
             call=hook_call("get_training_job", f"../{JOB_UUID}")),
    BadInput("v2_limit_zero", "hook", "call", "limit", LIMIT_ALLOWED, call=hook_call("search_training_jobs", limit=0)),
    BadInput("v2_limit_51", "hook", "call", "limit", LIMIT_ALLOWED, call=hook_call("search_training_jobs", limit=51)),
    BadInput("v2_limit_text", "hook", "call", "limit", LIMIT_ALLOWED,
             call=hook_call("search_training_jobs", limit="all")),
    BadInput("v2_offset_negative", "hook", "call", "offset", OFFSET_ALLOWED,
             call=hook_call("search_training_jobs", offset=-1)),
    BadInput("v2_order_unknown", "hook", "call", "order", "'asc' or 'desc'",
             call=hook_call("search_training_jobs", order="newest")),
    BadInput("v2_sort_by_malformed", "hook", "call", "sort_by", "a job field name such as 'create_time'",
             call=hook_call("search_training_jobs", sort_by="create_time; drop")),
    BadInput("v2_phase_unknown", "hook", "call", "phase", PHASE_ALLOWED,
             call=hook_call("search_training_jobs", phase="Finished")),
    BadInput("v2_phase_v1_status_name", "hook", "call", "phase", PHASE_ALLOWED,
             call=hook_call("search_training_jobs", phase=["Running", "JOBSTAT_COMPLETED"])),
    BadInput("v2_phase_empty_list", "hook", "call", "phase", "a phase or a non-empty list of phases",
             call=hook_call("search_training_jobs", phase=[])),
    BadInput("v2_name_65_chars", "hook", "call", "name", "a non-empty part of a job name, at most 64 characters",
             call=hook_call("search_training_jobs", name="n" * 65)),
    BadInput("v2_workspace_id_malformed", "hook", "call", "workspace_id", "'0' (the default workspace)",
             call=hook_call("search_training_jobs", workspace_id="../0")),
    BadInput("v2_filter_key_unknown", "hook", "call", "filters[].key", FILTER_KEY_ALLOWED,
             call=hook_call("search_training_jobs", filters=[{"key": "Owner!", "operator": "in", "value": ["me"]}])),
    BadInput("v2_filter_operator_unknown", "hook", "call", "filters[].operator", FILTER_OPERATOR_ALLOWED,
             call=hook_call("search_training_jobs", filters=[{"key": "name", "operator": "=", "value": ["a"]}])),
    BadInput("v2_filter_phase_value_unknown", "hook", "call", "filters[].value", PHASE_ALLOWED,
             call=hook_call("search_training_jobs", filters=[{"key": "phase", "operator": "in", "value": ["Done"]}])),
    BadInput("v2_filter_between_one_value", "hook", "call", "filters[].value", "two strings (from, to) for 'between'",
             call=hook_call("search_training_jobs",
                            filters=[{"key": "create_time", "operator": "between", "value": ["1700000000000"]}])),
    BadInput("v2_filter_extra_field", "hook", "call", "filters", FILTERS_ALLOWED,
             call=hook_call("search_training_jobs",
                            filters=[{"key": "name", "operator": "like", "value": ["a"], "limit": 1}])),
    BadInput("v2_filters_one_mapping", "hook", "call", "filters", FILTERS_ALLOWED,
             call=hook_call("search_training_jobs", filters={"key": "name", "operator": "like", "value": ["a"]})),
    BadInput("v2_iter_limit_zero", "hook", "call", "limit", LIMIT_ALLOWED,
             call=hook_call("iter_training_jobs_v2", limit=0)),
    BadInput("v2_iter_max_results_zero", "hook", "call", "max_results", ID_RANGE,
             call=hook_call("iter_training_jobs_v2", max_results=0)),
    # -- v2: the search operator, in a DAG file and templated ---------------------------------------
    BadInput("v2_operator_limit_100", "operator", "parse", "limit", LIMIT_ALLOWED,
             task="ModelArtsSearchTrainingJobsOperator(task_id='t', limit=100)"),
    BadInput("v2_operator_offset_negative", "operator", "parse", "offset", OFFSET_ALLOWED,
             task="ModelArtsSearchTrainingJobsOperator(task_id='t', offset=-2)"),
    BadInput("v2_operator_order_unknown", "operator", "parse", "order", "'asc' or 'desc'",
             task="ModelArtsSearchTrainingJobsOperator(task_id='t', order='up')"),
    BadInput("v2_operator_phase_unknown", "operator", "parse", "phase", PHASE_ALLOWED,
             task="ModelArtsSearchTrainingJobsOperator(task_id='t', phase=['Running', 'Done'])"),
    BadInput("v2_operator_filter_operator_unknown", "operator", "parse", "filters[].operator", FILTER_OPERATOR_ALLOWED,
             task="ModelArtsSearchTrainingJobsOperator(task_id='t', "
                  "filters=[{'key': 'name', 'operator': 'eq', 'value': ['x']}])"),
    BadInput("v2_operator_fetch_all_text", "operator", "parse", "fetch_all", "True or False",
             task="ModelArtsSearchTrainingJobsOperator(task_id='t', fetch_all='yes')"),
    BadInput("v2_operator_max_results_zero", "operator", "parse", "max_results", ID_RANGE,
             task="ModelArtsSearchTrainingJobsOperator(task_id='t', max_results=0)"),
    BadInput("v2_operator_limit_rendered_0", "operator", "render", "limit", LIMIT_ALLOWED,
             call=rendered(lambda: ModelArtsSearchTrainingJobsOperator(task_id="t", limit="{{ params.n }}"),
                           {"n": "0"})),
    BadInput("v2_operator_phase_rendered_unknown", "operator", "render", "phase", PHASE_ALLOWED,
             call=rendered(lambda: ModelArtsSearchTrainingJobsOperator(task_id="t", phase="{{ params.phase }}"),
                           {"phase": "Succeeded"})),
    BadInput("v2_operator_filter_key_rendered_unknown", "operator", "render", "filters[].key", FILTER_KEY_ALLOWED,
             call=rendered(lambda: ModelArtsSearchTrainingJobsOperator(
                 task_id="t", filters=[{"key": "{{ params.key }}", "operator": "in", "value": ["v100"]}]),
                 {"key": "flavor-id"})),
    # -- v2 training: the lifecycle hook calls and the create operator ------------------------------
    BadInput("create_body_name_with_space", "hook", "call", "job.metadata.name", "1 to 64 characters",
             call=hook_call("create_training_job", training_body(name="bad name!"))),
    BadInput("create_body_two_algorithms", "hook", "call", "job.algorithm", "at most one of",
             call=hook_call("create_training_job", training_body(algorithm_id="x"))),
    BadInput("create_body_zero_nodes", "hook", "call", "job.spec.resource.node_count", "an integer from 1",
             call=hook_call("create_training_job", training_body(node_count=0))),
    BadInput("terminate_v1_style_id", "hook", "call", "training_job_id", UUID_ALLOWED,
             call=hook_call("terminate_training_job", "42")),
    BadInput("log_task_id_not_path_safe", "hook", "call", "task_id", "a task name from the job's status.tasks",
             call=hook_call("read_training_job_log", JOB_UUID, "worker/0")),
    BadInput("log_lines_above_500", "hook", "call", "lines", "an integer from 1 to 500",
             call=hook_call("read_training_job_log", JOB_UUID, "worker-0", lines=501)),
    BadInput("create_operator_body_no_flavor", "operator", "parse", "job.spec.resource", "'flavor_id'",
             task="ModelArtsCreateTrainingJobOperator(task_id='t', job={'metadata': {'name': 'n'}, "
                  "'algorithm': {'id': 'a'}, 'spec': {'resource': {'node_count': 1}}})"),
    BadInput("create_operator_name_conflict_choice", "operator", "parse", "on_name_conflict", "'fail' or 'suffix'",
             task=f"ModelArtsCreateTrainingJobOperator(task_id='t', job={training_body()!r}, "
                  "on_name_conflict='rename')"),
    BadInput("create_operator_print_log_text", "operator", "parse", "print_log", "True or False",
             task=f"ModelArtsCreateTrainingJobOperator(task_id='t', job={training_body()!r}, print_log='yes')"),
    BadInput("create_operator_name_rendered_bad", "operator", "render", "job.metadata.name", "1 to 64 characters",
             call=rendered(lambda: ModelArtsCreateTrainingJobOperator(
                 task_id="t", job=training_body(name="{{ params.name }}"), modelarts_conn_id=AKSK_CONN_ID),
                 {"name": "my model v2"})),
    # -- v2: the phase sensor, in a DAG file and templated, and its trigger --------------------------
    BadInput("v2_sensor_training_job_id_v1_style", "sensor", "parse", "training_job_id", UUID_ALLOWED,
             task="ModelArtsTrainingJobPhaseSensor(task_id='s', training_job_id='42')"),
    BadInput("v2_sensor_target_phase_unknown", "sensor", "parse", "target_phases", PHASE_ALLOWED,
             task=f"ModelArtsTrainingJobPhaseSensor(task_id='s', training_job_id='{JOB_UUID}', "
                  "target_phases=['Succeeded'])"),
    BadInput("v2_sensor_overlapping_phases", "sensor", "parse", "failure_phases", "Completed",
             task=f"ModelArtsTrainingJobPhaseSensor(task_id='s', training_job_id='{JOB_UUID}', "
                  "failure_phases=['Completed', 'Failed'])"),
    BadInput("v2_sensor_max_outage_negative", "sensor", "parse", "max_outage", MAX_OUTAGE_ALLOWED,
             task=f"ModelArtsTrainingJobPhaseSensor(task_id='s', training_job_id='{JOB_UUID}', max_outage=-1)"),
    BadInput("v2_sensor_max_outage_text", "sensor", "parse", "max_outage", MAX_OUTAGE_ALLOWED,
             task=f"ModelArtsTrainingJobPhaseSensor(task_id='s', training_job_id='{JOB_UUID}', max_outage='15m')"),
    BadInput("v2_sensor_workspace_id_malformed", "sensor", "parse", "workspace_id", "'0' (the default workspace)",
             task=f"ModelArtsTrainingJobPhaseSensor(task_id='s', training_job_id='{JOB_UUID}', workspace_id='ws 1')"),
    BadInput("v2_sensor_training_job_id_rendered", "sensor", "render", "training_job_id", UUID_ALLOWED,
             call=rendered(lambda: ModelArtsTrainingJobPhaseSensor(task_id="s", training_job_id="{{ params.job }}",
                                                                   deferrable=True), {"job": "not-a-uuid"})),
    BadInput("v2_trigger_training_job_id_malformed", "trigger", "call", "training_job_id", UUID_ALLOWED,
             call=lambda: ModelArtsTrainingJobPhaseTrigger(training_job_id="1", target_phases=["Completed"],
                                                           failure_phases=["Failed"])),
    BadInput("v2_trigger_max_outage_negative", "trigger", "call", "max_outage", MAX_OUTAGE_ALLOWED,
             call=lambda: ModelArtsTrainingJobPhaseTrigger(training_job_id=JOB_UUID, target_phases=["Completed"],
                                                           failure_phases=["Failed"], max_outage=-60)),
    # -- models and services (issue 19): operators and sensors in a DAG file, templated, triggers, hook --
    BadInput("model_operator_version_two_parts", "operator", "parse", "model.model_version", VERSION_ALLOWED,
             task=f"ModelArtsCreateModelOperator(task_id='t', model={model_body(model_version='1.0')!r})"),
    BadInput("model_operator_no_source_location", "operator", "parse", "model.source_location",
             "the OBS path of the model directory",
             task=f"ModelArtsCreateModelOperator(task_id='t', model={model_body(source_location=None)!r})"),
    BadInput("model_operator_poll_interval_zero", "operator", "parse", "poll_interval", "greater than 0",
             task=f"ModelArtsCreateModelOperator(task_id='t', model={model_body()!r}, poll_interval=0)"),
    BadInput("model_operator_version_rendered_bad", "operator", "render", "model.model_version", VERSION_ALLOWED,
             call=rendered(lambda: ModelArtsCreateModelOperator(
                 task_id="t", model=model_body(model_version="{{ params.version }}"), modelarts_conn_id=AKSK_CONN_ID),
                 {"version": "01.01.01"})),
    BadInput("delete_model_operator_id", "operator", "parse", "model_id", ID_ALLOWED,
             task="ModelArtsDeleteModelOperator(task_id='t', model_id='bad id')"),
    BadInput("deploy_operator_if_exists", "operator", "parse", "if_exists", "one of update, fail",
             task=f"ModelArtsDeployServiceOperator(task_id='t', service={service_body()!r}, if_exists='replace')"),
    BadInput("deploy_operator_on_kill_action", "operator", "parse", "on_kill_action", "one of stop, delete, none",
             task=f"ModelArtsDeployServiceOperator(task_id='t', service={service_body()!r}, on_kill_action='kill')"),
    BadInput("deploy_operator_concerning", "operator", "parse", "concerning", "'warn' or 'fail'",
             task=f"ModelArtsDeployServiceOperator(task_id='t', service={service_body()!r}, concerning='ignore')"),
    BadInput("deploy_operator_weights_not_100", "operator", "parse", "service.config", "weights that sum to 100",
             task=f"ModelArtsDeployServiceOperator(task_id='t', service={service_body(weight=50)!r})"),
    BadInput("deploy_operator_batch_body", "operator", "parse", "service.infer_type", "'real-time'",
             task=f"ModelArtsDeployServiceOperator(task_id='t', service={service_body('batch')!r})"),
    BadInput("batch_operator_real_time_body", "operator", "parse", "service.infer_type", "'batch'",
             task=f"ModelArtsBatchInferenceOperator(task_id='t', service={service_body()!r})"),
    BadInput("batch_operator_no_dest_path", "operator", "parse", "service.config[0].dest_path",
             "required for a batch service",
             task=f"ModelArtsBatchInferenceOperator(task_id='t', service={service_body('batch', dest_path=None)!r})"),
    BadInput("batch_operator_mapping_type_rendered_bad", "operator", "render", "service.config[0].mapping_type",
             "one of file, csv",
             call=rendered(lambda: ModelArtsBatchInferenceOperator(
                 task_id="t", service=service_body("batch", mapping_type="{{ params.mapping }}"),
                 modelarts_conn_id=AKSK_CONN_ID), {"mapping": "json"})),
    BadInput("start_service_operator_id", "operator", "parse", "service_id", ID_ALLOWED,
             task="ModelArtsStartServiceOperator(task_id='t', service_id='bad id')"),
    BadInput("stop_service_operator_id", "operator", "parse", "service_id", ID_ALLOWED,
             task="ModelArtsStopServiceOperator(task_id='t', service_id='bad id')"),
    BadInput("delete_service_operator_id", "operator", "parse", "service_id", ID_ALLOWED,
             task="ModelArtsDeleteServiceOperator(task_id='t', service_id='bad id')"),
    BadInput("delete_service_operator_poll_interval_zero", "operator", "parse", "poll_interval",
             "a number of seconds greater than 0",
             task=f"ModelArtsDeleteServiceOperator(task_id='t', service_id='{RESOURCE_ID}', poll_interval=0)"),
    BadInput("delete_service_operator_wait_timeout_negative", "operator", "parse", "wait_timeout",
             "a number of seconds greater than 0",
             task=f"ModelArtsDeleteServiceOperator(task_id='t', service_id='{RESOURCE_ID}', wait_timeout=-5)"),
    BadInput("delete_service_operator_wait_for_completion_text", "operator", "parse", "wait_for_completion",
             "True or False",
             task=f"ModelArtsDeleteServiceOperator(task_id='t', service_id='{RESOURCE_ID}', "
                  "wait_for_completion='yes')"),
    BadInput("delete_model_operator_cascade_text", "operator", "parse", "cascade", "True or False",
             task=f"ModelArtsDeleteModelOperator(task_id='t', model_id='{RESOURCE_ID}', cascade='yes')"),
    BadInput("model_sensor_deferrable_text", "sensor", "parse", "deferrable", "True or False",
             task=f"ModelArtsModelSensor(task_id='s', model_id='{RESOURCE_ID}', deferrable='yes')"),
    BadInput("service_sensor_id", "sensor", "parse", "service_id", ID_ALLOWED,
             task="ModelArtsServiceSensor(task_id='s', service_id='bad id')"),
    BadInput("service_sensor_unknown_target_status", "sensor", "parse", "target_statuses", SERVICE_STATUS_ALLOWED,
             task=f"ModelArtsServiceSensor(task_id='s', service_id='{RESOURCE_ID}', target_statuses=['up'])"),
    BadInput("service_sensor_overlapping_statuses", "sensor", "parse", "failure_statuses", "overlap: running",
             task=f"ModelArtsServiceSensor(task_id='s', service_id='{RESOURCE_ID}', failure_statuses=['running'])"),
    BadInput("service_sensor_concerning", "sensor", "parse", "concerning", "'warn' or 'fail'",
             task=f"ModelArtsServiceSensor(task_id='s', service_id='{RESOURCE_ID}', concerning='x')"),
    BadInput("service_sensor_max_outage_negative", "sensor", "parse", "max_outage", MAX_OUTAGE_ALLOWED,
             task=f"ModelArtsServiceSensor(task_id='s', service_id='{RESOURCE_ID}', max_outage=-1)"),
    BadInput("service_sensor_id_rendered", "sensor", "render", "service_id", ID_ALLOWED,
             call=rendered(lambda: ModelArtsServiceSensor(task_id="s", service_id="{{ params.service }}",
                                                          deferrable=True), {"service": "my service"})),
    BadInput("model_sensor_id", "sensor", "parse", "model_id", ID_ALLOWED,
             task="ModelArtsModelSensor(task_id='s', model_id='bad id')"),
    BadInput("model_sensor_unknown_target_status", "sensor", "parse", "target_statuses", MODEL_STATUS_ALLOWED,
             task=f"ModelArtsModelSensor(task_id='s', model_id='{RESOURCE_ID}', target_statuses=['ready'])"),
    BadInput("service_trigger_id", "trigger", "call", "service_id", ID_ALLOWED,
             call=lambda: ModelArtsServiceTrigger(service_id="bad id", target_statuses=["running"],
                                                  failure_statuses=["failed"])),
    BadInput("model_trigger_unknown_target_status", "trigger", "call", "target_statuses", MODEL_STATUS_ALLOWED,
             call=lambda: ModelArtsModelTrigger(model_id=RESOURCE_ID, target_statuses=["ready"],
                                                failure_statuses=["failed"])),
    # -- the connection ----------------------------------------------------------------------
    BadInput("conn_unknown_auth_type", "connection", "call", "auth_type", "must be one of aksk, password",
             call=through_hook, connection=connection(auth_type="oauth")),
    BadInput("conn_unknown_auth_type_in_operator", "connection", "call", "auth_type", "must be one of aksk, password",
             call=through_operator, connection=connection(auth_type="sso")),
    BadInput("conn_missing_region", "connection", "call", "region", "is required in the connection extra",
             call=through_hook, connection=connection(region=None)),
    BadInput("conn_missing_project_id", "connection", "call", "project_id", "is required in the connection extra",
             call=through_hook, connection=connection(project_id=None)),
    BadInput("conn_malformed_region", "connection", "call", "region", REGION_ALLOWED,
             call=through_hook, connection=connection(region="cn north 4")),
    BadInput("conn_malformed_project_id", "connection", "call", "project_id", NAME_ALLOWED,
             call=through_hook, connection=connection(project_id="proj/../x")),
    BadInput("conn_endpoint_without_scheme", "connection", "call", "endpoint", "an http(s) URL such as https://host",
             call=through_hook, connection=connection(endpoint="modelarts.example.com")),
    BadInput("conn_endpoint_ftp", "connection", "call", "endpoint", "an http(s) URL such as https://host",
             call=through_hook, connection=connection(endpoint="ftp://modelarts.example.com")),
    BadInput("conn_iam_endpoint_malformed", "connection", "call", "iam_endpoint", "an http(s) URL",
             call=through_hook, connection=connection(auth_type="password", iam_endpoint="iam")),
    BadInput("conn_timeout_not_a_number", "connection", "call", "timeout", "a number of seconds greater than 0",
             call=through_hook, connection=connection(timeout="soon")),
    BadInput("conn_timeout_negative", "connection", "call", "timeout", "in (0, 3600] seconds",
             call=through_hook, connection=connection(timeout=-1)),
    BadInput("conn_password_auth_without_password", "connection", "call", "password", "must hold the password",
             call=through_hook, connection=connection(auth_type="password", login="emulator-account", password="")),
    BadInput("conn_password_auth_without_password_in_sensor", "connection", "call", "password",
             "must hold the password",
             call=through_sensor, connection=connection(auth_type="password", login="emulator-account", password="")),
    BadInput("conn_aksk_without_access_key", "connection", "call", "login", "must hold the Access Key ID",
             call=through_hook, connection=connection(login="")),
    BadInput("conn_security_token_with_password_auth", "connection", "call", "security_token",
             "only used with auth_type aksk", call=through_hook,
             connection=connection(auth_type="password", login="emulator-account", security_token="tok")),
    # A misspelt extra key only warns now (a connection written for a later version must work).
    BadInput("conn_host_contradicts_endpoint", "connection", "call", "host", "and the 'endpoint' extra",
             call=through_hook, connection={**connection(), "host": "modelarts.example.com"}),
    BadInput("conn_verify_not_boolean", "connection", "call", "verify", "true, false or a CA bundle path",
             call=through_hook, connection=connection(verify=7)),
)  # fmt: skip


def refusal_text(case: BadInput, tmp_path: Path) -> str:
    """Run the case and return the refusal's message; fail if it was not refused as it should be."""
    if case.when == "parse":
        dag_file = tmp_path / f"bad_input_{case.name}.py"
        dag_file.write_text(DAG_HEADER.format(name=case.name) + textwrap.indent(case.task, "    ") + "\n")
        bag = DagBag(dag_folder=str(dag_file))
        assert not bag.dags, "the DAG loaded despite the invalid value"
        errors = list(bag.import_errors.values())
        assert len(errors) == 1
        last_line = errors[0].strip().splitlines()[-1]
        assert last_line.startswith("airflow_provider_modelarts.exceptions.ModelArtsValidationError:"), last_line
        return last_line
    assert case.call is not None
    expected_type = ModelArtsConnectionConfigError if case.target == "connection" else ModelArtsValidationError
    with pytest.raises(expected_type) as refused:
        case.call()
    error = refused.value
    if isinstance(error, ModelArtsConnectionConfigError):
        assert error.key == case.parameter and error.conn_id == BAD_CONN_ID
    else:
        assert isinstance(error, ModelArtsValidationError) and error.parameter == case.parameter
    return str(refused.value)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_bad_input_is_refused_before_any_request(
    case: BadInput, emu: ModelArtsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.connection is not None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{BAD_CONN_ID.upper()}", json.dumps(case.connection))
    message = refusal_text(case, tmp_path)
    assert f"'{case.parameter}'" in message, message  # names the parameter
    assert case.allowed in message, message  # and says what is allowed
    assert api_requests(emu) == 0  # nothing was sent
    assert emulator_config.DEFAULT_SECRET_KEY not in message
    record_result("bad_inputs", {"case": case.name, "target": case.target, "when": case.when, "message": message})


def test_the_matrix_is_broad() -> None:
    """At least 30 inputs, spread over every target and every moment of refusal."""
    assert len(CASES) >= 30 and len({case.name for case in CASES}) == len(CASES)
    assert {case.target for case in CASES} == {"hook", "operator", "sensor", "trigger", "connection"}
    assert {case.when for case in CASES} == {"parse", "render", "call"}
