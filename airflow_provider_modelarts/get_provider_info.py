"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Kept free of Airflow imports: Airflow calls it while discovering providers, and the connection
form is built from it without importing the hook.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_modelarts.connection.fields import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR

PACKAGE = "airflow_provider_modelarts"
INTEGRATION = "Huawei Cloud ModelArts"
DOCS_URL = "https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0046.html"


def get_provider_info() -> dict[str, Any]:
    """The provider-info dict, valid against Airflow's ``provider_info.schema.json``."""
    return {
        "package-name": "airflow-provider-modelarts",
        "name": "Huawei Cloud ModelArts",
        "description": "Run Huawei Cloud ModelArts training jobs from Airflow: submit v2 training jobs and "
        "stream their logs, search and wait for v2 and v1 jobs (AK/SK, IAM-token or temporary-credential auth, "
        "deferrable, durable across retries).",
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": DOCS_URL,
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.hooks.modelarts"]}],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    f"{PACKAGE}.operators.training_jobs",
                    f"{PACKAGE}.operators.training_jobs_v2",
                    f"{PACKAGE}.operators.training_job_create",
                    f"{PACKAGE}.operators.models",
                    f"{PACKAGE}.operators.services",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    f"{PACKAGE}.sensors.training_job",
                    f"{PACKAGE}.sensors.training_job_phase",
                    f"{PACKAGE}.sensors.inference",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    f"{PACKAGE}.triggers.training_job",
                    f"{PACKAGE}.triggers.training_job_phase",
                    f"{PACKAGE}.triggers.inference",
                ],
            }
        ],
        "extra-links": [
            f"{PACKAGE}.links.ModelArtsConsoleLink",
            f"{PACKAGE}.links.ModelArtsModelConsoleLink",
            f"{PACKAGE}.links.ModelArtsServiceConsoleLink",
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": f"{PACKAGE}.hooks.modelarts.ModelArtsHook",
                "hook-name": "Huawei Cloud ModelArts",
                "conn-fields": copy.deepcopy(CONN_FIELDS),
                "ui-field-behaviour": copy.deepcopy(UI_FIELD_BEHAVIOUR),
            }
        ],
    }
