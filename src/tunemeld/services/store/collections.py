"""The logical collections, each described once: both stores, export/import and `db.status` read it.

Each store keeps only its physical layout (SQLite's columns, MongoDB's document shape) and derives
the rest (names, models, natural keys, indexes, what moves and how) from `SPECS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from tunemeld.models import (
    Playlist,
    Ranking,
    RawPlaylist,
    RunReport,
    Track,
    ViewDoc,
    ViewSample,
)
from tunemeld.services.store.base import Lease, Lookup, QuotaUsage, Store

__all__ = [
    "COLLECTIONS",
    "EXPORTED",
    "EXPORT_KEYS",
    "SPECS",
    "CollectionSpec",
    "spec_for",
]

Loader = Callable[[Store, list[Any], int], object]
"""`load(store, records, keep)`: write one batch of validated records into an empty store."""


@dataclass(frozen=True)
class CollectionSpec:
    """Everything TuneMeld knows about one logical collection, in one place."""

    name: str
    model: type[BaseModel]
    key: tuple[str, ...]  # the natural key: a unique index in every store, the export order
    newest: str  # the model's datetime field whose maximum `db.status` shows
    indexes: tuple[tuple[str, ...], ...] = ()  # secondary indexes; "-field" sorts descending
    load: Loader | None = None  # how import/copy write a batch; None: never moved

    @property
    def exported(self) -> bool:
        """True when `db.export`, `db.import` and `db.copy` move it and `db.reset` empties it."""
        return self.load is not None


def _load_raw_playlists(store: Store, records: list[Any], keep: int) -> None:
    for raw in records:
        store.save_raw_playlist(raw, keep=keep)  # keep >= all snapshots: nothing pruned


def _load_rankings(store: Store, records: list[Any], keep: int) -> None:
    """Write each (genre, playlist, day) group of a batch as that day's ranking. Batches come in
    key order, so only the first day can have begun in the previous batch: its stored half stays."""
    groups: dict[tuple[Any, str, Any], list[Any]] = {}
    for ranking in records:
        groups.setdefault((ranking.genre, ranking.playlist, ranking.day), []).append(ranking)
    for number, ((genre, playlist, day), group) in enumerate(groups.items()):
        stored = (
            store.playlist_rankings(genre, playlist, since=day, until=day) if not number else []
        )
        store.save_rankings(genre, playlist, day, [*stored, *group])


def _each(write: Callable[[Store, Any], object]) -> Loader:
    """A loader writing the records one at a time with `write(store, record)`."""

    def load(store: Store, records: list[Any], keep: int) -> None:
        for record in records:
            write(store, record)

    return load


SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec("raw_playlists", RawPlaylist, ("service", "genre", "fetched_at"),
                   "fetched_at",
                   load=_load_raw_playlists),
    CollectionSpec("tracks", Track, ("isrc",), "updated_at",
                   load=lambda store, records, keep: store.upsert_tracks(records)),
    CollectionSpec("playlists", Playlist, ("genre", "service_name"), "updated_at",
                   load=_each(lambda store, playlist: store.save_playlist(playlist))),
    CollectionSpec("rankings", Ranking, ("genre", "playlist", "day", "isrc"), "recorded_at",
                   indexes=(("isrc",),),
                   load=_load_rankings),
    CollectionSpec("view_counts", ViewSample, ("isrc", "source", "day"), "timestamp",
                   indexes=(("source", "day"),),
                   load=lambda store, records, keep: store.save_view_samples(records)),
    CollectionSpec("lookups", Lookup, ("kind", "key"), "updated_at",
                   load=_each(lambda store, lookup: store.put_lookup(lookup))),
    CollectionSpec("runs", RunReport, ("run_id",), "started_at", indexes=(("-started_at",),),
                   load=_each(lambda store, report: store.save_run(report))),
    CollectionSpec("views", ViewDoc, ("genre", "name"), "updated_at",
                   load=lambda store, records, keep: store.save_views(records)),
    CollectionSpec("quota_usage", QuotaUsage, ("day", "bucket"), "updated_at",
                   load=_each(lambda store, usage: store.add_quota_usage(
                       usage.day, usage.bucket, usage.units, at=usage.updated_at))),
    # Never moved: a lease is a live process's claim on *this* store (its host and pid mean
    # nothing elsewhere), so copying one would block every run on the target until it expired,
    # and deleting a live one would let a second writer in beside the running run.
    CollectionSpec("leases", Lease, ("name",), "renewed_at"),
)  # fmt: skip
"""Every logical collection, with the same name in every store, in `db.status` order."""

_BY_NAME: Mapping[str, CollectionSpec] = {spec.name: spec for spec in SPECS}

COLLECTIONS = tuple(spec.name for spec in SPECS)
"""The logical collections' names (`db.status` lists them all)."""

EXPORTED = tuple(spec.name for spec in SPECS if spec.exported)
"""The collections `db.export`, `db.import` and `db.copy` move, and `db.reset` empties."""

EXPORT_KEYS: Mapping[str, tuple[str, ...]] = {s.name: s.key for s in SPECS if s.exported}
"""Each exported collection's natural key (unique in every store): `export_records`' order."""


def spec_for(name: str, *, exported: bool = False) -> CollectionSpec:
    """The spec of collection `name`; ValueError naming the choices for an unknown one."""
    spec = _BY_NAME.get(name)
    if spec is None or (exported and not spec.exported):
        choices = EXPORTED if exported else COLLECTIONS
        raise ValueError(f"unknown collection {name!r}; expected one of {choices}")
    return spec
