"""Storage: the Store protocol and its implementations, opened from settings by `open_store`."""

from __future__ import annotations

from tunemeld.config import Settings
from tunemeld.exceptions import ConfigError
from tunemeld.services.store.base import COLLECTIONS, CollectionStatus, Lookup, Store
from tunemeld.services.store.sqlite import SQLiteStore

__all__ = ["COLLECTIONS", "CollectionStatus", "Lookup", "SQLiteStore", "Store", "open_store"]


def open_store(settings: Settings) -> Store:
    """Build the store the settings name and make sure its tables and indexes exist."""
    url = settings.database.url
    if settings.database.is_sqlite:
        store = SQLiteStore.from_url(url, timeout_ms=settings.database.timeout_ms)
        store.init()
        return store
    raise ConfigError(
        "MongoDB URLs are recognised but the MongoDB store is not available in this version.",
        hint="Use the embedded store: unset MONGODB_URL / TUNEMELD_DATABASE__URL "
        "(default sqlite:///.tunemeld/tunemeld.db).",
    )
