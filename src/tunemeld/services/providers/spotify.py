"""Spotify: playlist tracks (RapidAPI spotify23), search (Web API), play counts (spotify81), meta.

The ISRC authority: its search resolves tracks listed without one (providers.md §1, §2.1, §4).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tunemeld.config import CatalogEntry
from tunemeld.exceptions import ProviderAuthError
from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.services.http import HttpClient
from tunemeld.services.providers._client import RapidApiPlaylistClient
from tunemeld.services.providers._html import playlist_meta
from tunemeld.services.providers._payload import Reader, optional_isrc, rapidapi_headers

__all__ = [
    "PLAYLIST_URL",
    "PLAY_COUNT_URL",
    "PROVIDER",
    "SEARCH_URL",
    "TOKEN_URL",
    "SpotifyClient",
    "SpotifyMatch",
    "parse_meta",
    "parse_play_count",
    "parse_playlist_tracks",
    "parse_search",
    "parse_token",
    "search_queries",
]

PROVIDER = "Spotify"
PLAYLIST_HOST = "spotify23.p.rapidapi.com"
PLAYLIST_URL = f"https://{PLAYLIST_HOST}/playlist_tracks/"
TOKEN_URL = "https://accounts.spotify.com/api/token"  # noqa: S105 - a URL, not a secret
SEARCH_URL = "https://api.spotify.com/v1/search"
PLAY_COUNT_HOST = "spotify81.p.rapidapi.com"
PLAY_COUNT_URL = f"https://{PLAY_COUNT_HOST}/partner/track/count"
PAGE_SIZE = 100
TOKEN_MARGIN_S = 60.0
"""A cached token is renewed this long before Spotify says it expires."""

_BRACKETS = re.compile(r"\s*(\([^()]*\)|\[[^\[\]]*\])")


@dataclass(frozen=True)
class SpotifyMatch:
    """What a Spotify search found: the track's ISRC (when Spotify has one), id, link and names."""

    isrc: str | None
    track_id: str
    url: str
    title: str
    artist: str
    cover_url: str | None


@dataclass(frozen=True)
class _TrackFields:
    track_id: str
    title: str
    artist: str
    isrc: str | None
    url: str
    cover_url: str | None


def _track_fields(reader: Reader, value: object, path: str) -> _TrackFields | None:
    """The fields of a Track object (providers.md §1.3); None for a local track without an id."""
    track = reader.mapping(value, path)
    track_id = reader.optional_text(track.get("id"), f"{path}.id")
    if track_id is None:
        return None
    artists = reader.array(track.get("artists", []), f"{path}.artists")
    names = []
    for i, item in enumerate(artists):
        artist = reader.mapping(item, f"{path}.artists[{i}]")
        name = reader.optional_text(artist.get("name"), f"{path}.artists[{i}].name")
        if name:
            names.append(name)
    ids = reader.optional_mapping(track.get("external_ids"), f"{path}.external_ids") or {}
    urls = reader.optional_mapping(track.get("external_urls"), f"{path}.external_urls") or {}
    url = reader.optional_text(urls.get("spotify"), f"{path}.external_urls.spotify")
    album = reader.optional_mapping(track.get("album"), f"{path}.album") or {}
    raw_images = album.get("images")
    images = [] if raw_images is None else reader.array(raw_images, f"{path}.album.images")
    cover_url = None
    if images:
        image = reader.mapping(images[0], f"{path}.album.images[0]")
        cover_url = reader.optional_text(image.get("url"), f"{path}.album.images[0].url")
    return _TrackFields(
        track_id=track_id,
        title=reader.text(track.get("name"), f"{path}.name"),
        artist=", ".join(names),
        isrc=optional_isrc(ids.get("isrc")),
        url=url or f"https://open.spotify.com/track/{track_id}",
        cover_url=cover_url,
    )


def parse_playlist_tracks(payload: object, *, first_rank: int = 1) -> tuple[list[RawTrack], bool]:
    """One spotify23 page -> (tracks ranked from `first_rank`, whether a next page exists).

    Null items, null tracks and tracks without an id (local files) are skipped.
    """
    reader = Reader(PROVIDER, "playlist_tracks")
    page = reader.mapping(payload, "response")
    items = reader.array(page.get("items"), "items")
    tracks: list[RawTrack] = []
    for i, value in enumerate(items):
        if value is None:
            continue
        item = reader.mapping(value, f"items[{i}]")
        if item.get("track") is None:
            continue
        fields = _track_fields(reader, item["track"], f"items[{i}].track")
        if fields is None:
            continue
        tracks.append(
            reader.track(
                service=Service.SPOTIFY,
                rank=first_rank + len(tracks),
                title=fields.title,
                artist=fields.artist,
                isrc=fields.isrc,
                url=fields.url,
                cover_url=fields.cover_url,
                service_id=fields.track_id,
            )
        )
    has_next = reader.optional_text(page.get("next"), "next") is not None
    return tracks, has_next


def parse_search(payload: object) -> SpotifyMatch | None:
    """The first track of a `type=track` search, or None when nothing matched."""
    reader = Reader(PROVIDER, "search")
    body = reader.mapping(payload, "response")
    tracks = reader.mapping(body.get("tracks"), "tracks")
    items = reader.array(tracks.get("items"), "tracks.items")
    for i, value in enumerate(items):
        if value is None:
            continue
        fields = _track_fields(reader, value, f"tracks.items[{i}]")
        if fields is None:
            continue
        return SpotifyMatch(
            isrc=fields.isrc,
            track_id=fields.track_id,
            url=fields.url,
            title=fields.title,
            artist=fields.artist,
            cover_url=fields.cover_url,
        )
    return None


def parse_token(payload: object) -> tuple[str, int]:
    """A client-credentials answer -> (access token, lifetime in seconds)."""
    reader = Reader(PROVIDER, "token")
    body = reader.mapping(payload, "response")
    token = reader.text(body.get("access_token"), "access_token")
    return token, reader.count(body.get("expires_in"), "expires_in")


def parse_play_count(payload: object) -> int:
    """A spotify81 `{result: "success", streams: int}` answer -> the stream count."""
    reader = Reader(PROVIDER, "play_count")
    body = reader.mapping(payload, "response")
    if body.get("result") != "success":
        raise reader.error("result is not 'success'")
    streams = body.get("streams")
    if not isinstance(streams, int) or isinstance(streams, bool) or streams < 0:
        raise reader.error("streams is missing or not a non-negative integer")
    return streams


def parse_meta(page: str, entry: CatalogEntry) -> PlaylistMeta:
    """A playlist page's og:title, og:image and og:description -> PlaylistMeta."""
    return playlist_meta(
        page,
        entry,
        service=Service.SPOTIFY,
        name=lambda head: head.get("og:title"),
        description=lambda head: head.get("og:description"),
    )


def search_queries(title: str, artist: str) -> list[str]:
    """The queries to try in order: fielded without (feat. ...) parts, then free text."""
    first_artist = artist.split(",")[0].strip()
    bare, previous = title, ""
    while bare != previous:  # nested brackets come off from the inside out
        bare, previous = _BRACKETS.sub("", bare), bare
    bare = " ".join(bare.split()) or title.strip()
    queries = [f"track:{bare} artist:{first_artist}", f"{title.strip()} {first_artist}"]
    return list(dict.fromkeys(q.strip() for q in queries))


class SpotifyClient(RapidApiPlaylistClient):
    """Reads Spotify playlists, searches tracks (cached client-credentials token), counts plays.

    Thread-safe: the token cache is guarded by a lock, and HttpClient caps concurrency.
    """

    PROVIDER = PROVIDER
    parse_meta = parse_meta

    def __init__(
        self,
        http: HttpClient,
        *,
        rapidapi_key: str,
        client_id: str,
        client_secret: str,
        costs: Mapping[tuple[str, str], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(http, rapidapi_key=rapidapi_key, costs=costs)
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0

    def fetch_playlist(self, entry: CatalogEntry) -> list[RawTrack]:
        """Every track of the playlist, following `next` for up to MAX_PAGES pages."""
        headers = rapidapi_headers(self._rapidapi_key, PLAYLIST_HOST)

        def read(offset: int, first_rank: int) -> tuple[list[RawTrack], int | None]:
            payload = self.http.get_json(
                "playlist_tracks",
                PLAYLIST_URL,
                params={"id": entry.playlist_id, "offset": offset, "limit": PAGE_SIZE},
                headers=headers,
                units=self._units("playlist_tracks"),
            )
            page, has_next = parse_playlist_tracks(payload, first_rank=first_rank)
            return page, offset + PAGE_SIZE if has_next else None

        return self._paged(0, read)

    def search_track(self, title: str, artist: str) -> SpotifyMatch | None:
        """The best Spotify match for a title and artist, trying `search_queries` in order."""
        for query in search_queries(title, artist):
            match = self._search(query)
            if match is not None:
                return match
        return None

    def find_by_isrc(self, isrc: str) -> SpotifyMatch | None:
        return self._search(f"isrc:{isrc}")

    def play_count(self, track_id: str, isrc: str) -> int:
        """The track's all-time stream count from the spotify81 RapidAPI host."""
        payload = self.http.get_json(
            "play_count",
            PLAY_COUNT_URL,
            params={"spotify_track_id": track_id, "isrc": isrc},
            headers=rapidapi_headers(self._rapidapi_key, PLAY_COUNT_HOST),
            units=self._units("play_count"),
        )
        return parse_play_count(payload)

    def _search(self, query: str) -> SpotifyMatch | None:
        """One search; a 401 (token revoked or expired early) gets one fresh token and one retry."""
        token = self._access_token()
        try:
            return parse_search(self._get_search(query, token))
        except ProviderAuthError as exc:
            if exc.status != 401:
                raise
        self._forget_token(token)
        return parse_search(self._get_search(query, self._access_token()))

    def _get_search(self, query: str, token: str) -> object:
        return self.http.get_json(
            "search",
            SEARCH_URL,
            params={"q": query, "type": "track", "limit": 1},
            headers={"Authorization": f"Bearer {token}"},
            units=self._units("search"),
        )

    def _access_token(self) -> str:
        """The cached token, or a new one when it expires within TOKEN_MARGIN_S."""
        with self._lock:
            if self._token is not None and self._clock() < self._token_expires:
                return self._token
            payload = self.http.post_json(
                "token",
                TOKEN_URL,
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
                units=self._units("token"),
            )
            token, lifetime = parse_token(payload)
            self._token = token
            self._token_expires = self._clock() + lifetime - TOKEN_MARGIN_S
            return token

    def _forget_token(self, token: str) -> None:
        """Drop the cached token unless another thread already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None
