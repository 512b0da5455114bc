"""The vocabularies: genres (named by the catalog), playlist services, view sources, ETL stages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from tunemeld.exceptions import NotFound

__all__ = ["AGGREGATE", "GENRE_NAME", "Genre", "Service", "Stage", "ViewSource"]

AGGREGATE = "Aggregate"
"""The service name of the cross-service playlist the aggregate stage builds."""


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


GENRE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""A genre's name: lower-case letters and digits, words joined by single dashes (`k-pop`)."""


class Genre(str):
    """A genre named by the playlist catalog: the catalog, not code, says which exist.

    The value is the catalog's name (`pop`, `hip-hop`); `Genre(text)` only checks the spelling,
    while `Genre.parse(text, known)` reads user input against the catalog's genres.
    """

    __slots__ = ()

    def __new__(cls, name: str) -> Genre:
        """A genre from its catalog name; ValueError when it is not spelled like one."""
        known = _INTERNED.get(name)
        if known is not None:
            return known
        if not GENRE_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a genre name (lower-case words joined by dashes, like k-pop)"
            )
        return _INTERNED.setdefault(name, super().__new__(cls, name))

    @property
    def value(self) -> str:
        """The name as plain text (the catalog key, the API path part, the stored field)."""
        return str(self)

    def __repr__(self) -> str:
        return f"Genre({str(self)!r})"

    @classmethod
    def parse(cls, text: str, known: Iterable[Genre]) -> Genre:
        """Read a genre name loosely (`Hip Hop` finds `hip-hop`); NotFound lists the valid ones."""
        genres = tuple(known)
        if text in genres:  # the common case (an API path part) is one comparison per genre
            return cls(text)
        wanted = _key(text)
        for genre in genres:
            if _key(genre) == wanted:
                return genre
        valid = ", ".join(genres)
        raise NotFound(f"Unknown genre {text!r}.", hint=f"Use one of: {valid}.")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated from a string, serialised as one."""
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


_INTERNED: dict[str, Genre] = {}
"""One instance per name, so genres compare by identity like the enum members they replace."""


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
        found = _SERVICE_KEYS.get(_key(text))  # an API path part: one lookup, not one per service
        if found is not None:
            return found
        valid = ", ".join(s.value for s in cls)
        raise NotFound(f"Unknown service {text!r}.", hint=f"Use one of: {valid}.")


_SERVICE_KEYS: dict[str, Service] = {_key(service.value): service for service in Service}
"""Each service by its loosely spelled name (`applemusic`): what `Service.parse` compares."""


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
