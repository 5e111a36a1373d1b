"""The Airflow names the tests use, from wherever the running Airflow keeps them.

Airflow 3.0 keeps some of them in core (``airflow.exceptions``, ``airflow.serialization``,
``airflow.models.trigger``); the Task SDK has them from 3.1. One place for the fallbacks, so the
same tests run in every environment of the compatibility matrix.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
    TaskDeferred,
)

from airflow_provider_modelarts.version_compat import TaskDeferralTimeout

try:
    from airflow.sdk.exceptions import AirflowRescheduleException
    from airflow.sdk.serde import deserialize, serialize
except ImportError:  # Airflow 3.0
    from airflow.exceptions import AirflowRescheduleException  # type: ignore[no-redef,unused-ignore]
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef,unused-ignore]

try:
    from airflow.serialization.serialized_objects import DagSerialization
except ImportError:  # Airflow 3.0 and 3.1
    from airflow.serialization.serialized_objects import (  # type: ignore[attr-defined,no-redef,unused-ignore]
        SerializedDAG as DagSerialization,
    )

try:
    from airflow.sdk.bases.operator import TriggerFailureReason
except ImportError:  # Airflow 3.0
    from airflow.models.trigger import TriggerFailureReason  # type: ignore[no-redef,unused-ignore]

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "DagSerialization",
    "TaskDeferralTimeout",
    "TaskDeferred",
    "TriggerFailureReason",
    "deserialize",
    "serialize",
]
