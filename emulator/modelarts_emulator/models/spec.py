"""The ModelArts v1 model ("AI application") API as its documentation describes it, read for the server.

The emulator's own reading; it shares nothing with the provider, so a misreading on either side
makes a test fail. Sources (Open Telekom Cloud's API reference, ``opentelekomcloud-docs/modelarts``,
``api-ref/source/ai_application_management/``; the same pages as Huawei Cloud's CreateModel,
ShowModel, ListModels, DeleteModel):

* create: ``creating_an_ai_application.rst`` (at commit 2cf4467; HEAD 1ba1873 removed the page,
  why is not said), https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateModel.html
* show: ``obtaining_details_about_an_ai_application.rst``
* list: ``querying_the_ai_application_list.rst`` (the status enumeration is there)
* delete: ``deleting_an_ai_application.rst`` (``cascade``, the 200 with the two lists and the
  ModelArts.3009 example)
* runtimes: ``obtaining_the_model_runtime.rst``
* error codes: ``appendix/error_codes.rst`` (modelarts_03_0095)
"""

from __future__ import annotations

import re
from typing import NamedTuple

MODELS_PATTERN = r"^/v1/([^/]+)/models/?$"
MODEL_PATTERN = r"^/v1/([^/]+)/models/([^/]+)/?$"
RUNTIMES_PATTERN = r"^/v1/([^/]+)/models/ai-engine-runtimes/?$"

# model_status (the list page's enumeration).
PUBLISHING = "publishing"
PUBLISHED = "published"
FAILED = "failed"
BUILDING = "building"
BUILDING_FAILED = "building_failed"
STATUSES = (PUBLISHING, PUBLISHED, FAILED, BUILDING, BUILDING_FAILED)
FINAL_STATUSES = frozenset({PUBLISHED, FAILED, BUILDING_FAILED})

# "model_type ... TensorFlow, PyTorch, MindSpore, Image, Custom or Template" (the list page; the
# create page omits Custom, the list page's filter names it: the emulator accepts it).
MODEL_TYPES = ("TensorFlow", "PyTorch", "MindSpore", "Image", "Custom", "Template")
TEMPLATE = "Template"
IMAGE = "Image"

NAME_MAX = 64
# "Digit.Digit.Digit. Each digit is a one-digit or two-digit positive integer, but cannot start
# with 0. For example, 01.01.01 is not allowed." [UNCERTAIN] "positive" would exclude 0 itself; the
# docs' own examples use 1.0.0 and 1.0.1, so a lone 0 is accepted.
VERSION_PATTERN = re.compile(r"^(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)$")
# "Model description that consists of 1 to 100 characters. The following special characters
# cannot be contained: &!'"<>=". An empty description is accepted (the field is optional and the
# service examples send "").
DESCRIPTION_MAX = 100
DESCRIPTION_FORBIDDEN = frozenset("&!'\"<>=")
# "install_type ... Only lowercase letters are supported. The value can be real-time or batch.
# Default value: [real-time, batch]". (edge appears in the error table, ModelArts.3076; the
# emulator accepts it as a value too.)
INSTALL_TYPES = ("real-time", "batch", "edge")
INSTALL_TYPE_DEFAULT = ("real-time", "batch")
RESTRAINTS = ("EXACT", "ATLEAST", "ATMOST")
INSTALLERS = ("pip",)
PARAM_TYPES = ("int", "string", "float", "timestamp", "date", "file")
MODEL_DOCS_MAX = 3

# List query (querying_the_ai_application_list.rst): offset is a page index (default 0), limit
# defaults to 1000 [UNCERTAIN: no maximum documented; the emulator takes 1 to 1000].
LIMIT_DEFAULT = 1000
LIMIT_MAX = 1000
SORT_KEYS = ("create_at", "model_version", "model_size")
SORT_DEFAULT = "create_at"
ORDERS = ("asc", "desc")
ORDER_DEFAULT = "desc"
# "cascade ... A maximum of 20 models can be deleted at a time. Excess models are not deleted."
CASCADE_MAX = 20
WORKSPACE_DEFAULT = "0"


class ErrorCode(NamedTuple):
    status: int
    code: str
    message: str


# From the error-code table. The body is {"error_code", "error_msg"}, the shape of the v2 API and
# of delete_failed_list's entries [UNCERTAIN: the model pages show no failure body].
INVALID_PARAM = ErrorCode(400, "ModelArts.0101", "Invalid parameter %s: %s.")
WORKSPACE_NOT_FOUND = ErrorCode(400, "ModelArts.0102", "The workspace does not exist.")
PARAM_REQUIRED = ErrorCode(400, "ModelArts.3036", "Parameter verification failed, parameter (%s) is required.")
TEMPLATE_REQUIRED = ErrorCode(
    400, "ModelArts.3034", "Template model failed to be published, template field is required."
)
TEMPLATE_ID_REQUIRED = ErrorCode(
    400, "ModelArts.3029", "Model publishing failed because the Template model must provide the template ID used."
)
TEMPLATE_INPUT_REPEATED = ErrorCode(400, "ModelArts.3039", "Template input input_id cannot be repeated.")
BAD_RESTRAINT = ErrorCode(
    400,
    "ModelArts.3041",
    "When the installer installer is conda or pip, and the version packageVersion exists, the version "
    "constraint restraint can only be EXACT, ATLEAST, ATMOST.",
)
MODEL_NOT_FOUND = ErrorCode(404, "ModelArts.3001", "Model (%s) does not exist.")
MODEL_EXISTS = ErrorCode(409, "ModelArts.3002", "Model (%s, %s) already exists.")
# A delete_failed_list entry: the docs' example message, with the 500-class code of the table.
MODEL_IN_USE_CODE = "ModelArts.3009"
MODEL_IN_USE_MESSAGE = "Failed to delete model because the model (%s) has been used to deploy a service."
INVALID_JSON = ErrorCode(400, "ModelArts.0101", "Invalid parameter body: %s.")
