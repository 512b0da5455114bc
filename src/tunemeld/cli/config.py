"""`inv config.*`: show, check and migrate settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task
from pydantic import ValidationError

from tunemeld._console import out_console
from tunemeld.cli._common import USAGE, errors_to_exit, load_cli_settings, print_error
from tunemeld.config import Environment, Settings, migrate_env_file
from tunemeld.exceptions import ConfigError

__all__ = ["migrate_env", "show", "validate"]


_ENV_HELP = "the profile to show: development, testing or production (default: the current one)"


def _profile(env: str) -> dict[str, Any]:
    """`load_settings` overrides for `--env`; nothing (the current profile) when it is empty."""
    return {"env": Environment.parse(env)} if env else {}


@task(name="show", help={"env": _ENV_HELP})
def show(c: Context, env: str = "") -> None:
    """Print the settings a profile runs with, every secret masked; the environment is unchanged.

    A profile that refuses its settings (production without keys) is shown, then its problems
    are listed and the task exits 2.
    """
    refused: ConfigError | None = None
    with errors_to_exit():
        overrides = _profile(env)
        try:
            settings = load_cli_settings(logs=False, **overrides)
        except ConfigError as exc:
            try:
                settings = Settings(**overrides)
            except ValidationError:
                raise exc from None
            refused = exc
    data = settings.redacted()
    data["providers"]["effective"] = (
        "sample world" if settings.providers.uses_sample else "live APIs"
    )
    out_console().print_json(json.dumps(data))
    if refused is not None:
        print_error(refused)
        raise Exit(code=USAGE)


@task(name="validate", help={"env": "the profile to check (default: the current one)"})
def validate(c: Context, env: str = "") -> None:
    """Check the settings (production refuses unsafe values); exit 2 with every problem listed."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False, **_profile(env))
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
