"""View-count samples, and the precomputed documents the API serves: the one table of their names.

`VIEWS` is the one home of the view names: the ETL, the cache and the API's routes derive from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import Field

from tunemeld.models.contract import (
    GraphTrack,
    HeaderArt,
    LastUpdated,
    PlaylistDocument,
    RisingTrack,
    ServicePlaylistDocument,
)
from tunemeld.models.genre import Genre, Service, ViewSource
from tunemeld.models.track import Isrc, Record

__all__ = [
    "GRAPH_DATA",
    "HEADER_ART",
    "LAST_UPDATED",
    "PLAYLIST_DATA",
    "RISING",
    "SERVICE_PLAYLIST",
    "VIEWS",
    "ViewDoc",
    "ViewSample",
    "ViewSpec",
    "service_playlist_view",
    "view_names",
    "view_title",
    "view_version",
]


@dataclass(frozen=True)
class ViewSpec:
    """One kind of per-genre document: its name (the route's first path part), words, data type."""

    name: str
    title: str
    """The words of the API's success message ("Graph data"); per service, after the service."""
    data: Any
    """The type of the document's data (a `models.contract` model or a list of one)."""
    per_service: bool = False
    """One document per playlist service, named `<name>:<Service.value>`."""

    def names(self, services: Iterable[Service] = Service) -> tuple[str, ...]:
        """The stored names of this view's documents (one per service when `per_service`)."""
        if self.per_service:
            return tuple(f"{self.name}:{service.value}" for service in services)
        return (self.name,)


GRAPH_DATA = ViewSpec("graph-data", "Graph data", list[GraphTrack])
PLAYLIST_DATA = ViewSpec("playlist-data", "Playlist data", list[PlaylistDocument])
SERVICE_PLAYLIST = ViewSpec(
    "service-playlist", "playlist", list[ServicePlaylistDocument], per_service=True
)
LAST_UPDATED = ViewSpec("last-updated", "Last updated", LastUpdated)
HEADER_ART = ViewSpec("header-art", "Header art", HeaderArt)
RISING = ViewSpec("rising", "Rising tracks", list[RisingTrack])

VIEWS: tuple[ViewSpec, ...] = (
    GRAPH_DATA,
    PLAYLIST_DATA,
    SERVICE_PLAYLIST,
    LAST_UPDATED,
    HEADER_ART,
    RISING,
)
"""Every view a genre can have, in the order the ETL writes and the cache warms them."""


def service_playlist_view(service: Service) -> str:
    """The view name of one service's ranked playlist."""
    return f"{SERVICE_PLAYLIST.name}:{service.value}"


def view_names() -> tuple[str, ...]:
    """Every view name a genre can have, so every cache key of a genre is known without listing."""
    return tuple(name for view in VIEWS for name in view.names())


def view_title(name: str) -> str:
    """The words the success message uses for a view ("Graph data", "Spotify playlist")."""
    for view in VIEWS:
        if view.per_service and name.startswith(f"{view.name}:"):
            return f"{name.removeprefix(f'{view.name}:')} {view.title}"
        if name == view.name:
            return view.title
    return name


class ViewSample(Record):
    """One reading of a track's total plays or views; `delta` is against the previous day's."""

    isrc: Isrc
    source: ViewSource
    day: date
    timestamp: datetime
    total: int = Field(ge=0)
    delta: int
    run_id: str


def view_version(data: Any) -> str:
    """A stable content hash of a JSON-ready value; the API uses it as the ETag."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


class ViewDoc(Record):
    """A per-genre JSON document built by the ETL so API requests are a single read."""

    genre: Genre
    name: str
    data: Any
    version: str
    updated_at: datetime
