"""Spotify's fake endpoints: the RapidAPI playlist and play-count scrapers, the Web API, pages.

Each function answers one host's requests from the `SampleWorld`, in the shapes of
reference/providers.md (§1 Web API, §2.1 spotify23, §2.4 spotify81, §6 open.spotify.com).
"""

from __future__ import annotations

import datetime
import random
import re
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

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
        track = _render.spotify_track(rec, world.spotify_popularity(rec, as_of))
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
        return json_answer(401, _render.spotify_error(401, "No token provided"))
    if call.method != "GET":
        return json_answer(405, _render.spotify_error(405, "Method not allowed"))
    if call.path == "/v1/search":
        return _search(world, call)
    match = re.fullmatch(r"/v1/playlists/([^/]+)/(tracks|items)", call.path)
    if match:
        entry = world.entry(Service.SPOTIFY, match.group(1))
        if entry is None:
            return json_answer(404, _render.spotify_error(404, "Resource not found"))
        offset = int_param(call.query, "offset", 0)
        limit = int_param(call.query, "limit", 20)
        if limit is None or not 1 <= limit <= 50:
            return json_answer(400, _render.spotify_error(400, "Invalid limit"))
        if offset is None or offset < 0:
            return json_answer(400, _render.spotify_error(400, "Invalid offset"))
        paging = _paging(
            world, entry, offset, limit, call.as_of, items_alias=match.group(2) == "items"
        )
        return json_answer(200, paging)
    return json_answer(404, _render.spotify_error(404, "Service not found"))


def _search(world: SampleWorld, call: Call) -> SandboxResponse:
    query = call.query.get("q", "")
    if not query.strip():
        return json_answer(400, _render.spotify_error(400, "No search query"))
    types = [t.strip() for t in call.query.get("type", "").split(",") if t.strip()]
    if not types:
        return json_answer(400, _render.spotify_error(400, "Missing parameter type"))
    limit = int_param(call.query, "limit", 5)
    if limit is None or not 1 <= limit <= _SEARCH_MAX_LIMIT:
        return json_answer(400, _render.spotify_error(400, "Invalid limit"))
    offset = int_param(call.query, "offset", 0)
    if offset is None or not 0 <= offset <= 1000:
        return json_answer(400, _render.spotify_error(400, "Invalid offset"))
    body: JsonObject = {}
    for kind in types:
        found = world.search_spotify(query) if kind == "track" else []
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        body[f"{kind}s"] = {
            "href": _render.spotify_search_href(query, offset, limit),
            "items": [
                _render.spotify_track(rec, world.spotify_popularity(rec, call.as_of))
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
    return json_answer(200, body)


def _pages(world: SampleWorld, call: Call) -> SandboxResponse:
    parts = call.path.strip("/").split("/")
    if call.method == "GET" and len(parts) == 2 and parts[0] == "playlist":
        entry = world.entry(Service.SPOTIFY, parts[1])
        if entry is not None:
            tracks = world.playlist(Service.SPOTIFY, entry.genre, call.as_of)
            rng = random.Random(f"{world.seed}:likes:{entry.genre.value}")
            page = _render.spotify_playlist_html(
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
            return html_answer(
                200, _render.spotify_track_html(rec, world.spotify_play_count(rec, call.as_of))
            )
    return html_answer(404, _render.not_found_html(call.url))


HOSTS: Mapping[str, Endpoint] = {
    "spotify23.p.rapidapi.com": rapidapi("/playlist_tracks", _playlist_tracks),
    "spotify81.p.rapidapi.com": rapidapi("/partner/track/count", _play_count),
    "accounts.spotify.com": _accounts,
    "api.spotify.com": _web_api,
    "open.spotify.com": _pages,
}
"""The hosts this module answers for, and the endpoint of each."""

_NAMES = {
    "spotify23.p.rapidapi.com": "playlist_tracks",
    "spotify81.p.rapidapi.com": "play_count",
    "accounts.spotify.com": "token",
    "open.spotify.com": "playlist_page",
}


def endpoint_name(host: str, path: str) -> str:
    """The client ledger's name for a request's endpoint (`search`, `play_count`)."""
    if host == "api.spotify.com":
        return "search" if path.rstrip("/") == "/v1/search" else "web_api"
    return _NAMES[host]


def carries(rec: Recording) -> bool:
    """Whether Spotify has the recording (some are not on Spotify)."""
    return rec.on_spotify
