"""What the v1 model and service APIs share: their error codes (:data:`ERROR_TABLE`), the ids that
go in their paths, the paging parameters of their lists, descriptions, and a deep copy of a body.

Sources: the ModelArts error codes, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html
(mirrored in https://github.com/opentelekomcloud-docs/modelarts, ``api-ref/source/appendix/error_codes.rst``),
and the list pages of models and services (``offset`` is a page index, ``limit`` defaults to 1000).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_modelarts.cloud import transport
from airflow_provider_modelarts.cloud.v2.errors import THROTTLED_CODES, TOKEN_EXPIRED_CODES
from airflow_provider_modelarts.cloud.validation import LONG_MAX, coerce_int
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

# ---------------------------------------------------------------------------------------------
# Error codes (the same page as training's; the 30xx are models', the 35xx services')
# ---------------------------------------------------------------------------------------------

MODEL_NOT_FOUND_CODE = "ModelArts.3001"  # 404 Model ({0}) does not exist.
MODEL_EXISTS_CODE = "ModelArts.3002"  # 409 Model ({0}, {1}) already exists.
MODEL_IN_USE_CODE = "ModelArts.3009"  # a delete_failed_list entry: "...has been used to deploy a service"
SERVICE_NOT_FOUND_CODE = "ModelArts.3502"  # 404 Service {name} does not exist.
SERVICE_EXISTS_CODE = "ModelArts.3503"  # 409 Service {name} already exists.
SERVICE_MODEL_NOT_FOUND_CODE = "ModelArts.3507"  # 404 Model {name} does not exist (in a deploy).
BATCH_SERVICE_NOT_FOUND_CODE = "ModelArts.3822"  # 400 The batch service task does not exist.
MODEL_NOT_READY_CODE = "ModelArts.3515"  # 400 the model is still being published
DUPLICATE_MODEL_VERSIONS_CODE = "ModelArts.3516"  # 400 two configs with the same model version
UPDATE_NOT_ALLOWED_CODE = "ModelArts.3519"  # 400 the service's state does not allow an update
NOT_FOUND_CODES = frozenset({MODEL_NOT_FOUND_CODE, SERVICE_NOT_FOUND_CODE, BATCH_SERVICE_NOT_FOUND_CODE})
# 3507 names a model of a deploy body: a bad request, not a missing service.
ERROR_TABLE = transport.ErrorTable(
    not_found_codes=NOT_FOUND_CODES,
    token_expired_codes=TOKEN_EXPIRED_CODES,
    throttled_codes=THROTTLED_CODES,
    hints={
        MODEL_EXISTS_CODE: "A model with this model_name and model_version exists: choose another version",
        SERVICE_EXISTS_CODE: "A service with this service_name exists: choose another name, or update that service",
        SERVICE_MODEL_NOT_FOUND_CODE: "Check config[].model_id: no such model in this project",
        MODEL_NOT_READY_CODE: "The model is not published yet: wait until its model_status is published",
        DUPLICATE_MODEL_VERSIONS_CODE: "Each config entry of a service must use another model version",
        UPDATE_NOT_ALLOWED_CODE: "The service's current status does not allow this update: wait and try again",
        "ModelArts.3017": "Check source_location: the model directory does not follow the model package layout",
        "ModelArts.3015": "Check the model's config.json (or initial_config): it breaks the specification",
        "ModelArts.3029": "A Template model needs template.template_id",
        "ModelArts.3034": "A Template model needs the template field",
        "ModelArts.3514": "A model deployed as a batch service needs input_params",
        "ModelArts.3520": "The service quota is used up: delete services that are no longer used",
        "ModelArts.3521": "Too many services are running: stop some, or raise the quota",
        "ModelArts.3522": "Too many service instances: lower instance_count, or raise the quota",
        "ModelArts.3551": "Check the OBS paths of the body (src_path, dest_path): one does not exist",
    },
)

# ---------------------------------------------------------------------------------------------
# Ids, names, descriptions
# ---------------------------------------------------------------------------------------------

# Every documented model and service id is a UUID; any id made of letters, digits, '-' and '_'
# is accepted [UNCERTAIN: no page states the format], so it stays one safe path segment.
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
NAME_MAX_LENGTH = 64
DESCRIPTION_MAX_LENGTH = 100


def validate_resource_id(value: object, parameter: str) -> str:
    """A model or service id (one path segment): a UUID in every documented example."""
    if isinstance(value, str) and _ID_PATTERN.fullmatch(value.strip()):
        return value.strip()
    raise ModelArtsValidationError(
        parameter, "an id such as '10eb0091-887f-4839-9929-cbc884f1e20e' (letters, digits, '-', '_')", value
    )


def validate_resource_name(value: object, parameter: str) -> str:
    """A model or service name: 1 to 64 characters (the pages name no character set), not blank."""
    if isinstance(value, str) and value.strip() and len(value) <= NAME_MAX_LENGTH:
        return value
    raise ModelArtsValidationError(parameter, f"a name of 1 to {NAME_MAX_LENGTH} characters", value)


def validate_description(value: object, parameter: str, forbidden: str) -> str:
    """A description of at most 100 characters, none of ``forbidden``."""
    allowed = f"a string of at most {DESCRIPTION_MAX_LENGTH} characters, without any of {forbidden}"
    if isinstance(value, str) and len(value) <= DESCRIPTION_MAX_LENGTH and not set(value) & set(forbidden):
        return value
    raise ModelArtsValidationError(parameter, allowed, value)


def validate_choice(value: object, parameter: str, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    raise ModelArtsValidationError(parameter, "one of " + ", ".join(choices), value)


def non_empty_string(value: object, parameter: str, allowed: str = "a non-empty string") -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise ModelArtsValidationError(parameter, allowed, value)


# ---------------------------------------------------------------------------------------------
# Lists: offset is a page index (0 first), limit defaults to 1000, order asc|desc
# ---------------------------------------------------------------------------------------------

DEFAULT_LIMIT = 1000
ORDERS = ("asc", "desc")


def validate_offset(value: object, parameter: str = "offset") -> int:
    """The page index, 0 for the first page."""
    return coerce_int(value, parameter, 0, LONG_MAX)


def validate_limit(value: object, parameter: str = "limit") -> int:
    """Records per page: at least 1; the pages give 1000 as the default and no maximum [UNCERTAIN]."""
    return coerce_int(value, parameter, 1, DEFAULT_LIMIT)


def validate_order(value: object, parameter: str = "order") -> str:
    return validate_choice(value, parameter, ORDERS)


def query_of(pairs: Mapping[str, object]) -> list[tuple[str, str]]:
    """Query pairs of the given values (``None`` left out), booleans as ``true``/``false``."""
    query: list[tuple[str, str]] = []
    for key, value in pairs.items():
        if value is None:
            continue
        query.append((key, ("true" if value else "false") if isinstance(value, bool) else str(value)))
    return query


# ---------------------------------------------------------------------------------------------
# Bodies
# ---------------------------------------------------------------------------------------------


def plain(value: object) -> Any:
    """A deep copy made of plain dicts and lists: the caller's body is never changed or shared."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def plain_mapping(value: object, parameter: str, allowed: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise ModelArtsValidationError(parameter, allowed, value)
    copied: dict[str, Any] = plain(value)
    return copied


def plain_list(value: object, parameter: str, allowed: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ModelArtsValidationError(parameter, allowed, value)
    copied: list[Any] = plain(value)
    return copied


def mapping(value: object) -> Mapping[str, Any]:
    """A field read tolerantly: anything but a mapping reads as empty."""
    return value if isinstance(value, Mapping) else {}
