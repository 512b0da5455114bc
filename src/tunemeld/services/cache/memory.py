"""The in-process caches: a bounded, thread-safe LRU with TTLs, and a cache that never stores.

An in-memory cache lives in the API process only; the ETL reaches it when both run in one
process, otherwise its TTL bounds staleness (use the Cloudflare backend to share answers).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from tunemeld.services.cache.base import CacheStats, CountedLookups
from tunemeld.services.monitoring import Metrics

__all__ = ["MemoryCache", "NullCache"]


class MemoryCache(CountedLookups):
    """A thread-safe LRU of at most `max_entries` values, each living `ttl_seconds`."""

    name = "memory"

    def __init__(
        self,
        max_entries: int = 512,
        ttl_seconds: int | None = 60,
        *,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive or None, got {ttl_seconds}")
        super().__init__(metrics)
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.evictions = 0
        self._clock = clock
        # key -> (value, expires_at or None for never); the order is least recently used first.
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()

    def __len__(self) -> int:
        """How many entries are held, expired ones not yet dropped included."""
        with self._lock:
            return len(self._entries)

    def get(self, key: str) -> bytes | None:
        """The value if present and fresh; a hit also makes it the most recently used."""
        with self._lock:
            entry = self._entries.get(key)
            value: bytes | None = None
            if entry is not None:
                stored, expires_at = entry
                if expires_at is not None and self._clock() >= expires_at:
                    del self._entries[key]
                else:
                    self._entries.move_to_end(key)
                    value = stored
        return self._counted(value)

    def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        """Store a value, evicting the least recently used beyond `max_entries`; a non-positive
        `ttl_seconds` stores nothing (and drops an older value of the key)."""
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        with self._lock:
            if ttl is not None and ttl <= 0:
                self._entries.pop(key, None)
                return
            expires_at = None if ttl is None else self._clock() + ttl
            self._entries[key] = (bytes(value), expires_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
                self.evictions += 1

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [key for key in self._entries if key.startswith(prefix)]
            for key in doomed:
                del self._entries[key]
        return len(doomed)

    def clear(self) -> None:
        """Forget everything; the hit and miss counts stay."""
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        """Nothing to release: the entries live in this process."""

    def stats(self) -> CacheStats:
        """Hits and misses so far; memory never fails."""
        return CacheStats(hits=self.hits, misses=self.misses)


class NullCache(CountedLookups):
    """A cache that never stores: every lookup misses (`cache.backend = "none"`)."""

    name = "none"

    def get(self, key: str) -> bytes | None:
        """Always None."""
        return self._counted(None)

    def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        """Do nothing."""

    def delete(self, key: str) -> None:
        """Do nothing."""

    def delete_prefix(self, prefix: str) -> int:
        """Nothing is ever stored, so nothing is removed."""
        return 0

    def clear(self) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""

    def stats(self) -> CacheStats:
        """Every lookup is a miss."""
        return CacheStats(misses=self.misses)
