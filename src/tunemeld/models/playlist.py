"""Playlists: a fetched raw snapshot, and a ranked playlist of resolved tracks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator

from tunemeld.models.genre import AGGREGATE, Genre, Service
from tunemeld.models.track import RawTrack, TrackRank

__all__ = ["Playlist", "PlaylistMeta", "RawPlaylist"]


class PlaylistMeta(BaseModel):
    """A playlist's identity and header art: what `/header-art` serves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: Service
    genre: Genre
    playlist_id: str
    name: str
    url: str
    cover_url: str | None = None
    description: str | None = None
    video_url: str | None = None
    """An editorial video stream (Apple Music's `.m3u8`), served as the header's moving cover."""


class RawPlaylist(BaseModel):
    """One fetch of a (service, genre) playlist, exactly as extracted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: Service
    genre: Genre
    meta: PlaylistMeta
    tracks: list[RawTrack]
    fetched_at: datetime
    run_id: str


class Playlist(BaseModel):
    """A ranked list of ISRCs for one genre on one service, or the cross-service `Aggregate`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    genre: Genre
    service_name: str
    tracks: list[TrackRank]
    updated_at: datetime
    run_id: str

    @field_validator("service_name")
    @classmethod
    def _known_service_name(cls, value: str) -> str:
        if value != AGGREGATE:
            Service(value)  # raises ValueError for an unknown name
        return value

    @property
    def isrcs(self) -> list[str]:
        """The playlist's ISRCs in rank order."""
        return [t.isrc for t in sorted(self.tracks, key=lambda t: t.rank)]
