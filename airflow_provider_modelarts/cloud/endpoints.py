"""Default endpoints of the Huawei Cloud services this provider calls, per cloud and region.

The ModelArts endpoint serves every API version; IAM issues the tokens of password auth
(https://support.huaweicloud.com/intl/en-us/api-iam/iam_30_0001.html).

Every Huawei-based cloud names its hosts ``{service}.{region}.{domain}``; the connection's ``cloud``
extra picks the domain (:data:`CLOUDS`), and the ``endpoint`` / ``iam_endpoint`` extras override
what it builds. Which hosts are confirmed and which only follow the pattern:

- ``huaweicloud`` (the default, Huawei Cloud's public regions): ModelArts hosts are **confirmed**
  for the 22 regions of the official SDK's region table (:data:`MODELARTS_REGION_ENDPOINTS`, from
  ``huaweicloudsdkmodelarts`` 3.1.219 ``v1/region/modelarts_region.py``), where one region differs
  from the pattern: ``ap-southeast-1`` is ``modelarts.ap-southeast-1.myhuaweicloud.cn``. Other
  regions follow the pattern ``modelarts.{region}.myhuaweicloud.com``. IAM is
  ``iam.{region}.myhuaweicloud.com``, ``.com`` in every region ap-southeast-1 included (the SDK
  core's ``auth/endpoint.py``: confirmed).
- ``huaweicloud-eu`` (Huawei Cloud Europe, region ``eu-west-101``, domain ``myhuaweicloud.eu``):
  the domain is confirmed by other services' EU pages (``iam.eu-west-101.myhuaweicloud.eu``,
  ``cdm.eu-west-101.myhuaweicloud.eu``); the ModelArts host
  ``modelarts.eu-west-101.myhuaweicloud.eu`` **follows the pattern** (not in the SDK's table).
- ``otc`` (Open Telekom Cloud, e.g. region ``eu-de``, domain ``otc.t-systems.com``): the domain
  is confirmed (``obs.eu-de.otc.t-systems.com``); the ModelArts and IAM hosts
  ``modelarts.{region}.otc.t-systems.com`` and ``iam.{region}.otc.t-systems.com`` **follow the
  pattern**.
- ``hcs`` (Huawei Cloud Stack, on premises): ``{service}.{region}.{cloud_domain}``, the generic
  form its documentation gives ("contact the administrator" for the external domain name); the
  ``cloud_domain`` extra is required. Private CAs are common there: see the ``verify`` extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DEFAULT_ENDPOINT_TEMPLATE = "https://modelarts.{region}.myhuaweicloud.com"
DEFAULT_IAM_ENDPOINT_TEMPLATE = "https://iam.{region}.myhuaweicloud.com"
DEFAULT_CONSOLE_TEMPLATE = "https://console.huaweicloud.com/modelarts/?region={region}"
IAM_TOKENS_PATH = "/v3/auth/tokens"
#: The Content-Type IAM's examples send (token, federation and security-token requests).
IAM_CONTENT_TYPE = "application/json;charset=utf8"
#: The link-local instance metadata service of every ECS, BMS and CCE node (auth_type metadata).
DEFAULT_METADATA_URL = "http://169.254.169.254"

CLOUD_HUAWEICLOUD = "huaweicloud"
CLOUD_HUAWEICLOUD_EU = "huaweicloud-eu"
CLOUD_OTC = "otc"
CLOUD_HCS = "hcs"
CLOUDS = (CLOUD_HUAWEICLOUD, CLOUD_HUAWEICLOUD_EU, CLOUD_OTC, CLOUD_HCS)
DEFAULT_CLOUD = CLOUD_HUAWEICLOUD

# The domain of each cloud's hosts; hcs has none of its own (the connection's cloud_domain).
CLOUD_DOMAINS: Mapping[str, str] = MappingProxyType(
    {
        CLOUD_HUAWEICLOUD: "myhuaweicloud.com",
        CLOUD_HUAWEICLOUD_EU: "myhuaweicloud.eu",
        CLOUD_OTC: "otc.t-systems.com",
    }
)

# The official SDK's ModelArts region table (huaweicloudsdkmodelarts 3.1.219,
# v1/region/modelarts_region.py), copied whole: every host there is confirmed.
MODELARTS_REGION_ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {
        "cn-north-1": "https://modelarts.cn-north-1.myhuaweicloud.com",
        "cn-north-4": "https://modelarts.cn-north-4.myhuaweicloud.com",
        "cn-south-1": "https://modelarts.cn-south-1.myhuaweicloud.com",
        "ap-southeast-1": "https://modelarts.ap-southeast-1.myhuaweicloud.cn",
        "ap-southeast-2": "https://modelarts.ap-southeast-2.myhuaweicloud.com",
        "ap-southeast-3": "https://modelarts.ap-southeast-3.myhuaweicloud.com",
        "cn-east-3": "https://modelarts.cn-east-3.myhuaweicloud.com",
        "cn-east-4": "https://modelarts.cn-east-4.myhuaweicloud.com",
        "la-south-2": "https://modelarts.la-south-2.myhuaweicloud.com",
        "af-south-1": "https://modelarts.af-south-1.myhuaweicloud.com",
        "cn-north-9": "https://modelarts.cn-north-9.myhuaweicloud.com",
        "tr-west-1": "https://modelarts.tr-west-1.myhuaweicloud.com",
        "ap-southeast-4": "https://modelarts.ap-southeast-4.myhuaweicloud.com",
        "me-east-1": "https://modelarts.me-east-1.myhuaweicloud.com",
        "cn-southwest-2": "https://modelarts.cn-southwest-2.myhuaweicloud.com",
        "cn-north-2": "https://modelarts.cn-north-2.myhuaweicloud.com",
        "sa-brazil-1": "https://modelarts.sa-brazil-1.myhuaweicloud.com",
        "la-north-2": "https://modelarts.la-north-2.myhuaweicloud.com",
        "af-north-1": "https://modelarts.af-north-1.myhuaweicloud.com",
        "cn-north-12": "https://modelarts.cn-north-12.myhuaweicloud.com",
        "cn-southwest-3": "https://modelarts.cn-southwest-3.myhuaweicloud.com",
        "cn-north-11": "https://modelarts.cn-north-11.myhuaweicloud.com",
    }
)


def _domain(cloud: str, cloud_domain: str | None) -> str:
    if cloud == CLOUD_HCS:
        if not cloud_domain:
            raise ValueError("cloud 'hcs' needs a cloud_domain")
        return cloud_domain
    try:
        return CLOUD_DOMAINS[cloud]
    except KeyError:
        raise ValueError(f"unknown cloud {cloud!r}; one of {', '.join(CLOUDS)}") from None


def modelarts_endpoint(region: str, cloud: str = DEFAULT_CLOUD, cloud_domain: str | None = None) -> str:
    """The ModelArts endpoint of ``region`` on ``cloud`` (``cloud_domain`` only for ``hcs``).

    Huawei Cloud's public regions come from :data:`MODELARTS_REGION_ENDPOINTS` when listed there
    (``ap-southeast-1`` is ``.myhuaweicloud.cn``), else from the ``.com`` pattern. Arguments are
    expected validated (:func:`~airflow_provider_modelarts.connection.settings.settings_from_connection`
    does it); an unknown cloud or ``hcs`` without a domain raises ``ValueError``.
    """
    if cloud == CLOUD_HUAWEICLOUD and region in MODELARTS_REGION_ENDPOINTS:
        return MODELARTS_REGION_ENDPOINTS[region]
    return f"https://modelarts.{region}.{_domain(cloud, cloud_domain)}"


def iam_endpoint(region: str, cloud: str = DEFAULT_CLOUD, cloud_domain: str | None = None) -> str:
    """The regional IAM endpoint of ``region`` on ``cloud``: ``https://iam.{region}.{domain}``
    (``.com`` on Huawei Cloud in every region, ap-southeast-1 included)."""
    return f"https://iam.{region}.{_domain(cloud, cloud_domain)}"


# Which API reads a task's log (the connection's ``log_api`` field offers these): aom, only the
# per-line AOM endpoint (GET .../training-jobs/{id}/logs/{task}), which Huawei Cloud documents;
# preview, only the log preview (GET .../tasks/{task}/logs/preview, the newest 5 MB), the one Open
# Telekom Cloud and the EU region document; auto, AOM until the gateway answers that it does not
# exist there, then the preview.
LOG_API_AOM = "aom"
LOG_API_PREVIEW = "preview"
LOG_API_AUTO = "auto"
LOG_APIS = (LOG_API_AOM, LOG_API_PREVIEW, LOG_API_AUTO)
DEFAULT_LOG_API = LOG_API_AUTO


# The old-version training job detail page of the ModelArts console.
CONSOLE_JOB_FRAGMENT = "#/trainingJobs/trainingjobDetail?jobId={job_id}"
CONSOLE_VERSION_FRAGMENT = "&versionId={version_id}"
# The training job detail page of a v2 (new-version) job. [UNCERTAIN] The console's routes are not
# documented; this one is the route public clients link to. A console_url holding {job_id}
# overrides it.
CONSOLE_TRAINING_JOB_FRAGMENT = "#/training/detail/{job_id}"


def console_job_url(console_url: str, job_id: int | str, version_id: int | None) -> str:
    """The console URL of a job (and version): a v1 job has an integer id, a v2 job a UUID. A
    ``console_url`` holding ``{job_id}`` is used as the whole template, for consoles whose routes
    differ."""
    if "{job_id}" in console_url:
        template = console_url
    elif isinstance(job_id, str):
        template = console_url + CONSOLE_TRAINING_JOB_FRAGMENT
    else:
        template = console_url + CONSOLE_JOB_FRAGMENT + (CONSOLE_VERSION_FRAGMENT if version_id else "")
    return template.format(job_id=job_id, version_id=version_id if version_id is not None else "")
