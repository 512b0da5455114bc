"""Domain types: plain pydantic models with no I/O."""

from tunemeld.models.genre import AGGREGATE, Genre, Service, Stage, ViewSource
from tunemeld.models.playlist import Playlist, PlaylistMeta, Ranking, RawPlaylist
from tunemeld.models.run import RunReport, RunStatus, UnitResult, UnitStatus
from tunemeld.models.track import (
    ISRC_PATTERN,
    Isrc,
    RawTrack,
    ServiceTrack,
    Track,
    TrackRank,
    normalize_isrc,
)
from tunemeld.models.view import VIEWS, ViewDoc, ViewSample, ViewSpec, view_version

__all__ = [
    "AGGREGATE",
    "ISRC_PATTERN",
    "VIEWS",
    "Genre",
    "Isrc",
    "Playlist",
    "PlaylistMeta",
    "Ranking",
    "RawPlaylist",
    "RawTrack",
    "RunReport",
    "RunStatus",
    "Service",
    "ServiceTrack",
    "Stage",
    "Track",
    "TrackRank",
    "UnitResult",
    "UnitStatus",
    "ViewDoc",
    "ViewSample",
    "ViewSource",
    "ViewSpec",
    "normalize_isrc",
    "view_version",
]
