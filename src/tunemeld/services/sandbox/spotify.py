"""Spotify's fake endpoints: the RapidAPI playlist and play-count scrapers, the Web API, pages.

Shapes: reference/providers.md §1 (Web API), §2.1 (spotify23), §2.4 (spotify81) and §6.
"""

from __future__ import annotations

import datetime
import html
import random
import re
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode

from tunemeld.models import Service
from tunemeld.services.sandbox import _render
from tunemeld.services.sandbox._pool import random_id
from tunemeld.services.sandbox.exchange import (
    Call,
    Endpoint,
    JsonObject,
    SandboxResponse,
    html_answer,
    int_param,
    json_answer,
    rapidapi,
)

if TYPE_CHECKING:
    from tunemeld.config.catalog import CatalogEntry
    from tunemeld.services.sandbox._pool import Recording
    from tunemeld.services.sandbox.world import SampleWorld

__all__ = ["HOSTS", "carries", "endpoint_name"]

_SEARCH_MAX_LIMIT = 10


_SPOTIFY_API = "https://api.spotify.com/v1"


def _spotify_artist(artist_id: str, name: str) -> JsonObject:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        "href": f"{_SPOTIFY_API}/artists/{artist_id}",
        "id": artist_id,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def _track(rec: Recording, popularity: int) -> JsonObject:
    """A full Spotify Track object (§1.3) with album images, artists and external ids."""
    artists = [
        _spotify_artist(i, n) for i, n in zip(rec.spotify_artist_ids, rec.artists, strict=True)
    ]
    sizes = (640, 300, 64)
    album: JsonObject = {
        "album_type": rec.album_type,
        "artists": artists[:1],
        "external_urls": {"spotify": f"https://open.spotify.com/album/{rec.spotify_album_id}"},
        "href": f"{_SPOTIFY_API}/albums/{rec.spotify_album_id}",
        "id": rec.spotify_album_id,
        "images": [
            {"height": size, "url": url, "width": size}
            for size, url in zip(sizes, rec.spotify_cover_urls, strict=True)
        ],
        "name": rec.album,
        "release_date": rec.release_date,
        "release_date_precision": "day",
        "total_tracks": 1 if rec.album_type == "single" else 12,
        "type": "album",
        "uri": f"spotify:album:{rec.spotify_album_id}",
    }
    return {
        "album": album,
        "artists": artists,
        "disc_number": 1,
        "duration_ms": rec.duration_ms,
        "explicit": rec.explicit,
        "external_ids": {"isrc": rec.isrc},
        "external_urls": {"spotify": rec.spotify_url},
        "href": f"{_SPOTIFY_API}/tracks/{rec.spotify_track_id}",
        "id": rec.spotify_track_id,
        "is_local": False,
        "name": rec.title,
        "popularity": popularity,
        "preview_url": None,
        "track_number": 1,
        "type": "track",
        "uri": f"spotify:track:{rec.spotify_track_id}",
    }


def _error(status: int, message: str) -> SandboxResponse:
    """A Web API error answer: `{error: {status, message}}` (§1.5)."""
    return json_answer(status, {"error": {"status": status, "message": message}})


def _search_href(query: str, offset: int, limit: int) -> str:
    """The `href`/`next` URL Spotify puts in a search paging object."""
    params = {"offset": offset, "limit": limit, "query": query, "type": "track"}
    return f"{_SPOTIFY_API}/search?{urlencode(params, quote_via=quote)}"


def _short_count(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}K"
    return str(value)


def _playlist_html(
    playlist_id: str,
    text: _render.PlaylistText,
    cover: str,
    tracks: int,
    cover_artist: str,
    likes: int,
) -> str:
    """The open.spotify.com playlist page: og tags with the track count and the cover artist."""
    description = f"{text.description} Cover: {cover_artist}"
    og_description = f"{description} · Playlist · {tracks} songs · {_short_count(likes)} likes"
    body = (
        f"    <main><h1>{html.escape(text.name, quote=False)}</h1>\n"
        f'    <span class="description">{html.escape(description, quote=False)}</span></main>'
    )
    metas = {
        "og:title": text.name,
        "og:description": og_description,
        "og:image": cover,
        "og:type": "music.playlist",
        "og:url": f"https://open.spotify.com/playlist/{playlist_id}",
        "description": og_description,
    }
    return _render.page(f"{text.name} | Spotify Playlist", metas, body, site="Spotify")


def _track_html(rec: Recording, plays: int) -> str:
    """The open.spotify.com track page with its rendered play count (`data-testid="playcount"`)."""
    metas = {
        "og:title": rec.title,
        "og:description": f"{rec.artist} · {rec.album} · Song · {rec.release_date[:4]}",
        "og:image": rec.spotify_cover_urls[0],
        "og:type": "music.song",
        "og:url": rec.spotify_url,
    }
    body = (
        f"    <main><h1>{html.escape(rec.title, quote=False)}</h1>\n"
        f'    <span data-testid="playcount">{plays:,}</span></main>'
    )
    return _render.page(
        f"{rec.title} - song by {rec.artist} | Spotify", metas, body, site="Spotify"
    )


def _iso_date(day: datetime.date, hour: int = 4) -> str:
    """A date as the UTC timestamp string the APIs use."""
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


_FAMOUS = {
    "country": _render.PlaylistText("Hot Country", "Today's top country hits.", "Spotify"),
    "dance": _render.PlaylistText("mint", "The world's biggest dance hits.", "Spotify"),
    "pop": _render.PlaylistText("Today's Top Hits", "The hottest 50 songs right now.", "Spotify"),
    "rap": _render.PlaylistText("RapCaviar", "New music from the biggest names in rap.", "Spotify"),
}
"""The real flagship playlists' texts, for the genres named after them."""


def _playlist_text(genre: str) -> _render.PlaylistText:
    """The name, description and curator of a genre's flagship playlist, for any genre name."""
    label = genre.replace("-", " ").title()
    default = _render.PlaylistText(f"Hot {label}", f"Today's top {label} hits.", "Spotify")
    return _FAMOUS.get(genre, default)


def _playlist_tracks(world: SampleWorld, call: Call) -> SandboxResponse:
    playlist_id = call.query.get("id", "").strip()
    if not playlist_id:
        return json_answer(400, {"message": "Missing required parameter: id"})
    entry = world.entry(Service.SPOTIFY, playlist_id)
    if entry is None:
        return json_answer(404, {"message": "Playlist not found"})
    offset = int_param(call.query, "offset", 0)
    limit = int_param(call.query, "limit", 100)
    if offset is None or offset < 0 or limit is None or not 1 <= limit <= 100:
        return json_answer(400, {"message": "offset must be >= 0 and limit between 1 and 100"})
    return json_answer(200, _paging(world, entry, offset, limit, call.as_of, items_alias=False))


def _paging(
    world: SampleWorld,
    entry: CatalogEntry,
    offset: int,
    limit: int,
    as_of: datetime.date,
    *,
    items_alias: bool,
) -> JsonObject:
    tracks = world.playlist(Service.SPOTIFY, entry.genre, as_of)
    base = f"https://api.spotify.com/v1/playlists/{entry.playlist_id}/tracks"
    items: list[JsonObject] = []
    for position, rec in enumerate(tracks[offset : offset + limit], start=offset):
        track = _track(rec, world.spotify_popularity(rec, as_of))
        added = as_of - datetime.timedelta(days=(position * 7919) % 28)
        item: JsonObject = {
            "added_at": _iso_date(added),
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
        "next": f"{base}?offset={offset + limit}&limit={limit}" if offset + limit < total else None,
        "offset": offset,
        "previous": f"{base}?offset={max(0, offset - limit)}&limit={limit}" if offset else None,
        "total": total,
    }


def _play_count(world: SampleWorld, call: Call) -> SandboxResponse:
    track_id = call.query.get("spotify_track_id", "").strip()
    isrc = call.query.get("isrc", "").strip().upper()
    if not track_id and not isrc:
        return json_answer(400, {"message": "Missing required parameter: spotify_track_id"})
    rec = world.recording_by_spotify_id(track_id) if track_id else None
    if rec is None and isrc:
        found = world.recording(isrc)
        rec = found if found is not None and found.on_spotify else None
    if rec is None:
        return json_answer(404, {"message": "Track not found"})
    return json_answer(
        200, {"result": "success", "streams": world.spotify_play_count(rec, call.as_of)}
    )


def _accounts(world: SampleWorld, call: Call) -> SandboxResponse:
    if call.path != "/api/token":
        return json_answer(404, {"error": "not_found", "error_description": "Not found"})
    if call.method != "POST":
        return json_answer(405, {"error": "invalid_request", "error_description": "Use POST"})
    authorization = call.headers.get("authorization", "")
    if not authorization.strip():
        return json_answer(
            400, {"error": "invalid_client", "error_description": "Invalid client secret"}
        )
    form = dict(parse_qsl(call.body.decode("utf-8", "replace"), keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        return json_answer(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            },
        )
    rng = random.Random(f"{world.seed}:token:{call.as_of.isoformat()}:{authorization}")
    token = "BQ" + random_id(rng, string.ascii_letters + string.digits + "-_", 113)
    return json_answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})


def _web_api(world: SampleWorld, call: Call) -> SandboxResponse:
    authorization = call.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "No token provided")
    if call.method != "GET":
        return _error(405, "Method not allowed")
    if call.path == "/v1/search":
        return _search(world, call)
    match = re.fullmatch(r"/v1/playlists/([^/]+)/(tracks|items)", call.path)
    if match:
        entry = world.entry(Service.SPOTIFY, match.group(1))
        if entry is None:
            return _error(404, "Resource not found")
        offset = int_param(call.query, "offset", 0)
        limit = int_param(call.query, "limit", 20)
        if limit is None or not 1 <= limit <= 50:
            return _error(400, "Invalid limit")
        if offset is None or offset < 0:
            return _error(400, "Invalid offset")
        paging = _paging(
            world, entry, offset, limit, call.as_of, items_alias=match.group(2) == "items"
        )
        return json_answer(200, paging)
    return _error(404, "Service not found")


def _search(world: SampleWorld, call: Call) -> SandboxResponse:
    query = call.query.get("q", "")
    if not query.strip():
        return _error(400, "No search query")
    types = [t.strip() for t in call.query.get("type", "").split(",") if t.strip()]
    if not types:
        return _error(400, "Missing parameter type")
    limit = int_param(call.query, "limit", 5)
    if limit is None or not 1 <= limit <= _SEARCH_MAX_LIMIT:
        return _error(400, "Invalid limit")
    offset = int_param(call.query, "offset", 0)
    if offset is None or not 0 <= offset <= 1000:
        return _error(400, "Invalid offset")
    body: JsonObject = {}
    for kind in types:
        found = world.search_spotify(query) if kind == "track" else []
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        body[f"{kind}s"] = {
            "href": _search_href(query, offset, limit),
            "items": [_track(rec, world.spotify_popularity(rec, call.as_of)) for rec in page],
            "limit": limit,
            "next": _search_href(query, offset + limit, limit) if more else None,
            "offset": offset,
            "previous": (_search_href(query, max(0, offset - limit), limit) if offset else None),
            "total": len(found),
        }
    return json_answer(200, body)


def _pages(world: SampleWorld, call: Call) -> SandboxResponse:
    parts = call.path.strip("/").split("/")
    if call.method == "GET" and len(parts) == 2 and parts[0] == "playlist":
        entry = world.entry(Service.SPOTIFY, parts[1])
        if entry is not None:
            tracks = world.playlist(Service.SPOTIFY, entry.genre, call.as_of)
            rng = random.Random(f"{world.seed}:likes:{entry.genre.value}")
            page = _playlist_html(
                entry.playlist_id,
                _playlist_text(entry.genre),
                f"https://i.scdn.co/image/ab67706f00000002{world.cover_hex(entry, 24)}",
                len(tracks),
                tracks[0].artists[0],
                rng.randrange(2_000_000, 36_000_000),
            )
            return html_answer(200, page)
    if call.method == "GET" and len(parts) == 2 and parts[0] == "track":
        rec = world.recording_by_spotify_id(parts[1])
        if rec is not None:
            return html_answer(200, _track_html(rec, world.spotify_play_count(rec, call.as_of)))
    return html_answer(404, _render.not_found_html(call.url))


HOSTS: Mapping[str, Endpoint] = {
    "spotify23.p.rapidapi.com": rapidapi("/playlist_tracks", _playlist_tracks),
    "spotify81.p.rapidapi.com": rapidapi("/partner/track/count", _play_count),
    "accounts.spotify.com": _accounts,
    "api.spotify.com": _web_api,
    "open.spotify.com": _pages,
}

_NAMES = {
    "spotify23.p.rapidapi.com": "playlist_tracks",
    "spotify81.p.rapidapi.com": "play_count",
    "accounts.spotify.com": "token",
    "open.spotify.com": "playlist_page",
}


def endpoint_name(host: str, path: str) -> str:
    if host == "api.spotify.com":
        return "search" if path.rstrip("/") == "/v1/search" else "web_api"
    return _NAMES[host]


def carries(rec: Recording) -> bool:
    return rec.on_spotify
