"""The ModelArts v1 service API (real-time and batch) as its documentation describes it, read for the server.

Sources (``opentelekomcloud-docs/modelarts`` HEAD 1ba1873, ``api-ref/source/service_management/``;
Huawei Cloud's CreateService, ShowService, ListServices, UpdateService, DeleteService,
ListServiceEvents pages carry the same tables):

* deploy: ``deploying_services.rst`` (Table 3 the body, Table 5 ServiceConfig, the batch examples)
* show: ``obtaining_service_details.rst`` (the status list, access_address, error_msg, config[])
* list: ``obtaining_services.rst`` (filters, offset as a page, limit default 1000, sort keys)
* update: ``updating_service_configurations.rst`` ("Either status or config can be modified. If
  both of them are used, modify status only."; response parameters: none, example ``{ }``)
* delete: ``deleting_a_service.rst`` (comma-separated ids; 200 ``{ }``)
* events: ``obtaining_service_event_logs.rst``
* invocation: the UMN page ``accessing_a_real-time_service_token-based_authentication.rst``
  (``POST <access_address>`` with ``X-Auth-Token``; the address ends ``/v1/infers/<service_id>``)
* error codes: ``appendix/error_codes.rst``
"""

from __future__ import annotations

import re

from modelarts_emulator.models.spec import ErrorCode

SERVICES_PATTERN = r"^/v1/([^/]+)/services/?$"
SERVICE_PATTERN = r"^/v1/([^/]+)/services/([^/]+)/?$"
EVENTS_PATTERN = r"^/v1/([^/]+)/services/([^/]+)/events/?$"
# The access address is <endpoint>/v1/infers/<service_id>; the model's own API paths follow it.
INFERS_PATTERN = r"^/v1/infers/([^/]+)(/.*)?$"

REAL_TIME = "real-time"
BATCH = "batch"
INFER_TYPES = (REAL_TIME, BATCH)

DEPLOYING = "deploying"
PENDING = "pending"
WAITING = "waiting"
RUNNING = "running"
CONCERNING = "concerning"
FAILED = "failed"
STOPPING = "stopping"
STOPPED = "stopped"
FINISHED = "finished"
DELETING = "deleting"
STATUSES = (DEPLOYING, PENDING, WAITING, RUNNING, CONCERNING, FAILED, STOPPING, STOPPED, FINISHED, DELETING)
# A running service answers invocations; concerning is "some backend instances malfunction", it
# still answers (running with an alarm).
SERVING = frozenset({RUNNING, CONCERNING})
# Where a timeline may rest (the last step of a plan).
FINAL_STATUSES = frozenset({RUNNING, CONCERNING, FAILED, STOPPED, FINISHED})
# [UNCERTAIN] ModelArts.3519's message says "only in one of states in [deploying, running,
# stopping, deleting] can be updated", its description the opposite. The emulator refuses an
# update while a transition is under way (deploying, pending, waiting, stopping, deleting).
BUSY = frozenset({DEPLOYING, PENDING, WAITING, STOPPING, DELETING})

NAME_MAX = 64
DESCRIPTION_MAX = 100
# Deploy: "cannot contain the following special characters: !<>+&"'"; update: "<>=&"'". Each
# request is held to its own page's list.
CREATE_DESCRIPTION_FORBIDDEN = frozenset("!<>+&\"'")
UPDATE_DESCRIPTION_FORBIDDEN = frozenset("<>=&\"'")
INSTANCE_COUNT_MIN, INSTANCE_COUNT_MAX = 1, 128
WEIGHT_TOTAL = 100
MAPPING_TYPES = ("file", "csv")
SRC_TYPES = ("ManifestFile",)
LOAD_BALANCER_POLICIES = ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP")
PRIORITY_MIN, PRIORITY_MAX = 1, 3
SCHEDULE_TYPES = ("stop",)
TIME_UNITS = ("DAYS", "HOURS", "MINUTES")
# The flavors the deploy page names; "custom" needs custom_spec (and a dedicated pool, which the
# emulator does not check).
SPECIFICATIONS = ("modelarts.vm.cpu.2u", "modelarts.vm.gpu.pnt004", "modelarts.vm.ai1.snt3", "custom")
UPDATE_STATUSES = (RUNNING, STOPPED)

SORT_KEYS = ("publish_at", "service_name", "transition_at")
SORT_DEFAULT = "publish_at"
EVENT_TYPES = ("normal", "abnormal")
EVENT_INFO_FORBIDDEN = re.compile(r"[`(){}';,\[\]<>/?]")

# Error codes (the table's message; {name}/{id} filled in).
SERVICE_NOT_FOUND = ErrorCode(404, "ModelArts.3502", "Service %s does not exist.")
SERVICE_EXISTS = ErrorCode(409, "ModelArts.3503", "Service %s already exists.")
MODEL_NOT_FOUND = ErrorCode(404, "ModelArts.3507", "Model %s does not exist.")
MODEL_NOT_READY = ErrorCode(
    400, "ModelArts.3515", "The model %s cannot be used for deploying services because it is still being published."
)
DUPLICATE_MODEL_VERSION = ErrorCode(
    400,
    "ModelArts.3516",
    "Failed to deploy services because the version of the model that is used for deploying services is the same.",
)
NOT_UPDATABLE = ErrorCode(
    400, "ModelArts.3519", "Services only in one of states in [deploying, running, stopping, deleting] can be updated."
)
WRONG_INSTALL_TYPE = ErrorCode(400, "ModelArts.3589", "Model %s cannot be used to deploy %s service.")
PARAM_EMPTY = ErrorCode(400, "ModelArts.3610", "Parameter %s cannot be empty.")
INVALID_PARAM = ErrorCode(400, "ModelArts.0101", "Invalid parameter %s: %s.")
WORKSPACE_NOT_FOUND = ErrorCode(400, "ModelArts.0102", "The workspace does not exist.")
# The docs give no code for calling a service that does not serve: an emulator code, plainly so.
NOT_SERVING_CODE = "ModelArts.Emulator.NotServing"
