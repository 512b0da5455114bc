"""Payload builders: recordings and playlists rendered in Spotify's and YouTube's shapes, and
the pieces every provider's pages share (`page`, `not_found_html`, `PlaylistText`).

Pure functions from sample-world values to JSON-ready dicts or HTML text; the shapes follow
reference/providers.md (§1.3 Track, §3 YouTube, §6 pages). The playlist services' own payloads
are built in their sandbox modules.
"""

from __future__ import annotations

import datetime
import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from tunemeld.services.sandbox._pool import Recording, Video

__all__ = [
    "PlaylistText",
    "etag",
    "iso_date",
    "not_found_html",
    "page",
    "spotify_error",
    "spotify_playlist_html",
    "spotify_search_href",
    "spotify_track",
    "spotify_track_html",
    "youtube_error",
    "youtube_search_item",
    "youtube_video_item",
]

JsonObject = dict[str, object]

_SPOTIFY_API = "https://api.spotify.com/v1"


@dataclass(frozen=True)
class PlaylistText:
    """The name, description and curator a service shows for one genre's flagship playlist."""

    name: str
    description: str
    curator: str


def etag(*parts: object) -> str:
    """A stable opaque ETag-like string for a response (YouTube puts one on every resource)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:27]


# --- Spotify ------------------------------------------------------------------------------


def _spotify_artist(artist_id: str, name: str) -> JsonObject:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        "href": f"{_SPOTIFY_API}/artists/{artist_id}",
        "id": artist_id,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def spotify_track(rec: Recording, popularity: int) -> JsonObject:
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


def spotify_error(status: int, message: str) -> JsonObject:
    """The Web API error body: `{error: {status, message}}` (§1.5)."""
    return {"error": {"status": status, "message": message}}


def spotify_search_href(query: str, offset: int, limit: int) -> str:
    """The `href`/`next` URL Spotify puts in a search paging object."""
    params = {"offset": offset, "limit": limit, "query": query, "type": "track"}
    return f"{_SPOTIFY_API}/search?{urlencode(params, quote_via=quote)}"


# --- YouTube ------------------------------------------------------------------------------


def _thumbnails(video_id: str) -> JsonObject:
    base = f"https://i.ytimg.com/vi/{video_id}"
    return {
        "default": {"url": f"{base}/default.jpg", "width": 120, "height": 90},
        "medium": {"url": f"{base}/mqdefault.jpg", "width": 320, "height": 180},
        "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360},
    }


def _snippet(video: Video) -> JsonObject:
    return {
        "publishedAt": video.published_at,
        "channelId": video.channel_id,
        "title": video.title,
        "description": video.description,
        "thumbnails": _thumbnails(video.video_id),
        "channelTitle": video.channel_title,
        "liveBroadcastContent": "none",
        "publishTime": video.published_at,
    }


def youtube_search_item(video: Video) -> JsonObject:
    """One `youtube#searchResult` (§3.1)."""
    return {
        "kind": "youtube#searchResult",
        "etag": etag("search-item", video.video_id),
        "id": {"kind": "youtube#video", "videoId": video.video_id},
        "snippet": _snippet(video),
    }


def youtube_video_item(video: Video, views: int, parts: Sequence[str]) -> JsonObject:
    """One `youtube#video` of videos.list (§3.2); counts are JSON strings as YouTube sends them."""
    item: JsonObject = {
        "kind": "youtube#video",
        "etag": etag("video", video.video_id, views),
        "id": video.video_id,
    }
    if "snippet" in parts:
        item["snippet"] = _snippet(video)
    if "statistics" in parts:
        item["statistics"] = {
            "viewCount": str(views),
            "likeCount": str(views // 85),
            "favoriteCount": "0",
            "commentCount": str(views // 4100),
        }
    return item


_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}


def youtube_error(code: int, message: str, reason: str, domain: str = "global") -> JsonObject:
    """The Google API error envelope (§3.3)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": _GOOGLE_STATUS.get(code, "UNKNOWN"),
        }
    }


# --- Pages --------------------------------------------------------------------------------


def page(title: str, metas: dict[str, str], body: str, *, site: str) -> str:
    """A public site's HTML page: its title, site name and og/description meta tags, and body."""
    tags = "\n".join(
        f'    <meta {"name" if key == "description" else "property"}="{key}" '
        f'content="{html.escape(value)}">'
        for key, value in metas.items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        f"    <title>{html.escape(title, quote=False)}</title>\n"
        f'    <meta property="og:site_name" content="{site}">\n'
        f"{tags}\n"
        "  </head>\n"
        f"  <body>\n{body}\n  </body>\n"
        "</html>\n"
    )


def _short_count(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}K"
    return str(value)


def spotify_playlist_html(
    playlist_id: str, text: PlaylistText, cover: str, tracks: int, cover_artist: str, likes: int
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
    return page(f"{text.name} | Spotify Playlist", metas, body, site="Spotify")


def spotify_track_html(rec: Recording, plays: int) -> str:
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
    return page(f"{rec.title} - song by {rec.artist} | Spotify", metas, body, site="Spotify")


def not_found_html(url: str) -> str:
    """A plain 404 page for a public site."""
    body = f"    <h1>Page not found</h1>\n    <p>{html.escape(url, quote=False)}</p>"
    return page("Page not found", {}, body, site="Sample world")


def iso_date(day: datetime.date, hour: int = 4) -> str:
    """A date as the UTC timestamp string the APIs use."""
    return f"{day.isoformat()}T{hour:02d}:00:00Z"
