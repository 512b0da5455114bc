"""`inv config.*`: show, check and migrate settings."""

from __future__ import annotations

import json
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from tunemeld._console import out_console
from tunemeld.cli._common import errors_to_exit, load_cli_settings
from tunemeld.config import migrate_env_file

__all__ = ["collection"]


@task(name="show")
def show(c: Context) -> None:
    """Print the effective settings with every secret masked."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
    data = settings.redacted()
    data["providers"]["effective"] = (
        "sample world" if settings.providers.uses_sample else "live APIs"
    )
    out_console().print_json(json.dumps(data))


@task(name="validate")
def validate(c: Context) -> None:
    """Check the settings (production refuses unsafe values); exit 2 with every problem listed."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
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
def migrate_env(
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


def collection() -> Collection:
    """The `config` tasks."""
    return Collection("config", show, validate, migrate_env)
