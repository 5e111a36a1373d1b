"""The ModelArts connection's fields, declared once.

``CONN_FIELDS`` is the single source of truth: ``get_provider_info`` publishes it as the connection
form's ``conn-fields`` and ``connection.settings_from_connection`` reads exactly these keys. This
module imports nothing from Airflow, because Airflow imports it while discovering providers.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_modelarts.cloud.endpoints import (
    CLOUDS,
    DEFAULT_CLOUD,
    DEFAULT_LOG_API,
    DEFAULT_METADATA_URL,
    LOG_APIS,
)

CONN_TYPE = "modelarts"
DEFAULT_CONN_ID = "modelarts_default"
AUTH_AKSK = "aksk"
AUTH_PASSWORD = "password"
AUTH_METADATA = "metadata"
AUTH_IDP = "idp"
AUTH_DEFAULT_CHAIN = "default_chain"
AUTH_TYPES = (AUTH_AKSK, AUTH_PASSWORD, AUTH_METADATA, AUTH_IDP, AUTH_DEFAULT_CHAIN)
#: The types that obtain temporary credentials on their own: no login or password, and an optional
#: project_id (looked up once from IAM by region).
TEMPORARY_AUTH_TYPES = (AUTH_METADATA, AUTH_IDP, AUTH_DEFAULT_CHAIN)
DEFAULT_TIMEOUT_SECONDS = 30.0

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "region": {
        "label": "Region",
        "description": "Region id, e.g. cn-north-4. Console: the region selector at the top left, or "
        "My Credentials > API Credentials, which lists each region with its project.",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "project_id": {
        "label": "Project ID",
        "description": "The project of that region. Console: My Credentials > API Credentials > "
        "Projects (32 hexadecimal characters). May be left empty with auth_type metadata, idp or "
        "default_chain: it is then looked up once from IAM by region.",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "auth_type": {
        "label": "Authentication",
        "description": "aksk: Login is the Access Key ID and Password the Secret Access Key (Console: "
        "My Credentials > Access Keys). password: Login is the IAM user name (or the account name) "
        "and Password its password; an IAM token is obtained and cached. metadata: temporary AK/SK "
        "from the agency of the ECS, BMS or CCE node Airflow runs on. idp: a Kubernetes "
        "service-account token exchanged at IAM (set idp_id and id_token_file). default_chain: the "
        "SDK's order, HUAWEICLOUD_SDK_* environment variables, then ~/.huaweicloud/credentials, then "
        "the metadata service. Leave Login and Password empty for the last three.",
        "schema": {"type": "string", "default": AUTH_AKSK, "enum": list(AUTH_TYPES)},
    },
    "domain_name": {
        "label": "Account name (domain)",
        "description": "Only for auth_type password when logging in as an IAM user: the name of the "
        "account that owns the user (Console: My Credentials > Account Name). Leave empty when the "
        "login is the account itself.",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "security_token": {
        "label": "Security token",
        "description": "Only for temporary AK/SK credentials (obtained from IAM's "
        "securitytokens API): the securitytoken value, sent as X-Security-Token and signed.",
        "schema": {"type": ["string", "null"], "default": None, "format": "password"},
    },
    "metadata_url": {
        "label": "Metadata service URL",
        "description": "Only for auth_type metadata and default_chain: the instance metadata service. "
        "Leave empty for " + DEFAULT_METADATA_URL + " (what every ECS, BMS and CCE node has).",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "idp_id": {
        "label": "Identity provider ID (idp)",
        "description": "Only for auth_type idp: the identity provider's name in IAM (Console: IAM > "
        "Identity Providers), sent as X-Idp-Id.",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "id_token_file": {
        "label": "ID token file (idp)",
        "description": "Only for auth_type idp: the path of the projected service-account token on the "
        "workers, e.g. /var/run/secrets/tokens/oidc-token. Read again at each refresh (kubelet rotates it).",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "cloud": {
        "label": "Cloud",
        "description": "Which Huawei-based cloud, for the default endpoints: huaweicloud (default; "
        "modelarts.<region>.myhuaweicloud.com, .cn in ap-southeast-1), huaweicloud-eu "
        "(*.<region>.myhuaweicloud.eu), otc (Open Telekom Cloud, *.<region>.otc.t-systems.com) or hcs "
        "(Huawei Cloud Stack: *.<region>.<cloud_domain>). 'endpoint' and 'iam_endpoint' override it.",
        "schema": {"type": "string", "default": DEFAULT_CLOUD, "enum": list(CLOUDS)},
    },
    "cloud_domain": {
        "label": "Cloud domain (hcs)",
        "description": "Only for cloud hcs, where it is required: the external domain name of the "
        "Huawei Cloud Stack, e.g. example.com for modelarts.<region>.example.com (ask its administrator).",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "endpoint": {
        "label": "ModelArts endpoint",
        "description": "Leave empty for the cloud's endpoint of the region (see Cloud). Set it for a "
        "private endpoint, a host the cloud preset does not build, or the local emulator (e.g. "
        "http://127.0.0.1:8089). A connection defined as a URI or JSON may give host, port and schema instead.",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "iam_endpoint": {
        "label": "IAM endpoint",
        "description": "For auth_type password and idp, and for looking up an empty project_id. Leave "
        "empty for the cloud's https://iam.<region>.<domain> (https://iam.<region>.myhuaweicloud.com on "
        "Huawei Cloud).",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "log_api": {
        "label": "Log API",
        "description": "How task logs are read. aom: only the per-line AOM endpoint (Huawei Cloud). "
        "preview: only the log preview endpoint (the newest 5 MB; what Open Telekom Cloud and the EU "
        "region document). auto (default): AOM, falling back to the preview when the service answers "
        "that the AOM API does not exist.",
        "schema": {"type": "string", "default": DEFAULT_LOG_API, "enum": list(LOG_APIS)},
    },
    "workspace_id": {
        "label": "Workspace ID",
        "description": "Default workspace for job queries. Console: ModelArts > Workspace. Empty means "
        "the default workspace (0).",
        "schema": {"type": ["string", "null"], "default": None},
    },
    "verify": {
        "label": "Verify TLS",
        "description": "true (default), false, or the path of a CA bundle file on the Airflow workers.",
        "schema": {"type": ["string", "null"], "default": "true"},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Timeout of each HTTP request. Default 30.",
        "schema": {"type": ["number", "null"], "default": DEFAULT_TIMEOUT_SECONDS, "exclusiveMinimum": 0},
    },
    "console_url": {
        "label": "Console URL",
        "description": "Base URL of the ModelArts console used by the 'ModelArts Console' task link. "
        "Leave empty for https://console.huaweicloud.com/modelarts/?region=<region>; set it for "
        "another Huawei cloud (the placeholder {region} is filled in).",
        "schema": {"type": ["string", "null"], "default": None},
    },
}

# How the standard fields show in the form (``ui-field-behaviour`` in the provider info; the
# 3.0/3.1 hook methods read it in snake_case through connection/form.py).
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "port", "schema", "extra"],
    "relabeling": {
        "login": "Access Key ID (AK) or user name",
        "password": "Secret Access Key (SK) or password",
    },
    "placeholders": {
        "login": "AK (auth aksk) or IAM user name (auth password); empty otherwise",
        "password": "SK (auth aksk) or the user's password (auth password); empty otherwise",
    },
}
