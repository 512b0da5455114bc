"""The SQLite store's schema, written out: the tables a fresh file gets, column by column.

The store derives its CREATE statements from its column table and the collection specs; this
test is the schema as a reviewer reads it, so a model change that would alter the tables of new
files (but not of existing ones, which keep theirs) fails here first and gets a schema version.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tunemeld.services.store import SQLiteStore
from tunemeld.services.store.sqlite import SCHEMA_VERSION

# table -> ((column, type, NOT NULL, position in the primary key), ...), clustered (WITHOUT ROWID)
TABLES = {
    "leases": (
        (
            ("name", "TEXT", 1, 1),
            ("token", "TEXT", 1, 0),
            ("renewed_at", "TEXT", 1, 0),
            ("doc", "TEXT", 1, 0),
        ),
        False,
    ),
    "lookups": (
        (
            ("kind", "TEXT", 1, 1),
            ("key", "TEXT", 1, 2),
            ("value", "TEXT", 0, 0),
            ("expires_at", "TEXT", 1, 0),
            ("updated_at", "TEXT", 1, 0),
        ),
        False,
    ),
    "playlists": (
        (
            ("genre", "TEXT", 1, 1),
            ("service_name", "TEXT", 1, 2),
            ("doc", "TEXT", 1, 0),
            ("updated_at", "TEXT", 1, 0),
        ),
        False,
    ),
    "quota_usage": (
        (
            ("day", "TEXT", 1, 1),
            ("bucket", "TEXT", 1, 2),
            ("units", "INTEGER", 1, 0),
            ("updated_at", "TEXT", 1, 0),
        ),
        True,
    ),
    "rankings": (
        (
            ("genre", "TEXT", 1, 1),
            ("playlist", "TEXT", 1, 2),
            ("day", "TEXT", 1, 3),
            ("isrc", "TEXT", 1, 4),
            ("rank", "INTEGER", 1, 0),
            ("run_id", "TEXT", 1, 0),
            ("recorded_at", "TEXT", 1, 0),
        ),
        True,
    ),
    "raw_playlists": (
        (
            ("id", "INTEGER", 0, 1),
            ("service", "TEXT", 1, 0),
            ("genre", "TEXT", 1, 0),
            ("fetched_at", "TEXT", 1, 0),
            ("run_id", "TEXT", 1, 0),
            ("doc", "TEXT", 1, 0),
        ),
        False,
    ),
    "runs": (
        (
            ("run_id", "TEXT", 1, 1),
            ("started_at", "TEXT", 1, 0),
            ("status", "TEXT", 1, 0),
            ("doc", "TEXT", 1, 0),
        ),
        False,
    ),
    "tracks": (
        (("isrc", "TEXT", 1, 1), ("doc", "TEXT", 1, 0), ("updated_at", "TEXT", 1, 0)),
        False,
    ),
    "view_counts": (
        (
            ("isrc", "TEXT", 1, 1),
            ("source", "TEXT", 1, 2),
            ("day", "TEXT", 1, 3),
            ("timestamp", "TEXT", 1, 0),
            ("total", "INTEGER", 1, 0),
            ("delta", "INTEGER", 1, 0),
            ("run_id", "TEXT", 1, 0),
        ),
        True,
    ),
    "views": (
        (
            ("genre", "TEXT", 1, 1),
            ("name", "TEXT", 1, 2),
            ("doc", "TEXT", 1, 0),
            ("version", "TEXT", 1, 0),
            ("updated_at", "TEXT", 1, 0),
        ),
        False,
    ),
}

# (index, table, columns, unique), besides the primary keys
INDEXES = {
    ("rankings_isrc", "rankings", ("isrc",), 0),
    (
        "raw_playlists_service_genre_fetched_at",
        "raw_playlists",
        ("service", "genre", "fetched_at"),
        1,
    ),
    ("runs_started_at", "runs", ("started_at",), 0),
    ("view_counts_source_day", "view_counts", ("source", "day"), 0),
}


def _fresh(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "fresh.db"
    with SQLiteStore(path) as store:
        store.init()
    return sqlite3.connect(path)


def test_a_fresh_file_gets_exactly_the_written_out_tables(tmp_path: Path) -> None:
    conn = _fresh(tmp_path)
    try:
        found = {}
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ):
            columns = tuple(
                (row[1], row[2], row[3], row[5])
                for row in conn.execute(f"PRAGMA table_info({name})")
            )
            found[name] = (columns, "WITHOUT ROWID" in sql)
        assert found == TABLES
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    finally:
        conn.close()


def test_a_fresh_file_gets_exactly_the_written_out_indexes(tmp_path: Path) -> None:
    conn = _fresh(tmp_path)
    try:
        found = set()
        for name, table in conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ):
            columns = tuple(row[2] for row in conn.execute(f"PRAGMA index_info({name})"))
            unique = next(
                row[2] for row in conn.execute(f"PRAGMA index_list({table})") if row[1] == name
            )
            found.add((name, table, columns, unique))
        assert found == INDEXES
    finally:
        conn.close()
