"""Tolerant readers of the fields of an API answer: a field of the wrong type reads as empty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
