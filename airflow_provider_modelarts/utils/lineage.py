"""OpenLineage for a training job: its OBS and dataset inputs and its OBS outputs as datasets.

Used by :meth:`ModelArtsCreateTrainingJobOperator.get_openlineage_facets_on_complete`; the
OpenLineage classes are imported here, when lineage is extracted, so the provider works without
the openlineage provider (an optional extra: ``pip install airflow-provider-modelarts[openlineage]``).

Naming: an OBS object ``obs://bucket/path/`` is ``Dataset(namespace="obs://bucket", name="path/")``,
as object stores are named in OpenLineage (``s3://bucket``). [UNCERTAIN] The OpenLineage naming
spec has no registered OBS scheme. A ModelArts dataset input without an OBS URL is named
``Dataset(namespace="modelarts", name="datasets/<id>/versions/<version_id>")``.

Only what is certain: a task that failed before its job was created (a template that did not
render, a body refused by the checks, a create the API refused) reports no datasets, since no job
read or wrote anything; and a channel whose URL still holds Jinja (``{{ ... }}``) is never reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    TrainingJobLineage = OperatorLineage[Dataset, RunFacet]
    InferenceLineage = OperatorLineage[Dataset, RunFacet]

#: The run facet's ``source``: where the external id is an id.
LINEAGE_SOURCE = "modelarts"


def obs_dataset_name(url: str) -> tuple[str, str] | None:
    """``(namespace, name)`` of an ``obs://bucket/path`` URL; ``None`` for anything else."""
    if not url.startswith("obs://"):
        return None
    bucket, _, path = url[len("obs://") :].partition("/")
    if not bucket:
        return None
    return f"obs://{bucket}", path or "/"


def channel_datasets(channels: object) -> Iterator[tuple[str, str]]:
    """``(namespace, name)`` of each input or output channel of a job body or job object."""
    for channel in channels if isinstance(channels, list) else []:
        remote = channel.get("remote") if isinstance(channel, Mapping) else None
        if not isinstance(remote, Mapping):
            continue
        obs, dataset = _mapping(remote.get("obs")), _mapping(remote.get("dataset"))
        url = obs.get("obs_url") or dataset.get("obs_url")
        named = obs_dataset_name(url) if isinstance(url, str) and not is_templated(url) else None
        if named is not None:
            yield named
        elif isinstance(url, str) and is_templated(url):
            continue  # never a dataset named after an unrendered template
        elif dataset.get("id") and not is_templated(f"{dataset['id']}{dataset.get('version_id') or ''}"):
            yield "modelarts", f"datasets/{dataset['id']}/versions/{dataset.get('version_id') or 'latest'}"


def is_templated(value: str) -> bool:
    """Whether ``value`` still holds Jinja markup (an unrendered template)."""
    return any(marker in value for marker in ("{{", "{%", "{#"))


def training_job_lineage(
    body: Mapping[str, Any] | None, job: Mapping[str, Any] | None, training_job_id: str | None
) -> TrainingJobLineage:
    """Inputs and outputs from the create body the task sent (falling back to the job object it
    read), and the job id in an ``externalQuery`` run facet.

    Without a job (no ``training_job_id`` and no job object read: the task failed before or at the
    create), the lineage is empty: the body's channels were never read or written, and the body
    may not even be rendered (a template error fails the task before the create).
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    def algorithm(source: Mapping[str, Any] | None) -> Mapping[str, Any]:
        value = source.get("algorithm") if isinstance(source, Mapping) else None
        return value if isinstance(value, Mapping) else {}

    if not training_job_id and not job:
        return OperatorLineage(inputs=[], outputs=[], run_facets={})
    sent, read = algorithm(body), algorithm(job)
    inputs = list(dict.fromkeys(channel_datasets(sent.get("inputs") or read.get("inputs"))))
    outputs = list(dict.fromkeys(channel_datasets(sent.get("outputs") or read.get("outputs"))))
    run_facets: dict[str, Any] = {}
    if training_job_id:
        run_facets["externalQuery"] = ExternalQueryRunFacet(externalQueryId=training_job_id, source=LINEAGE_SOURCE)
    return OperatorLineage(
        inputs=[Dataset(namespace=namespace, name=name) for namespace, name in inputs],
        outputs=[Dataset(namespace=namespace, name=name) for namespace, name in outputs],
        run_facets=run_facets,
    )


def model_dataset_name(name: object, version: object) -> tuple[str, str] | None:
    """``(namespace, name)`` of a registered model: ``("modelarts", "models/<name>/versions/<version>")``."""
    if not name or not version or is_templated(f"{name}{version}"):
        return None
    return LINEAGE_SOURCE, f"models/{name}/versions/{version}"


def model_lineage(model: Mapping[str, Any] | None, model_id: str | None) -> InferenceLineage:
    """A model registration: its ``source_location`` (an OBS path) in, the model out, and the
    model id in an ``externalQuery`` run facet; empty when no model was created or found."""
    inputs: list[tuple[str, str]] = []
    outputs: list[tuple[str, str]] = []
    if model_id and isinstance(model, Mapping):
        source = model.get("source_location")
        named = obs_dataset_name(source) if isinstance(source, str) and not is_templated(source) else None
        inputs = [named] if named else []
        output = model_dataset_name(model.get("model_name"), model.get("model_version"))
        outputs = [output] if output else []
    return _lineage(inputs, outputs, model_id)


def batch_lineage(config: object, service_id: str | None) -> InferenceLineage:
    """A batch inference run: each config entry's ``src_path`` in and ``dest_path`` out; empty
    when no batch service was created or found."""
    inputs: list[tuple[str, str]] = []
    outputs: list[tuple[str, str]] = []
    for entry in config if service_id and isinstance(config, list) else []:
        entry = _mapping(entry)
        for key, found in (("src_path", inputs), ("dest_path", outputs)):
            url = entry.get(key)
            named = obs_dataset_name(url) if isinstance(url, str) and not is_templated(url) else None
            if named is not None and named not in found:
                found.append(named)
    return _lineage(inputs, outputs, service_id)


def _lineage(
    inputs: list[tuple[str, str]], outputs: list[tuple[str, str]], external_id: str | None
) -> InferenceLineage:
    from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    run_facets: dict[str, Any] = {}
    if external_id:
        run_facets["externalQuery"] = ExternalQueryRunFacet(externalQueryId=external_id, source=LINEAGE_SOURCE)
    return OperatorLineage(
        inputs=[Dataset(namespace=namespace, name=name) for namespace, name in inputs],
        outputs=[Dataset(namespace=namespace, name=name) for namespace, name in outputs],
        run_facets=run_facets,
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
