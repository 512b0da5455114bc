"""The run summary's provider table: per-endpoint calls, units, retries and other outcomes."""

from __future__ import annotations

from datetime import date, datetime, timezone

from rich.console import Console

from tunemeld._console import print_provider_usage
from tunemeld.models import RunReport


def test_provider_usage_when_printed_lists_each_endpoints_non_200_outcomes() -> None:
    report = RunReport(
        run_id="r1",
        as_of=date(2026, 11, 23),
        started_at=datetime(2026, 11, 23, tzinfo=timezone.utc),
        stages=[],
        genres=[],
        services=[],
        calls={"YouTube": {"search": 2, "videos": 5}},
        statuses={"YouTube": {"search": {"200": 2}, "videos": {"200": 2, "429": 2, "timeout": 1}}},
        endpoint_units={"YouTube": {"search": 200, "videos": 4}},
        quota_units={"YouTube": 204},
        endpoint_retries={"YouTube": {"videos": 3}},
        retries={"YouTube": 3},
    )
    console = Console(record=True, width=120)
    print_provider_usage(report, console)
    rows = [line.split("│")[1:-1] for line in console.export_text().splitlines() if "│" in line]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert ["YouTube", "videos", "5", "4", "3", "429 x2, timeout x1"] in cells
    assert ["YouTube", "search", "2", "200", "0", ""] in cells
    assert ["YouTube", "all", "7", "204", "3", ""] in cells
