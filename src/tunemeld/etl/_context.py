"""What every stage needs for one run, built once by the pipeline."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from tunemeld.config import Catalog, Settings
from tunemeld.models import Genre
from tunemeld.services.cache import Cache
from tunemeld.services.http import QuotaBudget
from tunemeld.services.providers import Providers
from tunemeld.services.store import Lookup, Store

__all__ = ["RunContext"]

T = TypeVar("T")
R = TypeVar("R")


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
    budget: QuotaBudget | None = None
    genres: tuple[Genre, ...] = ()
    """Every genre of the run, so a stage can batch calls across genres."""
    aggregates_started: int = 0
    """Aggregate units begun so far: the YouTube search bucket is shared fairly among them."""
    deferred: dict[str, set[str]] = field(default_factory=dict)
    """quota bucket -> keys of the lookups deferred to a later run."""
    lookup_failures: dict[str, int] = field(default_factory=dict)
    """lookup kind -> searches that failed (not cached: the next run tries again)."""
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _gates: dict[tuple[str, str], threading.Lock] = field(default_factory=dict, repr=False)

    def cached_lookup(self, kind: str, key: str) -> tuple[bool, str | None]:
        """(found, value) from this run's memo, then from the store's fresh `lookups`."""
        with self._lock:
            if (kind, key) in self.memo:
                self.lookup_hits += 1
                return True, self.memo[(kind, key)]
        stored = self.store.get_lookup(kind, key)
        with self._lock:
            if stored is not None and stored.is_fresh(self.now):
                self.memo[(kind, key)] = stored.value
                self.lookup_hits += 1
                return True, stored.value
            self.lookup_misses += 1
        return False, None

    def search_once(self, kind: str, key: str, search: Callable[[], str | None]) -> str | None:
        """`search()` at most once per run for (kind, key), its answer remembered in `lookups`.

        Call `cached_lookup` first. Concurrent callers of one key share the first one's answer;
        an error from `search` is not remembered, so a later caller or run asks again.
        """
        with self._lock:
            gate = self._gates.setdefault((kind, key), threading.Lock())
        with gate:
            found, value = self.memo_get(kind, key)
            if found:
                return value
            value = search()
            self.remember(kind, key, value)
            return value

    def memo_get(self, kind: str, key: str) -> tuple[bool, str | None]:
        """(found, value) from this run's memo only: counts are read at most once a run."""
        with self._lock:
            if (kind, key) in self.memo:
                return True, self.memo[(kind, key)]
        return False, None

    def memo_set(self, kind: str, key: str, value: str | None) -> None:
        """Remember a value for the rest of this run only."""
        with self._lock:
            self.memo[(kind, key)] = value

    def remember(self, kind: str, key: str, value: str | None) -> None:
        """Keep a search answer for this run and in `lookups`; misses expire sooner."""
        self.memo_set(kind, key, value)
        etl = self.settings.etl
        ttl = (
            timedelta(days=etl.lookup_ttl_days)
            if value is not None
            else timedelta(hours=etl.negative_lookup_ttl_hours)
        )
        self.store.put_lookup(
            Lookup(kind=kind, key=key, value=value, expires_at=self.now + ttl, updated_at=self.now)
        )

    def each(self, work: Callable[[T], R], items: Sequence[T]) -> list[R | Exception]:
        """`work(item)` for every item, `providers.max_concurrency` at a time, in item order.

        Each result is the return value or the exception raised; log context follows the work
        into its thread.
        """
        workers = min(self.settings.providers.max_concurrency, len(items))

        def guarded(item: T) -> R | Exception:
            try:
                return work(item)
            except Exception as exc:  # handed back to the caller, in order
                return exc

        if workers <= 1:
            return [guarded(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tunemeld-etl") as pool:
            futures = [pool.submit(contextvars.copy_context().run, guarded, i) for i in items]
            return [future.result() for future in futures]

    def fair_share(self, provider: str, endpoint: str, *, takers_left: int) -> int | None:
        """The calls one of `takers_left` remaining units may make so each gets an equal part.

        None when unlimited. Rounds up; a unit that needs fewer leaves the rest to those after it.
        """
        if self.budget is None:
            return None
        left = self.budget.calls_left(provider, endpoint)
        if left is None:
            return None
        return -(-left // max(1, takers_left))

    def can_spend(self, provider: str, endpoint: str) -> bool:
        """False when the endpoint's quota bucket is spent for this run."""
        return self.budget is None or not self.budget.is_spent(provider, endpoint)

    def bucket_of(self, provider: str, endpoint: str) -> str:
        """The quota bucket an endpoint draws on."""
        return self.settings.providers.cost(provider, endpoint).bucket

    def defer(self, bucket: str, key: str) -> None:
        """Note a lookup pushed to a later run because `bucket` is spent (each key once)."""
        with self._lock:
            self.deferred.setdefault(bucket, set()).add(key)

    def deferred_counts(self) -> dict[str, int]:
        """quota bucket -> distinct lookups deferred this run."""
        with self._lock:
            return {bucket: len(keys) for bucket, keys in sorted(self.deferred.items())}

    def failed_lookup(self, kind: str) -> None:
        """Count a search that failed this run (left uncached)."""
        with self._lock:
            self.lookup_failures[kind] = self.lookup_failures.get(kind, 0) + 1
