"""A local emulator of the ModelArts training-job, model and service APIs and IAM tokens, for tests and demos.

It serves real HTTP(S) on one port: ``/v1/{project_id}/training-jobs...``, the v2
``POST /v2/{project_id}/training-job-searches``, ``GET`` and ``DELETE
/v2/{project_id}/training-jobs/{id}``, ``POST /v2/{project_id}/training-jobs`` (create),
``POST .../{id}/actions`` (terminate), ``GET .../{id}/tasks`` and ``GET .../{id}/logs/{task}``;
the v1 models (``POST``/``GET /v1/{project_id}/models``, ``GET``/``DELETE .../models/{id}`` with
``cascade``, ``GET .../models/ai-engine-runtimes``) and services (``POST``/``GET
/v1/{project_id}/services``, ``GET``/``PUT``/``DELETE .../services/{id}``, ``GET
.../services/{id}/events``; real-time and batch) and the invocation of a running real-time
service (``POST /v1/infers/{service_id}[/...]``), all with AK/SK or token auth verified as the API
gateway does; ``/v3/auth/tokens`` (IAM password login), temporary credentials (the ECS metadata
service's ``/meta-data/latest/api/token`` and ``/openstack/latest/securitykey``, IAM federation's
``/v3.0/OS-AUTH/id-token/tokens``, ``/v3.0/OS-CREDENTIAL/securitytokens`` and ``/v3/projects``;
see :mod:`.credentials`) and unauthenticated ``/_emulator/...``
control endpoints for loopback clients. Job statuses (v1), phases (v2), model and service
statuses move along timelines (plans choose them), and faults (throttling, 5xx, dropped
connections, bad bodies) can be injected; the gateway's clock can be skewed (signature expiry),
and the stats keep every signature and token seen on the wire.

Run it standalone with ``modelarts-emulator --help`` (or ``python -m modelarts_emulator --help``);
:mod:`.process` runs it as a child process and steers it through the control API.

The package has one level per API, as moto does: :mod:`.v1` and :mod:`.v2` each hold the API's
reading of the docs (``spec``), its job model (``models``), the seeded project (``catalog``) and
the endpoint handlers (``responses``, plus the v2 ``create``, ``lifecycle``, ``logs``, ``events``
and ``autosearch``); :mod:`.models` and :mod:`.services` do the same for the v1 model and
service APIs (``spec``, ``state``, ``responses``; services also ``validate``, ``invoke``, ``api``
and ``control``). What they share stays at the top: the HTTP server and routing (``server``,
``app``, ``control``), the gateway's authentication (``gateway``, ``signing``, ``iam``), fault
injection, statistics, TLS, error bodies and the defaults (``config``).

The emulator is its own distribution (``modelarts-emulator``). It reads the documented API on its
own (:mod:`.v1.spec`, :mod:`.v2.spec`, :mod:`.signing`) and imports nothing from
``airflow_provider_modelarts``, so a misreading of the docs on either side makes a test fail instead
of being shared. Nor does it import Airflow: it runs with the standard library (plus
``cryptography`` for TLS).

``ModelArtsEmulator`` is imported lazily, so that reading the defaults below does not load the
HTTP server; the command line also routes stdout away before it starts the server.
"""

from typing import TYPE_CHECKING, Any

from modelarts_emulator.config import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_AK_LOCK_SECONDS,
    DEFAULT_DOMAIN_NAME,
    DEFAULT_HOST,
    DEFAULT_IAM_USER_NAME,
    DEFAULT_IAM_USER_PASSWORD,
    DEFAULT_IDP_ID,
    DEFAULT_JOB_COUNT,
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_PROJECT_ID,
    DEFAULT_QUOTAS,
    DEFAULT_REGION,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_SEED,
    DEFAULT_SPEED,
    DEFAULT_TEMP_ACCESS_KEY,
    DEFAULT_TEMP_SECRET_KEY,
    DEFAULT_TOKEN_TTL_SECONDS,
    DEFAULT_USER_NAME,
    DEFAULT_V2_JOB_COUNT,
    DEFAULT_WORKSPACE_ID,
    RESEARCH_WORKSPACE_ID,
    EmulatorConfig,
    airflow_connection,
)
from modelarts_emulator.faults import FAULT_KINDS
from modelarts_emulator.federation import make_id_token
from modelarts_emulator.v2.catalog import DEMO_TRAINING_JOBS, RESEARCH_WORKSPACE_ID_V2

if TYPE_CHECKING:
    from modelarts_emulator.server import ModelArtsEmulator


def __getattr__(name: str) -> Any:
    if name == "ModelArtsEmulator":
        from modelarts_emulator.server import ModelArtsEmulator

        return ModelArtsEmulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_AK_LOCK_SECONDS",
    "DEFAULT_DOMAIN_NAME",
    "DEFAULT_HOST",
    "DEFAULT_IAM_USER_NAME",
    "DEFAULT_IAM_USER_PASSWORD",
    "DEFAULT_IDP_ID",
    "DEFAULT_JOB_COUNT",
    "DEFAULT_V2_JOB_COUNT",
    "DEMO_TRAINING_JOBS",
    "DEFAULT_PASSWORD",
    "DEFAULT_PORT",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_QUOTAS",
    "DEFAULT_REGION",
    "DEFAULT_SECRET_KEY",
    "DEFAULT_SECURITY_TOKEN",
    "DEFAULT_SEED",
    "DEFAULT_SPEED",
    "DEFAULT_TEMP_ACCESS_KEY",
    "DEFAULT_TEMP_SECRET_KEY",
    "DEFAULT_TOKEN_TTL_SECONDS",
    "DEFAULT_USER_NAME",
    "DEFAULT_WORKSPACE_ID",
    "FAULT_KINDS",
    "RESEARCH_WORKSPACE_ID",
    "RESEARCH_WORKSPACE_ID_V2",
    "EmulatorConfig",
    "ModelArtsEmulator",
    "airflow_connection",
    "make_id_token",
]
