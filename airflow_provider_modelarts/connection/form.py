"""The connection form for Airflow 3.0 and 3.1, generated from the one declaration.

Airflow 3.2+ builds the "Huawei Cloud ModelArts" form from ``conn-fields`` and ``ui-field-behaviour``
in :func:`~airflow_provider_modelarts.get_provider_info.get_provider_info` and never calls the hook.
Older releases only know the hook's ``get_connection_form_widgets`` / ``get_ui_field_behaviour``
classmethods, which delegate here. Both forms therefore come from ``CONN_FIELDS`` and
``UI_FIELD_BEHAVIOUR`` in :mod:`.fields`; nothing is written twice.

Airflow 3.0/3.1 accept four wtforms field classes and render them from their type:
``StringField``, ``PasswordField``, ``IntegerField`` and ``BooleanField``. A JSON-schema ``number``
(the timeout) therefore becomes a ``StringField`` whose text the connection parser converts, and
an ``enum`` becomes an ``any_of`` validator, which those releases render as a drop-down.

wtforms is imported inside the function: Airflow imports it (or its stand-ins on the API server)
only while building forms, and this module must stay importable without it.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_modelarts.connection.fields import CONN_FIELDS, UI_FIELD_BEHAVIOUR


def ui_field_behaviour() -> dict[str, Any]:
    """``ui-field-behaviour`` in the legacy method's snake_case keys (``hidden_fields``, ...)."""
    behaviour = UI_FIELD_BEHAVIOUR
    return {key.replace("-", "_"): copy.deepcopy(value) for key, value in behaviour.items()}


def _schema_types(schema: dict[str, Any]) -> list[str]:
    declared = schema["type"]
    return list(declared) if isinstance(declared, list) else [declared]


def _form_default(schema: dict[str, Any]) -> Any:
    """The default as the field shows it: numbers live in text fields (see the module docstring)."""
    default = schema.get("default")
    if default is None or "string" in _schema_types(schema) or isinstance(default, bool):
        return default
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def connection_form_widgets() -> dict[str, Any]:
    """One wtforms field per ``CONN_FIELDS`` entry, keyed by the bare field name (the extra's key)."""
    from wtforms import BooleanField, IntegerField, PasswordField, StringField
    from wtforms.validators import Optional, any_of

    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        schema = spec["schema"]
        types = _schema_types(schema)
        field_class: Any
        if schema.get("format") == "password":
            field_class = PasswordField
        elif "boolean" in types:
            field_class = BooleanField
        elif "integer" in types:
            field_class = IntegerField
        else:
            field_class = StringField
        validators: list[Any] = [Optional()]
        if "enum" in schema:
            validators.append(any_of(list(schema["enum"])))
        widgets[name] = field_class(
            spec["label"],
            validators=validators,
            description=spec.get("description", ""),
            default=_form_default(schema),
        )
    return widgets
