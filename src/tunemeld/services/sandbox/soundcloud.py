"""SoundCloud's fake endpoints: the RapidAPI soundcloud-scraper playlist and soundcloud.com pages.

Shapes: reference/providers.md §2.3 and §6.
"""

from __future__ import annotations

import datetime
import html
import random
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tunemeld.models import Genre, Service
from tunemeld.services.sandbox import _render
from tunemeld.services.sandbox._pool import COUNT_EPOCH, random_id
from tunemeld.services.sandbox.exchange import (
    Call,
    Endpoint,
    SandboxResponse,
    html_answer,
    int_param,
    json_answer,
    rapidapi,
)

if TYPE_CHECKING:
    from tunemeld.services.sandbox._pool import Recording
    from tunemeld.services.sandbox.world import SampleWorld

__all__ = ["HOSTS", "PAGE_SIZE", "carries", "endpoint_name", "genre_label"]

PAGE_SIZE = 50
"""soundcloud-scraper returns playlist tracks 50 at a time (§2.3)."""

_LABELS = {"dance": "Dance & EDM", "rap": "Hip-hop & Rap"}
"""How SoundCloud labels a genre when it is not simply the name in title case."""


def genre_label(genre: Genre) -> str:
    """The genre as SoundCloud labels its tracks ("Hip-hop & Rap", "Country", "K-Pop")."""
    return _LABELS.get(genre) or genre.title()


def _plays(rec: Recording, as_of: datetime.date) -> int:
    day = as_of.toordinal() - COUNT_EPOCH
    return max(0, rec.soundcloud_base_plays + rec.soundcloud_daily_plays * day)


def _item(rec: Recording, plays: int, label: str) -> dict[str, object]:
    """One track of soundcloud-scraper v1/playlist/tracks (§2.3)."""
    publisher: dict[str, object] | None = None
    if rec.soundcloud_has_publisher:
        upc = str(int(rec.apple_album_id) * 7 % 10**12).zfill(12)
        year = rec.release_date[:4]
        publisher = {
            "artist": rec.soundcloud_publisher_artist,
            "isrc": rec.isrc if rec.soundcloud_isrc else None,
            "albumTitle": rec.album if rec.album_type == "album" else None,
            "upcOrEan": upc,
            "pLine": f"℗ {year} {rec.label}",
            "cLine": f"© {year} {rec.label}",
        }
    return {
        "type": "track",
        "id": rec.soundcloud_track_id,
        "permalink": rec.soundcloud_url,
        "title": rec.soundcloud_title,
        "artworkUrl": rec.soundcloud_artwork_url,
        "artwork_url": rec.soundcloud_artwork_url,
        "durationMs": rec.duration_ms,
        "playCount": plays,
        "likeCount": plays // 37,
        "repostCount": plays // 410,
        "commentCount": plays // 2300,
        "genre": label,
        "createdAt": f"{rec.release_date}T15:00:00.000Z",
        "publisher": publisher,
        "user": {
            "id": rec.soundcloud_user_id,
            "name": rec.artists[0],
            "permalink": f"https://soundcloud.com/{rec.soundcloud_user}",
            "verified": rec.popularity > 0,
            "followerCount": 1_000 + int(rec.soundcloud_base_plays * 0.8),
        },
    }


def _playlist_html(url: str, name: str, user: str, cover: str, tracks: int) -> str:
    """The soundcloud.com set page: og:title, og:image and both descriptions (§6)."""
    description = f"{name}: the {tracks} tracks everyone is playing this week, curated by {user}."
    metas = {
        "og:title": name,
        "og:description": description,
        "og:image": cover,
        "og:type": "music.playlist",
        "og:url": url,
        "description": f"Listen to {name} by {user} on #SoundCloud",
    }
    body = f"    <h1>{html.escape(name, quote=False)}</h1>"
    return _render.page(f"Stream {name} by {user} | SoundCloud", metas, body, site="SoundCloud")


def _playlist(world: SampleWorld, call: Call) -> SandboxResponse:
    url = call.query.get("playlist", "").strip()
    if not url:
        return json_answer(400, {"message": "Missing required parameter: playlist"})
    entry = world.entry(Service.SOUNDCLOUD, url.lower())
    if entry is None:
        return json_answer(404, {"message": "Playlist not found"})
    offset = int_param(call.query, "offset", 0)
    if offset is None or offset < 0:
        return json_answer(400, {"message": "offset must be a non-negative integer"})
    tracks = world.playlist(Service.SOUNDCLOUD, entry.genre, call.as_of)
    page = tracks[offset : offset + PAGE_SIZE]
    end = offset + PAGE_SIZE
    label = genre_label(entry.genre)
    items = [_item(rec, _plays(rec, call.as_of), label) for rec in page]
    rng = random.Random(f"{world.seed}:soundcloud-playlist:{entry.genre.value}")
    return json_answer(
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


def _pages(world: SampleWorld, call: Call) -> SandboxResponse:
    parts = call.path.strip("/").split("/")
    if call.method == "GET" and len(parts) == 3 and parts[1] == "sets":
        entry = world.entry(Service.SOUNDCLOUD, "/".join(parts).lower())
        if entry is not None:
            tracks = world.playlist(Service.SOUNDCLOUD, entry.genre, call.as_of)
            rng = random.Random(f"{world.seed}:soundcloud-cover:{entry.genre.value}")
            cover = (
                f"https://i1.sndcdn.com/artworks-000{random_id(rng, string.digits, 9)}-"
                f"{random_id(rng, string.ascii_lowercase + string.digits, 6)}-t500x500.jpg"
            )
            name = " ".join(word.capitalize() for word in parts[2].split("-"))
            user = " ".join(word.capitalize() for word in parts[0].split("-"))
            url = f"https://soundcloud.com/{'/'.join(parts)}"
            return html_answer(200, _playlist_html(url, name, user, cover, len(tracks)))
    return html_answer(404, _render.not_found_html(call.url))


HOSTS: Mapping[str, Endpoint] = {
    "soundcloud-scraper.p.rapidapi.com": rapidapi("/v1/playlist/tracks", _playlist),
    "soundcloud.com": _pages,
    "www.soundcloud.com": _pages,
    "m.soundcloud.com": _pages,
}


def endpoint_name(host: str, path: str) -> str:
    return "playlist_tracks" if host == "soundcloud-scraper.p.rapidapi.com" else "playlist_page"


def carries(rec: Recording) -> bool:
    return True
