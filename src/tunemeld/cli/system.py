"""`inv system.*`: the whole system's health in one table (or JSON)."""

from __future__ import annotations

import json
import sys

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tunemeld._console import out_console, print_health
from tunemeld.cli._common import FAILED, errors_to_exit, load_cli_settings

__all__ = ["health"]


@task(
    help={
        "live": "also make one cheap real call to each provider (spends a few quota units)",
        "json": "print the report as JSON instead of a table",
    }
)
def health(c: Context, live: bool = False, json_: bool = False) -> None:
    """Check store, cache, providers, disk, last ETL run and data freshness; exit 1 on a failure."""
    from tunemeld.services.health import run_health

    with errors_to_exit():
        settings = load_cli_settings()  # logs go to stderr; the report alone to stdout
        report = run_health(settings, live=live)
    if json_:
        sys.stdout.write(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    else:
        print_health(report, out_console())
    if not report.ok:
        raise Exit(code=FAILED)
