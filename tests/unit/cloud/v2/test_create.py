"""cloud/v2/create.py: the create body's documented rules, the reference examples verbatim, and
job names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from tests.unit.hooks.fakes import _DELETE, _create_body, _scripted_hook, _with


def test_a_valid_body_comes_back_normalised_without_changing_the_input() -> None:
    body = _create_body()
    del body["kind"]
    body["spec"]["resource"]["node_count"] = "2"
    before = json.loads(json.dumps(body))
    normalised = v2.validate_job_create(body)
    assert body == before
    assert normalised["kind"] == "job"
    assert normalised["spec"]["resource"]["node_count"] == 2
    assert normalised["metadata"] is not body["metadata"]
    assert normalised["algorithm"]["inputs"][0] is not body["algorithm"]["inputs"][0]
    normalised["algorithm"]["inputs"][0]["name"] = "changed"
    assert body["algorithm"]["inputs"][0]["name"] == "data_url"


@pytest.mark.parametrize(
    "algorithm",
    [
        {"id": "2e5451fe-913f-4492-821a-2981031382f7"},
        {"subscription_id": "sub-1", "item_version_id": "ver-1"},
        {
            "code_dir": "obs://b/c/",
            "boot_file": "obs://b/c/t.py",
            "engine": {"engine_name": "PyTorch", "engine_version": "1.8", "image_url": "swr/x:1"},
        },
        {"code_dir": "obs://b/c/", "boot_file": "obs://b/c/t.py", "engine": {"engine_id": "pytorch-cp36"}},
    ],
)
def test_each_documented_way_to_name_the_algorithm_and_engine_is_accepted(algorithm: dict[str, Any]) -> None:
    assert v2.validate_job_create(_with("algorithm", algorithm))["algorithm"] == algorithm


def test_a_dedicated_pool_without_flavor_is_accepted() -> None:
    assert v2.validate_job_create(_with("spec.resource", {"pool_id": "pool-1"}))["spec"]["resource"] == {
        "pool_id": "pool-1"
    }


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ([("kind", "job")], "job"),
        (None, "job"),
        (_with("kind", "notebook"), "job.kind"),
        (_with("metadata", _DELETE), "job.metadata"),
        (_with("metadata", "train"), "job.metadata"),
        (_with("metadata.name", _DELETE), "job.metadata.name"),
        (_with("metadata.name", ""), "job.metadata.name"),
        (_with("metadata.name", "a" * 65), "job.metadata.name"),
        (_with("metadata.name", "train resnet"), "job.metadata.name"),
        (_with("metadata.name", "train.resnet"), "job.metadata.name"),
        (_with("metadata.name", "训练"), "job.metadata.name"),
        (_with("metadata.name", 12), "job.metadata.name"),
        (_with("metadata.workspace_id", "ws"), "job.metadata.workspace_id"),
        (_with("metadata.description", "d" * 257), "job.metadata.description"),
        (_with("metadata.annotations", {"a": 1}), "job.metadata.annotations"),
        (_with("algorithm", _DELETE), "job.algorithm"),
        (_with("algorithm", {"command": "python t.py"}), "job.algorithm.engine.image_url"),
        (_with("algorithm", {"parameters": []}), "job.algorithm"),
        (_with("algorithm.id", "algo-1"), "job.algorithm"),
        (_with("algorithm", {"id": "a", "subscription_id": "s", "item_version_id": "v"}), "job.algorithm"),
        (_with("algorithm.boot_file", _DELETE), "job.algorithm.boot_file"),
        (_with("algorithm", {"subscription_id": "s"}), "job.algorithm.item_version_id"),
        (_with("algorithm.code_dir", ""), "job.algorithm.code_dir"),
        (_with("algorithm.engine", "pytorch"), "job.algorithm.engine"),
        (_with("algorithm.engine", {"engine_id": "e", "image_url": "i"}), "job.algorithm.engine"),
        (_with("algorithm.engine", {"engine_name": "PyTorch"}), "job.algorithm.engine.engine_version"),
        (_with("algorithm.engine", {"image_url": ""}), "job.algorithm.engine.image_url"),
        (_with("algorithm.inputs", {"name": "data_url"}), "job.algorithm.inputs"),
        (_with("algorithm.inputs.0", "obs://bucket/data/"), "job.algorithm.inputs[0]"),
        (_with("algorithm.inputs.0.name", _DELETE), "job.algorithm.inputs[0].name"),
        (_with("algorithm.inputs.1.remote", _DELETE), "job.algorithm.inputs[1].remote"),
        (_with("algorithm.inputs.1.remote", {}), "job.algorithm.inputs[1].remote"),
        (_with("algorithm.inputs.0.remote.obs", {"url": "obs://b/"}), "job.algorithm.inputs[0].remote.obs.obs_url"),
        (_with("algorithm.inputs.1.remote.dataset", {"version_id": "v"}), "job.algorithm.inputs[1].remote.dataset.id"),
        (
            _with("algorithm.inputs.0.remote", {"obs": {"obs_url": "obs://b/"}, "dataset": {"id": "d"}}),
            "job.algorithm.inputs[0].remote",
        ),
        (_with("algorithm.outputs.0.remote.obs.obs_url", ""), "job.algorithm.outputs[0].remote.obs.obs_url"),
        (_with("algorithm.outputs.0.name", ""), "job.algorithm.outputs[0].name"),
        (_with("algorithm.environments", [{"EPOCHS": "3"}]), "job.algorithm.environments"),
        (_with("algorithm.environments", {"EPOCHS": 3}), "job.algorithm.environments"),
        (_with("algorithm.environments", {f"K{n}": "v" for n in range(101)}), "job.algorithm.environments"),
        (_with("algorithm.environments", {"K": "v" * 4097}), "job.algorithm.environments"),
        (_with("spec", _DELETE), "job.spec"),
        (_with("spec.resource", _DELETE), "job.spec.resource"),
        (_with("spec.resource", {"node_count": 1}), "job.spec.resource"),
        (_with("spec.resource.flavor_id", ""), "job.spec.resource.flavor_id"),
        (_with("spec.resource.node_count", 0), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", -1), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", 1.5), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", True), "job.spec.resource.node_count"),
        (_with("spec.resource.node_count", "two"), "job.spec.resource.node_count"),
    ],
)
def test_each_create_rule_names_the_path_the_user_wrote(body: object, parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(body)
    assert error.value.parameter == parameter
    assert error.value.allowed


def test_the_parameter_prefix_is_the_callers() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("metadata.name", "bad name"), parameter="training_job")
    assert error.value.parameter == "training_job.metadata.name"
    assert "1 to 64" in error.value.allowed


def test_the_algorithm_error_lists_the_four_ways() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm", {"parameters": []}))
    assert error.value.allowed == (
        "exactly one of: id | subscription_id + item_version_id | code_dir + boot_file | engine.image_url + "
        "command (a custom image; code_dir optional, no boot_file)"
    )


@pytest.mark.parametrize("name", ["resnet\n", "resnet ", "", "x" * 65])
def test_a_job_name_with_a_trailing_newline_or_out_of_bounds_is_refused(name: str) -> None:
    with pytest.raises(ModelArtsValidationError, match="name"):
        v2.validate_job_name(name)


# CreateTrainingJob, "Example Requests" (opentelekomcloud-docs/modelarts, api-ref/source/
# training_management/creating_a_training_job.rst), verbatim: an algorithm id with free specs...
REFERENCE_ALGORITHM_ID_EXAMPLE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "TestModelArtsJob", "description": "This is a ModelArts job"},
    "algorithm": {
        "id": "3f5d6706-7b67-408d-8ba0-ec08048c45ed",
        "parameters": [
            {"name": "input_dir", "value": "obs://test/moxingtest-dir/"},
            {"name": "input_file", "value": "obs://test/moxingtest/"},
            {"name": "large_file_method", "value": "1"},
        ],
        "policies": {"auto_search": None},
        "environments": {},
    },
    "spec": {
        "resource": {"flavor_id": "modelarts.p3.large.public.free", "node_count": 1},
        "log_export_path": {"obs_url": ""},
    },
}


# ...and a custom image on a dedicated pool with an NFS volume: no id, no code_dir, no boot_file.
REFERENCE_CUSTOM_IMAGE_EXAMPLE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "TestModelArtsJob2", "description": "This is a ModelArts job2"},
    "algorithm": {
        "engine": {"image_url": "xxxxxxxx/fastseq:1.2"},
        "command": "cd /home/ma-user/ddp_demo && sh run_ddp.sh",
        "parameters": [],
        "policies": {"auto_search": None},
        "environments": {"NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "0"},
    },
    "spec": {
        "resource": {"flavor_id": "modelarts.pool.visual.xlarge", "node_count": 1, "pool_id": "poolfaf38d76"},
        "log_export_path": {"obs_url": "/training-test/limou/ddp-demo-log/"},
        "volumes": [
            {"nfs": {"nfs_server_path": "192.168.0.82:/", "local_path": "/home/ma-user/nfs/", "read_only": False}}
        ],
    },
}


# A preset framework with a custom image (JobEngine: "If you use a preset framework and custom image
# to create a training job, you must set both this parameter and image_url").
REFERENCE_PRESET_FRAMEWORK_EXAMPLE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "preset-framework-custom-image"},
    "algorithm": {
        "code_dir": "/bucket/code/",
        "boot_file": "/bucket/code/train.py",
        "engine": {
            "engine_name": "PyTorch",
            "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
            "image_url": "swr.cn-north-4.myhuaweicloud.com/team/pytorch-extra:1.0",
            "install_sys_packages": True,
        },
        "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": "/bucket/data/"}}}],
        "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "/bucket/output/"}}}],
    },
    "spec": {"resource": {"flavor_id": "modelarts.p3.large.public", "node_count": 1}},
}


@pytest.mark.parametrize(
    "example",
    [REFERENCE_ALGORITHM_ID_EXAMPLE, REFERENCE_CUSTOM_IMAGE_EXAMPLE, REFERENCE_PRESET_FRAMEWORK_EXAMPLE],
    ids=["algorithm-id", "custom-image", "preset-framework-custom-image"],
)
def test_the_reference_create_examples_pass_verbatim(example: dict[str, Any]) -> None:
    assert v2.validate_job_create(example) == example


@pytest.mark.parametrize(
    "algorithm",
    [
        {"engine": {"image_url": "swr/x:1"}, "command": "python /code/t.py"},
        {"engine": {"image_url": "swr/x:1"}, "command": "sh run.sh", "code_dir": "obs://b/c/"},
        {"engine": {"engine_name": "PyTorch", "engine_version": "1.8", "image_url": "swr/x:1"}, "command": "sh r.sh"},
        {"code_dir": "obs://b/c/", "boot_file": "obs://b/c/t.py", "engine": {"image_url": "swr/x:1"}, "command": "c"},
        {
            "code_dir": "obs://b/c/",
            "boot_file": "obs://b/c/t.py",
            "engine": {"engine_name": "P", "engine_version": "1"},
        },
        {"id": "algo-1", "engine": {"engine_name": "P", "engine_version": "1", "image_url": "swr/x:1"}},
    ],
    ids=["image-command", "image-command-code-dir", "preset-image-command", "code-image", "code-preset", "id-engine"],
)
def test_a_custom_image_and_a_preset_framework_with_an_image_are_accepted(algorithm: dict[str, Any]) -> None:
    assert v2.validate_job_create(_with("algorithm", algorithm))["algorithm"] == algorithm


@pytest.mark.parametrize(
    ("algorithm", "parameter"),
    [
        ({"engine": {"image_url": "swr/x:1"}}, "job.algorithm.command"),
        ({"engine": {"image_url": "swr/x:1"}, "code_dir": "obs://b/c/"}, "job.algorithm.command"),
        ({"engine": {"image_url": "swr/x:1"}, "command": ""}, "job.algorithm.command"),
        (
            {"engine": {"image_url": "swr/x:1"}, "code_dir": "obs://b/c/", "boot_file": "obs://b/c/t.py"},
            "job.algorithm.command",
        ),
        ({"environments": {"LR\n": "0.1"}, "id": "a"}, "job.algorithm.environments.LR\n"),
        ({"command": "sh run.sh", "code_dir": "obs://b/c/"}, "job.algorithm.engine.image_url"),
        (
            {"command": "sh run.sh", "engine": {"engine_name": "P", "engine_version": "1"}},
            "job.algorithm.engine.image_url",
        ),
        ({"engine": {"image_url": "swr/x:1"}, "command": "sh r.sh", "id": "a", "code_dir": "c"}, "job.algorithm"),
        ({"id": "a", "subscription_id": "s", "item_version_id": "v", "command": "sh r.sh"}, "job.algorithm"),
        ({"code_dir": "obs://b/c/", "engine": {"engine_name": "P", "engine_version": "1"}}, "job.algorithm.boot_file"),
        ({"id": "a", "engine": {"engine_id": "e", "engine_name": "P", "engine_version": "1"}}, "job.algorithm.engine"),
        ({"id": "a", "engine": {"engine_id": "e", "image_url": "swr/x:1"}}, "job.algorithm.engine"),
        ({"id": "a", "engine": {"engine_name": "P", "image_url": "swr/x:1"}}, "job.algorithm.engine.engine_version"),
        ({"id": "a", "engine": {"engine_version": "1"}}, "job.algorithm.engine.engine_name"),
    ],
)
def test_each_algorithm_or_engine_refusal_names_the_path_and_the_allowed_forms(
    algorithm: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm", algorithm))
    assert error.value.parameter == parameter
    assert error.value.allowed


def test_an_image_without_a_command_is_refused_before_any_request_naming_2806(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook, api = _scripted_hook(monkeypatch)
    body = json.loads(json.dumps(REFERENCE_CUSTOM_IMAGE_EXAMPLE))
    del body["algorithm"]["command"]
    with pytest.raises(ModelArtsValidationError) as error:
        hook.create_training_job(body)
    assert error.value.parameter == "job.algorithm.command"
    assert "engine.image_url and command" in error.value.allowed
    assert "ModelArts.2806" in error.value.allowed
    assert api.calls == []


def test_the_engine_refusal_lists_every_allowed_form() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm.engine", {"engine_id": "e", "engine_name": "P", "engine_version": "1"}))
    assert "engine_name + engine_version + image_url" in error.value.allowed
    assert "engine_id alone" in error.value.allowed


def test_auto_search_policies_pass_through_untouched() -> None:
    policies = {
        "auto_search": {
            "skip_search_params": "",
            "reward_attrs": [{"name": "acc", "mode": "max", "regex": "acc=([0-9.]+)"}],
            "search_params": [
                {"name": "lr", "param_type": "continuous", "lower_bound": "0.0001", "upper_bound": "0.1"},
                {"name": "bs", "param_type": "discrete", "discrete_values": ["16", "32"]},
            ],
            "algo_configs": [{"name": "bayes_opt_search", "params": [{"key": "num_samples", "value": "10"}]}],
        }
    }
    body = _with("algorithm.policies", policies)
    assert v2.validate_job_create(body)["algorithm"]["policies"] == policies


@pytest.mark.parametrize(
    ("path", "value", "parameter"),
    [
        (
            "algorithm.outputs.0.remote",
            {"dataset": {"id": "d", "version_id": "v"}},
            "job.algorithm.outputs[0].remote.dataset",
        ),
        (
            "algorithm.outputs.0.remote",
            {"obs": {"obs_url": "obs://b/"}, "dataset": {"id": "d", "version_id": "v"}},
            "job.algorithm.outputs[0].remote.dataset",
        ),
        ("algorithm.outputs.0.remote", {}, "job.algorithm.outputs[0].remote"),
        ("algorithm.outputs.0.remote.obs", {}, "job.algorithm.outputs[0].remote.obs.obs_url"),
        ("algorithm.inputs.1.remote.dataset", {"id": "ds-1"}, "job.algorithm.inputs[1].remote.dataset.version_id"),
        (
            "algorithm.inputs.1.remote.dataset",
            {"id": "ds-1", "version_id": ""},
            "job.algorithm.inputs[1].remote.dataset.version_id",
        ),
    ],
)
def test_outputs_go_to_obs_only_and_a_dataset_input_needs_its_version(path: str, value: object, parameter: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with(path, value))
    assert error.value.parameter == parameter
    assert "obs" in error.value.allowed or "version" in error.value.allowed


def test_an_output_refusal_says_outputs_go_to_obs_only() -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm.outputs.0.remote", {"dataset": {"id": "d", "version_id": "v"}}))
    assert "obs_url" in error.value.allowed


@pytest.mark.parametrize("name", ["1BAD", "BAD-NAME", "A B", "A$B", "É", ""])
def test_an_environment_name_must_be_letters_digits_and_underscores(name: str) -> None:
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(_with("algorithm.environments", {"OK": "1", name: "v"}))
    assert error.value.parameter == (f"job.algorithm.environments.{name}" if name else "job.algorithm.environments")
    assert "letters, digits and underscores" in error.value.allowed


def test_a_dollar_in_an_environment_value_warns_and_passes(caplog: pytest.LogCaptureFixture) -> None:
    environments = {"_PATH2": "$HOME/bin", "a1": "x", "NO_DOLLAR": "plain"}
    with caplog.at_level("WARNING", logger="airflow_provider_modelarts.cloud.v2"):
        body = v2.validate_job_create(_with("algorithm.environments", environments))
    assert body["algorithm"]["environments"] == environments
    warnings = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_modelarts.cloud.v2.create"]
    assert len(warnings) == 1
    assert "job.algorithm.environments._PATH2" in warnings[0] and "$" in warnings[0]


def test_a_federated_pool_job_names_its_pool_group() -> None:
    body = _with("kind", "federated_pool_job")
    body["spec"]["resource"] = {"pool_group_id": "group-1", "node_count": 2}
    assert v2.validate_job_create(body)["spec"]["resource"] == {"pool_group_id": "group-1", "node_count": 2}
    body["spec"]["resource"] = {"pool_group_id": "group-1", "flavor_id": "modelarts.pool.visual.xlarge"}
    assert v2.validate_job_create(body)["spec"]["resource"]["pool_group_id"] == "group-1"


@pytest.mark.parametrize(
    ("kind", "resource", "parameter"),
    [
        ("federated_pool_job", {"flavor_id": "f"}, "job.spec.resource.pool_group_id"),
        ("federated_pool_job", {"pool_group_id": ""}, "job.spec.resource.pool_group_id"),
        ("job", {"pool_group_id": "group-1"}, "job.spec.resource"),
    ],
)
def test_pool_group_id_is_the_federated_pool_jobs_resource(kind: str, resource: dict[str, Any], parameter: str) -> None:
    body = _with("kind", kind)
    body["spec"]["resource"] = resource
    with pytest.raises(ModelArtsValidationError) as error:
        v2.validate_job_create(body)
    assert error.value.parameter == parameter
    assert "pool_group_id" in error.value.allowed


def test_a_preset_framework_with_a_custom_image_may_run_its_boot_file_without_a_command() -> None:
    """[UNCERTAIN] 2806 is for custom-image jobs; a preset framework (engine_name + engine_version)
    with a custom image starts its boot file through the framework."""
    algorithm = {
        "code_dir": "obs://b/c/",
        "boot_file": "obs://b/c/train.py",
        "engine": {
            "engine_name": "PyTorch",
            "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7",
            "image_url": "swr/x:1",
        },
    }
    v2.validate_job_create(_with("algorithm", algorithm))
