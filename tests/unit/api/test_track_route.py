"""`GET /track/<isrc>`: read from the store on request, cached until the ETL drops it, 404 for
what is no known recording, never echoing long input."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, cast

import pytest

from tests.unit.api.test_app import WsgiClient, assert_error_envelope
from tunemeld.api import create_app
from tunemeld.config import Settings
from tunemeld.models import (
    AGGREGATE,
    Genre,
    Ranking,
    Service,
    ServiceTrack,
    Track,
    ViewSample,
    ViewSource,
)
from tunemeld.services.cache import MemoryCache, track_cache_key
from tunemeld.services.store import SQLiteStore, Store

ISRC = "USAAA2600001"
NOON = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)
DAY1, DAY2 = date(2026, 11, 1), date(2026, 11, 2)


class CountingStore:
    """A real store whose track reads are counted."""

    def __init__(self, inner: SQLiteStore) -> None:
        self.inner = inner
        self.track_reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def track_rankings(self, isrc: str) -> list[Ranking]:
        self.track_reads += 1
        return self.inner.track_rankings(isrc)


def _rank(genre: str, playlist: str, day: date, rank: int) -> Ranking:
    return Ranking(
        genre=Genre(genre),
        playlist=playlist,
        day=day,
        isrc=ISRC,
        rank=rank,
        run_id="r",
        recorded_at=NOON,
    )


@pytest.fixture(name="counting")
def _counting(store: SQLiteStore) -> CountingStore:
    store.upsert_tracks(
        [
            Track(
                isrc=ISRC,
                title="Song",
                artist="Artist",
                services={Service.SPOTIFY: ServiceTrack(title="Song", artist="Artist", url="u")},
                youtube_id="vid",
                updated_at=NOON,
            )
        ]
    )
    spotify = Service.SPOTIFY.value
    for genre, playlist, day, rank in (
        ("rap", AGGREGATE, DAY2, 1),
        ("pop", spotify, DAY2, 2),
        ("pop", AGGREGATE, DAY2, 3),
        ("pop", AGGREGATE, DAY1, 5),
    ):
        store.save_rankings(Genre(genre), playlist, day, [_rank(genre, playlist, day, rank)])
    store.save_view_samples(
        [
            ViewSample(
                isrc=ISRC,
                source=ViewSource.SPOTIFY,
                day=DAY2,
                timestamp=NOON,
                total=100,
                delta=7,
                run_id="r",
            )
        ]
    )
    return CountingStore(store)


@pytest.fixture(name="cache")
def _cache() -> MemoryCache:
    return MemoryCache(max_entries=64, ttl_seconds=60)


@pytest.fixture(name="client")
def _client(settings: Settings, counting: CountingStore, cache: MemoryCache) -> WsgiClient:
    return WsgiClient(create_app(settings, cast(Store, counting), cache))


class TestTrackRoute:
    """What `/track/<isrc>` answers and how it is cached."""

    def test_known_isrc_when_requested_lists_playlists_in_catalog_order_then_aggregate_first(
        self, client: WsgiClient
    ) -> None:
        """pop before rap (catalog order); in pop the Aggregate, then services; ranks by day."""
        reply = client.get(f"/track/{ISRC.lower()}")
        assert reply.status == 200
        data = reply.json()["data"]
        assert (data["isrc"], data["track_name"], data["links"]["Spotify"]) == (ISRC, "Song", "u")
        assert data["links"]["AppleMusic"] is None
        assert data["youtube_url"] == "https://www.youtube.com/watch?v=vid"
        assert [(p["genre_name"], p["service_name"], p["ranks"]) for p in data["playlists"]] == [
            ("pop", AGGREGATE, [["2026-11-01", 5], ["2026-11-02", 3]]),
            ("pop", "Spotify", [["2026-11-02", 2]]),
            ("rap", AGGREGATE, [["2026-11-02", 1]]),
        ]
        pop = data["playlists"][0]
        assert (pop["peak_rank"], pop["days_on_chart"], pop["first_seen"]) == (3, 2, "2026-11-01")
        assert data["view_counts"] == {
            "Spotify": [[int(NOON.timestamp() * 1000), 100, 7]],
            "YouTube": [],
        }

    def test_second_request_when_cached_reads_nothing_and_revalidates_with_304(
        self, client: WsgiClient, counting: CountingStore, cache: MemoryCache
    ) -> None:
        """The answer is cached under track:<isrc>; dropping the key (what a run does) rereads."""
        first = client.get(f"/track/{ISRC}")
        second = client.get(f"/track/{ISRC}", headers={"If-None-Match": first.headers["ETag"]})
        assert (second.status, counting.track_reads) == (304, 1)

        cache.delete(track_cache_key(ISRC))
        assert client.get(f"/track/{ISRC}").body == first.body
        assert counting.track_reads == 2

    @pytest.mark.parametrize("path", ["/track/USAAA2699999", "/track/XX", "/track/" + "Q" * 80])
    def test_unknown_or_malformed_isrc_when_requested_answers_404_without_echoing_it(
        self, client: WsgiClient, path: str
    ) -> None:
        body = assert_error_envelope(client.get(path), 404)
        assert "Q" * 80 not in body["message"]
        assert "XX" not in body["message"]
        assert ("USAAA2699999" in body["message"]) == path.endswith("USAAA2699999")
