"""Serving the app with waitress: blocking for `inv api.start`, in a thread for tests and checks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from types import TracebackType
from typing import Protocol

import structlog
import waitress
from waitress import wasyncore
from waitress.task import ThreadedTaskDispatcher

from tunemeld.exceptions import ConfigError

__all__ = ["RunningServer", "WsgiApp", "serve", "start_background_server"]

log = structlog.get_logger()

_IDENT = "tunemeld"
_STOP_TIMEOUT_SECONDS = 5.0


class WsgiApp(Protocol):
    """Any WSGI application (the bottle app `create_app` returns is one)."""

    def __call__(
        self, environ: dict[str, object], start_response: Callable[..., object]
    ) -> Iterable[bytes]:
        """Answer one request."""
        ...


class _Trigger(Protocol):
    def pull_trigger(self, thunk: Callable[[], None] | None = None) -> None: ...


class _Dispatcher(Protocol):
    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool: ...


class _Server(Protocol):
    """The part of a waitress server this module uses (waitress ships no type hints)."""

    effective_port: int | str
    trigger: _Trigger
    task_dispatcher: _Dispatcher

    def run(self) -> None: ...


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _create_server(
    app: WsgiApp, host: str, port: int, threads: int, socket_map: dict[int, object]
) -> _Server:
    """A bound waitress server (not yet running); a busy port becomes a ConfigError.

    The worker threads start only once the socket is bound, and a failed bind closes what
    waitress had opened, so a refused port leaks neither threads nor file descriptors.
    """
    dispatcher = ThreadedTaskDispatcher()
    try:
        server: _Server = waitress.create_server(
            app,
            map=socket_map,
            _dispatcher=dispatcher,
            host=host,
            port=port,
            threads=threads,
            ident=_IDENT,
        )
    except OSError as exc:
        wasyncore.close_all(socket_map, ignore_all=True)
        raise ConfigError(
            f"Cannot listen on {_url(host, port)}: {exc.strerror or exc}.",
            hint="Stop the process using that port or pick another one "
            "(TUNEMELD_API__PORT / TUNEMELD_API__HOST).",
        ) from exc
    dispatcher.set_thread_count(threads)
    return server


def serve(app: WsgiApp, *, host: str, port: int, threads: int) -> None:
    """Serve `app` with waitress until interrupted (Ctrl-C); blocks."""
    server = _create_server(app, host, port, threads, {})
    port = int(server.effective_port)
    log.info("api_server_started", url=_url(host, port), threads=threads)
    try:
        server.run()
    finally:
        log.info("api_server_stopped", url=_url(host, port))


class RunningServer:
    """A waitress server answering in a daemon thread; `close()` (or leaving `with`) stops it."""

    def __init__(self, server: _Server, socket_map: dict[int, object], host: str) -> None:
        self._server = server
        self._map = socket_map
        self.port = int(server.effective_port)
        self.url = _url(host, self.port)
        self._closed = False
        self._thread = threading.Thread(
            target=server.run,
            name=f"tunemeld-api-{self.port}",
            daemon=True,
        )

    def _start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        """True until the server has been closed and its loop has ended."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop listening, drop open connections and end the worker threads; safe to repeat.

        Workers stop first: a worker that finishes a response wakes the loop through its
        trigger pipe, so the trigger must outlive them. Then the loop closes every socket from
        its own thread (no races on its map) and ends.
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
    running._start()
    log.debug("api_server_started", url=running.url, threads=threads)
    return running
