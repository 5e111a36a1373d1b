"""Training job names that render in every DAG run, with or without a logical date.

A v2 training job name is 1-64 characters of ``[A-Za-z0-9_-]`` and unique in its project, so a DAG
usually names its job after the run. ``{{ ts_nodash }}`` (and ``ds``, ``ts``, ``logical_date``, the
data interval) does not do that on Airflow 3: a run triggered by ``airflow dags trigger``, by the
REST API with ``"logical_date": null`` or by an asset event has no logical date, those names are
not in its template context, and the task fails with ``'ts_nodash' is undefined``.

:func:`job_name_template` returns a template that names the job after the run's ``run_after``
instead::

    job={"metadata": {"name": job_name_template("resnet50-train")}, ...}
    # renders to resnet50-train-20260301t120000 (a mapped task: resnet50-train-20260301t120000-3)

Why this and not something else:

- ``dag_run.run_after`` is set on every DAG run (a required field of the Task SDK's ``DagRun`` on
  Airflow 3.0 and 3.3 alike): when a scheduled run was due, when a manual or API run was
  triggered, when an asset event arrived. Formatted by Airflow's own ``ts_nodash`` filter (present
  since 3.0) and lowered, it is 15 characters of ``[0-9t]``: always valid, readable, and it sorts
  by time in the console's job list. (There is no top-level ``run_after`` in the template
  context; ``dag_run.run_after`` is the one that exists on every supported version.)
- The run id is unique in a DAG, but not a valid name (``manual__2026-03-01T12:00:00+00:00``,
  or anything a user passed as ``dag_run_id``); made safe and cut to fit it would be long, and a
  cut could make two runs' names equal. A digest of it would be unique but unreadable.
- A template string, not a Python callable: the operator's ``job`` is a templated field, so the
  name renders where the rest of the body does and shows in *Rendered Template*; it needs no
  ``user_defined_filters`` or macros on the DAG, and works in any templated field (an OBS output
  path such as ``f"obs://bucket/models/{RUN_STAMP}/"`` too).

Uniqueness: one name per DAG run to the second, and per map index (the map index is added for a
mapped task, whose instances share a run). Two runs of one DAG triggered in the same second get the
same name; the create operator then fails the second with a clear "name taken" message, or, with
``on_name_conflict="suffix"``, creates ``<name>-<digest>-try<N>`` instead. Retries of one task
instance keep the name and reconnect to their job (the operator's own bookkeeping).
"""

from __future__ import annotations

import re

#: The v2 API's job name: 1-64 letters, digits, ``_`` and ``-``.
JOB_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
JOB_NAME_MAX_LENGTH = 64

#: The DAG run's ``run_after`` as ``20260301t120000``: defined in every run, logical date or not.
RUN_STAMP = "{{ dag_run.run_after | ts_nodash | lower }}"
#: ``-<map index>`` for a mapped task instance, nothing otherwise.
MAP_INDEX_SUFFIX = "{% if ti.map_index is not none and ti.map_index >= 0 %}-{{ ti.map_index }}{% endif %}"

# A rendered stamp is 16 characters with its dash; a map index below 100,000 adds at most 6. What
# is left of the 64 is for the prefix, so that the rendered name always fits.
MAX_PREFIX_LENGTH = JOB_NAME_MAX_LENGTH - len("-20260301t120000") - len("-99999")

_JINJA_MARKERS = ("{{", "{%", "{#")


def job_name_template(prefix: str) -> str:
    """A Jinja template for a v2 job name: ``<prefix>-<run_after as 20260301t120000>[-<map index>]``.

    :param prefix: what the name starts with, e.g. ``"resnet50-train"``: 1-42 letters, digits,
        ``_`` or ``-``, checked here (when the DAG is parsed). It may itself be a template (e.g.
        ``"{{ params.model }}-train"``); the operator then checks the rendered name.
    :raises ValueError: a literal prefix that is empty, too long or has another character.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, not {type(prefix).__name__}")
    templated = any(marker in prefix for marker in _JINJA_MARKERS)
    if not templated and (not JOB_NAME_PATTERN.fullmatch(prefix) or len(prefix) > MAX_PREFIX_LENGTH):
        raise ValueError(
            f"job name prefix {prefix!r} must be 1-{MAX_PREFIX_LENGTH} letters, digits, '_' or '-', "
            f"so that '<prefix>-<run stamp>[-<map index>]' fits the {JOB_NAME_MAX_LENGTH}-character job name"
        )
    return f"{prefix}-{RUN_STAMP}{MAP_INDEX_SUFFIX}"


def is_valid_job_name(name: object) -> bool:
    """Whether ``name`` is a valid v2 training job name (1-64 of ``[A-Za-z0-9_-]``)."""
    return isinstance(name, str) and JOB_NAME_PATTERN.fullmatch(name) is not None
