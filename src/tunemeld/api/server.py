"""Serving the app with waitress: blocking for `inv api.start`, in a thread for tests and checks.

`serve` runs one process; `serve_workers` runs N (Linux and macOS) on one listening socket the
workers inherit. Every process stops gracefully: no new connections, answers in flight finished.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from types import FrameType, TracebackType
from typing import Protocol

import structlog
import waitress
from waitress import wasyncore
from waitress.task import ThreadedTaskDispatcher

from tunemeld.exceptions import ConfigError

__all__ = [
    "LISTEN_FD_FLAG",
    "MAX_WORKERS",
    "RunningServer",
    "WsgiApp",
    "check_workers",
    "serve",
    "serve_socket",
    "serve_workers",
    "start_background_server",
]

log = structlog.get_logger()

_IDENT = "tunemeld"
_STOP_TIMEOUT_SECONDS = 5.0
_GRACE_SECONDS = 10.0
"""How long a stopping server waits for answers in flight before closing what is left."""
_LOOP_TIMEOUT_SECONDS = 0.2
_BACKLOG = 1024
_CRASH_LOOP_SECONDS = 2.0
"""A worker that dies this soon after its start is not restarted: the supervisor stops."""
MAX_WORKERS = 64
LISTEN_FD_FLAG = "--listen-fd"
"""The flag `serve_workers` adds to a worker's command: the inherited listening socket's fd."""


class WsgiApp(Protocol):
    """Any WSGI application (the bottle app `create_app` returns is one)."""

    def __call__(
        self, environ: dict[str, object], start_response: Callable[..., object]
    ) -> Iterable[bytes]: ...


class _Trigger(Protocol):
    def pull_trigger(self, thunk: Callable[[], None] | None = None) -> None: ...


class _Dispatcher(Protocol):
    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool: ...


class _Channel(Protocol):
    requests: list[object]
    total_outbufs_len: int


class _Server(Protocol):
    """The part of a waitress server this module uses (waitress ships no type hints)."""

    effective_port: int | str
    trigger: _Trigger
    task_dispatcher: _Dispatcher

    def run(self) -> None: ...

    def close(self) -> None: ...


_Handler = Callable[[int, FrameType | None], object] | int | None


class _Stop(BaseException):
    """Raised by the supervisor's SIGTERM/SIGINT handler to leave its wait loop (a BaseException,
    like KeyboardInterrupt, so no `except Exception` it lands in can swallow it)."""


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


_BUSY_HINT = (
    "Stop the process using that port or pick another one "
    "(TUNEMELD_API__PORT / TUNEMELD_API__HOST)."
)


def _cannot_listen(host: str, port: int, exc: OSError, hint: str = _BUSY_HINT) -> ConfigError:
    return ConfigError(f"Cannot listen on {_url(host, port)}: {exc.strerror or exc}.", hint=hint)


def _create_server(
    app: WsgiApp,
    host: str,
    port: int,
    threads: int,
    socket_map: dict[int, object],
    sock: socket.socket | None = None,
) -> _Server:
    """A bound waitress server (not yet running); a busy port becomes a ConfigError. Threads
    start only after the bind, and a failed bind closes what waitress opened: no leaks."""
    dispatcher = ThreadedTaskDispatcher()
    where: dict[str, object] = (
        {"sockets": [sock]} if sock is not None else {"host": host, "port": port}
    )
    try:
        server: _Server = waitress.create_server(
            app,
            map=socket_map,
            _dispatcher=dispatcher,
            threads=threads,
            ident=_IDENT,
            **where,
        )
    except OSError as exc:
        wasyncore.close_all(socket_map, ignore_all=True)
        raise _cannot_listen(host, port, exc) from exc
    dispatcher.set_thread_count(threads)
    return server


def serve(app: WsgiApp, *, host: str, port: int, threads: int) -> None:
    """Serve `app` with waitress until Ctrl-C or SIGTERM, then stop gracefully; blocks."""
    socket_map: dict[int, object] = {}
    server = _create_server(app, host, port, threads, socket_map)
    port = int(server.effective_port)

    def started() -> None:
        log.info("api_server_started", url=_url(host, port), threads=threads, pid=os.getpid())

    try:
        _run_until_stopped(server, socket_map, started)
    finally:
        log.info("api_server_stopped", url=_url(host, port), pid=os.getpid())


def serve_socket(app: WsgiApp, sock: socket.socket, *, threads: int) -> None:
    """Serve `app` on an inherited listening socket (a worker of `serve_workers`) until SIGTERM,
    or until its supervisor is gone: else it would hold the port with nobody to stop it."""
    socket_map: dict[int, object] = {}
    server = _create_server(app, "", 0, threads, socket_map, sock=sock)
    parent = os.getppid()

    def started() -> None:
        log.info("api_worker_started", pid=os.getpid(), threads=threads)

    def orphaned() -> bool:
        if os.getppid() == parent:
            return False
        log.warning("api_worker_orphaned", pid=os.getpid(), supervisor_pid=parent)
        return True

    try:
        _run_until_stopped(server, socket_map, started, orphaned)
    finally:
        log.info("api_worker_stopped", pid=os.getpid())


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _run_until_stopped(
    server: _Server,
    socket_map: dict[int, object],
    started: Callable[[], None],
    orphaned: Callable[[], bool] = lambda: False,
) -> None:
    """Run waitress's loop until SIGTERM/SIGINT (or Ctrl-C, or `orphaned()`), then stop gracefully.

    The signal handler only counts signals, checked between the loop's turns: raising from it
    could land in waitress's own `except Exception` around a channel's I/O and be swallowed.
    Stopping finishes answers in flight for up to `_GRACE_SECONDS` (a second signal cuts that
    short). Off the main thread no handlers can be set: the loop runs until interrupted.
    """
    signals: list[int] = []
    previous: dict[int, _Handler] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda signum, _frame: signals.append(signum))
    try:
        started()  # only now: a SIGTERM from here on is a graceful stop
        with suppress(KeyboardInterrupt):
            while not signals and not orphaned():
                wasyncore.loop(timeout=_LOOP_TIMEOUT_SECONDS, map=socket_map, count=1)
        with suppress(KeyboardInterrupt):
            _drain(server, socket_map, lambda: len(signals) > 1)
    finally:
        server.task_dispatcher.shutdown(timeout=_STOP_TIMEOUT_SECONDS)
        wasyncore.close_all(socket_map, ignore_all=True)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _busy(socket_map: Mapping[int, object], listener: object) -> bool:
    """True while a connection has a request being answered or bytes still to send."""
    for channel in list(socket_map.values()):
        if channel is listener or not hasattr(channel, "requests"):
            continue  # the listener, the trigger pipe
        typed: _Channel = channel  # type: ignore[assignment]
        if typed.requests or typed.total_outbufs_len:
            return True
    return False


def _drain(server: _Server, socket_map: dict[int, object], cut_short: Callable[[], bool]) -> None:
    """Stop accepting, then run the loop until no answer is in flight (or the grace ends)."""
    server.close()
    deadline = time.monotonic() + _GRACE_SECONDS
    while (
        socket_map and _busy(socket_map, server) and time.monotonic() < deadline and not cut_short()
    ):
        wasyncore.loop(timeout=_LOOP_TIMEOUT_SECONDS, map=socket_map, count=1)


def check_workers(workers: int) -> int:
    """`workers` when it is a usable process count on this platform, else a ConfigError."""
    if workers < 1:
        raise ConfigError(
            f"--workers must be a whole number of at least 1, got {workers!r}.",
            hint="Use --workers 1 (one process) or more, e.g. one per CPU core.",
        )
    if workers > MAX_WORKERS:
        raise ConfigError(
            f"--workers {workers} is more than {MAX_WORKERS}.",
            hint=f"Use at most {MAX_WORKERS} processes per machine (one per core is plenty).",
        )
    if workers > 1 and sys.platform == "win32":
        raise ConfigError(
            "--workers above 1 needs Linux or macOS (worker processes share one socket).",
            hint="Use --workers 1 on Windows, or run several single processes behind a proxy.",
        )
    return workers


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket the workers inherit; a busy port becomes a ConfigError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        hint = "Check TUNEMELD_API__HOST (an address or name of this machine)."
        raise _cannot_listen(host, port, exc, hint) from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise _cannot_listen(host, port, exc) from exc
    sock.set_inheritable(True)
    return sock


class _Workers:
    """The worker processes of `serve_workers`: started, restarted when one dies, stopped."""

    def __init__(
        self, command: Sequence[str], sock: socket.socket, env: Mapping[str, str] | None
    ) -> None:
        self._command = [*command, LISTEN_FD_FLAG, str(sock.fileno())]
        self._env = dict(env) if env is not None else None
        self._fd = sock.fileno()
        self.processes: dict[int, tuple[subprocess.Popen[bytes], float]] = {}

    def start(self) -> None:
        process = subprocess.Popen(self._command, pass_fds=(self._fd,), env=self._env)
        self.processes[process.pid] = (process, time.monotonic())

    def reap(self) -> tuple[int, int, float] | None:
        """Wait for one worker to exit: (pid, exit code, seconds it ran); None if interrupted."""
        pid, status = os.wait()
        entry = self.processes.pop(pid, None)
        if entry is None:
            return None
        process, started = entry
        process.returncode = os.waitstatus_to_exitcode(status)
        return pid, process.returncode, time.monotonic() - started

    def stop(self) -> None:
        """SIGTERM every worker, wait for them to finish gracefully, kill what is left."""
        for process, _ in self.processes.values():
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _GRACE_SECONDS + _STOP_TIMEOUT_SECONDS
        for process, _ in list(self.processes.values()):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def serve_workers(
    command: Sequence[str],
    *,
    host: str,
    port: int,
    workers: int,
    env: Mapping[str, str] | None = None,
) -> int:
    """Serve from `workers` processes sharing one listening socket until SIGTERM or Ctrl-C.

    Each runs `command` plus `LISTEN_FD_FLAG N` (in `env`, default this one's) and serves the
    inherited socket with its own app, store and cache. A worker that dies is restarted, unless
    right after its start (a crash loop: all stop, returns 1). Returns 0 after a graceful stop.
    """
    check_workers(workers)
    sock = _listen(host, port)
    bound = int(sock.getsockname()[1])
    pool = _Workers(command, sock, env)
    previous = {
        signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    code = 0
    try:
        for _ in range(workers):
            pool.start()
        log.info("api_server_started", url=_url(host, bound), workers=workers, pid=os.getpid())
        while True:
            ended = pool.reap()
            if ended is None:
                continue
            pid, exit_code, seconds = ended
            log.warning("api_worker_exited", worker_pid=pid, exit_code=exit_code)
            if seconds < _CRASH_LOOP_SECONDS:
                log.error("api_worker_crash_loop", worker_pid=pid, seconds=round(seconds, 3))
                code = 1
                break
            pool.start()
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        for signum in previous:  # the workers get their own SIGTERM; a second one stops here
            signal.signal(signum, signal.SIG_IGN)
        pool.stop()
        sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        log.info("api_server_stopped", url=_url(host, bound), pid=os.getpid())
    return code


class RunningServer:
    """A waitress server answering in a daemon thread; `close()` (or leaving `with`) stops it."""

    def __init__(self, server: _Server, socket_map: dict[int, object], host: str) -> None:
        self._server = server
        self._map = socket_map
        self.port = int(server.effective_port)
        self.url = _url(host, self.port)
        self._closed = False
        self._thread = threading.Thread(
            target=server.run, name=f"tunemeld-api-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        """True until the server has been closed and its loop has ended."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop listening, drop open connections and end the worker threads; safe to repeat.

        Workers stop first (a finished response wakes the loop through the trigger pipe, which
        must outlive them); then the loop closes every socket from its own thread.
        """
        if self._closed:
            return
        self._closed = True
        socket_map = self._map
        self._server.task_dispatcher.shutdown(timeout=_STOP_TIMEOUT_SECONDS)

        def stop_loop() -> None:
            wasyncore.close_all(socket_map, ignore_all=True)

        trigger = self._server.trigger
        if self._thread.is_alive() and not getattr(trigger, "_closed", False):
            with suppress(OSError):  # the loop closed its trigger on its own way out
                trigger.pull_trigger(stop_loop)
            self._thread.join(_STOP_TIMEOUT_SECONDS)
        if not self._thread.is_alive():
            stop_loop()  # whatever the loop left open; closing twice is harmless

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def start_background_server(
    app: WsgiApp, host: str = "127.0.0.1", port: int = 0, *, threads: int = 4
) -> RunningServer:
    """Serve `app` in a daemon thread (port 0: a free one) and return at once, already listening."""
    socket_map: dict[int, object] = {}
    server = _create_server(app, host, port, threads, socket_map)
    running = RunningServer(server, socket_map, host)
    log.debug("api_server_started", url=running.url, threads=threads)
    return running
