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
from tunemeld.etl.validate import ValidationReport
from tunemeld.models import AGGREGATE, Genre, RunReport, Service, Stage, UnitResult, UnitStatus
from tunemeld.services.health import HealthCheck, HealthReport
from tunemeld.services.store import CollectionStatus

__all__ = [
    "RichProgress",
    "err_console",
    "make_table",
    "out_console",
    "print_health",
    "print_provider_usage",
    "print_report",
    "print_store_status",
    "print_unit_states",
    "print_validation",
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


def make_table(title: str, *columns: str, right: Sequence[str] = ()) -> Table:
    """A table with these columns, those named in `right` right-aligned (numbers)."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left")
    return table


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
        title = f"Dry run plan ({len(report.units)} units, as of {report.as_of})"
        table = make_table(title, "unit", "calls it would make")
        for unit in report.units:
            table.add_row(unit.label, "\n".join(unit.planned_calls))
        console.print(table)
        return
    title = f"Run {report.run_id} as of {report.as_of}: {report.status.value}"
    counts = [f"{name} tracks" for name in [*(s.value for s in Service), AGGREGATE]]
    counts.append("view samples")
    table = make_table(title, "genre", *counts, right=counts)
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

    print_run_usage(report, console)

    for unit in report.failed_units:
        console.print(f"[red]failed[/red] {unit.label}: {unit.error}")
        if unit.hint:
            console.print(f"        hint: {unit.hint}")
    skipped = [u for u in report.units if u.status is UnitStatus.SKIPPED]
    for unit in skipped:
        console.print(f"[yellow]skipped[/yellow] {unit.label}: {unit.error}")
    console.print(f"Duration: {report.duration_ms / 1000:.1f} s; status: {report.status.value}")


def print_run_usage(report: RunReport, console: Console) -> None:
    """What a run spent: calls, quota and retries per endpoint, cache use, deferrals, notes."""
    print_provider_usage(report, console)
    for name, counts in sorted(report.cache.items()):
        shown = ", ".join(f"{key} {value}" for key, value in counts.items())
        console.print(f"Cache {name}: {shown}")
    for bucket, count in sorted(report.deferred.items()):
        console.print(f"[yellow]deferred[/yellow] {count} lookup(s): quota bucket {bucket} spent")
    for note in report.notes:
        console.print(f"[cyan]note[/cyan] {note}")


def _statuses(report: RunReport, provider: str, endpoint: str) -> str:
    """The non-200 outcomes of one endpoint, e.g. `429 x3, timeout x1`."""
    outcomes = report.statuses.get(provider, {}).get(endpoint, {})
    found = [(s, n) for s, n in outcomes.items() if s not in ("200", "201")]
    return ", ".join(f"{status} x{n}" for status, n in sorted(found))


def print_provider_usage(report: RunReport, console: Console) -> None:
    """Calls, quota units and retries per provider and endpoint, then each quota bucket."""
    if not report.calls:
        return
    numbers = ("calls", "quota units", "retries")
    calls = make_table(
        "Provider calls", "provider", "endpoint", *numbers, "other outcomes", right=numbers
    )
    for provider, endpoints in sorted(report.calls.items()):
        units = report.endpoint_units.get(provider, {})
        retries = report.endpoint_retries.get(provider, {})
        for endpoint, n in sorted(endpoints.items()):
            calls.add_row(
                provider,
                endpoint,
                str(n),
                str(units.get(endpoint, 0)),
                str(retries.get(endpoint, 0)),
                _statuses(report, provider, endpoint),
            )
        calls.add_row(
            f"[bold]{provider}[/bold]",
            "[bold]all[/bold]",
            f"[bold]{sum(endpoints.values())}[/bold]",
            f"[bold]{report.quota_units.get(provider, 0)}[/bold]",
            f"[bold]{report.retries.get(provider, 0)}[/bold]",
            "",
        )
    console.print(calls)
    if report.buckets:
        amounts = ("this run", "this period", "limit", "state")
        buckets = make_table("Quota buckets", "bucket", *amounts, right=amounts)
        for name, use in sorted(report.buckets.items()):
            limit = f"{use.limit}/{use.period}" if use.limit is not None else "none"
            state = f"[yellow]spent[/yellow]: {use.spent}" if use.spent else "ok"
            buckets.add_row(name, str(use.units), str(use.total), limit, state)
        console.print(buckets)


def print_unit_states(states: Sequence[UnitState], console: Console) -> None:
    """`inv etl.status`: the newest result per unit."""
    if not states:
        console.print("No runs recorded yet: run `inv etl.run --stage full`.")
        return
    columns = ("stage", "service", "genre", "status", "as of", "run", "started (UTC)", "counts")
    table = make_table("Last run per stage, service and genre", *columns, "error")
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
    table = make_table(f"Store {url}", "collection", "records", "newest (UTC)", right=["records"])
    for status in statuses:
        newest = status.newest.strftime("%Y-%m-%d %H:%M:%S") if status.newest else "-"
        table.add_row(status.name, str(status.count), newest)
    console.print(table)


def print_health(report: HealthReport, console: Console) -> None:
    """`inv system.health`: one row per check, with the fix under every row that did not pass."""
    verdict = "[green]healthy[/green]" if report.ok else "[red]unhealthy[/red]"
    title = f"TuneMeld health at {report.checked_at:%Y-%m-%d %H:%M:%S} UTC: {verdict}"
    table = make_table(title, "check", "status", "ms", "result", right=["ms"])
    for check in report.checks:
        status, text = _check_cells(check)
        ms = f"{check.latency_ms:.2f}" if check.latency_ms is not None else "-"
        table.add_row(check.name, status, ms, text)
    console.print(table)


def _check_cells(check: HealthCheck) -> tuple[str, str]:
    """A check's coloured status and its result, with the fix under a row that did not pass."""
    colours = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "yellow"}
    status = check.status.value
    colour = colours.get(status, "white")
    text = check.summary
    if check.hint and status != "pass":
        text += f"\n[bold]fix:[/bold] {check.hint}"
    return f"[{colour}]{status}[/{colour}]", text


def print_validation(report: ValidationReport, console: Console) -> None:
    """`inv etl.validate`: one row per check, the fix under each row that did not pass."""
    verdict = "[green]ready[/green]" if report.ok else f"[red]{len(report.failed)} problem(s)[/red]"
    table = make_table(
        f"TuneMeld set-up ({report.profile} profile): {verdict}", "check", "status", "result"
    )
    for check in report.checks:
        table.add_row(check.name, *_check_cells(check))
    console.print(table, highlight=False)
