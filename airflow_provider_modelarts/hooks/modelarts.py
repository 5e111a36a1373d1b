"""``ModelArtsHook``: every ModelArts endpoint the provider uses, one short method per endpoint.

The endpoints live in one module per API, each a class the hook inherits from:
:class:`~airflow_provider_modelarts.hooks.training.TrainingJobsApi` (v1 and v2 training jobs) and
:class:`~airflow_provider_modelarts.hooks.inference.InferenceApi` (v1 models and services).
Transport, authentication and retries are in
:class:`~airflow_provider_modelarts.hooks.base.ModelArtsBaseHook`; the recovery of a create or
delete whose answer was lost in :mod:`airflow_provider_modelarts.hooks.recovery`
(docs/durable-execution.md). Airflow reads the connection form from this class itself.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_modelarts.cloud import transport
from airflow_provider_modelarts.cloud.v2.create import ValidatedJob as ValidatedJob  # re-exported
from airflow_provider_modelarts.connection import form as connection_form
from airflow_provider_modelarts.connection.settings import AUTH_AKSK
from airflow_provider_modelarts.exceptions import (
    ModelArtsApiError,
    ModelArtsError,
    ModelArtsTransportError,
    join_sentences,
)
from airflow_provider_modelarts.hooks.base import USER_AGENT as USER_AGENT  # re-exported (benchmarks)
from airflow_provider_modelarts.hooks.base import ApiResponse as ApiResponse  # re-exported
from airflow_provider_modelarts.hooks.inference import InferenceApi
from airflow_provider_modelarts.hooks.training import TrainingJobsApi


class ModelArtsHook(TrainingJobsApi, InferenceApi):
    """Interact with Huawei Cloud ModelArts: training jobs (v1 "old-version" jobs with integer ids
    and versions, v2 jobs with UUID ids and phases), models and real-time or batch services.

    Takes the parameters of :class:`~airflow_provider_modelarts.hooks.base.ModelArtsBaseHook`
    (connection id, region, project and workspace overrides, retry settings); constructing it
    does no I/O.

    .. seealso:: https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0046.html
    """

    hook_name = "Huawei Cloud ModelArts"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's extra fields on Airflow 3.0/3.1 (3.2+ reads ``conn-fields`` instead)."""
        return connection_form.connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder standard fields on Airflow 3.0/3.1 (3.2+ reads the provider info)."""
        return connection_form.ui_field_behaviour()

    def test_connection(self) -> tuple[bool, str]:
        """List one training job. Never raises; on failure the message says what to check."""
        try:
            settings = self.settings
            body = self.list_training_jobs(per_page=1, page=1)
        except ModelArtsApiError as error:
            return False, f"ModelArts refused the request: {error}"
        except ModelArtsTransportError as error:
            endpoint = self.settings.endpoint
            return False, join_sentences(
                f"Could not reach ModelArts at {endpoint}: {error}", "Check the region, the endpoint and the network."
            )
        except ModelArtsError as error:
            return False, str(error)
        except Exception as error:
            return False, f"Unexpected error: {type(error).__name__}: {transport.redact(str(error), self._secrets())}"
        if settings.temporary:
            shared = self.temporary_credentials
            current = shared.cache.current_item()
            kind = "temporary credentials" if current is None or current.expires_at else "an AK/SK"
            auth = f"{kind} from {shared.source.description}"
        else:
            auth = "AK/SK" if settings.auth_type == AUTH_AKSK else f"IAM user {settings.login}"
        return True, (
            f"Connected to ModelArts at {settings.endpoint} ({settings.region}) with {auth}: "
            f"project {settings.project_id} has {body.get('job_total_count', 0)} training jobs."
        )
