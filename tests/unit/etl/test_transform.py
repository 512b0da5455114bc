"""Stage 2, transform: listings resolved to ISRCs, each search made once, gaps bounded."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.unit.etl.conftest import NOW, MakeContext
from tests.unit.services.fake_http import FakeAdapter, Reply, fixture_json
from tests.unit.services.providers.test_spotify import make_client, token
from tunemeld.etl.transform import normalize_query, transform_playlist
from tunemeld.exceptions import LookupsDeferred, NotFound, ProviderUnavailable
from tunemeld.models import Genre, Playlist, PlaylistMeta, RawPlaylist, RawTrack, Service, TrackRank
from tunemeld.services.store import SQLiteStore

POP = Genre("pop")
SEARCH = "api.spotify.com/v1/search"
ESPRESSO = ("USUM72401994", "2qSkIjg1o9h3YT9RAgYN75")
"""The ISRC and Spotify id of the track tests/fixtures/spotify/search.json finds."""


def _listing(service: Service, rank: int, title: str, isrc: str | None = None) -> RawTrack:
    return RawTrack(
        service=service,
        rank=rank,
        title=title,
        artist="Artist",
        isrc=isrc,
        url=f"https://example.test/{service.value}/{rank}",
        service_id=f"{service.value}-{rank}",
    )


def _snapshot(store: SQLiteStore, service: Service, tracks: list[RawTrack]) -> None:
    meta = PlaylistMeta(
        service=service, genre=POP, playlist_id="p", name="A playlist", url="https://example.test"
    )
    raw = RawPlaylist(
        service=service, genre=POP, meta=meta, tracks=tracks, fetched_at=NOW, run_id="extract"
    )
    store.save_raw_playlist(raw, keep=7)


def _spotify_search(answer: Callable[[str], Reply]) -> FakeAdapter:
    """Spotify whose token always works and whose search answers `answer(q)`."""

    def handler(request: requests.PreparedRequest) -> Reply:
        parts = urlsplit(request.url or "")
        if f"{parts.netloc}{parts.path}" != SEARCH:
            return token()
        return answer(parse_qs(parts.query)["q"][0])

    return FakeAdapter(handler=handler)


def _searches(adapter: FakeAdapter) -> list[str]:
    return [path for path in adapter.paths() if path == SEARCH]


def _ranks(store: SQLiteStore, service: Service) -> list[tuple[str, int]]:
    playlist = store.get_playlist(POP, service.value)
    assert playlist is not None
    return [(rank.isrc, rank.rank) for rank in playlist.tracks]


FOUND = Reply(fixture_json("spotify", "search"))
MISSING = Reply(fixture_json("spotify", "search_empty"))
SPENT = Reply(fixture_json("spotify", "search_quota_exceeded"), 429)
BROKEN = Reply({"error": {"status": 503, "message": "Service unavailable"}}, 503)


class TestNormalizeQuery:
    """The lookup key of a title/artist search."""

    def test_normalize_query_when_case_and_spaces_differ_gives_one_key(self) -> None:
        """Case and runs of white space do not make a second search."""
        assert normalize_query("Die  With A Smile", "Lady Gaga") == normalize_query(
            "die with a smile ", " LADY   GAGA"
        )

    @pytest.mark.xfail(
        strict=True,
        reason="known bug: the \\x1f separator is white space to str.split(), so the boundary "
        "is lost and the two searches share one lookup key (fixing it changes stored keys)",
    )
    def test_normalize_query_when_title_and_artist_swap_parts_gives_two_keys(self) -> None:
        """The title/artist boundary is kept, so "A B" + "C" is not "A" + "B C"."""
        assert normalize_query("A B", "C") != normalize_query("A", "B C")


class TestTransformPlaylist:
    """transform_playlist turns the newest snapshot into tracks and the service's ranking."""

    def test_transform_when_spotify_lists_isrcs_stores_the_ranking_without_searching(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """Spotify's own ISRCs and ids are used as they are, in rank order."""
        listings = [
            _listing(Service.SPOTIFY, 2, "Two", "USAAA2500002"),
            _listing(Service.SPOTIFY, 1, "One", "USAAA2500001"),
            _listing(Service.SPOTIFY, 3, "Three", "USAAA2500003"),
        ]
        _snapshot(store, Service.SPOTIFY, listings)
        adapter = FakeAdapter()  # any request fails the test
        with make_context(run_id="run-2", spotify=make_client(adapter)) as ctx:
            counts = transform_playlist(ctx, Service.SPOTIFY, POP)
        assert counts == {"tracks": 3, "unresolved": 0, "lookup_failures": 0, "deferred": 0}
        assert adapter.requests == []
        assert _ranks(store, Service.SPOTIFY) == [
            ("USAAA2500001", 1),
            ("USAAA2500002", 2),
            ("USAAA2500003", 3),
        ]
        playlist = store.get_playlist(POP, Service.SPOTIFY.value)
        assert playlist is not None
        assert playlist.run_id == "run-2"
        assert playlist.tracks[0].sources == {Service.SPOTIFY: 1}
        track = store.get_tracks(["USAAA2500002"])["USAAA2500002"]
        assert track.spotify_id == "Spotify-2"
        assert track.services[Service.SPOTIFY].url == "https://example.test/Spotify/2"

    def test_transform_when_one_recording_is_listed_twice_keeps_its_best_rank(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """A repeat listing adds no second entry; the ranks keep their gap."""
        listings = [
            _listing(Service.SPOTIFY, 1, "One", "USAAA2500001"),
            _listing(Service.SPOTIFY, 2, "Two", "USAAA2500002"),
            _listing(Service.SPOTIFY, 3, "One again", "USAAA2500001"),
        ]
        _snapshot(store, Service.SPOTIFY, listings)
        with make_context(spotify=make_client(FakeAdapter())) as ctx:
            counts = transform_playlist(ctx, Service.SPOTIFY, POP)
        assert counts["tracks"] == 2
        assert _ranks(store, Service.SPOTIFY) == [("USAAA2500001", 1), ("USAAA2500002", 2)]

    def test_transform_when_no_snapshot_exists_says_to_extract_first(
        self, make_context: MakeContext
    ) -> None:
        """NotFound, with the command that makes the snapshot."""
        with make_context() as ctx, pytest.raises(NotFound) as info:
            transform_playlist(ctx, Service.APPLE_MUSIC, POP)
        assert info.value.hint is not None
        assert "--stage extract --service AppleMusic --genre pop" in info.value.hint

    def test_transform_when_apple_music_lists_a_title_finds_it_once_across_runs(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """Apple Music has no ISRCs: one Spotify search, remembered for the next run."""
        _snapshot(store, Service.APPLE_MUSIC, [_listing(Service.APPLE_MUSIC, 1, "Espresso")])
        first = _spotify_search(lambda q: FOUND)
        with make_context(run_id="day-1", spotify=make_client(first)) as ctx:
            counts = transform_playlist(ctx, Service.APPLE_MUSIC, POP)
        assert counts == {"tracks": 1, "unresolved": 0, "lookup_failures": 0, "deferred": 0}
        assert len(_searches(first)) == 1
        assert _ranks(store, Service.APPLE_MUSIC) == [(ESPRESSO[0], 1)]
        assert store.get_tracks([ESPRESSO[0]])[ESPRESSO[0]].spotify_id == ESPRESSO[1]

        second = FakeAdapter()  # the next run asks nobody
        with make_context(run_id="day-2", spotify=make_client(second)) as ctx:
            again = transform_playlist(ctx, Service.APPLE_MUSIC, POP)
        assert again == counts
        assert second.requests == []
        assert _ranks(store, Service.APPLE_MUSIC) == [(ESPRESSO[0], 1)]

    def test_transform_when_a_search_finds_nothing_leaves_the_track_out_and_remembers(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """A miss is unresolved (not a failure) and is not searched again in the next run."""
        _snapshot(store, Service.APPLE_MUSIC, [_listing(Service.APPLE_MUSIC, 1, "No Such Song")])
        first = _spotify_search(lambda q: MISSING)
        with make_context(spotify=make_client(first)) as ctx:
            counts = transform_playlist(ctx, Service.APPLE_MUSIC, POP)
        assert counts == {"tracks": 0, "unresolved": 1, "lookup_failures": 0, "deferred": 0}
        assert _ranks(store, Service.APPLE_MUSIC) == []
        second = FakeAdapter()
        with make_context(run_id="run-2", spotify=make_client(second)) as ctx:
            assert transform_playlist(ctx, Service.APPLE_MUSIC, POP)["unresolved"] == 1
        assert second.requests == []

    def test_transform_when_the_search_quota_is_spent_keeps_the_last_good_playlist(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """Every lookup deferred: LookupsDeferred naming the bucket; nothing is overwritten."""
        last_good = Playlist(
            genre=POP,
            service_name=Service.APPLE_MUSIC.value,
            tracks=[TrackRank(isrc="USAAA2500009", rank=1, sources={Service.APPLE_MUSIC: 1})],
            updated_at=NOW,
            run_id="yesterday",
        )
        store.save_playlist(last_good)
        titles = ["First", "Second", "Third"]
        _snapshot(
            store,
            Service.APPLE_MUSIC,
            [_listing(Service.APPLE_MUSIC, n, t) for n, t in enumerate(titles, 1)],
        )
        with (
            make_context(spotify=make_client(_spotify_search(lambda q: SPENT))) as ctx,
            pytest.raises(LookupsDeferred, match="3 of 3") as info,
        ):
            transform_playlist(ctx, Service.APPLE_MUSIC, POP)
        assert info.value.deferred == 3
        assert info.value.bucket in (info.value.hint or "").lower()
        assert store.get_playlist(POP, Service.APPLE_MUSIC.value) == last_good

    def test_transform_when_searches_keep_failing_keeps_the_last_good_playlist(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """More than a fifth of the searches failed: ProviderUnavailable, nothing written."""
        _snapshot(
            store,
            Service.APPLE_MUSIC,
            [_listing(Service.APPLE_MUSIC, n, f"Song {n}") for n in (1, 2, 3, 4)],
        )
        with (
            make_context(spotify=make_client(_spotify_search(lambda q: BROKEN))) as ctx,
            pytest.raises(ProviderUnavailable, match="4 of 4 AppleMusic pop track searches failed"),
        ):
            transform_playlist(ctx, Service.APPLE_MUSIC, POP)
        assert store.get_playlist(POP, Service.APPLE_MUSIC.value) is None

    def test_transform_when_few_searches_fail_stores_the_rest(
        self, make_context: MakeContext, store: SQLiteStore
    ) -> None:
        """One failed search in six is tolerated: listed ISRCs stay, the next run retries it."""
        listings = [
            _listing(Service.SOUNDCLOUD, n, f"Song {n}", f"USAAA250000{n}") for n in range(1, 6)
        ]
        listings.append(_listing(Service.SOUNDCLOUD, 6, "No ISRC"))
        _snapshot(store, Service.SOUNDCLOUD, listings)

        def answer(query: str) -> Reply:
            return FOUND if query.startswith("isrc:") else BROKEN

        adapter = _spotify_search(answer)
        with make_context(spotify=make_client(adapter)) as ctx:
            counts = transform_playlist(ctx, Service.SOUNDCLOUD, POP)
        assert counts == {"tracks": 5, "unresolved": 0, "lookup_failures": 1, "deferred": 0}
        assert _ranks(store, Service.SOUNDCLOUD) == [(f"USAAA250000{n}", n) for n in range(1, 6)]
