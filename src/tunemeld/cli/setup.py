"""`inv setup`: prepare a fresh checkout in one step."""

from __future__ import annotations

import shutil
from pathlib import Path

from invoke.context import Context
from invoke.tasks import task

from tunemeld._console import out_console
from tunemeld.cli._common import errors_to_exit, load_cli_settings, sample_notice
from tunemeld.services.store import open_store

__all__ = ["setup"]


@task
def setup(c: Context) -> None:
    """Prepare a checkout: .env from .env.example, the store and its indexes, a config check."""
    with errors_to_exit():
        env, example = Path(".env"), Path(".env.example")
        console = out_console()
        if not env.exists() and example.exists():
            shutil.copyfile(example, env)
            console.print("Created .env from .env.example (fill in keys for live data).")
        settings = load_cli_settings(logs=False)
        with open_store(settings) as store:
            console.print(f"Store ready: {store.url}")
        sample_notice(settings)
        console.print("Next: `inv etl.run --stage full`, then `inv api.start`.")
