"""The ModelArts v1 training-job API as its public documentation describes it, read for the server.

This module is the emulator's own reading of Huawei's documentation. It deliberately shares
nothing with the provider's client code: if either side misreads the docs, the two readings
differ and a test against the emulator fails, instead of both sides agreeing on the same mistake.

Sources (Huawei Cloud help center, "Historical APIs > Training Management (Old Version)"):

* list jobs: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0046.html
  and the old ModelArts SDK's ``Estimator.get_job_list``:
  https://support.huaweicloud.com/intl/en-us/sdkreference-modelarts/modelarts_04_0160.html
* list versions: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0049.html
* version detail: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0047.html
* job statuses: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0074.html
  and https://support.huaweicloud.com/intl/en-us/sdkreference-modelarts/modelarts_04_0077.html
* error codes: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0095.html
* IAM tokens: https://support.huaweicloud.com/intl/en-us/api-iam/iam_30_0001.html
"""

from __future__ import annotations

from enum import IntEnum

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------

# IAM "Obtaining a User Token Through Password Authentication" (iam_30_0001).
IAM_TOKENS_PATH = "/v3/auth/tokens"
# The three read endpoints of the v1 training API, on the decoded path. A trailing slash is
# tolerated, as the gateway matches paths that way.
LIST_JOBS_PATTERN = r"^/v1/([^/]+)/training-jobs/?$"
LIST_VERSIONS_PATTERN = r"^/v1/([^/]+)/training-jobs/([^/]+)/versions/?$"
GET_VERSION_PATTERN = r"^/v1/([^/]+)/training-jobs/([^/]+)/versions/([^/]+)/?$"

# ---------------------------------------------------------------------------------------------
# Job statuses (modelarts_03_0074; code 22 is in the SDK's table modelarts_04_0077 only)
# ---------------------------------------------------------------------------------------------


class Status(IntEnum):
    """The ``status`` integers of a training job version; names without the ``JOBSTAT_`` prefix."""

    UNKNOWN = 0
    INIT = 1
    IMAGE_CREATING = 2
    IMAGE_FAILED = 3
    SUBMIT_TRYING = 4
    SUBMIT_FAILED = 5
    DELETE_FAILED = 6
    WAITING = 7
    RUNNING = 8
    KILLING = 9
    COMPLETED = 10
    FAILED = 11
    KILLED = 12
    CANCELED = 13
    LOST = 14
    SCALING = 15
    SUBMIT_MODEL_FAILED = 16
    DEPLOY_SERVICE_FAILED = 17
    CHECK_INIT = 18
    CHECK_RUNNING = 19
    CHECK_RUNNING_COMPLETED = 20
    CHECK_FAILED = 21
    MOUNT_FAILED = 22


STATUS_CODES = frozenset(int(status) for status in Status)

# Statuses after which nothing more happens to a version, so its ``duration`` stops growing.
# The docs give meanings, not a lifecycle; this is the server's reading of those meanings: a
# status ends the version when it says the work completed ("completed", "review finished"),
# failed ("... failed", "lost") or was stopped ("canceled successfully", "canceled"). Codes that
# describe work in progress (initializing, building, submitting, queued, running, being
# canceled, scaling, under review) and "unknown" do not.
TERMINAL_STATUSES = frozenset(
    {
        Status.IMAGE_FAILED,
        Status.SUBMIT_FAILED,
        Status.DELETE_FAILED,
        Status.COMPLETED,
        Status.FAILED,
        Status.KILLED,
        Status.CANCELED,
        Status.LOST,
        Status.SUBMIT_MODEL_FAILED,
        Status.DEPLOY_SERVICE_FAILED,
        Status.CHECK_RUNNING_COMPLETED,
        Status.CHECK_FAILED,
        Status.MOUNT_FAILED,
    }
)


def is_terminal(status: int) -> bool:
    return status in TERMINAL_STATUSES


# ---------------------------------------------------------------------------------------------
# Query parameters of list jobs (modelarts_03_0046; the SDK doc modelarts_04_0160 where noted)
# ---------------------------------------------------------------------------------------------

PER_PAGE_MIN, PER_PAGE_MAX, PER_PAGE_DEFAULT = 1, 1000, 10
# REST: "page" ranges over [1, 65535], default 1.
PAGE_MIN, PAGE_MAX, PAGE_DEFAULT = 1, 65535, 1
# REST: "asc" by default. (The SDK doc says "desc"; the REST page describes the server.)
ORDERS = ("asc", "desc")
ORDER_DEFAULT = "asc"
# REST: a string of length [0, 64]. (The SDK doc says 100; the REST page describes the server.)
SEARCH_CONTENT_MAX = 64
WORKSPACE_DEFAULT = "0"

# Sort keys. REST lists version_count, the SDK doc lists engine_type in its place; both are
# descriptions of the same server at different times, so it accepts the union.
SORT_KEY_DEFAULT = "job_name"
SORT_KEYS = ("job_name", "job_desc", "status", "duration", "version_count", "create_time", "engine_type")
# The SDK doc: "When AK/SK-based authentication is used, the parameter name is sortBy. When
# account-based authentication is used, the parameter name is sort_by." REST knows only sortBy,
# and REST requests are AK/SK-signed. Temporary AK/SK is AK/SK authentication too.
SORT_PARAM_AKSK = "sortBy"
SORT_PARAM_TOKEN = "sort_by"

# ---------------------------------------------------------------------------------------------
# Query parameters of list versions (modelarts_03_0049)
# ---------------------------------------------------------------------------------------------

# "page" defaults to 0, which means no paging: every version is returned. per_page as above.
VERSIONS_PAGE_DEFAULT = 0

# ---------------------------------------------------------------------------------------------
# Error codes (modelarts_03_0095)
# ---------------------------------------------------------------------------------------------

CODE_BAD_PARAMETER = "ModelArts.0101"  # HTTP 400
CODE_NO_WORKSPACE = "ModelArts.0102"  # HTTP 400, "workspace does not exist"
CODE_TOKEN_NO_PROJECT = "ModelArts.0207"  # HTTP 401
CODE_PROJECT_MISMATCH = "ModelArts.0210"  # HTTP 403
CODE_INTERNAL = "ModelArts.0010"  # HTTP 500
# TrainingJobNotFound, "Training job (ID: %s) not found". The table pairs it with HTTP 400, not 404.
CODE_JOB_NOT_FOUND = "ModelArts.2775"
HTTP_JOB_NOT_FOUND = 400
