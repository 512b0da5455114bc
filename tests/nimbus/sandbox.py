"""Nimbus's fake endpoint in the sample world: its playlists, from the world's recordings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tests.nimbus.provider import PROVIDER
from tunemeld.models import Service
from tunemeld.services.sandbox.exchange import Call, Endpoint, SandboxResponse, json_answer

if TYPE_CHECKING:
    from tunemeld.services.sandbox._pool import Recording
    from tunemeld.services.sandbox.world import SampleWorld

__all__ = ["HOSTS", "carries", "endpoint_name"]


def _playlists(world: SampleWorld, call: Call) -> SandboxResponse:
    service = Service(PROVIDER)
    entry = world.entry(service, call.path)
    if call.method != "GET" or not call.path.startswith("/v1/playlists/") or entry is None:
        return json_answer(404, {"error": "no such playlist"})
    tracks = [
        {
            "isrc": rec.isrc,
            "title": rec.title,
            "artist": rec.artist,
            "link": f"https://nimbus.test/track/{rec.isrc.lower()}",
        }
        for rec in world.playlist(service, entry.genre, call.as_of)
    ]
    name = f"Nimbus {entry.genre.value.replace('-', ' ').title()}"
    cover = f"https://nimbus.test/cover/{entry.playlist_id}.jpg"
    return json_answer(200, {"name": name, "url": entry.url, "cover": cover, "tracks": tracks})


HOSTS: Mapping[str, Endpoint] = {"api.nimbus.test": _playlists}
"""The one host Nimbus answers for."""


def endpoint_name(host: str, path: str) -> str:
    """Every Nimbus request is the `playlist` endpoint."""
    return "playlist"


def carries(rec: Recording) -> bool:
    """Nimbus has every recording of the sample world."""
    return True
