"""`inv db.*`: look after the store."""

from __future__ import annotations

import sys

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from tunemeld._console import out_console, print_store_status
from tunemeld.cli._common import errors_to_exit, load_cli_settings
from tunemeld.exceptions import ConfigError
from tunemeld.services.store import open_store

__all__ = ["collection"]


@task(name="status")
def status(c: Context) -> None:
    """Count the records of every collection and show the newest one's time."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        store = open_store(settings)
        try:
            statuses = store.status()
            url = store.url
        finally:
            store.close()
    print_store_status(url, statuses, out_console())


@task(name="init")
def init(c: Context) -> None:
    """Create the store's collections and indexes (safe to run again)."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        store = open_store(settings)
        try:
            store.init()
            url = store.url
        finally:
            store.close()
    out_console().print(f"Store initialised: {url}")


@task(name="reset", help={"yes": "do not ask for confirmation"})
def reset(c: Context, yes: bool = False) -> None:
    """Delete every record in the store (asks first unless --yes)."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
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


def collection() -> Collection:
    """The `db` tasks."""
    return Collection("db", status, init, reset)
