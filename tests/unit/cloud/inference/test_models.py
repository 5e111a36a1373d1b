"""cloud/inference/models.py: the documented model rules, each error naming the parameter written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_modelarts.cloud.inference import models
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

BODY: dict[str, Any] = {
    "model_name": "resnet",
    "model_version": "1.0.0",
    "model_type": "PyTorch",
    "source_location": "obs://bucket/out/model/",
    "source_job_id": "3f8c2a6e-2c1b-4f6e-9d9a-5b1c7e0a4d21",
    "description": "nightly",
    "install_type": ["real-time", "batch"],
    "dependencies": [
        {"installer": "pip", "packages": [{"package_name": "numpy", "package_version": "1.26", "restraint": "ATLEAST"}]}
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def test_a_documented_body_passes_unchanged_and_is_copied() -> None:
    body = _with()
    checked = models.validate_model_create(body)
    assert checked == BODY
    assert checked is not body and checked["dependencies"] is not body["dependencies"]


@pytest.mark.parametrize("version", ["0.0.1", "1.0.0", "10.99.1", "1.10.0"])
def test_versions_of_one_or_two_digits(version: str) -> None:
    assert models.validate_model_create(_with(model_version=version))["model_version"] == version


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"model_name": ""}, "model.model_name"),
        ({"model_name": "x" * 65}, "model.model_name"),
        ({"model_name": None}, "model.model_name"),
        ({"model_version": "01.01.01"}, "model.model_version"),
        ({"model_version": "1.0"}, "model.model_version"),
        ({"model_version": "100.0.0"}, "model.model_version"),
        ({"model_version": "1.0.0.0"}, "model.model_version"),
        ({"model_version": 1}, "model.model_version"),
        ({"model_type": "Keras"}, "model.model_type"),
        ({"model_type": None}, "model.model_type"),
        ({"source_location": None}, "model.source_location"),
        ({"source_location": " "}, "model.source_location"),
        ({"description": "x" * 101}, "model.description"),
        ({"description": "a=b"}, "model.description"),
        ({"description": "it's"}, "model.description"),
        ({"workspace_id": "ws"}, "model.workspace_id"),
        ({"install_type": ["edge"]}, "model.install_type[0]"),
        ({"install_type": "batch"}, "model.install_type"),
        ({"source_copy": "true"}, "model.source_copy"),
        ({"dependencies": [{"installer": "conda", "packages": []}]}, "model.dependencies[0].installer"),
        ({"dependencies": [{"installer": "pip", "packages": [{}]}]}, "model.dependencies[0].packages[0].package_name"),
        (
            {"dependencies": [{"installer": "pip", "packages": [{"package_name": "a", "package_version": "1"}]}]},
            "model.dependencies[0].packages[0].restraint",
        ),
        ({"model_docs": [{"doc_url": "https://d", "doc_name": "a"}] * 4}, "model.model_docs"),
        ({"model_docs": [{"doc_url": "https://d", "doc_name": "1st"}]}, "model.model_docs[0].doc_name"),
    ],
)
def test_each_rule_names_the_parameter(changes: dict[str, Any], parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        models.validate_model_create(_with(**changes))
    assert error.value.parameter == parameter


def test_a_template_model_needs_a_template_instead_of_a_source_location() -> None:
    template = {"template_id": "t-1", "template_inputs": [{"input_id": "in", "input": "obs://b/m/"}]}
    body = _with(model_type="Template", source_location=None, template=template)
    assert models.validate_model_create(body)["template"] == template
    with pytest.raises(ModelArtsValidationError) as error:
        models.validate_model_create(_with(model_type="Template", source_location=None))
    assert error.value.parameter == "model.template"
    with pytest.raises(ModelArtsValidationError) as error:
        models.validate_model_create(
            _with(model_type="Template", template={"template_id": "t", "template_inputs": [{}]})
        )
    assert error.value.parameter == "model.template.template_inputs[0].input_id"


def test_source_copy_is_for_image_models() -> None:
    assert models.validate_model_create(_with(model_type="Image", source_copy="false"))["source_copy"] == "false"
    with pytest.raises(ModelArtsValidationError) as error:
        models.validate_model_create(_with(model_type="Image", source_copy="yes"))
    assert error.value.parameter == "model.source_copy"


def test_validated_model_is_validated_once() -> None:
    checked = models.ValidatedModel.validate(_with())
    assert models.ValidatedModel.validate(checked) is checked
    assert (checked.name, checked.version) == ("resnet", "1.0.0")


def test_statuses_and_their_classes() -> None:
    assert {s.value for s in models.ModelStatus} == {"publishing", "published", "failed", "building", "building_failed"}
    assert {models.ModelStatus.PUBLISHED} == models.SUCCESS_STATUSES
    assert {models.ModelStatus.FAILED, models.ModelStatus.BUILDING_FAILED} == models.FAILURE_STATUSES
    assert {models.ModelStatus.PUBLISHING, models.ModelStatus.BUILDING} == models.IN_PROGRESS_STATUSES
    assert models.parse_model_status("PUBLISHED") is models.ModelStatus.PUBLISHED
    assert models.parse_model_status("archived") is None


def test_every_documented_list_filter_goes_into_the_query() -> None:
    filters = models.ModelListFilters.validate(
        model_name="res_net", exact_match=True, model_version="1.0.0", model_status="published",
        description="night", offset="2", limit=50, sort_by="model_size", order="asc", workspace_id="0",
        model_type="PyTorch",
    )  # fmt: skip
    assert filters.query() == [
        ("model_name", "res_net"),
        ("exact_match", "true"),
        ("model_version", "1.0.0"),
        ("model_status", "published"),
        ("description", "night"),
        ("offset", "2"),
        ("limit", "50"),
        ("sort_by", "model_size"),
        ("order", "asc"),
        ("workspace_id", "0"),
        ("model_type", "PyTorch"),
    ]
    assert models.ModelListFilters.validate().query() == [("offset", "0"), ("limit", "1000")]


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"model_type": "PyTorch", "not_model_type": "Image"}, "not_model_type"),
        ({"not_model_type": "Keras"}, "not_model_type"),
        ({"exact_match": "true"}, "exact_match"),
        ({"model_version": "1.0"}, "model_version"),
        ({"model_status": "done"}, "model_status"),
        ({"offset": -1}, "offset"),
        ({"limit": 0}, "limit"),
        ({"sort_by": "name"}, "sort_by"),
        ({"order": "up"}, "order"),
        ({"workspace_id": "x"}, "workspace_id"),
    ],
)
def test_bad_list_filters_are_named(arguments: dict[str, Any], parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        models.ModelListFilters.validate(**arguments)
    assert error.value.parameter == parameter


def test_rows_and_delete_failures() -> None:
    row = models.model_row({"model_id": "m1", "model_name": "r", "model_status": "failed", "failed_msg": "bad"})
    assert row["model_id"] == "m1" and row["failure_reason"] == "bad" and row["model_size"] is None
    answer = {
        "delete_success_list": [],
        "delete_failed_list": [{"model_id": "m1", "error_code": "ModelArts.3009", "error_msg": "used", "x": 1}],
    }
    assert models.delete_failures(answer) == [{"model_id": "m1", "error_code": "ModelArts.3009", "error_msg": "used"}]
    assert models.delete_failures({"delete_success_list": ["m1"]}) == []
    assert models.model_path("p", "m1") == "/v1/p/models/m1"
