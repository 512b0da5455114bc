"""Stage 1, extract: one snapshot per (service, genre), written only when both fetches worked."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from tests.unit.etl.conftest import NOW, MakeContext
from tests.unit.services.fake_http import FakeAdapter, Reply, fixture_json, fixture_text
from tests.unit.services.providers.test_spotify import make_client
from tunemeld.etl.extract import extract_playlist
from tunemeld.exceptions import ProviderPayloadError, ProviderUnavailable
from tunemeld.models import Genre, Service
from tunemeld.services.store import SQLiteStore

POP = Genre("pop")


def _spotify(playlist: list[Reply], page: Reply) -> FakeAdapter:
    """Spotify answering the playlist pages in turn (the last repeats) and the public page."""

    def answer(request: requests.PreparedRequest) -> Reply:
        if urlsplit(request.url or "").netloc == "open.spotify.com":
            return page
        return playlist.pop(0) if len(playlist) > 1 else playlist[0]

    return FakeAdapter(handler=answer)


def _pages() -> list[Reply]:
    return [
        Reply(fixture_json("spotify", "playlist_tracks_page1")),
        Reply(fixture_json("spotify", "playlist_tracks_page2")),
    ]


def _empty_page() -> Reply:
    page = fixture_json("spotify", "playlist_tracks_page2")
    assert isinstance(page, dict)
    return Reply({**page, "items": [], "offset": 0, "total": 0, "previous": None})


class TestExtractPlaylist:
    """extract_playlist fetches the tracks, then the header, then stores one raw snapshot."""

    @pytest.mark.parametrize("service", list(Service))
    def test_extract_when_both_fetches_succeed_stores_one_snapshot_of_this_run(
        self, make_context: MakeContext, store: SQLiteStore, service: Service
    ) -> None:
        """The snapshot holds what was fetched, ranked 1..n, stamped with the run and its time."""
        with make_context(run_id="run-7") as ctx:
            counts = extract_playlist(ctx, service, POP)
        raw = store.latest_raw_playlist(service, POP)
        assert raw is not None
        assert counts == {"tracks": len(raw.tracks)}
        assert counts["tracks"] > 0
        assert [t.rank for t in raw.tracks] == list(range(1, counts["tracks"] + 1))
        assert {t.service for t in raw.tracks} == {service}
        assert (raw.run_id, raw.fetched_at) == ("run-7", NOW)
        assert (raw.meta.service, raw.meta.genre) == (service, POP)
        assert raw.meta.name

    def test_extract_when_spotify_answers_the_fixtures_stores_their_tracks(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """Both documented pages are read; the header comes from the public page's og: tags."""
        adapter = _spotify(_pages(), Reply(fixture_text("spotify", "playlist_page.html")))
        with make_context(spotify=make_client(adapter)) as ctx:
            counts = extract_playlist(ctx, Service.SPOTIFY, POP)
        raw = store.latest_raw_playlist(Service.SPOTIFY, POP)
        assert raw is not None
        assert counts == {"tracks": len(raw.tracks)}
        assert raw.tracks[0].isrc == "USUM72401994"
        assert raw.tracks[0].title == "Espresso"
        assert adapter.paths()[-1] == "open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"

    def test_extract_when_the_playlist_is_empty_keeps_the_last_snapshot(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """An emptied playlist is a payload error naming the fix; the good snapshot stays."""
        good = _spotify(_pages(), Reply(fixture_text("spotify", "playlist_page.html")))
        with make_context(run_id="good", spotify=make_client(good)) as ctx:
            extract_playlist(ctx, Service.SPOTIFY, POP)
        empty = _spotify([_empty_page()], Reply(fixture_text("spotify", "playlist_page.html")))
        with (
            make_context(run_id="empty", spotify=make_client(empty)) as ctx,
            pytest.raises(ProviderPayloadError, match="empty pop playlist") as info,
        ):
            extract_playlist(ctx, Service.SPOTIFY, POP)
        assert info.value.hint is not None
        assert "catalog" in info.value.hint
        raw = store.latest_raw_playlist(Service.SPOTIFY, POP)
        assert raw is not None
        assert raw.run_id == "good"
        assert "open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M" not in empty.paths()

    def test_extract_when_the_header_fetch_fails_writes_nothing(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """Tracks without their header are not a snapshot: a 503 page leaves the store as it was."""
        adapter = _spotify(_pages(), Reply("unavailable", 503))
        with (
            make_context(spotify=make_client(adapter)) as ctx,
            pytest.raises(ProviderUnavailable),
        ):
            extract_playlist(ctx, Service.SPOTIFY, POP)
        assert store.latest_raw_playlist(Service.SPOTIFY, POP) is None
        assert "open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M" in adapter.paths()
