"""The Store protocol: repository methods over TuneMeld's logical collections (DESIGN.md §3).

Every implementation keeps these rules, and `tests/integration/test_store_contract.py` checks them:
- a failed fetch never deletes the last good data (callers write only after a successful fetch);
- each (stage, service, genre) unit commits atomically: writes inside `with store.unit():` are
  all visible or none are, and readers never see half a unit;
- re-running a stage is idempotent: every write is an upsert on a natural key;
- histories (raw snapshots, view samples, runs) are separate records, never growing arrays.
All datetimes go in and come out timezone-aware (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from tunemeld.models import (
    Genre,
    Playlist,
    RawPlaylist,
    RunReport,
    Service,
    Track,
    ViewDoc,
    ViewSample,
    ViewSource,
)

__all__ = [
    "COLLECTIONS",
    "EXPORT_KEYS",
    "CollectionStatus",
    "Lookup",
    "QuotaUsage",
    "Store",
    "key_text",
    "require_aware",
]

COLLECTIONS = (
    "raw_playlists",
    "tracks",
    "playlists",
    "view_counts",
    "lookups",
    "runs",
    "views",
    "quota_usage",
)
"""The logical collections, with the same names in every store."""

EXPORT_KEYS: dict[str, tuple[str, ...]] = {
    "raw_playlists": ("service", "genre", "fetched_at"),
    "tracks": ("isrc",),
    "playlists": ("genre", "service_name"),
    "view_counts": ("isrc", "source", "day"),
    "lookups": ("kind", "key"),
    "runs": ("run_id",),
    "views": ("genre", "name"),
    "quota_usage": ("day", "bucket"),
}
"""Each collection's natural key (unique in every store): the order `export_records` yields."""


class Lookup(BaseModel):
    """A remembered answer to an external search; `value=None` is a cached miss."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    key: str
    value: str | None
    expires_at: datetime
    updated_at: datetime

    def is_fresh(self, now: datetime) -> bool:
        """True while the answer may still be used."""
        return now < self.expires_at


class QuotaUsage(BaseModel):
    """One day's spending from one quota bucket, as exported and imported."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    bucket: str
    units: int
    updated_at: datetime


class CollectionStatus(BaseModel):
    """One collection's size and the time of its newest record, for `inv db.status`."""

    model_config = ConfigDict(frozen=True)

    name: str
    count: int
    newest: datetime | None


@runtime_checkable
class Store(Protocol):
    """Where TuneMeld keeps everything; implementations: SQLiteStore, MongoStore."""

    @property
    def url(self) -> str:
        """The store's URL with any password masked: safe to print."""
        ...

    def init(self) -> None:
        """Create collections/tables and indexes; safe to call again."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        ...

    def unit(self) -> AbstractContextManager[None]:
        """A transaction for one unit of work: commit on success, roll back on error."""
        ...

    # raw_playlists
    def save_raw_playlist(self, raw: RawPlaylist, *, keep: int) -> None:
        """Add a snapshot and keep only the newest `keep` for its (service, genre)."""
        ...

    def latest_raw_playlist(self, service: Service, genre: Genre) -> RawPlaylist | None:
        """The newest snapshot of one playlist, or None before the first extract."""
        ...

    # tracks
    def upsert_tracks(self, tracks: Iterable[Track]) -> int:
        """Insert or merge (Track.merged) tracks by ISRC; returns how many were written."""
        ...

    def get_tracks(self, isrcs: Iterable[str]) -> dict[str, Track]:
        """The stored tracks among `isrcs`, by ISRC; unknown ones are absent."""
        ...

    # playlists
    def save_playlist(self, playlist: Playlist) -> None:
        """Replace the ranked playlist of (genre, service_name)."""
        ...

    def get_playlist(self, genre: Genre, service_name: str) -> Playlist | None:
        """One ranked playlist (a Service value or "Aggregate"), or None."""
        ...

    # view_counts
    def save_view_samples(self, samples: Iterable[ViewSample]) -> int:
        """Upsert samples keyed by (isrc, source, day); returns how many were written."""
        ...

    def view_history(
        self, isrcs: Iterable[str], source: ViewSource | None = None
    ) -> dict[str, list[ViewSample]]:
        """Samples per ISRC, oldest first; optionally one source only."""
        ...

    def previous_samples(
        self, isrcs: Iterable[str], source: ViewSource, before: date
    ) -> dict[str, ViewSample]:
        """For each ISRC, its newest sample of `source` from a day before `before`."""
        ...

    # lookups
    def get_lookup(self, kind: str, key: str) -> Lookup | None:
        """A remembered search answer (fresh or not: the caller checks `is_fresh`)."""
        ...

    def put_lookup(self, lookup: Lookup) -> None:
        """Remember a search answer, replacing any earlier one for (kind, key)."""
        ...

    # quota_usage
    def add_quota_usage(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        """Add `units` spent from a provider's daily `bucket` on `day`; return the day's total.

        Atomic (an increment, not read-then-write), so two runs on one day share one budget.
        """
        ...

    def quota_usage(self, day: date) -> dict[str, int]:
        """Units spent per bucket on `day`; buckets never drawn on are absent."""
        ...

    # runs
    def save_run(self, report: RunReport) -> None:
        """Insert or replace a run record by run_id."""
        ...

    def get_run(self, run_id: str) -> RunReport | None:
        """One run record."""
        ...

    def list_runs(self, limit: int = 20) -> list[RunReport]:
        """The newest run records first."""
        ...

    # views
    def save_views(self, docs: Sequence[ViewDoc]) -> None:
        """Replace per-genre API documents by (genre, name), all at once."""
        ...

    def get_view(self, genre: Genre, name: str) -> ViewDoc | None:
        """One precomputed API document."""
        ...

    # administration
    def status(self) -> list[CollectionStatus]:
        """Count and newest record time of every collection, in COLLECTIONS order."""
        ...

    def reset(self) -> None:
        """Delete every record of every collection (the CLI asks first)."""
        ...

    def iter_view_samples(self) -> Iterator[ViewSample]:
        """Every view sample, for export and validation."""
        ...

    def export_records(self, collection: str) -> Iterator[dict[str, Any]]:
        """Every record of one collection as its model's JSON-ready dict, in natural-key order.

        The order and the values are the same in every store, so two stores holding the same
        data export the same bytes (`tunemeld.services.store.transfer`). Records are read in
        pages: no transaction stays open while the consumer works. ValueError for an unknown
        collection.
        """
        ...


def require_aware(value: object, where: str) -> None:
    """Raise ValueError for a naive datetime anywhere in a model: it has no defined instant."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{where} is a naive datetime ({value.isoformat()}); use UTC-aware")
    elif isinstance(value, BaseModel):
        for field in type(value).model_fields:
            require_aware(getattr(value, field), f"{where}.{field}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            require_aware(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            require_aware(item, f"{where}[{key!r}]")


def key_text(value: str) -> str:
    """The plain string of a str or str-enum key (`Service.SPOTIFY` -> "Spotify")."""
    return value.value if isinstance(value, (Service, ViewSource, Genre)) else str(value)
