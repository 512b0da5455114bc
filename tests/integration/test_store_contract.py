"""The Store contract: every implementation must pass these tests against a real, fresh database.

The tests speak only the Store protocol through the `any_store` fixture, whose parameters are the
factories in STORE_FACTORIES; a new store joins by adding one line there. The classes at the end
check what only the SQLite store can promise (files, WAL, savepoints, lock translation).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from pymongo.database import Database

from tests.mongo_server import NX_NO_ISOLATION, MongoServer
from tests.strategies import days, isrcs, sources, tracks, view_samples
from tunemeld.exceptions import StoreError, StoreUnavailable, Transient
from tunemeld.models import (
    AGGREGATE,
    Genre,
    Playlist,
    PlaylistMeta,
    Ranking,
    RawPlaylist,
    RawTrack,
    RunReport,
    RunStatus,
    Service,
    ServiceTrack,
    Stage,
    Track,
    TrackRank,
    UnitResult,
    UnitStatus,
    ViewDoc,
    ViewSample,
    ViewSource,
    view_version,
)
from tunemeld.services.store import (
    COLLECTIONS,
    EXPORT_KEYS,
    EXPORTED,
    RUN_LEASE,
    Lease,
    Lookup,
    MongoStore,
    SQLiteStore,
    Store,
)

StoreOpener = Callable[[], Store]
"""Opens another (uninitialised) store on the same fresh database."""

StoreFactory = Callable[[pytest.FixtureRequest, Path], AbstractContextManager[StoreOpener]]
"""Creates a fresh database for one test, yields an opener, and drops the database afterwards."""


@contextmanager
def _sqlite_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    path = tmp_path / "contract.db"
    yield lambda: SQLiteStore(path)


@contextmanager
def _mongo_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """A fresh database on the session's MongoDB server (tests/mongo_server.py)."""
    server: MongoServer = request.getfixturevalue("mongo_server")
    if server.is_nx and request.node.get_closest_marker("needs_isolation"):
        request.applymarker(pytest.mark.xfail(strict=True, reason=NX_NO_ISOLATION))
    url: str = request.getfixturevalue("mongo_url")
    yield lambda: MongoStore.from_url(url)


STORE_FACTORIES = [
    pytest.param(_sqlite_database, id="sqlite"),
    pytest.param(_mongo_database, id="mongo"),
]

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
DAY0 = date(2025, 3, 1)
PLUS_TWO = timezone(timedelta(hours=2))
_FIXTURE_EXAMPLES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(name="store_opener", params=STORE_FACTORIES)
def _store_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """Opens initialised stores on one fresh database; closes them all after the test."""
    factory: StoreFactory = request.param
    opened: list[Store] = []
    with factory(request, tmp_path) as make:

        def open_store() -> Store:
            store = make()
            opened.append(store)
            store.init()
            return store

        try:
            yield open_store
        finally:
            for store in opened:
                store.close()


@pytest.fixture(name="any_store")
def _any_store(store_opener: StoreOpener) -> Store:
    """One initialised store on a fresh database."""
    return store_opener()


def _isrc(n: int) -> str:
    return f"USABC{n:07d}"


def _track(
    isrc: str,
    *,
    service: Service = Service.SPOTIFY,
    title: str = "Song",
    updated_at: datetime = T0,
    spotify_id: str | None = None,
    youtube_id: str | None = None,
) -> Track:
    return Track(
        isrc=isrc,
        title=title,
        artist="Artist",
        services={service: ServiceTrack(title=title, artist="Artist", url=f"https://{service}/t")},
        spotify_id=spotify_id,
        youtube_id=youtube_id,
        updated_at=updated_at,
    )


def _raw(
    service: Service, genre: Genre, fetched_at: datetime, *, run_id: str = "run-1"
) -> RawPlaylist:
    meta = PlaylistMeta(
        service=service, genre=genre, playlist_id="pl1", name="Hits", url="https://x.test/pl1"
    )
    return RawPlaylist(
        service=service,
        genre=genre,
        meta=meta,
        tracks=[RawTrack(service=service, rank=1, title="Song", artist="Artist", isrc=_isrc(1))],
        fetched_at=fetched_at,
        run_id=run_id,
    )


def _playlist(
    genre: Genre, service_name: str, isrc_list: list[str], *, updated_at: datetime = T0
) -> Playlist:
    ranks = [TrackRank(isrc=isrc, rank=n) for n, isrc in enumerate(isrc_list, start=1)]
    return Playlist(
        genre=genre, service_name=service_name, tracks=ranks, updated_at=updated_at, run_id="r"
    )


def _sample(
    isrc: str,
    day: date,
    *,
    source: ViewSource = ViewSource.YOUTUBE,
    total: int = 100,
    delta: int = 0,
    run_id: str = "run-1",
) -> ViewSample:
    timestamp = datetime(day.year, day.month, day.day, 6, tzinfo=timezone.utc)
    return ViewSample(
        isrc=isrc,
        source=source,
        day=day,
        timestamp=timestamp,
        total=total,
        delta=delta,
        run_id=run_id,
    )


def _lookup(
    kind: str,
    key: str,
    value: str | None,
    *,
    expires_at: datetime = T0 + timedelta(days=30),
    updated_at: datetime = T0,
) -> Lookup:
    return Lookup(kind=kind, key=key, value=value, expires_at=expires_at, updated_at=updated_at)


def _run(run_id: str, started_at: datetime, *, status: RunStatus = RunStatus.OK) -> RunReport:
    unit = UnitResult(
        stage=Stage.EXTRACT,
        genre=Genre("pop"),
        service=Service.SPOTIFY,
        status=UnitStatus.OK,
        counts={"tracks": 50},
        started_at=started_at,
        duration_ms=12.5,
    )
    return RunReport(
        run_id=run_id,
        as_of=started_at.date(),
        started_at=started_at,
        finished_at=started_at + timedelta(minutes=3),
        stages=[Stage.EXTRACT],
        genres=[Genre("pop")],
        services=[Service.SPOTIFY],
        status=status,
        units=[unit],
        calls={"Spotify": {"playlist": 1}},
        quota_units={"YouTube": 3},
    )


def _view(genre: Genre, name: str, data: object, *, updated_at: datetime = T0) -> ViewDoc:
    return ViewDoc(
        genre=genre, name=name, data=data, version=view_version(data), updated_at=updated_at
    )


def _lease(run_id: str, token: str, *, at: datetime = T0, pid: int = 4242) -> Lease:
    return Lease(
        name=RUN_LEASE,
        token=token,
        run_id=run_id,
        host="db1.example.net",
        pid=pid,
        started_at=T0,
        renewed_at=at,
        expires_at=at + timedelta(minutes=2),
    )


def _counts(store: Store) -> dict[str, int]:
    return {status.name: status.count for status in store.status()}


def _ranking(
    isrc: str,
    rank: int,
    day: date = DAY0,
    *,
    genre: str = "pop",
    playlist: str = AGGREGATE,
    recorded_at: datetime = T0,
) -> Ranking:
    return Ranking(
        genre=Genre(genre),
        playlist=playlist,
        day=day,
        isrc=isrc,
        rank=rank,
        run_id=f"run-{day}",
        recorded_at=recorded_at,
    )


def _day_ranking(
    isrcs: list[str], day: date = DAY0, *, genre: str = "pop", playlist: str = AGGREGATE
) -> list[Ranking]:
    """One day's ranking of a playlist: `isrcs` in rank order."""
    return [
        _ranking(isrc, n, day, genre=genre, playlist=playlist)
        for n, isrc in enumerate(isrcs, start=1)
    ]


def _fill_every_collection(store: Store) -> None:
    store.save_raw_playlist(_raw(Service.SPOTIFY, Genre("pop"), T0), keep=3)
    store.upsert_tracks([_track(_isrc(1))])
    store.save_playlist(_playlist(Genre("pop"), Service.SPOTIFY.value, [_isrc(1)]))
    store.save_rankings(Genre("pop"), AGGREGATE, DAY0, _day_ranking([_isrc(1)]))
    store.save_view_samples([_sample(_isrc(1), DAY0)])
    store.put_lookup(_lookup("youtube_id", _isrc(1), "dQw4w9WgXcQ"))
    store.save_run(_run("run-1", T0))
    store.save_views([_view(Genre("pop"), "playlist", {"tracks": []})])
    store.add_quota_usage(DAY0, "youtube.search", 100, at=T0)


class _AbortError(Exception):
    """Raised inside a unit to prove it rolls back."""


class TestLifeCycle:
    """Opening, initialising, pinging and closing a store."""

    def test_store_when_opened_satisfies_the_protocol(self, any_store: Store) -> None:
        """The runtime-checkable protocol recognises the store."""
        assert isinstance(any_store, Store)

    def test_url_when_read_is_a_non_empty_string(self, any_store: Store) -> None:
        """`url` is printable as is."""
        assert isinstance(any_store.url, str)
        assert any_store.url

    def test_ping_when_store_is_healthy_passes_and_when_closed_raises(
        self, any_store: Store
    ) -> None:
        """A reachable store answers a ping; a ping really asks it (a closed one cannot answer)."""
        any_store.ping()  # raises StoreUnavailable when the store does not answer
        any_store.close()
        with pytest.raises(StoreError):
            any_store.ping()

    def test_init_when_called_again_keeps_the_data(self, any_store: Store) -> None:
        """init is idempotent: it creates what is missing and touches nothing else."""
        _fill_every_collection(any_store)
        before = any_store.status()

        any_store.init()

        assert any_store.status() == before

    def test_store_when_closed_refuses_further_work(self, store_opener: StoreOpener) -> None:
        """A closed store raises StoreError rather than reopening silently."""
        store = store_opener()
        store.upsert_tracks([_track(_isrc(1))])
        store.close()

        with pytest.raises(StoreError):
            store.get_tracks([_isrc(1)])

    def test_store_when_used_in_a_with_block_is_closed_at_its_end(
        self, store_opener: StoreOpener
    ) -> None:
        """`with store:` yields the store itself and closes it when the block ends."""
        opened = store_opener()

        with opened as store:
            store.put_lookup(_lookup("k", "a", "x"))
            assert store is opened
            assert store.get_lookup("k", "a") is not None

        with pytest.raises(StoreError, match="closed"):
            opened.get_lookup("k", "a")

    def test_store_when_its_with_block_raises_is_closed_and_the_error_propagates(
        self, store_opener: StoreOpener
    ) -> None:
        """An error in the block is not swallowed, and the store is closed all the same."""
        opened = store_opener()

        with pytest.raises(_AbortError), opened:
            raise _AbortError

        with pytest.raises(StoreError, match="closed"):
            opened.ping()


class TestEmptyStore:
    """A fresh store answers every read with None or an empty value."""

    def test_reads_when_store_is_empty_return_none_or_empty(self, any_store: Store) -> None:
        """Nothing stored yet: every getter says so without raising."""
        assert any_store.latest_raw_playlist(Service.SPOTIFY, Genre("pop")) is None
        assert any_store.get_tracks([_isrc(1)]) == {}
        assert any_store.get_playlist(Genre("pop"), AGGREGATE) is None
        assert any_store.view_history([_isrc(1)]) == {}
        assert any_store.previous_samples([_isrc(1)], ViewSource.YOUTUBE, DAY0) == {}
        assert any_store.get_lookup("youtube_id", _isrc(1)) is None
        assert any_store.get_run("run-1") is None
        assert any_store.list_runs() == []
        assert any_store.get_view(Genre("pop"), "playlist") is None
        assert list(any_store.iter_view_samples()) == []

    def test_status_when_store_is_empty_lists_every_collection_with_zero(
        self, any_store: Store
    ) -> None:
        """status names every collection in COLLECTIONS order, with no newest time."""
        statuses = any_store.status()

        assert [s.name for s in statuses] == list(COLLECTIONS)
        assert all(s.count == 0 and s.newest is None for s in statuses)

    def test_writes_when_given_nothing_write_nothing(self, any_store: Store) -> None:
        """Empty batches are fine and report zero."""
        assert any_store.upsert_tracks([]) == 0
        assert any_store.save_view_samples([]) == 0
        any_store.save_views([])
        assert any_store.get_tracks([]) == {}
        assert any_store.view_history([]) == {}
        assert any_store.previous_samples([], ViewSource.SPOTIFY, DAY0) == {}
        assert set(_counts(any_store).values()) == {0}


class TestRawPlaylists:
    """Raw snapshots: newest wins, older ones are pruned per (service, genre)."""

    def test_latest_raw_playlist_when_saved_out_of_order_returns_newest_fetch(
        self, any_store: Store
    ) -> None:
        """The newest by fetched_at, not the last saved."""
        newest = _raw(Service.SPOTIFY, Genre("pop"), T0 + timedelta(days=2), run_id="new")
        any_store.save_raw_playlist(newest, keep=5)
        any_store.save_raw_playlist(_raw(Service.SPOTIFY, Genre("pop"), T0, run_id="old"), keep=5)

        assert any_store.latest_raw_playlist(Service.SPOTIFY, Genre("pop")) == newest

    def test_save_raw_playlist_when_over_keep_prunes_oldest_of_that_playlist_only(
        self, any_store: Store
    ) -> None:
        """keep=N bounds the history of one (service, genre); other playlists are untouched."""
        other = _raw(Service.APPLE_MUSIC, Genre("pop"), T0 - timedelta(days=30))
        any_store.save_raw_playlist(other, keep=1)
        for n in range(5):
            any_store.save_raw_playlist(
                _raw(Service.SPOTIFY, Genre("pop"), T0 + timedelta(hours=n), run_id=f"r{n}"), keep=3
            )

        assert _counts(any_store)["raw_playlists"] == 3 + 1
        latest = any_store.latest_raw_playlist(Service.SPOTIFY, Genre("pop"))
        assert latest is not None
        assert latest.run_id == "r4"
        assert any_store.latest_raw_playlist(Service.APPLE_MUSIC, Genre("pop")) == other

    def test_save_raw_playlist_when_an_older_one_is_saved_late_keeps_it_until_the_next_save(
        self, any_store: Store
    ) -> None:
        """A backfill's snapshot never displaces the newest, and survives its own save (its run's
        transform reads it by `until`); the next save prunes it."""
        newest = _raw(Service.SOUNDCLOUD, Genre("rap"), T0 + timedelta(days=1), run_id="new")
        old = _raw(Service.SOUNDCLOUD, Genre("rap"), T0, run_id="old")
        any_store.save_raw_playlist(newest, keep=1)
        any_store.save_raw_playlist(old, keep=1)

        assert _counts(any_store)["raw_playlists"] == 2
        assert any_store.latest_raw_playlist(Service.SOUNDCLOUD, Genre("rap")) == newest
        assert any_store.latest_raw_playlist(Service.SOUNDCLOUD, Genre("rap"), until=T0) == old

        later = _raw(Service.SOUNDCLOUD, Genre("rap"), T0 + timedelta(days=2), run_id="later")
        any_store.save_raw_playlist(later, keep=1)
        assert _counts(any_store)["raw_playlists"] == 1
        assert any_store.latest_raw_playlist(Service.SOUNDCLOUD, Genre("rap")) == later

    def test_latest_raw_playlist_when_until_given_returns_newest_fetched_by_then(
        self, any_store: Store
    ) -> None:
        """`until` bounds the fetch time (inclusive); before the first snapshot there is none."""
        snapshots = [
            _raw(Service.SPOTIFY, Genre("pop"), T0 + timedelta(days=n), run_id=f"r{n}")
            for n in range(3)
        ]
        for raw in reversed(snapshots):
            any_store.save_raw_playlist(raw, keep=5)

        found = any_store.latest_raw_playlist
        assert found(Service.SPOTIFY, Genre("pop"), until=T0 + timedelta(days=1)) == snapshots[1]
        assert found(Service.SPOTIFY, Genre("pop"), until=T0 + timedelta(hours=47)) == snapshots[1]
        assert found(Service.SPOTIFY, Genre("pop"), until=T0 - timedelta(seconds=1)) is None

    def test_save_raw_playlist_when_same_snapshot_saved_twice_stores_it_once(
        self, any_store: Store
    ) -> None:
        """Re-running an extract write is idempotent."""
        raw = _raw(Service.SPOTIFY, Genre("dance"), T0)
        any_store.save_raw_playlist(raw, keep=5)
        any_store.save_raw_playlist(raw, keep=5)

        assert _counts(any_store)["raw_playlists"] == 1
        assert any_store.latest_raw_playlist(Service.SPOTIFY, Genre("dance")) == raw

    def test_latest_raw_playlist_when_other_genre_saved_returns_none(
        self, any_store: Store
    ) -> None:
        """Snapshots are keyed by service and genre together."""
        any_store.save_raw_playlist(_raw(Service.SPOTIFY, Genre("pop"), T0), keep=3)

        assert any_store.latest_raw_playlist(Service.SPOTIFY, Genre("rap")) is None
        assert any_store.latest_raw_playlist(Service.SOUNDCLOUD, Genre("pop")) is None

    def test_save_raw_playlist_when_keep_is_zero_raises_value_error(self, any_store: Store) -> None:
        """keep=0 would delete the snapshot just saved: a programming error."""
        with pytest.raises(ValueError, match="keep"):
            any_store.save_raw_playlist(_raw(Service.SPOTIFY, Genre("pop"), T0), keep=0)


class TestTracks:
    """Tracks are one record per ISRC, merged on upsert."""

    @_FIXTURE_EXAMPLES
    @given(saved=st.lists(tracks(), max_size=8, unique_by=lambda t: t.isrc))
    def test_upsert_tracks_when_new_returns_them_equal(
        self, any_store: Store, saved: list[Track]
    ) -> None:
        """Any set of tracks round-trips unchanged."""
        any_store.reset()

        written = any_store.upsert_tracks(saved)

        assert written == len(saved)
        assert any_store.get_tracks(t.isrc for t in saved) == {t.isrc: t for t in saved}

    @_FIXTURE_EXAMPLES
    @given(data=st.data(), isrc=isrcs)
    def test_upsert_tracks_when_isrc_exists_stores_the_merge(
        self, any_store: Store, data: st.DataObject, isrc: str
    ) -> None:
        """The stored record becomes `stored.merged(new)`."""
        any_store.reset()
        first = data.draw(tracks(isrc=isrc))
        second = data.draw(tracks(isrc=isrc))

        any_store.upsert_tracks([first])
        any_store.upsert_tracks([second])

        assert any_store.get_tracks([isrc]) == {isrc: first.merged(second)}

    def test_upsert_tracks_when_services_differ_keeps_both_and_the_known_ids(
        self, any_store: Store
    ) -> None:
        """Each service's data survives; an id missing from the newer record is kept."""
        isrc = _isrc(7)
        spotify = _track(isrc, service=Service.SPOTIFY, spotify_id="s" * 22, youtube_id="y" * 11)
        later = T0 + timedelta(hours=1)
        apple = _track(isrc, service=Service.APPLE_MUSIC, title="Song (Apple)", updated_at=later)

        any_store.upsert_tracks([spotify])
        any_store.upsert_tracks([apple])

        stored = any_store.get_tracks([isrc])[isrc]
        assert set(stored.services) == {Service.SPOTIFY, Service.APPLE_MUSIC}
        assert stored.title == "Song (Apple)"
        assert stored.spotify_id == "s" * 22
        assert stored.youtube_id == "y" * 11
        assert stored.updated_at == later

    def test_upsert_tracks_when_same_data_twice_leaves_the_same_state(
        self, any_store: Store
    ) -> None:
        """Upserting is idempotent."""
        batch = [_track(_isrc(n), spotify_id=f"{n:022d}") for n in range(5)]
        any_store.upsert_tracks(batch)
        first = any_store.get_tracks(t.isrc for t in batch)

        assert any_store.upsert_tracks(batch) == 5
        assert any_store.get_tracks(t.isrc for t in batch) == first
        assert _counts(any_store)["tracks"] == 5

    def test_upsert_tracks_when_batch_repeats_an_isrc_merges_in_order(
        self, any_store: Store
    ) -> None:
        """Duplicates inside one batch merge like successive calls; the count is per ISRC."""
        isrc = _isrc(3)
        first = _track(isrc, service=Service.SPOTIFY, title="One")
        second = _track(isrc, service=Service.SOUNDCLOUD, title="Two")

        assert any_store.upsert_tracks([first, second]) == 1
        assert any_store.get_tracks([isrc]) == {isrc: first.merged(second)}

    def test_get_tracks_when_some_unknown_returns_only_stored_ones(self, any_store: Store) -> None:
        """Unknown ISRCs are absent, and unrequested stored ones are not returned."""
        any_store.upsert_tracks([_track(_isrc(1)), _track(_isrc(2))])

        found = any_store.get_tracks([_isrc(1), _isrc(99)])

        assert set(found) == {_isrc(1)}

    def test_get_tracks_when_asked_for_thousands_returns_all(self, any_store: Store) -> None:
        """Large requests work (implementations split long IN-lists)."""
        batch = [_track(_isrc(n)) for n in range(1234)]
        any_store.upsert_tracks(batch)

        found = any_store.get_tracks([*(t.isrc for t in batch), _isrc(5000)])

        assert found == {t.isrc: t for t in batch}


class TestPlaylists:
    """Ranked playlists are replaced whole per (genre, service_name)."""

    def test_save_playlist_when_saved_again_replaces_it(self, any_store: Store) -> None:
        """The second save wins; nothing of the first remains."""
        any_store.save_playlist(_playlist(Genre("pop"), AGGREGATE, [_isrc(1), _isrc(2)]))
        newer = _playlist(Genre("pop"), AGGREGATE, [_isrc(3)], updated_at=T0 + timedelta(days=1))

        any_store.save_playlist(newer)

        assert any_store.get_playlist(Genre("pop"), AGGREGATE) == newer
        assert _counts(any_store)["playlists"] == 1

    def test_get_playlist_when_other_key_saved_returns_none(self, any_store: Store) -> None:
        """Playlists of other services or genres are separate records."""
        spotify = _playlist(Genre("pop"), Service.SPOTIFY.value, [_isrc(1)])
        aggregate = _playlist(Genre("pop"), AGGREGATE, [_isrc(2)])
        any_store.save_playlist(spotify)
        any_store.save_playlist(aggregate)

        assert any_store.get_playlist(Genre("pop"), Service.SPOTIFY.value) == spotify
        assert any_store.get_playlist(Genre("pop"), AGGREGATE) == aggregate
        assert any_store.get_playlist(Genre("rap"), AGGREGATE) is None
        assert any_store.get_playlist(Genre("pop"), Service.APPLE_MUSIC.value) is None


class TestRankings:
    """Each day's ranking of each playlist: replaced per (genre, playlist, day), read by playlist
    across days and by ISRC across playlists."""

    def test_save_rankings_when_days_saved_out_of_order_reads_them_by_day_then_rank(
        self, any_store: Store
    ) -> None:
        """Days come back oldest first whatever the save order; within a day by rank."""
        day1, day2 = DAY0 + timedelta(days=1), DAY0 + timedelta(days=2)
        any_store.save_rankings(Genre("pop"), AGGREGATE, day2, _day_ranking([_isrc(2)], day2))
        any_store.save_rankings(
            Genre("pop"), AGGREGATE, DAY0, _day_ranking([_isrc(3), _isrc(1)], DAY0)
        )
        any_store.save_rankings(Genre("pop"), AGGREGATE, day1, _day_ranking([_isrc(1)], day1))

        found = any_store.playlist_rankings(Genre("pop"), AGGREGATE)

        assert [(r.day, r.isrc, r.rank) for r in found] == [
            (DAY0, _isrc(3), 1),
            (DAY0, _isrc(1), 2),
            (day1, _isrc(1), 1),
            (day2, _isrc(2), 1),
        ]
        assert any_store.ranking_days(Genre("pop"), AGGREGATE) == [DAY0, day1, day2]
        assert found[0] == _ranking(_isrc(3), 1, DAY0)

    def test_save_rankings_when_day_saved_again_replaces_only_that_day(
        self, any_store: Store
    ) -> None:
        """A re-run's ranking replaces the day's set (a track gone is gone); other days and
        playlists stay; saving the same set again changes nothing (idempotent)."""
        day1 = DAY0 + timedelta(days=1)
        any_store.save_rankings(Genre("pop"), AGGREGATE, DAY0, _day_ranking([_isrc(1)], DAY0))
        any_store.save_rankings(
            Genre("pop"), AGGREGATE, day1, _day_ranking([_isrc(1), _isrc(2), _isrc(3)], day1)
        )
        spotify = _day_ranking([_isrc(9)], day1, playlist=Service.SPOTIFY.value)
        any_store.save_rankings(Genre("pop"), Service.SPOTIFY.value, day1, spotify)

        again = _day_ranking([_isrc(3), _isrc(1)], day1)
        assert any_store.save_rankings(Genre("pop"), AGGREGATE, day1, again) == 2
        any_store.save_rankings(Genre("pop"), AGGREGATE, day1, again)

        assert [
            (r.day, r.isrc, r.rank) for r in any_store.playlist_rankings(Genre("pop"), AGGREGATE)
        ] == [(DAY0, _isrc(1), 1), (day1, _isrc(3), 1), (day1, _isrc(1), 2)]
        assert any_store.playlist_rankings(Genre("pop"), Service.SPOTIFY.value) == spotify
        assert _counts(any_store)["rankings"] == 1 + 2 + 1

    def test_save_rankings_when_empty_deletes_the_day(self, any_store: Store) -> None:
        """An empty ranking leaves the day without records (and without a ranking day)."""
        any_store.save_rankings(Genre("pop"), AGGREGATE, DAY0, _day_ranking([_isrc(1)]))

        assert any_store.save_rankings(Genre("pop"), AGGREGATE, DAY0, []) == 0

        assert any_store.playlist_rankings(Genre("pop"), AGGREGATE) == []
        assert any_store.ranking_days(Genre("pop"), AGGREGATE) == []

    def test_playlist_rankings_when_bounded_returns_the_days_between(
        self, any_store: Store
    ) -> None:
        """`since` and `until` are inclusive; other genres and playlists never leak in."""
        for n in range(4):
            day = DAY0 + timedelta(days=n)
            any_store.save_rankings(Genre("pop"), AGGREGATE, day, _day_ranking([_isrc(n)], day))
        other = _day_ranking([_isrc(1)], DAY0, genre="rap")
        any_store.save_rankings(Genre("rap"), AGGREGATE, DAY0, other)

        one, two = DAY0 + timedelta(days=1), DAY0 + timedelta(days=2)
        found = any_store.playlist_rankings(Genre("pop"), AGGREGATE, since=one, until=two)
        assert [r.day for r in found] == [one, two]
        assert [r.day for r in any_store.playlist_rankings(Genre("pop"), AGGREGATE, until=one)] == [
            DAY0,
            one,
        ]
        assert any_store.playlist_rankings(Genre("rap"), AGGREGATE) == other
        assert any_store.playlist_rankings(Genre("rap"), Service.SPOTIFY.value) == []

    def test_track_rankings_when_listed_on_several_playlists_reads_them_all_in_key_order(
        self, any_store: Store
    ) -> None:
        """By (genre, playlist, day): every playlist and day the ISRC was on, nothing else."""
        day1 = DAY0 + timedelta(days=1)
        any_store.save_rankings(
            Genre("rap"), AGGREGATE, DAY0, _day_ranking([_isrc(2), _isrc(1)], genre="rap")
        )
        spotify = Service.SPOTIFY.value
        any_store.save_rankings(
            Genre("pop"), spotify, day1, _day_ranking([_isrc(1)], day1, playlist=spotify)
        )
        any_store.save_rankings(
            Genre("pop"), spotify, DAY0, _day_ranking([_isrc(3), _isrc(1)], playlist=spotify)
        )

        found = any_store.track_rankings(_isrc(1))

        assert [(r.genre, r.playlist, r.day, r.rank) for r in found] == [
            (Genre("pop"), spotify, DAY0, 2),
            (Genre("pop"), spotify, day1, 1),
            (Genre("rap"), AGGREGATE, DAY0, 2),
        ]
        assert any_store.track_rankings(_isrc(7)) == []

    def test_save_rankings_when_a_record_is_of_another_day_or_repeats_raises_and_stores_nothing(
        self, any_store: Store
    ) -> None:
        """The records must be the day's, once per ISRC, with aware times: else ValueError."""
        other_day = [_ranking(_isrc(1), 1, DAY0 + timedelta(days=1))]
        twice = [_ranking(_isrc(1), 1), _ranking(_isrc(1), 2)]
        naive = [_ranking(_isrc(1), 1, recorded_at=T0.replace(tzinfo=None))]
        for bad, problem in ((other_day, "was given"), (twice, "twice"), (naive, "naive")):
            with pytest.raises(ValueError, match=problem):
                any_store.save_rankings(Genre("pop"), AGGREGATE, DAY0, bad)

        assert _counts(any_store)["rankings"] == 0

    def test_rankings_when_saved_with_an_offset_come_back_aware_and_equal(
        self, any_store: Store
    ) -> None:
        """recorded_at keeps its instant (microseconds included) and comes back in UTC."""
        moment = datetime(2025, 3, 1, 14, 0, 0, 123456, tzinfo=PLUS_TWO)
        ranking = _ranking(_isrc(1), 1, recorded_at=moment)
        any_store.save_rankings(Genre("pop"), AGGREGATE, DAY0, [ranking])

        (found,) = any_store.track_rankings(_isrc(1))

        assert found == ranking
        assert found.recorded_at.utcoffset() == timedelta(0)

    def test_save_rankings_when_the_unit_fails_keeps_the_day_as_it_was(
        self, any_store: Store
    ) -> None:
        """Written in the playlist's unit: a failure rolls the day's new ranking back."""
        before = _day_ranking([_isrc(1), _isrc(2)])
        any_store.save_rankings(Genre("pop"), AGGREGATE, DAY0, before)

        def failing() -> None:
            with any_store.unit():
                any_store.save_rankings(Genre("pop"), AGGREGATE, DAY0, _day_ranking([_isrc(3)]))
                raise _AbortError

        with pytest.raises(_AbortError):
            failing()

        assert any_store.playlist_rankings(Genre("pop"), AGGREGATE) == before


class TestViewSamples:
    """View samples: one per (isrc, source, day), read back as histories."""

    @_FIXTURE_EXAMPLES
    @given(
        samples=st.lists(view_samples(), max_size=20, unique_by=lambda s: (s.isrc, s.source, s.day))
    )
    def test_save_view_samples_when_new_returns_them_equal_in_key_order(
        self, any_store: Store, samples: list[ViewSample]
    ) -> None:
        """Any samples round-trip; iteration is in (isrc, source, day) order."""
        any_store.reset()

        assert any_store.save_view_samples(samples) == len(samples)

        expected = sorted(samples, key=lambda s: (s.isrc, s.source.value, s.day))
        assert list(any_store.iter_view_samples()) == expected

    @_FIXTURE_EXAMPLES
    @given(
        samples=st.lists(
            view_samples(), max_size=20, unique_by=lambda s: (s.isrc, s.source, s.day)
        ),
        source=sources,
        before=days,
    )
    def test_previous_samples_when_random_history_matches_brute_force(
        self, any_store: Store, samples: list[ViewSample], source: ViewSource, before: date
    ) -> None:
        """For each ISRC: its newest sample of that source from an earlier day."""
        any_store.reset()
        any_store.save_view_samples(samples)
        expected: dict[str, ViewSample] = {}
        for sample in samples:
            best = expected.get(sample.isrc)
            earlier = sample.source is source and sample.day < before
            if earlier and (best is None or sample.day > best.day):
                expected[sample.isrc] = sample

        found = any_store.previous_samples({s.isrc for s in samples}, source, before)

        assert found == expected

    def test_save_view_samples_when_key_exists_replaces_the_sample(self, any_store: Store) -> None:
        """A re-run on the same day updates that day's sample instead of adding one."""
        any_store.save_view_samples([_sample(_isrc(1), DAY0, total=100, run_id="a")])
        rerun = _sample(_isrc(1), DAY0, total=150, delta=50, run_id="b")

        assert any_store.save_view_samples([rerun]) == 1

        assert list(any_store.iter_view_samples()) == [rerun]

    def test_save_view_samples_when_same_batch_twice_leaves_the_same_state(
        self, any_store: Store
    ) -> None:
        """Saving samples is idempotent."""
        batch = [_sample(_isrc(n), DAY0 + timedelta(days=d)) for n in range(3) for d in range(3)]
        any_store.save_view_samples(batch)
        any_store.save_view_samples(batch)

        assert _counts(any_store)["view_counts"] == 9

    def test_view_history_when_several_days_returns_oldest_first_per_isrc(
        self, any_store: Store
    ) -> None:
        """Histories group by ISRC and run oldest to newest; unknown ISRCs are absent."""
        a, b = _isrc(1), _isrc(2)
        samples = [
            _sample(a, DAY0 + timedelta(days=2), total=300),
            _sample(a, DAY0, total=100),
            _sample(a, DAY0 + timedelta(days=1), total=200),
            _sample(b, DAY0, total=5),
        ]
        any_store.save_view_samples(samples)

        history = any_store.view_history([a, b, _isrc(3)])

        assert set(history) == {a, b}
        assert [s.total for s in history[a]] == [100, 200, 300]
        assert [s.total for s in history[b]] == [5]

    def test_view_history_when_source_given_returns_that_source_only(
        self, any_store: Store
    ) -> None:
        """The source filter drops the other source's samples."""
        isrc = _isrc(1)
        spotify = _sample(isrc, DAY0, source=ViewSource.SPOTIFY, total=1)
        youtube = _sample(isrc, DAY0, source=ViewSource.YOUTUBE, total=2)
        any_store.save_view_samples([spotify, youtube])

        assert any_store.view_history([isrc], ViewSource.SPOTIFY) == {isrc: [spotify]}
        assert any_store.view_history([isrc], ViewSource.YOUTUBE) == {isrc: [youtube]}
        assert sorted(s.source.value for s in any_store.view_history([isrc])[isrc]) == [
            "Spotify",
            "YouTube",
        ]

    def test_previous_samples_when_several_days_picks_the_newest_strictly_before(
        self, any_store: Store
    ) -> None:
        """`before` itself is excluded; the other source and other ISRCs are ignored."""
        isrc = _isrc(1)
        day1, day2, day3 = DAY0, DAY0 + timedelta(days=1), DAY0 + timedelta(days=5)
        any_store.save_view_samples(
            [
                _sample(isrc, day1, total=10),
                _sample(isrc, day2, total=20),
                _sample(isrc, day3, total=30),
                _sample(isrc, day3 - timedelta(days=1), source=ViewSource.SPOTIFY, total=99),
                _sample(_isrc(2), day3, total=7),
            ]
        )

        def total_before(day: date) -> int | None:
            found = any_store.previous_samples([isrc], ViewSource.YOUTUBE, day)
            return found[isrc].total if isrc in found else None

        assert total_before(day3 + timedelta(days=1)) == 30
        assert total_before(day3) == 20
        assert total_before(day2) == 10
        assert total_before(day1) is None

    def test_view_reads_when_thousands_of_isrcs_answer_for_all(self, any_store: Store) -> None:
        """Large requests work (implementations split long IN-lists)."""
        wanted = [_isrc(n) for n in range(1100)]
        any_store.save_view_samples(_sample(isrc, DAY0) for isrc in wanted)

        assert len(any_store.view_history(wanted)) == 1100
        assert len(any_store.view_history(wanted, ViewSource.YOUTUBE)) == 1100
        after = DAY0 + timedelta(days=1)
        assert len(any_store.previous_samples(wanted, ViewSource.YOUTUBE, after)) == 1100

    def test_iter_view_samples_when_many_yields_all_in_key_order(self, any_store: Store) -> None:
        """Iteration covers every sample once, ordered, however many there are."""
        samples = [
            _sample(_isrc(n), DAY0 + timedelta(days=d), source=source)
            for n in range(400)
            for d in range(3)
            for source in ViewSource
        ]
        any_store.save_view_samples(samples)

        found = list(any_store.iter_view_samples())

        assert found == sorted(samples, key=lambda s: (s.isrc, s.source.value, s.day))


class TestLookups:
    """Remembered search answers, positive and negative, with expiry."""

    def test_put_lookup_when_positive_returns_it_equal(self, any_store: Store) -> None:
        """A found answer round-trips."""
        lookup = _lookup("isrc_by_title", "song|artist", _isrc(1))
        any_store.put_lookup(lookup)

        assert any_store.get_lookup("isrc_by_title", "song|artist") == lookup

    def test_put_lookup_when_negative_returns_none_value(self, any_store: Store) -> None:
        """A cached miss is a stored record whose value is None, not an absent record."""
        miss = _lookup("youtube_id", _isrc(1), None, expires_at=T0 + timedelta(days=1))
        any_store.put_lookup(miss)

        stored = any_store.get_lookup("youtube_id", _isrc(1))

        assert stored == miss
        assert stored is not None
        assert stored.value is None

    def test_get_lookup_when_expired_still_returns_it_for_the_caller_to_judge(
        self, any_store: Store
    ) -> None:
        """Expiry is the caller's decision via `is_fresh`."""
        any_store.put_lookup(_lookup("cover", "https://x.test/a", "c", expires_at=T0))

        stored = any_store.get_lookup("cover", "https://x.test/a")

        assert stored is not None
        assert stored.is_fresh(T0 - timedelta(seconds=1))
        assert not stored.is_fresh(T0)

    def test_put_lookup_when_key_exists_replaces_it(self, any_store: Store) -> None:
        """A later answer (a miss turned into a hit) replaces the earlier one."""
        any_store.put_lookup(_lookup("youtube_id", _isrc(1), None))
        hit = _lookup("youtube_id", _isrc(1), "abcdefghijk", updated_at=T0 + timedelta(days=2))
        any_store.put_lookup(hit)

        assert any_store.get_lookup("youtube_id", _isrc(1)) == hit
        assert _counts(any_store)["lookups"] == 1

    def test_get_lookup_when_other_kind_has_the_key_returns_none(self, any_store: Store) -> None:
        """Kinds are separate namespaces."""
        any_store.put_lookup(_lookup("youtube_id", "k", "v"))

        assert any_store.get_lookup("cover", "k") is None
        assert any_store.get_lookup("youtube_id", "K") is None


class TestRuns:
    """Run records, replaced by run_id and listed newest first."""

    def test_save_run_when_new_returns_it_equal(self, any_store: Store) -> None:
        """A run record with units, calls and quotas round-trips."""
        report = _run("run-1", T0)
        any_store.save_run(report)

        assert any_store.get_run("run-1") == report

    def test_save_run_when_run_id_exists_replaces_it(self, any_store: Store) -> None:
        """A running record is replaced by its finished version."""
        any_store.save_run(_run("run-1", T0, status=RunStatus.RUNNING))
        finished = _run("run-1", T0, status=RunStatus.PARTIAL)
        any_store.save_run(finished)

        assert any_store.get_run("run-1") == finished
        assert len(any_store.list_runs()) == 1

    def test_list_runs_when_several_returns_newest_first_within_limit(
        self, any_store: Store
    ) -> None:
        """Order is by started_at, newest first, whatever the save order."""
        for n in (2, 0, 3, 1):
            any_store.save_run(_run(f"run-{n}", T0 + timedelta(hours=n)))

        assert [r.run_id for r in any_store.list_runs()] == ["run-3", "run-2", "run-1", "run-0"]
        assert [r.run_id for r in any_store.list_runs(limit=2)] == ["run-3", "run-2"]


class TestQuotaUsage:
    """Daily quota spending per bucket: increments that add up across runs and threads."""

    def test_add_quota_usage_when_called_twice_returns_the_running_total(
        self, any_store: Store
    ) -> None:
        """Two runs on one day share the bucket: the second sees the first's spending."""
        assert any_store.add_quota_usage(DAY0, "youtube.search", 100, at=T0) == 100
        assert any_store.add_quota_usage(DAY0, "youtube.search", 50, at=T0) == 150

        assert any_store.quota_usage(DAY0) == {"youtube.search": 150}

    def test_quota_usage_when_other_day_or_bucket_keeps_them_apart(self, any_store: Store) -> None:
        """Buckets and days are separate counters; an unused day is empty."""
        any_store.add_quota_usage(DAY0, "youtube.search", 100, at=T0)
        any_store.add_quota_usage(DAY0, "youtube.videos", 3, at=T0)
        any_store.add_quota_usage(DAY0 + timedelta(days=1), "youtube.search", 7, at=T0)

        assert any_store.quota_usage(DAY0) == {"youtube.search": 100, "youtube.videos": 3}
        assert any_store.quota_usage(DAY0 + timedelta(days=1)) == {"youtube.search": 7}
        assert any_store.quota_usage(DAY0 - timedelta(days=1)) == {}

    def test_add_quota_usage_when_inside_a_failed_unit_is_rolled_back(
        self, any_store: Store
    ) -> None:
        """Spending recorded in a unit that fails disappears with the unit."""

        def failing() -> None:
            with any_store.unit():
                any_store.add_quota_usage(DAY0, "rapidapi", 5, at=T0)
                raise _AbortError

        with pytest.raises(_AbortError):
            failing()

        assert any_store.quota_usage(DAY0) == {}

    def test_add_quota_usage_when_two_threads_add_at_once_loses_no_unit(
        self, any_store: Store
    ) -> None:
        """Increments are atomic: 2 x 50 concurrent adds of 1 make exactly 100."""
        start = threading.Barrier(2)

        def work() -> None:
            start.wait(timeout=10)
            for _ in range(50):
                any_store.add_quota_usage(DAY0, "rapidapi", 1, at=T0)

        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(work), pool.submit(work)]:
                future.result(timeout=120)

        assert any_store.quota_usage(DAY0) == {"rapidapi": 100}


class TestQuotaSpending:
    """spend_quota: recorded before the call, atomically, never past a limit, across stores."""

    def test_spend_quota_when_under_the_limit_records_and_returns_the_total(
        self, any_store: Store
    ) -> None:
        assert any_store.spend_quota(DAY0, "youtube_search", 2, limit=3, at=T0) == 2
        assert any_store.spend_quota(DAY0, "youtube_search", 1, limit=3, at=T0) == 3
        assert any_store.quota_usage(DAY0) == {"youtube_search": 3}

    def test_spend_quota_when_it_would_pass_the_limit_records_nothing(
        self, any_store: Store
    ) -> None:
        """Refused spending is not recorded, for a new bucket and for a used one."""
        assert any_store.spend_quota(DAY0, "youtube_search", 4, limit=3, at=T0) is None
        assert any_store.quota_usage(DAY0) == {}
        assert any_store.spend_quota(DAY0, "youtube_search", 2, limit=3, at=T0) == 2
        assert any_store.spend_quota(DAY0, "youtube_search", 2, limit=3, at=T0) is None
        assert any_store.quota_usage(DAY0) == {"youtube_search": 2}

    def test_spend_quota_when_unlimited_always_records(self, any_store: Store) -> None:
        any_store.add_quota_usage(DAY0, "pages", 10, at=T0)
        assert any_store.spend_quota(DAY0, "pages", 5, limit=None, at=T0) == 15

    def test_refund_quota_when_a_request_never_left_gives_units_back_not_below_zero(
        self, any_store: Store
    ) -> None:
        any_store.spend_quota(DAY0, "youtube_search", 3, limit=10, at=T0)
        assert any_store.refund_quota(DAY0, "youtube_search", 1, at=T0) == 2
        assert any_store.refund_quota(DAY0, "youtube_search", 5, at=T0) == 0
        assert any_store.refund_quota(DAY0, "never_used", 1, at=T0) == 0
        assert any_store.quota_usage(DAY0)["youtube_search"] == 0

    def test_spend_quota_when_inside_a_unit_is_refused(self, any_store: Store) -> None:
        """A unit's rollback would unrecord spent units: spending never joins one."""
        with pytest.raises(StoreError, match="inside a unit"), any_store.unit():
            any_store.spend_quota(DAY0, "youtube_search", 1, limit=3, at=T0)
        assert any_store.quota_usage(DAY0) == {}

    def test_spend_quota_when_two_stores_race_never_passes_the_limit(
        self, store_opener: StoreOpener
    ) -> None:
        """Two stores on one database (two processes' view) x 4 threads: exactly the limit."""
        stores = [store_opener(), store_opener()]
        start = threading.Barrier(8)
        granted: list[int] = []
        lock = threading.Lock()

        def work(store: Store) -> None:
            start.wait(timeout=30)
            for _ in range(20):
                if store.spend_quota(DAY0, "youtube_search", 1, limit=50, at=T0) is not None:
                    with lock:
                        granted.append(1)

        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(work, stores[n % 2]) for n in range(8)]
            for future in futures:
                future.result(timeout=300)

        assert len(granted) == 50
        assert stores[0].quota_usage(DAY0) == {"youtube_search": 50}


class TestLeases:
    """The run lease: compare and set, so of two takers exactly one wins."""

    def test_swap_lease_when_free_takes_it_and_a_second_taker_loses(self, any_store: Store) -> None:
        assert any_store.get_lease(RUN_LEASE) is None
        assert any_store.swap_lease(_lease("a", "t1"), expected=None)
        assert not any_store.swap_lease(_lease("b", "t2"), expected=None)
        assert any_store.get_lease(RUN_LEASE) == _lease("a", "t1")

    def test_swap_lease_when_expected_is_current_replaces_it(self, any_store: Store) -> None:
        """A renewal (or a take-over) swaps from the lease as it was read."""
        any_store.swap_lease(_lease("a", "t1"), expected=None)
        renewed = _lease("a", "t2", at=T0 + timedelta(seconds=30))
        assert any_store.swap_lease(renewed, expected=_lease("a", "t1"))
        assert any_store.get_lease(RUN_LEASE) == renewed

    def test_swap_lease_when_expected_is_stale_changes_nothing(self, any_store: Store) -> None:
        """Two takers read the same expired lease; the second swap finds a new token."""
        any_store.swap_lease(_lease("dead", "t0"), expected=None)
        stale = _lease("dead", "t0")
        assert any_store.swap_lease(_lease("b", "t1"), expected=stale)
        assert not any_store.swap_lease(_lease("c", "t2"), expected=stale)
        assert any_store.get_lease(RUN_LEASE) == _lease("b", "t1")

    def test_swap_lease_when_many_threads_take_over_at_once_lets_exactly_one_win(
        self, store_opener: StoreOpener
    ) -> None:
        stores = [store_opener(), store_opener()]
        stores[0].swap_lease(_lease("dead", "t0"), expected=None)
        stale = stores[0].get_lease(RUN_LEASE)
        start = threading.Barrier(6)

        def take(n: int) -> bool:
            start.wait(timeout=30)
            return stores[n % 2].swap_lease(_lease(f"r{n}", f"t{n + 1}"), expected=stale)

        with ThreadPoolExecutor(max_workers=6) as pool:
            won = [f.result(timeout=120) for f in [pool.submit(take, n) for n in range(6)]]

        assert won.count(True) == 1
        holder = stores[1].get_lease(RUN_LEASE)
        assert holder is not None
        assert holder.run_id == f"r{won.index(True)}"

    def test_release_lease_when_token_matches_deletes_else_keeps(self, any_store: Store) -> None:
        any_store.swap_lease(_lease("a", "t1"), expected=None)
        assert not any_store.release_lease(RUN_LEASE, "someone-else")
        assert any_store.get_lease(RUN_LEASE) is not None
        assert any_store.release_lease(RUN_LEASE, "t1")
        assert any_store.get_lease(RUN_LEASE) is None
        assert not any_store.release_lease(RUN_LEASE, "t1")

    def test_leases_when_exporting_are_not_an_exported_collection(self, any_store: Store) -> None:
        """A lease is a live process's claim on this store: export/import/copy leave it."""
        assert "leases" in COLLECTIONS
        assert "leases" not in EXPORTED
        with pytest.raises(ValueError, match="unknown collection"):
            list(any_store.export_records("leases"))


class TestViews:
    """Per-genre API documents, replaced by (genre, name)."""

    def test_save_views_when_several_stores_each_and_replaces_only_those(
        self, any_store: Store
    ) -> None:
        """Documents not in the batch stay; those in it are replaced."""
        old_graph = _view(Genre("pop"), "graph", {"v": 1})
        kept = _view(Genre("rap"), "graph", {"v": 1})
        any_store.save_views([old_graph, kept])
        new_graph = _view(Genre("pop"), "graph", {"v": 2}, updated_at=T0 + timedelta(days=1))
        playlist = _view(Genre("pop"), "playlist", [{"isrc": _isrc(1), "rank": 1}])

        any_store.save_views([new_graph, playlist])

        assert any_store.get_view(Genre("pop"), "graph") == new_graph
        assert any_store.get_view(Genre("pop"), "playlist") == playlist
        assert any_store.get_view(Genre("rap"), "graph") == kept
        assert any_store.get_view(Genre("rap"), "playlist") is None
        assert _counts(any_store)["views"] == 3


class TestAdministration:
    """status, reset and datetimes as the store reports them."""

    def test_status_when_filled_counts_records_and_reports_newest_time(
        self, any_store: Store
    ) -> None:
        """Each collection reports its size and its newest time, timezone-aware."""
        _fill_every_collection(any_store)
        assert any_store.swap_lease(_lease("run-1", "t1"), expected=None)
        later = T0 + timedelta(days=3)
        any_store.upsert_tracks([_track(_isrc(2), updated_at=later)])

        statuses = {s.name: s for s in any_store.status()}

        assert {name: s.count for name, s in statuses.items()} == {
            "raw_playlists": 1,
            "tracks": 2,
            "playlists": 1,
            "rankings": 1,
            "view_counts": 1,
            "lookups": 1,
            "runs": 1,
            "views": 1,
            "quota_usage": 1,
            "leases": 1,
        }
        assert statuses["leases"].newest == T0
        assert statuses["tracks"].newest == later
        assert statuses["view_counts"].newest == _sample(_isrc(1), DAY0).timestamp
        for status in statuses.values():
            assert status.newest is not None
            assert status.newest.utcoffset() == timedelta(0)

    def test_reset_when_filled_empties_every_collection_but_keeps_the_lease(
        self, any_store: Store
    ) -> None:
        """reset leaves a usable, empty store; a running run's lease stays (EXPORTED)."""
        _fill_every_collection(any_store)
        assert any_store.swap_lease(_lease("run-1", "t1"), expected=None)

        any_store.reset()

        assert _counts(any_store) == {name: int(name == "leases") for name in COLLECTIONS}
        assert any_store.get_lease(RUN_LEASE) == _lease("run-1", "t1")
        assert any_store.get_tracks([_isrc(1)]) == {}
        assert any_store.latest_raw_playlist(Service.SPOTIFY, Genre("pop")) is None
        any_store.upsert_tracks([_track(_isrc(1))])
        assert _counts(any_store)["tracks"] == 1

    def test_datetimes_when_saved_with_an_offset_come_back_aware_and_equal(
        self, any_store: Store
    ) -> None:
        """Every datetime keeps its instant; those the store indexes come back in UTC."""
        when = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=PLUS_TWO)
        day = date(2025, 6, 1)
        track = _track(_isrc(1), updated_at=when)
        sample = ViewSample(
            isrc=_isrc(1),
            source=ViewSource.SPOTIFY,
            day=day,
            timestamp=when,
            total=1,
            delta=0,
            run_id="r",
        )
        lookup = _lookup("k", "v", "x", expires_at=when, updated_at=when)
        any_store.upsert_tracks([track])
        any_store.save_view_samples([sample])
        any_store.put_lookup(lookup)
        any_store.save_run(_run("r", when))

        stored_track = any_store.get_tracks([_isrc(1)])[_isrc(1)]
        stored_sample = any_store.view_history([_isrc(1)])[_isrc(1)][0]
        stored_lookup = any_store.get_lookup("k", "v")
        stored_run = any_store.get_run("r")

        assert stored_track.updated_at == when
        assert stored_track.updated_at.tzinfo is not None
        assert stored_sample == sample
        assert stored_sample.timestamp.utcoffset() == timedelta(0)
        assert stored_lookup == lookup
        assert stored_lookup is not None
        assert stored_lookup.expires_at.utcoffset() == timedelta(0)
        assert stored_run is not None
        assert stored_run.started_at == when

    @pytest.mark.parametrize(
        "write",
        [
            pytest.param(
                lambda s, naive: s.upsert_tracks([_track(_isrc(1), updated_at=naive)]), id="track"
            ),
            pytest.param(
                lambda s, naive: s.save_raw_playlist(
                    _raw(Service.SPOTIFY, Genre("pop"), naive), keep=1
                ),
                id="raw",
            ),
            pytest.param(
                lambda s, naive: s.save_playlist(
                    _playlist(Genre("pop"), AGGREGATE, [], updated_at=naive)
                ),
                id="playlist",
            ),
            pytest.param(
                lambda s, naive: s.put_lookup(_lookup("k", "v", None, expires_at=naive)),
                id="lookup",
            ),
            pytest.param(lambda s, naive: s.save_run(_run("r", naive)), id="run"),
            pytest.param(
                lambda s, naive: s.save_views([_view(Genre("pop"), "x", 1, updated_at=naive)]),
                id="view",
            ),
        ],
    )
    def test_writes_when_given_a_naive_datetime_raise_value_error_and_store_nothing(
        self, any_store: Store, write: Callable[[Store, datetime], object]
    ) -> None:
        """A naive datetime has no defined instant: refusing it is a programming error."""
        with pytest.raises(ValueError, match="naive"):
            write(any_store, datetime(2025, 1, 1, 12))

        assert set(_counts(any_store).values()) == {0}


class TestUnits:
    """`with store.unit():` is all-or-nothing, isolated from readers, and safe across threads."""

    def test_unit_when_body_raises_writes_nothing_and_reraises(self, any_store: Store) -> None:
        """Every write of a failed unit is rolled back; the original exception propagates."""
        any_store.upsert_tracks([_track(_isrc(1), title="Before")])

        def failing_unit() -> None:
            with any_store.unit():
                any_store.upsert_tracks([_track(_isrc(1), title="After"), _track(_isrc(2))])
                any_store.save_playlist(_playlist(Genre("pop"), AGGREGATE, [_isrc(1)]))
                any_store.save_view_samples([_sample(_isrc(1), DAY0)])
                any_store.save_raw_playlist(_raw(Service.SPOTIFY, Genre("pop"), T0), keep=1)
                any_store.put_lookup(_lookup("k", "v", "x"))
                any_store.save_run(_run("r", T0))
                any_store.save_views([_view(Genre("pop"), "graph", {})])
                raise _AbortError

        with pytest.raises(_AbortError):
            failing_unit()

        assert _counts(any_store) == {name: int(name == "tracks") for name in COLLECTIONS}
        # (leases are never written in a unit: see TestLeases)
        assert any_store.get_tracks([_isrc(1)])[_isrc(1)].title == "Before"

    def test_unit_when_body_succeeds_commits_every_write(self, store_opener: StoreOpener) -> None:
        """After the unit, another store on the same database sees all of it."""
        writer, reader = store_opener(), store_opener()

        with writer.unit():
            _fill_every_collection(writer)

        assert {_counts(reader)[name] for name in EXPORTED} == {1}

    @pytest.mark.needs_isolation
    def test_unit_when_open_hides_its_writes_from_reader_threads(self, any_store: Store) -> None:
        """A reader in another thread sees the data as it was before the unit."""
        any_store.upsert_tracks([_track(_isrc(1), title="Old")])

        def read() -> tuple[str, Playlist | None, int]:
            track = any_store.get_tracks([_isrc(1)])[_isrc(1)]
            return (
                track.title,
                any_store.get_playlist(Genre("pop"), AGGREGATE),
                _counts(any_store)["view_counts"],
            )

        with ThreadPoolExecutor(max_workers=1) as pool:
            with any_store.unit():
                any_store.upsert_tracks([_track(_isrc(1), title="New")])
                any_store.save_playlist(_playlist(Genre("pop"), AGGREGATE, [_isrc(1)]))
                any_store.save_view_samples([_sample(_isrc(1), DAY0)])
                during = pool.submit(read).result(timeout=30)
            after = pool.submit(read).result(timeout=30)

        assert during == ("Old", None, 0)
        assert after[0] == "New"
        assert after[1] is not None
        assert after[2] == 1

    @pytest.mark.needs_isolation
    def test_unit_when_open_hides_its_writes_from_a_second_store(
        self, store_opener: StoreOpener
    ) -> None:
        """Another connection to the database (as from another process) sees committed data only."""
        writer, reader = store_opener(), store_opener()

        with writer.unit():
            writer.save_run(_run("r", T0))
            assert reader.get_run("r") is None

        assert reader.get_run("r") == _run("r", T0)

    @pytest.mark.needs_isolation
    def test_unit_when_nested_commits_with_the_outer_unit(self, store_opener: StoreOpener) -> None:
        """An inner unit's writes become visible only when the outer one commits."""
        writer, reader = store_opener(), store_opener()

        with writer.unit():
            with writer.unit():
                writer.put_lookup(_lookup("k", "inner", "x"))
            writer.put_lookup(_lookup("k", "outer", "y"))
            assert reader.get_lookup("k", "inner") is None

        assert reader.get_lookup("k", "inner") is not None
        assert reader.get_lookup("k", "outer") is not None

    def test_unit_when_outer_fails_rolls_back_the_inner_unit_too(self, any_store: Store) -> None:
        """A completed inner unit is part of the outer transaction."""

        def failing_outer_unit() -> None:
            with any_store.unit():
                with any_store.unit():
                    any_store.put_lookup(_lookup("k", "inner", "x"))
                raise _AbortError

        with pytest.raises(_AbortError):
            failing_outer_unit()

        assert any_store.get_lookup("k", "inner") is None

    def test_store_when_two_threads_write_at_once_loses_nothing(self, any_store: Store) -> None:
        """Concurrent units from two threads all land, without lock errors."""
        shared = _isrc(999)
        rounds = 40
        start = threading.Barrier(2)

        def work(worker: int, service: Service) -> None:
            start.wait(timeout=10)
            for n in range(rounds):
                isrc = _isrc(worker * 1000 + n)
                with any_store.unit():
                    any_store.save_view_samples([_sample(isrc, DAY0, total=n)])
                    any_store.upsert_tracks([_track(shared, service=service)])
                any_store.put_lookup(_lookup(f"worker{worker}", str(n), isrc))

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(work, 1, Service.SPOTIFY),
                pool.submit(work, 2, Service.APPLE_MUSIC),
            ]
            for future in futures:
                future.result(timeout=120)

        counts = _counts(any_store)
        assert counts["view_counts"] == 2 * rounds
        assert counts["lookups"] == 2 * rounds
        stored = any_store.get_tracks([shared])[shared]
        assert set(stored.services) == {Service.SPOTIFY, Service.APPLE_MUSIC}


class TestSecondStore:
    """Two stores on one database behave like two processes sharing it."""

    def test_second_store_when_data_committed_sees_it(self, store_opener: StoreOpener) -> None:
        """Writes of one store are visible to another on the same database at once."""
        first, second = store_opener(), store_opener()

        _fill_every_collection(first)
        assert first.swap_lease(_lease("run-1", "t1"), expected=None)

        assert set(_counts(second).values()) == {1}
        assert second.get_tracks([_isrc(1)]) == first.get_tracks([_isrc(1)])

    def test_second_store_when_both_merge_one_track_keeps_both_services(
        self, store_opener: StoreOpener
    ) -> None:
        """A merge reads what the other store committed, so neither service's data is lost."""
        first, second = store_opener(), store_opener()

        first.upsert_tracks([_track(_isrc(1), service=Service.SPOTIFY)])
        second.upsert_tracks([_track(_isrc(1), service=Service.SOUNDCLOUD)])

        stored = first.get_tracks([_isrc(1)])[_isrc(1)]
        assert set(stored.services) == {Service.SPOTIFY, Service.SOUNDCLOUD}


class TestSQLiteFiles:
    """What only the SQLite store promises about its file."""

    def test_init_when_path_is_a_directory_raises_store_unavailable_with_hint(
        self, tmp_path: Path
    ) -> None:
        """A folder is not a database: the error names it and says what to check."""
        folder = tmp_path / "db.sqlite"
        folder.mkdir()
        store = SQLiteStore(folder)

        with pytest.raises(StoreUnavailable) as caught:
            store.init()

        assert str(folder) in str(caught.value)
        assert caught.value.hint is not None
        assert str(folder) in caught.value.hint
        assert "folder" in caught.value.hint
        assert isinstance(caught.value.__cause__, sqlite3.Error)
        assert isinstance(caught.value, Transient)

    def test_ping_when_file_is_not_a_database_raises_store_unavailable(
        self, tmp_path: Path
    ) -> None:
        """Garbage in the file is reported in words, never as a raw sqlite3 error."""
        path = tmp_path / "notes.db"
        path.write_text("these are not the tables you are looking for\n" * 50)

        store = SQLiteStore(path)
        try:
            with pytest.raises(StoreUnavailable, match="not a usable SQLite database") as caught:
                store.ping()
        finally:
            store.close()

        assert caught.value.hint is not None
        assert str(path) in caught.value.hint

    def test_init_when_parent_is_a_file_raises_store_unavailable(self, tmp_path: Path) -> None:
        """The folder for the database cannot be created under a file."""
        blocker = tmp_path / "blocker"
        blocker.write_text("x")

        with pytest.raises(StoreUnavailable) as caught:
            SQLiteStore(blocker / "tunemeld.db").init()

        assert caught.value.hint is not None
        assert str(blocker) in caught.value.hint

    def test_init_when_run_sets_wal_mode_and_schema_version(self, tmp_path: Path) -> None:
        """The file is in WAL mode and stamped with schema version 2 (2 added `rankings`)."""
        path = tmp_path / "t.db"
        store = SQLiteStore(path)
        store.init()
        store.close()

        raw = sqlite3.connect(path)
        try:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
            tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        finally:
            raw.close()
        assert set(COLLECTIONS) <= tables

    def test_init_when_run_creates_the_secondary_indexes(self, tmp_path: Path) -> None:
        """The non-unique indexes the queries filter and sort by exist under their names."""
        path = tmp_path / "t.db"
        with SQLiteStore(path) as store:
            store.init()

        raw = sqlite3.connect(path)
        try:
            indexes = {
                name: (table, [row[2] for row in raw.execute(f"PRAGMA index_info({name})")])
                for name, table in raw.execute(
                    "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"
                    " AND name NOT LIKE 'sqlite_autoindex_%'"
                )
            }
        finally:
            raw.close()
        assert indexes == {
            "raw_playlists_service_genre_fetched_at": (
                "raw_playlists",
                ["service", "genre", "fetched_at"],
            ),
            "rankings_isrc": ("rankings", ["isrc"]),
            "view_counts_source_day": ("view_counts", ["source", "day"]),
            "runs_started_at": ("runs", ["started_at"]),
        }

    def test_init_when_schema_is_newer_raises_store_error(self, tmp_path: Path) -> None:
        """A file from a newer tunemeld is not silently misread."""
        path = tmp_path / "future.db"
        raw = sqlite3.connect(path)
        raw.execute("PRAGMA user_version = 99")
        raw.close()

        store = SQLiteStore(path)
        try:
            with pytest.raises(StoreError, match="schema version 99"):
                store.init()
        finally:
            store.close()

    def test_reads_when_store_never_initialised_raise_store_error_naming_db_init(
        self, tmp_path: Path
    ) -> None:
        """A missing table is explained with the command that creates it."""
        store = SQLiteStore(tmp_path / "empty.db")

        with pytest.raises(StoreError) as caught:
            store.get_tracks([_isrc(1)])

        assert caught.value.hint is not None
        assert "db.init" in caught.value.hint
        store.close()

    def test_close_when_threads_opened_connections_closes_them_all(self, tmp_path: Path) -> None:
        """Every thread's connection is closed, so SQLite removes the WAL file."""
        path = tmp_path / "t.db"
        store = SQLiteStore(path)
        store.init()
        with ThreadPoolExecutor(max_workers=3) as pool:
            barrier = threading.Barrier(3)

            def read() -> None:
                store.get_tracks([_isrc(1)])
                barrier.wait(timeout=10)  # keeps three distinct threads busy at once

            for future in [pool.submit(read) for _ in range(3)]:
                future.result(timeout=30)
            store.upsert_tracks([_track(_isrc(1))])
            assert path.with_name("t.db-wal").exists()

            store.close()

            assert not path.with_name("t.db-wal").exists()
            with pytest.raises(StoreError, match="closed"):
                pool.submit(store.ping).result(timeout=30)


class TestSQLiteLocking:
    """Locks, savepoints and serialised units in the SQLite store."""

    def test_write_when_another_writer_holds_the_lock_too_long_raises_store_unavailable(
        self, tmp_path: Path
    ) -> None:
        """`database is locked` becomes a transient StoreUnavailable with a hint."""
        path = tmp_path / "t.db"
        store = SQLiteStore(path, timeout_ms=100)
        store.init()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailable, match="locked") as caught:
                store.upsert_tracks([_track(_isrc(1))])
            assert store.get_tracks([_isrc(1)]) == {}  # readers are not blocked by the writer
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert caught.value.hint is not None
        assert "TIMEOUT_MS" in caught.value.hint
        store.upsert_tracks([_track(_isrc(1))])  # the store works again
        store.close()

    def test_unit_when_inner_error_is_caught_keeps_the_outer_writes(
        self, store: SQLiteStore
    ) -> None:
        """A nested unit is a savepoint: catching its error undoes only its writes."""

        def failing_inner_unit() -> None:
            with store.unit():
                store.put_lookup(_lookup("k", "inner", "y"))
                raise _AbortError

        with store.unit():
            store.put_lookup(_lookup("k", "outer", "x"))
            with pytest.raises(_AbortError):
                failing_inner_unit()
            store.put_lookup(_lookup("k", "after", "z"))

        assert store.get_lookup("k", "outer") is not None
        assert store.get_lookup("k", "inner") is None
        assert store.get_lookup("k", "after") is not None

    def test_units_when_two_threads_read_modify_write_are_serialised(
        self, store: SQLiteStore
    ) -> None:
        """A unit takes the write lock at BEGIN, so read-then-write increments never collide."""
        rounds = 30
        start = threading.Barrier(2)

        def bump() -> None:
            start.wait(timeout=10)
            for _ in range(rounds):
                with store.unit():
                    current = store.get_lookup("counter", "n")
                    value = int(current.value or 0) if current else 0
                    time.sleep(0.001)  # invite the other thread in between read and write
                    store.put_lookup(_lookup("counter", "n", str(value + 1)))

        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(bump), pool.submit(bump)]:
                future.result(timeout=120)

        final = store.get_lookup("counter", "n")
        assert final is not None
        assert final.value == str(2 * rounds)

    def test_iter_view_samples_when_consumer_writes_meanwhile_finishes(
        self, store: SQLiteStore
    ) -> None:
        """Iteration holds no transaction between pages, so the consumer may write."""
        store.save_view_samples(_sample(_isrc(n), DAY0) for n in range(2500))

        seen = 0
        for sample in store.iter_view_samples():
            seen += 1
            if seen % 1000 == 0:
                store.put_lookup(_lookup("progress", str(seen), sample.isrc))

        assert seen == 2500
        assert _counts(store)["lookups"] == 2


def _index_fields(
    indexes: dict[str, list[tuple[str, list[tuple[str, Any]]]]],
) -> dict[str, list[list[str]]]:
    """Only the indexed fields of each collection's indexes, in order."""
    return {name: [[f for f, _ in keys] for _, keys in found] for name, found in indexes.items()}


class TestMongoDocuments:
    """What only the MongoDB store promises: its indexes, its documents, its nested units."""

    @pytest.fixture(name="mongo")
    def _mongo(self, mongo_url: str) -> Iterator[MongoStore]:
        store = MongoStore.from_url(mongo_url)
        store.init()
        yield store
        store.close()

    @pytest.fixture(name="raw_db")
    def _raw_db(self, mongo_url: str) -> Iterator[Database[dict[str, Any]]]:
        client: MongoClient[dict[str, Any]] = MongoClient(mongo_url, tz_aware=True)
        yield client.get_database()
        client.close()

    def test_init_when_run_twice_creates_a_unique_index_on_every_natural_key(
        self, mongo: MongoStore, raw_db: Database[dict[str, Any]]
    ) -> None:
        """Each collection's natural key (EXPORT_KEYS) has a unique index, created once."""
        mongo.init()

        for name, keys in EXPORT_KEYS.items():
            indexes = list(raw_db[name].list_indexes())
            unique = [tuple(index["key"]) for index in indexes if index.get("unique")]
            assert unique == [keys], name

    def test_init_when_run_creates_the_secondary_indexes(
        self, mongo: MongoStore, raw_db: Database[dict[str, Any]], mongo_server: MongoServer
    ) -> None:
        """The non-unique indexes the queries sort and filter by exist, runs' newest first.

        nx-27017 keeps neither an index's name nor its direction, so there only the fields
        are compared; a real MongoDB server also shows the names and directions.
        """
        found = {
            name: [
                (index["name"], list(index["key"].items()))
                for index in raw_db[name].list_indexes()
                if not index.get("unique") and index["name"] != "_id_"
            ]
            for name in ("runs", "view_counts", "tracks", "leases")
        }
        expected = {
            "runs": [("started_at", [("started_at", -1)])],
            "view_counts": [("source_day", [("source", 1), ("day", 1)])],
            "tracks": [],
            "leases": [],
        }

        if mongo_server.is_nx:
            assert _index_fields(found) == _index_fields(expected)
        else:
            assert found == expected

    def test_records_when_saved_are_documents_with_native_dates_and_no_arrays_grow(
        self, mongo: MongoStore, raw_db: Database[dict[str, Any]]
    ) -> None:
        """Sort fields are BSON dates; a re-run replaces a sample instead of adding one."""
        mongo.save_run(_run("r", T0))
        mongo.save_run(_run("r", T0, status=RunStatus.PARTIAL))
        mongo.save_view_samples([_sample(_isrc(1), DAY0)])
        mongo.save_view_samples([_sample(_isrc(1), DAY0, total=5)])

        run = raw_db["runs"].find_one({"run_id": "r"})
        samples = list(raw_db["view_counts"].find({}))
        assert run is not None
        assert run["started_at"] == T0
        assert isinstance(run["started_at"], datetime)
        assert run["status"] == "partial"
        assert len(samples) == 1
        assert samples[0]["doc"]["total"] == 5
        assert isinstance(samples[0]["timestamp"], datetime)

    def test_unit_when_inner_error_is_caught_rolls_back_the_whole_unit(
        self, mongo: MongoStore
    ) -> None:
        """No savepoints in MongoDB: an inner failure dooms the outer unit, loudly."""

        def failing_inner_unit() -> None:
            with mongo.unit():
                mongo.put_lookup(_lookup("k", "inner", "y"))
                raise _AbortError

        def outer_unit_catching_the_inner_error() -> None:
            with mongo.unit():
                mongo.put_lookup(_lookup("k", "outer", "x"))
                with suppress(_AbortError):
                    failing_inner_unit()

        with pytest.raises(StoreError, match="nested unit failed") as caught:
            outer_unit_catching_the_inner_error()

        assert caught.value.hint is not None
        assert mongo.get_lookup("k", "outer") is None
        assert mongo.get_lookup("k", "inner") is None
