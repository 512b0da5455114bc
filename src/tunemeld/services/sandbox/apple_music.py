"""Apple Music's fake endpoints: the RapidAPI apple-music24 playlist scraper and music.apple.com.

Shapes: reference/providers.md §2.2 and §6.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tunemeld.models import Service
from tunemeld.services.sandbox import _render
from tunemeld.services.sandbox.exchange import (
    Call,
    Endpoint,
    SandboxResponse,
    html_answer,
    json_answer,
    rapidapi,
)

if TYPE_CHECKING:
    from tunemeld.services.sandbox._pool import Recording
    from tunemeld.services.sandbox.world import SampleWorld

__all__ = ["HOSTS", "carries", "endpoint_name"]


_FAMOUS = {
    "country": _render.PlaylistText(
        "Today's Country",
        "The biggest songs in country right now, from chart-toppers to rising stars.",
        "Apple Music Country",
    ),
    "dance": _render.PlaylistText(
        "danceXL",
        "The biggest dance tracks in the world, updated every Friday.",
        "Apple Music Dance",
    ),
    "pop": _render.PlaylistText(
        "A-List Pop",
        "The pop songs everyone is talking about, with the freshest hits up top.",
        "Apple Music Pop",
    ),
    "rap": _render.PlaylistText(
        "Rap Life",
        "The culture-shaping songs that define the rap moment.",
        "Apple Music Hip-Hop/Rap",
    ),
}
"""The real flagship playlists' texts, for the genres named after them."""


def _playlist_text(genre: str) -> _render.PlaylistText:
    """The name, description and curator of a genre's flagship playlist, for any genre name."""
    label = genre.replace("-", " ").title()
    default = _render.PlaylistText(
        f"Today's {label}",
        f"The biggest songs in {label} right now, from chart-toppers to rising stars.",
        f"Apple Music {label}",
    )
    return _FAMOUS.get(genre, default)


def _item(rec: Recording) -> dict[str, object]:
    """One `album_details` entry of apple-music24 playlist1 (§2.2); the artist is HTML-escaped."""
    return {
        "name": rec.apple_title,
        "artist": html.escape(rec.apple_artist, quote=False),
        "album": rec.apple_album,
        "link": rec.apple_url,
    }


def _playlist_html(url: str, text: _render.PlaylistText, cover: str, video: str) -> str:
    """The music.apple.com playlist page: `<h1>`, curator, description, editorial video, og tags."""
    curator_slug = text.curator.lower().replace(" ", "-").replace("/", "-")
    body = (
        f"    <h1>{html.escape(text.name, quote=False)}</h1>\n"
        f'    <a class="click-action" href="https://music.apple.com/us/curator/{curator_slug}">'
        f"{html.escape(text.curator)}</a>\n"
        f'    <p data-testid="truncate-text">{html.escape(text.description, quote=False)}</p>\n'
        f'    <amp-ambient-video class="editorial-video" src="{video}"></amp-ambient-video>'
    )
    metas = {
        "og:title": text.name,
        "og:description": text.description,
        "og:image": cover,
        "og:type": "music.playlist",
        "og:url": url,
    }
    return _render.page(f"{text.name} - Playlist - Apple Music", metas, body, site="Apple Music")


def _album_html(rec: Recording) -> str:
    """The music.apple.com album page, whose first jpeg `<source srcset>` is the album art."""
    small = rec.apple_cover_url.replace("600x600bb", "296x296bb")
    body = (
        "    <picture>\n"
        f'      <source type="image/webp" srcset="{small.replace(".jpg/", ".webp/")} 296w">\n'
        f'      <source type="image/jpeg" srcset="{small} 296w,{rec.apple_cover_url} 600w">\n'
        "    </picture>\n"
        f"    <h1>{html.escape(rec.apple_album, quote=False)}</h1>"
    )
    metas = {
        "og:title": f"{rec.apple_album} by {rec.apple_artist}",
        "og:image": rec.apple_cover_url,
        "og:type": "music.album",
        "og:url": rec.apple_url.split("?", 1)[0],
    }
    return _render.page(f"{rec.apple_album} - Apple Music", metas, body, site="Apple Music")


def _playlist(world: SampleWorld, call: Call) -> SandboxResponse:
    url = call.query.get("url", "").strip()
    if not url:
        return json_answer(400, {"message": "Missing required parameter: url"})
    entry = world.entry(Service.APPLE_MUSIC, url)
    if entry is None or urlsplit(url).hostname != "music.apple.com":
        return json_answer(404, {"message": "Playlist not found"})
    tracks = world.playlist(Service.APPLE_MUSIC, entry.genre, call.as_of)
    details = {str(i): _item(rec) for i, rec in enumerate(tracks)}
    return json_answer(200, {"album_details": details})


def _pages(world: SampleWorld, call: Call) -> SandboxResponse:
    parts = call.path.strip("/").split("/")
    if call.method == "GET" and len(parts) == 4 and parts[1] == "playlist":
        entry = world.entry(Service.APPLE_MUSIC, parts[3])
        if entry is not None:
            h = world.cover_hex(entry, 32)
            uuid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            cover = (
                f"https://is1-ssl.mzstatic.com/image/thumb/Features126/v4/{h[:2]}/{h[2:4]}/"
                f"{h[4:6]}/{uuid}/{entry.genre.value}.jpg/1200x1200bb.jpg"
            )
            video = (
                f"https://mvod.itunes.apple.com/itunes-assets/HLSVideo126/v4/{h[:2]}/{h[2:4]}/"
                f"{h[4:6]}/{uuid}/P{int(h[:10], 16)}_default.m3u8"
            )
            text = _playlist_text(entry.genre)
            return html_answer(200, _playlist_html(entry.url, text, cover, video))
    if call.method == "GET" and len(parts) == 4 and parts[1] == "album":
        rec = world.recording_by_apple_album(parts[3])
        if rec is not None:
            return html_answer(200, _album_html(rec))
    return html_answer(404, _render.not_found_html(call.url))


HOSTS: Mapping[str, Endpoint] = {
    "apple-music24.p.rapidapi.com": rapidapi("/playlist1", _playlist),
    "music.apple.com": _pages,
}


def endpoint_name(host: str, path: str) -> str:
    return "playlist_page" if host == "music.apple.com" else "playlist"


def carries(rec: Recording) -> bool:
    return True
