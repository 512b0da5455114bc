"""The full pipeline on the sample world into a real SQLite file, twice on consecutive dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from tests.catalog import GENRES
from tunemeld import etl
from tunemeld.api.answers import answer_for
from tunemeld.config import Settings
from tunemeld.etl.aggregate import aggregate_ranks
from tunemeld.etl.status import latest_unit_states
from tunemeld.exceptions import ProviderUnavailable
from tunemeld.models import (
    AGGREGATE,
    Genre,
    RunReport,
    RunStatus,
    Service,
    Stage,
    UnitStatus,
    ViewSource,
)
from tunemeld.models.view import GRAPH_DATA, HEADER_ART, PLAYLIST_DATA
from tunemeld.services.cache import MemoryCache, view_cache_key
from tunemeld.services.store import SQLiteStore

DAY1 = date(2026, 11, 24)
DAY2 = date(2026, 11, 25)

Days = tuple[Settings, RunReport, RunReport]


@pytest.fixture(name="db")
def _db(settings: Settings) -> Iterator[SQLiteStore]:
    store = SQLiteStore.from_url(settings.database.url)
    store.init()
    yield store
    store.close()


@pytest.fixture(scope="module", name="two_days")
def _two_days(tmp_path_factory: pytest.TempPathFactory) -> Days:
    """One store filled by a full run on DAY1 then DAY2 (shared: the runs are the slow part).

    The YouTube search bucket is raised so every track gets its lookup on DAY1 (the default
    100 a day is tested in test_simulator.py).
    """
    path = tmp_path_factory.mktemp("pipeline") / "tunemeld.db"
    settings = Settings(
        _env_file=None,
        env="testing",
        database={"url": f"sqlite:///{path}"},
        providers={
            "mode": "sample",
            "backoff_initial": 0.0,
            "backoff_max": 0.0,
            "buckets": {"youtube_search": {"limit": 10_000}},
        },
    )
    first = etl.run(settings, as_of=DAY1)
    second = etl.run(settings, as_of=DAY2)
    return settings, first, second


class TestFullRun:
    """What a full run leaves in the store."""

    def test_both_runs_end_ok_with_every_unit_ok(self, two_days: Days) -> None:
        _, first, second = two_days
        for report in (first, second):
            assert report.status is RunStatus.OK, [u.error for u in report.failed_units]
            assert len(report.units) == 4 * 3 * 2 + 4 * 2
            assert all(u.status is UnitStatus.OK for u in report.units)

    def test_store_holds_four_aggregates_of_at_least_15_and_twelve_service_playlists(
        self, two_days: Days
    ) -> None:
        settings, _, _ = two_days
        store = SQLiteStore.from_url(settings.database.url)
        try:
            for genre in GENRES:
                aggregate = store.get_playlist(genre, AGGREGATE)
                assert aggregate is not None
                assert len(aggregate.tracks) >= 15
                for service in Service:
                    playlist = store.get_playlist(genre, service.value)
                    assert playlist is not None
                    assert len(playlist.tracks) >= 40
        finally:
            store.close()

    def test_aggregate_equals_the_rule_recomputed_from_stored_playlists(
        self, two_days: Days
    ) -> None:
        settings, _, _ = two_days
        store = SQLiteStore.from_url(settings.database.url)
        try:
            for genre in GENRES:
                rankings = {}
                for service in Service:
                    playlist = store.get_playlist(genre, service.value)
                    assert playlist is not None
                    rankings[service] = {t.isrc: t.rank for t in playlist.tracks}
                stored = store.get_playlist(genre, AGGREGATE)
                assert stored is not None
                assert stored.tracks == aggregate_ranks(rankings)
        finally:
            store.close()

    def test_every_aggregate_track_has_a_sample_per_day_and_positive_next_day_deltas(
        self, two_days: Days
    ) -> None:
        settings, _, _ = two_days
        store = SQLiteStore.from_url(settings.database.url)
        try:
            for genre in GENRES:
                aggregate = store.get_playlist(genre, AGGREGATE)
                assert aggregate is not None
                history = store.view_history(aggregate.isrcs, ViewSource.SPOTIFY)
                for isrc in aggregate.isrcs:
                    samples = history.get(isrc, [])
                    assert samples, f"{isrc} has no Spotify sample"
                    by_day = {s.day: s for s in samples}
                    if DAY1 in by_day and DAY2 in by_day:
                        assert by_day[DAY2].delta > 0
                        assert by_day[DAY2].delta == by_day[DAY2].total - by_day[DAY1].total
                        assert by_day[DAY1].delta == 0
        finally:
            store.close()

    def test_graph_data_has_two_points_for_tracks_seen_both_days(self, two_days: Days) -> None:
        settings, _, _ = two_days
        store = SQLiteStore.from_url(settings.database.url)
        try:
            doc = store.get_view(Genre("pop"), GRAPH_DATA.name)
            assert doc is not None
            two_points = [row for row in doc.data if len(row["view_counts"]["Spotify"]) == 2]
            assert len(two_points) >= 10
            for row in two_points:
                (_, first), (_, second) = row["view_counts"]["Spotify"]
                assert first == 0
                assert second > 0
            header = store.get_view(Genre("pop"), HEADER_ART.name)
            assert header is not None
            assert set(header.data) == {"genre_name", *(s.value for s in Service)}
            playlist = store.get_view(Genre("pop"), PLAYLIST_DATA.name)
            assert playlist is not None
            [document] = playlist.data
            assert document["service_name"] == AGGREGATE
        finally:
            store.close()

    def test_run_records_report_calls_per_provider(self, two_days: Days) -> None:
        _, first, second = two_days
        assert set(first.calls) >= {"Spotify", "AppleMusic", "SoundCloud", "YouTube"}
        # Lookups persist: the next day searches far less than the first.
        assert second.calls["YouTube"].get("search", 0) < first.calls["YouTube"]["search"] / 2

    def test_run_records_keep_statuses_stage_times_and_lookup_cache_use(
        self, two_days: Days
    ) -> None:
        """The record holds what the summary shows: statuses, stage seconds, lookup hits."""
        _, first, second = two_days
        youtube = first.statuses["YouTube"]
        assert youtube["search"].get("200", 0) == first.calls["YouTube"]["search"]
        assert set(first.stage_seconds) == {"extract", "transform", "aggregate", "view_count"}
        assert all(seconds > 0 for seconds in first.stage_seconds.values())
        # The next day answers most searches from the stored lookups.
        assert second.cache["lookups"]["hits"] > first.cache["lookups"]["hits"]
        assert second.cache["lookups"]["misses"] < first.cache["lookups"]["misses"]

    def test_etl_status_lists_the_newest_result_of_every_unit(self, two_days: Days) -> None:
        settings, _, second = two_days
        store = SQLiteStore.from_url(settings.database.url)
        try:
            states = latest_unit_states(store)
        finally:
            store.close()
        assert len(states) == 4 * 3 * 2 + 4 * 2
        assert {s.run_id for s in states} == {second.run_id}


class TestPartialRuns:
    """Filters, idempotence and fault tolerance."""

    def test_rerunning_the_same_day_is_idempotent(
        self, settings: Settings, db: SQLiteStore
    ) -> None:
        etl.run(settings, genres=["rap"], as_of=DAY1, store=db)
        before = {s.name: s.count for s in db.status() if s.name not in ("runs", "raw_playlists")}
        etl.run(settings, genres=["rap"], as_of=DAY1, store=db)
        after = {s.name: s.count for s in db.status() if s.name not in ("runs", "raw_playlists")}
        assert before == after

    def test_a_run_on_the_clocks_own_day_stamps_its_data_with_the_clock(
        self, settings: Settings, db: SQLiteStore
    ) -> None:
        # A past day named as "today" by the clock: data is stamped with the clock's moment
        # (not the machine's), so transform finds the snapshot extract just saved.
        moment = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)
        report = etl.run(settings, genres=["rap"], as_of=DAY1, store=db, clock=lambda: moment)
        assert report.status is RunStatus.OK, [u.error for u in report.failed_units]
        raw = db.latest_raw_playlist(Service.SPOTIFY, Genre("rap"))
        assert raw is not None
        assert raw.fetched_at == moment

    def test_genre_and_service_filters_limit_the_units(
        self, settings: Settings, db: SQLiteStore
    ) -> None:
        report = etl.run(
            settings, stages=["extract"], genres=["pop"], services=["Spotify"], as_of=DAY1, store=db
        )
        assert [(u.stage, u.service, u.genre) for u in report.units] == [
            (Stage.EXTRACT, Service.SPOTIFY, Genre("pop"))
        ]
        assert db.latest_raw_playlist(Service.SPOTIFY, Genre("pop")) is not None
        assert db.latest_raw_playlist(Service.SPOTIFY, Genre("rap")) is None

    def test_dry_run_plans_calls_and_writes_nothing(
        self, settings: Settings, db: SQLiteStore
    ) -> None:
        report = etl.run(settings, dry_run=True, as_of=DAY1, store=db)
        assert report.ok
        assert report.status is RunStatus.DRY_RUN
        assert len(report.units) == 32
        assert all(u.planned_calls for u in report.units)
        assert all(s.count == 0 for s in db.status())

    def test_one_failing_playlist_does_not_stop_the_others_and_keeps_last_good_data(
        self, settings: Settings, db: SQLiteStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        etl.run(settings, genres=["pop"], as_of=DAY1, store=db)
        good = db.get_playlist(Genre("pop"), Service.APPLE_MUSIC.value)
        assert good is not None

        from tunemeld.services.providers.apple_music import AppleMusicClient

        def broken(self: object, entry: object) -> object:
            raise ProviderUnavailable(
                "Apple Music answered 503", service="AppleMusic", endpoint="playlist", status=503
            )

        monkeypatch.setattr(AppleMusicClient, "fetch_playlist", broken)
        report = etl.run(settings, genres=["pop"], as_of=DAY2, store=db)
        assert report.status is RunStatus.PARTIAL
        assert not report.ok
        failed = [(u.stage, u.service) for u in report.failed_units]
        assert failed == [(Stage.EXTRACT, Service.APPLE_MUSIC)]
        skipped = [u for u in report.units if u.status is UnitStatus.SKIPPED]
        assert [(u.stage, u.service) for u in skipped] == [(Stage.TRANSFORM, Service.APPLE_MUSIC)]
        assert db.get_playlist(Genre("pop"), Service.APPLE_MUSIC.value) == good
        aggregate = db.get_playlist(Genre("pop"), AGGREGATE)
        assert aggregate is not None
        assert aggregate.run_id == report.run_id
        assert len(aggregate.tracks) >= 15

    def test_view_count_replaces_the_genres_cached_answers(
        self, settings: Settings, db: SQLiteStore
    ) -> None:
        """A run re-warms the genres it changed with the new answer and leaves the others."""
        cache = MemoryCache()
        cache.set(view_cache_key(Genre("pop"), GRAPH_DATA.name), b"stale")
        cache.set(view_cache_key(Genre("rap"), GRAPH_DATA.name), b"other genre")
        etl.run(settings, genres=["pop"], as_of=DAY1, store=db, cache=cache)
        doc = db.get_view(Genre("pop"), GRAPH_DATA.name)
        assert doc is not None
        assert cache.get(view_cache_key(Genre("pop"), GRAPH_DATA.name)) == answer_for(doc).pack()
        assert cache.get(view_cache_key(Genre("rap"), GRAPH_DATA.name)) == b"other genre"

    def test_run_in_a_fresh_directory_creates_the_default_store(self, tmp_path: Path) -> None:
        settings = Settings(_env_file=None, providers={"mode": "sample"})
        report = etl.run(settings, stages=["extract"], genres=["country"], as_of=DAY1)
        assert report.ok
        assert Path(".tunemeld/tunemeld.db").is_file()
