"""Health checks: one typed report that `inv system.health` prints and `GET /health` serves.

Rows: the store, the answer cache, each provider, disk space, the last ETL run and freshness per
genre. Nothing raises for an unhealthy system: failures become rows, each saying how to fix it.
Longer than 500 lines because each row is its own small check with its own fix.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import structlog
from pydantic import Field, computed_field

from tunemeld.config import Catalog, Settings, load_catalog
from tunemeld.exceptions import TunemeldError
from tunemeld.models import AGGREGATE, Genre, RunStatus
from tunemeld.models.track import Record
from tunemeld.models.view import LAST_UPDATED
from tunemeld.services.cache import Cache, NullCache, open_cache
from tunemeld.services.http import QuotaBudget
from tunemeld.services.logging import SecretRedactor
from tunemeld.services.providers.registry import PROVIDERS
from tunemeld.services.store import RUN_LEASE, Store, open_store
from tunemeld.services.store.lease import shown_status

if TYPE_CHECKING:
    from tunemeld.services.providers import Providers

__all__ = [
    "CheckStatus",
    "DiskUsage",
    "HealthCheck",
    "HealthReport",
    "check_cache",
    "check_disk",
    "check_freshness",
    "check_last_run",
    "check_providers",
    "check_store",
    "error_row",
    "opened",
    "row",
    "run_health",
    "store_folder",
]

log = structlog.get_logger()

_RUNNING_TOO_LONG = timedelta(hours=6)


class CheckStatus(str, Enum):
    """One row's verdict: only `fail` makes the system unhealthy."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class HealthCheck(Record):
    """One row of the report; `hint` says what to do whenever the status is not `pass`."""

    name: str
    group: str
    status: CheckStatus
    summary: str
    hint: str | None = None
    latency_ms: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True unless the row failed."""
        return self.status is not CheckStatus.FAIL


class HealthReport(Record):
    """Every row, when they were checked, and the overall verdict (`ok`)."""

    checked_at: datetime
    checks: list[HealthCheck]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when no row failed."""
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[HealthCheck]:
        """The failing rows, in report order."""
        return [check for check in self.checks if not check.passed]

    def row(self, name: str) -> HealthCheck | None:
        """The row called `name`, if any."""
        return next((check for check in self.checks if check.name == name), None)

    @property
    def store_ok(self) -> bool:
        """True when the store row passed (what `GET /health` turns into 200 or 503)."""
        store = self.row("store")
        return store is not None and store.passed


class DiskUsage(NamedTuple):
    """What `shutil.disk_usage` returns: bytes."""

    total: int
    used: int
    free: int


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def row(
    name: str,
    group: str,
    status: CheckStatus,
    summary: str,
    hint: str | None = None,
    /,
    *,
    latency_ms: float | None = None,
    **details: Any,
) -> HealthCheck:
    """One report row: every check builds its rows here (keyword arguments become details)."""
    return HealthCheck(
        name=name,
        group=group,
        status=status,
        summary=summary,
        hint=hint,
        latency_ms=latency_ms,
        details=details,
    )


def error_row(name: str, group: str, error: TunemeldError, **details: Any) -> HealthCheck:
    """A failed row saying what `error` says, and its hint."""
    hint = error.hint or "See the log for details."
    return row(name, group, CheckStatus.FAIL, error.message, hint, **details)


# -- store ------------------------------------------------------------------------------------


def check_store(store: Store) -> HealthCheck:
    """Ping the store (timed) and count each collection's records."""
    started = time.perf_counter()
    try:
        store.ping()
        latency = _ms(started)
        records = {status.name: status.count for status in store.status()}
    except TunemeldError as exc:
        return error_row("store", "store", exc, url=store.url)
    summary = f"reachable in {latency:.2f} ms; {sum(records.values())} records"
    details = {"url": store.url, "records": records}
    return row("store", "store", CheckStatus.PASS, summary, latency_ms=latency, **details)


# -- cache ------------------------------------------------------------------------------------


def check_cache(cache: Cache, *, round_trip: bool = True) -> HealthCheck:
    """The backend's name and, with `round_trip`, a set / get / delete of a probe key.

    `GET /health` skips the round trip: every KV write counts against a daily limit, and the
    API's own hit and error counts already show a failing cache.
    """
    before = cache.stats()
    details: dict[str, Any] = {"backend": cache.name, **before.counts()}
    cache_row = partial(row, "cache", "cache")
    if isinstance(cache, NullCache):
        off = "none: caching is off, every answer is read from the store"
        return cache_row(CheckStatus.PASS, off, **details)
    latency: float | None = None
    if round_trip:
        key = f"health:probe:{uuid.uuid4().hex}"
        value = f"tunemeld-health-{uuid.uuid4().hex}".encode()
        started = time.perf_counter()
        cache.set(key, value, ttl_seconds=60)
        read = cache.get(key)
        if cache.name != "cloudflare":  # KV: a delete within a second of the write must wait;
            cache.delete(key)  # the probe expires after its 60 s TTL instead
        latency = _ms(started)
        good = read == value
    else:
        good = before.available
    after = cache.stats()
    last_error = after.last_error
    if good and after.errors == before.errors:
        done = "in use" if latency is None else f"round trip in {latency:.2f} ms"
        summary = f"{cache.name}: {done}"
        return cache_row(CheckStatus.PASS, summary, latency_ms=latency, **details)
    if last_error:
        details["last_error"] = last_error
    reason = f" ({last_error})" if last_error else ""
    return cache_row(
        CheckStatus.FAIL if round_trip else CheckStatus.WARN,
        f"{cache.name}: the cache does not answer{reason}; the API serves from the store",
        _cache_hint(cache.name),
        latency_ms=latency,
        **details,
    )


def _cache_hint(backend: str) -> str:
    if backend == "cloudflare":
        return (
            "Check CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_NAMESPACE_ID and CLOUDFLARE_API_TOKEN "
            "(Workers KV Storage Read and Write) and https://www.cloudflarestatus.com; or set "
            "TUNEMELD_CACHE__BACKEND=memory."
        )
    return "Restart the process; if it persists set TUNEMELD_CACHE__BACKEND=none and report it."


# -- providers --------------------------------------------------------------------------------


def _credential_rows(settings: Settings) -> list[HealthCheck]:
    cfg = settings.providers
    missing = set(cfg.missing_live_keys())
    rows = []
    for spec in PROVIDERS:
        provider_row = partial(row, f"provider {spec.name}", "provider")
        needs = list(spec.credentials)
        absent = [n for n in needs if n in missing]
        if cfg.uses_sample:
            reason = "providers.mode is sample" if cfg.mode == "sample" else "no API keys are set"
            summary = f"sample world in use ({reason}); no credentials needed"
            rows.append(provider_row(CheckStatus.PASS, summary, sample=True, needs=needs))
        elif absent:
            hint = (
                f"Set {', '.join(absent)} in the environment or .env (see .env.example), "
                "or use TUNEMELD_PROVIDERS__MODE=sample."
            )
            summary = f"missing {', '.join(absent)}"
            rows.append(provider_row(CheckStatus.FAIL, summary, hint, sample=False, missing=absent))
        else:
            summary = "credentials present (not called; --live tries one call)"
            rows.append(provider_row(CheckStatus.PASS, summary, sample=False, needs=needs))
    return rows


def check_providers(
    settings: Settings,
    *,
    live: bool = False,
    as_of: date | None = None,
    opener: Callable[..., Any] | None = None,
    store: Store | None = None,
) -> list[HealthCheck]:
    """Credentials per provider; with `live`, one cheap call each (its registry entry's probe).
    With a `store`, the calls spend from its `quota_usage` like a run's, so a health check beside
    a run cannot overspend a bucket."""
    rows = _credential_rows(settings)
    if not live:
        return rows
    if opener is None:
        from tunemeld.services.providers import open_providers

        opener = open_providers
    day = as_of or datetime.now(timezone.utc).date()
    try:
        catalog = load_catalog(settings.etl.catalog_path)
        if store is None:
            providers = opener(settings, as_of=day)
        else:
            budget = QuotaBudget.from_usage(
                settings.providers, day, store.quota_usage, recorder=store
            )
            providers = opener(settings, as_of=day, budget=budget)
    except TunemeldError as exc:
        return [error_row(r.name, "provider", exc) if r.passed else r for r in rows]
    probes = {spec.name: spec.probe for spec in PROVIDERS}
    with providers:
        return [_probed(r, providers, probes, catalog) if r.passed else r for r in rows]


def _probed(
    credentials: HealthCheck,
    providers: Providers,
    probes: Mapping[str, Callable[[Providers, Catalog], object]],
    catalog: Catalog,
) -> HealthCheck:
    """A provider's row after its one live call (`credentials`: its passing credentials row)."""
    name = credentials.name
    provider = name.removeprefix("provider ")
    started = time.perf_counter()
    before = providers.ledger.total_calls(provider)
    try:
        probes[provider](providers, catalog)
    except TunemeldError as exc:
        return error_row(name, "provider", exc, live=True)
    except Exception as exc:  # a parser bug must not hide the other rows
        summary = f"unexpected {type(exc).__name__} during the live call"
        bug = "This is a bug in TuneMeld: please report it with the log."
        return row(name, "provider", CheckStatus.FAIL, summary, bug, live=True)
    latency = _ms(started)
    calls = providers.ledger.total_calls(provider) - before
    where = "sample world" if providers.sample else "live API"
    summary = f"{where} answered in {latency:.0f} ms ({calls} call(s))"
    details = {**credentials.details, "live": True, "calls": calls}
    return row(name, "provider", CheckStatus.PASS, summary, latency_ms=latency, **details)


# -- disk -------------------------------------------------------------------------------------


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def store_folder(settings: Settings) -> Path:
    """The folder that holds the SQLite file (or the working folder for a MongoDB store)."""
    if settings.database.is_sqlite:
        raw = settings.database.url.removeprefix("sqlite:///")
        return _existing(Path(raw).parent if raw else Path())
    return _existing(Path())


def check_disk(
    path: Path,
    min_free_mb: int,
    disk_usage: Callable[[Path], Any] = shutil.disk_usage,
) -> HealthCheck:
    """Free space on the disk holding `path`; fails below `min_free_mb` megabytes."""
    try:
        usage = disk_usage(path)
    except OSError as exc:
        summary = f"cannot read the free space of {path}: {exc.strerror or exc}"
        hint = f"Check that {path} exists and is readable."
        return row("disk", "disk", CheckStatus.FAIL, summary, hint, path=str(path))
    free_mb = usage.free / 1024 / 1024
    details = {
        "path": str(path),
        "free_mb": round(free_mb, 1),
        "total_mb": round(usage.total / 1024 / 1024, 1),
        "min_free_mb": min_free_mb,
    }
    if free_mb < min_free_mb:
        summary = f"only {free_mb:.0f} MB free at {path} (minimum {min_free_mb} MB)"
        hint = (
            "Free some space (old logs, exports), move the store to a larger disk, or lower "
            "TUNEMELD_HEALTH__MIN_FREE_DISK_MB."
        )
        return row("disk", "disk", CheckStatus.FAIL, summary, hint, **details)
    return row("disk", "disk", CheckStatus.PASS, f"{free_mb:,.0f} MB free at {path}", **details)


# -- ETL --------------------------------------------------------------------------------------


def check_last_run(store: Store, *, now: datetime) -> HealthCheck:
    """The newest run record: when, its status (`abandoned` if its process is gone), what failed."""
    try:
        runs = store.list_runs(1)
        lease = store.get_lease(RUN_LEASE)
    except TunemeldError as exc:
        return error_row("last run", "etl", exc)
    run_row = partial(row, "last run", "etl")
    if not runs:
        hint = "Run `inv etl.run --stage full` (the sample world needs no keys)."
        return run_row(CheckStatus.FAIL, "no ETL run recorded", hint)
    run = runs[0]
    status, last_seen = shown_status(run, lease, now)
    failed = [unit.label for unit in run.failed_units]
    details: dict[str, Any] = {
        "run_id": run.run_id,
        "status": status.value,
        "host": run.host,
        "pid": run.pid,
        "last_seen_at": last_seen.isoformat() if last_seen else None,
        "as_of": run.as_of.isoformat(),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "units": len(run.units),
        "failed_units": failed,
    }
    when = (run.finished_at or run.started_at).strftime("%Y-%m-%d %H:%M UTC")
    if status is RunStatus.ABANDONED:
        seen = f", last seen alive {last_seen:%Y-%m-%d %H:%M:%S} UTC" if last_seen else ""
        return run_row(
            CheckStatus.WARN,
            f"run {run.run_id} abandoned: started {when}, ended without finishing{seen}",
            (
                "Its process died or lost the store; the next `inv etl.run --stage full` takes "
                "over and redoes the unfinished units."
            ),
            **details,
        )
    if status is RunStatus.RUNNING:
        too_long = now - run.started_at > _RUNNING_TOO_LONG
        return run_row(
            CheckStatus.WARN if too_long else CheckStatus.PASS,
            f"run {run.run_id} running since {when}",
            (
                "It may have been interrupted: start a new run with `inv etl.run --stage full`."
                if too_long
                else None
            ),
            **details,
        )
    if failed:
        shown = ", ".join(failed[:4]) + (f" and {len(failed) - 4} more" if len(failed) > 4 else "")
        return run_row(
            CheckStatus.FAIL,
            f"run {run.run_id} {run.status.value} at {when}: failed {shown}",
            (
                f"`inv etl.status --run {run.run_id}` shows each failure's fix; then re-run "
                "those units, e.g. `inv etl.run --stage full --genre <genre>`."
            ),
            **details,
        )
    summary = f"run {run.run_id} {run.status.value} at {when} ({len(run.units)} units)"
    return run_row(CheckStatus.PASS, summary, **details)


def _updated_at(store: Store, genre: Genre) -> datetime | None:
    view = store.get_view(genre, LAST_UPDATED.name)
    if view is not None:
        return view.updated_at
    playlist = store.get_playlist(genre, AGGREGATE)
    return playlist.updated_at if playlist is not None else None


def check_freshness(
    store: Store, genres: Sequence[Genre], *, now: datetime, stale_after_hours: float
) -> list[HealthCheck]:
    """Per catalog genre: how old the served data is; stale past `stale_after_hours`."""
    rows = []
    for genre in genres:
        fresh_row = partial(row, f"freshness {genre.value}", "freshness")
        fix = f"Run `inv etl.run --stage full --genre {genre.value}` (schedule it daily)."
        try:
            updated = _updated_at(store, genre)
        except TunemeldError as exc:
            rows.append(error_row(f"freshness {genre.value}", "freshness", exc))
            continue
        if updated is None:
            rows.append(fresh_row(CheckStatus.FAIL, "no data yet", fix))
            continue
        age_hours = max(0.0, (now - updated).total_seconds() / 3600)
        details: dict[str, Any] = {
            "updated_at": updated.isoformat(),
            "age_hours": round(age_hours, 2),
            "stale_after_hours": stale_after_hours,
        }
        if age_hours > stale_after_hours:
            stale = f"stale: updated {age_hours:.0f} h ago (limit {stale_after_hours:g} h)"
            rows.append(fresh_row(CheckStatus.FAIL, stale, fix, **details))
        else:
            updated_ago = f"updated {age_hours:.1f} h ago"
            rows.append(fresh_row(CheckStatus.PASS, updated_ago, **details))
    return rows


def _skipped(name: str, group: str) -> HealthCheck:
    hint = "Fix the store first (see the store row)."
    return row(name, group, CheckStatus.SKIP, "not checked: the store is unavailable", hint)


# -- the whole report -------------------------------------------------------------------------


class _Closable(Protocol):
    def close(self) -> None: ...


_R = TypeVar("_R", bound=_Closable)


@contextmanager
def opened(given: _R | None, opener: Callable[[], _R]) -> Iterator[_R | TunemeldError]:
    """`given` as is, or a fresh one from `opener` closed afterwards; an open error is yielded."""
    if given is not None:
        yield given
        return
    try:
        opened = opener()
    except TunemeldError as exc:
        yield exc
        return
    try:
        yield opened
    finally:
        opened.close()


def _redacted(report: HealthReport, settings: Settings) -> HealthReport:
    """`report` with every configured secret masked: an error's text may quote one."""
    redactor = SecretRedactor(settings.secret_values())
    if not redactor.secrets:
        return report
    checks = [
        HealthCheck.model_validate(redactor.scrub(check.model_dump())) for check in report.checks
    ]
    return HealthReport(checked_at=report.checked_at, checks=checks)


def run_health(
    settings: Settings,
    *,
    store: Store | None = None,
    cache: Cache | None = None,
    live: bool = False,
    cache_round_trip: bool = True,
    disk_usage: Callable[[Path], Any] = shutil.disk_usage,
    now: datetime | None = None,
    provider_opener: Callable[..., Any] | None = None,
) -> HealthReport:
    """Run every check and return the report; stores and caches it opens are closed again."""
    moment = now or datetime.now(timezone.utc)
    checks: list[HealthCheck] = []
    with opened(store, lambda: open_store(settings)) as the_store:
        if isinstance(the_store, TunemeldError):
            checks.append(error_row("store", "store", the_store))
            healthy_store: Store | None = None
        else:
            store_row = check_store(the_store)
            checks.append(store_row)
            healthy_store = the_store if store_row.passed else None
        with opened(cache, lambda: open_cache(settings)) as the_cache:
            if isinstance(the_cache, TunemeldError):
                checks.append(
                    error_row("cache", "cache", the_cache, backend=settings.cache.backend)
                )
            else:
                checks.append(check_cache(the_cache, round_trip=cache_round_trip))
        checks += check_providers(settings, live=live, opener=provider_opener, store=healthy_store)
        checks.append(
            check_disk(store_folder(settings), settings.health.min_free_disk_mb, disk_usage)
        )
        try:
            genres = load_catalog(settings.etl.catalog_path).genres
        except TunemeldError as exc:
            checks.append(error_row("freshness", "freshness", exc))
            genres = ()
        if healthy_store is None:
            checks.append(_skipped("last run", "etl"))
            checks += [_skipped(f"freshness {g.value}", "freshness") for g in genres]
        else:
            checks.append(check_last_run(healthy_store, now=moment))
            checks += check_freshness(
                healthy_store,
                genres,
                now=moment,
                stale_after_hours=settings.health.stale_after_hours,
            )
    report = _redacted(HealthReport(checked_at=moment, checks=checks), settings)
    log.info(
        "health_checked",
        ok=report.ok,
        failed=[check.name for check in report.failed],
        live=live,
    )
    return report
