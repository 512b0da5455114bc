"""structlog set-up: console for people, JSON for machines, every configured secret redacted.

`configure_logging(settings)` is called by the CLI and by `create_app`, never at import. With
`logging.file` set (or `inv api.start --log-file`), every event is also written as one JSON line
to that file, rotated by size. `tail_log` / `follow_log` read it back for `inv api.logs`, and
`debug_context` gathers what an error report needs (versions, environment, settings) with every
secret redacted.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import platform
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from tunemeld.config import Environment, Settings
from tunemeld.config._url import REDACTED

__all__ = [
    "DEFAULT_LOG_FILE",
    "REDACTED",
    "FileTee",
    "SecretRedactor",
    "close_log_file",
    "configure_logging",
    "debug_context",
    "follow_log",
    "tail_log",
    "uses_json",
]

DEFAULT_LOG_FILE = Path(".tunemeld") / "logs" / "tunemeld.log"
"""Where `inv api.start --log-file` writes and `inv api.logs` reads when no path is given."""

_PACKAGES = (
    "tunemeld",
    "bottle",
    "waitress",
    "requests",
    "structlog",
    "pydantic",
    "pydantic-settings",
    "prometheus-client",
    "pymongo",
    "tenacity",
    "invoke",
)
_file_handler: logging.handlers.RotatingFileHandler | None = None


class SecretRedactor:
    """A structlog processor replacing every known secret value inside string fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def scrub(self, value: object) -> object:
        """`value` with every secret replaced, looking inside dicts, lists and exceptions."""
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.scrub(v) for v in value)
        if isinstance(value, BaseException):
            return self.scrub(str(value))
        return value

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        if not self.secrets:
            return event
        scrubbed: MutableMapping[str, Any] = {k: self.scrub(v) for k, v in event.items()}
        return dict(scrubbed)


class FileTee:
    """A structlog processor writing each (already redacted) event as a JSON line to a handler.

    It passes the event on unchanged, so the console keeps its own renderer.
    """

    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler
        self._tracebacks = structlog.processors.dict_tracebacks

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        copy = self._tracebacks(logger, method, dict(event))
        line = json.dumps(copy, default=str, ensure_ascii=False)
        record = logging.LogRecord("tunemeld", logging.INFO, "", 0, line, None, None)
        self.handler.handle(record)
        return event


class _JsonLineFormatter(logging.Formatter):
    """Stdlib records (waitress, urllib3) as JSON lines beside structlog's, secrets redacted."""

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "tunemeld":  # already a JSON line from FileTee
            return record.getMessage()
        event = {
            "event": record.getMessage(),
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
        }
        return json.dumps(self._redactor.scrub(event), ensure_ascii=False)


def uses_json(settings: Settings, stream: TextIO) -> bool:
    """JSON when asked, in production, or when the stream is not a terminal (`auto`)."""
    fmt = settings.logging.format
    if fmt != "auto":
        return fmt == "json"
    if settings.env is Environment.PRODUCTION:
        return True
    return not (hasattr(stream, "isatty") and stream.isatty())


def close_log_file() -> None:
    """Stop writing the log file (if any) and close it; safe to repeat."""
    global _file_handler
    handler, _file_handler = _file_handler, None
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _open_log_file(settings: Settings, redactor: SecretRedactor) -> FileTee | None:
    global _file_handler
    close_log_file()
    path = settings.logging.file
    if path is None:
        return None
    from tunemeld.exceptions import ConfigError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path,
            maxBytes=settings.logging.file_max_bytes,
            backupCount=settings.logging.file_backups,
            encoding="utf-8",
        )
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the log file {path}: {exc.strerror or exc}.",
            hint="Pick a writable path (TUNEMELD_LOGGING__FILE or --log-file).",
        ) from exc
    handler.setFormatter(_JsonLineFormatter(redactor))
    _file_handler = handler
    return FileTee(handler)


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Route structlog (and stdlib logging) to `stream` (stderr) and the log file, if set."""
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
    tee = _open_log_file(settings, redactor)
    processors: list[Processor] = [*shared, redactor]
    if tee is not None:
        processors.append(tee)
    structlog.configure(
        processors=[*processors, renderer],
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
    if _file_handler is not None:
        _file_handler.setLevel(max(level, logging.WARNING))
        logging.getLogger().addHandler(_file_handler)


# -- reading the log file ---------------------------------------------------------------------


def tail_log(path: Path, lines: int = 50) -> list[str]:
    """The last `lines` lines of the log file (without newlines); [] when it does not exist."""
    if lines <= 0 or not path.is_file():
        return []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]


def follow_log(
    path: Path,
    *,
    from_start: bool = False,
    poll_seconds: float = 0.25,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """Yield lines appended to `path` (from now on, or `from_start`) until `stop()` is true.

    Follows rotation: when the file is replaced or shortened, reading restarts at the new
    file's beginning. A line is yielded only once its newline is written.
    """
    handle: BinaryIO | None = None
    inode: int | None = None
    pending = b""
    first = True
    try:
        while not stop():
            if handle is None:
                if not path.is_file():
                    sleep(poll_seconds)
                    continue
                handle = path.open("rb")
                inode = os.fstat(handle.fileno()).st_ino
                if first and not from_start:
                    handle.seek(0, os.SEEK_END)
                first = False
            chunk = handle.readline()
            if chunk:
                pending += chunk
                if pending.endswith(b"\n"):
                    yield pending.rstrip(b"\r\n").decode("utf-8", errors="replace")
                    pending = b""
                continue
            if _rotated(path, inode, handle.tell()):
                handle.close()
                handle, pending = None, b""
                continue
            sleep(poll_seconds)
    finally:
        if handle is not None:
            handle.close()


def _rotated(path: Path, inode: int | None, position: int) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return True
    return stat.st_ino != inode or stat.st_size < position


# -- debug context ----------------------------------------------------------------------------


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def debug_context(settings: Settings, **extra: object) -> dict[str, Any]:
    """Environment, versions and settings for an error report; every secret redacted.

    Environment variables appear by name only (the values may be secrets), settings through
    `Settings.redacted()`, and the whole result is scrubbed of every configured secret again.
    """
    from tunemeld.config.settings import FLAT_NAMES

    names = sorted(
        name for name in os.environ if name.startswith("TUNEMELD_") or name in FLAT_NAMES
    )
    context: dict[str, Any] = {
        "captured_at": datetime.now(timezone.utc).isoformat(),
        "environment": settings.env.value,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "pid": os.getpid(),
        "cwd": str(Path.cwd()),
        "versions": _versions(),
        "env_vars_set": names,
        "settings": settings.redacted(),
        **extra,
    }
    scrubbed = SecretRedactor(settings.secret_values()).scrub(context)
    assert isinstance(scrubbed, dict)
    return scrubbed
