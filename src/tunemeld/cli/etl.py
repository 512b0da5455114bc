"""`inv etl.*`: run ETL stages and show what they did."""

from __future__ import annotations

import sys

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tunemeld import etl
from tunemeld._console import (
    RichProgress,
    err_console,
    out_console,
    print_report,
    print_unit_states,
)
from tunemeld.cli._common import (
    FAILED,
    errors_to_exit,
    load_cli_settings,
    parse_date,
    sample_notice,
)
from tunemeld.etl.status import latest_unit_states
from tunemeld.services.store import open_store

__all__ = ["collection"]


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
        as_of = parse_date(date_) if date_ else None
        settings = load_cli_settings()
        sample_notice(settings)
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


@task(name="status")
def status(c: Context) -> None:
    """Show the newest result of every (stage, service, genre) unit."""
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        store = open_store(settings)
        try:
            states = latest_unit_states(store)
        finally:
            store.close()
    print_unit_states(states, out_console())


def collection() -> Collection:
    """The `etl` tasks."""
    return Collection("etl", run, status)
