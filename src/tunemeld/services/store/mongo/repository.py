"""MongoStore, the repository: the production store on MongoDB (a replica set or Atlas).

Same semantics as SQLiteStore, checked by the same contract suite:

- **Units are multi-document transactions** on a session bound to the calling thread (snapshot
  read concern, majority write concern), so they exist on replica sets only: a standalone
  `mongod` becomes a ConfigError saying how to start a one-node replica set. Buffering writes
  behind a version flip would work there too, but every read would filter by version, and
  refusing clearly cannot silently expose half a unit.
- **Units are serialised within a process** (like SQLite's write lock), so two threads never
  abort each other with write conflicts; a conflict with another process is a transient
  StoreUnavailable. **Nested units** join the outer transaction (no savepoints): an inner
  failure rolls back the whole unit even when the outer body catches it.
- **Track merges are optimistic outside a unit**: a merge writes only over the revision it read
  and re-reads the tracks another writer changed.
- **Documents** hold the natural key, a BSON date to sort on and `doc`, the model's JSON-ready
  dict: BSON dates keep milliseconds only, `doc` the exact instant. Records are written whole
  (`replace_one` upserts), so no update operator rewrites a stored datetime.
- **Quota and leases**: `$inc` upserts; `spend_quota` is one `find_one_and_update` filtered on
  `units <= limit - n`, outside any unit, so it is durable before the call it pays for and two
  processes can never pass a limit together. A lease is one document per name, swapped with a
  filter on the holder's token (compare and set).

Driver errors are translated in `mongo.errors`; the URL and client live in `mongo.client`. Long
because it is the whole Store protocol in pymongo calls; methods are documented on `Store`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, IndexModel, ReplaceOne, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    PyMongoError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from tunemeld.exceptions import StoreError, StoreUnavailable
from tunemeld.models import (
    Genre,
    Ranking,
    RawPlaylist,
    RunReport,
    Service,
    Track,
    ViewSample,
    ViewSource,
)
from tunemeld.services.store.base import (
    BaseStore,
    CollectionStatus,
    Lease,
    QuotaUsage,
    check_keep,
    check_limit,
    check_rankings,
    check_swap,
    check_units,
    chunks,
    closed_error,
    field_value,
    inside_unit_error,
    key_text,
    require_aware,
    utc,
)
from tunemeld.services.store.collections import EXPORTED, SPECS, CollectionSpec, spec_for
from tunemeld.services.store.mongo.client import (
    CODEC_OPTIONS,
    ClientFactory,
    Document,
    MongoTarget,
    build_client,
    parse_mongo_url,
)
from tunemeld.services.store.mongo.errors import driver_errors

__all__ = ["MongoStore"]

_M = TypeVar("_M", bound=BaseModel)
_UTC = timezone.utc
_MAX_IN = 5000  # ids per $in: keeps each command far below the 16 MB BSON limit
_PAGE = 1000
_MERGE_ATTEMPTS = 8
_BSON_PRECISION = timedelta(milliseconds=1)  # BSON dates keep milliseconds

_KEYED_BY_ID = frozenset({"leases"})  # one document per name: its `_id` is the natural key
_FIELDS = {
    "raw_playlists": ("service", "genre", "fetched_at", "run_id"),
    "tracks": ("isrc", "updated_at"),  # and `rev`, the revision a merge writes over
    "playlists": ("genre", "service_name", "updated_at"),
    "rankings": ("genre", "playlist", "day", "isrc", "rank", "recorded_at"),
    "view_counts": ("isrc", "source", "day", "timestamp"),
    "lookups": ("kind", "key", "updated_at"),
    "runs": ("run_id", "started_at", "status"),
    "views": ("genre", "name", "version", "updated_at"),
    "leases": ("token", "renewed_at"),
}
"""The fields a document keeps beside `doc`: its natural key and what queries filter and sort by
(datetimes as BSON dates). quota_usage is kept in fields alone, written with `$inc`."""
_IN_UTC = frozenset({"rankings", "view_counts", "lookups"})
"""Collections whose `doc` holds its datetimes in UTC, as SQLite's column tables give them back,
so that both stores export the same bytes."""


def _index_models(spec: CollectionSpec) -> list[IndexModel]:
    """The unique natural-key index and the secondary indexes of one collection."""
    models = [] if spec.name in _KEYED_BY_ID else [_index(spec.key, unique=True)]
    return models + [_index(fields) for fields in spec.indexes]


def _index(fields: Sequence[str], *, unique: bool = False) -> IndexModel:
    """`("-started_at",)` -> a descending index named `started_at`."""
    keys = [(f.lstrip("-"), DESCENDING if f.startswith("-") else ASCENDING) for f in fields]
    return IndexModel(keys, unique=unique, name="_".join(name for name, _ in keys))


def _newest_field(spec: CollectionSpec) -> str:
    """The field the newest document sorts by: a BSON date (exact in `doc`), or quota's `at`."""
    return "at" if spec.name == "quota_usage" else spec.newest


class _ThreadState(threading.local):
    """This thread's open unit: its session, its nesting depth, and whether an inner one failed."""

    def __init__(self) -> None:
        self.session: ClientSession | None = None
        self.depth = 0
        self.doomed = False


class MongoStore(BaseStore):
    """The MongoDB Store: one MongoClient, one database, units as transactions."""

    def __init__(
        self, target: MongoTarget, *, client_factory: ClientFactory = build_client
    ) -> None:
        self._target = target
        self._local = _ThreadState()
        self._unit_lock = threading.Lock()
        self._closed = False
        with self._errors():
            self._client = client_factory(target)
        self._db: Database[Document] = self._client.get_database(
            target.database, codec_options=CODEC_OPTIONS
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        default_database: str = "tunemeld",
        connect_timeout_ms: int = 5000,
        server_selection_timeout_ms: int = 3000,
        socket_timeout_ms: int = 30000,
        client_factory: ClientFactory = build_client,
    ) -> MongoStore:
        """Open a `mongodb://` or `mongodb+srv://` URL; its path names the database, if any."""
        hosts, database, password = parse_mongo_url(url, default_database=default_database)
        target = MongoTarget(
            url=url,
            database=database,
            hosts=hosts,
            password=password,
            connect_timeout_ms=connect_timeout_ms,
            server_selection_timeout_ms=server_selection_timeout_ms,
            socket_timeout_ms=socket_timeout_ms,
        )
        return cls(target, client_factory=client_factory)

    def __repr__(self) -> str:
        return f"MongoStore({self.url!r})"

    @property
    def url(self) -> str:
        """The store's URL with the password masked."""
        return self._target.masked_url

    @property
    def database_name(self) -> str:
        """The MongoDB database holding the collections."""
        return self._target.database

    # -- life cycle ---------------------------------------------------------------------------

    def init(self) -> None:
        """Create every index (unique on natural keys); safe to call again."""
        with self._errors():
            for spec in SPECS:
                if indexes := _index_models(spec):
                    self._db[spec.name].create_indexes(indexes)

    def close(self) -> None:
        self._closed = True
        with suppress(PyMongoError):
            self._client.close()

    def ping(self) -> None:
        """Raise StoreUnavailable unless a server answers within the server-selection timeout."""
        with self._errors():
            self._db.command("ping")

    @contextmanager
    def unit(self) -> Iterator[None]:
        self._check_open()
        state = self._local
        if state.depth > 0:
            state.depth += 1
            try:
                yield
            except BaseException:
                state.doomed = True  # no savepoints in MongoDB: the outer unit must not commit
                raise
            finally:
                state.depth -= 1
            return
        with self._unit_lock:
            with self._errors():
                session = self._client.start_session()
            try:
                with self._errors():
                    session.start_transaction(
                        read_concern=ReadConcern("snapshot"),
                        write_concern=WriteConcern("majority"),
                    )
                state.session, state.depth, state.doomed = session, 1, False
                try:
                    yield
                except BaseException:
                    self._abort(session)
                    raise
                finally:
                    doomed = state.doomed
                    state.session, state.depth, state.doomed = None, 0, False
                if doomed:
                    self._abort(session)
                    raise StoreError(
                        "A nested unit failed inside this unit, so the whole unit was rolled back.",
                        hint="MongoDB has no savepoints: let the inner unit's error end the outer "
                        "unit, or run the inner work as a unit of its own.",
                    )
                with self._errors():
                    session.commit_transaction()
            finally:
                with suppress(PyMongoError):
                    session.end_session()

    # -- raw_playlists ------------------------------------------------------------------------

    def save_raw_playlist(self, raw: RawPlaylist, *, keep: int) -> None:
        check_keep(keep)
        require_aware(raw, "RawPlaylist")
        service, genre = raw.service.value, raw.genre.value
        coll = self._coll("raw_playlists")
        session = self._session()
        with self._errors():
            document = _document("raw_playlists", raw)
            coll.replace_one(
                _key("raw_playlists", document), document, upsert=True, session=session
            )
            stale = [
                d["_id"]
                for d in coll.find(
                    {"service": service, "genre": genre},
                    {"_id": 1, "fetched_at": 1},
                    sort=[("fetched_at", DESCENDING), ("_id", DESCENDING)],
                    skip=keep,
                    session=session,
                )
                if abs(d["fetched_at"] - document["fetched_at"]) >= _BSON_PRECISION  # not this one
            ]
            if stale:
                coll.delete_many({"_id": {"$in": stale}}, session=session)

    def latest_raw_playlist(
        self, service: Service, genre: Genre, *, until: datetime | None = None
    ) -> RawPlaylist | None:
        query: Document = {"service": Service(service).value, "genre": Genre(genre).value}
        if until is not None:
            query["fetched_at"] = {"$lte": utc(until)}
        with self._errors():
            found = self._coll("raw_playlists").find_one(
                query,
                {"doc": 1},
                sort=[("fetched_at", DESCENDING), ("_id", DESCENDING)],
                session=self._session(),
            )
        return None if found is None else RawPlaylist.model_validate(found["doc"])

    # -- tracks -------------------------------------------------------------------------------

    def upsert_tracks(self, tracks: Iterable[Track]) -> int:
        """Merge by ISRC; a track another writer changed since it was read fails the write's
        revision filter (a duplicate-key error on the upsert) and is merged again."""
        incoming: dict[str, list[Track]] = {}
        for track in tracks:
            require_aware(track, f"Track {track.isrc}")
            incoming.setdefault(track.isrc, []).append(track)
        if not incoming:
            return 0
        coll = self._coll("tracks")
        pending = sorted(incoming)
        session = self._session()
        with self._errors():
            for _attempt in range(_MERGE_ATTEMPTS):
                stored = self._load_tracks(pending, session)
                ops: list[ReplaceOne[Document]] = []
                for isrc in pending:
                    revision, merged = stored.get(isrc, (0, None))
                    for track in incoming[isrc]:
                        merged = track if merged is None else merged.merged(track)
                    assert merged is not None
                    document = {**_document("tracks", merged), "rev": revision + 1}
                    ops.append(ReplaceOne({"isrc": isrc, "rev": revision}, document, upsert=True))
                try:
                    coll.bulk_write(ops, ordered=False, session=session)
                except BulkWriteError as exc:
                    errors = exc.details.get("writeErrors", [])
                    if session is not None or any(e.get("code") != 11000 for e in errors):
                        raise
                    pending = sorted({pending[e["index"]] for e in errors})
                    continue
                return len(incoming)
        raise StoreUnavailable(
            f"Other writers kept changing the same tracks in MongoDB at {self._target.hosts}.",
            hint="Retry; if it persists, run one ETL process at a time.",
        )

    def get_tracks(self, isrcs: Iterable[str]) -> dict[str, Track]:
        wanted = sorted(set(isrcs))
        if not wanted:
            return {}
        with self._errors():
            loaded = self._load_tracks(wanted, self._session())
        return {isrc: track for isrc, (_rev, track) in loaded.items()}

    def _load_tracks(
        self, isrcs: Sequence[str], session: ClientSession | None
    ) -> dict[str, tuple[int, Track]]:
        found: dict[str, tuple[int, Track]] = {}
        for chunk in chunks(isrcs, _MAX_IN):
            for d in self._coll("tracks").find(
                {"isrc": {"$in": list(chunk)}}, {"rev": 1, "doc": 1}, session=session
            ):
                track = Track.model_validate(d["doc"])
                found[track.isrc] = (int(d.get("rev", 0)), track)
        return found

    # -- rankings -----------------------------------------------------------------------------

    def save_rankings(
        self, genre: Genre, playlist: str, day: date, rankings: Sequence[Ranking]
    ) -> int:
        """Upsert the day's records, then delete the day's others: a reader outside the unit
        may see both sets for a moment, never none."""
        check_rankings(genre, playlist, day, rankings)
        key = {"genre": Genre(genre).value, "playlist": key_text(playlist), "day": day.isoformat()}
        self._put("rankings", rankings)
        with self._errors():
            keep = [r.isrc for r in rankings]
            self._coll("rankings").delete_many(
                {**key, "isrc": {"$nin": keep}}, session=self._session()
            )
        return len(rankings)

    def playlist_rankings(
        self,
        genre: Genre,
        playlist: str,
        *,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Ranking]:
        query: Document = {"genre": Genre(genre).value, "playlist": key_text(playlist)}
        days: Document = {}
        if since is not None:
            days["$gte"] = since.isoformat()
        if until is not None:
            days["$lte"] = until.isoformat()
        if days:
            query["day"] = days
        return self._rankings(query, [("day", ASCENDING), ("rank", ASCENDING), ("isrc", ASCENDING)])

    def latest_ranking_day(
        self, genre: Genre, playlist: str, *, until: date | None = None
    ) -> date | None:
        query: Document = {"genre": Genre(genre).value, "playlist": key_text(playlist)}
        if until is not None:
            query["day"] = {"$lte": until.isoformat()}
        with self._errors():
            found = self._coll("rankings").find_one(
                query, {"day": 1}, sort=[("day", DESCENDING)], session=self._session()
            )
        return None if found is None else date.fromisoformat(str(found["day"]))

    def track_rankings(self, isrc: str) -> list[Ranking]:
        sort = [("genre", ASCENDING), ("playlist", ASCENDING), ("day", ASCENDING)]
        return self._rankings({"isrc": key_text(isrc)}, sort)

    def _rankings(self, query: Document, sort: list[tuple[str, int]]) -> list[Ranking]:
        with self._errors():
            found = self._coll("rankings").find(
                query, {"doc": 1}, sort=sort, session=self._session()
            )
            return [Ranking.model_validate(d["doc"]) for d in found]

    # -- view_counts --------------------------------------------------------------------------

    def view_history(
        self, isrcs: Iterable[str], source: ViewSource | None = None
    ) -> dict[str, list[ViewSample]]:
        wanted = sorted(set(isrcs))
        history: dict[str, list[ViewSample]] = {}
        if not wanted:
            return history
        with self._errors():
            for chunk in chunks(wanted, _MAX_IN):
                query: Document = {"isrc": {"$in": list(chunk)}}
                if source is not None:
                    query["source"] = ViewSource(source).value
                for d in self._coll("view_counts").find(
                    query,
                    {"doc": 1},
                    sort=[("isrc", ASCENDING), ("day", ASCENDING), ("source", ASCENDING)],
                    session=self._session(),
                ):
                    sample = ViewSample.model_validate(d["doc"])
                    history.setdefault(sample.isrc, []).append(sample)
        return history

    def previous_samples(
        self, isrcs: Iterable[str], source: ViewSource, before: date
    ) -> dict[str, ViewSample]:
        wanted = sorted(set(isrcs))
        found: dict[str, ViewSample] = {}
        if not wanted:
            return found
        if isinstance(before, datetime):  # a datetime is a date: compare by its day only
            before = before.date()
        with self._errors():
            for chunk in chunks(wanted, _MAX_IN):
                pipeline: list[Document] = [
                    {
                        "$match": {
                            "source": ViewSource(source).value,
                            "isrc": {"$in": list(chunk)},
                            "day": {"$lt": before.isoformat()},
                        }
                    },
                    {"$sort": {"isrc": 1, "day": -1}},
                    {"$group": {"_id": "$isrc", "doc": {"$first": "$doc"}}},
                ]
                for d in self._coll("view_counts").aggregate(pipeline, session=self._session()):
                    sample = ViewSample.model_validate(d["doc"])
                    found[sample.isrc] = sample
        return found

    # -- quota_usage --------------------------------------------------------------------------

    def add_quota_usage(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        """Add `units` to (day, bucket) with one `$inc` upsert; return the day's new total."""
        check_units(units)
        return self._increment(day, bucket, units, at, session=self._session())

    def spend_quota(
        self, day: date, bucket: str, units: int, *, limit: int | None, at: datetime
    ) -> int | None:
        """A conditional `$inc` (or the first insert) outside any unit; None when over `limit`."""
        self._outside_unit("spend_quota")
        check_units(units)
        if limit is None:
            return self._increment(day, bucket, units, at, session=None)
        if units > limit:
            return None
        stamp = _stamp(at)
        key = {"day": day.isoformat(), "bucket": key_text(bucket)}
        coll = self._coll("quota_usage")
        while True:
            with self._errors():
                found = coll.find_one_and_update(
                    {**key, "units": {"$lte": limit - units}},
                    {"$inc": {"units": units}, "$set": stamp},
                    return_document=ReturnDocument.AFTER,
                )
                if found is not None:
                    return int(found["units"])
                if coll.find_one(key, {"_id": 1}) is not None:
                    return None  # the bucket is spent: nothing recorded
            with self._errors():
                try:
                    coll.insert_one({**key, "units": units, **stamp})
                except DuplicateKeyError:
                    continue  # another process inserted first: try the conditional update again
            return units

    def refund_quota(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        """`$inc` by `-units` outside any unit (never below zero); the new total."""
        self._outside_unit("refund_quota")
        check_units(units)
        stamp = _stamp(at)
        key = {"day": day.isoformat(), "bucket": key_text(bucket)}
        with self._errors():
            found = self._coll("quota_usage").find_one_and_update(
                {**key, "units": {"$gte": units}},
                {"$inc": {"units": -units}, "$set": stamp},
                return_document=ReturnDocument.AFTER,
            )
            if found is None:  # fewer recorded than refunded (or none): floor at zero
                found = self._coll("quota_usage").find_one_and_update(
                    key,
                    {"$set": {"units": 0, **stamp}},
                    return_document=ReturnDocument.AFTER,
                )
        return 0 if found is None else int(found["units"])

    def _increment(
        self, day: date, bucket: str, units: int, at: datetime, *, session: ClientSession | None
    ) -> int:
        stamp = _stamp(at)
        with self._errors():
            found = self._coll("quota_usage").find_one_and_update(
                {"day": day.isoformat(), "bucket": key_text(bucket)},
                {"$inc": {"units": units}, "$set": stamp},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
        if found is None:  # impossible with upsert and AFTER; a broken server would do this
            raise StoreError(
                f"MongoDB at {self._target.hosts} returned no quota record after an upsert.",
                hint="Check the server's version and health.",
            )
        return int(found["units"])

    def quota_usage(self, day: date) -> dict[str, int]:
        with self._errors():
            found = self._coll("quota_usage").find(
                {"day": day.isoformat()},
                {"bucket": 1, "units": 1},
                sort=[("bucket", ASCENDING)],
                session=self._session(),
            )
            return {str(d["bucket"]): int(d["units"]) for d in found}

    # -- leases -------------------------------------------------------------------------------

    def get_lease(self, name: str) -> Lease | None:
        with self._errors():
            found = self._coll("leases").find_one({"_id": name}, {"doc": 1})
        return None if found is None else Lease.model_validate(found["doc"])

    def swap_lease(self, new: Lease, *, expected: Lease | None) -> bool:
        """Insert (when `expected` is None) or replace filtered on the expected token."""
        self._outside_unit("swap_lease")
        check_swap(new, expected)
        document = {"_id": new.name, **_document("leases", new)}
        coll = self._coll("leases")
        if expected is None:
            with self._errors():
                try:
                    coll.insert_one(document)
                except DuplicateKeyError:
                    return False  # someone holds it
            return True
        with self._errors():
            result = coll.replace_one({"_id": new.name, "token": expected.token}, document)
        return result.matched_count == 1

    def release_lease(self, name: str, token: str) -> bool:
        self._outside_unit("release_lease")
        with self._errors():
            result = self._coll("leases").delete_one({"_id": name, "token": token})
        return result.deleted_count == 1

    # -- runs ---------------------------------------------------------------------------------

    def list_runs(self, limit: int = 20) -> list[RunReport]:
        check_limit(limit)
        if limit == 0:
            return []
        with self._errors():
            found = self._coll("runs").find(
                {},
                {"doc": 1},
                sort=[("started_at", DESCENDING), ("run_id", DESCENDING)],
                limit=limit,
                session=self._session(),
            )
            return [RunReport.model_validate(d["doc"]) for d in found]

    # -- administration -----------------------------------------------------------------------

    def status(self) -> list[CollectionStatus]:
        """Count and newest record time (exact, from the newest document) of every collection."""
        result: list[CollectionStatus] = []
        with self._errors():
            for spec in SPECS:
                name, coll = spec.name, self._coll(spec.name)
                field = _newest_field(spec)
                count = coll.count_documents({}, session=self._session())
                newest_doc = coll.find_one(
                    {},
                    {"doc": 1, "at": 1},
                    sort=[(field, DESCENDING)],
                    session=self._session(),
                )
                newest = None if newest_doc is None else _newest(spec, newest_doc)
                result.append(CollectionStatus(name=name, count=count, newest=newest))
        return result

    def reset(self) -> None:
        """Delete every record of every exported collection (in the caller's unit); leases stay."""
        session = self._session()
        with self._errors():
            for name in EXPORTED:
                self._coll(name).delete_many({}, session=session)

    def export_records(self, collection: str) -> Iterator[Document]:
        """Keyset pages: no cursor stays open, so a slow consumer never times one out."""
        keys = spec_for(collection, exported=True).key
        coll = self._coll(collection)
        projection = dict.fromkeys(keys, 1) | {"doc": 1, "units": 1, "at": 1, "_id": 0}
        after: Document | None = None
        while True:
            with self._errors():
                page = list(
                    coll.find(
                        {} if after is None else _after(keys, after),
                        projection,
                        sort=[(key, ASCENDING) for key in keys],
                        limit=_PAGE,
                        session=self._session(),
                    )
                )
            for d in page:
                yield _export_record(collection, d)
            if len(page) < _PAGE:
                return
            after = page[-1]

    # -- sessions, collections and errors -----------------------------------------------------

    def _coll(self, name: str) -> Collection[Document]:
        self._check_open()
        return self._db[name]

    def _put(self, collection: str, records: Sequence[BaseModel]) -> None:
        """Write records whole by their natural keys (upserts, in order), `_PAGE` per command."""
        documents = [_document(collection, record) for record in records]
        with self._errors():
            coll = self._coll(collection)
            if len(documents) == 1:  # a plain replace: a duplicate key is reported as one
                key = _key(collection, documents[0])
                coll.replace_one(key, documents[0], upsert=True, session=self._session())
                return
            ops = [ReplaceOne(_key(collection, d), d, upsert=True) for d in documents]
            for chunk in chunks(ops, _PAGE):
                coll.bulk_write(list(chunk), ordered=True, session=self._session())

    def _find(self, model: type[_M], collection: str, **key: str) -> _M | None:
        with self._errors():
            found = self._coll(collection).find_one(key, {"doc": 1}, session=self._session())
        return None if found is None else model.model_validate(found["doc"])

    def _session(self) -> ClientSession | None:
        """This thread's unit session, or None outside a unit."""
        return self._local.session

    def _outside_unit(self, what: str) -> None:
        """Refuse a write that must be durable at once (quota, leases) inside a unit."""
        if self._local.depth > 0:
            raise inside_unit_error(f"MongoStore.{what}")

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(f"The MongoDB store {self.url}")

    def _abort(self, session: ClientSession) -> None:
        """Abort the transaction; the original error matters more than a failed abort."""
        with suppress(PyMongoError):
            if session.in_transaction:
                session.abort_transaction()

    def _errors(self) -> AbstractContextManager[None]:
        """Translate driver errors, once, into TuneMeld errors (`mongo.errors`)."""
        return driver_errors(self._target)


def _after(keys: Sequence[str], last: Mapping[str, Any]) -> Document:
    """The keyset filter `(keys) > (last's keys)`, as an $or of prefixes."""
    clauses: list[Document] = []
    for n, key in enumerate(keys):
        clause: Document = {k: last[k] for k in keys[:n]}
        clause[key] = {"$gt": last[key]}
        clauses.append(clause)
    return {"$or": clauses}


def _export_record(collection: str, d: Mapping[str, Any]) -> Document:
    if collection == "quota_usage":  # kept in fields ($inc), its exact time in `at`
        fields = {
            "day": d["day"],
            "bucket": d["bucket"],
            "units": d["units"],
            "updated_at": d["at"],
        }
        return QuotaUsage.model_validate(fields).model_dump(mode="json")
    record: Document = d["doc"]
    return record


def _newest(spec: CollectionSpec, d: Mapping[str, Any]) -> datetime:
    field = _newest_field(spec)
    exact = d[field] if field == "at" else d["doc"][field]
    text = str(exact)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(_UTC)


def _document(collection: str, record: BaseModel) -> Document:
    """`record` as its collection's document: its `_FIELDS` and `doc`."""
    if collection in _IN_UTC:
        name = type(record).__name__
        times = {f: utc(v, f"{name}.{f}") for f, v in record if isinstance(v, datetime)}
        record = record.model_copy(update=times)
    fields = {f: field_value(getattr(record, f), f"{collection}.{f}") for f in _FIELDS[collection]}
    return {**fields, "doc": record.model_dump(mode="json")}


def _key(collection: str, document: Document) -> Document:
    """The natural-key filter of a document (`_document`)."""
    return {field: document[field] for field in spec_for(collection).key}


def _stamp(at: datetime) -> Document:
    """A quota record's time: `updated_at` a BSON date (milliseconds), `at` its exact ISO text."""
    when = utc(at, "quota_usage.at")
    return {"updated_at": when, "at": when.isoformat(timespec="microseconds")}
