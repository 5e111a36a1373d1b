"""``ModelArtsBaseHook``: what the hooks share (settings, retry settings), and how Airflow finds the hook."""

from __future__ import annotations

import pytest

from airflow_provider_modelarts.cloud.validation import TASK_RETRY_PARAMETERS
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.hooks.base import ModelArtsBaseHook
from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook


def test_the_hook_reports_its_own_parameter_names() -> None:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

    with pytest.raises(ModelArtsValidationError) as error:
        ModelArtsHook(retry_limit=100)
    assert error.value.parameter == "retry_limit"
    with pytest.raises(ModelArtsValidationError) as error:
        ModelArtsHook(retry_limit=100, retry_parameter_names=TASK_RETRY_PARAMETERS)
    assert error.value.parameter == "modelarts_retry_limit"


def test_the_api_hook_builds_on_the_base_hook_and_keeps_what_airflow_reads() -> None:
    assert issubclass(ModelArtsHook, ModelArtsBaseHook)
    # Airflow's providers manager looks for the form methods in the hook class's own __dict__.
    assert "get_connection_form_widgets" in ModelArtsHook.__dict__
    assert "get_ui_field_behaviour" in ModelArtsHook.__dict__
    assert (ModelArtsHook.conn_name_attr, ModelArtsHook.conn_type) == ("modelarts_conn_id", "modelarts")
    assert ModelArtsHook.hook_name == "Huawei Cloud ModelArts"
    assert ModelArtsHook().modelarts_conn_id == ModelArtsHook.default_conn_name


def test_constructing_the_base_hook_does_no_io() -> None:
    hook = ModelArtsBaseHook("does_not_exist", region="cn-north-4")
    assert hook.request_count == 0 and "settings" not in hook.__dict__
