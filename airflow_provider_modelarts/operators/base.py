"""``_ModelArtsOperator``: the base of the ModelArts operators, with the connection and API-retry
arguments of :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin` (declared and
documented there, once).

The helpers that used to live here moved to :mod:`airflow_provider_modelarts.utils.mixins` and
:mod:`airflow_provider_modelarts.utils.xcom`; they are re-exported for old imports.
"""

from __future__ import annotations

from airflow.sdk import BaseOperator

from airflow_provider_modelarts.utils.mixins import (
    ModelArtsTaskMixin,
    clear_number,
    known_at_parse_time,
    own_init,
    resolved_at_runtime,
)
from airflow_provider_modelarts.utils.xcom import (
    XCOM_SIZE_WARNING_BYTES,
    XComFields,
    select_fields,
    validate_xcom_fields,
    warn_if_large,
    warn_missing_fields,
)

__all__ = [
    "XCOM_SIZE_WARNING_BYTES",
    "ModelArtsTaskMixin",
    "XComFields",
    "clear_number",
    "known_at_parse_time",
    "resolved_at_runtime",
    "select_fields",
    "validate_xcom_fields",
    "warn_if_large",
    "warn_missing_fields",
]


class _ModelArtsOperator(ModelArtsTaskMixin, BaseOperator):
    """The base of the ModelArts operators: the connection and API-retry arguments, stored and
    checked by :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin` (see its
    ``:param:`` list), and :meth:`hook`. A subclass takes its own arguments, passes ``**kwargs``
    on to ``super().__init__`` and documents only its own parameters.
    """

    # The mixin's keywords as this class's own, for Airflow's default_args and .partial() checks.
    __init__ = own_init(ModelArtsTaskMixin.__init__)
