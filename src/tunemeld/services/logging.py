"""structlog set-up: console for people, JSON for machines, every configured secret redacted.

`configure_logging(settings)` is called by the CLI and by `create_app`, never at import; with
`logging.file` set, every event is also a JSON line in that size-rotated file, which `tail_log` /
`follow_log` read back for `inv api.logs`. Standard-library records (waitress, urllib3) go
through the same processors, and a repeating one (waitress's "Task queue depth is N" under load)
is written at most once per `logging.repeat_seconds` (`RepeatLimiter`).
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
from collections.abc import Callable, Iterable, Iterator
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
    "RepeatLimiter",
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
_console_handler: logging.Handler | None = None
_BRIDGED = ("waitress", "urllib3")
"""Libraries whose stdlib loggers are capped at WARNING (their INFO lines are noise)."""


class SecretRedactor:
    """A structlog processor replacing every known secret value inside string fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def scrub_text(self, text: str) -> str:
        """`text` with every secret replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def scrub(self, value: object) -> object:
        """`value` with every secret replaced, looking inside dicts, lists and exceptions."""
        if isinstance(value, str):
            return self.scrub_text(value)
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
        return {k: self.scrub(v) for k, v in event.items()}


class FileTee:
    """A structlog processor writing each (already redacted) event as a JSON line to a handler;
    the event goes on unchanged, so the console keeps its own renderer."""

    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler
        self._tracebacks = structlog.processors.dict_tracebacks

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        copy = self._tracebacks(logger, method, dict(event))
        line = json.dumps(copy, default=str, ensure_ascii=False)
        record = logging.LogRecord("tunemeld", logging.INFO, "", 0, line, None, None)
        self.handler.handle(record)
        return event


class RepeatLimiter(logging.Filter):
    """Let a stdlib record through at most once per `seconds` per logger, level and template.

    The key is the *template* (`record.msg`, before `%` arguments), so "Task queue depth is 12"
    and "... is 13" are one line repeating. The next record to pass carries `suppressed`, the
    number dropped. Decided once per record, so one limiter can guard several handlers.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.seconds = seconds
        self._clock = clock
        self._last: dict[tuple[str, int, str], float] = {}
        self._dropped: dict[tuple[str, int, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        decided = record.__dict__.get("_tunemeld_repeat_ok")
        if decided is not None:
            return bool(decided)
        ok = self._decide(record)
        record.__dict__["_tunemeld_repeat_ok"] = ok
        return ok

    def _decide(self, record: logging.LogRecord) -> bool:
        if self.seconds <= 0 or record.name == "tunemeld":
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.__dict__["suppressed"] = dropped
        return True


def _stdlib_fields(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """A bridged record's logger name and, when repeats were dropped, how many."""
    record = event.get("_record")
    if isinstance(record, logging.LogRecord):
        event.setdefault("logger", record.name)
        suppressed = record.__dict__.get("suppressed")
        if suppressed:
            event["suppressed"] = suppressed
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
        if record.__dict__.get("suppressed"):
            event["suppressed"] = record.__dict__["suppressed"]
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


def configure_logging(
    settings: Settings,
    *,
    stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Route structlog and stdlib logging to `stream` (stderr) and the log file, if set."""
    global _console_handler
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
        # One write per line (`print` makes two): worker processes of `api.start --workers`
        # share stderr, and with PYTHONUNBUFFERED two writes per line interleave their lines.
        logger_factory=structlog.WriteLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    limiter = RepeatLimiter(settings.logging.repeat_seconds, clock)
    root = logging.getLogger()
    if _console_handler is not None:
        root.removeHandler(_console_handler)
    _console_handler = logging.StreamHandler(out)
    _console_handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, _stdlib_fields, redactor],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    _console_handler.addFilter(limiter)
    root.addHandler(_console_handler)
    root.setLevel(max(level, logging.WARNING))
    for name in _BRIDGED:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    if _file_handler is not None:
        _file_handler.setLevel(max(level, logging.WARNING))
        _file_handler.addFilter(limiter)
        root.addHandler(_file_handler)


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
    """Yield lines appended to `path` (from now on, or `from_start`) until `stop()` is true,
    each once its newline is written; a replaced or shortened (rotated) file is read afresh."""
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
    """Environment, versions and settings for an error report; every secret redacted (variables
    by name only, settings through `Settings.redacted()`, then the whole scrubbed again)."""
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
