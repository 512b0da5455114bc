"""The precomputed views' contract rules, on a real SQLite store seeded by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tunemeld.etl.views import build_views
from tunemeld.models import (
    AGGREGATE,
    Genre,
    Playlist,
    ServiceTrack,
    Track,
    TrackRank,
    ViewSample,
    ViewSource,
)
from tunemeld.models.genre import Service
from tunemeld.models.view import GRAPH_DATA, PLAYLIST_DATA
from tunemeld.services.store import SQLiteStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
COUNTED = "USAAA2500001"
UNCOUNTED = "USAAA2500002"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _seed(store: SQLiteStore) -> None:
    tracks = [
        Track(
            isrc=isrc,
            title=f"Song {isrc[-1]}",
            artist="Artist",
            services={
                Service.SPOTIFY: ServiceTrack(
                    title="S", artist="A", url=f"https://open.spotify.com/track/{isrc}"
                ),
                Service.SOUNDCLOUD: ServiceTrack(
                    title="S", artist="A", url=f"https://soundcloud.com/a/{isrc}"
                ),
            },
            updated_at=NOW,
        )
        for isrc in (COUNTED, UNCOUNTED)
    ]
    store.upsert_tracks(tracks)
    ranks = [
        TrackRank(
            isrc=isrc,
            rank=rank,
            sources={Service.SOUNDCLOUD: rank, Service.SPOTIFY: rank + 4},
            raw_aggregate_rank=rank,
            aggregate_service_name=Service.SOUNDCLOUD,
        )
        for rank, isrc in ((1, COUNTED), (2, UNCOUNTED))
    ]
    store.save_playlist(
        Playlist(
            genre=Genre("pop"), service_name=AGGREGATE, tracks=ranks, updated_at=NOW, run_id="r"
        )
    )
    # Ten daily Spotify totals, days -9 .. 0: 1000, 1100, ..., 1900; no YouTube count at all.
    samples = [
        ViewSample(
            isrc=COUNTED,
            source=ViewSource.SPOTIFY,
            day=(NOW - timedelta(days=back)).date(),
            timestamp=NOW - timedelta(days=back),
            total=1000 + 100 * (9 - back),
            delta=0 if back == 9 else 100,
            run_id="r",
        )
        for back in range(9, -1, -1)
    ]
    store.save_view_samples(samples)


def _views(store: SQLiteStore) -> dict[str, Any]:
    _seed(store)
    return {doc.name: doc.data for doc in build_views(store, Genre("pop"), now=NOW)}


class TestAggregateRows:
    """`/playlist-data`: one document in a list; legacy counts 0 when unknown, ours null."""

    def test_data_is_a_list_of_one_aggregate_document(self, store: SQLiteStore) -> None:
        data = _views(store)[PLAYLIST_DATA.name]
        assert isinstance(data, list)
        [document] = data
        assert document["genre_name"] == "pop"
        assert document["service_name"] == "Aggregate"
        assert [row["rank"] for row in document["tracks"]] == [1, 2]

    def test_initial_is_the_first_count_inside_the_last_seven_days(
        self, store: SQLiteStore
    ) -> None:
        [document] = _views(store)[PLAYLIST_DATA.name]
        row = document["tracks"][0]
        spotify = row["view_count_data_json"]["Spotify"]
        # Day -7 is the first sample inside the window (>= NOW - 7 days): total 1200.
        assert spotify["initial_count_json"] == {
            "initial_timestamp": _ms(NOW - timedelta(days=7)),
            "initial_view_count": 1200,
        }
        assert spotify["current_count_json"] == {
            "current_timestamp": _ms(NOW),
            "current_view_count": 1900,
        }
        assert row["counts"]["Spotify"] == {"total": 1900, "weekly": 700, "timestamp": _ms(NOW)}

    def test_unknown_counts_are_zero_in_the_legacy_block_and_null_in_ours(
        self, store: SQLiteStore
    ) -> None:
        [document] = _views(store)[PLAYLIST_DATA.name]
        counted, uncounted = document["tracks"]
        zero = {
            "initial_count_json": {"initial_timestamp": None, "initial_view_count": 0},
            "current_count_json": {"current_timestamp": None, "current_view_count": 0},
        }
        assert counted["view_count_data_json"]["Youtube"] == zero
        assert uncounted["view_count_data_json"] == {"Spotify": zero, "Youtube": zero}
        unknown = {"total": None, "weekly": None, "timestamp": None}
        assert uncounted["counts"] == {"Spotify": unknown, "YouTube": unknown}

    def test_source_and_additional_sources_name_every_listing_service(
        self, store: SQLiteStore
    ) -> None:
        [document] = _views(store)[PLAYLIST_DATA.name]
        row = document["tracks"][0]
        assert row["source_name"] == "SoundCloud"
        assert row["track_url"] == f"https://soundcloud.com/a/{COUNTED}"
        assert row["additional_sources"] == {
            "SoundCloud": f"https://soundcloud.com/a/{COUNTED}",
            "Spotify": f"https://open.spotify.com/track/{COUNTED}",
        }


class TestGraphData:
    """`/graph-data`: Spotify, Youtube (legacy) and YouTube series always present."""

    def test_every_series_key_is_present_even_when_empty(self, store: SQLiteStore) -> None:
        counted, uncounted = _views(store)[GRAPH_DATA.name]
        assert uncounted["view_counts"] == {"Spotify": [], "Youtube": [], "YouTube": []}
        assert counted["view_counts"]["Youtube"] == []
        assert counted["view_counts"]["Spotify"][-1] == [_ms(NOW), 100]
        assert len(counted["view_counts"]["Spotify"]) == 10
