"""The create body (``POST /v2/{project_id}/training-jobs``): the documented rules a body must
meet before it is sent (:func:`validate_job_create`), and the job name rules.

The rules are CreateTrainingJob's and the official SDK's ``Job`` model's; anything they do not
constrain passes through unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from airflow_provider_modelarts.cloud.v2._read import _mapping
from airflow_provider_modelarts.cloud.v2.search import validate_workspace_id
from airflow_provider_modelarts.cloud.validation import LONG_MAX, coerce_int
from airflow_provider_modelarts.exceptions import ModelArtsValidationError

log = logging.getLogger(__name__)

# The job kinds of the SDK's Job model; the create page documents only "job" (the default).
JOB_KINDS = (
    "job",
    "federated_pool_job",
    "edge_job",
    "hetero_job",
    "mrs_job",
    "autosearch_job",
    "diag_job",
    "visualization_job",
)
DEFAULT_JOB_KIND = "job"
# metadata.name: "1 to 64 characters consisting of only digits, letters, underscores (_), and
# hyphens (-)" (CreateTrainingJob, JobMetadata).
JOB_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JOB_NAME_ALLOWED = "1 to 64 characters, each a letter, a digit, '_' or '-'"
DESCRIPTION_MAX_LENGTH = 256
# algorithm.environments in a request: a map of strings, at most 100 pairs, keys up to 8192
# characters and values up to 4096 (SDK JobAlgorithm; responses give a list of maps instead).
# "The variable name can contain only letters, digits, and underscores, and must start with a
# letter or underscore. Note: Variables cannot contain $." (CreateTrainingJob Table 4; the SDK's
# JobAlgorithm says "$ cannot be used to reference variables"): whether the $ rule is about values
# is ambiguous, so a $ in a value is only warned about.
ENVIRONMENTS_MAX_PAIRS = 100
ENVIRONMENT_KEY_MAX_LENGTH = 8192
ENVIRONMENT_VALUE_MAX_LENGTH = 4096
ENVIRONMENT_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The three named ways to give the algorithm, each a set of keys that go together
# (CreateTrainingJob, JobAlgorithm). A fourth way is a custom image: engine.image_url + command
# (code_dir optional, no boot_file; the documented custom-image example names no algorithm at
# all, and the service answers ModelArts.2806 "MustHaveCmdAndImage" when either is missing).
ALGORITHM_WAYS: tuple[tuple[str, ...], ...] = (
    ("id",),
    ("subscription_id", "item_version_id"),
    ("code_dir", "boot_file"),
)
CUSTOM_IMAGE_WAY = ("engine.image_url", "command")
# The engine: engine_id alone, or engine_name + engine_version, or image_url; a preset framework
# with a custom image gives engine_name + engine_version + image_url together ("If you use a preset
# framework and custom image to create a training job, you must set both this parameter and
# image_url", JobEngine). Only engine_id combined with another form is a conflict.
ENGINE_WAYS: tuple[tuple[str, ...], ...] = (("engine_id",), ("engine_name", "engine_version"), ("image_url",))
ENGINE_ALLOWED = (
    "engine_id alone | engine_name + engine_version | image_url | engine_name + engine_version + image_url "
    "(a preset framework with a custom image)"
)
# spec.resource: a public flavor, a dedicated pool, or (kind federated_pool_job, where it is
# required) a pool group (SDK SpecResource).
FEDERATED_POOL_JOB_KIND = "federated_pool_job"


def _ways_text(ways: tuple[tuple[str, ...], ...]) -> str:
    return " | ".join(" + ".join(way) for way in ways)


def validate_job_name(value: object, parameter: str = "name") -> str:
    """A whole training job name: 1-64 letters, digits, ``_`` or ``-`` (not stripped: a space is
    an error the API would report too)."""
    if isinstance(value, str) and JOB_NAME_PATTERN.fullmatch(value):
        return value
    raise ModelArtsValidationError(parameter, JOB_NAME_ALLOWED, value)


def validate_job_create(job: object, parameter: str = "job") -> dict[str, Any]:
    """Check a create body before it is sent, and return a normalised copy (the input is never
    changed): ``kind`` defaults to ``"job"``, ``metadata.workspace_id`` and ``node_count`` given
    as digit strings (a rendered template) become ``"0"``-style strings and ints.

    The rules are the documented ones the service enforces (CreateTrainingJob and the SDK's
    ``Job`` model); each error names the exact path the user wrote, e.g. ``job.metadata.name``,
    ``job.algorithm``, ``job.spec.resource.node_count``, ``job.algorithm.inputs[1].remote``:

    - the body, ``metadata``, ``algorithm``, ``spec`` and ``spec.resource`` are mappings;
    - ``metadata.name`` is 1-64 letters, digits, ``_`` or ``-``; ``description`` at most 256
      characters; ``annotations`` a map of strings; ``workspace_id`` ``"0"`` or 32 characters;
    - the algorithm is given one of four ways: ``id`` | ``subscription_id`` + ``item_version_id``
      | ``code_dir`` + ``boot_file`` | a custom image, ``engine.image_url`` + ``command`` (with
      or without ``code_dir``, no ``boot_file``). At most one of the three named ways; a
      half-given way names its missing key (an image without a command names
      ``algorithm.command``: the service answers ``ModelArts.2806`` for it);
    - ``algorithm.engine``, if given: ``engine_id`` alone | ``engine_name`` + ``engine_version``
      | ``image_url`` | ``engine_name`` + ``engine_version`` + ``image_url`` (a preset framework
      with a custom image); only ``engine_id`` with another form is a conflict;
    - every ``inputs`` entry has a ``name`` and ``remote.obs.obs_url`` or ``remote.dataset``
      (with ``id`` and ``version_id``); every ``outputs`` entry has a ``name`` and
      ``remote.obs.obs_url`` (outputs go to OBS only);
    - ``environments`` is a map of strings (the request form; responses carry a list of maps),
      names made of letters, digits and ``_``, not starting with a digit; a ``$`` in a value is
      logged as a warning, never refused (the documented "$" rule may be about names only);
    - ``spec.resource`` has ``flavor_id`` (public pool) or ``pool_id`` (dedicated pool), or for
      ``kind`` ``federated_pool_job`` ``pool_group_id`` (required there); ``node_count``, if
      given, is an integer >= 1 (its maximum depends on the flavor: the service answers
      ``ModelArts.2793`` above it).

    Everything else, ``parameters``, ``policies`` (``auto_search`` included), ``spec.volumes``,
    ``spec.log_export_path`` and the rest, passes through unchanged.
    """
    body = _plain_mapping(job, parameter, "a mapping: the create body (kind, metadata, algorithm, spec, ...)")
    kind = body.get("kind", DEFAULT_JOB_KIND)
    if kind not in JOB_KINDS:
        raise ModelArtsValidationError(f"{parameter}.kind", "one of " + ", ".join(JOB_KINDS), kind)
    body["kind"] = kind
    body["metadata"] = _validate_metadata(body.get("metadata"), f"{parameter}.metadata")
    body["algorithm"] = _validate_algorithm(body.get("algorithm"), f"{parameter}.algorithm")
    body["spec"] = _validate_spec(body.get("spec"), f"{parameter}.spec", kind)
    return body


def job_name_of(body: Mapping[str, Any]) -> str:
    """``metadata.name`` of a body :func:`validate_job_create` returned."""
    return str(_mapping(body.get("metadata"))["name"])


def _plain(value: object) -> Any:
    """A deep copy made of plain dicts and lists, so the normalised body never shares (and never
    changes) the caller's objects, and any mapping type serialises as JSON."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _plain_mapping(value: object, parameter: str, allowed: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise ModelArtsValidationError(parameter, allowed, value)
    copied: dict[str, Any] = _plain(value)
    return copied


def _non_empty_string(value: object, parameter: str, allowed: str = "a non-empty string") -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise ModelArtsValidationError(parameter, allowed, value)


def _string_map(value: object, parameter: str, allowed: str) -> dict[str, str]:
    if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return dict(value)
    raise ModelArtsValidationError(parameter, allowed, value)


def _validate_metadata(value: object, parameter: str) -> dict[str, Any]:
    metadata = _plain_mapping(value, parameter, "a mapping with at least 'name'")
    metadata["name"] = validate_job_name(metadata.get("name"), f"{parameter}.name")
    if metadata.get("workspace_id") is not None:
        metadata["workspace_id"] = validate_workspace_id(metadata["workspace_id"], f"{parameter}.workspace_id")
    description = metadata.get("description")
    if description is not None and not (isinstance(description, str) and len(description) <= DESCRIPTION_MAX_LENGTH):
        raise ModelArtsValidationError(
            f"{parameter}.description", f"a string of at most {DESCRIPTION_MAX_LENGTH} characters", description
        )
    if metadata.get("annotations") is not None:
        _string_map(metadata["annotations"], f"{parameter}.annotations", "a map of strings to strings")
    return metadata


def _algorithm_ways_text() -> str:
    custom = " + ".join(CUSTOM_IMAGE_WAY)
    return f"{_ways_text(ALGORITHM_WAYS)} | {custom} (a custom image; code_dir optional, no boot_file)"


def _validate_algorithm(value: object, parameter: str) -> dict[str, Any]:
    algorithm = _plain_mapping(
        value, parameter, f"a mapping that names the algorithm one way: {_algorithm_ways_text()}"
    )
    engine: dict[str, Any] = {}
    if algorithm.get("engine") is not None:
        engine = _plain_mapping(
            algorithm["engine"], f"{parameter}.engine", f"a mapping naming the engine: {ENGINE_ALLOWED}"
        )
        _validate_engine(engine, f"{parameter}.engine")
    _validate_algorithm_way(algorithm, engine, parameter)
    for channel in ("inputs", "outputs"):
        if algorithm.get(channel) is not None:
            _validate_channels(algorithm[channel], f"{parameter}.{channel}", outputs=channel == "outputs")
    if algorithm.get("environments") is not None:
        _validate_environments(algorithm["environments"], f"{parameter}.environments")
    return algorithm


def _validate_algorithm_way(algorithm: Mapping[str, Any], engine: Mapping[str, Any], parameter: str) -> None:
    """One of the three named ways, or a custom image (``engine.image_url`` + ``command``)."""
    named = [way for way in ALGORITHM_WAYS if any(algorithm.get(key) is not None for key in way)]
    if len(named) > 1:
        given = {key: algorithm[key] for way in named for key in way if algorithm.get(key) is not None}
        raise ModelArtsValidationError(parameter, "at most one of: " + _ways_text(ALGORITHM_WAYS), given)
    for key in (key for way in ALGORITHM_WAYS for key in way if key in algorithm):
        _non_empty_string(algorithm[key], f"{parameter}.{key}")
    if algorithm.get("command") is not None:
        _non_empty_string(algorithm["command"], f"{parameter}.command", "the container's start command (a string)")
    image = engine.get("image_url") is not None
    command = algorithm.get("command") is not None
    preset = engine.get("engine_name") is not None and engine.get("engine_version") is not None
    if image and not command and not preset:
        # A custom image is started by its command, whatever else names the code (the console's
        # custom-image mode has no boot file). [UNCERTAIN] A preset framework with a custom image
        # (engine_name + engine_version + image_url) runs its boot file through the framework, so
        # no command is asked for there.
        raise ModelArtsValidationError(
            f"{parameter}.command",
            "the start command of the custom image's container (e.g. 'cd /home/ma-user/code && sh run.sh'): "
            "a custom-image job needs engine.image_url and command (the service answers ModelArts.2806 "
            "without it), unless the image runs a preset framework (engine_name + engine_version)",
            None,
        )
    code_dir_only = named == [("code_dir", "boot_file")] and algorithm.get("boot_file") is None
    if named and not (code_dir_only and (image or command)):
        way = named[0]
        for key in way:
            if algorithm.get(key) is None:
                others = " + ".join(k for k in way if k != key)
                raise ModelArtsValidationError(
                    f"{parameter}.{key}",
                    f"given with {others} (the algorithm is one of: {_algorithm_ways_text()})",
                    None,
                )
        return
    if not (image or command):
        raise ModelArtsValidationError(parameter, "exactly one of: " + _algorithm_ways_text(), dict(algorithm))
    if not command:
        raise ModelArtsValidationError(
            f"{parameter}.command",
            "the start command of the custom image's container (e.g. 'cd /home/ma-user/code && sh run.sh'): "
            "a custom-image job needs engine.image_url and command (the service answers ModelArts.2806 "
            "without it)",
            None,
        )
    if not image:
        raise ModelArtsValidationError(
            f"{parameter}.engine.image_url",
            "the custom image's SWR address, given with command (a custom-image job needs both), or name the "
            f"algorithm another way: {_ways_text(ALGORITHM_WAYS)}",
            None,
        )


def _validate_engine(engine: Mapping[str, Any], parameter: str) -> None:
    given = [key for way in ENGINE_WAYS for key in way if engine.get(key) is not None]
    if "engine_id" in given and len(given) > 1:
        raise ModelArtsValidationError(
            parameter, f"engine_id alone, or no engine_id ({ENGINE_ALLOWED})", {key: engine[key] for key in given}
        )
    name, version = engine.get("engine_name") is not None, engine.get("engine_version") is not None
    if name != version:
        missing = "engine_version" if name else "engine_name"
        present = "engine_name" if name else "engine_version"
        raise ModelArtsValidationError(f"{parameter}.{missing}", f"given with {present} ({ENGINE_ALLOWED})", None)
    for key in given:
        _non_empty_string(engine[key], f"{parameter}.{key}")


def _validate_environments(value: object, parameter: str) -> None:
    allowed = (
        f"a map of strings to strings (at most {ENVIRONMENTS_MAX_PAIRS} pairs; keys up to "
        f"{ENVIRONMENT_KEY_MAX_LENGTH} characters, values up to {ENVIRONMENT_VALUE_MAX_LENGTH}); "
        "the list-of-maps form is how responses show it, not what a create takes"
    )
    pairs = _string_map(value, parameter, allowed)
    too_long = any(
        len(k) > ENVIRONMENT_KEY_MAX_LENGTH or len(v) > ENVIRONMENT_VALUE_MAX_LENGTH for k, v in pairs.items()
    )
    if len(pairs) > ENVIRONMENTS_MAX_PAIRS or too_long:
        raise ModelArtsValidationError(parameter, allowed, value)
    for name, item in pairs.items():
        if not ENVIRONMENT_NAME_PATTERN.fullmatch(name):
            raise ModelArtsValidationError(
                f"{parameter}.{name}" if name else parameter,
                "a variable name of letters, digits and underscores, starting with a letter or underscore",
                name,
            )
        if "$" in item:
            log.warning(
                "%s.%s contains '$': the service does not expand variable references ('$' is not supported "
                "there), so the value may reach the job literally or be refused",
                parameter,
                name,
            )


def _validate_channels(value: object, parameter: str, *, outputs: bool) -> None:
    obs_form = "{'obs': {'obs_url': 'obs://bucket/path/'}}"
    dataset_form = "{'dataset': {'id': ..., 'version_id': ...}}"
    remote_allowed = f"{obs_form} (outputs go to OBS only)" if outputs else f"{obs_form} or {dataset_form}"
    allowed = f"a list of channels, each {{'name': ..., 'remote': {remote_allowed}}}"
    if not isinstance(value, (list, tuple)):
        raise ModelArtsValidationError(parameter, allowed, value)
    for index, channel in enumerate(value):
        where = f"{parameter}[{index}]"
        if not isinstance(channel, Mapping):
            raise ModelArtsValidationError(where, allowed, channel)
        _non_empty_string(channel.get("name"), f"{where}.name")
        remote = channel.get("remote")
        if not isinstance(remote, Mapping):
            raise ModelArtsValidationError(f"{where}.remote", remote_allowed, remote)
        obs, dataset = remote.get("obs"), remote.get("dataset")
        if outputs and dataset is not None:
            raise ModelArtsValidationError(f"{where}.remote.dataset", f"no dataset: an output is {obs_form}", dataset)
        if obs is not None and dataset is not None:
            raise ModelArtsValidationError(f"{where}.remote", "one of " + remote_allowed, remote)
        if obs is not None:
            url = obs.get("obs_url") if isinstance(obs, Mapping) else None
            _non_empty_string(url, f"{where}.remote.obs.obs_url", "an OBS path such as 'obs://bucket/path/'")
        elif dataset is not None:
            for key, what in (("id", "the dataset's id"), ("version_id", "the id of the dataset's version")):
                item = dataset.get(key) if isinstance(dataset, Mapping) else None
                _non_empty_string(item, f"{where}.remote.dataset.{key}", what)
        else:
            raise ModelArtsValidationError(f"{where}.remote", remote_allowed, remote)


def _validate_spec(value: object, parameter: str, kind: str = DEFAULT_JOB_KIND) -> dict[str, Any]:
    federated = kind == FEDERATED_POOL_JOB_KIND
    forms = "'flavor_id' (a public pool's flavor) or 'pool_id' (a dedicated pool, with its flavor_id)"
    forms += ", or 'pool_group_id' (kind federated_pool_job only, where it is required)"
    spec = _plain_mapping(value, parameter, "a mapping with 'resource'")
    resource = _plain_mapping(spec.get("resource"), f"{parameter}.resource", f"a mapping with {forms}")
    keys = ("flavor_id", "pool_id", "pool_group_id") if federated else ("flavor_id", "pool_id")
    given = [key for key in keys if resource.get(key) is not None]
    group = resource.get("pool_group_id")
    if federated and not (isinstance(group, str) and group.strip()):
        raise ModelArtsValidationError(
            f"{parameter}.resource.pool_group_id",
            "the id of the pool group (pool_group_id), required for kind federated_pool_job",
            group,
        )
    if not given:
        raise ModelArtsValidationError(f"{parameter}.resource", forms, dict(resource))
    for key in given:
        _non_empty_string(resource[key], f"{parameter}.resource.{key}")
    if resource.get("node_count") is not None:
        resource["node_count"] = coerce_int(resource["node_count"], f"{parameter}.resource.node_count", 1, LONG_MAX)
    spec["resource"] = resource
    return spec


class ValidatedJob(Mapping[str, Any]):
    """A v2 create body that passed :func:`validate_job_create` (its normalised copy): the hook's
    ``create_training_job`` sends it without a second check.

    :param body: the normalised body. Make one with :meth:`validate`; only code that derives a body
        from a validated one and keeps it valid (the submission planner) constructs one directly.
    """

    __slots__ = ("body",)

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    @classmethod
    def validate(cls, job: object, parameter: str = "job") -> ValidatedJob:
        """``job`` itself if already validated, else its checked copy (``ModelArtsValidationError`` if bad)."""
        return job if isinstance(job, cls) else cls(validate_job_create(job, parameter))

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.body)

    def __len__(self) -> int:
        return len(self.body)

    def __repr__(self) -> str:
        return f"ValidatedJob({self.body!r})"
