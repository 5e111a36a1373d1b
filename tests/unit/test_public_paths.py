"""The import paths DAG code writes keep working after the move into rooms (issue 18).

Hooks, operators, sensors, triggers, links and the ``api`` facade stay where they were, without a
warning. Modules that sat at the package root before warn once with their new path and hand over
the very same objects. Trigger classpaths are pinned here too: a deferred task's serialized
trigger carries its classpath, so moving a trigger class would break tasks deferred before an
upgrade.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from unittest import mock

import pytest

from airflow_provider_modelarts.utils.moved import MovedModuleWarning

# Public classes at the paths the README and the example DAGs use: no warning.
STABLE_PATHS = [
    ("airflow_provider_modelarts.hooks.modelarts", "ModelArtsHook"),
    ("airflow_provider_modelarts.operators.training_jobs", "ModelArtsListTrainingJobsOperator"),
    ("airflow_provider_modelarts.operators.training_jobs", "ModelArtsListJobVersionsOperator"),
    ("airflow_provider_modelarts.operators.training_jobs_v2", "ModelArtsSearchTrainingJobsOperator"),
    ("airflow_provider_modelarts.operators.training_job_create", "ModelArtsCreateTrainingJobOperator"),
    ("airflow_provider_modelarts.sensors.training_job", "ModelArtsTrainingJobSensor"),
    ("airflow_provider_modelarts.sensors.training_job_phase", "ModelArtsTrainingJobPhaseSensor"),
    ("airflow_provider_modelarts.triggers.training_job", "ModelArtsTrainingJobTrigger"),
    ("airflow_provider_modelarts.triggers.training_job_phase", "ModelArtsTrainingJobPhaseTrigger"),
    ("airflow_provider_modelarts.triggers.job_events", "ModelArtsTrainingJobEventTrigger"),
    ("airflow_provider_modelarts.links", "ModelArtsConsoleLink"),
    ("airflow_provider_modelarts.utils.assets", "obs_asset"),
    ("airflow_provider_modelarts.api", "JobStatus"),
    ("airflow_provider_modelarts.exceptions", "ModelArtsError"),
]

# Old root module -> (new module, a name DAG code or the README reads from it).
MOVED = {
    "auth": ("cloud.auth", "AkSkAuth"),
    "conn_fields": ("connection.fields", "CONN_FIELDS"),
    "connection_form": ("connection.form", "connection_form_widgets"),
    "endpoints": ("cloud.endpoints", "modelarts_endpoint"),
    "job_logs": ("waiting.logs", "JobLogFollower"),
    "job_submission": ("utils.submission", "plan_submission"),
    "job_wait": ("waiting.conditions", "PhaseWaitCondition"),
    "lineage": ("utils.lineage", "training_job_lineage"),
    "naming": ("utils.naming", "job_name_template"),
    "outage": ("waiting.outage", "Outage"),
    "phase_check": ("waiting.check", "check_phase"),
    "polling": ("waiting.poller", "SharedStatusPoller"),
    "polling_v2": ("waiting.poller_v2", "v2_source_for"),
    "retry_policy": ("cloud.retry", "may_retry"),
    "transport": ("cloud.transport", "redact"),
    "v1": ("cloud.v1", "JobStatus"),
    "v2": ("cloud.v2", "JobPhase"),
    "validation": ("cloud.validation", "validate_retry_settings"),
}


@pytest.mark.parametrize(("module", "name"), STABLE_PATHS)
def test_public_paths_import_without_a_warning(module: str, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert getattr(importlib.import_module(module), name).__name__ == name


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_root_module_warns_and_hands_over_the_same_object(old: str) -> None:
    new, name = MOVED[old]
    expected = getattr(importlib.import_module(f"airflow_provider_modelarts.{new}"), name)
    old_module = importlib.import_module(f"airflow_provider_modelarts.{old}")
    with pytest.warns(
        MovedModuleWarning, match=rf"airflow_provider_modelarts\.{old} moved to airflow_provider_modelarts\.{new}"
    ):
        assert getattr(old_module, name) is expected


def test_a_module_split_in_two_finds_each_name_where_it_went() -> None:
    from airflow_provider_modelarts.waiting import poller, poller_v1

    old_module = importlib.import_module("airflow_provider_modelarts.polling")
    with pytest.warns(MovedModuleWarning, match=r"waiting\.poller:"):
        assert old_module.SharedStatusPoller is poller.SharedStatusPoller
    with pytest.warns(MovedModuleWarning, match=r"waiting\.poller_v1:"):
        assert old_module.RoundPlanner is poller_v1.RoundPlanner


def test_patching_through_an_old_path_patches_the_module_the_code_uses() -> None:
    from airflow_provider_modelarts.cloud import v2
    from airflow_provider_modelarts.waiting import poller

    real = v2.job_summary
    with pytest.warns(MovedModuleWarning), mock.patch("airflow_provider_modelarts.v2.job_summary") as patched:
        assert v2.job_summary is patched
    assert v2.job_summary is real
    spacing = poller.MIN_ROUND_SPACING
    with pytest.MonkeyPatch.context() as monkeypatch, pytest.warns(MovedModuleWarning):
        monkeypatch.setattr("airflow_provider_modelarts.polling.MIN_ROUND_SPACING", 0.05)
        assert poller.MIN_ROUND_SPACING == 0.05
    assert spacing == poller.MIN_ROUND_SPACING


def test_a_star_import_from_an_old_path_brings_the_public_names() -> None:
    namespace: dict[str, object] = {}
    with pytest.warns(MovedModuleWarning):
        exec("from airflow_provider_modelarts.v2 import *", namespace)
    from airflow_provider_modelarts.cloud import v2

    assert namespace["JobPhase"] is v2.JobPhase and namespace["job_row"] is v2.job_row


def test_the_old_v2_path_still_offers_what_v2_imported() -> None:
    from airflow_provider_modelarts.cloud.validation import coerce_int
    from airflow_provider_modelarts.exceptions import ModelArtsValidationError

    with pytest.warns(MovedModuleWarning, match=r"cloud\.validation"):
        from airflow_provider_modelarts.v2 import coerce_int as old_coerce_int
    with pytest.warns(MovedModuleWarning, match=r"exceptions"):
        from airflow_provider_modelarts.v2 import ModelArtsValidationError as old_error
    assert old_coerce_int is coerce_int and old_error is ModelArtsValidationError


def test_the_old_emulator_path_forwards_to_the_emulator_distribution() -> None:
    import modelarts_emulator

    with pytest.warns(MovedModuleWarning, match="moved to modelarts_emulator"):
        from airflow_provider_modelarts.emulator import airflow_connection
    assert airflow_connection is modelarts_emulator.airflow_connection


def test_the_old_emulator_path_says_what_to_install_when_the_emulator_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "modelarts_emulator", None)  # an install without the emulator
    with pytest.raises(ModuleNotFoundError, match=r"moved to modelarts_emulator \(pip install ./emulator"):
        from airflow_provider_modelarts.emulator import airflow_connection  # noqa: F401


def test_from_import_of_a_moved_module_works() -> None:
    with pytest.warns(MovedModuleWarning, match="utils.naming"):
        from airflow_provider_modelarts.naming import job_name_template
    assert job_name_template("nightly").startswith("nightly-")


def test_the_old_connection_module_forwards_to_connection_settings() -> None:
    from airflow_provider_modelarts.connection import settings

    with pytest.warns(MovedModuleWarning, match=r"connection\.settings"):
        from airflow_provider_modelarts.connection import settings_from_connection
    assert settings_from_connection is settings.settings_from_connection


def test_a_name_the_new_module_lacks_is_an_attribute_error() -> None:
    old_module = importlib.import_module("airflow_provider_modelarts.transport")
    with pytest.raises(AttributeError):
        old_module.no_such_name  # noqa: B018


@pytest.mark.parametrize(
    "classpath",
    [
        "airflow_provider_modelarts.triggers.training_job.ModelArtsTrainingJobTrigger",
        "airflow_provider_modelarts.triggers.training_job_phase.ModelArtsTrainingJobPhaseTrigger",
    ],
)
def test_trigger_classpaths_are_where_serialized_triggers_point(classpath: str) -> None:
    module, _, name = classpath.rpartition(".")
    trigger_class = getattr(importlib.import_module(module), name)
    assert f"{trigger_class.__module__}.{trigger_class.__qualname__}" == classpath
