"""`inv etl.*`: run ETL stages and show what they did."""

from __future__ import annotations

import sys

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tunemeld import etl
from tunemeld._console import (
    LiveStderr,
    RichProgress,
    err_console,
    out_console,
    print_report,
    print_run_usage,
    print_unit_states,
    print_validation,
)
from tunemeld.cli._common import (
    FAILED,
    catalog_genres,
    errors_to_exit,
    load_cli_settings,
    parse_date,
    parse_genres,
    parse_seconds,
    parse_services,
    parse_stages,
    sample_notice,
)
from tunemeld.config import Settings
from tunemeld.etl.status import UnitState, as_seen_now, current_writer, latest_unit_states
from tunemeld.exceptions import ConfigError, NotFound
from tunemeld.models import RunReport, RunStatus, Service
from tunemeld.services.logging import configure_logging
from tunemeld.services.store import open_store

__all__ = ["run", "status", "validate"]


@task(
    iterable=["genre", "service"],
    help={
        "stage": "extract|transform|aggregate|view_count|full, or a comma list (default full)",
        "genre": "only this genre of the playlist catalog (repeatable or a comma list)",
        "service": "only this service for extract/transform (repeatable or a comma list): "
        + ", ".join(Service),
        "dry-run": "print the plan and the calls it would make; change nothing",
        "date": "the day to run as, YYYY-MM-DD (default today); the sample world evolves with it",
        "wait": "if another run is writing to the store, wait up to SECONDS for it to finish "
        "(default 0: exit 2 at once, naming it)",
    },
)
def run(
    c: Context,
    stage: str = "full",
    genre: list[str] | None = None,
    service: list[str] | None = None,
    dry_run: bool = False,
    date_: str = "",
    wait: str = "0",
) -> None:
    """Run ETL stages and print the run report; exit 1 if a unit failed, 2 if the store is busy."""
    with errors_to_exit():
        stages = parse_stages(stage)
        services = parse_services(service)
        as_of = parse_date(date_) if date_ else None
        wait_seconds = parse_seconds("wait", wait)
        settings = load_cli_settings()
        genres = parse_genres(genre, catalog_genres(settings))
        sample_notice(settings)
        interactive = sys.stderr.isatty() and not dry_run
        progress = RichProgress(err_console()) if interactive else None
        try:
            report = etl.run(
                settings,
                stages=stages,
                genres=genres or None,
                services=services or None,
                dry_run=dry_run,
                as_of=as_of,
                progress=progress,
                wait=wait_seconds,
            )
        finally:
            if progress is not None:
                progress.stop()
    print_report(report, out_console())
    if not report.ok:
        raise Exit(code=FAILED)


@task(name="status", help={"run": "show this run's record in detail (run id from etl.run)"})
def status(c: Context, run: str = "") -> None:
    """Show the newest result of every (stage, service, genre) unit, or one run's details.

    Read-only: it never waits for, nor takes, the run lease. A `running` record whose process
    is gone shows as `abandoned`.
    """
    report: RunReport | None = None
    states: list[UnitState] = []
    writer: str | None = None
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
        with open_store(settings) as store:
            if run:
                report = store.get_run(run)
                if report is None:
                    recent = ", ".join(r.run_id for r in store.list_runs(5)) or "none yet"
                    raise NotFound(
                        f"No run {run!r} is recorded.",
                        hint=f"Recent runs: {recent}. `inv etl.status` lists them by unit.",
                    )
            else:
                states = latest_unit_states(store)
                newest = store.list_runs(1)
                report = newest[0] if newest else None
            if report is not None:
                report = as_seen_now(store, report)
            writer = current_writer(store)
    console = out_console()
    if run and report is not None:
        print_report(report, console)
        return
    print_unit_states(states, console)
    if writer is not None:
        console.print(f"Writing now: {writer}.")
    if report is not None:
        seen = (
            f", last seen alive {report.last_seen_at:%Y-%m-%d %H:%M:%S} UTC"
            if report.status is RunStatus.ABANDONED and report.last_seen_at
            else ""
        )
        console.print(
            f"Newest run {report.run_id} (as of {report.as_of}, {report.status.value}{seen}); "
            f"`inv etl.status --run {report.run_id}` shows all of it."
        )
        print_run_usage(report, console)


@task(
    name="validate",
    help={"live": "also make one cheap real call to each provider (spends a few quota units)"},
)
def validate(c: Context, live: bool = False) -> None:
    """Check configuration, catalog, store, keys, quota and packages for a full run.

    Exit 0 when ready, 2 for a set-up problem, 1 when only quota or a live call failed.
    """
    from tunemeld.etl.validate import validate as validate_setup

    try:
        load_cli_settings()  # deprecation notices and logs to stderr; the table to stdout
    except ConfigError:  # the report's configuration row says what is wrong
        configure_logging(Settings.model_construct(), stream=LiveStderr())  # type: ignore[arg-type]
    report = validate_setup(live=live)
    print_validation(report, out_console())
    if report.exit_code:
        raise Exit(code=report.exit_code)
