"""Playlists: a fetched raw snapshot, a ranked playlist of resolved tracks, and its history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from tunemeld.models.genre import AGGREGATE, Genre, Service
from tunemeld.models.track import Isrc, RawTrack, Record, TrackRank

__all__ = ["Playlist", "PlaylistMeta", "Ranking", "RawPlaylist"]


def _playlist_name(value: str) -> str:
    """A Service value or "Aggregate"; ValueError for anything else."""
    if value != AGGREGATE:
        Service(value)  # raises ValueError for an unknown name
    return value


_PlaylistName = Annotated[str, AfterValidator(_playlist_name)]


class PlaylistMeta(Record):
    """A playlist's identity and header art: what `/header-art` serves."""

    service: Service
    genre: Genre
    playlist_id: str
    name: str
    url: str
    cover_url: str | None = None
    description: str | None = None
    video_url: str | None = None
    """An editorial video stream (Apple Music's `.m3u8`), served as the header's moving cover."""


class RawPlaylist(Record):
    """One fetch of a (service, genre) playlist, exactly as extracted."""

    service: Service
    genre: Genre
    meta: PlaylistMeta
    tracks: list[RawTrack]
    fetched_at: datetime
    run_id: str


class Playlist(Record):
    """A ranked list of ISRCs for one genre on one service, or the cross-service `Aggregate`."""

    genre: Genre
    service_name: _PlaylistName
    tracks: list[TrackRank]
    updated_at: datetime
    run_id: str

    @property
    def isrcs(self) -> list[str]:
        """The playlist's ISRCs in rank order."""
        return [t.isrc for t in sorted(self.tracks, key=lambda t: t.rank)]


class Ranking(Record):
    """One track's rank on one playlist on one day: a record of the chart history.

    `playlist` is a Service value or "Aggregate". A day's records of a playlist are written
    together, in the unit that stores the playlist, and replace that day's earlier set.
    """

    genre: Genre
    playlist: _PlaylistName
    day: date
    isrc: Isrc
    rank: int = Field(ge=1)
    run_id: str
    recorded_at: datetime
