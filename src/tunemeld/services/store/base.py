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
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

from tunemeld.exceptions import StoreError
from tunemeld.models import (
    Genre,
    Playlist,
    Ranking,
    RawPlaylist,
    RunReport,
    Service,
    Track,
    ViewDoc,
    ViewSample,
    ViewSource,
)

__all__ = [
    "RUN_LEASE",
    "BaseStore",
    "CollectionStatus",
    "Lease",
    "Lookup",
    "QuotaUsage",
    "Store",
    "check_keep",
    "check_limit",
    "check_rankings",
    "check_swap",
    "check_units",
    "chunks",
    "closed_error",
    "field_value",
    "inside_unit_error",
    "key_text",
    "require_aware",
    "utc",
]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="BaseStore")
_M = TypeVar("_M", bound=BaseModel)

RUN_LEASE = "etl"
"""The name of the lease every writing run takes (one writer at a time per store)."""


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


class Lease(BaseModel):
    """Who holds a named lease on the store, since when, and until when unless renewed; `token`
    changes with every take and renewal, so of two processes taking it over only one succeeds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    token: str
    run_id: str
    host: str
    pid: int
    started_at: datetime
    renewed_at: datetime
    expires_at: datetime


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

    def __enter__(self) -> Store:
        """`with open_store(settings) as store:` closes the store when the block ends."""
        ...

    def __exit__(self, *exc_info: object) -> None:
        """Close the store, whether the block ended normally or by an error."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        ...

    def unit(self) -> AbstractContextManager[None]:
        """A transaction for one unit of work: commit on success, roll back on error."""
        ...

    # raw_playlists
    def save_raw_playlist(self, raw: RawPlaylist, *, keep: int) -> None:
        """Add a snapshot and prune all but the newest `keep` of its (service, genre), never the
        one just written (a backfill of an old day: its run's transform still reads it)."""
        ...

    def latest_raw_playlist(
        self, service: Service, genre: Genre, *, until: datetime | None = None
    ) -> RawPlaylist | None:
        """The newest snapshot of one playlist (fetched at or before `until`), or None."""
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

    # rankings
    def save_rankings(
        self, genre: Genre, playlist: str, day: date, rankings: Sequence[Ranking]
    ) -> int:
        """Replace the ranking of (genre, playlist, day) with `rankings` (all of that day, else
        ValueError; none deletes it); returns how many."""
        ...

    def playlist_rankings(
        self,
        genre: Genre,
        playlist: str,
        *,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Ranking]:
        """The stored rankings of one playlist, days `since` to `until` (both included, None:
        unbounded), by (day, rank, isrc)."""
        ...

    def latest_ranking_day(
        self, genre: Genre, playlist: str, *, until: date | None = None
    ) -> date | None:
        """The newest day (up to `until`, inclusive) with a ranking of one playlist, or None."""
        ...

    def track_rankings(self, isrc: str) -> list[Ranking]:
        """Every ranking record of one ISRC, by (genre, playlist, day)."""
        ...

    # view_counts
    def save_view_samples(self, samples: Iterable[ViewSample]) -> int:
        """Upsert samples keyed by (isrc, source, day); returns how many were written."""
        ...

    def view_history(
        self, isrcs: Iterable[str], source: ViewSource | None = None
    ) -> dict[str, list[ViewSample]]:
        """Samples per ISRC, oldest first (by day, then source); optionally one source only."""
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
        """Add `units` spent from `bucket` on `day`; the day's total. Atomic, so two runs on one
        day share one budget."""
        ...

    def spend_quota(
        self, day: date, bucket: str, units: int, *, limit: int | None, at: datetime
    ) -> int | None:
        """Record `units` about to be spent from (day, bucket); the new total, or None (nothing
        recorded) past `limit` (None: no limit). An atomic write of its own, never in a unit, made
        before the request, so a crash never leaves units unrecorded and no two processes pass a
        limit together."""
        ...

    def refund_quota(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        """Give back `units` recorded by `spend_quota` for a request that never left; new total."""
        ...

    def quota_usage(self, day: date) -> dict[str, int]:
        """Units spent per bucket on `day`; buckets never drawn on are absent."""
        ...

    # leases
    def get_lease(self, name: str) -> Lease | None:
        """The current holder of a lease (expired or not: the caller decides), or None."""
        ...

    def swap_lease(self, new: Lease, *, expected: Lease | None) -> bool:
        """Compare and set: store `new` if the lease is still `expected` (None: not held); False
        when another process took, renewed or released it in between: two takers never both win."""
        ...

    def release_lease(self, name: str, token: str) -> bool:
        """Delete the lease if it still holds `token`; False when it was not ours any more."""
        ...

    # runs
    def save_run(self, report: RunReport) -> None:
        """Insert or replace a run record by run_id."""
        ...

    def get_run(self, run_id: str) -> RunReport | None:
        """One run record."""
        ...

    def list_runs(self, limit: int = 20) -> list[RunReport]:
        """The newest run records first (by started_at, ties by run_id descending)."""
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
        """Count and newest record time of every collection, in `collections.SPECS` order."""
        ...

    def reset(self) -> None:
        """Delete every record of every EXPORTED collection (the CLI asks first); leases stay."""
        ...

    def iter_view_samples(self) -> Iterator[ViewSample]:
        """Every view sample, for export and validation."""
        ...

    def export_records(self, collection: str) -> Iterator[dict[str, Any]]:
        """Every record of one collection as its model's JSON-ready dict, in natural-key order and
        alike in every store (so equal stores export equal bytes); read in pages, so no transaction
        stays open while the consumer works. ValueError for an unknown collection."""
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


def utc(value: datetime, where: str = "datetime") -> datetime:
    """`value` in UTC; ValueError for a naive datetime (it has no defined instant)."""
    require_aware(value, where)
    return value.astimezone(timezone.utc)


def field_value(value: object, where: str) -> object:
    """A model field as the stores keep it outside the document: datetimes in UTC, days as ISO
    text, names as plain text; ValueError for a naive datetime."""
    if isinstance(value, datetime):
        return utc(value, where)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value) if isinstance(value, str) else value


def key_text(value: str) -> str:
    """The plain string of a str or str-enum key (`Service.SPOTIFY` -> "Spotify")."""
    return value.value if isinstance(value, (Service, ViewSource, Genre)) else str(value)


class BaseStore:
    """What every Store shares: closing as a context manager, and whole-record writes and key
    reads through each store's primitives `_put` and `_find`."""

    def close(self) -> None:
        raise NotImplementedError

    def export_records(self, collection: str) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def _find(self, model: type[_M], collection: str, **key: str) -> _M | None:
        """The record of `collection` whose natural key is `key`, or None."""
        raise NotImplementedError

    def _put(self, collection: str, records: Sequence[BaseModel]) -> None:
        """Write whole records of `collection` by their natural keys."""
        raise NotImplementedError

    def save_playlist(self, playlist: Playlist) -> None:
        require_aware(playlist, "Playlist")
        self._put("playlists", [playlist])

    def save_view_samples(self, samples: Iterable[ViewSample]) -> int:
        latest: dict[tuple[str, str, date], ViewSample] = {}  # a repeated key: the last wins
        for sample in samples:
            require_aware(sample, f"ViewSample {sample.isrc}")
            latest[(sample.isrc, sample.source.value, sample.day)] = sample
        self._put("view_counts", list(latest.values()))
        return len(latest)

    def put_lookup(self, lookup: Lookup) -> None:
        self._put("lookups", [lookup])

    def save_run(self, report: RunReport) -> None:
        require_aware(report, f"RunReport {report.run_id}")
        self._put("runs", [report])

    def save_views(self, docs: Sequence[ViewDoc]) -> None:
        for doc in docs:
            require_aware(doc, f"ViewDoc {doc.genre.value}/{doc.name}")
        self._put("views", docs)

    def get_playlist(self, genre: Genre, service_name: str) -> Playlist | None:
        key = {"genre": Genre(genre).value, "service_name": key_text(service_name)}
        return self._find(Playlist, "playlists", **key)

    def get_lookup(self, kind: str, key: str) -> Lookup | None:
        return self._find(Lookup, "lookups", kind=key_text(kind), key=key_text(key))

    def get_run(self, run_id: str) -> RunReport | None:
        return self._find(RunReport, "runs", run_id=key_text(run_id))

    def get_view(self, genre: Genre, name: str) -> ViewDoc | None:
        return self._find(ViewDoc, "views", genre=Genre(genre).value, name=key_text(name))

    def iter_view_samples(self) -> Iterator[ViewSample]:
        """Every view sample in (isrc, source, day) order, read in pages."""
        for record in self.export_records("view_counts"):
            yield ViewSample.model_validate(record)

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def check_keep(keep: int) -> None:
    """ValueError unless at least one raw snapshot is kept (`save_raw_playlist`)."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")


def check_units(units: int) -> None:
    """ValueError for negative quota units (the quota methods)."""
    if units < 0:
        raise ValueError(f"quota units must not be negative, got {units}")


def check_rankings(genre: Genre, playlist: str, day: date, rankings: Sequence[Ranking]) -> None:
    """ValueError unless every record is of (genre, playlist, day), once per ISRC, time aware."""
    seen: set[str] = set()
    for ranking in rankings:
        if (ranking.genre, ranking.playlist, ranking.day) != (genre, playlist, day):
            raise ValueError(
                f"a ranking of {ranking.genre.value}/{ranking.playlist}/{ranking.day} was given "
                f"to save_rankings for {Genre(genre).value}/{playlist}/{day}"
            )
        if ranking.isrc in seen:
            raise ValueError(f"{ranking.isrc} is ranked twice on {playlist} on {day}")
        seen.add(ranking.isrc)
        require_aware(ranking, f"Ranking {ranking.isrc}")


def check_limit(limit: int) -> None:
    """ValueError for a negative `list_runs` limit."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")


def check_swap(new: Lease, expected: Lease | None) -> None:
    """The checks every `swap_lease` makes first: aware datetimes, one lease name."""
    require_aware(new, f"Lease {new.name}")
    if expected is not None and expected.name != new.name:
        raise ValueError(f"cannot swap lease {expected.name!r} for {new.name!r}")


def closed_error(what: str) -> StoreError:
    """The error for any use of a closed store; `what` names it ("The SQLite store x.db")."""
    return StoreError(
        f"{what} was closed.",
        hint="Open a new store (tunemeld.open_store) instead of reusing a closed one.",
    )


def inside_unit_error(method: str) -> StoreError:
    """The error for a write that must commit at once (quota, leases) called inside a unit."""
    return StoreError(
        f"{method} was called inside a unit of work.",
        hint="Call it outside `with store.unit():` (it commits on its own at once).",
    )


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    """`items` in slices of at most `size`, for statements with a bounded parameter count."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
