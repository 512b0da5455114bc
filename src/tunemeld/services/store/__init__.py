"""Storage: the Store protocol and its implementations, opened from settings by `open_store`."""

from __future__ import annotations

from tunemeld.config import Settings
from tunemeld.services.store.base import (
    RUN_LEASE,
    CollectionStatus,
    Lease,
    Lookup,
    QuotaUsage,
    Store,
)
from tunemeld.services.store.collections import (
    COLLECTIONS,
    EXPORT_KEYS,
    EXPORTED,
    SPECS,
    CollectionSpec,
)
from tunemeld.services.store.mongo import MongoStore
from tunemeld.services.store.sqlite import SQLiteStore

__all__ = [
    "COLLECTIONS",
    "EXPORTED",
    "EXPORT_KEYS",
    "RUN_LEASE",
    "SPECS",
    "CollectionSpec",
    "CollectionStatus",
    "Lease",
    "Lookup",
    "MongoStore",
    "QuotaUsage",
    "SQLiteStore",
    "Store",
    "open_store",
    "open_store_url",
]


def open_store(settings: Settings) -> Store:
    """Build the store the settings name and make sure its tables and indexes exist."""
    return open_store_url(settings.database.url, settings)


def open_store_url(url: str, settings: Settings) -> Store:
    """Open and initialise the SQLite or MongoDB store at `url` (`db.copy --to URL`) with the
    timeouts of `settings.database`; a MongoDB URL without a database uses its `name`."""
    db = settings.database
    store: Store
    if url.startswith("sqlite:///"):
        store = SQLiteStore.from_url(url, timeout_ms=db.timeout_ms)
    else:
        store = MongoStore.from_url(
            url,
            default_database=db.name,
            connect_timeout_ms=db.timeout_ms,
            server_selection_timeout_ms=db.server_selection_timeout_ms,
            socket_timeout_ms=db.socket_timeout_ms,
        )
    try:
        store.init()
    except BaseException:
        store.close()
        raise
    return store
