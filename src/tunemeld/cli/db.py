"""`inv db.*`: look after the store."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.tasks import task
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tunemeld._console import err_console, out_console, print_store_status
from tunemeld.cli._common import errors_to_exit, load_cli_settings
from tunemeld.config import Settings
from tunemeld.exceptions import ConfigError
from tunemeld.services.store import Store, open_store, open_store_url
from tunemeld.services.store.lease import RunLease, take_run_lease
from tunemeld.services.store.transfer import (
    Progress as TransferProgress,
)
from tunemeld.services.store.transfer import (
    copy_store,
    export_store,
    import_store,
)

__all__ = ["copy", "export", "import_", "init", "reset", "status"]


@task(name="status")
def status(c: Context) -> None:
    """Count the records of every collection and show the newest one's time."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        with open_store(settings) as store:
            statuses = store.status()
            url = store.url
    print_store_status(url, statuses, out_console())


@task(name="init")
def init(c: Context) -> None:
    """Create the store's collections and indexes (safe to run again)."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        with open_store(settings) as store:
            store.init()
            url = store.url
    out_console().print(f"Store initialised: {url}")


@task(name="reset", help={"yes": "do not ask for confirmation"})
def reset(c: Context, yes: bool = False) -> None:
    """Delete every record in the store (asks first unless --yes)."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        with open_store(settings) as store:
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
            with _writing(store, "db.reset", settings):
                store.reset()
            url = store.url
    out_console().print(f"Deleted every record in {url}.")


@task(name="export", help={"path": "a new (or empty) folder to write the export to"})
def export(c: Context, path: str) -> None:
    """Write the whole store to PATH: one JSON-lines file per collection and a manifest."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        with open_store(settings) as store, _progress() as progress:
            counts = export_store(store, Path(path), progress=progress)
            url = store.url
    out_console().print(f"Exported {_total(counts)} records from {url} to {path}.")


@task(
    name="import",
    help={
        "path": "a folder written by db.export",
        "replace": "delete everything in the store first (otherwise it must be empty)",
    },
)
def import_(c: Context, path: str, replace: bool = False) -> None:
    """Load an export from PATH into the store (an empty one, unless --replace)."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        with (
            open_store(settings) as store,
            _writing(store, "db.import", settings),
            _progress() as progress,
        ):
            counts = import_store(store, Path(path), replace=replace, progress=progress)
            url = store.url
    out_console().print(f"Imported {_total(counts)} records from {path} into {url}.")


@task(
    name="copy",
    help={
        "to": "the target store's URL (mongodb://..., mongodb+srv://... or sqlite:///...)",
        "replace": "delete everything in the target first (otherwise it must be empty)",
    },
)
def copy(c: Context, to: str = "", replace: bool = False) -> None:
    """Copy every record from the configured store to the store at --to."""
    with errors_to_exit():
        if not to:
            raise ConfigError(
                "db.copy needs the target store's URL.",
                hint="Pass --to mongodb://host:27017/tunemeld (or another store's URL).",
            )
        settings = load_cli_settings(logs=False)
        with (
            open_store(settings) as source,
            open_store_url(to, settings) as target,
            _writing(target, "db.copy", settings),
            _progress() as progress,
        ):
            counts = copy_store(source, target, replace=replace, progress=progress)
            urls = (source.url, target.url)
    out_console().print(f"Copied {_total(counts)} records from {urls[0]} to {urls[1]}.")


@contextmanager
def _progress() -> Iterator[TransferProgress]:
    """A progress bar per collection on stderr in a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield lambda collection, done, total: None
        return
    bar = Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
    )
    tasks: dict[str, Any] = {}

    def report(collection: str, done: int, total: int) -> None:
        if collection not in tasks:
            tasks[collection] = bar.add_task(collection, total=total)
        bar.update(tasks[collection], completed=done, total=max(total, done))

    with bar:
        yield report


def _writing(store: Store, task: str, settings: Settings) -> RunLease:
    """The run lease for a task that writes the whole store: no ETL run may write meanwhile."""
    return take_run_lease(
        store, run_id=f"{task}-{uuid.uuid4().hex[:8]}", seconds=settings.etl.lease_seconds
    )


def _total(counts: dict[str, int]) -> int:
    return sum(counts.values())
