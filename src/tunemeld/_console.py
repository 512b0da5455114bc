"""Rich rendering for the CLI: progress, the run summary and status tables (no logic)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tunemeld.etl import Unit
from tunemeld.etl.status import UnitState
from tunemeld.models import AGGREGATE, Genre, RunReport, Service, Stage, UnitResult, UnitStatus
from tunemeld.services.store import CollectionStatus

__all__ = [
    "RichProgress",
    "err_console",
    "out_console",
    "print_report",
    "print_store_status",
    "print_unit_states",
]


def out_console() -> Console:
    """Results go to stdout."""
    return Console(soft_wrap=False)


def err_console() -> Console:
    """Notices, errors and progress go to stderr."""
    return Console(stderr=True, soft_wrap=True)


class LiveStderr:
    """A stream that writes to whatever sys.stderr is now, so logs flow above a progress bar."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


class RichProgress:
    """A progress bar over the run's units, implementing `tunemeld.etl.Progress`."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = None

    def planned(self, units: Sequence[Unit]) -> None:
        self._progress.start()
        self._task = self._progress.add_task("starting", total=len(units))

    def started(self, unit: Unit) -> None:
        self._progress.update(self._task, description=unit.label)

    def finished(self, unit: Unit, result: UnitResult) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.update(self._task, description="done")
        self._progress.stop()


def _count(
    units: list[UnitResult], stage: Stage, genre: Genre, service: Service | None, key: str
) -> str:
    for unit in units:
        if unit.stage is stage and unit.genre is genre and unit.service is service:
            if unit.status is UnitStatus.OK:
                return str(unit.counts.get(key, 0))
            return f"[red]{unit.status.value}[/red]"
    return "-"


def print_report(report: RunReport, console: Console) -> None:
    """The end-of-run summary: per genre, per provider, failures and duration."""
    if report.dry_run:
        table = Table(title=f"Dry run plan ({len(report.units)} units, as of {report.as_of})")
        table.add_column("unit")
        table.add_column("calls it would make")
        for unit in report.units:
            table.add_row(unit.label, "\n".join(unit.planned_calls))
        console.print(table)
        return
    table = Table(title=f"Run {report.run_id} as of {report.as_of}: {report.status.value}")
    table.add_column("genre")
    for service in Service:
        table.add_column(f"{service.value} tracks", justify="right")
    table.add_column(f"{AGGREGATE} tracks", justify="right")
    table.add_column("view samples", justify="right")
    for genre in report.genres:
        cells = [
            _count(report.units, Stage.TRANSFORM, genre, service, "tracks")
            if service in report.services
            else "-"
            for service in Service
        ]
        cells.append(_count(report.units, Stage.AGGREGATE, genre, None, "tracks"))
        cells.append(_count(report.units, Stage.VIEW_COUNT, genre, None, "samples"))
        table.add_row(genre.value, *cells)
    console.print(table)

    calls = Table(title="Provider calls")
    calls.add_column("provider")
    calls.add_column("calls", justify="right")
    calls.add_column("quota units", justify="right")
    calls.add_column("by endpoint")
    for provider, endpoints in sorted(report.calls.items()):
        calls.add_row(
            provider,
            str(sum(endpoints.values())),
            str(report.quota_units.get(provider, 0)),
            ", ".join(f"{name} {n}" for name, n in sorted(endpoints.items())),
        )
    if report.calls:
        console.print(calls)

    for unit in report.failed_units:
        console.print(f"[red]failed[/red] {unit.label}: {unit.error}")
        if unit.hint:
            console.print(f"        hint: {unit.hint}")
    skipped = [u for u in report.units if u.status is UnitStatus.SKIPPED]
    for unit in skipped:
        console.print(f"[yellow]skipped[/yellow] {unit.label}: {unit.error}")
    console.print(f"Duration: {report.duration_ms / 1000:.1f} s; status: {report.status.value}")


def print_unit_states(states: Sequence[UnitState], console: Console) -> None:
    """`inv etl.status`: the newest result per unit."""
    if not states:
        console.print("No runs recorded yet: run `inv etl.run --stage full`.")
        return
    table = Table(title="Last run per stage, service and genre")
    for name in (
        "stage",
        "service",
        "genre",
        "status",
        "as of",
        "run",
        "started (UTC)",
        "counts",
        "error",
    ):
        table.add_column(name)
    for state in states:
        unit = state.result
        colour = {"ok": "green", "failed": "red", "skipped": "yellow"}.get(
            unit.status.value, "white"
        )
        table.add_row(
            unit.stage.value,
            unit.service.value if unit.service else "-",
            unit.genre.value,
            f"[{colour}]{unit.status.value}[/{colour}]",
            state.as_of,
            state.run_id,
            unit.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            ", ".join(f"{k}={v}" for k, v in unit.counts.items()),
            unit.error or "",
        )
    console.print(table)


def print_store_status(url: str, statuses: Sequence[CollectionStatus], console: Console) -> None:
    """`inv db.status`: one row per collection."""
    table = Table(title=f"Store {url}")
    table.add_column("collection")
    table.add_column("records", justify="right")
    table.add_column("newest (UTC)")
    for status in statuses:
        newest = status.newest.strftime("%Y-%m-%d %H:%M:%S") if status.newest else "-"
        table.add_row(status.name, str(status.count), newest)
    console.print(table)
