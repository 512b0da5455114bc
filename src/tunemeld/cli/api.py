"""`inv api.*`: serve the JSON API and check a running server."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tunemeld._console import err_console, make_table, out_console
from tunemeld.cli._common import (
    FAILED,
    catalog_genres,
    errors_to_exit,
    load_cli_settings,
    parse_count,
    parse_port,
    parse_seconds,
)
from tunemeld.config import Settings
from tunemeld.services.logging import DEFAULT_LOG_FILE
from tunemeld.services.store import open_store

__all__ = ["health", "logs", "start"]


@task(
    optional=["log_file"],
    help={
        "host": "interface to bind (default from settings: 127.0.0.1)",
        "port": "port, 1-65535 (default from settings: 8000)",
        "log-file": "also write JSON logs to this file, rotated by size "
        "(without a value: TUNEMELD_LOGGING__FILE or .tunemeld/logs/tunemeld.log)",
        "workers": "processes serving the port (default 1; above 1 needs Linux or macOS, "
        "each worker has its own memory cache)",
    },
)
def start(
    c: Context, host: str = "", port: str = "", log_file: str | bool = "", workers: str = "1"
) -> None:
    """Serve the JSON API with waitress until Ctrl-C or SIGTERM (then stop gracefully)."""
    from tunemeld.api.server import MAX_WORKERS, check_workers

    with errors_to_exit():
        bind_port = parse_port("port", port) if port else None
        count = check_workers(parse_count("workers", workers, low=1, high=MAX_WORKERS))
        settings = load_cli_settings()
        path = _log_path(settings, log_file)
        if path is not None:
            logging = settings.logging.model_copy(update={"file": path})
            settings = settings.model_copy(update={"logging": logging})
        bind_host = host or settings.api.host
        bind_port = bind_port or settings.api.port
        if count > 1:
            _start_workers(settings, bind_host, bind_port, count, path)
        else:
            _start_one(settings, bind_host, bind_port)


def _start_one(settings: Settings, host: str, port: int) -> None:
    """One process: the app served by waitress in this process (works everywhere)."""
    from tunemeld.api import create_app
    from tunemeld.api.server import serve
    from tunemeld.services.cache import open_cache
    from tunemeld.services.logging import close_log_file
    from tunemeld.services.monitoring import Metrics

    with contextlib.ExitStack() as closing:  # the cache, then the store, then the log file
        closing.callback(close_log_file)
        store = closing.enter_context(open_store(settings))
        metrics = Metrics()
        cache = open_cache(settings, metrics=metrics)
        closing.callback(cache.close)
        app = create_app(settings, store, cache, metrics=metrics)
        where = f"; logs to {settings.logging.file}" if settings.logging.file else ""
        err_console().print(
            f"Serving on http://{host}:{port} (store {store.url}, "
            f"cache {cache.name}{where}); Ctrl-C stops."
        )
        with contextlib.suppress(KeyboardInterrupt):
            serve(app, host=host, port=port, threads=settings.api.threads)


def _start_workers(
    settings: Settings, host: str, port: int, workers: int, log_file: Path | None
) -> None:
    """N worker processes on one socket; the store is checked here first, so errors exit 2."""
    import os

    from tunemeld.api.server import serve_workers

    with open_store(settings) as store:
        url = store.url
    env = dict(os.environ)
    if log_file is not None:
        env["TUNEMELD_LOGGING__FILE"] = str(log_file)
    where = f"; logs to {log_file}" if log_file else ""
    err_console().print(
        f"Serving on http://{host}:{port} from {workers} worker processes (store {url}, "
        f"cache {settings.cache.backend} in each worker{where}); Ctrl-C or SIGTERM stops."
    )
    command = [sys.executable, "-m", "tunemeld.api.worker"]
    if serve_workers(command, host=host, port=port, workers=workers, env=env) != 0:
        raise Exit(code=FAILED)


def _log_path(settings: Settings, flag: str | bool) -> Path | None:
    """The file `--log-file` names: its value, else the setting, else the default path."""
    if isinstance(flag, str) and flag:
        return Path(flag)
    if flag is True:
        return settings.logging.file or DEFAULT_LOG_FILE
    return None


@task(help={"url": "base URL of a running server (default http://<api.host>:<api.port>)"})
def health(c: Context, url: str = "") -> None:
    """Check a running API server: /health and every data route of every genre."""
    from tunemeld.api.check import check_server

    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        base = url or f"http://{settings.api.host}:{settings.api.port}"
        checks = check_server(base, catalog_genres(settings))
    table = make_table(f"API health of {base}", "route", "status", "latency ms", "result")
    for check in checks:
        table.add_row(
            check.path,
            str(check.status) if check.status is not None else "-",
            f"{check.latency_ms:.1f}",
            "[green]ok[/green]" if check.ok else f"[red]{check.error or 'failed'}[/red]",
        )
    out_console().print(table)
    if not all(check.ok for check in checks):
        raise Exit(code=FAILED)


@task(
    help={
        "n": "how many of the last lines to show, 0 or more (default 50)",
        "follow": "keep printing new lines until Ctrl-C",
        "file": "the log file (default TUNEMELD_LOGGING__FILE or .tunemeld/logs/tunemeld.log)",
        "seconds": "with --follow, stop after this many seconds, 0 or more "
        "(default 0: until Ctrl-C)",
    }
)
def logs(
    c: Context, n: str = "50", follow: bool = False, file: str = "", seconds: str = "0"
) -> None:
    """Show the API server's log file: the last lines, and with --follow the new ones."""
    from tunemeld.exceptions import ConfigError

    with errors_to_exit():
        lines = parse_count("n", n)
        until = parse_seconds("seconds", seconds)
        settings = load_cli_settings(logs=False)
        path = Path(file) if file else settings.logging.file or DEFAULT_LOG_FILE
        if not path.is_file() and not follow:
            raise ConfigError(
                f"No log file at {path}.",
                hint="Start the server with `inv api.start --log-file` (or set "
                "TUNEMELD_LOGGING__FILE), or name the file with --file.",
            )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the output quietly
        _print_log(path, lines, follow, until)


def _print_log(path: Path, n: int, follow: bool, seconds: float) -> None:
    """Print the last `n` lines, then (with `follow`) new ones until `seconds` pass."""
    from tunemeld.services.logging import follow_log, tail_log

    out = sys.stdout
    for line in tail_log(path, n):
        out.write(line + "\n")
    out.flush()
    if not follow:
        return
    deadline = time.monotonic() + seconds if seconds > 0 else None
    for line in follow_log(
        path,
        poll_seconds=0.1,
        stop=lambda: deadline is not None and time.monotonic() >= deadline,
    ):
        out.write(line + "\n")
        out.flush()
