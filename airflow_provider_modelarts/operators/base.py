"""The connection and API-retry arguments every ModelArts task takes, and the rules every task
shares for values Airflow resolves at run time and for what goes into XCom, in one place."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from airflow.sdk.definitions._internal.mixins import ResolveMixin

from airflow_provider_modelarts.cloud.validation import (
    DEFAULT_RETRY_MAX_DELAY,
    TASK_RETRY_PARAMETERS,
    is_template,
    validate_name,
    validate_region,
    validate_retry_settings,
)
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

#: ``xcom_fields`` as validated: ``None`` for the task's default compact fields, ``"all"`` for the
#: API objects unchanged, or the field names to keep.
XComFields = tuple[str, ...] | Literal["all"] | None

#: Above this size a value is still pushed, but the log says how to narrow it: large XComs slow
#: the metadata database and every task that pulls them.
XCOM_SIZE_WARNING_BYTES = 1024 * 1024


class _WarningLog(Protocol):
    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def resolved_at_runtime(value: object) -> bool:
    """True for a value Airflow only knows when the task runs: a Jinja string, an ``XComArg``
    (a TaskFlow output), a ``MappedArgument``, or anything else Airflow resolves (``ResolveMixin``).

    Such values are validated in ``execute``, once resolved and before any request; refusing them
    when the DAG file is parsed would break the whole file.
    """
    return is_template(value) or isinstance(value, ResolveMixin)


def known_at_parse_time(value: object) -> object:
    """``value`` when it is a literal; ``None`` (skip the check for now) when resolved at run time."""
    return None if resolved_at_runtime(value) else value


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

    A warning, not an error: which fields the API returns varies with the job (optional fields are
    left out) and may grow, so a list known when the DAG is parsed would refuse good names.
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


def clear_number(context: Mapping[str, Any]) -> int:
    """How many times the task's DAG run was cleared (Airflow raises it when a finished run is
    cleared; 0 when the context has no DAG run). With ``max_tries``, which a Clear sets to
    ``try_number + retries`` but leaves alone when the scheduler cannot find the task, it tells a
    Clear from a task retry, which changes neither."""
    value = getattr(context.get("dag_run"), "clear_number", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ModelArtsTaskMixin:
    """Mixed into the ModelArts operators and the sensor, before the Airflow base class.

    ``modelarts_retry_limit`` / ``modelarts_retry_delay`` / ``modelarts_retry_max_delay`` configure
    the hook's retries of each API call; they are prefixed so they do not clash with the task's own
    ``retries``/``retry_delay``/``max_retry_delay``.
    """

    modelarts_conn_id: str
    region: str | None
    project_id: str | None
    modelarts_retry_limit: int
    modelarts_retry_delay: float
    modelarts_retry_max_delay: float

    def require_literal(self, value: object, parameter: str) -> None:
        """Refuse, naming ``parameter``, a value Airflow resolves at run time for an argument that
        is not templated: Airflow would hand the task the unresolved object or string."""
        if not resolved_at_runtime(value):
            return
        templated = ", ".join(getattr(self, "template_fields", ()))
        raise ModelArtsValidationError(
            parameter,
            f"a literal value written in the DAG file; {parameter} is not templated, so a Jinja string, a "
            f"TaskFlow output (XComArg) or a mapped argument is never resolved for it. The templated "
            f"arguments of {type(self).__name__} are: {templated}",
            value,
        )

    def set_connection_args(
        self,
        modelarts_conn_id: str,
        region: str | None,
        project_id: str | None,
        modelarts_retry_limit: int,
        modelarts_retry_delay: float,
        modelarts_retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY,
    ) -> None:
        """Store the arguments, refusing bad literal ones now (DAG parse time)."""
        retry_values = (modelarts_retry_limit, modelarts_retry_delay, modelarts_retry_max_delay)
        for parameter, value in zip(TASK_RETRY_PARAMETERS, retry_values, strict=True):
            self.require_literal(value, parameter)
        self.modelarts_conn_id = modelarts_conn_id
        self.region = region
        self.project_id = project_id
        self.modelarts_retry_limit, self.modelarts_retry_delay, self.modelarts_retry_max_delay = (
            validate_retry_settings(
                modelarts_retry_limit, modelarts_retry_delay, modelarts_retry_max_delay, names=TASK_RETRY_PARAMETERS
            )
        )
        if region is not None and not resolved_at_runtime(region):
            validate_region(region, any_label=True)  # the connection applies its cloud's rule
        if project_id is not None and not resolved_at_runtime(project_id):
            validate_name(project_id, "project_id")

    def hook(self, workspace_id: str | None = None) -> ModelArtsHook:
        """A hook for the (rendered) connection arguments; it does no I/O until used."""
        # Imported here: DAG files import the operators, and requests and the signer are only
        # needed once a task runs.
        from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

        return ModelArtsHook(
            self.modelarts_conn_id,
            region=self.region,
            project_id=self.project_id,
            workspace_id=workspace_id,
            retry_limit=self.modelarts_retry_limit,
            retry_delay=self.modelarts_retry_delay,
            retry_max_delay=self.modelarts_retry_max_delay,
            retry_parameter_names=TASK_RETRY_PARAMETERS,
        )
