"""The vocabularies: genres (named by the catalog), playlist services, view sources, ETL stages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from tunemeld.exceptions import NotFound

__all__ = ["AGGREGATE", "GENRE_NAME", "Genre", "Service", "Stage", "ViewSource", "forget_service"]

AGGREGATE = "Aggregate"
"""The service name of the cross-service playlist the aggregate stage builds."""


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


_N = TypeVar("_N", bound=str)


def _loose_match(text: str, names: Sequence[_N], kind: str) -> _N:
    """The name `text` spells, ignoring case, spaces and punctuation; NotFound lists the names."""
    wanted = _key(text)
    for name in names:
        if _key(name) == wanted:
            return name
    raise NotFound(f"Unknown {kind} {text!r}.", hint=f"Use one of: {', '.join(names)}.")


GENRE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""A genre's name: lower-case letters and digits, words joined by single dashes (`k-pop`)."""


class _Name(str):
    """A name as a value type: one instance per name, `.value` its text, a string in JSON."""

    __slots__ = ()
    _schema_ref: ClassVar[str | None] = None
    """Documented as a schema of its own under this name (None: inline, as a string)."""

    @property
    def value(self) -> str:
        """The name as plain text (the catalog key or provider name, the stored field)."""
        return str(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated from a string (by the class), serialised as one."""
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(),
            ref=cls._schema_ref,
        )


class Genre(_Name):
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

    @classmethod
    def parse(cls, text: str, known: Iterable[Genre]) -> Genre:
        """Read a genre name loosely (`Hip Hop` finds `hip-hop`); NotFound lists the valid ones."""
        genres = tuple(known)
        if text in genres:  # the common case (an API path part) is one comparison per genre
            return cls(text)
        return _loose_match(text, genres, "genre")


_INTERNED: dict[str, Genre] = {}
"""One instance per name, so genres compare by identity like the enum members they replace."""


class _Services(type):
    """Service's metaclass: the class iterates, counts and names the registered services."""

    def __iter__(cls) -> Iterator[Service]:
        """The registered playlist services, highest aggregate priority first."""
        from tunemeld.services.providers.registry import SERVICES  # services sit above models

        return iter([spec.service for spec in SERVICES])

    def __len__(cls) -> int:
        from tunemeld.services.providers.registry import SERVICES

        return len(SERVICES)

    if not TYPE_CHECKING:  # type checkers see the constants Service declares, and no others

        def __getattr__(cls, name: str) -> Service:
            """`Service.SPOTIFY`: a registered service by its catalog table's name, upper-cased."""
            if name.isupper() and not name.startswith("_"):
                from tunemeld.services.providers.registry import SERVICES

                for spec in SERVICES:
                    if spec.table == name.lower():
                        return spec.service
            raise AttributeError(f"type object 'Service' has no attribute {name!r}")


class Service(_Name, metaclass=_Services):
    """A streaming service whose playlists TuneMeld reads: a name the service registry holds.

    The registry says which exist and in which order; `Service(name)` checks the exact name,
    `Service.parse(text)` reads input loosely; each is one instance, compared by identity.
    """

    __slots__ = ()
    _schema_ref: ClassVar[str | None] = "tunemeld.models.genre.Service"

    SPOTIFY: ClassVar[Service]
    APPLE_MUSIC: ClassVar[Service]
    SOUNDCLOUD: ClassVar[Service]

    def __new__(cls, name: str) -> Service:
        """A registered service by its exact name; ValueError naming the registered ones."""
        known = _SERVICES.get(name)  # interned while registered (`forget_service` evicts it)
        if known is not None:
            return known
        from tunemeld.services.providers.registry import spec_named

        if spec_named(name) is None:
            valid = ", ".join(cls)
            raise ValueError(f"{name!r} is not a registered playlist service (one of: {valid})")
        return _SERVICES.setdefault(name, super().__new__(cls, name))

    @property
    def priority(self) -> int:
        """0 is the highest priority when the aggregate stage picks a track's rank (registry)."""
        from tunemeld.services.providers.registry import service_spec

        return service_spec(self).priority

    @classmethod
    def parse(cls, text: str) -> Service:
        """Read a service name loosely (`apple_music`, `Apple Music`, `AppleMusic`)."""
        known = _SERVICES.get(text)  # the common case (an API path part): the exact name
        if known is not None:
            return known
        # Read from the registry now: services may be registered later.
        return _loose_match(text, list(cls), "service")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The registered names as an enum, read when the schema is made."""
        return {
            "description": "A streaming service whose playlists TuneMeld reads "
            "(described in the service registry).",
            "enum": [service.value for service in cls],
            "title": "Service",
            "type": "string",
        }


_SERVICES: dict[str, Service] = {}
"""One instance per registered name, so services compare by identity like enum members."""


def forget_service(name: str) -> None:
    """Drop a service's interned instance: the registry calls this when it unregisters one."""
    _SERVICES.pop(name, None)


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
