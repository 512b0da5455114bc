"""The `api_request_handled` line, written once per request: through structlog, or a fast path.

structlog's processor chain costs more per line than everything else a cached answer needs. For
the standard JSON set-up of `configure_logging` the line is compiled instead: the redacted JSON
of the repeating fields is kept per combination, and a writer thread fills in duration, request
id and time and prints the lines in batches every 50 ms (a hard kill loses the last 50 ms). The
result is structlog's line byte for byte (a test holds them equal); any other set-up (console,
a log file, `capture_logs`, more bound context) takes the structlog path.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import logging
import select
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from math import isfinite

import structlog
from structlog.contextvars import merge_contextvars
from structlog.processors import ExceptionRenderer, JSONRenderer, TimeStamper, add_log_level
from structlog.typing import Processor

from tunemeld.services.logging import SecretRedactor

__all__ = ["EVENT", "FLUSH_SECONDS", "MAX_TEMPLATES", "AccessLog", "request_id_variable"]

EVENT = "api_request_handled"
MAX_TEMPLATES = 1024
"""Field combinations whose JSON is kept; paths come from clients, so the set is bounded."""

FLUSH_SECONDS = 0.05
"""How long a compiled request line may wait in memory before a writer thread prints it."""

_IDLE_ROUNDS = 20
"""Empty rounds (about a second) after which the writer thread ends until the next line."""

_ATOMIC_BYTES = getattr(select, "PIPE_BUF", 512)
"""The largest write a pipe takes in one piece (POSIX guarantees at least 512 bytes)."""

_Fields = tuple[str, str, str, int]  # method, route, path, status


def _chunks(lines: list[str], limit: int) -> Iterator[str]:
    """`lines` joined by newlines into pieces of at most `limit` bytes (with the newline the
    writer adds); a line longer than that is a piece of its own."""
    piece: list[str] = []
    size = 0
    for line in lines:
        # The JSON of `json.dumps` is ASCII (it escapes the rest): one byte a character.
        length = (len(line) if line.isascii() else len(line.encode())) + 1
        if piece and size + length > limit:
            yield "\n".join(piece)
            piece, size = [], 0
        piece.append(line)
        size += length
    if piece:
        yield "\n".join(piece)


_Entry = tuple[_Fields, float, str, int]
"""One request line to print: its fields, duration, request id and time (ns since the epoch)."""


class _BatchedWriter:
    """Request lines handed over without a system call; a writer thread prints them in batches.

    A write releases the GIL, and getting it back behind busy worker threads costs a request far
    more than the write. So a request only appends its values; every `FLUSH_SECONDS` (and at exit,
    and on reconfiguration) the writer thread renders them and prints them in order.
    """

    def __init__(
        self, write: Callable[[str], object], render: Callable[[list[_Entry]], list[str]]
    ) -> None:
        self._write = write
        self._render = render
        self._entries: list[_Entry] = []
        self._lock = threading.Lock()
        self._printing = threading.Lock()  # one batch at a time: lines stay in order
        self._stop = threading.Event()
        self._closed = False  # `_stop.is_set()`, read without a call on every line
        self._thread: threading.Thread | None = None
        self._registered = False

    def add(self, entry: _Entry) -> None:
        """Queue one line (no system call); starts the writer thread on first use."""
        if self._closed:
            with self._printing:  # closed: no thread is left to print it later
                self._write(self._render([entry])[0])
            return
        with self._lock:
            self._entries.append(entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tunemeld-access-log", daemon=True
                )
                self._thread.start()
                if not self._registered:
                    atexit.register(self.close)
                    self._registered = True

    def _run(self) -> None:
        idle = 0
        while not self._stop.wait(FLUSH_SECONDS):
            with self._lock:
                if not self._entries:
                    idle += 1
                    if idle >= _IDLE_ROUNDS:  # nothing for a while: end; `add` starts anew
                        self._thread = None
                        return
                    continue
            idle = 0
            self.flush()
        self.flush()

    def flush(self) -> None:
        """Print every queued line now, in writes of at most `PIPE_BUF` bytes where possible:
        such a write to the stderr pipe workers share is atomic, so lines never interleave."""
        with self._printing:
            with self._lock:
                entries, self._entries = self._entries, []
            if entries:
                for chunk in _chunks(self._render(entries), _ATOMIC_BYTES):
                    self._write(chunk)

    def close(self) -> None:
        """Print what is queued and stop the writer thread; later lines are printed at once."""
        self._stop.set()
        self._closed = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.flush()
        with self._lock:
            self._thread = None


class _CompiledLine:
    """Writes the request line of one recognised configuration without running the chain."""

    def __init__(
        self,
        write: Callable[[str], object],
        stamp: Callable[[int], str],
        redactor: SecretRedactor,
    ) -> None:
        self.writer = _BatchedWriter(write, self._render)
        self._stamp = stamp
        self._scrub = redactor.scrub_text
        self._secrets = bool(redactor.secrets)
        self._templates: dict[_Fields, str] = {}

    def _template(self, fields: _Fields) -> str:
        method, route, path, status = fields
        head = json.dumps(
            {
                "method": self._scrub(method),
                "route": self._scrub(route),
                "path": self._scrub(path),
                "status": status,
            }
        )
        template = head[:-1] + ', "duration_ms": '
        if len(self._templates) < MAX_TEMPLATES:
            self._templates[fields] = template
        return template

    def write(self, fields: _Fields, duration_ms: float, request_id: str) -> None:
        """Queue one line: its values and the time now; the writer thread formats it."""
        self.writer.add((fields, duration_ms, request_id, time.time_ns()))

    def _render(self, entries: list[_Entry]) -> list[str]:
        """The lines of `entries`, as structlog's JSONRenderer would have rendered them.

        `json.dumps` is skipped where its result is plain: a finite float's repr, an ASCII
        alphanumeric string in quotes.
        """
        templates, scrub, secrets, stamp = self._templates, self._scrub, self._secrets, self._stamp
        lines: list[str] = []
        for fields, duration_ms, request_id, nanoseconds in entries:
            template = templates.get(fields) or self._template(fields)
            if secrets:
                request_id = scrub(request_id)
            if request_id.isascii() and request_id.isalnum():
                quoted = f'"{request_id}"'
            else:
                quoted = json.dumps(request_id)
            if type(duration_ms) is float and isfinite(duration_ms):
                number = repr(duration_ms)
            else:
                number = json.dumps(duration_ms)
            lines.append(f"{template}{number}{_MIDDLE}{quoted}{_LEVEL}{stamp(nanoseconds)}}}")
        return lines


_MIDDLE = f', "event": "{EVENT}", "request_id": '
_LEVEL = ', "level": "info", "timestamp": '

_STAMP_CHARS = frozenset("0123456789-:.TZ")
"""Every character an ISO timestamp in UTC (`2026-12-01T10:00:00.123456Z`) can hold."""


class _IsoStamp:
    """A UTC instant as a JSON string, as structlog's `TimeStamper(fmt="iso", utc=True)` puts it.

    `isoformat()` costs more than the rest of the line, so the part up to the second is formatted
    once a second and only the microseconds per call.
    """

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")

    def __call__(self, nanoseconds: int) -> str:
        """The JSON string of the instant `nanoseconds` after the epoch."""
        seconds, rest = divmod(nanoseconds, 1_000_000_000)
        second, head = self._second
        if second != seconds:
            head = '"' + datetime.fromtimestamp(seconds, timezone.utc).isoformat()[:19]
            self._second = (seconds, head)  # one tuple: threads never see half of it
        micro = rest // 1000
        return f'{head}.{micro:06d}Z"' if micro else f'{head}Z"'


def _compile(config: dict[str, object], logger: object) -> _CompiledLine | None:
    """A compiled line for the standard JSON set-up; None for anything else."""
    processors = config["processors"]
    assert isinstance(processors, list)
    chain = [p for p in processors if not isinstance(p, ExceptionRenderer)]
    if len(chain) != 5:
        return None
    merge, level, stamper, redactor, renderer = chain
    if merge is not merge_contextvars or level is not add_log_level:
        return None
    if not isinstance(stamper, TimeStamper) or (stamper.fmt, stamper.utc) != ("iso", True):
        return None
    if stamper.key != "timestamp" or not isinstance(redactor, SecretRedactor):
        return None
    # The default JSONRenderer: json.dumps with only its fallback for odd types (never needed
    # here: every field is a str, an int or a float).
    if type(renderer) is not JSONRenderer or renderer._dumps is not json.dumps:
        return None
    if set(renderer._dumps_kw) != {"default"}:
        return None
    factory = config["logger_factory"]
    if type(factory) is not structlog.WriteLoggerFactory:
        return None
    effective = getattr(logger, "get_effective_level", None)
    if effective is None or effective() > logging.INFO:
        return None

    scrub = redactor.scrub_text
    if scrub(EVENT) != EVENT or scrub("info") != "info":
        return None  # a "secret" inside the constant parts: let structlog redact it

    stamp: Callable[[int], str] = _IsoStamp()
    if any(set(secret) <= _STAMP_CHARS for secret in redactor.secrets):
        iso = stamp

        def stamp(nanoseconds: int) -> str:  # a secret made of timestamp characters
            return json.dumps(scrub(json.loads(iso(nanoseconds))))

    return _CompiledLine(factory().msg, stamp, redactor)


class AccessLog:
    """The request line's writer for the current logging configuration, rebuilt when it changes.

    It keeps a bound logger (and the compiled line when allowed) while the configured processors,
    wrapper, factory and context class stay the same objects: `structlog.get_logger()` would
    resolve the configuration per call. The exception renderers are left out (no exception here).
    """

    def __init__(self) -> None:
        self._processors: list[Processor] = []
        self._others: tuple[object, ...] = (None, None, None)
        self._logger: structlog.typing.FilteringBoundLogger | None = None
        self._compiled: _CompiledLine | None = None
        self._request_id = request_id_variable()

    def _current(self) -> tuple[structlog.typing.FilteringBoundLogger, _CompiledLine | None]:
        config = structlog.get_config()
        # The processors one by one: `structlog.testing.capture_logs` edits the list in place.
        # Comparisons check identity first, in C: no processor or class here defines `__eq__`.
        processors: list[Processor] = config["processors"]
        others = (config["wrapper_class"], config["logger_factory"], config["context_class"])
        logger = self._logger
        if logger is None or processors != self._processors or others != self._others:
            wrapper, factory, context = others
            chain = [p for p in processors if not isinstance(p, ExceptionRenderer)]
            logger = structlog.wrap_logger(
                factory(), processors=chain, wrapper_class=wrapper, context_class=context
            ).bind()
            if self._compiled is not None:
                self._compiled.writer.close()  # lines of the old set-up go out first
            self._compiled = _compile(config, logger)
            self._logger, self._processors, self._others = logger, list(processors), others
        return logger, self._compiled

    def flush(self) -> None:
        """Print the request lines still waiting in memory (the compiled path batches them)."""
        if self._compiled is not None:
            self._compiled.writer.flush()

    def record(self, method: str, route: str, path: str, status: int, duration_ms: float) -> None:
        """Write one `api_request_handled` line carrying the bound request id."""
        logger, compiled = self._current()
        if compiled is not None:
            # The compiled line carries only the request id: a context of just its variable is
            # that (copying a context is O(1)); anything else is looked at key by key.
            context = contextvars.copy_context()
            if len(context) == 1:
                request_id = context.get(self._request_id, None)
            else:
                bound = structlog.contextvars.get_contextvars()
                request_id = bound.get("request_id") if len(bound) == 1 else None
            if isinstance(request_id, str):
                compiled.write((method, route, path, status), duration_ms, request_id)
                return
        logger.info(
            EVENT, method=method, route=route, path=path, status=status, duration_ms=duration_ms
        )


def request_id_variable() -> contextvars.ContextVar[object]:
    """The context variable `bind_contextvars(request_id=...)` sets: set directly, it binds the
    request id without the keyword-argument round trip of `bind_contextvars`."""
    tokens = structlog.contextvars.bind_contextvars(request_id=None)
    structlog.contextvars.reset_contextvars(**tokens)
    variable: contextvars.ContextVar[object] = tokens["request_id"].var
    return variable
