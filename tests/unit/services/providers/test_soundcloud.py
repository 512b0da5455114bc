"""SoundCloud client: soundcloud-scraper pages and the playlist page."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.services.fake_http import FakeAdapter, Reply, fixture_json, fixture_text, make_http
from tunemeld.config import CatalogEntry, ProvidersSettings
from tunemeld.exceptions import ProviderPayloadError
from tunemeld.models import Genre, PlaylistMeta, RawTrack, Service
from tunemeld.services.http import CallLedger
from tunemeld.services.providers import call_costs
from tunemeld.services.providers.soundcloud import (
    SoundCloudClient,
    parse_playlist_tracks,
    split_title,
)

ENTRY = CatalogEntry(
    Service.SOUNDCLOUD,
    Genre("rap"),
    "soundcloud-hustle/sets/drippin-best-rap-right-now",
    "https://soundcloud.com/soundcloud-hustle/sets/drippin-best-rap-right-now",
)
TRACKS = "soundcloud-scraper.p.rapidapi.com/v1/playlist/tracks"

EXPECTED_TRACKS = [
    RawTrack(
        service=Service.SOUNDCLOUD,
        rank=1,
        title="luther (with sza)",
        artist="Kendrick Lamar, SZA",
        isrc="USUG12409972",
        url="https://soundcloud.com/kendrick-lamar-music/luther",
        cover_url="https://i1.sndcdn.com/artworks-uQ3Qn5IDAqOw-0-t500x500.jpg",
        service_id="1957423651",
    ),
    RawTrack(
        service=Service.SOUNDCLOUD,
        rank=2,
        title="TGIF",
        artist="GloRilla",
        isrc=None,
        url="https://soundcloud.com/glorilla/tgift",
        cover_url="https://i1.sndcdn.com/artworks-8dPz4aBrGxv1-0-t500x500.jpg",
        service_id="1860012277",
    ),
    RawTrack(
        service=Service.SOUNDCLOUD,
        rank=3,
        title="Wiggle",
        artist="Fridayy",
        isrc=None,
        url="https://soundcloud.com/fridayy-music/wiggle",
        cover_url=None,
        service_id="1990004512",
    ),
    RawTrack(
        service=Service.SOUNDCLOUD,
        rank=4,
        title="Boom Boom",
        artist="Dougie B",
        isrc=None,
        url="https://soundcloud.com/dougie-b/boom-boom",
        cover_url="https://i1.sndcdn.com/artworks-Q7lW0Zt2kHfA-0-t500x500.jpg",
        service_id="1977345120",
    ),
]


def make_client(adapter: FakeAdapter, ledger: CallLedger | None = None) -> SoundCloudClient:
    return SoundCloudClient(
        make_http(adapter, "SoundCloud", ledger=ledger),
        rapidapi_key="rapid-key-123",
        costs=call_costs(ProvidersSettings()),
    )


def _pages() -> FakeAdapter:
    return FakeAdapter(
        Reply(fixture_json("soundcloud", "playlist_tracks_page1")),
        Reply(fixture_json("soundcloud", "playlist_tracks_page2")),
    )


def _page1() -> dict[str, object]:
    payload = fixture_json("soundcloud", "playlist_tracks_page1")
    assert isinstance(payload, dict)
    return copy.deepcopy(payload)


class TestFetchPlaylist:
    """Pages followed by nextOffset -> RawTracks ranked across pages."""

    def test_fetch_playlist_parses_both_pages(self) -> None:
        assert make_client(_pages()).fetch_playlist(ENTRY) == EXPECTED_TRACKS

    def test_fetch_playlist_sends_the_playlist_url_then_the_next_offset(self) -> None:
        adapter = _pages()
        ledger = CallLedger()
        make_client(adapter, ledger).fetch_playlist(ENTRY)
        assert adapter.paths() == [TRACKS, TRACKS]
        assert adapter.params(0) == {"playlist": ENTRY.url}
        assert adapter.params(1) == {"playlist": ENTRY.url, "offset": "50"}
        assert adapter.requests[0].headers["X-RapidAPI-Host"] == "soundcloud-scraper.p.rapidapi.com"
        assert adapter.requests[0].headers["X-RapidAPI-Key"] == "rapid-key-123"
        assert ledger.quota_units() == {"SoundCloud": 2}

    def test_fetch_playlist_when_next_offset_never_ends_stops_after_ten_pages(self) -> None:
        adapter = FakeAdapter(
            handler=lambda _: Reply(fixture_json("soundcloud", "playlist_tracks_page1"))
        )
        tracks = make_client(adapter).fetch_playlist(ENTRY)
        assert len(adapter.requests) == 10
        assert [t.rank for t in tracks] == list(range(1, 31))


class TestParsePlaylistTracks:
    """Artist fallbacks, odd ISRCs and malformed pages."""

    def test_parse_when_items_are_null_skips_them(self) -> None:
        page = {"tracks": {"nextOffset": None, "items": [None]}}
        assert parse_playlist_tracks(page) == ([], None)

    def test_parse_when_publisher_artist_is_blank_splits_the_title(self) -> None:
        page = {
            "tracks": {"items": [{"id": 1, "title": "A - B - C", "publisher": {"artist": " "}}]}
        }
        track = parse_playlist_tracks(page)[0][0]
        assert (track.artist, track.title) == ("A", "B - C")

    def test_parse_when_nothing_names_the_artist_reads_empty(self) -> None:
        page = {"tracks": {"items": [{"id": "7", "title": "Untitled - "}]}}
        track = parse_playlist_tracks(page)[0][0]
        assert (track.artist, track.title, track.service_id) == ("", "Untitled -", "7")

    @pytest.mark.parametrize(
        ("isrc", "expected"),
        [
            ("USUG12409972", "USUG12409972"),
            ("usug1 2409972", "USUG12409972"),
            ("QZ-ABC-25-0000X", None),
            (None, None),
            (42, None),
        ],
    )
    def test_parse_isrc_is_normalised_or_dropped(self, isrc: object, expected: object) -> None:
        page = {"tracks": {"items": [{"id": 1, "title": "T", "publisher": {"isrc": isrc}}]}}
        assert parse_playlist_tracks(page)[0][0].isrc == expected

    @pytest.mark.parametrize(
        ("mutate", "where"),
        [
            (lambda p: p.update(status=False, errorId="PlaylistNotFound"), "PlaylistNotFound"),
            (lambda p: p.pop("tracks"), "tracks"),
            (lambda p: p["tracks"].update(items=None), "tracks.items"),
            (lambda p: p["tracks"]["items"].append(5), "tracks.items[3]"),
            (lambda p: p["tracks"]["items"][0].pop("id"), "tracks.items[0].id"),
            (lambda p: p["tracks"]["items"][0].update(id=True), "tracks.items[0].id"),
            (lambda p: p["tracks"]["items"][0].pop("title"), "tracks.items[0].title"),
            (lambda p: p["tracks"]["items"][0].update(publisher="Interscope"), "publisher"),
            (lambda p: p["tracks"]["items"][2].update(user=[]), "tracks.items[2].user"),
            (lambda p: p["tracks"]["items"][2]["user"].update(name=1), "tracks.items[2].user.name"),
            (lambda p: p["tracks"]["items"][0].update(permalink=3), "permalink"),
            (lambda p: p["tracks"]["items"][0].update(artworkUrl={}), "artworkUrl"),
            (lambda p: p["tracks"].update(nextOffset="50a"), "nextOffset"),
            (lambda p: p["tracks"].update(nextOffset=-50), "nextOffset"),
        ],
    )
    def test_parse_when_shape_is_wrong_raises_payload_error(
        self, mutate: Callable[[Any], object], where: str
    ) -> None:
        page = _page1()
        mutate(page)
        with pytest.raises(
            ProviderPayloadError, match="SoundCloud playlist_tracks payload"
        ) as info:
            parse_playlist_tracks(page)
        assert where in str(info.value)

    @pytest.mark.parametrize(
        ("title", "expected"),
        [
            ("GloRilla - TGIF", ("GloRilla", "TGIF")),
            ("TGIF", None),
            (" - TGIF", None),
            ("GloRilla - ", None),
            ("A-ha - Take On Me - Live", ("A-ha", "Take On Me - Live")),
        ],
    )
    def test_split_title(self, title: str, expected: object) -> None:
        assert split_title(title) == expected


class TestFetchMeta:
    """The playlist page -> PlaylistMeta."""

    def test_fetch_meta_reads_og_tags(self) -> None:
        adapter = FakeAdapter(Reply(fixture_text("soundcloud", "playlist_page.html")))
        assert make_client(adapter).fetch_meta(ENTRY) == PlaylistMeta(
            service=Service.SOUNDCLOUD,
            genre=Genre("rap"),
            playlist_id=ENTRY.playlist_id,
            name="Drippin': Best Rap Right Now",
            url=ENTRY.url,
            cover_url="https://i1.sndcdn.com/artworks-rP9zLn2ZbOSh6xu0-ZcVp4A-t500x500.jpg",
            description="The hottest rap on SoundCloud right now & the rising names to know.",
        )

    def test_fetch_meta_without_og_description_uses_meta_description(self) -> None:
        page = '<meta property="og:title" content="Set"><meta name="description" content="About">'
        meta = make_client(FakeAdapter(Reply(page))).fetch_meta(ENTRY)
        assert (meta.name, meta.description, meta.cover_url) == ("Set", "About", None)

    def test_fetch_meta_without_og_title_raises_payload_error(self) -> None:
        page = "<html><head><title>SoundCloud</title></head><body><h1>Set</h1></body></html>"
        with pytest.raises(ProviderPayloadError, match="og:title"):
            make_client(FakeAdapter(Reply(page))).fetch_meta(ENTRY)
