"""The ModelArts v2 training-job API as its public documentation describes it, read for the server.

Like :mod:`modelarts_emulator.v1.spec` for v1, this is the emulator's own reading of the docs; it shares nothing with
the provider's client code, so a misreading on either side makes a test fail.

Sources (page ids are the same on Huawei Cloud and Open Telekom Cloud, whose API reference is
published as ``opentelekomcloud-docs/modelarts`` on GitHub, ``api-ref/source/...``):

* search ("Querying a Training Job List", ``ListTrainingJobs``):
  https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobs.html,
  ``training_management/querying_a_training_job_list.rst``
* show ("Querying the Details About a Training Job", ``ShowTrainingJobDetails``):
  https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowTrainingJobDetails.html,
  ``training_management/querying_the_details_about_a_training_job.rst``
* error codes: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html,
  ``appendix/error_codes.rst``; the v2 error body ``{"error_msg", "error_code", "error_solution"}``
  is the failure example of "Creating a Training Job" (``training_management/creating_a_training_job.rst``)
* create ("Creating a Training Job", ``CreateTrainingJob``):
  https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateTrainingJob.html,
  ``training_management/creating_a_training_job.rst`` (201 and the job object)
* terminate ("Terminating a Training Job", ``StopTrainingJob``):
  https://support.huaweicloud.com/intl/en-us/api-modelarts/StopTrainingJob.html,
  ``training_management/terminating_a_training_job.rst`` (202 and the job object)
* delete ("Deleting a Training Job", ``DeleteTrainingJob``):
  https://support.huaweicloud.com/intl/en-us/api-modelarts/DeleteTrainingJob.html,
  ``training_management/deleting_a_training_job.rst`` (202, no body)
* task list (``ListTrainingJobTasks``; the SDK's ``ListTrainingJobTasksResponse`` is a JSON list
  of ``TaskHistory`` {task, ip, host_ip, schedule_count})
* per-task logs ("查询训练作业指定任务的日志", ``ShowTrainingJobLogsFromAom``):
  https://support.huaweicloud.com/api-modelarts/ShowTrainingJobLogsFromAom.html
* log preview ("Querying the Logs of a Specified Task in a Given Training Job (Preview)",
  ``ShowTrainingJobLogsPreview``):
  ``training_management/querying_the_logs_of_a_specified_task_in_a_given_training_job_preview.rst``
  (``content``, ``current_size`` "The maximum size is 5 MB", ``full_size``)
* events ("Obtaining the Events of a Training Job", ``ListTrainingJobEvents``):
  ``training_management/obtaining_the_events_of_a_training_job.rst`` and the SDK's
  ``list_training_job_events_request.py``/``_response.py``, ``event.py``
* auto-search trials ("Querying All Trials Using Hyperparameter Search", ``ShowAutoSearchTrials``;
  "Querying Information About a Trial ...", ``ShowAutoSearchPerTrial``):
  ``training_management/querying_all_trials_using_hyperparameter_search.rst``,
  ``querying_information_about_a_trial_using_hyperparameter_search.rst``; the SDK's
  ``show_auto_search_trials_response.py``, ``list_auto_search_trials_items.py``,
  ``show_auto_search_per_trial_response.py``
* the official SDK ``huaweicloudsdkmodelarts`` (``v1/model/status.py``, ``job_searches.py``,
  ``filter.py``, ``list_training_jobs_response.py``) for the response models.
"""

from __future__ import annotations

from typing import NamedTuple

# ---------------------------------------------------------------------------------------------
# Paths (decoded; a trailing slash is tolerated as for v1)
# ---------------------------------------------------------------------------------------------

SEARCH_JOBS_PATTERN = r"^/v2/([^/]+)/training-job-searches/?$"
GET_JOB_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/?$"
CREATE_JOB_PATTERN = r"^/v2/([^/]+)/training-jobs/?$"
JOB_ACTIONS_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/actions/?$"
JOB_TASKS_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/tasks/?$"
JOB_LOGS_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/logs/([^/]+)/?$"
JOB_LOG_PREVIEW_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/tasks/([^/]+)/logs/preview/?$"
JOB_EVENTS_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/events/?$"
AUTOSEARCH_TRIALS_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/autosearch-trials/?$"
AUTOSEARCH_TRIAL_PATTERN = r"^/v2/([^/]+)/training-jobs/([^/]+)/autosearch-trials/([^/]+)/?$"

# ---------------------------------------------------------------------------------------------
# Phases (Status table of ShowTrainingJobDetails; the SDK's model/status.py)
# ---------------------------------------------------------------------------------------------

CREATING = "Creating"
PENDING = "Pending"
RUNNING = "Running"
TERMINATING = "Terminating"
COMPLETED = "Completed"
FAILED = "Failed"
TERMINATED = "Terminated"
ABNORMAL = "Abnormal"
PHASES = (CREATING, PENDING, RUNNING, TERMINATING, COMPLETED, FAILED, TERMINATED, ABNORMAL)
# Phases after which nothing more happens to a job (its duration stops growing). The docs give
# meanings, not a lifecycle; Abnormal is final here as in the docs' only example of it
# (phase Abnormal, secondary_phase CreateFailed, duration 0).
FINAL_PHASES = frozenset({COMPLETED, FAILED, TERMINATED, ABNORMAL})
# Terminate is allowed in these phases only (terminating_a_training_job.rst: 409 ModelArts.2796).
TERMINABLE_PHASES = frozenset({CREATING, PENDING, RUNNING})

# "The level-2 status ... is an internal detailed status ... Dependency is not recommended."
SECONDARY_PHASES = (
    "Creating",
    "Queuing",
    "Running",
    "Failed",
    "Completed",
    "Terminating",
    "Terminated",
    "CreateFailed",
    "TerminatedFailed",
    "Unknown",
    "Lost",
)
# The secondary phase shown with each phase unless a timeline step names another one.
DEFAULT_SECONDARY = {
    CREATING: "Creating",
    PENDING: "Queuing",
    RUNNING: "Running",
    TERMINATING: "Terminating",
    COMPLETED: "Completed",
    FAILED: "Failed",
    TERMINATED: "Terminated",
    ABNORMAL: "CreateFailed",
}

# ---------------------------------------------------------------------------------------------
# The search body (JobSearches) and its response
# ---------------------------------------------------------------------------------------------

# "offset: Number of pages for querying jobs. The minimum value is 0. For example, if this
# parameter is set to 0, the query starts from the first page." A page number, not a record offset.
OFFSET_MIN = 0
# "limit: Number of records on each page ... The value ranges from 1 to 50." No default is
# documented; 10 is this emulator's choice (the usual Huawei page size).
LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 50, 10
SORT_BY_DEFAULT = "create_time"
# Only the default is documented. These are the job fields the emulator can sort by; anything
# else is ModelArts.2790 UnsupportedSortBy.
SORT_KEYS = ("create_time", "name", "duration", "phase")
ORDERS = ("asc", "desc")
ORDER_DEFAULT = "desc"
WORKSPACE_DEFAULT = "0"
AI_PROJECT_DEFAULT = "default-ai-project"
TRAIN_TYPES = ("job", "ftjob")

# Filter keys from the request example, with the operators each one takes. The docs list the
# operators (between, like, in, not) but not which key takes which: time ranges take between,
# names take like, enumerations take in and not.
OPERATORS = ("between", "like", "in", "not")
FILTER_OPERATORS: dict[str, tuple[str, ...]] = {
    "name": ("like", "in", "not"),
    "create_time": ("between",),
    "phase": ("in", "not"),
    "algorithm_name": ("like", "in", "not"),
    "kind": ("in", "not"),
    "user_id": ("in", "not"),
    "runtime_type": ("in", "not"),
}
KIND_FEDERATED_POOL_JOB = "federated_pool_job"
# Job kinds of the SDK's Job model.
KINDS = (
    "job",
    "federated_pool_job",
    "edge_job",
    "hetero_job",
    "mrs_job",
    "autosearch_job",
    "diag_job",
    "visualization_job",
)

# ---------------------------------------------------------------------------------------------
# Error codes (modelarts_03_0095): HTTP status, error_msg (the table's Description column, as in
# the create example: ModelArts.2755 -> "algorithm not found.") and error_solution (Solution)
# ---------------------------------------------------------------------------------------------


class ErrorCode(NamedTuple):
    status: int
    code: str
    message: str  # may contain one %s
    solution: str


JOB_NOT_FOUND = ErrorCode(
    400,
    "ModelArts.2775",
    "Training job (ID: %s) not found.",
    "Check whether the training job information in the request is valid.",
)
INVALID_JSON_BODY = ErrorCode(400, "ModelArts.2787", "Invalid JSON request body.", "Check the request body.")
INVALID_PARAM = ErrorCode(400, "ModelArts.2788", "Invalid parameter(%s).", "Check the request parameter.")
UNSUPPORTED_SORT_BY = ErrorCode(
    400, "ModelArts.2790", "Unsupported sorting item.", "Check whether the sorting item is valid."
)
UNSUPPORTED_CONDITION_KEY = ErrorCode(
    400, "ModelArts.2807", "Unsupported condition key (%s)", "Check whether the key of search is valid."
)
UNSUPPORTED_CONDITION_OPERATOR = ErrorCode(
    400, "ModelArts.2808", "Unsupported condition operator (%s)", "Check whether the operator of search is valid."
)
UNSUPPORTED_CONDITION_VALUE = ErrorCode(
    400, "ModelArts.2809", "Unsupported condition value (%s)", "Check whether the value of search is valid."
)
WORKSPACE_NOT_FOUND = ErrorCode(400, "ModelArts.0102", "The workspace does not exist.", "Check the current workspace.")
TOO_MANY_REQUESTS = ErrorCode(429, "ModelArts.2799", "services too many requests", "Please try again later")
# The gateway-side checks keep v1's codes and statuses (see app.py), in the v2 body shape; these two
# rows of the table carry their message in the Error Message column.
TOKEN_NO_PROJECT = ErrorCode(
    401,
    "ModelArts.0207",
    "Token must contain project info of current region.",
    "Add project information to the token.",
)
PROJECT_MISMATCH = ErrorCode(
    403,
    "ModelArts.0210",
    "The project id in the request URL does not match the token.",
    "Use the correct project ID to generate a token.",
)

# -- create, terminate, logs (same table) ------------------------------------------------------

DUPLICATE_JOB_NAME = ErrorCode(400, "ModelArts.2751", "Duplicate training job (name %s).", "Change training job name.")
ALGORITHM_NOT_FOUND = ErrorCode(
    400,
    "ModelArts.2755",
    "algorithm not found.",
    "Check whether the training project information in the request is valid.",
)
NOT_READY_TO_FETCH_LOG = ErrorCode(
    204,
    "ModelArts.2776",
    "not ready for fetch log, wait for training to return data",
    "Please try again later.",
)
ENGINE_NOT_FOUND = ErrorCode(
    400, "ModelArts.2780", "AI engine(id:%s) not found.", "Check whether the engine informer in the request is valid."
)
FLAVOR_NOT_FOUND = ErrorCode(
    400, "ModelArts.2781", "Flavor (%s) not found.", "Check whether the flavor in the request is valid."
)
INVALID_OBS_PATH = ErrorCode(400, "ModelArts.2791", "Invalid obs path: %s, reason: %s.", "Check the obs path.")
FLAVOR_OUT_OF_RANGE = ErrorCode(
    400,
    "ModelArts.2793",
    "The number of flavor instances (%s) exceeds the maximum (%s).",
    "Check the flavor.",
)
NOT_ALLOWED_TO_TERMINATE = ErrorCode(
    409, "ModelArts.2796", "The job cannot be terminated.", "Check whether the job status is valid."
)
CUSTOM_IMAGE_NEEDS_COMMAND = ErrorCode(
    400,
    "ModelArts.2806",
    "Custom image jobs command and engine.url cannot be empty.",
    "Check whether the command and engine.url is valid.",
)
UNSUPPORTED_ACTION_TYPE = ErrorCode(
    400, "ModelArts.2812", "Unsupported action type:%s", "Check whether the action type is valid."
)
POOL_NOT_FOUND = ErrorCode(404, "ModelArts.2890", "Pool (%s) does not exist", "Please check whether the pool exists")

# The create body (creating_a_training_job.rst; the SDK's Job, JobMetadata, JobAlgorithm, Spec).
NAME_PATTERN = r"[A-Za-z0-9_-]{1,64}"
DESCRIPTION_MAX = 256
# metadata.annotations: "Advanced configurations of a training job. The options are as follows:"
# (creating_a_training_job.rst Table 3; the SDK's JobMetadata adds hccl_op_retry). A closed list,
# and nothing says other keys are kept: by default the emulator keeps only these (see
# EmulatorConfig.keep_unknown_annotations).
DOCUMENTED_ANNOTATIONS = frozenset(
    {
        "job_template",
        "fault-tolerance/job-retry-num",
        "fault-tolerance/job-unconditional-retry",
        "fault-tolerance/hang-retry",
        "fault-tolerance/hccl_op_retry",
        "jupyter-lab/enable",
        "tensorboard/enable",
        "mindstudio-insight/enable",
    }
)
# The docs give no maximum node count for a public pool; ModelArts.2793 exists for one. This
# emulator's maximum (the same as its control API's).
NODE_COUNT_MAX = 64
ACTION_TERMINATE = "terminate"

# algorithm.environments (creating_a_training_job.rst Table 4; the SDK's JobAlgorithm): "The
# variable name can contain only letters, digits, and underscores, and must start with a letter
# or underscore"; keys up to 8192 characters, values up to 4096, at most 100 pairs.
ENVIRONMENT_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
ENVIRONMENT_KEY_MAX, ENVIRONMENT_VALUE_MAX, ENVIRONMENTS_MAX = 8192, 4096, 100
# algorithm.policies.auto_search (Tables 8-13; the SDK's AutoSearch, RewardAttrs, SearchParams).
REWARD_MODES = ("max", "min")
SEARCH_PARAM_TYPES = ("continuous", "discrete")

# The AOM log page (ShowTrainingJobLogsFromAom): lines 1-500, default 50; order asc|desc, default desc.
LOG_LINES_MIN, LOG_LINES_MAX, LOG_LINES_DEFAULT = 1, 500, 50
LOG_ORDERS = ("asc", "desc")
LOG_ORDER_DEFAULT = "desc"

# The log preview: "newest n MB"; current_size "The maximum size is 5 MB" (the SDK says 5兆).
LOG_PREVIEW_MAX_BYTES = 5 * 1024 * 1024

# Events (ListTrainingJobEvents): limit 1-100, default 50; offset "the start page, minimum 0"
# (SDK); level "[Info Error Warning]"; pattern at most 256 characters; source "[K8S Job Task]"
# (OTC's query table; not in the SDK's request model). No default order is documented: the
# example request asks for desc, which is this emulator's default.
EVENTS_LIMIT_MIN, EVENTS_LIMIT_MAX, EVENTS_LIMIT_DEFAULT = 1, 100, 50
EVENT_LEVELS = ("Info", "Warning", "Error")
EVENT_SOURCES = ("Job", "Task", "K8S")
EVENT_PATTERN_MAX = 256
EVENTS_ORDER_DEFAULT = "desc"

# Auto-search trials: limit and offset (a page number, as the SDK's ShowAutoSearchTrialsRequest
# says) have no documented range or default; the example answers limit 50. This emulator's
# range is 1-100.
TRIALS_LIMIT_MIN, TRIALS_LIMIT_MAX, TRIALS_LIMIT_DEFAULT = 1, 100, 50
