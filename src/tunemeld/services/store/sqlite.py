"""SQLiteStore: the embedded default store, one file in WAL mode with real transactions.

Zero set-up, so a fresh clone runs on it (DESIGN.md §3). Each thread gets its own connection:
the API server reads from many threads while an ETL process writes, and WAL gives every reader
a committed snapshot, so nobody sees half a unit of work. Longer than 500 lines because it is
the whole Store protocol in SQL, one method per repository operation; the collections' names,
keys and indexes come from `store.collections`, and methods are documented on `Store`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel

from tunemeld.exceptions import ConfigError, StoreError, StoreUnavailable
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

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "parse_sqlite_url"]

SCHEMA_VERSION = 2
"""The `PRAGMA user_version` this module writes and understands (2 added `rankings`)."""

_M = TypeVar("_M", bound=BaseModel)
_URL_PREFIX = "sqlite:///"
_MAX_PARAMS = 500  # per statement: far below SQLite's limit, and keeps query plans small
_ITER_BATCH = 1000


def _marks(chunk: Sequence[object]) -> str:
    return ", ".join("?" * len(chunk))


_COLUMNS = {
    "raw_playlists": ("service", "genre", "fetched_at", "run_id", "doc"),
    "tracks": ("isrc", "doc", "updated_at"),
    "playlists": ("genre", "service_name", "doc", "updated_at"),
    "rankings": ("genre", "playlist", "day", "isrc", "rank", "run_id", "recorded_at"),
    "view_counts": ("isrc", "source", "day", "timestamp", "total", "delta", "run_id"),
    "lookups": ("kind", "key", "value", "expires_at", "updated_at"),
    "runs": ("run_id", "started_at", "status", "doc"),
    "views": ("genre", "name", "doc", "version", "updated_at"),
    "quota_usage": ("day", "bucket", "units", "updated_at"),
    "leases": ("name", "token", "renewed_at", "doc"),
}
"""Each table's columns, named as its model's fields: `doc` holds the model's JSON, and a table
without one keeps the whole record in its columns (datetimes as UTC text)."""
_SELECT = {name: "doc" if "doc" in cols else ", ".join(cols) for name, cols in _COLUMNS.items()}
"""What a read selects to rebuild a record: its `doc`, or else every column."""

_WITHOUT_ROWID = frozenset({"rankings", "view_counts", "quota_usage"})
"""Tables of small records read by key ranges: stored clustered on their natural key."""


def _column(spec: CollectionSpec, name: str) -> str:
    """A column's definition: integers and text as its model's field is typed, NULL if optional."""
    if name == "doc":
        return "doc TEXT NOT NULL"
    field = spec.model.model_fields[name].annotation
    kind = "INTEGER" if field is int else "TEXT"
    return f"{name} {kind}" if type(None) in get_args(field) else f"{name} {kind} NOT NULL"


def _create(spec: CollectionSpec) -> tuple[str, ...]:
    """The statements creating one collection's table and its natural-key index."""
    name, key = spec.name, ", ".join(spec.key)
    columns = ", ".join(_column(spec, column) for column in _COLUMNS[name])
    if name == "raw_playlists":  # keyed by a row id, which the pruning of old snapshots uses
        return (
            f"CREATE TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY AUTOINCREMENT, {columns})",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_{'_'.join(spec.key)} ON {name} ({key})",
        )
    rowid = " WITHOUT ROWID" if name in _WITHOUT_ROWID else ""
    return (f"CREATE TABLE IF NOT EXISTS {name} ({columns}, PRIMARY KEY ({key})){rowid}",)


_SCHEMA = tuple(statement for spec in SPECS for statement in _create(spec))

_INDEXES = tuple(
    f"CREATE INDEX IF NOT EXISTS {spec.name}_{'_'.join(f.lstrip('-') for f in fields)}"
    f" ON {spec.name} ({', '.join(f.lstrip('-') for f in fields)})"
    for spec in SPECS
    for fields in spec.indexes
)
"""The secondary indexes of `SPECS` (natural keys are the tables' primary or unique keys)."""


def _upsert_sql(name: str, key: tuple[str, ...]) -> str:
    columns = _COLUMNS[name]
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in key)
    return (
        f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({_marks(columns)})"  # noqa: S608
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


_UPSERT = {spec.name: _upsert_sql(spec.name, spec.key) for spec in SPECS}
"""Each table's statement writing a whole record by its natural key (`_row` gives the values);
quota_usage adds to its units instead (`add_quota_usage`)."""


class _ThreadState(threading.local):
    """Per-thread connection and transaction depth (a nested unit becomes a savepoint)."""

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None
        self.depth = 0


class SQLiteStore(BaseStore):
    """The embedded Store: one SQLite file in WAL mode, one connection per thread; a method
    called inside `with store.unit():` joins its transaction, outside one it commits on its own."""

    def __init__(self, path: Path, *, timeout_ms: int = 5000) -> None:
        if str(path) == ":memory:":
            raise _memory_refused()
        if timeout_ms < 0:
            raise ValueError(f"timeout_ms must be >= 0, got {timeout_ms}")
        self._path = Path(path).expanduser().absolute()
        self._timeout_ms = timeout_ms
        self._local = _ThreadState()
        self._lock = threading.Lock()
        self._conns: dict[threading.Thread, sqlite3.Connection] = {}
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, timeout_ms: int = 5000) -> SQLiteStore:
        """Open `sqlite:///relative/path.db` or `sqlite:////abs/path.db`; ConfigError otherwise."""
        return cls(parse_sqlite_url(url), timeout_ms=timeout_ms)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"

    @property
    def url(self) -> str:
        """The store's URL (an absolute path; SQLite has no password to mask)."""
        return _URL_PREFIX + self._path.as_posix()

    @property
    def path(self) -> Path:
        """The database file, for disk-space checks and backups."""
        return self._path

    # -- life cycle ---------------------------------------------------------------------------

    def init(self) -> None:
        """Create tables and indexes and stamp the schema version; safe to call again."""
        with self._errors(), self._transaction(write=True) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The SQLite store {self._path} has schema version {version}; this tunemeld "
                    f"understands version {SCHEMA_VERSION} at most.",
                    hint="Upgrade tunemeld, or point the database URL at another file.",
                )
            for statement in (*_SCHEMA, *_INDEXES):
                conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._conns.values())
            self._conns.clear()
        for conn in conns:
            with suppress(sqlite3.Error):  # best effort: the file is consistent either way
                conn.close()

    def ping(self) -> None:
        """Raise StoreUnavailable unless the file opens and reads as a SQLite database."""
        with self._errors():
            self._connection().execute("SELECT count(*) FROM sqlite_master").fetchone()

    @contextmanager
    def unit(self) -> Iterator[None]:
        """A write transaction (BEGIN IMMEDIATE): commit on success, roll back on error."""
        with self._errors(), self._transaction(write=True):
            yield

    # -- raw_playlists ------------------------------------------------------------------------

    def save_raw_playlist(self, raw: RawPlaylist, *, keep: int) -> None:
        check_keep(keep)
        require_aware(raw, "RawPlaylist")
        service, genre = raw.service.value, raw.genre.value
        with self._errors(), self._transaction(write=True) as conn:
            conn.execute(_UPSERT["raw_playlists"], _row("raw_playlists", raw))
            conn.execute(
                "DELETE FROM raw_playlists WHERE service = ? AND genre = ? AND fetched_at != ?"
                " AND id NOT IN ("
                " SELECT id FROM raw_playlists WHERE service = ? AND genre = ?"
                " ORDER BY fetched_at DESC, id DESC LIMIT ?)",
                (service, genre, _ts(raw.fetched_at), service, genre, keep),
            )

    def latest_raw_playlist(
        self, service: Service, genre: Genre, *, until: datetime | None = None
    ) -> RawPlaylist | None:
        where, extra = ("", []) if until is None else (" AND fetched_at <= ?", [_ts(until)])
        with self._errors(), self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT doc FROM raw_playlists WHERE service = ? AND genre = ?"  # noqa: S608
                f"{where} ORDER BY fetched_at DESC, id DESC LIMIT 1",
                (Service(service).value, Genre(genre).value, *extra),
            ).fetchone()
        return None if row is None else RawPlaylist.model_validate_json(row[0])

    # -- tracks -------------------------------------------------------------------------------

    def upsert_tracks(self, tracks: Iterable[Track]) -> int:
        """Read and write the merged tracks in one transaction: no concurrent update is lost."""
        incoming = list(tracks)
        for track in incoming:
            require_aware(track, f"Track {track.isrc}")
        if not incoming:
            return 0
        with self._errors(), self._transaction(write=True) as conn:
            merged = self._load_tracks(conn, {t.isrc for t in incoming})
            written: dict[str, Track] = {}
            for track in incoming:
                stored = merged.get(track.isrc)
                merged[track.isrc] = written[track.isrc] = (
                    track if stored is None else stored.merged(track)
                )
            _upsert(conn, "tracks", written.values())
        return len(written)

    def get_tracks(self, isrcs: Iterable[str]) -> dict[str, Track]:
        wanted = set(isrcs)
        if not wanted:
            return {}
        with self._errors(), self._transaction(write=False) as conn:
            return self._load_tracks(conn, wanted)

    def _load_tracks(self, conn: sqlite3.Connection, isrcs: set[str]) -> dict[str, Track]:
        found: dict[str, Track] = {}
        for chunk in chunks(sorted(isrcs), _MAX_PARAMS):
            rows = conn.execute(
                f"SELECT doc FROM tracks WHERE isrc IN ({_marks(chunk)})",  # noqa: S608 (only ?s)
                chunk,
            ).fetchall()
            for (doc,) in rows:
                track = Track.model_validate_json(doc)
                found[track.isrc] = track
        return found

    # -- rankings -----------------------------------------------------------------------------

    def save_rankings(
        self, genre: Genre, playlist: str, day: date, rankings: Sequence[Ranking]
    ) -> int:
        """Replace the day's ranking of one playlist: delete it and insert the new records."""
        check_rankings(genre, playlist, day, rankings)
        key = (Genre(genre).value, key_text(playlist), day.isoformat())
        with self._errors(), self._transaction(write=True) as conn:
            conn.execute("DELETE FROM rankings WHERE genre = ? AND playlist = ? AND day = ?", key)
            _upsert(conn, "rankings", rankings)
        return len(rankings)

    def playlist_rankings(
        self,
        genre: Genre,
        playlist: str,
        *,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Ranking]:
        where, extra = "", list[str]()
        if since is not None:
            where, extra = where + " AND day >= ?", [*extra, since.isoformat()]
        if until is not None:
            where, extra = where + " AND day <= ?", [*extra, until.isoformat()]
        with self._errors(), self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_SELECT['rankings']} FROM rankings"  # noqa: S608 (fixed text, only ?s)
                f" WHERE genre = ? AND playlist = ?{where} ORDER BY day, rank, isrc",
                (Genre(genre).value, key_text(playlist), *extra),
            ).fetchall()
        return [_decode(Ranking, "rankings", row) for row in rows]

    def latest_ranking_day(
        self, genre: Genre, playlist: str, *, until: date | None = None
    ) -> date | None:
        where, extra = ("", []) if until is None else (" AND day <= ?", [until.isoformat()])
        with self._errors(), self._transaction(write=False) as conn:
            (day,) = conn.execute(
                "SELECT max(day) FROM rankings WHERE genre = ? AND playlist = ?"  # noqa: S608
                f"{where}",
                (Genre(genre).value, key_text(playlist), *extra),
            ).fetchone()
        return None if day is None else date.fromisoformat(day)

    def track_rankings(self, isrc: str) -> list[Ranking]:
        with self._errors(), self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_SELECT['rankings']} FROM rankings WHERE isrc = ?"  # noqa: S608 (fixed)
                " ORDER BY genre, playlist, day",
                (key_text(isrc),),
            ).fetchall()
        return [_decode(Ranking, "rankings", row) for row in rows]

    # -- view_counts --------------------------------------------------------------------------

    def view_history(
        self, isrcs: Iterable[str], source: ViewSource | None = None
    ) -> dict[str, list[ViewSample]]:
        wanted = sorted(set(isrcs))
        history: dict[str, list[ViewSample]] = {}
        if not wanted:
            return history
        extra = [] if source is None else [ViewSource(source).value]
        where = " AND source = ?" if extra else ""
        with self._errors(), self._transaction(write=False) as conn:
            for chunk in chunks(wanted, _MAX_PARAMS - len(extra)):
                rows = conn.execute(
                    f"SELECT {_SELECT['view_counts']} FROM view_counts"  # noqa: S608 (only ?s)
                    f" WHERE isrc IN ({_marks(chunk)}){where} ORDER BY isrc, day, source",
                    [*chunk, *extra],
                ).fetchall()
                for row in rows:
                    sample = _decode(ViewSample, "view_counts", row)
                    history.setdefault(sample.isrc, []).append(sample)
        return history

    def previous_samples(
        self, isrcs: Iterable[str], source: ViewSource, before: date
    ) -> dict[str, ViewSample]:
        wanted = sorted(set(isrcs))
        found: dict[str, ViewSample] = {}
        if not wanted:
            return found
        source_value = ViewSource(source).value
        if isinstance(before, datetime):  # a datetime is a date: compare by its day only
            before = before.date()
        with self._errors(), self._transaction(write=False) as conn:
            for chunk in chunks(wanted, _MAX_PARAMS - 2):
                rows = conn.execute(
                    f"SELECT {_SELECT['view_counts']} FROM view_counts AS v"  # noqa: S608 (only ?s)
                    f" WHERE v.source = ? AND v.isrc IN ({_marks(chunk)}) AND v.day = ("
                    "  SELECT max(w.day) FROM view_counts AS w"
                    "  WHERE w.isrc = v.isrc AND w.source = v.source AND w.day < ?)",
                    [source_value, *chunk, before.isoformat()],
                ).fetchall()
                for row in rows:
                    sample = _decode(ViewSample, "view_counts", row)
                    found[sample.isrc] = sample
        return found

    # -- quota_usage --------------------------------------------------------------------------

    def add_quota_usage(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        """Add `units` spent from `bucket` on `day` in one statement; return the day's total."""
        check_units(units)
        key = (day.isoformat(), key_text(bucket))
        with self._errors(), self._transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO quota_usage (day, bucket, units, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (day, bucket) DO UPDATE SET"
                " units = quota_usage.units + excluded.units, updated_at = excluded.updated_at",
                (*key, units, _ts(at, "quota_usage.at")),
            )
            return _units(conn, key) or 0  # same write transaction: no other writer in between

    def spend_quota(
        self, day: date, bucket: str, units: int, *, limit: int | None, at: datetime
    ) -> int | None:
        """One conditional UPDATE (`units + n <= limit`) in its own short write transaction."""
        check_units(units)
        key = (day.isoformat(), key_text(bucket))
        when = _ts(at, "quota_usage.at")
        with self._errors(), self._own_write("spend_quota") as conn:
            updated = conn.execute(
                "UPDATE quota_usage SET units = units + ?, updated_at = ?"
                " WHERE day = ? AND bucket = ? AND (? IS NULL OR units + ? <= ?)",
                (units, when, *key, limit, units, limit),
            )
            if updated.rowcount == 0:
                if _units(conn, key) is not None or (limit is not None and units > limit):
                    return None  # spent: nothing recorded, the caller must not send
                conn.execute(
                    "INSERT INTO quota_usage (day, bucket, units, updated_at) VALUES (?, ?, ?, ?)",
                    (*key, units, when),
                )
            return _units(conn, key)

    def refund_quota(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        """Subtract `units` (never below zero) in its own short write transaction."""
        check_units(units)
        key = (day.isoformat(), key_text(bucket))
        with self._errors(), self._own_write("refund_quota") as conn:
            conn.execute(
                "UPDATE quota_usage SET units = max(0, units - ?), updated_at = ?"
                " WHERE day = ? AND bucket = ?",
                (units, _ts(at, "quota_usage.at"), *key),
            )
            return _units(conn, key) or 0

    def quota_usage(self, day: date) -> dict[str, int]:
        with self._errors(), self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT bucket, units FROM quota_usage WHERE day = ? ORDER BY bucket",
                (day.isoformat(),),
            ).fetchall()
        return {bucket: int(units) for bucket, units in rows}

    # -- leases -------------------------------------------------------------------------------

    def get_lease(self, name: str) -> Lease | None:
        return self._find(Lease, "leases", name=name)

    def swap_lease(self, new: Lease, *, expected: Lease | None) -> bool:
        """Compare tokens and write in one IMMEDIATE transaction: no other writer in between."""
        check_swap(new, expected)
        with self._errors(), self._own_write("swap_lease") as conn:
            found = conn.execute("SELECT token FROM leases WHERE name = ?", (new.name,)).fetchone()
            current = None if found is None else str(found[0])
            if current != (None if expected is None else expected.token):
                return False
            conn.execute(_UPSERT["leases"], _row("leases", new))
        return True

    def release_lease(self, name: str, token: str) -> bool:
        with self._errors(), self._own_write("release_lease") as conn:
            deleted = conn.execute(
                "DELETE FROM leases WHERE name = ? AND token = ?", (name, token)
            ).rowcount
        return deleted == 1

    # -- runs ---------------------------------------------------------------------------------

    def list_runs(self, limit: int = 20) -> list[RunReport]:
        check_limit(limit)
        with self._errors(), self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT doc FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [RunReport.model_validate_json(doc) for (doc,) in rows]

    # -- administration -----------------------------------------------------------------------

    def status(self) -> list[CollectionStatus]:
        """Count and newest record time of every collection, from one consistent snapshot."""
        result: list[CollectionStatus] = []
        with self._errors(), self._transaction(write=False) as conn:
            for spec in SPECS:
                name, column = spec.name, spec.newest
                count, newest = conn.execute(
                    f"SELECT count(*), max({column}) FROM {name}"  # noqa: S608 (fixed names)
                ).fetchone()
                newest_at = None if newest is None else _parse_ts(newest)
                result.append(CollectionStatus(name=name, count=int(count), newest=newest_at))
        return result

    def reset(self) -> None:
        with self._errors(), self._transaction(write=True) as conn:
            for name in EXPORTED:
                conn.execute(f"DELETE FROM {name}")  # noqa: S608 (fixed names)

    def export_records(self, collection: str) -> Iterator[dict[str, Any]]:
        keys = spec_for(collection, exported=True).key
        key_list = ", ".join(keys)
        columns = f"{key_list}, {_SELECT[collection]}"
        after: tuple[object, ...] | None = None
        while True:
            where = "" if after is None else f" WHERE ({key_list}) > ({_marks(keys)})"
            with self._errors(), self._transaction(write=False) as conn:
                rows = conn.execute(
                    f"SELECT {columns} FROM {collection}{where}"  # noqa: S608 (fixed names)
                    f" ORDER BY {key_list} LIMIT ?",
                    (*(after or ()), _ITER_BATCH),
                ).fetchall()
            for row in rows:
                yield _export_record(collection, tuple(row[len(keys) :]))
            if len(rows) < _ITER_BATCH:
                return
            after = tuple(rows[-1][: len(keys)])

    def _put(self, collection: str, records: Sequence[BaseModel]) -> None:
        """Upsert whole records of one collection in one transaction (none: no transaction)."""
        if records:
            with self._errors(), self._transaction(write=True) as conn:
                _upsert(conn, collection, records)

    def _find(self, model: type[_M], collection: str, **key: str) -> _M | None:
        where = " AND ".join(f"{field} = ?" for field in key)
        with self._errors(), self._transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {_SELECT[collection]} FROM {collection} WHERE {where}",  # noqa: S608
                tuple(key.values()),
            ).fetchone()
        return None if row is None else _decode(model, collection, row)

    # -- connections, transactions and errors -------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        self._check_open()
        conn = self._local.conn
        if conn is not None:
            return conn
        conn = self._open()
        with self._lock:
            if self._closed:
                conn.close()
                self._check_open()
            for thread in [t for t in self._conns if not t.is_alive()]:
                self._conns.pop(thread).close()  # a finished thread's connection is idle
            self._conns[threading.current_thread()] = conn
        self._local.conn = conn
        self._local.depth = 0
        return conn

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(f"The SQLite store {self._path}")

    def _open(self) -> sqlite3.Connection:
        """Open and configure a connection; failures become StoreUnavailable with a hint."""
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"Cannot create the folder {self._path.parent} for the SQLite store: "
                f"{exc.strerror or exc}.",
                hint=f"Check that {self._path.parent} can be created and written by this user, "
                "or point the database URL at another file.",
            ) from exc
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(self._path),
                timeout=self._timeout_ms / 1000,
                isolation_level=None,  # we issue BEGIN / COMMIT ourselves
                check_same_thread=False,  # only close() crosses threads
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise self._translate(exc) from exc
        return conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """Join this thread's transaction or start one (IMMEDIATE to write, deferred to read); a
        nested write is a savepoint, so an error caught inside a unit undoes only the inner work,
        and a read outside a unit sees one snapshot across its queries."""
        conn = self._connection()
        state = self._local
        depth = state.depth
        savepoint = f"tunemeld_{depth}"
        if depth == 0:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        elif write:
            conn.execute(f"SAVEPOINT {savepoint}")
        state.depth = depth + 1
        try:
            yield conn
        except BaseException:
            state.depth = depth
            try:
                if depth == 0:
                    conn.execute("ROLLBACK")
                elif write:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
            except sqlite3.Error:  # the original error matters more; SQLite already rolled back
                pass
            raise
        state.depth = depth
        if depth == 0:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        elif write:
            conn.execute(f"RELEASE {savepoint}")

    @contextmanager
    def _own_write(self, what: str) -> Iterator[sqlite3.Connection]:
        """A short write transaction of its own, refused inside a unit: a unit's rollback would
        undo the write and its commit come too late (quota is recorded before it is spent)."""
        if self._local.depth > 0:
            raise inside_unit_error(f"SQLiteStore.{what}")
        with self._transaction(write=True) as conn:
            yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate sqlite3 errors, once, into StoreError / StoreUnavailable with a hint."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        """Name the file, say what went wrong in words, and what to check."""
        path = self._path
        text = str(exc)
        lowered = text.lower()
        name = str(getattr(exc, "sqlite_errorname", ""))  # Python 3.11+
        if "locked" in lowered or "busy" in lowered or name.startswith("SQLITE_BUSY"):
            return StoreUnavailable(
                f"The SQLite store {path} stayed locked by another writer for more than "
                f"{self._timeout_ms} ms.",
                hint="Another process holds a long write transaction (an ETL run?); retry later, "
                "or raise TUNEMELD_DATABASE__TIMEOUT_MS.",
            )
        if "no such table" in lowered:
            return StoreError(
                f"The SQLite store {path} has no TuneMeld tables ({text}).",
                hint="Create them with `tunemeld db.init` (tunemeld.open_store does it too).",
            )
        if "unable to open" in lowered or name == "SQLITE_CANTOPEN":
            return StoreUnavailable(
                f"Cannot open the SQLite store {path}.",
                hint=f"Check that {path} is a file, not a folder, and that this user may read and "
                "write it and its folder; or point the database URL at another file.",
            )
        if "not a database" in lowered or "malformed" in lowered or name == "SQLITE_NOTADB":
            return StoreUnavailable(
                f"{path} is not a usable SQLite database ({text}).",
                hint=f"Check that the database URL names the right file; move {path} away to start "
                "afresh, or restore it from a `tunemeld db.export` file.",
            )
        if "readonly" in lowered or "read-only" in lowered:
            return StoreUnavailable(
                f"The SQLite store {path} is read-only.",
                hint=f"Check the permissions of {path} and of its folder (the -wal and -shm files "
                "are created beside it).",
            )
        if "disk" in lowered:
            return StoreUnavailable(
                f"The SQLite store {path} could not write to disk ({text}).",
                hint=f"Check the free space and health of the disk holding {path}.",
            )
        if isinstance(exc, sqlite3.ProgrammingError) and "closed" in lowered:
            return closed_error(f"The SQLite store {path}")
        if isinstance(exc, sqlite3.OperationalError):
            return StoreUnavailable(
                f"The SQLite store {path} failed: {text}.",
                hint=f"Check that {path} is readable and writable and its disk is healthy.",
            )
        return StoreError(
            f"The SQLite store {path} refused an operation: {text}.",
            hint=f"Check that {path} was created by tunemeld (`tunemeld db.status`).",
        )


def parse_sqlite_url(url: str) -> Path:
    """The file a `sqlite:///` URL names; ConfigError for other schemes, `:memory:` or options."""
    hint = "Use sqlite:///relative/path.db or sqlite:////absolute/path.db."
    if not url.startswith(_URL_PREFIX):
        raise ConfigError(f"{url!r} is not a SQLite URL.", hint=hint)
    rest = url[len(_URL_PREFIX) :]
    if not rest:
        raise ConfigError(f"The SQLite URL {url!r} names no file.", hint=hint)
    if rest == ":memory:" or rest.startswith(":memory:?") or "mode=memory" in rest:
        raise _memory_refused()
    if rest.startswith("file:"):
        raise ConfigError(f"The SQLite URL {url!r} holds a SQLite URI, not a path.", hint=hint)
    if "?" in rest or "#" in rest:
        raise ConfigError(
            f"The SQLite URL {url!r} has options; SQLiteStore takes none.",
            hint=f"{hint} The busy timeout is the setting database.timeout_ms.",
        )
    if rest.endswith("/"):
        raise ConfigError(f"The SQLite URL {url!r} names a folder, not a file.", hint=hint)
    return Path(rest)


def _memory_refused() -> ConfigError:
    return ConfigError(
        "An in-memory SQLite store would lose everything when the process ends.",
        hint="Use a file, e.g. sqlite:///.tunemeld/tunemeld.db (the default).",
    )


def _ts(value: datetime, where: str = "datetime") -> str:
    """Fixed-width ISO-8601 UTC text, so that text order is time order."""
    return utc(value, where).isoformat(timespec="microseconds")


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def _row(collection: str, record: BaseModel) -> tuple[object, ...]:
    """`record` as the values of its table's columns, in `_COLUMNS` order."""
    name = type(record).__name__
    return tuple(
        record.model_dump_json()
        if column == "doc"
        else _value(getattr(record, column), f"{name}.{column}")
        for column in _COLUMNS[collection]
    )


def _value(value: object, where: str) -> object:
    """A field as its column holds it: `field_value`, with datetimes as fixed-width text."""
    value = field_value(value, where)
    return value.isoformat(timespec="microseconds") if isinstance(value, datetime) else value


def _units(conn: sqlite3.Connection, key: tuple[str, str]) -> int | None:
    """The units recorded for (day, bucket), or None while it has no record."""
    row = conn.execute("SELECT units FROM quota_usage WHERE day = ? AND bucket = ?", key).fetchone()
    return None if row is None else int(row[0])


def _upsert(conn: sqlite3.Connection, collection: str, records: Iterable[BaseModel]) -> None:
    conn.executemany(_UPSERT[collection], [_row(collection, record) for record in records])


def _decode(model: type[_M], collection: str, row: Sequence[Any]) -> _M:
    """The record a row of `_SELECT[collection]` holds."""
    if "doc" in _COLUMNS[collection]:
        return model.model_validate_json(row[0])
    return model.model_validate(dict(zip(_COLUMNS[collection], row, strict=True)))


def _export_record(collection: str, row: Sequence[Any]) -> dict[str, Any]:
    """A row of `_SELECT[collection]` as its model's JSON-ready dict."""
    if "doc" in _COLUMNS[collection]:
        record: dict[str, Any] = json.loads(row[0])
        return record
    return _decode(spec_for(collection).model, collection, row).model_dump(mode="json")
