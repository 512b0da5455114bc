"""The fixed vocabularies: genres, playlist services, view-count sources and ETL stages."""

from __future__ import annotations

from enum import Enum

from tunemeld.exceptions import NotFound

__all__ = ["AGGREGATE", "Genre", "Service", "Stage", "ViewSource"]

AGGREGATE = "Aggregate"
"""The service name of the cross-service playlist the aggregate stage builds."""


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class Genre(str, Enum):
    """A genre with one flagship playlist on each service."""

    COUNTRY = "country"
    DANCE = "dance"
    POP = "pop"
    RAP = "rap"

    @classmethod
    def parse(cls, text: str) -> Genre:
        """Read a genre name case-insensitively; NotFound lists the valid ones."""
        exact = _GENRES.get(text)  # the common case (an API path part) is one dict lookup
        if exact is not None:
            return exact
        for genre in cls:
            if _key(text) == genre.value:
                return genre
        valid = ", ".join(g.value for g in cls)
        raise NotFound(f"Unknown genre {text!r}.", hint=f"Use one of: {valid}.")


_GENRES: dict[str, Genre] = {genre.value: genre for genre in Genre}


class Service(str, Enum):
    """A streaming service whose playlists TuneMeld reads (described in the service registry)."""

    APPLE_MUSIC = "AppleMusic"
    SOUNDCLOUD = "SoundCloud"
    SPOTIFY = "Spotify"

    @property
    def priority(self) -> int:
        """0 is the highest priority when the aggregate stage picks a track's rank (registry)."""
        from tunemeld.services.providers.registry import service_spec  # services sit above models

        return service_spec(self).priority

    @classmethod
    def parse(cls, text: str) -> Service:
        """Read a service name loosely (`apple_music`, `Apple Music`, `AppleMusic`)."""
        for service in cls:
            if _key(text) == _key(service.value):
                return service
        valid = ", ".join(s.value for s in cls)
        raise NotFound(f"Unknown service {text!r}.", hint=f"Use one of: {valid}.")


class ViewSource(str, Enum):
    """Where a track's play or view count comes from."""

    SPOTIFY = "Spotify"
    YOUTUBE = "YouTube"


class Stage(str, Enum):
    """An ETL stage, in the order a full run executes them."""

    EXTRACT = "extract"
    TRANSFORM = "transform"
    AGGREGATE = "aggregate"
    VIEW_COUNT = "view_count"

    @property
    def per_service(self) -> bool:
        """Extract and transform work per (service, genre); the others per genre."""
        return self in (Stage.EXTRACT, Stage.TRANSFORM)

    @classmethod
    def parse_many(cls, names: list[str]) -> list[Stage]:
        """Expand `full` and validate names; keeps pipeline order, drops repeats."""
        wanted: set[Stage] = set()
        for name in names:
            key = name.strip().lower().replace("-", "_")
            if key == "full":
                wanted.update(cls)
                continue
            try:
                wanted.add(cls(key))
            except ValueError:
                valid = ", ".join([*(s.value for s in cls), "full"])
                raise NotFound(f"Unknown stage {name!r}.", hint=f"Use one of: {valid}.") from None
        return [stage for stage in cls if stage in wanted]
