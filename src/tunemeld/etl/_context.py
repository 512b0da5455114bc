"""What every stage needs for one run, built once by the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tunemeld.config import Catalog, Settings
from tunemeld.services.cache import Cache
from tunemeld.services.providers import Providers
from tunemeld.services.store import Lookup, Store

__all__ = ["RunContext"]


@dataclass
class RunContext:
    """One run's settings, store, providers and the memo that stops repeated calls within it."""

    settings: Settings
    store: Store
    providers: Providers
    catalog: Catalog
    cache: Cache
    run_id: str
    as_of: date
    now: datetime
    memo: dict[tuple[str, str], str | None] = field(default_factory=dict)
    lookup_hits: int = 0
    lookup_misses: int = 0

    def cached_lookup(self, kind: str, key: str) -> tuple[bool, str | None]:
        """(found, value) from this run's memo, then from the store's fresh `lookups`."""
        if (kind, key) in self.memo:
            self.lookup_hits += 1
            return True, self.memo[(kind, key)]
        stored = self.store.get_lookup(kind, key)
        if stored is not None and stored.is_fresh(self.now):
            self.memo[(kind, key)] = stored.value
            self.lookup_hits += 1
            return True, stored.value
        self.lookup_misses += 1
        return False, None

    def memo_get(self, kind: str, key: str) -> tuple[bool, str | None]:
        """(found, value) from this run's memo only: counts are read at most once a run."""
        if (kind, key) in self.memo:
            return True, self.memo[(kind, key)]
        return False, None

    def memo_set(self, kind: str, key: str, value: str | None) -> None:
        """Remember a value for the rest of this run only."""
        self.memo[(kind, key)] = value

    def remember(self, kind: str, key: str, value: str | None) -> None:
        """Keep a search answer for this run and in `lookups`; misses expire sooner."""
        self.memo[(kind, key)] = value
        etl = self.settings.etl
        ttl = (
            timedelta(days=etl.lookup_ttl_days)
            if value is not None
            else timedelta(hours=etl.negative_lookup_ttl_hours)
        )
        self.store.put_lookup(
            Lookup(kind=kind, key=key, value=value, expires_at=self.now + ttl, updated_at=self.now)
        )
