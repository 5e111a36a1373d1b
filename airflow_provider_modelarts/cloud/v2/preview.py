"""Which API reads a task's log (the connection's ``log_api``), and the other one: the log
preview (``GET .../tasks/{task_id}/logs/preview``, the newest 5 MB, :class:`TaskLogPreview`),
with how to tell that a cloud does not serve an endpoint at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_modelarts.cloud.endpoints import (  # which API reads a task's log, per cloud
    LOG_APIS,
)
from airflow_provider_modelarts.cloud.v2.logs import _split_lines
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

# "The maximum size is 5 MB" (ShowTrainingJobLogsPreview, current_size).
PREVIEW_MAX_BYTES = 5 * 1024 * 1024
# The gateway's "API not found / not published" (HTTP 404): an endpoint this cloud does not serve.
API_NOT_FOUND_CODES = frozenset({"APIGW.0101", "APIG.0101"})


def validate_log_api(value: object, parameter: str = "log_api") -> str:
    """``aom``, ``preview`` or ``auto`` (any case)."""
    if isinstance(value, str) and value.strip().lower() in LOG_APIS:
        return value.strip().lower()
    raise ModelArtsValidationError(parameter, "one of " + ", ".join(LOG_APIS), value)


def is_api_not_found(http_status: int, error_code: str | None) -> bool:
    """Whether an error answer says the endpoint itself does not exist (the gateway's 404
    ``APIGW.0101``), as opposed to a missing job or task (a ModelArts code)."""
    return http_status == 404 and (error_code or "") in API_NOT_FOUND_CODES


def _size(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    return value if isinstance(value, int) and value >= 0 else None


@dataclass(frozen=True)
class TaskLogPreview:
    """A task's log preview (``GET .../training-jobs/{id}/tasks/{task_id}/logs/preview``,
    https://support.huaweicloud.com/intl/en-us/api-modelarts/ShowTrainingJobLogsPreview.html):
    the whole log while it is at most 5 MB, else its newest 5 MB.

    :param content: the text (the field was ``context`` before 2022-03-01; both are read).
    :param current_size: the bytes returned, as the API gives it (``None`` if missing).
    :param full_size: the bytes of the whole log (``None`` if missing): the content is its last
        ``current_size`` bytes.
    """

    content: str
    current_size: int | None
    full_size: int | None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TaskLogPreview:
        content = body.get("content")
        if not isinstance(content, str):
            content = body.get("context")
        return cls(
            content=content if isinstance(content, str) else "",
            current_size=_size(body.get("current_size")),
            full_size=_size(body.get("full_size")),
        )

    def lines(self) -> list[str]:
        """The lines, without their line ends (see :meth:`TaskLogPage.lines`)."""
        return _split_lines(self.content)
