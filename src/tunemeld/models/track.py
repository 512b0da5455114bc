"""Tracks: as a provider lists them, as stored once per ISRC, and as ranked in a playlist."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tunemeld.models.genre import Service

__all__ = [
    "ISRC_PATTERN",
    "Isrc",
    "RawTrack",
    "Record",
    "ServiceTrack",
    "Track",
    "TrackRank",
    "normalize_isrc",
]

ISRC_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
"""ISO 3901: country (2 letters), registrant (3 alphanumerics), year (2) and designation (5)."""


def normalize_isrc(value: str) -> str:
    """Upper-case an ISRC and drop dashes and spaces; raise ValueError if it is not one."""
    cleaned = re.sub(r"[\s-]", "", value).upper()
    if not ISRC_PATTERN.fullmatch(cleaned):
        raise ValueError(f"{value!r} is not an ISRC (expected 12 characters like USUG12503301)")
    return cleaned


Isrc = Annotated[str, AfterValidator(normalize_isrc)]
"""A validated, normalised International Standard Recording Code."""


class Record(BaseModel):
    """A value TuneMeld stores or reports: frozen, and refusing fields it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RawTrack(Record):
    """One entry of a service's playlist, as the provider listed it (ISRC may be unknown)."""

    service: Service
    rank: int = Field(ge=1)
    title: str = Field(min_length=1)
    artist: str
    isrc: Isrc | None = None
    url: str | None = None
    cover_url: str | None = None
    service_id: str | None = None


class ServiceTrack(Record):
    """What one service says about a recording: its own title, links and id."""

    title: str
    artist: str
    url: str | None = None
    cover_url: str | None = None
    service_id: str | None = None


class Track(Record):
    """One recording, keyed by ISRC, with each service's data and its external ids."""

    isrc: Isrc
    title: str
    artist: str
    services: dict[Service, ServiceTrack] = Field(default_factory=dict)
    spotify_id: str | None = None
    youtube_id: str | None = None
    updated_at: datetime

    @property
    def cover_url(self) -> str | None:
        """The first cover in aggregate priority order (Apple Music art is the largest)."""
        for service in Service:
            data = self.services.get(service)
            if data and data.cover_url:
                return data.cover_url
        return None

    @property
    def youtube_url(self) -> str | None:
        """The watch URL of the matched YouTube video, if one was found."""
        return f"https://www.youtube.com/watch?v={self.youtube_id}" if self.youtube_id else None

    def merged(self, other: Track) -> Track:
        """Combine two records of one ISRC; `other`'s per-service data and ids win."""
        if other.isrc != self.isrc:
            raise ValueError(f"cannot merge {other.isrc} into {self.isrc}")
        return Track(
            isrc=self.isrc,
            title=other.title or self.title,
            artist=other.artist or self.artist,
            services={**self.services, **other.services},
            spotify_id=other.spotify_id or self.spotify_id,
            youtube_id=other.youtube_id or self.youtube_id,
            updated_at=max(self.updated_at, other.updated_at),
        )


class TrackRank(Record):
    """A track's place in a ranked playlist; `sources` maps each listing service to its rank."""

    isrc: Isrc
    rank: int = Field(ge=1)
    sources: dict[Service, int] = Field(default_factory=dict)
    raw_aggregate_rank: int | None = None
    aggregate_service_name: Service | None = None
