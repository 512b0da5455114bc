"""`inv etl.status`: the newest outcome of every (stage, service, genre) unit."""

from __future__ import annotations

from dataclasses import dataclass

from tunemeld.models import Genre, RunReport, Service, Stage, UnitResult, UnitStatus
from tunemeld.services.store import Store

__all__ = ["UnitState", "latest_unit_states"]


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
