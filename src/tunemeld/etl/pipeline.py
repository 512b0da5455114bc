"""Plan and run ETL stages unit by unit; one failing unit never stops the others.

`run(...)` returns the RunReport it also stores in `runs`. A run that writes holds the store's
run lease from before its record is first saved until after its last save; a dry run never does.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from datetime import time as dtime
from typing import Any, Protocol

import structlog

from tunemeld.config import Catalog, Settings, load_catalog
from tunemeld.etl._context import RunContext
from tunemeld.etl._quota import open_budget, record_quota
from tunemeld.etl.aggregate import aggregate_genre
from tunemeld.etl.extract import extract_playlist, planned_calls
from tunemeld.etl.transform import transform_playlist
from tunemeld.etl.view_count import count_views
from tunemeld.exceptions import ConfigError, LookupsDeferred, TunemeldError
from tunemeld.models import Genre, RunReport, RunStatus, Service, Stage, UnitResult, UnitStatus
from tunemeld.services.cache import Cache, open_cache
from tunemeld.services.http import CallLedger
from tunemeld.services.logging import debug_context
from tunemeld.services.monitoring import Metrics
from tunemeld.services.providers import open_providers
from tunemeld.services.store import Store, open_store
from tunemeld.services.store.lease import HOST, RunLease, take_run_lease

__all__ = ["Progress", "Unit", "plan", "run"]

log = structlog.get_logger()


@dataclass(frozen=True)
class Unit:
    """One piece of work: a stage for a genre, and a service for extract/transform."""

    stage: Stage
    genre: Genre
    service: Service | None = None

    @property
    def label(self) -> str:
        """`stage service genre`."""
        return " ".join(filter(None, (self.stage.value, self.service, self.genre)))

    def result(self, status: UnitStatus, started_at: datetime, **fields: Any) -> UnitResult:
        """A result of this unit (`fields`: its error, hint, planned calls...)."""
        return UnitResult(
            stage=self.stage,
            genre=self.genre,
            service=self.service,
            status=status,
            started_at=started_at,
            **fields,
        )


class Progress(Protocol):
    """Hooks the CLI implements to show progress; the library stays UI-free."""

    def planned(self, units: Sequence[Unit]) -> None:
        """Called once with the whole plan."""

    def started(self, unit: Unit) -> None:
        """Called before a unit runs."""

    def finished(self, unit: Unit, result: UnitResult) -> None:
        """Called after a unit ends, whatever its status."""


def plan(
    stages: Sequence[Stage], genres: Sequence[Genre], services: Sequence[Service]
) -> list[Unit]:
    """Every unit of a run, stage by stage in pipeline order."""
    units: list[Unit] = []
    for stage in Stage:
        if stage not in stages:
            continue
        for genre in genres:
            if stage.per_service:
                units.extend(Unit(stage, genre, service) for service in services)
            else:
                units.append(Unit(stage, genre))
    return units


def _as_of_moment(as_of: date, clock: Callable[[], datetime]) -> datetime:
    """When samples of `as_of` are stamped: the clock's now on its own day, else noon UTC."""
    now = clock()
    if as_of == now.date():
        return now
    return datetime.combine(as_of, dtime(12, 0), tzinfo=timezone.utc)


def _dry_run_calls(unit: Unit, playlist_url: str | None) -> list[str]:
    if unit.stage is Stage.EXTRACT and unit.service is not None:
        return planned_calls(unit.service, unit.genre, playlist_url or "")
    if unit.stage is Stage.TRANSFORM:
        return [
            "Spotify search (title + artist) for each track without an ISRC not in lookups",
            "Spotify search (isrc:) for each non-Spotify track without a Spotify id",
        ]
    if unit.stage is Stage.AGGREGATE:
        return [
            "combines the stored service playlists",
            "YouTube search for each aggregate track without a known video (rank order)",
        ]
    return [
        "YouTube search for the genre's other tracks without a known video",
        "Spotify play count for each track of the genre (once per run)",
        "YouTube videos.list, 50 ids a call (batches shared across genres)",
    ]


def _parse_filters(
    catalog: Catalog,
    stages: Sequence[str | Stage],
    genres: Sequence[str | Genre] | None,
    services: Sequence[str | Service] | None,
) -> tuple[list[Stage], list[Genre], list[Service]]:
    stage_list = Stage.parse_many([s.value if isinstance(s, Stage) else s for s in stages])
    genre_list = [catalog.genre(g) for g in genres] if genres else list(catalog.genres)
    service_list = (
        [s if isinstance(s, Service) else Service.parse(s) for s in services]
        if services
        else list(Service)
    )
    return stage_list, list(dict.fromkeys(genre_list)), list(dict.fromkeys(service_list))


def _run_unit(ctx: RunContext, unit: Unit) -> dict[str, int]:
    if unit.stage is Stage.EXTRACT and unit.service is not None:
        return extract_playlist(ctx, unit.service, unit.genre)
    if unit.stage is Stage.TRANSFORM and unit.service is not None:
        return transform_playlist(ctx, unit.service, unit.genre)
    if unit.stage is Stage.AGGREGATE:
        return aggregate_genre(ctx, unit.genre)
    return count_views(ctx, unit.genre)


def run(
    settings: Settings,
    *,
    stages: Sequence[str | Stage] = ("full",),
    genres: Sequence[str | Genre] | None = None,
    services: Sequence[str | Service] | None = None,
    dry_run: bool = False,
    as_of: date | None = None,
    store: Store | None = None,
    cache: Cache | None = None,
    metrics: Metrics | None = None,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    wait: float = 0.0,
) -> RunReport:
    """Run the chosen stages for the chosen genres and services, and return the run record.

    Unknown names raise NotFound and bad settings ConfigError before any work starts, and
    RunLeaseHeld when another run still holds the store's lease after `wait` seconds; after
    that, failures are recorded per unit and the run ends `partial` or `failed`.
    """
    if wait < 0:
        raise ConfigError(
            f"wait must be 0 or more seconds, got {wait:g}.",
            hint="Pass --wait SECONDS (0, the default, does not wait).",
        )
    catalog = load_catalog(settings.etl.catalog_path)
    stage_list, genre_list, service_list = _parse_filters(catalog, stages, genres, services)
    today = clock().date()
    day = as_of or today
    run_id = uuid.uuid4().hex[:12]
    units = plan(stage_list, genre_list, service_list)
    report = RunReport(
        run_id=run_id,
        as_of=day,
        started_at=clock(),
        stages=stage_list,
        genres=genre_list,
        services=service_list,
        dry_run=dry_run,
    )
    if progress is not None:
        progress.planned(units)

    if dry_run:
        for unit in units:
            url = catalog.entry(unit.service, unit.genre).url if unit.service else None
            calls = _dry_run_calls(unit, url)
            report.units.append(
                unit.result(UnitStatus.PLANNED, report.started_at, planned_calls=calls)
            )
        report.finish(clock())
        return report

    if settings.providers.mode == "live":
        settings.providers.require_live_keys()
    own_cache = cache is None
    with contextlib.ExitStack() as closing:  # providers, cache, lease, store: what was opened
        the_store = store if store is not None else closing.enter_context(open_store(settings))
        lease = take_run_lease(
            the_store, run_id=run_id, seconds=settings.etl.lease_seconds, wait=wait
        )
        closing.callback(lease.release)
        report.started_at = clock()  # after any wait for the lease
        report.host, report.pid = HOST, os.getpid()
        the_cache = cache if cache is not None else open_cache(settings, metrics=metrics)
        if own_cache:
            closing.callback(the_cache.close)
        ledger = CallLedger()
        on_call = metrics.record_provider_call if metrics is not None else None
        try:
            budget = open_budget(settings, the_store, day)
            providers = closing.enter_context(
                open_providers(settings, as_of=day, ledger=ledger, on_call=on_call, budget=budget)
            )
            ctx = RunContext(
                settings=settings,
                store=the_store,
                providers=providers,
                catalog=catalog,
                cache=the_cache,
                run_id=run_id,
                as_of=day,
                now=_as_of_moment(day, clock),
                budget=budget,
                genres=tuple(genre_list),
            )
            _run_units(report, ctx, units, ledger, lease, progress, metrics, own_cache, clock)
        except BaseException as exc:  # Ctrl-C or a store failure: say so in the record, then stop
            _record_interruption(report, the_store, exc, clock)
            raise
    return report


def _run_units(
    report: RunReport,
    ctx: RunContext,
    units: Sequence[Unit],
    ledger: CallLedger,
    lease: RunLease,
    progress: Progress | None,
    metrics: Metrics | None,
    own_cache: bool,
    clock: Callable[[], datetime],
) -> None:
    """Run every unit in order (stopping if the lease is lost), then finish and save the record."""
    failed: set[tuple[Service | None, Genre]] = set()
    the_store, the_cache, settings = ctx.store, ctx.cache, ctx.settings
    with structlog.contextvars.bound_contextvars(run_id=ctx.run_id):
        log.info(
            "run_started",
            as_of=ctx.as_of.isoformat(),
            stages=[s.value for s in report.stages],
            units=len(units),
            sample_world=ctx.providers.sample,
        )
        the_store.save_run(report)
        for unit in units:
            if lease.lost.is_set():
                report.units.append(_lease_lost(unit, lease))
                continue
            report.units.append(_execute(ctx, unit, failed, progress, metrics))
        _record_usage(report, ledger, ctx)
        record_quota(report, ledger, ctx)
        # A memory cache opened just for this run dies with it: only a shared one is warmed.
        if not own_cache or the_cache.name == "cloudflare":
            _refresh_answers(report, the_store, the_cache, settings)
        _feed_metrics(report, ctx, metrics)
        report.finish(clock())
        if lease.lost.is_set():
            report.status = RunStatus.FAILED
            report.notes.append(
                "Another run took this run's lease over (this process could not renew it in "
                "time): the units after that were not run."
            )
        the_store.save_run(report)
        log.info(
            "run_finished",
            status=report.status.value,
            units_ok=sum(u.status is UnitStatus.OK for u in report.units),
            units_failed=len(report.failed_units),
            calls=ledger.total_calls(),
            duration_ms=round(report.duration_ms),
        )


def _lease_lost(unit: Unit, lease: RunLease) -> UnitResult:
    """The result of a unit not run because another run holds the lease now."""
    return unit.result(
        UnitStatus.FAILED,
        datetime.now(timezone.utc),
        error="not run: another run took over this run's lease",
        hint="Check that only one scheduler starts runs, and that the store is reachable; "
        f"etl.lease_seconds is {lease.seconds:g} s.",
    )


def _record_interruption(
    report: RunReport, store: Store, exc: BaseException, clock: Callable[[], datetime]
) -> None:
    """Best effort: mark a run stopped by Ctrl-C or an error as failed, with why, in `runs`."""
    if report.finished_at is not None:
        return
    report.finish(clock())
    report.status = RunStatus.FAILED
    report.notes.append(
        f"Interrupted by {type(exc).__name__} after {len(report.units)} unit(s); "
        "the rest were not run."
    )
    try:
        store.save_run(report)
    except Exception as error:  # the store may be what failed; the lease is released anyway
        log.warning("run_record_not_saved", error=type(error).__name__)


def _refresh_answers(report: RunReport, store: Store, cache: Cache, settings: Settings) -> None:
    """Re-warm the API answers of the genres whose views this run rebuilt.

    view_count already dropped their old answers; writing the new ones now means an API process
    sharing the cache (Cloudflare KV) serves the new data at once, without a miss storm.
    """
    changed = [
        genre
        for genre in report.genres
        if any(
            u.genre is genre and u.stage is Stage.VIEW_COUNT and u.status is UnitStatus.OK
            for u in report.units
        )
    ]
    if not changed:
        return
    from tunemeld.api.answers import warm_genres  # not at the top: `tunemeld.api` imports tunemeld

    try:
        result = warm_genres(store, cache, changed, settings.cache.ttl_seconds)
    except TunemeldError as exc:  # the data is saved; the cache catches up by its TTL
        log.warning("answers_not_refreshed", error=exc.message, hint=exc.hint)
        return
    report.cache[f"answers:{cache.name}"] = {
        "warmed": result.total_warmed,
        "removed": result.total_removed,
    }
    log.info(
        "answers_refreshed",
        cache=cache.name,
        genres=[g.value for g in changed],
        warmed=result.total_warmed,
    )


def _feed_metrics(report: RunReport, ctx: RunContext, metrics: Metrics | None) -> None:
    """Add what the run counted only in its ledger and context (retries, lookups) to metrics."""
    if metrics is None:
        return
    metrics.record_retries(report.retries)
    metrics.record_cache_request("lookups", hit=True, count=ctx.lookup_hits)
    metrics.record_cache_request("lookups", hit=False, count=ctx.lookup_misses)


def _record_usage(report: RunReport, ledger: CallLedger, ctx: RunContext) -> None:
    """Copy the run's calls, retries, lookup-cache use and stage times into its record."""
    report.calls = ledger.calls()
    report.statuses = ledger.statuses()
    report.quota_units = ledger.quota_units()
    report.retries = ledger.retries()
    report.cache["lookups"] = {"hits": ctx.lookup_hits, "misses": ctx.lookup_misses}
    seconds: dict[str, float] = {}
    for result in report.units:
        seconds[result.stage.value] = seconds.get(result.stage.value, 0.0) + result.duration_ms
    report.stage_seconds = {stage: round(ms / 1000, 3) for stage, ms in seconds.items()}


def _execute(
    ctx: RunContext,
    unit: Unit,
    failed: set[tuple[Service | None, Genre]],
    progress: Progress | None,
    metrics: Metrics | None,
) -> UnitResult:
    started = datetime.now(timezone.utc)
    if progress is not None:
        progress.started(unit)
    result = unit.result(UnitStatus.OK, started)
    upstream_failed = unit.stage is Stage.TRANSFORM and (unit.service, unit.genre) in failed
    context = {"stage": unit.stage.value, "genre": unit.genre.value}
    if unit.service is not None:
        context["service"] = unit.service.value
    began = time.perf_counter()
    with structlog.contextvars.bound_contextvars(**context):
        if upstream_failed:
            result.status = UnitStatus.SKIPPED
            result.error = "extract failed in this run; the last good data is kept"
            log.warning("unit_skipped", reason=result.error)
        else:
            try:
                result.counts = _run_unit(ctx, unit)
            except LookupsDeferred as exc:  # a spent quota bucket: not a failure
                result.status = UnitStatus.SKIPPED
                result.error = exc.message
                result.hint = exc.hint
                log.warning("unit_deferred", reason=exc.message, bucket=exc.bucket)
            except TunemeldError as exc:
                result.status = UnitStatus.FAILED
                result.error = exc.message
                result.hint = exc.hint
                failed.add((unit.service, unit.genre))
                log.error("unit_failed", error=exc.message, error_type=type(exc).__name__)
            except Exception as exc:  # a bug must not lose the other units' work
                result.status = UnitStatus.FAILED
                result.error = f"unexpected {type(exc).__name__}: {exc}"
                result.hint = "This is a bug in TuneMeld: please report it with the log above."
                failed.add((unit.service, unit.genre))
                log.exception("unit_crashed", context=debug_context(ctx.settings))
    elapsed = time.perf_counter() - began
    result.duration_ms = round(elapsed * 1000, 3)
    if metrics is not None:
        metrics.stage_seconds.labels(stage=unit.stage.value).observe(elapsed)
        metrics.etl_units.labels(stage=unit.stage.value, status=result.status.value).inc()
    if progress is not None:
        progress.finished(unit, result)
    return result
