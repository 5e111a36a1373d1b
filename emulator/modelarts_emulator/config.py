"""Configuration of the emulator and its distinctive demo defaults.

The defaults are deliberately recognisable (``EMU...`` access keys, an ``emulator-account``
domain) so that nobody mistakes them for real credentials and so that log lines showing them are
obviously from a local run. They grant access to nothing but this emulator.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 0
DEFAULT_JOB_COUNT = 120
# v2 training jobs (UUID ids, string phases), served beside the v1 ones.
DEFAULT_V2_JOB_COUNT = 120
DEFAULT_SPEED = 1.0
DEFAULT_SEED = 7
DEFAULT_REGION = "cn-north-4"
# 32 lowercase hex characters, like a real Huawei Cloud project id.
DEFAULT_PROJECT_ID = "e0a1b2c3d4e5f60718293a4b5c6d7e8f"

# Permanent AK/SK: a real AK is 20 upper-case alphanumerics, a real SK 40 characters.
DEFAULT_ACCESS_KEY = "EMUAKMODELARTS000001"
DEFAULT_SECRET_KEY = "EmulatorSecretKey0000DoNotUseInProduct01"
# Temporary (STS) credentials: only valid together with the security token.
DEFAULT_TEMP_ACCESS_KEY = "EMUTEMPAKMODELARTS01"
DEFAULT_TEMP_SECRET_KEY = "EmulatorTempSecretKey000DoNotUseInProd01"
DEFAULT_SECURITY_TOKEN = "gQpjbi1ub3J0aC00EMULATOR-SECURITY-TOKEN-0001"

# Account ("domain") login: user name and domain name are both the account name.
DEFAULT_DOMAIN_NAME = "emulator-account"
DEFAULT_USER_NAME = DEFAULT_DOMAIN_NAME
DEFAULT_PASSWORD = "Emulator-Account-Pa55!"
# An IAM user of that account.
DEFAULT_IAM_USER_NAME = "emulator-iam-user"
DEFAULT_IAM_USER_PASSWORD = "Emulator-IamUser-Pa55!"

# The identity provider (IAM federation, X-Idp-Id) the emulator knows: recognisably not a real one.
DEFAULT_IDP_ID = "emulator-idp"

DEFAULT_TOKEN_TTL_SECONDS = 86400.0  # IAM tokens are valid for 24 hours (api-iam/iam_30_0001)
DEFAULT_AK_LOCK_SECONDS = 300.0  # APIGW locks an AK for 5 minutes (apig_faq/apig-faq-0003)
DEFAULT_QUOTAS = 20000

# Workspaces that exist in the emulated project ("0" is the default workspace).
DEFAULT_WORKSPACE_ID = "0"
RESEARCH_WORKSPACE_ID = "ws-research"

MAX_JOB_COUNT = 100_000
# The log preview's documented cap: "the latest log content in n MB", current_size "at most 5 MB".
DEFAULT_LOG_PREVIEW_MAX_BYTES = 5 * 1024 * 1024
_PROJECT_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that shapes one emulator instance. Every field has a default.

    ``speed`` multiplies real elapsed time into emulated time for job timelines (20 makes a
    60-second job finish in 3 real seconds). What the API reports stays on the wall clock: a
    job's ``start_time`` and ``duration`` are both real (that job reports 3,000 ms), so
    ``start_time + duration`` is when it ended, as on the cloud. With ``manual_clock`` the job
    timelines stand still except for ``advance_time`` (real seconds, multiplied by ``speed`` too).
    Token lifetime and AK lock time are real seconds.
    ``repr`` hides the secrets so the config can be logged.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    job_count: int = DEFAULT_JOB_COUNT
    v2_job_count: int = DEFAULT_V2_JOB_COUNT
    speed: float = DEFAULT_SPEED
    tls: bool = False
    seed: int = DEFAULT_SEED
    access_key: str = DEFAULT_ACCESS_KEY
    secret_key: str = field(default=DEFAULT_SECRET_KEY, repr=False)
    temp_access_key: str = DEFAULT_TEMP_ACCESS_KEY
    temp_secret_key: str = field(default=DEFAULT_TEMP_SECRET_KEY, repr=False)
    security_token: str = field(default=DEFAULT_SECURITY_TOKEN, repr=False)
    domain_name: str = DEFAULT_DOMAIN_NAME
    user_name: str = DEFAULT_USER_NAME
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    iam_user_name: str = DEFAULT_IAM_USER_NAME
    iam_user_password: str = field(default=DEFAULT_IAM_USER_PASSWORD, repr=False)
    project_id: str = DEFAULT_PROJECT_ID
    region: str = DEFAULT_REGION
    token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS
    ak_lock_seconds: float = DEFAULT_AK_LOCK_SECONDS
    quotas: int = DEFAULT_QUOTAS
    # Job timelines move only when advance_time() says so: tests see exact phases and durations.
    manual_clock: bool = False
    # The docs list metadata.annotations as a closed set of options and do not say the service keeps
    # other keys: by default a created job keeps only the documented ones; True keeps every key.
    keep_unknown_annotations: bool = False
    # Whether the gateway publishes the AOM log API GET /v2/{p}/training-jobs/{id}/logs/{task_id}.
    # Huawei Cloud CN and intl document it; Open Telekom Cloud and the EU site do not (only the
    # preview and the OBS link): with False that path answers 404 APIGW.0101 "The API does not
    # exist or has not been published in the environment." (CLI: --no-aom-logs).
    aom_logs: bool = True
    # The log preview returns the newest n MB of a log; n is 5 MB (ShowTrainingJobLogsPreview). A
    # smaller cap (bytes) lets a test see the tail of a small log.
    log_preview_max_bytes: int = DEFAULT_LOG_PREVIEW_MAX_BYTES
    # Temporary credentials (modelarts_emulator.credentials): the ECS metadata service's instance
    # has an agency attached (False: GET /openstack/latest/securitykey answers 401 "Please configure
    # Cloud Service Agency first"); it supports session tokens (False: PUT
    # /meta-data/latest/api/token answers 404 and securitykey needs no X-Metadata-Token).
    metadata_agency: bool = True
    metadata_session_token: bool = True
    # Lifetime (s) of every issued temporary AK/SK/security token; None: the documented defaults
    # (metadata 24 h, securitytokens the requested duration_seconds).
    temporary_credential_seconds: float | None = None
    # The IdP id POST /v3.0/OS-AUTH/id-token/tokens accepts in X-Idp-Id.
    idp_id: str = DEFAULT_IDP_ID
    # v2 training jobs the emulator creates by itself on its clock (modelarts_emulator.v2.schedules):
    # each a spec with its "name", e.g. {"name": "nightly", "every": 30, "count": 3}; CLI --job-schedule.
    job_schedules: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        # Fail at construction, not at the first request, when a value cannot work.
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        if not 0 <= self.job_count <= MAX_JOB_COUNT:
            raise ValueError(f"job_count must be 0-{MAX_JOB_COUNT}, got {self.job_count}")
        if not 0 <= self.v2_job_count <= MAX_JOB_COUNT:
            raise ValueError(f"v2_job_count must be 0-{MAX_JOB_COUNT}, got {self.v2_job_count}")
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ValueError(f"speed must be a positive number, got {self.speed}")
        if not _PROJECT_ID_PATTERN.match(self.project_id):
            raise ValueError("project_id must be 32 lowercase hex characters")
        if self.token_ttl_seconds <= 0 or self.ak_lock_seconds < 0 or self.quotas < 0:
            raise ValueError("token_ttl_seconds must be > 0, ak_lock_seconds and quotas >= 0")
        if not 1 <= self.log_preview_max_bytes <= DEFAULT_LOG_PREVIEW_MAX_BYTES:
            raise ValueError(f"log_preview_max_bytes must be 1 to {DEFAULT_LOG_PREVIEW_MAX_BYTES}")
        seconds = self.temporary_credential_seconds
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"temporary_credential_seconds must be a positive number or None, got {seconds}")
        if not self.idp_id:
            raise ValueError("idp_id must not be empty")
        if self.access_key == self.temp_access_key:
            raise ValueError("access_key and temp_access_key must differ")


def airflow_connection(
    url: str,
    login: str = DEFAULT_ACCESS_KEY,
    password: str = DEFAULT_SECRET_KEY,
    **extra: object,
) -> dict[str, object]:
    """An Airflow connection (the JSON form of ``AIRFLOW_CONN_...``) for an emulator at ``url``.

    Defaults to the emulator's AK/SK; pass ``auth_type="password"`` with a user and password, or
    ``security_token=...`` with the temporary AK/SK, or ``auth_type="metadata", metadata_url=url``
    for a client that reads the ECS metadata service (the emulator serves it at the same base
    URL). Other keyword arguments go into the extra.
    """
    return {
        "conn_type": "modelarts",
        "login": login,
        "password": password,
        "extra": {
            "region": DEFAULT_REGION,
            "project_id": DEFAULT_PROJECT_ID,
            "endpoint": url,
            "iam_endpoint": url,
            **extra,
        },
    }
