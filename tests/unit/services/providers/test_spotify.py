"""Spotify client: playlist pages, page meta, search with a cached token, play counts."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.services.fake_http import FakeAdapter, Reply, fixture_json, fixture_text, make_http
from tunemeld.config import CatalogEntry, ProvidersSettings
from tunemeld.exceptions import ProviderAuthError, ProviderPayloadError, QuotaExhausted
from tunemeld.models import Genre, PlaylistMeta, RawTrack, Service
from tunemeld.services.http import CallLedger
from tunemeld.services.providers import SpotifyClient, SpotifyMatch, call_costs
from tunemeld.services.providers.spotify import (
    parse_play_count,
    parse_playlist_tracks,
    parse_search,
    parse_token,
    search_queries,
)

ENTRY = CatalogEntry(
    Service.SPOTIFY,
    Genre("pop"),
    "37i9dQZF1DXcBWIGoYBM5M",
    "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M",
)
PLAYLIST = "spotify23.p.rapidapi.com/playlist_tracks/"
TOKEN = "accounts.spotify.com/api/token"
SEARCH = "api.spotify.com/v1/search"
PLAY_COUNT = "spotify81.p.rapidapi.com/partner/track/count"
PAGE = "open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"

EXPECTED_TRACKS = [
    RawTrack(
        service=Service.SPOTIFY,
        rank=1,
        title="Espresso",
        artist="Sabrina Carpenter",
        isrc="USUM72401994",
        url="https://open.spotify.com/track/2qSkIjg1o9h3YT9RAgYN75",
        cover_url="https://i.scdn.co/image/ab67616d0000b273fd8d7a8d96871e791cb1f626",
        service_id="2qSkIjg1o9h3YT9RAgYN75",
    ),
    RawTrack(
        service=Service.SPOTIFY,
        rank=2,
        title="luther (with sza)",
        artist="Kendrick Lamar, SZA",
        isrc="USUG12409972",
        url="https://open.spotify.com/track/45J4avUb9Ni0bnETYaYFVJ",
        cover_url="https://i.scdn.co/image/ab67616d0000b273d9985092cd88bffd97653b58",
        service_id="45J4avUb9Ni0bnETYaYFVJ",
    ),
    RawTrack(
        service=Service.SPOTIFY,
        rank=3,
        title="Die With A Smile",
        artist="Lady Gaga, Bruno Mars",
        isrc=None,
        url="https://open.spotify.com/track/2plbrEY59IikOBgBGLjaoe",
        cover_url=None,
        service_id="2plbrEY59IikOBgBGLjaoe",
    ),
    RawTrack(
        service=Service.SPOTIFY,
        rank=4,
        title="APT.",
        artist="ROSÉ, Bruno Mars",
        isrc="USAT22409172",
        url="https://open.spotify.com/track/5vNRhkKd0yEAg8suGBpjeY",
        cover_url="https://i.scdn.co/image/ab67616d0000b27336032cb4acd9df050bc2e197",
        service_id="5vNRhkKd0yEAg8suGBpjeY",
    ),
    RawTrack(
        service=Service.SPOTIFY,
        rank=5,
        title="Good Luck, Babe!",
        artist="Chappell Roan",
        isrc=None,
        url="https://open.spotify.com/track/0WbMK4wrZ1wFSty9F7FCgu",
        cover_url="https://i.scdn.co/image/ab67616d0000b27391b4bc7c88d91ac1dcd3a3d2",
        service_id="0WbMK4wrZ1wFSty9F7FCgu",
    ),
]

ESPRESSO = SpotifyMatch(
    isrc="USUM72401994",
    track_id="2qSkIjg1o9h3YT9RAgYN75",
    url="https://open.spotify.com/track/2qSkIjg1o9h3YT9RAgYN75",
    title="Espresso",
    artist="Sabrina Carpenter",
    cover_url="https://i.scdn.co/image/ab67616d0000b273fd8d7a8d96871e791cb1f626",
)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_client(
    adapter: FakeAdapter, *, clock: Clock | None = None, ledger: CallLedger | None = None
) -> SpotifyClient:
    return SpotifyClient(
        make_http(adapter, "Spotify", ledger=ledger),
        rapidapi_key="rapid-key-123",
        client_id="client-id",
        client_secret="client-secret",
        costs=call_costs(ProvidersSettings()),
        clock=clock or Clock(),
    )


def token(value: str = "tok-1", expires_in: int = 3600) -> Reply:
    return Reply({"access_token": value, "token_type": "Bearer", "expires_in": expires_in})


def searched(adapter: FakeAdapter) -> list[str]:
    return [adapter.params(i)["q"] for i, p in enumerate(adapter.paths()) if p == SEARCH]


def bearer(adapter: FakeAdapter) -> list[str]:
    return [
        r.headers["Authorization"]
        for r, p in zip(adapter.requests, adapter.paths(), strict=True)
        if p == SEARCH
    ]


class TestFetchPlaylist:
    """spotify23 pages -> ranked RawTracks."""

    def test_fetch_playlist_parses_both_pages_into_ranked_tracks(self) -> None:
        adapter = FakeAdapter(
            Reply(fixture_json("spotify", "playlist_tracks_page1")),
            Reply(fixture_json("spotify", "playlist_tracks_page2")),
        )
        assert make_client(adapter).fetch_playlist(ENTRY) == EXPECTED_TRACKS

    def test_fetch_playlist_follows_next_with_offset_and_rapidapi_headers(self) -> None:
        adapter = FakeAdapter(
            Reply(fixture_json("spotify", "playlist_tracks_page1")),
            Reply(fixture_json("spotify", "playlist_tracks_page2")),
        )
        make_client(adapter).fetch_playlist(ENTRY)
        assert adapter.paths() == [PLAYLIST, PLAYLIST]
        assert adapter.params(0) == {"id": ENTRY.playlist_id, "offset": "0", "limit": "100"}
        assert adapter.params(1) == {"id": ENTRY.playlist_id, "offset": "100", "limit": "100"}
        headers = adapter.requests[0].headers
        assert headers["X-RapidAPI-Key"] == "rapid-key-123"
        assert headers["X-RapidAPI-Host"] == "spotify23.p.rapidapi.com"

    def test_fetch_playlist_when_next_never_ends_stops_after_ten_pages(self) -> None:
        adapter = FakeAdapter(
            handler=lambda _: Reply(fixture_json("spotify", "playlist_tracks_page1"))
        )
        tracks = make_client(adapter).fetch_playlist(ENTRY)
        assert len(adapter.requests) == 10
        assert [t.rank for t in tracks] == list(range(1, 31))

    def test_fetch_playlist_costs_one_quota_unit_per_page(self) -> None:
        ledger = CallLedger()
        adapter = FakeAdapter(
            Reply(fixture_json("spotify", "playlist_tracks_page1")),
            Reply(fixture_json("spotify", "playlist_tracks_page2")),
        )
        make_client(adapter, ledger=ledger).fetch_playlist(ENTRY)
        assert ledger.calls() == {"Spotify": {"playlist_tracks": 2}}
        assert ledger.quota_units() == {"Spotify": 2}


def _page1() -> dict[str, object]:
    page = fixture_json("spotify", "playlist_tracks_page1")
    assert isinstance(page, dict)
    return copy.deepcopy(page)


class TestParsePlaylistTracks:
    """Malformed pages raise ProviderPayloadError; tolerable gaps are skipped or read as None."""

    def test_parse_when_items_are_null_or_tracks_null_skips_them(self) -> None:
        page = {"items": [None, {"track": None}, {"track": {"id": None, "name": "local"}}]}
        assert parse_playlist_tracks(page) == ([], False)

    def test_parse_ranks_from_first_rank(self) -> None:
        tracks, has_next = parse_playlist_tracks(_page1(), first_rank=101)
        assert [t.rank for t in tracks] == [101, 102, 103]
        assert has_next is True

    def test_parse_when_optional_parts_are_missing_reads_them_as_none(self) -> None:
        page = {"items": [{"track": {"id": "abc", "name": "Song", "artists": []}}], "next": None}
        tracks, has_next = parse_playlist_tracks(page)
        assert tracks == [
            RawTrack(
                service=Service.SPOTIFY,
                rank=1,
                title="Song",
                artist="",
                url="https://open.spotify.com/track/abc",
                service_id="abc",
            )
        ]
        assert has_next is False

    @pytest.mark.parametrize(
        ("isrc", "expected"),
        [
            ("GBUM71029604", "GBUM71029604"),
            ("gb-um7-10-29604", "GBUM71029604"),
            ("123", None),
            ("", None),
            (None, None),
            (12, None),
        ],
    )
    def test_parse_when_isrc_is_odd_normalises_or_drops_it(
        self, isrc: object, expected: str | None
    ) -> None:
        page = {"items": [{"track": {"id": "a", "name": "S", "external_ids": {"isrc": isrc}}}]}
        assert parse_playlist_tracks(page)[0][0].isrc == expected

    @pytest.mark.parametrize(
        ("mutate", "where"),
        [
            (lambda p: p.pop("items"), "items"),
            (lambda p: p.update(items={"0": {}}), "items"),
            (lambda p: p["items"].insert(0, "track"), "items[0]"),
            (lambda p: p["items"][0]["track"].pop("name"), "items[0].track.name"),
            (lambda p: p["items"][0]["track"].update(name=""), "items[0].track.name"),
            (lambda p: p["items"][0]["track"].update(id=7), "items[0].track.id"),
            (lambda p: p["items"][0]["track"].update(artists="Sabrina"), "items[0].track.artists"),
            (lambda p: p["items"][0]["track"]["artists"].append(None), "artists[1]"),
            (
                lambda p: p["items"][0]["track"].update(external_ids=["USUM72401994"]),
                "external_ids",
            ),
            (lambda p: p["items"][0]["track"].update(album="Short n' Sweet"), "album"),
            (lambda p: p["items"][0]["track"]["album"].update(images=[None]), "images[0]"),
            (lambda p: p["items"][0]["track"].update(external_urls={"spotify": 1}), "spotify"),
            (lambda p: p.update(next=3), "next"),
        ],
        ids=lambda v: v if isinstance(v, str) else "",
    )
    def test_parse_when_shape_is_wrong_raises_payload_error(
        self, mutate: Callable[[Any], object], where: str
    ) -> None:
        page = _page1()
        mutate(page)
        with pytest.raises(ProviderPayloadError, match=r"Spotify playlist_tracks payload") as info:
            parse_playlist_tracks(page)
        assert where in str(info.value)
        assert (info.value.service, info.value.endpoint) == ("Spotify", "playlist_tracks")

    @pytest.mark.parametrize("payload", [None, [], "items", 3])
    def test_parse_when_response_is_not_an_object_raises_payload_error(
        self, payload: object
    ) -> None:
        with pytest.raises(ProviderPayloadError):
            parse_playlist_tracks(payload)


class TestFetchMeta:
    """The playlist page's og tags -> PlaylistMeta."""

    def test_fetch_meta_reads_og_tags_of_the_playlist_page(self) -> None:
        adapter = FakeAdapter(Reply(fixture_text("spotify", "playlist_page.html")))
        meta = make_client(adapter).fetch_meta(ENTRY)
        assert meta == PlaylistMeta(
            service=Service.SPOTIFY,
            genre=Genre("pop"),
            playlist_id="37i9dQZF1DXcBWIGoYBM5M",
            name="Today's Top Hits",
            url=ENTRY.url,
            cover_url="https://i.scdn.co/image/ab67706f00000002b0fe40a6e1692822f5a9d8f1",
            description="Playlist · Spotify · 50 items",
        )
        assert adapter.paths() == [PAGE]

    def test_fetch_meta_when_og_title_is_missing_raises_payload_error(self) -> None:
        page = '<html><head><meta property="og:image" content="x"></head><h1>T</h1></html>'
        adapter = FakeAdapter(Reply(page))
        with pytest.raises(ProviderPayloadError, match="og:title") as info:
            make_client(adapter).fetch_meta(ENTRY)
        assert info.value.endpoint == "playlist_page"

    def test_fetch_meta_when_page_has_a_broken_marked_section_still_reads_tags(self) -> None:
        page = '<![if !IE]> <![<p> <meta property="og:title" content="Pop">'
        assert make_client(FakeAdapter(Reply(page))).fetch_meta(ENTRY).name == "Pop"

    def test_fetch_meta_when_optional_tags_are_missing_reads_none(self) -> None:
        adapter = FakeAdapter(Reply('<meta property="og:title" content=" Pop  Hits ">'))
        meta = make_client(adapter).fetch_meta(ENTRY)
        assert (meta.name, meta.cover_url, meta.description) == ("Pop Hits", None, None)


class TestSearch:
    """Search with a cached client-credentials token, queries tried in order."""

    def test_search_track_returns_the_first_match(self) -> None:
        adapter = FakeAdapter(
            routes={TOKEN: [token()], SEARCH: [Reply(fixture_json("spotify", "search"))]}
        )
        assert make_client(adapter).search_track("Espresso", "Sabrina Carpenter") == ESPRESSO
        assert searched(adapter) == ["track:Espresso artist:Sabrina Carpenter"]
        assert adapter.params(-1) == {
            "q": "track:Espresso artist:Sabrina Carpenter",
            "type": "track",
            "limit": "1",
        }
        assert bearer(adapter) == ["Bearer tok-1"]

    def test_search_track_when_fielded_query_misses_tries_free_text(self) -> None:
        adapter = FakeAdapter(
            routes={
                TOKEN: [token()],
                SEARCH: [
                    Reply(fixture_json("spotify", "search_empty")),
                    Reply(fixture_json("spotify", "search")),
                ],
            }
        )
        match = make_client(adapter).search_track(
            "Espresso (feat. Nobody) [Sped Up]", "Sabrina Carpenter, Someone Else"
        )
        assert match == ESPRESSO
        assert searched(adapter) == [
            "track:Espresso artist:Sabrina Carpenter",
            "Espresso (feat. Nobody) [Sped Up] Sabrina Carpenter",
        ]

    def test_search_track_when_nothing_matches_returns_none(self) -> None:
        adapter = FakeAdapter(
            routes={TOKEN: [token()], SEARCH: [Reply(fixture_json("spotify", "search_empty"))]}
        )
        assert make_client(adapter).search_track("No Such Song", "Nobody") is None
        assert len(searched(adapter)) == 2

    def test_find_by_isrc_searches_the_isrc_field(self) -> None:
        adapter = FakeAdapter(
            routes={TOKEN: [token()], SEARCH: [Reply(fixture_json("spotify", "search"))]}
        )
        assert make_client(adapter).find_by_isrc("USUM72401994") == ESPRESSO
        assert searched(adapter) == ["isrc:USUM72401994"]

    def test_token_is_requested_with_basic_auth_and_client_credentials(self) -> None:
        adapter = FakeAdapter(
            routes={TOKEN: [token()], SEARCH: [Reply(fixture_json("spotify", "search"))]}
        )
        make_client(adapter).find_by_isrc("USUM72401994")
        request = adapter.requests[0]
        assert adapter.paths()[0] == TOKEN
        assert request.method == "POST"
        assert request.body == "grant_type=client_credentials"
        assert request.headers["Authorization"] == "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ="

    def test_token_is_cached_until_sixty_seconds_before_expiry(self) -> None:
        clock = Clock()
        adapter = FakeAdapter(
            routes={
                TOKEN: [token("tok-1"), token("tok-2")],
                SEARCH: [Reply(fixture_json("spotify", "search"))],
            }
        )
        client = make_client(adapter, clock=clock)
        client.find_by_isrc("USUM72401994")
        clock.now += 3539
        client.find_by_isrc("USUM72401994")
        clock.now += 1
        client.find_by_isrc("USUM72401994")
        assert adapter.paths().count(TOKEN) == 2
        assert bearer(adapter) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]

    def test_search_when_token_is_rejected_fetches_a_new_one_and_retries_once(self) -> None:
        expired = Reply({"error": {"status": 401, "message": "The access token expired"}}, 401)
        adapter = FakeAdapter(
            routes={
                TOKEN: [token("tok-1"), token("tok-2")],
                SEARCH: [expired, Reply(fixture_json("spotify", "search"))],
            }
        )
        assert make_client(adapter).find_by_isrc("USUM72401994") == ESPRESSO
        assert bearer(adapter) == ["Bearer tok-1", "Bearer tok-2"]

    def test_search_when_new_token_is_rejected_too_raises_auth_error(self) -> None:
        expired = Reply({"error": {"status": 401, "message": "Invalid access token"}}, 401)
        adapter = FakeAdapter(routes={TOKEN: [token("tok-1"), token("tok-2")], SEARCH: [expired]})
        with pytest.raises(ProviderAuthError) as info:
            make_client(adapter).find_by_isrc("USUM72401994")
        assert info.value.status == 401
        assert adapter.paths().count(TOKEN) == 2
        assert adapter.paths().count(SEARCH) == 2

    def test_search_when_forbidden_does_not_renew_the_token(self) -> None:
        forbidden = Reply({"error": {"status": 403, "message": "Forbidden"}}, 403)
        adapter = FakeAdapter(routes={TOKEN: [token()], SEARCH: [forbidden]})
        with pytest.raises(ProviderAuthError):
            make_client(adapter).find_by_isrc("USUM72401994")
        assert adapter.paths() == [TOKEN, SEARCH]

    def test_search_when_quota_is_spent_raises_quota_exhausted(self) -> None:
        spent = Reply(fixture_json("spotify", "search_quota_exceeded"), 429)
        adapter = FakeAdapter(routes={TOKEN: [token()], SEARCH: [spent]})
        with pytest.raises(QuotaExhausted):
            make_client(adapter).find_by_isrc("USUM72401994")
        assert adapter.paths() == [TOKEN, SEARCH]

    def test_token_when_client_is_invalid_raises_auth_error(self) -> None:
        refused = Reply(fixture_json("spotify", "token_invalid_client"), 400)
        adapter = FakeAdapter(routes={TOKEN: [refused]})
        with pytest.raises(ProviderAuthError) as info:
            make_client(adapter).find_by_isrc("USUM72401994")
        assert info.value.endpoint == "token"
        assert "client-secret" not in str(info.value)

    def test_search_costs_units_and_token_costs_none(self) -> None:
        ledger = CallLedger()
        adapter = FakeAdapter(
            routes={TOKEN: [token()], SEARCH: [Reply(fixture_json("spotify", "search_empty"))]}
        )
        make_client(adapter, ledger=ledger).search_track("A", "B")
        assert ledger.calls() == {"Spotify": {"token": 1, "search": 2}}
        assert ledger.quota_units() == {"Spotify": 2}


class TestParsers:
    """Search, token and play-count payloads."""

    def test_parse_search_when_items_are_empty_returns_none(self) -> None:
        assert parse_search(fixture_json("spotify", "search_empty")) is None

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"tracks": None},
            {"tracks": {"items": None}},
            {"tracks": {"items": [3]}},
            {"tracks": {"items": [{"id": "a"}]}},
        ],
    )
    def test_parse_search_when_shape_is_wrong_raises_payload_error(self, payload: object) -> None:
        with pytest.raises(ProviderPayloadError):
            parse_search(payload)

    def test_parse_token_reads_token_and_lifetime(self) -> None:
        assert parse_token(fixture_json("spotify", "token")) == (
            "BQDm2x7pZkq3vN0tE5rJ8sLwY1uH4cG6aF9oI2dK",
            3600,
        )

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"access_token": "", "expires_in": 3600},
            {"access_token": "t", "expires_in": -1},
            {"access_token": "t"},
            {"access_token": 5, "expires_in": 3600},
        ],
    )
    def test_parse_token_when_shape_is_wrong_raises_payload_error(self, payload: object) -> None:
        with pytest.raises(ProviderPayloadError):
            parse_token(payload)

    @pytest.mark.parametrize(
        "payload",
        [
            {"result": "error", "streams": 5},
            {"result": "success"},
            {"result": "success", "streams": "12"},
            {"result": "success", "streams": -1},
            {"result": "success", "streams": True},
            {"result": "success", "streams": 1.5},
            [],
        ],
    )
    def test_parse_play_count_when_shape_is_wrong_raises_payload_error(
        self, payload: object
    ) -> None:
        with pytest.raises(ProviderPayloadError, match="Spotify play_count"):
            parse_play_count(payload)


class TestPlayCount:
    """spotify81 stream counts."""

    def test_play_count_returns_streams_and_sends_ids(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("spotify", "play_count")))
        count = make_client(adapter).play_count("2qSkIjg1o9h3YT9RAgYN75", "USUM72401994")
        assert count == 1843223987
        assert adapter.paths() == [PLAY_COUNT]
        assert adapter.params() == {
            "spotify_track_id": "2qSkIjg1o9h3YT9RAgYN75",
            "isrc": "USUM72401994",
        }
        assert adapter.requests[0].headers["X-RapidAPI-Host"] == "spotify81.p.rapidapi.com"


class TestSearchQueries:
    """Which queries a title and artist turn into."""

    @pytest.mark.parametrize(
        ("title", "artist", "expected"),
        [
            (
                "Espresso",
                "Sabrina Carpenter",
                ["track:Espresso artist:Sabrina Carpenter", "Espresso Sabrina Carpenter"],
            ),
            (
                "I Had Some Help (feat. Morgan Wallen)",
                "Post Malone, Morgan Wallen",
                [
                    "track:I Had Some Help artist:Post Malone",
                    "I Had Some Help (feat. Morgan Wallen) Post Malone",
                ],
            ),
            (
                "Song (Live [Remastered])",
                "A",
                ["track:Song artist:A", "Song (Live [Remastered]) A"],
            ),
            ("(Intro)", "A", ["track:(Intro) artist:A", "(Intro) A"]),
        ],
    )
    def test_search_queries_strip_bracketed_parts_and_use_the_first_artist(
        self, title: str, artist: str, expected: list[str]
    ) -> None:
        assert search_queries(title, artist) == expected
