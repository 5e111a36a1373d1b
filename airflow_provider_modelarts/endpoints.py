"""Default endpoints of the Huawei Cloud services this provider calls, per region.

The ModelArts endpoint serves every API version; IAM issues the tokens of password auth
(https://support.huaweicloud.com/intl/en-us/api-iam/iam_30_0001.html).
"""

from __future__ import annotations

DEFAULT_ENDPOINT_TEMPLATE = "https://modelarts.{region}.myhuaweicloud.com"
DEFAULT_IAM_ENDPOINT_TEMPLATE = "https://iam.{region}.myhuaweicloud.com"
DEFAULT_CONSOLE_TEMPLATE = "https://console.huaweicloud.com/modelarts/?region={region}"
IAM_TOKENS_PATH = "/v3/auth/tokens"
