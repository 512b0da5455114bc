"""Run records: what an ETL run did, unit by unit."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tunemeld.models.genre import Genre, Service, Stage

__all__ = ["BucketUsage", "RunReport", "RunStatus", "UnitResult", "UnitStatus"]


class UnitStatus(str, Enum):
    """How one (stage, service, genre) unit ended."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    PLANNED = "planned"


class RunStatus(str, Enum):
    """How a whole run ended: `partial` when some units failed and others succeeded.

    `abandoned`: the run's process died (or stopped renewing its lease) before it finished;
    the next run took its lease over and recorded when it was last seen alive.
    """

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    DRY_RUN = "dry_run"
    ABANDONED = "abandoned"


class UnitResult(BaseModel):
    """The outcome of one unit of work; `error` and `hint` are set when it failed."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage
    genre: Genre
    service: Service | None = None
    status: UnitStatus
    counts: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    started_at: datetime
    duration_ms: float = 0.0
    planned_calls: list[str] = Field(default_factory=list)

    @property
    def label(self) -> str:
        """`stage service genre`, for tables and logs."""
        return " ".join(filter(None, (self.stage.value, self.service, self.genre)))


class BucketUsage(BaseModel):
    """One quota bucket after a run: what the run spent, the period's total, and its limit."""

    model_config = ConfigDict(extra="forbid")

    units: int = Field(default=0, description="units this run spent")
    total: int = Field(default=0, description="units spent this period, earlier runs included")
    limit: int | None = Field(default=None, description="the period's limit; None: unlimited")
    period: str = "day"
    spent: str | None = Field(
        default=None, description="why the bucket refused calls during the run, if it did"
    )


class RunReport(BaseModel):
    """The run record: stored in `runs` and returned by `tunemeld.etl.run`."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    as_of: date
    started_at: datetime
    finished_at: datetime | None = None
    stages: list[Stage]
    genres: list[Genre]
    services: list[Service]
    dry_run: bool = False
    status: RunStatus = RunStatus.RUNNING
    host: str | None = Field(default=None, description="the machine the run ran on")
    pid: int | None = Field(default=None, description="its process id there")
    last_seen_at: datetime | None = Field(
        default=None, description="for an abandoned run: when its lease was last renewed"
    )
    units: list[UnitResult] = Field(default_factory=list)
    calls: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="provider -> endpoint -> attempts (retries included)"
    )
    statuses: dict[str, dict[str, dict[str, int]]] = Field(
        default_factory=dict, description="provider -> endpoint -> outcome -> attempts"
    )
    quota_units: dict[str, int] = Field(
        default_factory=dict, description="provider -> quota units spent"
    )
    endpoint_units: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="provider -> endpoint -> quota units spent"
    )
    retries: dict[str, int] = Field(default_factory=dict, description="provider -> retries")
    endpoint_retries: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="provider -> endpoint -> retries"
    )
    buckets: dict[str, BucketUsage] = Field(
        default_factory=dict, description="quota bucket -> spending and limit after the run"
    )
    cache: dict[str, dict[str, int]] = Field(
        default_factory=dict, description='cache name -> {"hits": n, "misses": n}'
    )
    stage_seconds: dict[str, float] = Field(
        default_factory=dict, description="stage -> seconds spent in its units"
    )
    deferred: dict[str, int] = Field(
        default_factory=dict, description="quota bucket -> lookups deferred to a later run"
    )
    notes: list[str] = Field(
        default_factory=list, description="things the operator should know, e.g. a spent bucket"
    )

    @field_validator("statuses", mode="before")
    @classmethod
    def _nest_joined_statuses(cls, value: object) -> object:
        """Read a record written before statuses were nested: `{"videos 200": 3}` per provider."""
        if not isinstance(value, dict):
            return value
        nested: dict[object, object] = {}
        for provider, outcomes in value.items():
            if isinstance(outcomes, dict) and all(isinstance(n, int) for n in outcomes.values()):
                by_endpoint: dict[str, dict[str, int]] = {}
                for key, n in outcomes.items():
                    endpoint, _, status = str(key).rpartition(" ")
                    by_endpoint.setdefault(endpoint, {})[status] = n
                outcomes = by_endpoint
            nested[provider] = outcomes
        return nested

    @property
    def ok(self) -> bool:
        """True when nothing failed (a dry run is ok)."""
        return self.status in (RunStatus.OK, RunStatus.DRY_RUN)

    @property
    def failed_units(self) -> list[UnitResult]:
        """The units that failed, in the order they ran."""
        return [u for u in self.units if u.status is UnitStatus.FAILED]

    @property
    def duration_ms(self) -> float:
        """Wall time of the run so far."""
        end = self.finished_at or self.started_at
        return (end - self.started_at).total_seconds() * 1000

    def finish(self, finished_at: datetime) -> None:
        """Set the final status from the unit outcomes."""
        self.finished_at = finished_at
        if self.dry_run:
            self.status = RunStatus.DRY_RUN
            return
        failed = len(self.failed_units)
        if failed == 0:
            self.status = RunStatus.OK
        elif failed == len([u for u in self.units if u.status is not UnitStatus.SKIPPED]):
            self.status = RunStatus.FAILED
        else:
            self.status = RunStatus.PARTIAL
