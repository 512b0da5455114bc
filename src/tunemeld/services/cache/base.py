"""The `Cache` protocol every answer cache implements, and the keys the API and the ETL share.

Keys are strings, values are the encoded bytes the API sends, so any backend (memory, Cloudflare
Workers KV) can hold them. A cache never raises into a request: a backend that fails counts a
miss or an error and the caller reads the store instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from tunemeld.models import Genre
from tunemeld.services.monitoring import Metrics

__all__ = [
    "TRACK_CACHE_PREFIX",
    "Cache",
    "CacheStats",
    "CountedLookups",
    "genre_cache_prefix",
    "track_cache_key",
    "view_cache_key",
]


@dataclass(frozen=True)
class CacheStats:
    """What a cache has counted since it opened, for health and the CLI; None: not counted."""

    hits: int | None = None
    misses: int | None = None
    errors: int | None = None
    available: bool = True
    """False while the backend is known to be down (Cloudflare's cool-down)."""
    last_error: str | None = None

    def counts(self) -> dict[str, int]:
        """The counters this backend keeps, by name (`hits`, `misses`, `errors`)."""
        named = {"hits": self.hits, "misses": self.misses, "errors": self.errors}
        return {name: value for name, value in named.items() if value is not None}


@runtime_checkable
class Cache(Protocol):
    """Where the API keeps encoded answers: MemoryCache, CloudflareKVCache or NullCache."""

    name: str
    """The backend's name ("memory", "cloudflare", "none"): shown by health, a metrics label."""

    def get(self, key: str) -> bytes | None:
        """The stored value, or None when absent, expired or unreachable."""
        ...

    def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        """Store `value` for `ttl_seconds` (None: the cache's default TTL)."""
        ...

    def delete(self, key: str) -> None:
        """Forget one key; absent keys are fine."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Forget every key starting with `prefix`; returns how many were removed."""
        ...

    def clear(self) -> None:
        """Forget everything this cache stored."""
        ...

    def close(self) -> None:
        """Release connections; safe to repeat."""
        ...

    def stats(self) -> CacheStats:
        """Hits, misses and errors so far, and whether the backend answers."""
        ...


class CountedLookups:
    """What every backend shares: it counts hits and misses, and reports them to `metrics`."""

    name: str

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.hits = 0
        self.misses = 0
        self._metrics = metrics
        self._lock = threading.Lock()

    def _counted(self, value: bytes | None) -> bytes | None:
        """Count one lookup's answer (None: a miss) and return it."""
        with self._lock:
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
        if self._metrics is not None:
            self._metrics.record_cache_request(self.name, hit=value is not None)
        return value


def view_cache_key(genre: Genre, name: str) -> str:
    """The cache key of one precomputed view's encoded answer."""
    return f"view:{genre.value}:{name}"


def genre_cache_prefix(genre: Genre) -> str:
    """The prefix of every cached answer of one genre: what the ETL invalidates."""
    return f"view:{genre.value}:"


TRACK_CACHE_PREFIX = "track:"
"""The prefix of every cached `/track/<isrc>` answer: each ETL run's view rebuild drops them all."""


def track_cache_key(isrc: str) -> str:
    """The cache key of one recording's `/track/<isrc>` answer (read from the store on a miss)."""
    return f"{TRACK_CACHE_PREFIX}{isrc}"
