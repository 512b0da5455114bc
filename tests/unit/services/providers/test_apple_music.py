"""Apple Music client: the apple-music24 playlist payload and the playlist page."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.services.fake_http import FakeAdapter, Reply, fixture_json, fixture_text, make_http
from tunemeld.config import CatalogEntry, ProvidersSettings
from tunemeld.exceptions import ProviderPayloadError, QuotaExhausted
from tunemeld.models import Genre, PlaylistMeta, RawTrack, Service
from tunemeld.services.http import CallLedger
from tunemeld.services.providers import call_costs
from tunemeld.services.providers.apple_music import AppleMusicClient, parse_meta, parse_playlist

ENTRY = CatalogEntry(
    Service.APPLE_MUSIC,
    Genre("country"),
    "pl.87bb5b36a9bd49db8c975607452bfa2b",
    "https://music.apple.com/us/playlist/todays-country/pl.87bb5b36a9bd49db8c975607452bfa2b",
)

EXPECTED_TRACKS = [
    RawTrack(
        service=Service.APPLE_MUSIC,
        rank=1,
        title="A Bar Song (Tipsy)",
        artist="Shaboozey",
        url="https://music.apple.com/us/album/a-bar-song-tipsy/1742758386?i=1742758394",
        service_id="1742758394",
    ),
    RawTrack(
        service=Service.APPLE_MUSIC,
        rank=2,
        title="Love Somebody",
        artist="Morgan Wallen",
        url="https://music.apple.com/us/album/love-somebody/1774530226?i=1774530227",
        service_id="1774530227",
    ),
    RawTrack(
        service=Service.APPLE_MUSIC,
        rank=3,
        title="I Had Some Help (feat. Morgan Wallen)",
        artist="Post Malone & Morgan Wallen",
        url="https://music.apple.com/us/album/i-had-some-help-feat-morgan-wallen/1757669554?i=1757669581",
        service_id="1757669581",
    ),
    RawTrack(
        service=Service.APPLE_MUSIC,
        rank=4,
        title="Hot Mess",
        artist="Jazzy & Ankhoï",
        url="https://music.apple.com/us/album/hot-mess-ep/1780012345",
        service_id=None,
    ),
]


def make_client(adapter: FakeAdapter, ledger: CallLedger | None = None) -> AppleMusicClient:
    return AppleMusicClient(
        make_http(adapter, "AppleMusic", ledger=ledger),
        rapidapi_key="rapid-key-123",
        costs=call_costs(ProvidersSettings()),
    )


def _payload() -> dict[str, dict[str, object]]:
    payload = fixture_json("apple_music", "playlist1")
    assert isinstance(payload, dict)
    return copy.deepcopy(payload)


class TestFetchPlaylist:
    """album_details -> RawTracks ranked by key."""

    def test_fetch_playlist_parses_numeric_keys_in_rank_order(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("apple_music", "playlist1")))
        assert make_client(adapter).fetch_playlist(ENTRY) == EXPECTED_TRACKS

    def test_fetch_playlist_sends_the_scraper_url_and_rapidapi_headers(self) -> None:
        ledger = CallLedger()
        adapter = FakeAdapter(Reply(fixture_json("apple_music", "playlist1")))
        make_client(adapter, ledger).fetch_playlist(ENTRY)
        assert adapter.paths() == ["apple-music24.p.rapidapi.com/playlist1/"]
        assert adapter.params() == {
            "url": "https://music.apple.com/us/playlist/playlist/pl.87bb5b36a9bd49db8c975607452bfa2b"
        }
        assert adapter.requests[0].headers["X-RapidAPI-Key"] == "rapid-key-123"
        assert adapter.requests[0].headers["X-RapidAPI-Host"] == "apple-music24.p.rapidapi.com"
        assert ledger.quota_units() == {"AppleMusic": 1}

    def test_fetch_playlist_when_rapidapi_quota_is_spent_raises_quota_exhausted(self) -> None:
        body = {"message": "You have exceeded the MONTHLY quota for Requests on your current plan"}
        adapter = FakeAdapter(Reply(body, 429))
        with pytest.raises(QuotaExhausted):
            make_client(adapter).fetch_playlist(ENTRY)
        assert len(adapter.requests) == 1


class TestParsePlaylist:
    """Odd and malformed album_details."""

    def test_parse_when_album_details_is_empty_returns_no_tracks(self) -> None:
        assert parse_playlist({"album_details": {}}) == []

    def test_parse_ignores_non_ascii_digit_keys(self) -> None:
        payload = {"album_details": {"²": {"name": "x"}, "٣": {"name": "y"}, "count": 3}}
        assert parse_playlist(payload) == []

    def test_parse_when_artist_is_null_or_link_missing_reads_empty_and_none(self) -> None:
        payload = {"album_details": {"0": {"name": "Song", "artist": None}}}
        assert parse_playlist(payload) == [
            RawTrack(service=Service.APPLE_MUSIC, rank=1, title="Song", artist="")
        ]

    def test_parse_unescapes_entities_in_names(self) -> None:
        payload = {"album_details": {"0": {"name": "Rock &amp; Roll", "artist": "A &#38; B"}}}
        track = parse_playlist(payload)[0]
        assert (track.title, track.artist) == ("Rock & Roll", "A & B")

    @pytest.mark.parametrize(
        ("mutate", "where"),
        [
            (lambda p: p.pop("album_details"), "album_details"),
            (lambda p: p.update(album_details=[]), "album_details"),
            (lambda p: p["album_details"].update({"4": "Song"}), "album_details.4"),
            (lambda p: p["album_details"]["0"].pop("name"), "album_details.0.name"),
            (lambda p: p["album_details"]["0"].update(name="  "), "album_details.0.name"),
            (lambda p: p["album_details"]["0"].update(name="&#32;"), "title"),
            (lambda p: p["album_details"]["0"].update(artist=["Shaboozey"]), "0.artist"),
            (lambda p: p["album_details"]["0"].update(link=17), "album_details.0.link"),
        ],
    )
    def test_parse_when_shape_is_wrong_raises_payload_error(
        self, mutate: Callable[[Any], object], where: str
    ) -> None:
        payload = _payload()
        mutate(payload)
        with pytest.raises(ProviderPayloadError, match="AppleMusic playlist payload") as info:
            parse_playlist(payload)
        assert where in str(info.value)


class TestFetchMeta:
    """The playlist page -> PlaylistMeta, with h1 / truncate-text fallbacks."""

    def test_fetch_meta_reads_og_tags(self) -> None:
        adapter = FakeAdapter(Reply(fixture_text("apple_music", "playlist_page.html")))
        assert make_client(adapter).fetch_meta(ENTRY) == PlaylistMeta(
            service=Service.APPLE_MUSIC,
            genre=Genre("country"),
            playlist_id=ENTRY.playlist_id,
            name="Today’s Country",
            url=ENTRY.url,
            cover_url="https://is1-ssl.mzstatic.com/image/thumb/Features221/v4/5c/0d/f4/"
            "U0gtTVMtV1ctVG9kYXlzLUNvdW50cnkucG5n.png/1200x630cw.png",
            description="The biggest country hits, from Shaboozey to Morgan Wallen.",
            video_url="https://mvod.itunes.apple.com/itunes-assets/HLSVideo221/v4/playlist.m3u8",
        )
        assert adapter.paths() == [ENTRY.url.removeprefix("https://")]

    @pytest.mark.parametrize(
        ("tag", "expected"),
        [
            ('<amp-ambient-video class="editorial-video" src="https://a.test/v/x.m3u8">', True),
            ('<amp-ambient-video class="x editorial-video" src=" https://a.test/x.m3u8 ">', True),
            ('<amp-ambient-video class="editorial-video" src="https://a.test/x.mp4">', False),
            ('<amp-ambient-video class="editorial-video" src="javascript:x.m3u8">', False),
            ('<amp-ambient-video class="other" src="https://a.test/x.m3u8">', False),
            ('<amp-ambient-video class="editorial-video">', False),
            ("", False),
        ],
    )
    def test_parse_meta_reads_only_an_http_m3u8_editorial_video(
        self, tag: str, expected: bool
    ) -> None:
        page = f'<html><head><meta property="og:title" content="T"></head><body>{tag}</body></html>'
        meta = parse_meta(page, ENTRY)
        if expected:
            assert meta.video_url is not None
            assert meta.video_url.startswith("https://a.test/")
            assert meta.video_url.endswith(".m3u8")
        else:
            assert meta.video_url is None

    def test_fetch_meta_without_og_tags_reads_h1_and_truncate_text(self) -> None:
        adapter = FakeAdapter(Reply(fixture_text("apple_music", "playlist_page_no_og.html")))
        meta = make_client(adapter).fetch_meta(ENTRY)
        assert meta.name == "Rap Life"
        assert meta.description == "The most vital hip-hop right now & the artists shaping it."
        assert meta.cover_url is None

    def test_fetch_meta_without_any_name_raises_payload_error(self) -> None:
        adapter = FakeAdapter(Reply("<html><body><p>nothing here</p></body></html>"))
        with pytest.raises(ProviderPayloadError, match="og:title") as info:
            make_client(adapter).fetch_meta(ENTRY)
        assert (info.value.service, info.value.endpoint) == ("AppleMusic", "playlist_page")
