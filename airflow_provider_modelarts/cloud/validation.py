"""Validators of user input shared by every API version, and the retry settings.

Each validator names the parameter the user wrote and what is allowed, and raises
:class:`~airflow_provider_modelarts.exceptions.ModelArtsValidationError` before any request is
sent. Nothing here does I/O or knows a particular API version.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from airflow_provider_modelarts.exceptions import ModelArtsValidationError

# The largest Long (ids of the v1 API, and the largest "positive integer" we accept anywhere).
LONG_MAX = 2**63 - 1

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Huawei Cloud's region ids (cn-north-4, eu-west-101, eu-de): a typo such as "north" is caught.
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")
# Any region id that can stand in a host name (modelarts.{region}.{domain}): a lower-case DNS label.
# Huawei Cloud Stack sites name their regions themselves.
_REGION_LABEL_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TEMPLATE_MARKERS = ("{{", "{%")


def is_template(value: object) -> bool:
    """True for a string Airflow has not rendered yet: validate it after rendering instead."""
    return isinstance(value, str) and any(marker in value for marker in _TEMPLATE_MARKERS)


def coerce_int(value: object, parameter: str, minimum: int, maximum: int) -> int:
    """Accept an int or a string of digits (templates and URI connections give strings)."""
    allowed = f"an integer from {minimum} to {maximum}"
    if isinstance(value, bool):
        raise ModelArtsValidationError(parameter, allowed, value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdecimal():
        number = int(value.strip())
    else:
        raise ModelArtsValidationError(parameter, allowed, value)
    if not minimum <= number <= maximum:
        raise ModelArtsValidationError(parameter, allowed, value)
    return number


def validate_optional_positive_int(value: object, parameter: str) -> int | None:
    if value is None:
        return None
    return coerce_int(value, parameter, 1, LONG_MAX)


def validate_name(value: object, parameter: str) -> str:
    """Project and workspace ids: letters, digits, '-' and '_' (they become part of the path)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _NAME_PATTERN.match(value.strip()):
        return value.strip()
    raise ModelArtsValidationError(parameter, "1 to 64 letters, digits, '-' or '_'", value)


def validate_region(value: object, parameter: str = "region", any_label: bool = False) -> str:
    """A region id: Huawei Cloud's form (``cn-north-4``), or with ``any_label`` any lower-case DNS
    label (a Huawei Cloud Stack site's own names; the connection checks its cloud's rule)."""
    pattern = _REGION_LABEL_PATTERN if any_label else _REGION_PATTERN
    if isinstance(value, str) and pattern.fullmatch(value.strip()):
        return value.strip()
    raise ModelArtsValidationError(parameter, "a Huawei Cloud region id such as 'cn-north-4'", value)


def validate_flag(value: object, parameter: str) -> bool:
    """``value`` if it is a bool. Anything else (the string ``"False"``, ``0``) is refused, naming
    ``parameter``: a truthiness test would read ``"False"`` as on."""
    if isinstance(value, bool):
        return value
    raise ModelArtsValidationError(parameter, "True or False", value)


def positive_seconds(value: object, parameter: str) -> float:
    """A finite number of seconds greater than 0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    raise ModelArtsValidationError(parameter, "a number of seconds greater than 0", value)


# ---------------------------------------------------------------------------------------------
# Retries of each API call (the hook's policy; the operators, sensor and trigger pass them on)
# ---------------------------------------------------------------------------------------------

DEFAULT_RETRY_LIMIT = 4
DEFAULT_RETRY_DELAY = 1.0
DEFAULT_RETRY_MAX_DELAY = 60.0
RETRY_LIMIT_RANGE = (0, 20)


class RetryParameterNames(NamedTuple):
    """The names under which the user passed the three retry settings, for error messages."""

    retry_limit: str = "retry_limit"
    retry_delay: str = "retry_delay"
    retry_max_delay: str = "retry_max_delay"


# The hook's own parameter names, and the task arguments of the operators and the sensor (prefixed
# so they do not clash with the task's own ``retries`` and ``retry_delay``).
HOOK_RETRY_PARAMETERS = RetryParameterNames()
TASK_RETRY_PARAMETERS = RetryParameterNames(
    "modelarts_retry_limit", "modelarts_retry_delay", "modelarts_retry_max_delay"
)


def validate_retry_settings(
    retry_limit: object,
    retry_delay: object,
    retry_max_delay: object = DEFAULT_RETRY_MAX_DELAY,
    *,
    names: tuple[str, str, str] = HOOK_RETRY_PARAMETERS,
) -> tuple[int, float, float]:
    """Check the retry knobs shared by the hook, the operators, the sensor and the trigger.

    :param names: the parameter names to report in errors, in the order limit, delay, max delay;
        tasks pass :data:`TASK_RETRY_PARAMETERS` so that ``modelarts_retry_limit=100`` is reported
        as ``modelarts_retry_limit``.
    """
    limit_name, delay_name, max_delay_name = names
    return (
        coerce_int(retry_limit, limit_name, *RETRY_LIMIT_RANGE),
        positive_seconds(retry_delay, delay_name),
        positive_seconds(retry_max_delay, max_delay_name),
    )
