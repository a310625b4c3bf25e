"""structlog setup: JSON lines in a pod or when piped, a readable console on a terminal.

Context (``controller``, ``object``, ``reconcile_id``) is bound with
``structlog.contextvars.bound_contextvars`` by the controller around each reconcile; asyncio tasks
copy the context when created, so every line a reconcile logs, including from libraries that use
``structlog.get_logger()``, carries it. Standard-library ``logging`` (aiohttp, kubernetes_asyncio) is
routed through the same renderer.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

__all__ = ["configure_logging", "use_json", "LOG_FORMATS", "json_for_format"]

LOG_FORMATS = ("auto", "json", "console")
"""``--log-format`` values: ``auto`` picks by the stream (:func:`use_json`), the others force a renderer."""


def use_json(stream=None) -> bool:
    """JSON when running in a pod or when output is not a terminal."""
    stream = stream or sys.stderr
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    return not (hasattr(stream, "isatty") and stream.isatty())


def json_for_format(log_format: str, stream=None) -> bool:
    """Whether ``log_format`` (one of :data:`LOG_FORMATS`) renders JSON on ``stream``."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(LOG_FORMATS)} (got {log_format!r})")
    return use_json(stream) if log_format == "auto" else log_format == "json"


def configure_logging(*, level: str = "info", json: bool | None = None, log_format: str = "auto", stream=None,
                      cache: bool = True) -> None:
    """Configure structlog and stdlib logging once, at process start (the CLI/manager entry point).

    ``json`` (when not None) wins over ``log_format``. The console renderer colours only a terminal, so
    ``--log-format=console`` piped to a file stays free of escape codes. ``cache`` freezes each logger's
    configuration on first use (faster); tests that reconfigure logging pass ``cache=False``.
    """
    stream = stream or sys.stderr
    as_json = json_for_format(log_format, stream) if json is None else json
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer = (structlog.processors.JSONRenderer() if as_json
                else structlog.dev.ConsoleRenderer(colors=hasattr(stream, "isatty") and stream.isatty()))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=cache,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *( [structlog.processors.format_exc_info] if as_json else []), renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
