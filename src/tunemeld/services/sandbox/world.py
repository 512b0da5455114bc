"""The sample world: a deterministic simulation of the streaming providers, for offline runs.

`SampleWorld.handle` answers the HTTP calls TuneMeld's provider clients make, in the documented
JSON shapes (reference/providers.md), so the real client code runs without network or keys.
Everything is a pure function of (seed, date): playlists churn a little from day to day and
play/view counts grow, so consecutive runs see realistic deltas. Routing is independent of
transport: `SandboxAdapter` mounts it into `requests`, and an HTTP server can reuse it.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import random
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from tunemeld.config.catalog import Catalog, CatalogEntry, load_catalog
from tunemeld.models import Genre, Service
from tunemeld.services.sandbox import _render, _words
from tunemeld.services.sandbox._pool import (
    COUNT_EPOCH,
    Recording,
    Video,
    build_pool,
    build_unrelated_videos,
    official_video,
    random_id,
)

__all__ = [
    "PLAYLIST_SIZES",
    "SOUNDCLOUD_PAGE_SIZE",
    "Recording",
    "SampleWorld",
    "SandboxRequest",
    "SandboxResponse",
]

PLAYLIST_SIZES: Mapping[Service, int] = {
    Service.SPOTIFY: 50,
    Service.APPLE_MUSIC: 100,
    Service.SOUNDCLOUD: 60,
}
"""Tracks in each service's flagship playlist, on every date (SoundCloud spans two pages)."""

SOUNDCLOUD_PAGE_SIZE = 50
"""soundcloud-scraper returns playlist tracks 50 at a time (§2.3)."""

_DAILY_NOISE = 0.08
_SPOTIFY_SEARCH_MAX_LIMIT = 10
_YOUTUBE_MAX_IDS = 50
_RAPIDAPI_KEY_MESSAGE = "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."
_FIELD = re.compile(r"\b(track|artist|album|isrc|year|genre):", re.IGNORECASE)

JsonObject = dict[str, object]


@dataclass(frozen=True)
class SandboxRequest:
    """An HTTP request as the sample world sees it: method, full URL with query, headers, body."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class SandboxResponse:
    """The sample world's answer: status, headers and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def reason(self) -> str:
        """The standard reason phrase for the status (`OK`, `Not Found`...)."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"

    def json(self) -> object:
        """The body parsed as JSON (for tests and tools)."""
        return json.loads(self.body)


@dataclass(frozen=True)
class _Call:
    """A parsed request: lower-case host and headers, path without trailing slash, first values."""

    method: str
    url: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    as_of: datetime.date


def _json(status: int, payload: object) -> SandboxResponse:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return SandboxResponse(status, {"Content-Type": "application/json; charset=utf-8"}, body)


def _html(status: int, text: str) -> SandboxResponse:
    return SandboxResponse(status, {"Content-Type": "text/html; charset=utf-8"}, text.encode())


def _int_param(query: Mapping[str, str], name: str, default: int) -> int | None:
    """An integer query parameter, the default when absent, None when not an integer."""
    raw = query.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _parse_search(query: str) -> tuple[dict[str, str], str]:
    """Split a Spotify `q` into field filters (`track:`, `artist:`, ...) and free text."""
    matches = list(_FIELD.finditer(query))
    free = query[: matches[0].start()] if matches else query
    filters: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(query)
        filters[match.group(1).lower()] = query[match.end() : end].strip().strip("\"'")
    return filters, free.strip()


class SampleWorld:
    """A deterministic simulation of Spotify, Apple Music, SoundCloud and YouTube.

    Each genre has a fixed pool of fictional recordings; each service's playlist on a date is
    the top of a score shared across services plus a per-service bias and a little daily noise.
    """

    def __init__(self, seed: int = 2026, catalog: Catalog | None = None) -> None:
        self.seed = seed
        self.catalog = catalog if catalog is not None else load_catalog()
        self._pools = build_pool(seed, self.catalog.genres)
        everything = [rec for pool in self._pools.values() for rec in pool]
        self._by_isrc = {rec.isrc: rec for rec in everything}
        self._by_spotify_id = {rec.spotify_track_id: rec for rec in everything if rec.on_spotify}
        self._by_apple_album = {rec.apple_album_id: rec for rec in everything}
        self._unrelated = build_unrelated_videos(seed)
        self._videos: dict[str, Video] = {video.video_id: video for video in self._unrelated}
        self._official: dict[str, Video] = {}
        for rec in everything:
            video = official_video(rec)
            if video is not None:
                self._videos[video.video_id] = video
                self._official[rec.isrc] = video
        self._title_tokens = {rec.isrc: _words.tokens(rec.title) for rec in everything}
        self._artist_tokens = {
            rec.isrc: tuple(_words.tokens(name) for name in rec.artists) for rec in everything
        }
        self._by_title: dict[tuple[str, ...], list[Recording]] = {}
        self._by_artist: dict[tuple[str, ...], list[Recording]] = {}
        for rec in everything:
            self._by_title.setdefault(self._title_tokens[rec.isrc], []).append(rec)
            for words in self._artist_tokens[rec.isrc]:
                self._by_artist.setdefault(words, []).append(rec)
        self._playlists: dict[tuple[Service, str], CatalogEntry] = {}
        for entry in self.catalog.entries.values():
            for key in (entry.playlist_id, entry.url):
                self._playlists[(entry.service, self._playlist_key(entry.service, key))] = entry
        self._ranked: Callable[[Service, Genre, datetime.date], tuple[Recording, ...]]
        self._ranked = functools.lru_cache(maxsize=256)(self._rank)
        self._routes: dict[str, Callable[[_Call], SandboxResponse]] = {
            "spotify23.p.rapidapi.com": self._spotify23,
            "apple-music24.p.rapidapi.com": self._apple_music24,
            "soundcloud-scraper.p.rapidapi.com": self._soundcloud_scraper,
            "spotify81.p.rapidapi.com": self._spotify81,
            "accounts.spotify.com": self._spotify_accounts,
            "api.spotify.com": self._spotify_api,
            "www.googleapis.com": self._youtube,
            "youtube.googleapis.com": self._youtube,
            "open.spotify.com": self._spotify_pages,
            "music.apple.com": self._apple_pages,
            "soundcloud.com": self._soundcloud_pages,
            "www.soundcloud.com": self._soundcloud_pages,
            "m.soundcloud.com": self._soundcloud_pages,
        }

    # --- inspection ------------------------------------------------------------------------

    def recordings(self, genre: Genre) -> tuple[Recording, ...]:
        """Every recording of a genre's pool, in a fixed order."""
        return self._pools[genre]

    def recording(self, isrc: str) -> Recording | None:
        """The recording with this ISRC, if the world has one."""
        return self._by_isrc.get(isrc)

    def playlist(self, service: Service, genre: Genre, as_of: datetime.date) -> list[Recording]:
        """A service's flagship playlist for a genre on a date, in rank order."""
        return list(self._ranked(service, genre, as_of))

    def spotify_play_count(self, rec: Recording, as_of: datetime.date) -> int:
        """The Spotify play count on a date; strictly increasing from one day to the next."""
        return self._count(rec.spotify_base_plays, rec.spotify_daily_plays, rec.isrc, as_of)

    def youtube_view_count(self, rec: Recording, as_of: datetime.date) -> int | None:
        """The view count of the recording's official video on a date, None without a video."""
        video = self._official.get(rec.isrc)
        return None if video is None else self._views(video, as_of)

    def spotify_popularity(self, rec: Recording, as_of: datetime.date) -> int:
        """Spotify's 0-100 popularity on a date, from the shared strength."""
        day = as_of.toordinal() - COUNT_EPOCH
        return max(0, min(100, round(52 + 14 * rec.strength(day))))

    def search_spotify(self, query: str) -> list[Recording]:
        """What Spotify search finds for a `q`: `isrc:X`, `track:T artist:A` or free text."""
        filters, free = _parse_search(query)
        if "isrc" in filters:
            found = [r for r in [self._by_isrc.get(filters["isrc"].strip().upper())] if r]
        elif "track" in filters:
            found = list(self._by_title.get(_words.tokens(filters["track"]), []))
            if "artist" in filters:
                found = [r for r in found if self._artist_matches(r, filters["artist"])]
            if free:
                found = [r for r in found if set(_words.tokens(free)) <= self._words_of(r)]
        else:
            words = _words.tokens(f"{free} {filters.get('artist', '')}")
            found = self._match_text(words) or self._match_words(words)
        return [rec for rec in found if rec.on_spotify]

    def search_youtube(self, query: str) -> list[Video]:
        """What YouTube search returns: the official video first when one matches, then others."""
        words = _words.tokens(query.replace('"', " "))
        found = self._match_text(words)
        results: list[Video] = []
        banned = {word for word in words if len(word) >= 3}
        if found:
            rec = found[0]
            video = self._official.get(rec.isrc)
            if video is not None:
                results.append(video)
            banned.add(" ".join(self._title_tokens[rec.isrc]))
            banned.update(" ".join(artist) for artist in self._artist_tokens[rec.isrc])
        wanted = len(results) + 2
        start = int(hashlib.sha256(query.encode()).hexdigest()[:8], 16)
        pool = self._unrelated
        for i in range(len(pool)):
            candidate = pool[(start + i) % len(pool)]
            title = " ".join(_words.tokens(candidate.title))
            if not any(term in title for term in banned):
                results.append(candidate)
                if len(results) >= wanted:
                    break
        return results

    # --- simulation ------------------------------------------------------------------------

    def _rank(self, service: Service, genre: Genre, as_of: datetime.date) -> tuple[Recording, ...]:
        day = as_of.toordinal() - COUNT_EPOCH
        rng = random.Random(f"{self.seed}:rank:{service.value}:{genre.value}:{as_of.isoformat()}")
        scored: list[tuple[float, int]] = []
        pool = self._pools[genre]
        for index, rec in enumerate(pool):
            noise = rng.gauss(0.0, _DAILY_NOISE)
            if service is Service.SPOTIFY and not rec.on_spotify:
                continue
            scored.append((rec.strength(day) + rec.service_bias[service.priority] + noise, index))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return tuple(pool[index] for _, index in scored[: PLAYLIST_SIZES[service]])

    def _count(self, base: int, daily: int, key: str, as_of: datetime.date) -> int:
        day = as_of.toordinal() - COUNT_EPOCH
        noise = random.Random(f"{self.seed}:count:{key}:{as_of.isoformat()}").randrange(daily // 2)
        return max(0, base + daily * day + noise)

    def _views(self, video: Video, as_of: datetime.date) -> int:
        return self._count(video.base_views, video.daily_views, video.video_id, as_of)

    def _soundcloud_plays(self, rec: Recording, as_of: datetime.date) -> int:
        day = as_of.toordinal() - COUNT_EPOCH
        return max(0, rec.soundcloud_base_plays + rec.soundcloud_daily_plays * day)

    def _words_of(self, rec: Recording) -> set[str]:
        words = set(self._title_tokens[rec.isrc])
        for artist in self._artist_tokens[rec.isrc]:
            words.update(artist)
        return words

    def _artist_matches(self, rec: Recording, credit: str) -> bool:
        wanted = {_words.tokens(credit), _words.tokens(_words.first_artist(credit))}
        return any(words in wanted for words in self._artist_tokens[rec.isrc])

    def _match_words(self, words: tuple[str, ...]) -> list[Recording]:
        """The loose fallback: recordings whose title and artists hold every word, by strength."""
        if not words:
            return []
        wanted = set(words)
        found = [rec for rec in self._by_isrc.values() if wanted <= self._words_of(rec)]
        return sorted(found, key=lambda rec: (-rec.popularity, rec.isrc))

    def _match_text(self, words: tuple[str, ...]) -> list[Recording]:
        """Recordings whose title and an artist make up the text ("<title> <artist>" or reverse).

        Extra words may follow ("... official video"); a title alone matches too, after the
        matches that also name an artist.
        """
        with_artist: list[Recording] = []
        title_only: list[Recording] = []
        for cut in range(1, len(words) + 1):
            head, rest = words[:cut], words[cut:]
            for rec in self._by_title.get(head, ()):
                if not rest:
                    title_only.append(rec)
                elif any(rest[: len(a)] == a for a in self._artist_tokens[rec.isrc]):
                    with_artist.append(rec)
            for rec in self._by_artist.get(head, ()):
                title = self._title_tokens[rec.isrc]
                if rest and rest[: len(title)] == title:
                    with_artist.append(rec)
        unique: dict[str, Recording] = {}
        for rec in [*with_artist, *title_only]:
            unique.setdefault(rec.isrc, rec)
        return list(unique.values())

    # --- routing ---------------------------------------------------------------------------

    def handle(self, request: SandboxRequest, as_of: datetime.date) -> SandboxResponse:
        """Answer one request as the real provider would on `as_of`; unknown routes get 404."""
        parts = urlsplit(request.url)
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, value)
        call = _Call(
            method=request.method.upper(),
            url=request.url,
            host=(parts.hostname or "").lower(),
            path=parts.path.rstrip("/") or "/",
            query=query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.body or b"",
            as_of=as_of,
        )
        route = self._routes.get(call.host)
        if route is None:
            return _html(404, _render.not_found_html(request.url))
        return route(call)

    def _playlist_key(self, service: Service, text: str) -> str:
        """The part of a playlist id or URL that identifies it on its service."""
        path = urlsplit(text).path.strip("/") if "://" in text else text.strip("/")
        if service is Service.SOUNDCLOUD:
            return path.lower()
        return path.rsplit("/", 1)[-1]

    def _entry(self, service: Service, text: str) -> CatalogEntry | None:
        return self._playlists.get((service, self._playlist_key(service, text)))

    def _cover_hex(self, entry: CatalogEntry, length: int) -> str:
        rng = random.Random(f"{self.seed}:cover:{entry.service.value}:{entry.genre.value}")
        return random_id(rng, "0123456789abcdef", length)

    # --- RapidAPI --------------------------------------------------------------------------

    @staticmethod
    def _rapidapi_guard(
        call: _Call, routes: Mapping[str, Callable[[_Call], SandboxResponse]]
    ) -> SandboxResponse:
        if not call.headers.get("x-rapidapi-key", "").strip():
            return _json(401, {"message": _RAPIDAPI_KEY_MESSAGE})
        handler = routes.get(call.path)
        if handler is None:
            return _json(404, {"message": f"Endpoint '{call.path}' does not exist"})
        if call.method != "GET":
            return _json(405, {"message": f"Method {call.method} not allowed"})
        return handler(call)

    def _spotify23(self, call: _Call) -> SandboxResponse:
        return self._rapidapi_guard(call, {"/playlist_tracks": self._spotify23_playlist})

    def _spotify23_playlist(self, call: _Call) -> SandboxResponse:
        playlist_id = call.query.get("id", "").strip()
        if not playlist_id:
            return _json(400, {"message": "Missing required parameter: id"})
        entry = self._entry(Service.SPOTIFY, playlist_id)
        if entry is None:
            return _json(404, {"message": "Playlist not found"})
        offset = _int_param(call.query, "offset", 0)
        limit = _int_param(call.query, "limit", 100)
        if offset is None or offset < 0 or limit is None or not 1 <= limit <= 100:
            return _json(400, {"message": "offset must be >= 0 and limit between 1 and 100"})
        return _json(200, self._spotify_paging(entry, offset, limit, call.as_of, items_alias=False))

    def _spotify_paging(
        self,
        entry: CatalogEntry,
        offset: int,
        limit: int,
        as_of: datetime.date,
        *,
        items_alias: bool,
    ) -> JsonObject:
        tracks = self.playlist(Service.SPOTIFY, entry.genre, as_of)
        base = f"https://api.spotify.com/v1/playlists/{entry.playlist_id}/tracks"
        items: list[JsonObject] = []
        for position, rec in enumerate(tracks[offset : offset + limit], start=offset):
            track = _render.spotify_track(rec, self.spotify_popularity(rec, as_of))
            added = as_of - datetime.timedelta(days=(position * 7919) % 28)
            item: JsonObject = {
                "added_at": _render.iso_date(added),
                "added_by": {
                    "external_urls": {"spotify": "https://open.spotify.com/user/spotify"},
                    "href": "https://api.spotify.com/v1/users/spotify",
                    "id": "spotify",
                    "type": "user",
                    "uri": "spotify:user:spotify",
                },
                "is_local": False,
                "primary_color": None,
                "video_thumbnail": {"url": None},
            }
            if items_alias:
                item["item"] = track
            item["track"] = track
            items.append(item)
        total = len(tracks)
        return {
            "href": f"{base}?offset={offset}&limit={limit}",
            "items": items,
            "limit": limit,
            "next": f"{base}?offset={offset + limit}&limit={limit}"
            if offset + limit < total
            else None,
            "offset": offset,
            "previous": f"{base}?offset={max(0, offset - limit)}&limit={limit}" if offset else None,
            "total": total,
        }

    def _apple_music24(self, call: _Call) -> SandboxResponse:
        return self._rapidapi_guard(call, {"/playlist1": self._apple_playlist})

    def _apple_playlist(self, call: _Call) -> SandboxResponse:
        url = call.query.get("url", "").strip()
        if not url:
            return _json(400, {"message": "Missing required parameter: url"})
        entry = self._entry(Service.APPLE_MUSIC, url)
        if entry is None or urlsplit(url).hostname != "music.apple.com":
            return _json(404, {"message": "Playlist not found"})
        tracks = self.playlist(Service.APPLE_MUSIC, entry.genre, call.as_of)
        details = {str(i): _render.apple_item(rec) for i, rec in enumerate(tracks)}
        return _json(200, {"album_details": details})

    def _soundcloud_scraper(self, call: _Call) -> SandboxResponse:
        return self._rapidapi_guard(call, {"/v1/playlist/tracks": self._soundcloud_playlist})

    def _soundcloud_playlist(self, call: _Call) -> SandboxResponse:
        url = call.query.get("playlist", "").strip()
        if not url:
            return _json(400, {"message": "Missing required parameter: playlist"})
        entry = self._entry(Service.SOUNDCLOUD, url)
        if entry is None:
            return _json(404, {"message": "Playlist not found"})
        offset = _int_param(call.query, "offset", 0)
        if offset is None or offset < 0:
            return _json(400, {"message": "offset must be a non-negative integer"})
        tracks = self.playlist(Service.SOUNDCLOUD, entry.genre, call.as_of)
        page = tracks[offset : offset + SOUNDCLOUD_PAGE_SIZE]
        end = offset + SOUNDCLOUD_PAGE_SIZE
        label = _words.genre_label(entry.genre)
        items = [
            _render.soundcloud_item(rec, self._soundcloud_plays(rec, call.as_of), label)
            for rec in page
        ]
        rng = random.Random(f"{self.seed}:soundcloud-playlist:{entry.genre.value}")
        return _json(
            200,
            {
                "status": True,
                "errorId": "Success",
                "type": "playlist",
                "id": int("1" + random_id(rng, string.digits, 9)),
                "permalinkUrl": entry.url,
                "tracks": {"nextOffset": end if end < len(tracks) else None, "items": items},
            },
        )

    def _spotify81(self, call: _Call) -> SandboxResponse:
        return self._rapidapi_guard(call, {"/partner/track/count": self._spotify_count})

    def _spotify_count(self, call: _Call) -> SandboxResponse:
        track_id = call.query.get("spotify_track_id", "").strip()
        isrc = call.query.get("isrc", "").strip().upper()
        if not track_id and not isrc:
            return _json(400, {"message": "Missing required parameter: spotify_track_id"})
        rec = self._by_spotify_id.get(track_id) if track_id else None
        if rec is None and isrc:
            found = self._by_isrc.get(isrc)
            rec = found if found is not None and found.on_spotify else None
        if rec is None:
            return _json(404, {"message": "Track not found"})
        return _json(
            200, {"result": "success", "streams": self.spotify_play_count(rec, call.as_of)}
        )

    # --- Spotify Web API -------------------------------------------------------------------

    def _spotify_accounts(self, call: _Call) -> SandboxResponse:
        if call.path != "/api/token":
            return _json(404, {"error": "not_found", "error_description": "Not found"})
        if call.method != "POST":
            return _json(405, {"error": "invalid_request", "error_description": "Use POST"})
        authorization = call.headers.get("authorization", "")
        if not authorization.strip():
            return _json(
                400, {"error": "invalid_client", "error_description": "Invalid client secret"}
            )
        form = dict(parse_qsl(call.body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
            )
        rng = random.Random(f"{self.seed}:token:{call.as_of.isoformat()}:{authorization}")
        token = "BQ" + random_id(rng, string.ascii_letters + string.digits + "-_", 113)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _spotify_api(self, call: _Call) -> SandboxResponse:
        authorization = call.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _json(401, _render.spotify_error(401, "No token provided"))
        if call.method != "GET":
            return _json(405, _render.spotify_error(405, "Method not allowed"))
        if call.path == "/v1/search":
            return self._spotify_search(call)
        match = re.fullmatch(r"/v1/playlists/([^/]+)/(tracks|items)", call.path)
        if match:
            entry = self._entry(Service.SPOTIFY, match.group(1))
            if entry is None:
                return _json(404, _render.spotify_error(404, "Resource not found"))
            offset = _int_param(call.query, "offset", 0)
            limit = _int_param(call.query, "limit", 20)
            if limit is None or not 1 <= limit <= 50:
                return _json(400, _render.spotify_error(400, "Invalid limit"))
            if offset is None or offset < 0:
                return _json(400, _render.spotify_error(400, "Invalid offset"))
            paging = self._spotify_paging(
                entry, offset, limit, call.as_of, items_alias=match.group(2) == "items"
            )
            return _json(200, paging)
        return _json(404, _render.spotify_error(404, "Service not found"))

    def _spotify_search(self, call: _Call) -> SandboxResponse:
        query = call.query.get("q", "")
        if not query.strip():
            return _json(400, _render.spotify_error(400, "No search query"))
        types = [t.strip() for t in call.query.get("type", "").split(",") if t.strip()]
        if not types:
            return _json(400, _render.spotify_error(400, "Missing parameter type"))
        limit = _int_param(call.query, "limit", 5)
        if limit is None or not 1 <= limit <= _SPOTIFY_SEARCH_MAX_LIMIT:
            return _json(400, _render.spotify_error(400, "Invalid limit"))
        offset = _int_param(call.query, "offset", 0)
        if offset is None or not 0 <= offset <= 1000:
            return _json(400, _render.spotify_error(400, "Invalid offset"))
        body: JsonObject = {}
        for kind in types:
            found = self.search_spotify(query) if kind == "track" else []
            page = found[offset : offset + limit]
            more = offset + limit < len(found)
            body[f"{kind}s"] = {
                "href": _render.spotify_search_href(query, offset, limit),
                "items": [
                    _render.spotify_track(rec, self.spotify_popularity(rec, call.as_of))
                    for rec in page
                ],
                "limit": limit,
                "next": _render.spotify_search_href(query, offset + limit, limit) if more else None,
                "offset": offset,
                "previous": (
                    _render.spotify_search_href(query, max(0, offset - limit), limit)
                    if offset
                    else None
                ),
                "total": len(found),
            }
        return _json(200, body)

    # --- YouTube Data API ------------------------------------------------------------------

    def _youtube(self, call: _Call) -> SandboxResponse:
        if "key" not in call.query:
            return _json(
                403,
                _render.youtube_error(403, "The request is missing a valid API key.", "forbidden"),
            )
        if not call.query["key"].strip():
            return _json(
                400,
                _render.youtube_error(
                    400, "API key not valid. Please pass a valid API key.", "keyInvalid", "global"
                ),
            )
        routes = {
            "/youtube/v3/search": self._youtube_search,
            "/youtube/v3/videos": self._youtube_videos,
        }
        handler = routes.get(call.path)
        if handler is None:
            return _json(404, _render.youtube_error(404, "Not Found", "notFound"))
        if call.method != "GET":
            return _json(405, _render.youtube_error(405, "Method not allowed", "methodNotAllowed"))
        if not call.query.get("part", "").strip():
            return _json(
                400,
                _render.youtube_error(400, "Required parameter: part", "required", "global"),
            )
        return handler(call)

    def _youtube_search(self, call: _Call) -> SandboxResponse:
        limit = _int_param(call.query, "maxResults", 5)
        if limit is None or not 0 <= limit <= 50:
            return _json(
                400,
                _render.youtube_error(
                    400,
                    "Invalid value for maxResults: must be between 0 and 50.",
                    "invalidParameter",
                ),
            )
        query = call.query.get("q", "")
        videos = self.search_youtube(query)[:limit]
        return _json(
            200,
            {
                "kind": "youtube#searchListResponse",
                "etag": _render.etag("search", query, limit),
                "nextPageToken": "CAUQAA",
                "regionCode": "US",
                "pageInfo": {"totalResults": 1000 + len(query) * 37, "resultsPerPage": limit},
                "items": [_render.youtube_search_item(video) for video in videos],
            },
        )

    def _youtube_videos(self, call: _Call) -> SandboxResponse:
        raw_ids = call.query.get("id")
        if raw_ids is None:
            return _json(
                400,
                _render.youtube_error(
                    400,
                    "No filter selected. Expected one of: id, chart, myRated.",
                    "missingRequiredParameter",
                    "youtube.parameter",
                ),
            )
        ids = list(dict.fromkeys(i.strip() for i in raw_ids.split(",") if i.strip()))
        if len(ids) > _YOUTUBE_MAX_IDS:
            return _json(
                400,
                _render.youtube_error(
                    400,
                    f"The request names {len(ids)} video ids; the maximum is {_YOUTUBE_MAX_IDS}.",
                    "invalidFilters",
                    "youtube.parameter",
                ),
            )
        parts = [p.strip() for p in call.query["part"].split(",")]
        items = [
            _render.youtube_video_item(
                self._videos[i], self._views(self._videos[i], call.as_of), parts
            )
            for i in ids
            if i in self._videos
        ]
        return _json(
            200,
            {
                "kind": "youtube#videoListResponse",
                "etag": _render.etag("videos", ",".join(ids), call.as_of.isoformat()),
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            },
        )

    # --- public pages ----------------------------------------------------------------------

    def _spotify_pages(self, call: _Call) -> SandboxResponse:
        parts = call.path.strip("/").split("/")
        if call.method == "GET" and len(parts) == 2 and parts[0] == "playlist":
            entry = self._entry(Service.SPOTIFY, parts[1])
            if entry is not None:
                tracks = self.playlist(Service.SPOTIFY, entry.genre, call.as_of)
                rng = random.Random(f"{self.seed}:likes:{entry.genre.value}")
                page = _render.spotify_playlist_html(
                    entry.playlist_id,
                    _render.playlist_text(Service.SPOTIFY, entry.genre),
                    f"https://i.scdn.co/image/ab67706f00000002{self._cover_hex(entry, 24)}",
                    len(tracks),
                    tracks[0].artists[0],
                    rng.randrange(2_000_000, 36_000_000),
                )
                return _html(200, page)
        if call.method == "GET" and len(parts) == 2 and parts[0] == "track":
            rec = self._by_spotify_id.get(parts[1])
            if rec is not None:
                return _html(
                    200, _render.spotify_track_html(rec, self.spotify_play_count(rec, call.as_of))
                )
        return _html(404, _render.not_found_html(call.url))

    def _apple_pages(self, call: _Call) -> SandboxResponse:
        parts = call.path.strip("/").split("/")
        if call.method == "GET" and len(parts) == 4 and parts[1] == "playlist":
            entry = self._entry(Service.APPLE_MUSIC, parts[3])
            if entry is not None:
                h = self._cover_hex(entry, 32)
                uuid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
                cover = (
                    f"https://is1-ssl.mzstatic.com/image/thumb/Features126/v4/{h[:2]}/{h[2:4]}/"
                    f"{h[4:6]}/{uuid}/{entry.genre.value}.jpg/1200x1200bb.jpg"
                )
                video = (
                    f"https://mvod.itunes.apple.com/itunes-assets/HLSVideo126/v4/{h[:2]}/{h[2:4]}/"
                    f"{h[4:6]}/{uuid}/P{int(h[:10], 16)}_default.m3u8"
                )
                text = _render.playlist_text(Service.APPLE_MUSIC, entry.genre)
                return _html(200, _render.apple_playlist_html(entry.url, text, cover, video))
        if call.method == "GET" and len(parts) == 4 and parts[1] == "album":
            rec = self._by_apple_album.get(parts[3])
            if rec is not None:
                return _html(200, _render.apple_album_html(rec))
        return _html(404, _render.not_found_html(call.url))

    def _soundcloud_pages(self, call: _Call) -> SandboxResponse:
        parts = call.path.strip("/").split("/")
        if call.method == "GET" and len(parts) == 3 and parts[1] == "sets":
            entry = self._entry(Service.SOUNDCLOUD, "/".join(parts))
            if entry is not None:
                tracks = self.playlist(Service.SOUNDCLOUD, entry.genre, call.as_of)
                rng = random.Random(f"{self.seed}:soundcloud-cover:{entry.genre.value}")
                cover = (
                    f"https://i1.sndcdn.com/artworks-000{random_id(rng, string.digits, 9)}-"
                    f"{random_id(rng, string.ascii_lowercase + string.digits, 6)}-t500x500.jpg"
                )
                name = " ".join(word.capitalize() for word in parts[2].split("-"))
                user = " ".join(word.capitalize() for word in parts[0].split("-"))
                url = f"https://soundcloud.com/{'/'.join(parts)}"
                return _html(
                    200, _render.soundcloud_playlist_html(url, name, user, cover, len(tracks))
                )
        return _html(404, _render.not_found_html(call.url))
