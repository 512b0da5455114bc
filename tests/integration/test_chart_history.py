"""Chart history end to end: eight days of the full sample-world ETL, then a re-run of a past
day, a backfill before the first day and a re-run of the newest day, on both stores.

On each day the test keeps the rank lists the API served (every aggregate and service playlist
of every genre) and checks every served row's `previous_rank`, `movement`, `peak_rank`,
`days_on_chart` and `first_seen` against what it computes by hand from the lists of the days
before. The rules are written out here again on purpose: they are the contract's words, not a
call into `tunemeld.services.charts`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.catalog import GENRES
from tests.integration.api_calls import ApiCaller, get
from tests.mongo_server import MongoServer
from tunemeld import etl
from tunemeld.api import create_app
from tunemeld.api.check import route_paths
from tunemeld.config import Settings
from tunemeld.models import AGGREGATE, RunStatus, Service
from tunemeld.services.cache import Cache, MemoryCache
from tunemeld.services.store import EXPORTED, SQLiteStore, Store, open_store
from tunemeld.services.store.transfer import export_store, import_store

DAYS = tuple(date(2026, 11, 10) + timedelta(days=n) for n in range(8))
BACKFILL = DAYS[0] - timedelta(days=1)
CLOCK = datetime(2026, 11, 30, 6, tzinfo=timezone.utc)
"""The runs' clock: after every day, so each day's data is stamped at its own noon (UTC)."""

Served = dict[tuple[str, str], dict[str, int]]
"""(genre, playlist) -> {isrc: rank} as the API served them on one day."""


def _settings(url: str) -> Settings:
    return Settings(
        _env_file=None,
        env="testing",
        database={"url": url},
        providers={
            "mode": "sample",
            "backoff_initial": 0.0,
            "backoff_max": 0.0,
            "buckets": {"youtube_search": {"limit": 10_000}},
        },
        logging={"level": "WARNING"},
    )


def _run(settings: Settings, day: date, cache: Cache) -> None:
    report = etl.run(settings, as_of=day, clock=lambda: CLOCK, cache=cache)
    assert report.status is RunStatus.OK, [u.error for u in report.failed_units]


def _playlist_paths() -> dict[tuple[str, str], str]:
    paths = {(g.value, AGGREGATE): f"/playlist-data/{g.value}" for g in GENRES}
    for genre in GENRES:
        for service in Service:
            paths[(genre.value, service.value)] = f"/service-playlist/{genre.value}/{service.value}"
    return paths


def _rows(api: ApiCaller) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every served row of every playlist."""
    rows = {}
    for key, path in _playlist_paths().items():
        status, body = api(path)
        assert status == 200, path
        rows[key] = json.loads(body)["data"][0]["tracks"]
    return rows


def _expected(history: list[tuple[date, dict[str, int]]], day: date, isrc: str, rank: int) -> Any:
    """The contract's rules, by hand, from the lists served on the days before `day`."""
    before = [(d, ranks) for d, ranks in history if d < day]
    previous = before[-1][1].get(isrc) if before else None
    listed = [(d, ranks[isrc]) for d, ranks in before if isrc in ranks]
    if previous is None:
        movement = {"kind": "re-entry" if listed else "new", "places": 0}
    elif previous > rank:
        movement = {"kind": "up", "places": previous - rank}
    elif previous < rank:
        movement = {"kind": "down", "places": rank - previous}
    else:
        movement = {"kind": "same", "places": 0}
    return {
        "previous_rank": previous,
        "movement": movement,
        "peak_rank": min([rank] + [r for _, r in listed]),
        "days_on_chart": len(listed) + 1,
        "first_seen": (listed[0][0] if listed else day).isoformat(),
    }


def _check_rows(
    rows: dict[tuple[str, str], list[dict[str, Any]]],
    served: dict[tuple[str, str], list[tuple[date, dict[str, int]]]],
    day: date,
) -> dict[str, int]:
    """Assert every row's chart fields; returns how many rows had each movement kind."""
    kinds: dict[str, int] = {}
    for key, tracks in rows.items():
        for row in tracks:
            fields = {name: row[name] for name in _expected(served[key], day, "", 1)}
            assert fields == _expected(served[key], day, row["isrc"], row["rank"]), (key, row)
            kinds[row["movement"]["kind"]] = kinds.get(row["movement"]["kind"], 0) + 1
    return kinds


def _answers(api: ApiCaller, isrcs: list[str]) -> dict[str, tuple[int, bytes]]:
    """Every data route of every genre (rising included) and /track of some ISRCs."""
    paths = [p for p in route_paths() if p != "/health"] + [f"/track/{i}" for i in isrcs]
    return {path: api(path) for path in paths}


def _scenario(settings: Settings, store: Store, tmp_path: Path, *, transfer: bool) -> None:
    """The API and the runs share one answer cache, so every answer after a run also shows
    that the run dropped or refreshed what it changed (`/track` answers included)."""
    served: dict[tuple[str, str], list[tuple[date, dict[str, int]]]] = {
        key: [] for key in _playlist_paths()
    }
    seen_kinds: dict[str, int] = {}
    cache = MemoryCache(max_entries=4096, ttl_seconds=3600)
    app = create_app(settings, store, cache)

    def api(path: str) -> tuple[int, bytes]:
        return get(app, path)

    for day in DAYS:
        _run(settings, day, cache)
        rows = _rows(api)
        for kind, count in _check_rows(rows, served, day).items():
            seen_kinds[kind] = seen_kinds.get(kind, 0) + count
        for key, tracks in rows.items():
            served[key].append((day, {row["isrc"]: row["rank"] for row in tracks}))
    # The sample world churns: every kind of movement happened somewhere in the week.
    assert set(seen_kinds) == {"new", "re-entry", "up", "down", "same"}, seen_kinds

    newest_rows = _rows(api)
    watched = [row["isrc"] for row in newest_rows[(GENRES[0].value, AGGREGATE)][:3]]
    before = _answers(api, watched)
    assert all(status == 200 for status, _ in before.values())

    if transfer:  # an export of the eight days round-trips exactly
        export_store(store, tmp_path / "first")
        with SQLiteStore(tmp_path / "copy.db") as copy:
            copy.init()
            counts = import_store(copy, tmp_path / "first", batch=500)
            export_store(copy, tmp_path / "second")
        for name in EXPORTED:
            first = (tmp_path / "first" / f"{name}.jsonl").read_bytes()
            assert (tmp_path / "second" / f"{name}.jsonl").read_bytes() == first, name
        assert counts["rankings"] == sum(len(r) for days in served.values() for _, r in days)

    # A past day again: no answer changes at all.
    _run(settings, DAYS[2], cache)
    assert _answers(api, watched) == before

    # A day before the first: the current playlists, headers and date stay; histories grow.
    _run(settings, BACKFILL, cache)
    after = _answers(api, watched)
    for path in before:
        if path.startswith(("/header-art/", "/last-updated/", "/api/last-updated")):
            assert after[path] == before[path], path
    backfilled_rows = _rows(api)
    for key, tracks in backfilled_rows.items():
        assert [(r["rank"], r["isrc"]) for r in tracks] == [
            (r["rank"], r["isrc"]) for r in newest_rows[key]
        ], key
    assert any(
        BACKFILL.isoformat() in [day for day, _ in playlist["ranks"]]
        for isrc in watched
        for playlist in json.loads(after[f"/track/{isrc}"][1])["data"]["playlists"]
    ), "no watched track shows the backfilled day"
    # Every row's fields now count the backfilled day (its ranking read from /track).
    backfilled = _backfill_rankings(api, backfilled_rows)
    with_backfill = {key: [(BACKFILL, backfilled[key]), *days] for key, days in served.items()}
    _check_rows(backfilled_rows, with_backfill, DAYS[-1])
    for genre in GENRES:  # the backfilled aggregate is that day's: two services listed each
        aggregate = backfilled[(genre.value, AGGREGATE)]
        assert aggregate, f"no {genre.value} track of today was on the backfilled aggregate"
        for isrc in aggregate:
            listing = [s for s in Service if isrc in backfilled[(genre.value, s.value)]]
            assert len(listing) >= 2, (genre, isrc, listing)
    # Each series' deltas are taken against the sample before, the backfilled one included.
    for isrc in watched:
        series = json.loads(after[f"/track/{isrc}"][1])["data"]["view_counts"]
        for samples in series.values():
            assert [delta for _, _, delta in samples] == [0] + [
                total - earlier for (_, earlier, _), (_, total, _) in pairwise(samples)
            ], (isrc, samples)

    # The newest day again: the same rankings and movements, no duplicates, no drift.
    settled = _answers(api, watched)
    _run(settings, DAYS[-1], cache)
    assert _answers(api, watched) == settled
    for track in (json.loads(settled[f"/track/{i}"][1])["data"] for i in watched):
        for playlist in track["playlists"]:
            days = [day for day, _ in playlist["ranks"]]
            assert days == sorted(set(days)), playlist


def _backfill_rankings(api: ApiCaller, rows: dict[tuple[str, str], list[dict[str, Any]]]) -> Served:
    """(genre, playlist) -> {isrc: rank} on the backfilled day, for the served tracks, as
    `/track/<isrc>` lists them."""
    found: Served = {key: {} for key in rows}
    for isrc in sorted({row["isrc"] for tracks in rows.values() for row in tracks}):
        status, body = api(f"/track/{isrc}")
        assert status == 200, isrc
        for playlist in json.loads(body)["data"]["playlists"]:
            key = (playlist["genre_name"], playlist["service_name"])
            for day, rank in playlist["ranks"]:
                if day == BACKFILL.isoformat() and key in found:
                    found[key][isrc] = rank
    return found


def test_chart_history_when_eight_days_run_on_sqlite_follows_the_rules(tmp_path: Path) -> None:
    """Eight days, a past day again, a backfill, the newest day again; the export round-trips."""
    settings = _settings(f"sqlite:///{tmp_path / 'tunemeld.db'}")
    with open_store(settings) as store:
        _scenario(settings, store, tmp_path, transfer=True)


@pytest.fixture(name="mongo_settings")
def _mongo_settings(mongo_server: MongoServer) -> Iterator[Settings]:
    database = mongo_server.fresh_database()
    try:
        yield _settings(mongo_server.database_url(database))
    finally:
        mongo_server.drop_database(database)


@pytest.mark.slow
def test_chart_history_when_eight_days_run_on_mongo_follows_the_rules(
    mongo_settings: Settings, tmp_path: Path
) -> None:
    """The same scenario on the MongoDB store."""
    with open_store(mongo_settings) as store:
        _scenario(mongo_settings, store, tmp_path, transfer=False)
