"""`tunemeld.frames`: stored playlists and histories as DataFrames, and the rising tracks."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from tunemeld import frames
from tunemeld.etl.views import build_views
from tunemeld.models import (
    AGGREGATE,
    Genre,
    Playlist,
    Ranking,
    Service,
    Track,
    TrackRank,
    ViewSample,
)
from tunemeld.models.genre import ViewSource
from tunemeld.services.store import SQLiteStore

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
DAY0 = date(2026, 11, 16)
FIRST, SECOND, THIRD = "USAAA2600001", "USAAA2600002", "USAAA2600003"


def _sample(
    isrc: str, day: date, total: int, source: ViewSource = ViewSource.SPOTIFY
) -> ViewSample:
    return ViewSample(
        isrc=isrc,
        source=source,
        day=day,
        timestamp=datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc),
        total=total,
        delta=0,
        run_id="r",
    )


@pytest.fixture(name="filled")
def _filled(store: SQLiteStore) -> SQLiteStore:
    """Three aggregate tracks; FIRST gains 70 in a week, SECOND 700, THIRD has 3 days only."""
    store.upsert_tracks(
        Track(isrc=isrc, title=f"Song {n}", artist=f"Artist {n}", updated_at=NOW)
        for n, isrc in enumerate((FIRST, SECOND, THIRD), start=1)
    )
    store.save_playlist(
        Playlist(
            genre=Genre("pop"),
            service_name=AGGREGATE,
            tracks=[
                TrackRank(
                    isrc=FIRST,
                    rank=1,
                    sources={Service.APPLE_MUSIC: 2, Service.SPOTIFY: 5},
                    raw_aggregate_rank=2,
                    aggregate_service_name=Service.APPLE_MUSIC,
                ),
                TrackRank(
                    isrc=SECOND,
                    rank=2,
                    sources={Service.SOUNDCLOUD: 3, Service.SPOTIFY: 1},
                    raw_aggregate_rank=3,
                    aggregate_service_name=Service.SOUNDCLOUD,
                ),
                TrackRank(isrc=THIRD, rank=3, sources={Service.SPOTIFY: 9}),
            ],
            updated_at=NOW,
            run_id="r",
        )
    )
    samples = []
    for n in range(8):  # DAY0 .. DAY0 + 7
        day = DAY0 + timedelta(days=n)
        samples.append(_sample(FIRST, day, 1000 + 10 * n))
        samples.append(_sample(SECOND, day, 5000 + 100 * n))
        samples.append(_sample(FIRST, day, 300 + n, ViewSource.YOUTUBE))
    samples += [_sample(THIRD, DAY0 + timedelta(days=n), 50 + n) for n in range(5, 8)]
    store.save_view_samples(samples)
    return store


class TestPlaylist:
    def test_aggregate_rows_carry_each_services_rank(self, filled: SQLiteStore) -> None:
        frame = frames.playlist(filled, "pop")
        assert list(frame.index) == [1, 2, 3]
        first = frame.loc[1]
        assert first["isrc"] == FIRST
        assert first["title"] == "Song 1"
        assert first["AppleMusic_rank"] == 2
        assert first["Spotify_rank"] == 5
        assert first["SoundCloud_rank"] is pd.NA
        assert first["aggregate_service_name"] == "AppleMusic"

    def test_before_any_run_the_frame_is_empty_with_its_columns(self, store: SQLiteStore) -> None:
        frame = frames.playlist(store, Genre("rap"))
        assert frame.empty
        assert "Spotify_rank" in frame.columns

    def test_aggregates_add_a_genre_column(self, filled: SQLiteStore) -> None:
        frame = frames.aggregates(filled, ["pop", "rap"])
        assert list(frame.columns[:2]) == ["genre", "rank"]
        assert list(frame["genre"]) == ["pop", "pop", "pop"]


class TestHistory:
    def test_history_lists_every_sample_oldest_first(self, filled: SQLiteStore) -> None:
        frame = frames.track_history(filled, FIRST)
        assert len(frame) == 16
        wide = frame.pivot(index="day", columns="source", values="total")
        assert list(wide["Spotify"]) == [1000 + 10 * n for n in range(8)]
        assert list(wide["YouTube"]) == [300 + n for n in range(8)]

    def test_one_source_only(self, filled: SQLiteStore) -> None:
        frame = frames.track_history(filled, FIRST, ViewSource.YOUTUBE)
        assert set(frame["source"]) == {"YouTube"}


class TestRising:
    def test_rows_are_the_stored_rising_view_biggest_total_gain_first(
        self, filled: SQLiteStore
    ) -> None:
        """The week ends at the playlist's run (NOW, day 8 noon): its first sample inside is
        day 2's. FIRST gains 1070 - 1020 plays and 307 - 302 views, SECOND 5700 - 5200 plays,
        THIRD (days 5-7 only) 57 - 55 plays."""
        filled.save_views(build_views(filled, Genre("pop"), now=NOW))

        frame = frames.rising(filled, "pop")

        assert list(frame["isrc"]) == [SECOND, FIRST, THIRD]
        assert list(frame["gain"]) == [500, 55, 2]
        assert list(frame["spotify_gain"]) == [500, 50, 2]
        assert list(frame["youtube_gain"].isna()) == [True, False, True]
        assert frame.iloc[1]["youtube_gain"] == 5
        assert list(frame["movement"]) == ["new", "new", "new"]

    def test_limit_keeps_the_top_rows_and_no_view_is_an_empty_frame(
        self, filled: SQLiteStore
    ) -> None:
        assert frames.rising(filled, "pop").empty
        filled.save_views(build_views(filled, Genre("pop"), now=NOW))
        assert list(frames.rising(filled, "pop", limit=1)["isrc"]) == [SECOND]


class TestRankings:
    def test_every_day_of_the_playlist_oldest_first(self, store: SQLiteStore) -> None:
        day1 = DAY0 + timedelta(days=1)
        for day, order in ((day1, [SECOND, FIRST]), (DAY0, [FIRST])):
            store.save_rankings(
                Genre("pop"),
                AGGREGATE,
                day,
                [
                    Ranking(
                        genre=Genre("pop"),
                        playlist=AGGREGATE,
                        day=day,
                        isrc=isrc,
                        rank=rank,
                        run_id="r",
                        recorded_at=NOW,
                    )
                    for rank, isrc in enumerate(order, start=1)
                ],
            )

        frame = frames.rankings(store, "pop")

        assert list(frame["isrc"]) == [FIRST, SECOND, FIRST]
        assert list(frame["rank"]) == [1, 1, 2]
        assert list(frame["day"]) == [pd.Timestamp(DAY0), pd.Timestamp(day1), pd.Timestamp(day1)]


def test_import_tunemeld_does_not_import_pandas() -> None:
    """Only `tunemeld.frames` needs pandas; the library and the CLI load without it."""
    code = "import sys, tunemeld, tunemeld.cli, tunemeld.api; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
