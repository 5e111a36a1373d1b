"""The ModelArts v2 ("new-version") training-job API: what Huawei documents about it, one module
per concern. Nothing here does I/O.

Every training job created since Huawei withdrew old-version training (2023-06-30) is a v2 job:
a UUID id, a string ``status.phase``, and a POST search endpoint.

- :mod:`.paths`: URL paths, the job id that goes in them, the terminate action;
- :mod:`.phases`: :class:`JobPhase`, the phase sets, parsing and checking a phase;
- :mod:`.search`: the search parameters, :class:`SearchFilter`, :class:`JobSearch`;
- :mod:`.create`: the create body's rules (:func:`validate_job_create`) and job names;
- :mod:`.logs`: task names, AOM log pages, :class:`TaskLogCursor`, :func:`read_older_lines`;
- :mod:`.preview`: which log API to use, and the log preview (:class:`TaskLogPreview`);
- :mod:`.rows`: compact forms of a job for XCom and messages (:func:`job_row`, :func:`job_summary`);
- :mod:`.events`: a job's events (:class:`EventQuery`); :mod:`.trials`: auto search trials;
- :mod:`.errors`: the v2 error codes and :data:`ERROR_TABLE`.

This package re-exports every public name of those modules, so ``from
airflow_provider_modelarts.cloud import v2`` then ``v2.job_row(...)`` is the way to use them.

Facts from the Huawei documentation of the v2 training APIs:
querying a training job list, https://support.huaweicloud.com/intl/en-us/api-modelarts/ListTrainingJobs.html ;
querying a job's details, https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowTrainingJobDetails.html ;
terminating a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/StopTrainingJob.html ;
AOM logs, https://support.huaweicloud.com/api-modelarts/ShowTrainingJobLogsFromAom.html ;
creating a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/CreateTrainingJob.html ;
deleting a job, https://support.huaweicloud.com/intl/en-us/api-modelarts/DeleteTrainingJob.html ;
error codes, https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html ;
and the official SDK's models (PyPI ``huaweicloudsdkmodelarts``, ``v1/model/job_searches.py``,
``filter.py``, ``status.py``). The same pages are mirrored in
https://github.com/opentelekomcloud-docs/modelarts (``api-ref/source/training_management/``).

Generic validation lives in :mod:`airflow_provider_modelarts.cloud.validation`, error parsing in
:mod:`airflow_provider_modelarts.cloud.transport`.
"""

from __future__ import annotations

from airflow_provider_modelarts.cloud.endpoints import (  # which API reads a task's log
    DEFAULT_LOG_API,
    LOG_API_AOM,
    LOG_API_AUTO,
    LOG_API_PREVIEW,
    LOG_APIS,
)
from airflow_provider_modelarts.cloud.v2.create import (
    ALGORITHM_WAYS,
    CUSTOM_IMAGE_WAY,
    DEFAULT_JOB_KIND,
    DESCRIPTION_MAX_LENGTH,
    ENGINE_ALLOWED,
    ENGINE_WAYS,
    ENVIRONMENT_KEY_MAX_LENGTH,
    ENVIRONMENT_NAME_PATTERN,
    ENVIRONMENT_VALUE_MAX_LENGTH,
    ENVIRONMENTS_MAX_PAIRS,
    FEDERATED_POOL_JOB_KIND,
    JOB_KINDS,
    JOB_NAME_ALLOWED,
    JOB_NAME_PATTERN,
    ValidatedJob,
    job_name_of,
    validate_job_create,
    validate_job_name,
)
from airflow_provider_modelarts.cloud.v2.errors import (
    DUPLICATE_NAME_CODE,
    ERROR_TABLE,
    LOG_NOT_READY_CODES,
    NOT_ALLOWED_TO_TERMINATE_CODE,
    NOT_FOUND_CODES,
    THROTTLED_CODES,
    TOKEN_EXPIRED_CODES,
    UNSUPPORTED_ACTION_CODE,
)
from airflow_provider_modelarts.cloud.v2.events import (
    DEFAULT_EVENTS_LIMIT,
    EVENT_LEVELS,
    EVENT_PATTERN_MAX_LENGTH,
    EVENT_SOURCES,
    EVENTS_LIMIT_RANGE,
    EventQuery,
    event_rows,
    format_event,
)
from airflow_provider_modelarts.cloud.v2.logs import (
    DEFAULT_LOG_LINES,
    DEFAULT_LOG_ORDER,
    LOG_LINES_RANGE,
    MAX_BACKFILL_PAGES,
    TaskLogCursor,
    TaskLogPage,
    chronological_lines,
    log_query,
    read_older_lines,
    validate_base_line,
    validate_log_lines,
    validate_task_id,
)
from airflow_provider_modelarts.cloud.v2.paths import (
    TERMINATE_ACTION,
    training_job_actions_path,
    training_job_aom_logs_path,
    training_job_autosearch_trials_path,
    training_job_events_path,
    training_job_log_preview_path,
    training_job_path,
    training_job_searches_path,
    training_job_tasks_path,
    training_jobs_path,
    validate_training_job_id,
)
from airflow_provider_modelarts.cloud.v2.phases import (
    FAILURE_PHASES,
    IN_PROGRESS_PHASES,
    PHASE_ORDER,
    STOPPED_PHASES,
    SUCCESS_PHASES,
    TERMINAL_PHASES,
    JobPhase,
    is_terminal_phase,
    parse_phase,
    phase_of,
    phase_sort_key,
    validate_phase,
    validate_phases,
)
from airflow_provider_modelarts.cloud.v2.preview import (
    API_NOT_FOUND_CODES,
    PREVIEW_MAX_BYTES,
    TaskLogPreview,
    is_api_not_found,
    validate_log_api,
)
from airflow_provider_modelarts.cloud.v2.rows import (
    describe_outcome,
    job_row,
    job_summary,
    output_obs_urls,
    task_statuses,
)
from airflow_provider_modelarts.cloud.v2.search import (
    DEFAULT_LIMIT,
    DEFAULT_ORDER,
    DEFAULT_SORT_BY,
    DEFAULT_WORKSPACE_ID,
    FILTER_KEYS,
    FILTER_OPERATORS,
    LIMIT_RANGE,
    NAME_MAX_LENGTH,
    ORDERS,
    JobSearch,
    SearchFilter,
    pages_needed,
    validate_filters,
    validate_limit,
    validate_name_fragment,
    validate_offset,
    validate_order,
    validate_sort_by,
    validate_workspace_id,
)
from airflow_provider_modelarts.cloud.v2.trials import (
    REWARD_COLUMNS,
    REWARD_MODES,
    TRIALS_PAGE_LIMIT,
    auto_search_of,
    best_trial,
    reward_of,
    trial_rows,
)

__all__ = [
    "ValidatedJob",
    "training_jobs_path",
    "training_job_path",
    "training_job_searches_path",
    "training_job_actions_path",
    "training_job_tasks_path",
    "training_job_aom_logs_path",
    "training_job_log_preview_path",
    "TERMINATE_ACTION",
    "training_job_events_path",
    "training_job_autosearch_trials_path",
    "validate_training_job_id",
    "JobPhase",
    "IN_PROGRESS_PHASES",
    "SUCCESS_PHASES",
    "FAILURE_PHASES",
    "STOPPED_PHASES",
    "TERMINAL_PHASES",
    "PHASE_ORDER",
    "parse_phase",
    "is_terminal_phase",
    "phase_sort_key",
    "phase_of",
    "validate_phase",
    "validate_phases",
    "LIMIT_RANGE",
    "DEFAULT_LIMIT",
    "ORDERS",
    "DEFAULT_SORT_BY",
    "DEFAULT_ORDER",
    "FILTER_KEYS",
    "FILTER_OPERATORS",
    "NAME_MAX_LENGTH",
    "DEFAULT_WORKSPACE_ID",
    "validate_limit",
    "validate_offset",
    "validate_order",
    "validate_sort_by",
    "validate_workspace_id",
    "validate_name_fragment",
    "SearchFilter",
    "validate_filters",
    "JobSearch",
    "pages_needed",
    "JOB_KINDS",
    "DEFAULT_JOB_KIND",
    "JOB_NAME_PATTERN",
    "JOB_NAME_ALLOWED",
    "DESCRIPTION_MAX_LENGTH",
    "ENVIRONMENTS_MAX_PAIRS",
    "ENVIRONMENT_KEY_MAX_LENGTH",
    "ENVIRONMENT_VALUE_MAX_LENGTH",
    "ENVIRONMENT_NAME_PATTERN",
    "ALGORITHM_WAYS",
    "CUSTOM_IMAGE_WAY",
    "ENGINE_WAYS",
    "ENGINE_ALLOWED",
    "FEDERATED_POOL_JOB_KIND",
    "validate_job_name",
    "validate_job_create",
    "job_name_of",
    "LOG_LINES_RANGE",
    "DEFAULT_LOG_LINES",
    "DEFAULT_LOG_ORDER",
    "validate_task_id",
    "validate_log_lines",
    "validate_base_line",
    "log_query",
    "TaskLogPage",
    "TaskLogCursor",
    "MAX_BACKFILL_PAGES",
    "chronological_lines",
    "read_older_lines",
    "LOG_API_AOM",
    "LOG_API_PREVIEW",
    "LOG_API_AUTO",
    "LOG_APIS",
    "DEFAULT_LOG_API",
    "PREVIEW_MAX_BYTES",
    "API_NOT_FOUND_CODES",
    "validate_log_api",
    "is_api_not_found",
    "TaskLogPreview",
    "job_row",
    "task_statuses",
    "output_obs_urls",
    "job_summary",
    "describe_outcome",
    "EVENTS_LIMIT_RANGE",
    "DEFAULT_EVENTS_LIMIT",
    "EVENT_LEVELS",
    "EVENT_SOURCES",
    "EVENT_PATTERN_MAX_LENGTH",
    "EventQuery",
    "event_rows",
    "format_event",
    "TRIALS_PAGE_LIMIT",
    "REWARD_COLUMNS",
    "REWARD_MODES",
    "trial_rows",
    "auto_search_of",
    "reward_of",
    "best_trial",
    "TOKEN_EXPIRED_CODES",
    "NOT_FOUND_CODES",
    "THROTTLED_CODES",
    "DUPLICATE_NAME_CODE",
    "NOT_ALLOWED_TO_TERMINATE_CODE",
    "UNSUPPORTED_ACTION_CODE",
    "LOG_NOT_READY_CODES",
    "ERROR_TABLE",
]
