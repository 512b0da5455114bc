"""structlog set-up: console for people, JSON for machines, every configured secret redacted.

`configure_logging(settings)` is called by the CLI and by `create_app`, never at import.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from tunemeld.config import Environment, Settings

__all__ = ["REDACTED", "SecretRedactor", "configure_logging", "uses_json"]

REDACTED = "**********"


class SecretRedactor:
    """A structlog processor replacing every known secret value inside string fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _scrub(self, value: object) -> object:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._scrub(v) for v in value)
        if isinstance(value, BaseException):
            return self._scrub(str(value))
        return value

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        if not self.secrets:
            return event
        scrubbed: MutableMapping[str, Any] = {k: self._scrub(v) for k, v in event.items()}
        return dict(scrubbed)


def uses_json(settings: Settings, stream: TextIO) -> bool:
    """JSON when asked, in production, or when the stream is not a terminal (`auto`)."""
    fmt = settings.logging.format
    if fmt != "auto":
        return fmt == "json"
    if settings.env is Environment.PRODUCTION:
        return True
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Route structlog (and stdlib logging) to `stream` (stderr) at the configured level."""
    out = stream or sys.stderr
    level = getattr(logging, settings.logging.level)
    redactor = SecretRedactor(settings.secret_values())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if uses_json(settings, out):
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.dict_tracebacks)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=hasattr(out, "isatty") and out.isatty())
    structlog.configure(
        processors=[*shared, redactor, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # Libraries logging through stdlib (waitress, urllib3) stay quiet below WARNING.
    logging.basicConfig(
        level=max(level, logging.WARNING), stream=out, format="%(levelname)s %(name)s: %(message)s"
    )
    for name in ("waitress", "urllib3"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
