"""What a ModelArts task pushes to XCom: ``xcom_fields`` validated, the fields selected, a warning
for a field no row has, and one for a value too large for the metadata database.

See ``docs/xcom.md`` for the defaults of each task and how to narrow a large value.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

from airflow_provider_modelarts.exceptions import ModelArtsValidationError

#: ``xcom_fields`` as validated: ``None`` for the task's default compact fields, ``"all"`` for the
#: API objects unchanged, or the field names to keep.
XComFields = tuple[str, ...] | Literal["all"] | None

#: Above this size a value is still pushed, but the log says how to narrow it.
XCOM_SIZE_WARNING_BYTES = 1024 * 1024


class _WarningLog(Protocol):
    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def validate_xcom_fields(value: object, parameter: str = "xcom_fields") -> XComFields:
    """``None``, ``"all"``, or a non-empty list of field names."""
    allowed = "None (the default compact fields), 'all' (the full API objects) or a non-empty list of field names"
    if value is None:
        return None
    if isinstance(value, str):
        if value == "all":
            return "all"
        raise ModelArtsValidationError(parameter, allowed, value)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        fields = tuple(value)
        if fields and all(isinstance(name, str) and name for name in fields):
            return fields
    raise ModelArtsValidationError(parameter, allowed, value)


def select_fields(row: Mapping[str, Any], fields: XComFields, default: tuple[str, ...]) -> dict[str, Any]:
    """The fields of ``row`` that ``fields`` asks for (``None``: ``default``); missing ones are left out."""
    if fields == "all":
        return dict(row)
    wanted = default if fields is None else fields
    return {name: row[name] for name in wanted if name in row}


def warn_missing_fields(
    log: _WarningLog, rows: Sequence[Mapping[str, Any]], fields: XComFields, what: str = "a row"
) -> list[str]:
    """Warn about each field ``fields`` asks for that none of ``rows`` has (a misspelling, most
    likely), naming the nearest field they do have; returns those names.

    A warning, not an error: the fields the API returns vary with the job (see ``docs/xcom.md``).
    """
    if not isinstance(fields, tuple) or not rows:
        return []
    known = sorted({name for row in rows for name in row})
    missing = [name for name in fields if name not in known]
    for name in missing:
        nearest = difflib.get_close_matches(name, known, n=1)
        log.warning(
            "xcom_fields asks for %r, which %s, so it is left out of the XCom.%s Fields there: %s",
            name,
            f"{what} does not have" if len(rows) == 1 else f"none of the {len(rows)} rows has",
            f" Did you mean {nearest[0]!r}?" if nearest else "",
            ", ".join(known),
        )
    return missing


def warn_if_large(log: _WarningLog, value: Any, how_to_narrow: str, key: str = "return_value") -> int:
    """Log a warning when ``value`` serialises to more than 1 MiB; returns its size in bytes."""
    size = len(json.dumps(value, default=str).encode())
    if size > XCOM_SIZE_WARNING_BYTES:
        log.warning(
            "The XCom %r is %.1f MiB (%d bytes), over the 1 MiB this provider warns at: large XComs "
            "slow the metadata database and every task that pulls them. To narrow it, %s",
            key,
            size / 1024 / 1024,
            size,
            how_to_narrow,
        )
    return size
