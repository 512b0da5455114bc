"""The sandbox adapter: a real requests.Session gets every endpoint's documented shape offline."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.catalog import GENRES
from tunemeld.config.catalog import load_catalog
from tunemeld.models import ISRC_PATTERN, Genre, Service
from tunemeld.services.sandbox import SampleWorld, SandboxAdapter

DAY = datetime.date(2026, 3, 1)
RAPIDAPI = {"X-RapidAPI-Key": "test-key", "X-RapidAPI-Host": "ignored"}
CATALOG = load_catalog()
SPOTIFY23 = "https://spotify23.p.rapidapi.com/playlist_tracks/"
APPLE24 = "https://apple-music24.p.rapidapi.com/playlist1/"
SOUNDCLOUD = "https://soundcloud-scraper.p.rapidapi.com/v1/playlist/tracks"
COUNT = "https://spotify81.p.rapidapi.com/partner/track/count"
TOKEN = "https://accounts.spotify.com/api/token"
SEARCH = "https://api.spotify.com/v1/search"
YT_SEARCH = "https://www.googleapis.com/youtube/v3/search"
YT_VIDEOS = "https://www.googleapis.com/youtube/v3/videos"


@pytest.fixture(scope="module", name="world")
def _world() -> SampleWorld:
    """One world for the module (building it is pure)."""
    return SampleWorld()


@pytest.fixture(name="session")
def _session(world: SampleWorld) -> Iterator[requests.Session]:
    """A real requests.Session whose every https:// call goes to the sample world on DAY."""
    with requests.Session() as session:
        session.mount("https://", SandboxAdapter(world, DAY))
        yield session


@pytest.fixture(name="bearer")
def _bearer(session: requests.Session) -> dict[str, str]:
    """An Authorization header with a token from the simulated accounts service."""
    token = session.post(TOKEN, data={"grant_type": "client_credentials"}, auth=("id", "secret"))
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _apple_api_url(genre: Genre) -> str:
    entry = CATALOG.entry(Service.APPLE_MUSIC, genre)
    return f"https://music.apple.com/us/playlist/playlist/{entry.playlist_id}"


def _assert_spotify_track(track: dict[str, object]) -> None:
    """The Track fields providers.md §1.3 lists, with their types."""
    assert isinstance(track["id"], str)
    assert re.fullmatch(r"[0-9A-Za-z]{22}", track["id"])
    assert track["uri"] == f"spotify:track:{track['id']}"
    assert isinstance(track["name"], str)
    assert track["name"]
    assert isinstance(track["duration_ms"], int)
    assert isinstance(track["explicit"], bool)
    assert track["is_local"] is False
    assert isinstance(track["popularity"], int)
    assert 0 <= track["popularity"] <= 100
    external_ids, external_urls = track["external_ids"], track["external_urls"]
    assert isinstance(external_ids, dict)
    assert ISRC_PATTERN.fullmatch(external_ids["isrc"])
    assert external_urls == {"spotify": f"https://open.spotify.com/track/{track['id']}"}
    artists = track["artists"]
    assert isinstance(artists, list)
    assert 1 <= len(artists) <= 2
    assert all({"id", "name", "uri", "external_urls"} <= artist.keys() for artist in artists)
    album = track["album"]
    assert isinstance(album, dict)
    assert {"id", "name", "album_type", "release_date", "images"} <= album.keys()
    assert [image["width"] for image in album["images"]] == [640, 300, 64]
    assert all(
        image["url"].startswith("https://i.scdn.co/image/ab67616d") for image in album["images"]
    )


class TestResponseObject:
    """The adapter returns a complete requests.Response and never touches the network."""

    def test_response_carries_status_reason_url_request_and_encoding(
        self, session: requests.Session
    ) -> None:
        entry = CATALOG.entry(Service.SPOTIFY, Genre("pop"))
        response = session.get(SPOTIFY23, params={"id": entry.playlist_id}, headers=RAPIDAPI)
        assert response.status_code == 200
        assert response.reason == "OK"
        assert response.ok
        assert response.url.startswith(SPOTIFY23)
        assert response.request is not None
        assert response.request.url == response.url
        assert response.encoding == "utf-8"
        assert response.headers["content-type"].startswith("application/json")
        assert int(response.headers["Content-Length"]) == len(response.content)

    def test_streamed_response_yields_the_same_bytes(self, session: requests.Session) -> None:
        entry = CATALOG.entry(Service.SOUNDCLOUD, Genre("rap"))
        plain = session.get(entry.url).content
        streamed = session.get(entry.url, stream=True)
        assert b"".join(streamed.iter_content(64)) == plain

    def test_unknown_host_is_html_404(self, session: requests.Session) -> None:
        response = session.get("https://example.com/anything")
        assert response.status_code == 404
        assert response.reason == "Not Found"
        assert response.headers["content-type"].startswith("text/html")

    def test_close_is_a_harmless_no_op(self, world: SampleWorld) -> None:
        adapter = SandboxAdapter(world, DAY)
        adapter.close()
        with requests.Session() as session:
            session.mount("https://", adapter)
            assert session.get("https://example.com/").status_code == 404

    def test_adapter_date_decides_the_world_state(self, world: SampleWorld) -> None:
        entry = CATALOG.entry(Service.SPOTIFY, Genre("dance"))
        bodies = []
        for day in (DAY, DAY + datetime.timedelta(days=1)):
            with requests.Session() as session:
                session.mount("https://", SandboxAdapter(world, day))
                bodies.append(
                    session.get(
                        SPOTIFY23, params={"id": entry.playlist_id}, headers=RAPIDAPI
                    ).content
                )
        assert bodies[0] != bodies[1]


class TestRapidApi:
    """RapidAPI hosts want a key and answer unknown endpoints with their gateway message."""

    @pytest.mark.parametrize("url", [SPOTIFY23, APPLE24, SOUNDCLOUD, COUNT])
    def test_missing_key_is_401(self, session: requests.Session, url: str) -> None:
        response = session.get(url)
        assert response.status_code == 401
        assert response.json() == {
            "message": "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."
        }

    def test_unknown_endpoint_is_json_404(self, session: requests.Session) -> None:
        response = session.get("https://spotify23.p.rapidapi.com/albums/", headers=RAPIDAPI)
        assert response.status_code == 404
        assert "message" in response.json()


class TestSpotifyPlaylist:
    """spotify23 playlist_tracks: the Web API paging object of full tracks (§2.1)."""

    def test_page_has_the_documented_shape(self, session: requests.Session) -> None:
        entry = CATALOG.entry(Service.SPOTIFY, Genre("country"))
        body = session.get(SPOTIFY23, params={"id": entry.playlist_id}, headers=RAPIDAPI).json()
        assert {"items", "limit", "offset", "total", "next", "previous", "href"} <= body.keys()
        assert body["total"] == 50
        assert body["next"] is None
        assert body["previous"] is None
        assert len(body["items"]) == 50
        for item in body["items"]:
            assert {"added_at", "added_by", "is_local"} <= item.keys()
            _assert_spotify_track(item["track"])

    def test_pages_follow_offset_and_limit_until_next_is_null(
        self, session: requests.Session
    ) -> None:
        entry = CATALOG.entry(Service.SPOTIFY, Genre("rap"))
        ids: list[str] = []
        offset, pages = 0, 0
        while True:
            params: dict[str, str | int] = {"id": entry.playlist_id, "offset": offset, "limit": 20}
            body = session.get(SPOTIFY23, params=params, headers=RAPIDAPI).json()
            ids += [item["track"]["id"] for item in body["items"]]
            pages += 1
            if body["next"] is None:
                break
            offset = int(parse_qs(urlsplit(body["next"]).query)["offset"][0])
        whole = session.get(SPOTIFY23, params={"id": entry.playlist_id}, headers=RAPIDAPI).json()
        assert pages == 3
        assert ids == [item["track"]["id"] for item in whole["items"]]

    def test_next_url_is_served_by_the_web_api(
        self, session: requests.Session, bearer: dict[str, str]
    ) -> None:
        entry = CATALOG.entry(Service.SPOTIFY, Genre("pop"))
        params: dict[str, str | int] = {"id": entry.playlist_id, "limit": 30}
        first = session.get(SPOTIFY23, params=params, headers=RAPIDAPI)
        rest = session.get(first.json()["next"], headers=bearer).json()
        assert rest["offset"] == 30
        assert len(rest["items"]) == 20
        assert rest["next"] is None

    def test_unknown_playlist_is_404(self, session: requests.Session) -> None:
        response = session.get(SPOTIFY23, params={"id": "37i9dQZF1DXunknown0000"}, headers=RAPIDAPI)
        assert response.status_code == 404
        assert response.json() == {"message": "Playlist not found"}

    def test_bad_limit_is_400(self, session: requests.Session) -> None:
        entry = CATALOG.entry(Service.SPOTIFY, Genre("pop"))
        params = {"id": entry.playlist_id, "limit": "many"}
        assert session.get(SPOTIFY23, params=params, headers=RAPIDAPI).status_code == 400


class TestApplePlaylist:
    """apple-music24 playlist1: numbered album_details entries (§2.2)."""

    def test_details_have_numbered_entries_with_links(self, session: requests.Session) -> None:
        body = session.get(
            APPLE24, params={"url": _apple_api_url(Genre("pop"))}, headers=RAPIDAPI
        ).json()
        details = body["album_details"]
        assert list(details) == [str(i) for i in range(100)]
        link = re.compile(r"https://music\.apple\.com/us/album/[a-z0-9-]+/[0-9]+\?i=[0-9]+")
        for entry in details.values():
            assert set(entry) == {"name", "artist", "album", "link"}
            assert all(isinstance(value, str) and value for value in entry.values())
            assert link.fullmatch(entry["link"])

    def test_some_artists_carry_html_entities(self, session: requests.Session) -> None:
        artists = [
            entry["artist"]
            for genre in GENRES
            for entry in session.get(
                APPLE24, params={"url": _apple_api_url(genre)}, headers=RAPIDAPI
            )
            .json()["album_details"]
            .values()
        ]
        assert any("&amp;" in artist for artist in artists)
        assert not any(" & " in artist for artist in artists)

    def test_catalog_url_with_real_slug_works_too(self, session: requests.Session) -> None:
        url = CATALOG.entry(Service.APPLE_MUSIC, Genre("rap")).url
        assert session.get(APPLE24, params={"url": url}, headers=RAPIDAPI).status_code == 200

    def test_unknown_playlist_is_404(self, session: requests.Session) -> None:
        url = "https://music.apple.com/us/playlist/playlist/pl.00000000000000000000000000000000"
        response = session.get(APPLE24, params={"url": url}, headers=RAPIDAPI)
        assert response.status_code == 404
        assert response.json() == {"message": "Playlist not found"}


class TestSoundCloudPlaylist:
    """soundcloud-scraper playlist tracks: pages of 50 with nextOffset (§2.3)."""

    def _page(self, session: requests.Session, genre: Genre, offset: int | None = None) -> Any:
        params: dict[str, str | int] = {"playlist": CATALOG.entry(Service.SOUNDCLOUD, genre).url}
        if offset is not None:
            params["offset"] = offset
        response = session.get(SOUNDCLOUD, params=params, headers=RAPIDAPI)
        assert response.status_code == 200
        return response.json()

    def test_pages_of_50_end_with_null_next_offset(self, session: requests.Session) -> None:
        first = self._page(session, Genre("dance"))
        assert {"status", "errorId", "type", "id", "permalinkUrl", "tracks"} <= first.keys()
        assert first["tracks"]["nextOffset"] == 50
        assert len(first["tracks"]["items"]) == 50
        second = self._page(session, Genre("dance"), first["tracks"]["nextOffset"])
        assert second["tracks"]["nextOffset"] is None
        assert 0 < len(second["tracks"]["items"]) < 50
        ids = [t["id"] for page in (first, second) for t in page["tracks"]["items"]]
        assert len(set(ids)) == len(ids)

    def test_items_have_the_documented_fields(self, session: requests.Session) -> None:
        art = re.compile(r"https://i1\.sndcdn\.com/artworks-[A-Za-z0-9]+-[a-z0-9]{6}-large\.jpg")
        for item in self._page(session, Genre("country"))["tracks"]["items"]:
            assert item["type"] == "track"
            assert isinstance(item["id"], int)
            assert re.fullmatch(r"https://soundcloud\.com/[a-z0-9-]+/[a-z0-9-]+", item["permalink"])
            assert art.fullmatch(item["artworkUrl"])
            assert item["artwork_url"] == item["artworkUrl"]
            for key in ("durationMs", "playCount", "likeCount", "repostCount", "commentCount"):
                assert isinstance(item[key], int)
            assert {"id", "name", "permalink", "verified", "followerCount"} <= item["user"].keys()
            publisher = item["publisher"]
            assert publisher is None or {"artist", "isrc", "albumTitle"} <= publisher.keys()

    def test_some_items_lack_isrc_and_some_name_the_artist_in_the_title(
        self, session: requests.Session
    ) -> None:
        items = [
            item
            for genre in GENRES
            for offset in (0, 50)
            for item in self._page(session, genre, offset)["tracks"]["items"]
        ]
        assert any(item["publisher"] is None for item in items)
        assert any(item["publisher"] and item["publisher"]["isrc"] is None for item in items)
        dashed = [i for i in items if i["publisher"] and i["publisher"]["artist"] is None]
        assert dashed
        assert all(" - " in item["title"] for item in dashed)
        assert sum(bool(i["publisher"] and i["publisher"]["isrc"]) for i in items) > len(items) / 2

    def test_unknown_playlist_is_404(self, session: requests.Session) -> None:
        params = {"playlist": "https://soundcloud.com/nobody/sets/nothing"}
        assert session.get(SOUNDCLOUD, params=params, headers=RAPIDAPI).status_code == 404


class TestSpotifyCount:
    """spotify81 play count: `{result, streams}` growing day by day (§4)."""

    def test_known_track_returns_streams(
        self, session: requests.Session, world: SampleWorld
    ) -> None:
        rec = world.playlist(Service.SPOTIFY, Genre("pop"), DAY)[0]
        params = {"spotify_track_id": rec.spotify_track_id, "isrc": rec.isrc}
        body = session.get(COUNT, params=params, headers=RAPIDAPI).json()
        assert body == {"result": "success", "streams": world.spotify_play_count(rec, DAY)}

    def test_next_day_count_is_larger(self, world: SampleWorld) -> None:
        rec = world.playlist(Service.SPOTIFY, Genre("rap"), DAY)[3]
        counts = []
        for day in (DAY, DAY + datetime.timedelta(days=1)):
            with requests.Session() as session:
                session.mount("https://", SandboxAdapter(world, day))
                params = {"spotify_track_id": rec.spotify_track_id, "isrc": rec.isrc}
                counts.append(session.get(COUNT, params=params, headers=RAPIDAPI).json()["streams"])
        assert counts[1] > counts[0]

    def test_unknown_track_is_404(self, session: requests.Session) -> None:
        params = {"spotify_track_id": "0" * 22, "isrc": "USXXX0000000"}
        response = session.get(COUNT, params=params, headers=RAPIDAPI)
        assert response.status_code == 404
        assert response.json() == {"message": "Track not found"}


class TestSpotifyAuth:
    """The client-credentials token endpoint (§1.1)."""

    def test_token_has_bearer_shape_and_is_deterministic(self, session: requests.Session) -> None:
        def fetch() -> Any:
            data = {"grant_type": "client_credentials"}
            return session.post(TOKEN, data=data, auth=("id", "secret")).json()

        body = fetch()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert isinstance(body["access_token"], str)
        assert len(body["access_token"]) > 40
        assert fetch() == body

    def test_missing_authorization_is_invalid_client(self, session: requests.Session) -> None:
        response = session.post(TOKEN, data={"grant_type": "client_credentials"})
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "Invalid client secret",
        }


class TestSpotifySearch:
    """Web API search (§1.2): isrc, field and free-text queries, limits and auth."""

    def _search(
        self, session: requests.Session, bearer: dict[str, str], q: str, limit: int = 1
    ) -> Any:
        params: dict[str, str | int] = {"q": q, "type": "track", "limit": limit}
        response = session.get(SEARCH, params=params, headers=bearer)
        assert response.status_code == 200
        return response.json()["tracks"]

    def test_isrc_query_finds_the_track(
        self, session: requests.Session, bearer: dict[str, str], world: SampleWorld
    ) -> None:
        rec = world.playlist(Service.SPOTIFY, Genre("country"), DAY)[5]
        tracks = self._search(session, bearer, f"isrc:{rec.isrc}")
        assert {"href", "items", "limit", "next", "offset", "previous", "total"} <= tracks.keys()
        assert tracks["total"] == 1
        assert tracks["next"] is None
        _assert_spotify_track(tracks["items"][0])
        assert tracks["items"][0]["external_ids"]["isrc"] == rec.isrc

    def test_field_and_free_text_queries_find_the_track(
        self, session: requests.Session, bearer: dict[str, str], world: SampleWorld
    ) -> None:
        rec = next(
            r
            for r in world.playlist(Service.APPLE_MUSIC, Genre("pop"), DAY)
            if not r.apple_unresolvable
        )
        for q in (f"track:{rec.title} artist:{rec.artists[0]}", f"{rec.title} {rec.artist}"):
            assert self._search(session, bearer, q)["items"][0]["external_ids"]["isrc"] == rec.isrc

    def test_unresolvable_apple_listing_finds_nothing(
        self, session: requests.Session, bearer: dict[str, str], world: SampleWorld
    ) -> None:
        rec = next(r for r in world.recordings(Genre("dance")) if r.apple_unresolvable)
        tracks = self._search(session, bearer, f"track:{rec.apple_title} artist:{rec.apple_artist}")
        assert tracks["items"] == []
        assert tracks["total"] == 0

    def test_loose_text_pages_with_next(
        self, session: requests.Session, bearer: dict[str, str]
    ) -> None:
        tracks = self._search(session, bearer, "love", limit=2)
        assert tracks["total"] > 2
        assert len(tracks["items"]) == 2
        assert tracks["next"] is not None
        assert "offset=2" in tracks["next"]

    def test_limit_above_10_is_400(self, session: requests.Session, bearer: dict[str, str]) -> None:
        params: dict[str, str | int] = {"q": "love", "type": "track", "limit": 11}
        response = session.get(SEARCH, params=params, headers=bearer)
        assert response.status_code == 400
        assert response.json() == {"error": {"status": 400, "message": "Invalid limit"}}

    def test_missing_token_is_401(self, session: requests.Session) -> None:
        response = session.get(SEARCH, params={"q": "love", "type": "track"})
        assert response.status_code == 401
        assert response.json() == {"error": {"status": 401, "message": "No token provided"}}


class TestYouTube:
    """YouTube Data API search.list and videos.list (§3)."""

    def test_search_puts_the_official_video_first(
        self, session: requests.Session, world: SampleWorld
    ) -> None:
        rec = next(
            r for r in world.playlist(Service.SPOTIFY, Genre("rap"), DAY) if r.youtube_video_id
        )
        params = {
            "part": "snippet",
            "q": f'"{rec.title}" "{rec.artist}"',
            "type": "video",
            "key": "k",
        }
        body = session.get(YT_SEARCH, params=params).json()
        assert body["kind"] == "youtube#searchListResponse"
        assert {"totalResults", "resultsPerPage"} <= body["pageInfo"].keys()
        first, *others = body["items"]
        assert first["id"] == {"kind": "youtube#video", "videoId": rec.youtube_video_id}
        assert rec.title in first["snippet"]["title"]
        assert 1 <= len(others) <= 2
        assert all(rec.title.lower() not in item["snippet"]["title"].lower() for item in others)
        assert {
            "publishedAt",
            "channelId",
            "title",
            "description",
            "channelTitle",
            "thumbnails",
        } <= (first["snippet"].keys())

    def test_search_without_video_returns_only_unrelated_titles(
        self, session: requests.Session, world: SampleWorld
    ) -> None:
        for rec in [
            r for genre in GENRES for r in world.recordings(genre) if r.youtube_video_id is None
        ]:
            params = {"part": "snippet", "q": f'"{rec.title}" "{rec.artist}"', "key": "k"}
            items = session.get(YT_SEARCH, params=params).json()["items"]
            assert items
            for item in items:
                title = item["snippet"]["title"].lower()
                assert rec.title.lower() not in title
                assert not any(artist.lower() in title for artist in rec.artists)

    def test_videos_returns_string_counts_and_omits_unknown_ids(
        self, session: requests.Session, world: SampleWorld
    ) -> None:
        recs = [
            r for r in world.playlist(Service.SPOTIFY, Genre("pop"), DAY) if r.youtube_video_id
        ][:3]
        ids = [r.youtube_video_id for r in recs]
        params = {"part": "statistics", "id": ",".join([*ids, "unknown0000"]), "key": "k"}  # type: ignore[list-item]
        body = session.get(YT_VIDEOS, params=params).json()
        assert body["kind"] == "youtube#videoListResponse"
        assert [item["id"] for item in body["items"]] == ids
        for item, rec in zip(body["items"], recs, strict=True):
            stats = item["statistics"]
            assert set(stats) == {"viewCount", "likeCount", "favoriteCount", "commentCount"}
            assert all(isinstance(value, str) and value.isdigit() for value in stats.values())
            assert int(stats["viewCount"]) == world.youtube_view_count(rec, DAY)

    def test_more_than_50_ids_is_400(self, session: requests.Session) -> None:
        params = {"part": "statistics", "id": ",".join(f"v{i:010d}" for i in range(51)), "key": "k"}
        response = session.get(YT_VIDEOS, params=params)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == 400
        assert error["errors"][0]["reason"]

    def test_missing_key_is_403_and_blank_key_is_key_invalid(
        self, session: requests.Session
    ) -> None:
        missing = session.get(YT_VIDEOS, params={"part": "statistics", "id": "x"})
        assert missing.status_code == 403
        assert missing.json()["error"]["code"] == 403
        blank = session.get(YT_VIDEOS, params={"part": "statistics", "id": "x", "key": ""})
        assert blank.status_code == 400
        assert blank.json()["error"]["errors"][0]["reason"] == "keyInvalid"


def _meta(page: str, prop: str) -> str:
    match = re.search(rf'<meta property="{prop}" content="([^"]*)">', page)
    assert match, prop
    return match.group(1)


class TestPages:
    """Public playlist pages carry og tags (and Apple's h1 and description)."""

    @pytest.mark.parametrize(
        ("genre", "name"),
        [
            (Genre("country"), "Hot Country"),
            (Genre("dance"), "mint"),
            (Genre("pop"), "Today&#x27;s Top Hits"),
            (Genre("rap"), "RapCaviar"),
        ],
    )
    def test_spotify_page_names_the_playlist(
        self, session: requests.Session, genre: Genre, name: str
    ) -> None:
        page = session.get(CATALOG.entry(Service.SPOTIFY, genre).url).text
        assert _meta(page, "og:title") == name
        assert re.fullmatch(
            r"https://i\.scdn\.co/image/ab67706f00000002[0-9a-f]{24}", _meta(page, "og:image")
        )
        assert "50 songs" in _meta(page, "og:description")
        assert "Cover: " in _meta(page, "og:description")

    def test_apple_page_has_h1_description_and_cover(self, session: requests.Session) -> None:
        page = session.get(CATALOG.entry(Service.APPLE_MUSIC, Genre("dance")).url).text
        assert "<h1>danceXL</h1>" in page
        assert re.search(r'<p data-testid="truncate-text">[^<]+</p>', page)
        assert _meta(page, "og:title") == "danceXL"
        assert _meta(page, "og:image").startswith("https://is1-ssl.mzstatic.com/image/thumb/")
        assert re.search(r'<amp-ambient-video class="editorial-video" src="[^"]+\.m3u8">', page)

    def test_soundcloud_page_names_the_set_from_its_slug(self, session: requests.Session) -> None:
        page = session.get(
            CATALOG.entry(Service.SOUNDCLOUD, Genre("country")).url + "?si=share"
        ).text
        assert _meta(page, "og:title") == "Backroads Best Country Now"
        assert re.fullmatch(
            r"https://i1\.sndcdn\.com/artworks-[A-Za-z0-9]+-[a-z0-9]{6}-t500x500\.jpg",
            _meta(page, "og:image"),
        )
        assert _meta(page, "og:description")

    @pytest.mark.parametrize(
        "url",
        [
            "https://open.spotify.com/playlist/unknown",
            "https://music.apple.com/us/playlist/x/pl.unknown",
            "https://soundcloud.com/nobody/sets/nothing",
        ],
    )
    def test_unknown_pages_are_html_404(self, session: requests.Session, url: str) -> None:
        response = session.get(url)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
