"""Models ("AI applications") of the v1 API: paths, :class:`ModelStatus`, the create body's rules
(:func:`validate_model_create`), the list filters (:class:`ModelListFilters`), compact rows for
XCom, and how a delete answer reports failures.

Sources (Huawei's pages, mirrored in https://github.com/opentelekomcloud-docs/modelarts under
``api-ref/source/ai_application_management/``; the create page was removed there at 1ba1873 and
is read at 2cf4467):
creating a model, https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateModel.html ;
querying the model list, https://support.huaweicloud.com/intl/en-us/api-modelarts/ListModels.html ;
a model's details, https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowModel.html ;
deleting a model, https://support.huaweicloud.com/intl/en-us/api-modelarts/DeleteModel.html .
Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_modelarts.cloud.inference.common import (
    DEFAULT_LIMIT,
    mapping,
    non_empty_string,
    plain_list,
    plain_mapping,
    query_of,
    validate_choice,
    validate_description,
    validate_limit,
    validate_offset,
    validate_order,
    validate_resource_name,
)
from airflow_provider_modelarts.cloud.v2.search import validate_workspace_id
from airflow_provider_modelarts.cloud.validation import validate_flag
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


def models_path(project_id: str) -> str:
    """``POST`` creates a model (200 ``{"model_id"}``, asynchronous); ``GET`` lists models."""
    return f"/v1/{project_id}/models"


def model_path(project_id: str, model_id: str) -> str:
    """``GET`` shows a model; ``DELETE`` deletes it (200, ``delete_success_list`` / ``delete_failed_list``)."""
    return f"{models_path(project_id)}/{model_id}"


# ---------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------


class ModelStatus(str, Enum):
    """The documented values of ``model_status`` (the list page's filter)."""

    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    BUILDING = "building"
    BUILDING_FAILED = "building_failed"

    def __str__(self) -> str:
        return self.value


SUCCESS_STATUSES: frozenset[ModelStatus] = frozenset({ModelStatus.PUBLISHED})
FAILURE_STATUSES: frozenset[ModelStatus] = frozenset({ModelStatus.FAILED, ModelStatus.BUILDING_FAILED})
IN_PROGRESS_STATUSES: frozenset[ModelStatus] = frozenset({ModelStatus.PUBLISHING, ModelStatus.BUILDING})
TERMINAL_STATUSES: frozenset[ModelStatus] = SUCCESS_STATUSES | FAILURE_STATUSES


def parse_model_status(value: object) -> ModelStatus | None:
    """The documented status a value names (any case), or ``None`` (an undocumented status is in
    progress to a wait: it keeps polling until its timeout)."""
    if isinstance(value, str):
        try:
            return ModelStatus(value.strip().lower())
        except ValueError:
            return None
    return None


def validate_model_status(value: object, parameter: str = "model_status") -> ModelStatus:
    known = parse_model_status(value)
    if known is None:
        raise ModelArtsValidationError(parameter, "one of " + ", ".join(s.value for s in ModelStatus), value)
    return known


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------

MODEL_TYPES = ("TensorFlow", "PyTorch", "MindSpore", "Image", "Custom", "Template")
TEMPLATE_MODEL_TYPE = "Template"
IMAGE_MODEL_TYPE = "Image"
# Digit.Digit.Digit, each a one- or two-digit number that does not start with 0 ("01.01.01" is
# refused; the examples use "0.0.1" and "1.0.0", so a single 0 is allowed).
MODEL_VERSION_PATTERN = re.compile(r"^(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)$")
MODEL_VERSION_ALLOWED = "Digit.Digit.Digit, each 1 or 2 digits without a leading 0, e.g. '1.0.0' ('01.01.01' is not)"
MODEL_DESCRIPTION_FORBIDDEN = "&!'\"<>="
INSTALL_TYPES = ("real-time", "batch")
INSTALLERS = ("pip",)
RESTRAINTS = ("EXACT", "ATLEAST", "ATMOST")
MODEL_DOCS_MAX = 3
SOURCE_COPY_VALUES = ("true", "false")


def validate_model_version(value: object, parameter: str = "model_version") -> str:
    if isinstance(value, str) and MODEL_VERSION_PATTERN.fullmatch(value):
        return value
    raise ModelArtsValidationError(parameter, MODEL_VERSION_ALLOWED, value)


def validate_model_create(model: object, parameter: str = "model") -> dict[str, Any]:
    """Check a create body (``POST /v1/{project_id}/models``) before it is sent, and return a copy
    (the input is never changed). Each error names the path the user wrote, e.g.
    ``model.model_version`` or ``model.dependencies[0].packages[1].restraint``:

    - ``model_name`` 1-64 characters; ``model_version`` ``D.D.D`` (see :data:`MODEL_VERSION_PATTERN`);
    - ``model_type`` one of :data:`MODEL_TYPES`;
    - ``source_location`` required, except for ``Template`` models, which need ``template`` with
      ``template_id`` and ``template_inputs[{input_id, input}]`` instead;
    - ``description`` at most 100 characters, without any of ``&!'"<>=``;
    - ``workspace_id`` ``"0"`` or 32 characters; ``install_type`` a list of ``real-time``/``batch``;
    - ``source_copy`` ``"true"``/``"false"``, for ``Image`` models only;
    - ``dependencies[]``: ``installer`` ``pip``, ``packages[]`` each with ``package_name``, and
      ``restraint`` (``EXACT``/``ATLEAST``/``ATMOST``) when it gives ``package_version``;
    - ``model_docs`` at most 3, each with ``doc_url`` and ``doc_name``.

    Everything else (``runtime``, ``execution_code``, ``apis``, ``initial_config``, ...) passes
    through unchanged.
    """
    body = plain_mapping(model, parameter, "a mapping: the create body (model_name, model_version, model_type, ...)")
    validate_resource_name(body.get("model_name"), f"{parameter}.model_name")
    validate_model_version(body.get("model_version"), f"{parameter}.model_version")
    model_type = validate_choice(body.get("model_type"), f"{parameter}.model_type", MODEL_TYPES)
    if model_type == TEMPLATE_MODEL_TYPE:
        _validate_template(body.get("template"), f"{parameter}.template")
        if body.get("source_location") is not None:
            non_empty_string(body["source_location"], f"{parameter}.source_location")
    else:
        non_empty_string(
            body.get("source_location"),
            f"{parameter}.source_location",
            "the OBS path of the model directory (e.g. a training job's output obs_url), or an SWR image "
            "for model_type Image; only Template models go without it",
        )
    if body.get("description") is not None:
        validate_description(body["description"], f"{parameter}.description", MODEL_DESCRIPTION_FORBIDDEN)
    if body.get("workspace_id") is not None:
        body["workspace_id"] = validate_workspace_id(body["workspace_id"], f"{parameter}.workspace_id")
    if body.get("install_type") is not None:
        kinds = plain_list(body["install_type"], f"{parameter}.install_type", "a list of 'real-time' and 'batch'")
        for index, kind in enumerate(kinds):
            validate_choice(kind, f"{parameter}.install_type[{index}]", INSTALL_TYPES)
    if body.get("source_copy") is not None:
        if model_type != IMAGE_MODEL_TYPE:
            raise ModelArtsValidationError(
                f"{parameter}.source_copy", "given for model_type Image only", body["source_copy"]
            )
        validate_choice(body["source_copy"], f"{parameter}.source_copy", SOURCE_COPY_VALUES)
    if body.get("dependencies") is not None:
        _validate_dependencies(body["dependencies"], f"{parameter}.dependencies")
    if body.get("model_docs") is not None:
        _validate_docs(body["model_docs"], f"{parameter}.model_docs")
    return body


def _validate_template(value: object, parameter: str) -> None:
    template = plain_mapping(
        value, parameter, "a mapping with template_id and template_inputs (required for model_type Template)"
    )
    non_empty_string(template.get("template_id"), f"{parameter}.template_id")
    inputs = plain_list(template.get("template_inputs"), f"{parameter}.template_inputs", "a list of {input_id, input}")
    for index, item in enumerate(inputs):
        where = f"{parameter}.template_inputs[{index}]"
        entry = plain_mapping(item, where, "a mapping with input_id and input")
        non_empty_string(entry.get("input_id"), f"{where}.input_id")
        non_empty_string(entry.get("input"), f"{where}.input", "an OBS path (file or directory)")


def _validate_dependencies(value: object, parameter: str) -> None:
    for index, item in enumerate(plain_list(value, parameter, "a list of {installer, packages}")):
        where = f"{parameter}[{index}]"
        entry = plain_mapping(item, where, "a mapping with installer and packages")
        validate_choice(entry.get("installer"), f"{where}.installer", INSTALLERS)
        packages = plain_list(entry.get("packages"), f"{where}.packages", "a list of {package_name, ...}")
        for number, package in enumerate(packages):
            spot = f"{where}.packages[{number}]"
            fields = plain_mapping(package, spot, "a mapping with package_name")
            non_empty_string(fields.get("package_name"), f"{spot}.package_name")
            if fields.get("restraint") is not None or fields.get("package_version") is not None:
                validate_choice(fields.get("restraint"), f"{spot}.restraint", RESTRAINTS)


def _validate_docs(value: object, parameter: str) -> None:
    docs = plain_list(value, parameter, f"a list of at most {MODEL_DOCS_MAX} {{doc_url, doc_name}}")
    if len(docs) > MODEL_DOCS_MAX:
        raise ModelArtsValidationError(parameter, f"at most {MODEL_DOCS_MAX} documents", value)
    for index, item in enumerate(docs):
        entry = plain_mapping(item, f"{parameter}[{index}]", "a mapping with doc_url and doc_name")
        non_empty_string(entry.get("doc_url"), f"{parameter}[{index}].doc_url", "an HTTP(S) link")
        name = entry.get("doc_name")
        if not (isinstance(name, str) and name[:1].isalpha()):
            raise ModelArtsValidationError(f"{parameter}[{index}].doc_name", "a name starting with a letter", name)


class ValidatedModel(Mapping[str, Any]):
    """A create body that passed :func:`validate_model_create` (its copy), sent without a second check."""

    __slots__ = ("body",)

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    @classmethod
    def validate(cls, model: object, parameter: str = "model") -> ValidatedModel:
        return model if isinstance(model, cls) else cls(validate_model_create(model, parameter))

    @property
    def name(self) -> str:
        return str(self.body["model_name"])

    @property
    def version(self) -> str:
        return str(self.body["model_version"])

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def __iter__(self) -> Any:
        return iter(self.body)

    def __len__(self) -> int:
        return len(self.body)

    def __repr__(self) -> str:
        return f"ValidatedModel({self.body!r})"


# ---------------------------------------------------------------------------------------------
# List
# ---------------------------------------------------------------------------------------------

MODEL_SORT_FIELDS = ("create_at", "model_version", "model_size")


@dataclass(frozen=True)
class ModelListFilters:
    """The documented query of ``GET /v1/{project_id}/models``, checked."""

    model_name: str | None = None
    exact_match: bool | None = None
    model_version: str | None = None
    model_status: ModelStatus | None = None
    description: str | None = None
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    sort_by: str | None = None
    order: str | None = None
    workspace_id: str | None = None
    model_type: str | None = None
    not_model_type: str | None = None

    @classmethod
    def validate(
        cls,
        model_name: str | None = None,
        exact_match: bool | None = None,
        model_version: str | None = None,
        model_status: str | ModelStatus | None = None,
        description: str | None = None,
        offset: int | str = 0,
        limit: int | str = DEFAULT_LIMIT,
        sort_by: str | None = None,
        order: str | None = None,
        workspace_id: str | None = None,
        model_type: str | None = None,
        not_model_type: str | None = None,
    ) -> ModelListFilters:
        """Each argument checked and named; ``model_type`` and ``not_model_type`` exclude each other."""
        if model_type is not None and not_model_type is not None:
            raise ModelArtsValidationError(
                "not_model_type", "not given with model_type (the two exclude each other)", not_model_type
            )
        return cls(
            model_name=validate_resource_name(model_name, "model_name") if model_name is not None else None,
            exact_match=validate_flag(exact_match, "exact_match") if exact_match is not None else None,
            model_version=validate_model_version(model_version) if model_version is not None else None,
            model_status=validate_model_status(model_status) if model_status is not None else None,
            description=non_empty_string(description, "description") if description is not None else None,
            offset=validate_offset(offset),
            limit=validate_limit(limit),
            sort_by=validate_choice(sort_by, "sort_by", MODEL_SORT_FIELDS) if sort_by is not None else None,
            order=validate_order(order) if order is not None else None,
            workspace_id=validate_workspace_id(workspace_id) if workspace_id is not None else None,
            model_type=validate_choice(model_type, "model_type", MODEL_TYPES) if model_type is not None else None,
            not_model_type=(
                validate_choice(not_model_type, "not_model_type", MODEL_TYPES) if not_model_type is not None else None
            ),
        )

    def query(self) -> list[tuple[str, str]]:
        return query_of(
            {
                "model_name": self.model_name,
                "exact_match": self.exact_match,
                "model_version": self.model_version,
                "model_status": self.model_status.value if self.model_status else None,
                "description": self.description,
                "offset": self.offset,
                "limit": self.limit,
                "sort_by": self.sort_by,
                "order": self.order,
                "workspace_id": self.workspace_id,
                "model_type": self.model_type,
                "not_model_type": self.not_model_type,
            }
        )


# ---------------------------------------------------------------------------------------------
# Rows and answers
# ---------------------------------------------------------------------------------------------

MODEL_ROW_FIELDS = (
    "model_id",
    "model_name",
    "model_version",
    "model_status",
    "model_type",
    "source_location",
    "model_size",
    "create_at",
    "workspace_id",
)
# The show page's reason for a failed model: [UNCERTAIN] the field name was not checked; these
# are the names the service's other objects use, and ``failure_reason``, the v2 service API's.
FAILURE_REASON_FIELDS = ("failure_reason", "failed_msg", "error_msg", "error_message", "status_desc")


def model_row(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model (list item or details) as a flat, JSON-serialisable row for XCom; missing fields
    are ``None``; ``failure_reason`` is the first failure text the object carries."""
    row = {key: model.get(key) for key in MODEL_ROW_FIELDS}
    row["failure_reason"] = failure_reason(model)
    return row


def failure_reason(model: Mapping[str, Any]) -> str | None:
    for key in FAILURE_REASON_FIELDS:
        value = model.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def delete_failures(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``delete_failed_list`` entries of a delete answer, ``{model_id, error_code, error_msg}``
    each (a delete the service refused, e.g. a model in use by a service, still answers 200)."""
    entries = body.get("delete_failed_list")
    if not isinstance(entries, list):
        return []
    return [
        {key: mapping(entry).get(key) for key in ("model_id", "error_code", "error_msg")}
        for entry in entries
        if isinstance(entry, Mapping)
    ]
