"""`inv etl.status`: the newest outcome of every (stage, service, genre) unit, and who writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from tunemeld.models import Genre, RunReport, Service, Stage, UnitResult, UnitStatus
from tunemeld.services.store import RUN_LEASE, Store
from tunemeld.services.store.lease import describe_lease, lease_expiry, shown_status

__all__ = ["UnitState", "as_seen_now", "current_writer", "latest_unit_states"]


@dataclass(frozen=True)
class UnitState:
    """A unit's newest result and the run it came from."""

    run_id: str
    as_of: str
    result: UnitResult


def latest_unit_states(store: Store, *, runs: int = 50) -> list[UnitState]:
    """Newest non-planned result per unit over the last `runs` runs, in pipeline order."""
    seen: dict[tuple[Stage, Service | None, Genre], UnitState] = {}
    reports: list[RunReport] = store.list_runs(limit=runs)
    for report in reports:  # newest first: the first hit per key wins
        for unit in report.units:
            if unit.status is UnitStatus.PLANNED:
                continue
            key = (unit.stage, unit.service, unit.genre)
            seen.setdefault(key, UnitState(report.run_id, report.as_of.isoformat(), unit))
    order = {stage: i for i, stage in enumerate(Stage)}
    return sorted(
        seen.values(),
        key=lambda s: (
            order[s.result.stage],
            s.result.genre.value,
            s.result.service.priority if s.result.service else -1,
        ),
    )


def as_seen_now(store: Store, report: RunReport, now: datetime | None = None) -> RunReport:
    """`report` with a `running` status that no live lease backs shown as `abandoned`.

    Read-only: the stored record is changed only by the next run that takes the lease.
    """
    moment = now or datetime.now(timezone.utc)
    status, seen = shown_status(report, store.get_lease(RUN_LEASE), moment)
    if status is report.status:
        return report
    return report.model_copy(update={"status": status, "last_seen_at": seen})


def current_writer(store: Store, now: datetime | None = None) -> str | None:
    """The run holding a live run lease, in words, or None when no run is writing."""
    lease = store.get_lease(RUN_LEASE)
    moment = now or datetime.now(timezone.utc)
    if lease is None or lease_expiry(lease, moment) is not None:
        return None
    return f"{describe_lease(lease)} (lease renewed {lease.renewed_at:%H:%M:%S} UTC)"
