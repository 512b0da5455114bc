"""The operations interface: the Invoke collection behind `inv` (tasks.py) and `tunemeld`.

Each task parses flags, calls one library function, prints, and maps errors to exit codes:
0 ok, 1 failed or partial work, 2 configuration or usage error (never a traceback for those).
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TextIO

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.program import Program
from invoke.tasks import task

from tunemeld import __version__, etl
from tunemeld._console import (
    LiveStderr,
    RichProgress,
    err_console,
    out_console,
    print_report,
    print_store_status,
    print_unit_states,
)
from tunemeld.config import Settings, TunemeldDeprecationWarning, load_settings, migrate_env_file
from tunemeld.etl.status import latest_unit_states
from tunemeld.exceptions import ConfigError, NotFound, StoreUnavailable, TunemeldError
from tunemeld.services.logging import configure_logging
from tunemeld.services.store import open_store

__all__ = ["build_namespace", "errors_to_exit", "ns", "program"]

USAGE = 2
FAILED = 1


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    err_console().print(f"[yellow]Deprecated:[/yellow] {message}", highlight=False)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """ConfigError, bad names and an unreachable store exit 2; other TuneMeld errors exit 1."""
    try:
        yield
    except (ConfigError, NotFound, StoreUnavailable) as exc:
        _print_error(exc)
        raise Exit(code=USAGE) from None
    except TunemeldError as exc:
        _print_error(exc)
        raise Exit(code=FAILED) from None


def _print_error(exc: TunemeldError) -> None:
    console = err_console()
    console.print(f"[red]Error:[/red] {exc.message}", highlight=False)
    if exc.hint:
        console.print(f"[bold]Hint:[/bold] {exc.hint}", highlight=False)


def _settings(*, logs: bool = True) -> Settings:
    """Load settings (deprecations shown once, briefly) and set up logging."""
    warnings.showwarning = _show_warning
    with warnings.catch_warnings():
        warnings.simplefilter("always", TunemeldDeprecationWarning)
        settings = load_settings()
    if logs:
        configure_logging(settings, stream=LiveStderr())  # type: ignore[arg-type]
    return settings


def _sample_notice(settings: Settings) -> None:
    if settings.providers.uses_sample:
        reason = (
            "providers.mode is sample"
            if settings.providers.mode == "sample"
            else "no API keys are set"
        )
        err_console().print(
            f"[cyan]Notice:[/cyan] {reason}: using the offline sample world "
            "(set RAPIDAPI_KEY, SPOTIFY_CLIENT_ID/SECRET and YOUTUBE_API_KEY for live data).",
            highlight=False,
        )


# --- setup -------------------------------------------------------------------------------------


@task
def setup(c: Context) -> None:
    """Prepare a checkout: .env from .env.example, the store and its indexes, a config check."""
    with errors_to_exit():
        env, example = Path(".env"), Path(".env.example")
        console = out_console()
        if not env.exists() and example.exists():
            shutil.copyfile(example, env)
            console.print("Created .env from .env.example (fill in keys for live data).")
        settings = _settings(logs=False)
        store = open_store(settings)
        try:
            console.print(f"Store ready: {store.url}")
        finally:
            store.close()
        _sample_notice(settings)
        console.print("Next: `inv etl.run --stage full`, then `inv api.start`.")


# --- etl ---------------------------------------------------------------------------------------


@task(
    iterable=["genre", "service"],
    help={
        "stage": "extract|transform|aggregate|view_count|full (default full)",
        "genre": "only this genre (repeatable): country, dance, pop, rap",
        "service": "only this service for extract/transform (repeatable): "
        "Spotify, AppleMusic, SoundCloud",
        "dry-run": "print the plan and the calls it would make; change nothing",
        "date": "the day to run as, YYYY-MM-DD (default today); the sample world evolves with it",
    },
)
def run(
    c: Context,
    stage: str = "full",
    genre: list[str] | None = None,
    service: list[str] | None = None,
    dry_run: bool = False,
    date_: str = "",
) -> None:
    """Run ETL stages and print the run report; exit 1 if any unit failed."""
    with errors_to_exit():
        as_of = _parse_date(date_) if date_ else None
        settings = _settings()
        _sample_notice(settings)
        interactive = sys.stderr.isatty() and not dry_run
        progress = RichProgress(err_console()) if interactive else None
        try:
            report = etl.run(
                settings,
                stages=[s for s in stage.split(",") if s],
                genres=genre or None,
                services=service or None,
                dry_run=dry_run,
                as_of=as_of,
                progress=progress,
            )
        finally:
            if progress is not None:
                progress.stop()
    print_report(report, out_console())
    if not report.ok:
        raise Exit(code=FAILED)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--date {text!r} is not a date.", hint="Use YYYY-MM-DD, e.g. --date 2026-11-24."
        ) from None


@task(name="status")
def etl_status(c: Context) -> None:
    """Show the newest result of every (stage, service, genre) unit."""
    with errors_to_exit():
        settings = _settings(logs=False)
        store = open_store(settings)
        try:
            states = latest_unit_states(store)
        finally:
            store.close()
    print_unit_states(states, out_console())


# --- api ---------------------------------------------------------------------------------------


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
        settings = _settings()
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
        settings = _settings(logs=False)
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


# --- config ------------------------------------------------------------------------------------


@task(name="show")
def config_show(c: Context) -> None:
    """Print the effective settings with every secret masked."""
    with errors_to_exit():
        settings = _settings(logs=False)
    data = settings.redacted()
    data["providers"]["effective"] = (
        "sample world" if settings.providers.uses_sample else "live APIs"
    )
    out_console().print_json(json.dumps(data))


@task(name="validate")
def config_validate(c: Context) -> None:
    """Check the settings (production refuses unsafe values); exit 2 with every problem listed."""
    with errors_to_exit():
        settings = _settings(logs=False)
    out_console().print(f"Configuration is valid for the {settings.env.value} profile.")


@task(
    name="migrate-env",
    help={
        "source": "old env file (default .env.dev)",
        "target": "file to write (default .env)",
        "overwrite": "replace an existing target (a .bak copy is kept)",
        "dry-run": "show the renames without writing",
    },
)
def config_migrate_env(
    c: Context,
    source: str = ".env.dev",
    target: str = ".env",
    overwrite: bool = False,
    dry_run: bool = False,
) -> None:
    """Rewrite an old env file with the current setting names."""
    with errors_to_exit():
        result = migrate_env_file(Path(source), Path(target), overwrite=overwrite, dry_run=dry_run)
    console = out_console()
    for old, new in result.renamed:
        console.print(f"renamed {old} -> {new}")
    for old in result.dropped:
        console.print(f"dropped {old} (its new name is already set)")
    if not result.renamed and not result.dropped:
        console.print("No legacy names found.")
    if dry_run:
        console.print("Dry run: nothing written.")
        return
    if result.backup:
        console.print(f"Kept a copy of the old {result.target} as {result.backup}.")
    console.print(f"Wrote {result.target}.")


# --- db ----------------------------------------------------------------------------------------


@task(name="status")
def db_status(c: Context) -> None:
    """Count the records of every collection and show the newest one's time."""
    with errors_to_exit():
        settings = _settings(logs=False)
        store = open_store(settings)
        try:
            statuses = store.status()
            url = store.url
        finally:
            store.close()
    print_store_status(url, statuses, out_console())


@task(name="init")
def db_init(c: Context) -> None:
    """Create the store's collections and indexes (safe to run again)."""
    with errors_to_exit():
        settings = _settings(logs=False)
        store = open_store(settings)
        try:
            store.init()
            url = store.url
        finally:
            store.close()
    out_console().print(f"Store initialised: {url}")


@task(name="reset", help={"yes": "do not ask for confirmation"})
def db_reset(c: Context, yes: bool = False) -> None:
    """Delete every record in the store (asks first unless --yes)."""
    with errors_to_exit():
        settings = _settings(logs=False)
        store = open_store(settings)
        try:
            if not yes:
                if not sys.stdin.isatty():
                    raise ConfigError(
                        f"Refusing to delete everything in {store.url} without confirmation.",
                        hint="Pass --yes to confirm when running without a terminal.",
                    )
                answer = input(f"Delete every record in {store.url}? Type 'yes' to confirm: ")
                if answer.strip().lower() != "yes":
                    out_console().print("Nothing deleted.")
                    return
            store.reset()
            url = store.url
        finally:
            store.close()
    out_console().print(f"Deleted every record in {url}.")


def build_namespace() -> Collection:
    """A fresh collection of every operations task (tasks.py adds the repo-only `dev` tasks)."""
    return Collection(
        setup,
        Collection("etl", run, etl_status),
        Collection("api", start, health),
        Collection("config", config_show, config_validate, config_migrate_env),
        Collection("db", db_status, db_init, db_reset),
    )


ns = build_namespace()
program = Program(namespace=ns, version=__version__, name="TuneMeld", binary="tunemeld")
