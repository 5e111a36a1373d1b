"""The provider's task logs, captured the same way whichever Airflow routes them.

From Airflow 3.1 the Task SDK's ``LoggingMixin`` makes ``self.log`` of hooks and operators a structlog
logger, which ``structlog.testing.capture_logs`` sees. On Airflow 3.0 ``self.log`` is a stdlib logger
named ``airflow.task.hooks.<module>.<class>`` or ``airflow.task.operators.<module>.<class>``, which
structlog never sees. :func:`capture_task_logs` collects both, as structlog-style entries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

PROVIDER_PACKAGE = "airflow_provider_modelarts"


class _TaskLogHandler(logging.Handler):
    """Keeps the records of the provider's ``self.log`` loggers (stdlib, Airflow 3.0)."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Operators' and hooks' loggers are airflow.task.<...>; a trigger's is its class path.
        if (record.name.startswith("airflow.task.") and PROVIDER_PACKAGE in record.name) or record.name.startswith(
            f"{PROVIDER_PACKAGE}.triggers."
        ):
            self.entries.append(
                {"event": record.getMessage(), "log_level": record.levelname.lower(), "logger": record.name}
            )


@contextmanager
def capture_task_logs() -> Iterator[list[dict[str, Any]]]:
    """Like ``structlog.testing.capture_logs``, and also the stdlib records of the provider's ``self.log``.

    The list is filled when the block ends. On any one Airflow only one of the two routes carries
    the provider's ``self.log``, so nothing is counted twice.
    """
    handler = _TaskLogHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    entries: list[dict[str, Any]] = []
    try:
        with structlog.testing.capture_logs() as structlog_entries:
            yield entries
    finally:
        root.removeHandler(handler)
        entries.extend(structlog_entries)
        entries.extend(handler.entries)
