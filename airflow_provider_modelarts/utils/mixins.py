"""What every ModelArts operator and sensor shares, declared once: the connection and API-retry
arguments (:class:`ModelArtsTaskMixin`, like Amazon's ``AwsBaseHookMixin``), and the rules for
values Airflow resolves only when a task runs."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from airflow_provider_modelarts.cloud.validation import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    TASK_RETRY_PARAMETERS,
    is_template,
    validate_name,
    validate_region,
    validate_retry_settings,
)
from airflow_provider_modelarts.connection.fields import DEFAULT_CONN_ID
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.version_compat import ResolveMixin

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

_F = TypeVar("_F", bound=Callable[..., Any])


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


def task_instance_key(ti: Any) -> dict[str, Any]:
    """What a trigger needs to ask Airflow for its task's state when it is cancelled (below 3.3)."""
    return {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id, "map_index": ti.map_index}


def clear_number(context: Mapping[str, Any]) -> int:
    """How many times the task's DAG run was cleared (Airflow raises it when a finished run is
    cleared; 0 when the context has no DAG run). With ``max_tries``, which a Clear sets to
    ``try_number + retries`` but leaves alone when the scheduler cannot find the task, it tells a
    Clear from a task retry, which changes neither."""
    value = getattr(context.get("dag_run"), "clear_number", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def own_init(init: _F) -> _F:
    """A copy of ``init`` that an Airflow task class can define as its own ``__init__``.

    Airflow's operator metaclass wraps only an ``__init__`` a class defines itself: that wrapper
    fills arguments from ``default_args`` and tells ``.partial()``/``.expand()`` which keywords
    the class takes. The base task classes take :meth:`ModelArtsTaskMixin.__init__` this way, so
    its keywords are declared once and still behave as the class's own.
    """
    function = cast("types.FunctionType", init)
    copy = types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__, function.__closure__
    )
    copy.__kwdefaults__ = dict(function.__kwdefaults__ or {})
    copy.__annotations__ = dict(function.__annotations__)
    copy.__doc__ = function.__doc__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    return cast("_F", copy)


class ModelArtsTaskMixin:
    """The connection and API-retry arguments of every ModelArts operator and sensor.

    Mixed in before the Airflow base class, by ``_ModelArtsOperator`` (operators/base.py) and
    ``ModelArtsBaseSensor`` (sensors/base.py); a task class documents only its own parameters.
    Bad literal values are refused when the DAG file is parsed; templated ones (``modelarts_conn_id``,
    ``region``, ``project_id``, when the class lists them in ``template_fields``) once rendered.
    The ``modelarts_retry_*`` arguments are not templated. They are prefixed so they do not clash
    with the task's own ``retries``/``retry_delay``/``max_retry_delay``.

    :param modelarts_conn_id: the ModelArts connection id (templated).
    :param region: overrides the connection's region (templated).
    :param project_id: overrides the connection's project (templated).
    :param modelarts_retry_limit: retries of each API call on transient errors (see ``ModelArtsHook``).
    :param modelarts_retry_delay: first backoff delay of those retries, in seconds.
    :param modelarts_retry_max_delay: longest wait between those retries, in seconds.
    """

    modelarts_conn_id: str
    region: str | None
    project_id: str | None
    modelarts_retry_limit: int
    modelarts_retry_delay: float
    modelarts_retry_max_delay: float

    def __init__(
        self,
        *,
        modelarts_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        project_id: str | None = None,
        modelarts_retry_limit: int = DEFAULT_RETRY_LIMIT,
        modelarts_retry_delay: float = DEFAULT_RETRY_DELAY,
        modelarts_retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.set_connection_args(
            modelarts_conn_id,
            region,
            project_id,
            modelarts_retry_limit,
            modelarts_retry_delay,
            modelarts_retry_max_delay,
        )

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

    def trigger_connection_args(self) -> dict[str, Any]:
        """The connection and retry arguments every trigger takes, as this task has them (rendered)."""
        return {
            "modelarts_conn_id": self.modelarts_conn_id,
            "region": self.region,
            "project_id": self.project_id,
            "retry_limit": self.modelarts_retry_limit,
            "retry_delay": self.modelarts_retry_delay,
            "retry_max_delay": self.modelarts_retry_max_delay,
        }

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
