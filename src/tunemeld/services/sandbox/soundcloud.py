"""SoundCloud's fake endpoints: the RapidAPI soundcloud-scraper playlist and soundcloud.com pages.

Each function answers one host's requests from the `SampleWorld`, in the shapes of
reference/providers.md (§2.3 soundcloud-scraper, §6 pages).
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tunemeld.models import Genre, Service
from tunemeld.services.sandbox import _render
from tunemeld.services.sandbox._pool import random_id
from tunemeld.services.sandbox.exchange import (
    Call,
    Endpoint,
    SandboxResponse,
    html_answer,
    int_param,
    json_answer,
    rapidapi_guard,
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


def _scraper_host(world: SampleWorld, call: Call) -> SandboxResponse:
    return rapidapi_guard(world, call, {"/v1/playlist/tracks": _playlist})


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
    items = [
        _render.soundcloud_item(rec, world.soundcloud_play_count(rec, call.as_of), label)
        for rec in page
    ]
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
            return html_answer(
                200, _render.soundcloud_playlist_html(url, name, user, cover, len(tracks))
            )
    return html_answer(404, _render.not_found_html(call.url))


HOSTS: Mapping[str, Endpoint] = {
    "soundcloud-scraper.p.rapidapi.com": _scraper_host,
    "soundcloud.com": _pages,
    "www.soundcloud.com": _pages,
    "m.soundcloud.com": _pages,
}
"""The hosts this module answers for, and the endpoint of each."""


def endpoint_name(host: str, path: str) -> str:
    """The client ledger's name for a request's endpoint (`playlist_tracks`, `playlist_page`)."""
    return "playlist_tracks" if host == "soundcloud-scraper.p.rapidapi.com" else "playlist_page"


def carries(rec: Recording) -> bool:
    """SoundCloud has every recording of the world."""
    return True
