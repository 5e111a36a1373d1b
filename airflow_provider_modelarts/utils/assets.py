"""Assets from tasks: what the asset events of a ModelArts task's ``outlets`` carry, and
``Asset``s named after OBS URLs.

A task that declares ``outlets`` emits one asset event per outlet when it succeeds (Airflow does
this, not the provider). The training job, model, service and batch operators put what they
produced into each event's ``extra`` (:func:`publish_to_outlets`) once their result is final:
after the wait, at once with ``wait_for_completion=False`` (the phase or status at that moment),
or when a deferred task resumes. The extra is small and JSON-serialisable (ids, name, phase or
status, OBS URLs, console URL): it is stored in the metadata database with the event. How it is
done is the same on every Airflow 3 minor (``context["outlet_events"][asset].extra``).

* An ``Asset`` outlet (or a subclass: ``Dataset``, ``Model``) gets the extra, merged into what
  the task may have put there itself.
* An ``AssetAlias`` outlet gets one event per OBS output of the task (a training job's output
  channels, a batch run's ``dest_path``s), each an :func:`obs_asset` with the same extra but
  ``outputs`` (the asset is the output), except an output the task also declares as an ``Asset``
  outlet (it has its event already). A model or a service has no OBS output: an alias outlet
  gets nothing from it.
* An ``Asset.ref(...)`` outlet and anything else is left alone.

Naming (:func:`obs_asset`): the OBS object ``obs://bucket/path/`` is the asset named
``obs://bucket/path/``, the OpenLineage dataset ``namespace="obs://bucket"`` + ``name="path/"``
(:mod:`~airflow_provider_modelarts.utils.lineage`) written as one URL, and whose URI is the same
URL as Airflow normalises it: ``obs`` has no registered normaliser, so Airflow (3.0 to 3.3) warns
about nothing and only applies its generic rules, which drop the trailing slashes (and a
fragment, and sort a query): ``obs://bucket/path``. A bucket's root (``obs://bucket`` or
``obs://bucket/``) is the asset ``obs://bucket/``. ``obs_asset(url)`` is ``Asset(url)`` for a
URL with a path (or a root with its slash), so a DAG may write either. The trailing slash is part
of the name (as in OBS and OpenLineage), so ``obs://b/p`` and ``obs://b/p/`` are two assets with
one URI, and Airflow keeps only one of them active (it wants each name and each URI unique among
active assets: a task whose outlet is the other fails when it starts). Write an OBS prefix one way
everywhere: with its slash, as job bodies and this module's alias events do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.cloud.v2.rows import job_row, output_obs_urls
from airflow_provider_modelarts.exceptions import ModelArtsValidationError
from airflow_provider_modelarts.utils.lineage import is_templated, obs_dataset_name

if TYPE_CHECKING:
    from airflow.sdk import Asset

__all__ = [
    "AssetEvent",
    "batch_extra",
    "model_extra",
    "obs_asset",
    "obs_asset_name",
    "publish_to_outlets",
    "service_extra",
    "training_job_extra",
]

#: What a task's outlets' events get: the ``extra``, and the OBS URLs an alias outlet adds as assets.
AssetEvent = tuple[dict[str, Any], list[str]]


def obs_asset_name(url: str) -> str:
    """The asset name (and URI, before Airflow normalises it) of an ``obs://bucket/path`` URL.

    :raises ModelArtsValidationError: not an OBS URL, or one that still holds Jinja.
    """
    named = obs_dataset_name(url) if isinstance(url, str) and not is_templated(url) else None
    if named is None:
        raise ModelArtsValidationError("url", "an OBS URL, obs://bucket or obs://bucket/path", url)
    namespace, path = named
    return f"{namespace}/" if path == "/" else f"{namespace}/{path}"


def obs_asset(url: str, **kwargs: Any) -> Asset:
    """The ``Asset`` of an OBS URL (see the module docstring for the name and URI); ``kwargs``
    (``group``, ``extra``, ``watchers``, ...) go to ``Asset``.

    :raises ModelArtsValidationError: not an OBS URL (Airflow's own ``ValueError`` for a name it
        refuses: over 1500 characters, say).
    """
    from airflow.sdk import Asset

    name = obs_asset_name(url)
    return Asset(name=name, uri=name, **kwargs)


def training_job_extra(job: Mapping[str, Any] | None, console_url: str | None) -> AssetEvent:
    """A v2 training job's event: ``training_job_id``, ``name``, ``phase``, ``outputs`` (OBS URL
    by output channel) and ``console_url``; an alias outlet adds each output."""
    job = job or {}
    row, outputs = job_row(job), output_obs_urls(job)
    extra = {
        "training_job_id": row["id"],
        "name": row["name"],
        "phase": row["phase"],
        "outputs": outputs,
        "console_url": console_url,
    }
    return extra, list(outputs.values())


def model_extra(model: Mapping[str, Any] | None, console_url: str | None) -> AssetEvent:
    """A model's event: ``model_id``, ``model_name``, ``model_version``, ``model_status``,
    ``source_location`` (its OBS path) and ``console_url``. No OBS output: an alias adds nothing."""
    model = model or {}
    keys = ("model_id", "model_name", "model_version", "model_status", "source_location")
    return {**{key: _scalar(model.get(key)) for key in keys}, "console_url": console_url}, []


def service_extra(service: Mapping[str, Any] | None, console_url: str | None) -> AssetEvent:
    """A real-time service's event: ``service_id``, ``service_name``, ``status`` and ``console_url``."""
    service = service or {}
    keys = ("service_id", "service_name", "status")
    return {**{key: _scalar(service.get(key)) for key in keys}, "console_url": console_url}, []


def batch_extra(
    service_id: str | None, service: Mapping[str, Any] | None, outputs: Iterable[str], console_url: str | None
) -> AssetEvent:
    """A batch run's event: ``service_id``, ``service_name``, ``status``, ``outputs`` (its
    ``dest_path``s) and ``console_url``; an alias outlet adds each output."""
    extra, _ = service_extra({**(service or {}), "service_id": service_id}, console_url)
    paths = [str(path) for path in outputs]
    return {**extra, "outputs": paths}, paths


def publish_to_outlets(context: Mapping[str, Any], outlets: Iterable[object], event: AssetEvent | None) -> None:
    """Put ``event``'s extra on the asset events of ``outlets`` (see the module docstring); nothing
    without outlets, without an event, or outside a task (no ``outlet_events`` in the context)."""
    from airflow.sdk import Asset, AssetAlias

    accessors = context.get("outlet_events")
    if event is None or accessors is None:
        return
    extra, obs_urls = event
    outlets = list(outlets or ())
    declared = {(outlet.name, outlet.uri) for outlet in outlets if isinstance(outlet, Asset)}
    for outlet in outlets:
        if isinstance(outlet, Asset):
            accessors[outlet].extra.update(extra)
        elif isinstance(outlet, AssetAlias):
            for url in dict.fromkeys(obs_urls):
                asset = _obs_asset_or_none(url)
                # An output the task declares as an Asset outlet already has its event (Airflow
                # would store a second one for the alias).
                if asset is not None and (asset.name, asset.uri) not in declared:
                    accessors[outlet].add(asset, extra=_flat(extra))


def _obs_asset_or_none(url: str) -> Asset | None:
    """:func:`obs_asset`, or ``None`` for a URL no asset can be named after (not OBS, or refused
    by Airflow: too long, say)."""
    try:
        return obs_asset(url)
    except ValueError:
        return None


def _flat(extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` without its lists and mappings (``outputs``): what an alias event carries. Its
    asset is the output; and Airflow 3.0 fails the task's success when the extra of an alias event
    holds one (it hashes the values)."""
    return {key: value for key, value in extra.items() if not isinstance(value, (Mapping, list))}


def _scalar(value: object) -> str | int | float | bool | None:
    """``value`` when JSON keeps it as it is, else its text (the extra is stored as JSON)."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
