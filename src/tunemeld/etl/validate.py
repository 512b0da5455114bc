"""Is this checkout ready for a full ETL run? One report that `inv etl.validate` prints.

Rows are `HealthCheck`s, so every row that does not pass carries its fix. A configuration that
cannot be read still yields a report: the rows that need settings are skipped with a pointer to
the configuration row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from importlib import metadata
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import ValidationError

from tunemeld.config import Catalog, Environment, Settings, load_catalog, load_settings
from tunemeld.etl.pipeline import plan
from tunemeld.exceptions import ConfigError, TunemeldError
from tunemeld.models import Genre, Service, Stage
from tunemeld.services.health import (
    CheckStatus,
    HealthCheck,
    HealthReport,
    check_providers,
    check_store,
    error_row,
    opened,
    row,
)
from tunemeld.services.http import QuotaBudget
from tunemeld.services.providers.registry import service_spec
from tunemeld.services.store import Lookup, Store, open_store

__all__ = [
    "ValidationReport",
    "check_catalog",
    "check_packages",
    "check_quota",
    "check_store_writable",
    "validate",
]

USAGE_GROUPS = frozenset({"config", "catalog", "store", "credentials", "packages"})
"""A failing row in these groups is a set-up problem (exit 2); elsewhere failed work (exit 1)."""

_PROBE_KIND = "validate_probe"


class _RolledBack(Exception):
    """Internal: ends the write probe's unit so that nothing it wrote is kept."""


class ValidationReport(HealthReport):
    """Every row of `inv etl.validate`, the profile checked, and the exit code they add up to."""

    profile: str

    @property
    def exit_code(self) -> int:
        """0 ready; 2 a set-up problem (configuration, catalog, store, keys, packages); 1 else."""
        if self.ok:
            return 0
        return 2 if any(is_usage_problem(check) for check in self.failed) else 1


def is_usage_problem(check: HealthCheck) -> bool:
    """True for a failing row that fixing the set-up (not waiting or retrying) would clear."""
    return check.group in USAGE_GROUPS


def _skipped(name: str, group: str, because: str) -> HealthCheck:
    return row(
        name, group, CheckStatus.SKIP, f"not checked: {because}", f"Fix the {because} first."
    )


def _load(overrides: Mapping[str, Any]) -> tuple[Settings | None, HealthCheck]:
    """The settings to check the rest with, and the configuration row.

    Production's refusals (missing keys, debug, ...) fail the row, yet the settings are still
    returned, so the other rows can list what else is wrong.
    """
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        try:
            settings = Settings(**overrides)
        except ValidationError:
            return None, error_row("configuration", "config", exc)
        return settings, error_row("configuration", "config", exc)
    mode = "sample world" if settings.providers.uses_sample else "live APIs"
    summary = f"valid for the {settings.env.value} profile (providers: {mode})"
    return settings, row("configuration", "config", CheckStatus.PASS, summary)


def check_catalog(catalog: Catalog) -> HealthCheck:
    """The catalog's row: loading it already checked every entry (`load_catalog` refuses gaps)."""
    summary = f"{catalog.source}: {len(catalog.genres)} genres x {len(Service)} services"
    return row("catalog", "catalog", CheckStatus.PASS, f"{summary}, ids well-formed")


def check_store_writable(store: Store, *, now: datetime | None = None) -> HealthCheck:
    """Write a probe inside a unit of work and roll it back: nothing is kept."""
    moment = now or datetime.now(timezone.utc)
    probe = Lookup(
        kind=_PROBE_KIND,
        key="writable",
        value=None,
        expires_at=moment + timedelta(minutes=1),
        updated_at=moment,
    )
    try:
        with store.unit():
            store.put_lookup(probe)
            raise _RolledBack
    except _RolledBack:
        pass
    except TunemeldError as exc:
        return error_row("store writable", "store", exc)
    wrote = "a unit of work can write (probe rolled back)"
    return row("store writable", "store", CheckStatus.PASS, wrote)


def _store_rows(store: Store | TunemeldError) -> list[HealthCheck]:
    """Reachable (with the schema current: opening ran `init`), then writable."""
    if isinstance(store, TunemeldError):
        return [error_row("store", "store", store), _skipped("store writable", "store", "store")]
    reachable = check_store(store)
    if not reachable.passed:
        return [reachable, _skipped("store writable", "store", "store")]
    current = reachable.model_copy(update={"summary": f"{reachable.summary}; schema current"})
    return [current, check_store_writable(store)]


def _credential_rows(
    settings: Settings, *, live: bool, as_of: date, opener: Callable[..., Any] | None
) -> list[HealthCheck]:
    """The health probes' provider rows, judged for the mode a run would use.

    Production never falls back to the sample world, so there `auto` is checked as `live`.
    """
    checked = settings
    if settings.env is Environment.PRODUCTION and settings.providers.mode == "auto":
        providers = settings.providers.model_copy(update={"mode": "live"})
        checked = settings.model_copy(update={"providers": providers})
    rows = check_providers(checked, live=live, as_of=as_of, opener=opener)
    regrouped = []
    for check in rows:
        # A missing key is set-up; a live call that failed is the provider's (exit 1).
        group = "credentials" if not check.details.get("live") else "provider"
        regrouped.append(check.model_copy(update={"group": group}))
    return regrouped


def _minimum_units(settings: Settings, genres: Sequence[Genre]) -> dict[str, int]:
    """Units per bucket a full run spends for certain: the dry-run plan's playlist fetches."""
    needs: dict[str, int] = {}
    for unit in plan(list(Stage), list(genres), list(Service)):
        if unit.stage is not Stage.EXTRACT or unit.service is None:
            continue
        provider = unit.service.value
        for endpoint in (
            e for e in service_spec(unit.service).endpoints if e.startswith("playlist")
        ):
            cost = settings.providers.cost(provider, endpoint)
            needs[cost.bucket] = needs.get(cost.bucket, 0) + cost.units
    return needs


def _last_full_run_units(store: Store, genres: Sequence[Genre]) -> dict[str, int]:
    """Units per bucket the newest full run spent (what a full run costs in practice)."""
    for report in store.list_runs(20):
        if set(report.stages) == set(Stage) and set(report.genres) == set(genres):
            return {name: use.units for name, use in report.buckets.items()}
    return {}


def check_quota(settings: Settings, store: Store, day: date) -> list[HealthCheck]:
    """One row per quota bucket: spent this period, left, and what a full run would spend.

    Fails when what is left cannot pay for the playlist fetches a run cannot do without; warns
    when it is less than the newest full run spent (the run defers the rest to the next one).
    """
    spent = dict(QuotaBudget.from_usage(settings.providers, day, store.quota_usage).usage().items())
    try:
        genres = load_catalog(settings.etl.catalog_path).genres
    except ConfigError:  # the catalog row already says what is wrong
        genres = ()
    minimum = _minimum_units(settings, genres)
    last = _last_full_run_units(store, genres)
    rows = []
    for name in sorted(settings.providers.buckets):
        bucket = settings.providers.bucket(name)
        used = spent.get(name, (0, 0))[1]
        need_min = minimum.get(name, 0)
        need = max(need_min, last.get(name, 0))
        if name in last:
            estimate = f"the last full run spent {last[name]}"
        elif need_min:
            estimate = f"a full run spends at least {need_min}"
        else:
            estimate = "no full run recorded yet"
        details: dict[str, Any] = {
            "spent": used,
            "limit": bucket.limit,
            "period": bucket.period,
            "need": need,
        }
        row_name = f"quota {name}"
        if bucket.limit is None:
            summary = f"{used} spent this {bucket.period}, no limit set; {estimate}"
            rows.append(row(row_name, "quota", CheckStatus.PASS, summary, **details))
            continue
        left = max(0, bucket.limit - used)
        summary = f"{used}/{bucket.limit} spent this {bucket.period}, {left} left; {estimate}"
        hint = (
            f"Wait for the next {bucket.period} (UTC), or raise "
            f"TUNEMELD_PROVIDERS__BUCKETS__{name.upper()}__LIMIT if your plan allows more."
        )
        if left < need_min:
            status = CheckStatus.FAIL
            summary += f" (at least {need_min} for the playlists)"
        elif left < need:
            status = CheckStatus.WARN
            summary += ": the run defers the rest to the next one"
        else:
            status, hint = CheckStatus.PASS, ""
        rows.append(row(row_name, "quota", status, summary, hint or None, **details))
    return rows


def check_packages(
    distribution: str = "tunemeld",
    *,
    version_of: Callable[[str], str] = metadata.version,
) -> HealthCheck:
    """Every package the distribution requires (no extras) is installed at a matching version."""
    try:
        requires = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        summary = f"{distribution} is not installed as a package"
        hint = 'Install it: python -m pip install -e ".[dev]" (from the checkout).'
        return row("packages", "packages", CheckStatus.FAIL, summary, hint)
    problems: list[str] = []
    checked = 0
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:  # pragma: no cover - metadata pip installed is valid
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        checked += 1
        try:
            installed = version_of(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{requirement} (not installed)")
            continue
        if requirement.specifier and not requirement.specifier.contains(
            installed, prereleases=True
        ):
            problems.append(f"{requirement} ({installed} installed)")
    if problems:
        wanted = " ".join(f"'{p.split(' (')[0]}'" for p in problems)
        summary = "missing or too old: " + ", ".join(problems)
        hint = f"python -m pip install {wanted}  (or reinstall: python -m pip install -e .)"
        return row("packages", "packages", CheckStatus.FAIL, summary, hint)
    return row("packages", "packages", CheckStatus.PASS, f"{checked} required packages installed")


def validate(
    *,
    live: bool = False,
    as_of: date | None = None,
    now: datetime | None = None,
    provider_opener: Callable[..., Any] | None = None,
    **overrides: Any,
) -> ValidationReport:
    """Check everything a full run needs and return the rows; raises nothing for a bad set-up.

    `overrides` go to `load_settings` (e.g. `env="production"` checks another profile).
    """
    moment = now or datetime.now(timezone.utc)
    day = as_of or moment.date()
    settings, config_row = _load(overrides)
    checks = [config_row]
    if settings is None:
        checks += [
            _skipped("catalog", "catalog", "configuration"),
            _skipped("store", "store", "configuration"),
            _skipped("credentials", "credentials", "configuration"),
            _skipped("quota", "quota", "configuration"),
        ]
        profile = str(overrides.get("env", "unknown"))
    else:
        profile = settings.env.value
        try:
            checks.append(check_catalog(load_catalog(settings.etl.catalog_path)))
        except ConfigError as exc:
            checks.append(error_row("catalog", "catalog", exc))
        # Opening creates missing tables; a newer schema, a locked or unreachable store is a row.
        with opened(None, lambda: open_store(settings)) as store:
            store_rows = _store_rows(store)
            checks += store_rows
            checks += _credential_rows(settings, live=live, as_of=day, opener=provider_opener)
            if isinstance(store, TunemeldError) or not all(check.passed for check in store_rows):
                checks.append(_skipped("quota", "quota", "store"))
            else:
                checks += check_quota(settings, store, day)
    checks.append(check_packages())
    return ValidationReport(checked_at=moment, profile=profile, checks=checks)
