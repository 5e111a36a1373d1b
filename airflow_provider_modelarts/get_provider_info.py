"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Kept free of Airflow imports: Airflow calls it while discovering providers, and the connection
form is built from it without importing the hook.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_modelarts.conn_fields import CONN_FIELDS, CONN_TYPE

PACKAGE = "airflow_provider_modelarts"
INTEGRATION = "Huawei Cloud ModelArts"
DOCS_URL = "https://support.huaweicloud.com/intl/en-us/api-modelarts/modelarts_03_0046.html"


def get_provider_info() -> dict[str, Any]:
    """The provider-info dict, valid against Airflow's ``provider_info.schema.json``."""
    return {
        "package-name": "airflow-provider-modelarts",
        "name": "Huawei Cloud ModelArts",
        "description": "Query Huawei Cloud ModelArts v1 training jobs and wait for them from Airflow "
        "(AK/SK or IAM-token auth, deferrable sensor).",
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
                "python-modules": [f"{PACKAGE}.operators.training_jobs", f"{PACKAGE}.operators.training_jobs_v2"],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.sensors.training_job", f"{PACKAGE}.sensors.training_job_phase"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.triggers.training_job", f"{PACKAGE}.triggers.training_job_phase"],
            }
        ],
        "extra-links": [f"{PACKAGE}.links.ModelArtsConsoleLink"],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": f"{PACKAGE}.hooks.modelarts.ModelArtsHook",
                "hook-name": "Huawei Cloud ModelArts",
                "conn-fields": copy.deepcopy(CONN_FIELDS),
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "port", "schema", "extra"],
                    "relabeling": {
                        "login": "Access Key ID (AK) or user name",
                        "password": "Secret Access Key (SK) or password",
                    },
                    "placeholders": {
                        "login": "AK, e.g. HPUA... (auth aksk) or IAM user name (auth password)",
                        "password": "SK (auth aksk) or the user's password (auth password)",
                    },
                },
            }
        ],
    }
