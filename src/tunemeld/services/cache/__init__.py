"""The API answer cache: the `Cache` protocol, its backends and `open_cache(settings)`.

Backends (`cache.backend`): `memory` (a bounded LRU in the API process), `cloudflare` (Workers
KV, shared by every process, so an ETL run's refresh reaches every API server at once) and
`none`. A cache keeps bytes under keys; what the bytes are (the API's answers, and how the ETL
re-warms them) is `tunemeld.api.answers`.
"""

from __future__ import annotations

from collections.abc import Callable

from tunemeld.config import Settings
from tunemeld.exceptions import ConfigError
from tunemeld.services.cache.base import (
    TRACK_CACHE_PREFIX,
    Cache,
    CacheStats,
    genre_cache_prefix,
    track_cache_key,
    view_cache_key,
)
from tunemeld.services.cache.cloudflare import CloudflareKVCache
from tunemeld.services.cache.memory import MemoryCache, NullCache
from tunemeld.services.monitoring import Metrics

__all__ = [
    "TRACK_CACHE_PREFIX",
    "Cache",
    "CacheStats",
    "CloudflareKVCache",
    "MemoryCache",
    "NullCache",
    "genre_cache_prefix",
    "open_cache",
    "track_cache_key",
    "view_cache_key",
]


def _cloudflare(settings: Settings, metrics: Metrics | None) -> Cache:
    cfg = settings.cache
    missing = cfg.missing_cloudflare()
    if missing or cfg.cloudflare_api_token is None:
        raise ConfigError(
            f"cache.backend is cloudflare but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set.",
            hint="Set them in the environment or .env (see .env.example), "
            "or use TUNEMELD_CACHE__BACKEND=memory.",
        )
    return CloudflareKVCache(
        account_id=cfg.cloudflare_account_id or "",
        namespace_id=cfg.cloudflare_namespace_id or "",
        api_token=cfg.cloudflare_api_token.get_secret_value().strip(),
        base_url=cfg.cloudflare_base_url,
        key_prefix=cfg.key_prefix,
        ttl_seconds=cfg.ttl_seconds,
        connect_timeout=cfg.cloudflare_connect_timeout,
        read_timeout=cfg.cloudflare_read_timeout,
        max_attempts=cfg.cloudflare_max_attempts,
        cooldown_seconds=cfg.cloudflare_cooldown_seconds,
        metrics=metrics,
    )


def open_cache(settings: Settings, *, metrics: Metrics | None = None) -> Cache:
    """Build the cache `settings.cache.backend` names; close it when done."""
    cfg = settings.cache
    factories: dict[str, Callable[[], Cache]] = {
        "memory": lambda: MemoryCache(
            max_entries=cfg.max_entries, ttl_seconds=cfg.ttl_seconds, metrics=metrics
        ),
        "cloudflare": lambda: _cloudflare(settings, metrics),
        "none": lambda: NullCache(metrics=metrics),
    }
    factory = factories.get(cfg.backend)
    if factory is None:
        valid = ", ".join(factories)
        raise ConfigError(
            f"Unknown cache backend {cfg.backend!r}.",
            hint=f"Set TUNEMELD_CACHE__BACKEND to one of: {valid}.",
        )
    return factory()
