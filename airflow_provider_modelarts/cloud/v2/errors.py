"""The v2 error codes the provider acts on, and :data:`ERROR_TABLE`: which codes mean not found,
token expired or throttled, and the hint each known code adds to an error message.

The codes are those of the ModelArts error-code page
(https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html), the same page
as v1's, plus the API gateway's.
"""

from __future__ import annotations

from airflow_provider_modelarts.cloud import transport

# Same service, same error-code page as v1: "token expired" is ModelArts.0202 (plus the gateway's).
TOKEN_EXPIRED_CODES = frozenset({"ModelArts.0202"})
# TrainingJobNotFound, answered with HTTP 400 rather than 404.
NOT_FOUND_CODES = frozenset({"ModelArts.2775"})
# ModelArts' own TooManyRequests and the gateway's throttling threshold (both documented as HTTP
# 429; recognised by code too, so a throttle is retried whatever status carries it).
THROTTLED_CODES = frozenset({"ModelArts.2799", "APIG.0308", "APIGW.0308"})
# The lifecycle codes the hook turns into typed errors (see the hook's create, terminate and log
# calls) or reads as "no data yet".
DUPLICATE_NAME_CODE = "ModelArts.2751"  # 400 DuplicateTrainingJobName
NOT_ALLOWED_TO_TERMINATE_CODE = "ModelArts.2796"  # 409: the job has already ended
UNSUPPORTED_ACTION_CODE = "ModelArts.2812"  # 400: an action_type other than terminate
# "Not ready to fetch the log" (HTTP 204) and "the log has not been generated" (400): both mean
# no line exists yet, which a follower reads as an empty answer, never as a failure.
LOG_NOT_READY_CODES = frozenset({"ModelArts.2776", "ModelArts.2818"})
_PROJECT_HINT = "Check the project_id: it must be the project of this region in the same account"
ERROR_TABLE = transport.ErrorTable(
    not_found_codes=NOT_FOUND_CODES,
    token_expired_codes=TOKEN_EXPIRED_CODES,
    throttled_codes=THROTTLED_CODES,
    hints={
        "ModelArts.0210": _PROJECT_HINT,
        "ModelArts.2786": _PROJECT_HINT,
        "ModelArts.2789": "Check filters: the API does not support this filter",
        "ModelArts.2790": "Check sort_by: the API cannot sort by this field",
        "ModelArts.2807": "Check filters: the API does not support this filter key",
        "ModelArts.2808": "Check filters: the API does not support this filter operator",
        "ModelArts.2809": "Check filters: the API does not support this filter value",
        DUPLICATE_NAME_CODE: "A training job with this name already exists: choose another metadata.name",
        "ModelArts.2755": "Check algorithm.id (or subscription_id and item_version_id): no such algorithm",
        "ModelArts.2763": "Check spec.resource.flavor_id: the flavor is not valid for this job",
        "ModelArts.2780": "Check algorithm.engine: no such engine (GET .../training-job-engines lists them)",
        "ModelArts.2781": "Check spec.resource.flavor_id: no such flavor (GET .../training-job-flavors lists them)",
        "ModelArts.2791": "Check the OBS paths of the body (code_dir, boot_file, inputs and outputs)",
        "ModelArts.2793": "Check spec.resource.node_count: it is above the flavor's maximum",
        "ModelArts.2806": "A custom image needs both algorithm.engine.image_url and algorithm.command",
        "ModelArts.2815": "The training job quota is used up: delete finished jobs or raise the quota",
        "ModelArts.2833": "The free flavor allows fewer running jobs: wait, or choose another flavor",
        NOT_ALLOWED_TO_TERMINATE_CODE: "The job has ended: only Creating, Pending and Running jobs can be terminated",
        UNSUPPORTED_ACTION_CODE: "The actions endpoint accepts only {'action_type': 'terminate'}",
        "ModelArts.2776": "The task's log is not ready yet: ask again later",
        "ModelArts.2818": "The task has not written any log yet: ask again later",
        "ModelArts.2819": "The task's log was already cleared (logs stay 30 days unless exported to OBS)",
    },
)
