"""`inv api.*`: serve the JSON API and check a running server."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tunemeld._console import err_console, out_console
from tunemeld.cli._common import FAILED, errors_to_exit, load_cli_settings
from tunemeld.services.store import open_store

__all__ = ["collection"]


@task(
    help={
        "host": "interface to bind (default from settings: 127.0.0.1)",
        "port": "port (default 8000)",
    }
)
def start(c: Context, host: str = "", port: int = 0) -> None:
    """Serve the JSON API with waitress until interrupted."""
    from tunemeld.api import create_app
    from tunemeld.api.server import serve
    from tunemeld.services.cache import open_cache
    from tunemeld.services.monitoring import Metrics

    with errors_to_exit():
        settings = load_cli_settings()
        store = open_store(settings)
        metrics = Metrics()
        app = create_app(settings, store, open_cache(settings, metrics=metrics), metrics=metrics)
        bind_host = host or settings.api.host
        bind_port = port or settings.api.port
        err_console().print(
            f"Serving on http://{bind_host}:{bind_port} (store {store.url}); Ctrl-C stops."
        )
        try:
            serve(app, host=bind_host, port=bind_port, threads=settings.api.threads)
        except KeyboardInterrupt:
            pass
        finally:
            store.close()


@task(help={"url": "base URL of a running server (default http://<api.host>:<api.port>)"})
def health(c: Context, url: str = "") -> None:
    """Check a running API server: /health and every data route of every genre."""
    from rich.table import Table

    from tunemeld.api.check import check_server

    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        base = url or f"http://{settings.api.host}:{settings.api.port}"
        checks = check_server(base)
    table = Table(title=f"API health of {base}")
    for name in ("route", "status", "latency ms", "result"):
        table.add_column(name)
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


def collection() -> Collection:
    """The `api` tasks."""
    return Collection("api", start, health)
