"""The playlist catalog: each genre's flagship playlist on each service (data, not code)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tunemeld.exceptions import ConfigError
from tunemeld.models import Genre, Service

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["Catalog", "CatalogEntry", "load_catalog"]

_SECTIONS = {
    Service.SPOTIFY: "spotify",
    Service.APPLE_MUSIC: "apple_music",
    Service.SOUNDCLOUD: "soundcloud",
}


@dataclass(frozen=True)
class CatalogEntry:
    """One playlist: its service id and its public URL."""

    service: Service
    genre: Genre
    playlist_id: str
    url: str


@dataclass(frozen=True)
class Catalog:
    """Every (service, genre) playlist; `entry()` raises ConfigError for a gap."""

    entries: dict[tuple[Service, Genre], CatalogEntry]
    source: str

    def entry(self, service: Service, genre: Genre) -> CatalogEntry:
        """The playlist for one unit of work."""
        try:
            return self.entries[(service, genre)]
        except KeyError:
            raise ConfigError(
                f"The playlist catalog ({self.source}) has no {service.value} playlist "
                f"for {genre.value}.",
                hint=f"Add `{genre.value} = {{ id = ..., url = ... }}` "
                f"under [{_SECTIONS[service]}].",
            ) from None


def _parse(data: dict[str, Any], source: str) -> Catalog:
    entries: dict[tuple[Service, Genre], CatalogEntry] = {}
    problems: list[str] = []
    for service, section in _SECTIONS.items():
        table = data.get(section)
        if not isinstance(table, dict):
            problems.append(f"missing table [{section}]")
            continue
        for genre in Genre:
            item = table.get(genre.value)
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("id"), str)
                or not isinstance(item.get("url"), str)
            ):
                problems.append(f"[{section}] {genre.value} needs string fields id and url")
                continue
            entries[(service, genre)] = CatalogEntry(service, genre, item["id"], item["url"])
    if problems:
        raise ConfigError(
            f"The playlist catalog {source} is incomplete: " + "; ".join(problems) + ".",
            hint="Compare it with the built-in tunemeld/config/catalog.toml.",
        )
    return Catalog(entries=entries, source=source)


def load_catalog(path: Path | None = None) -> Catalog:
    """Load the built-in catalog, or the TOML file at `path` (settings `etl.catalog_path`)."""
    if path is None:
        text = resources.files("tunemeld.config").joinpath("catalog.toml").read_text("utf-8")
        source = "built-in catalog.toml"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the playlist catalog {path}: {exc.strerror}.",
                hint="Fix TUNEMELD_ETL__CATALOG_PATH or unset it to use the built-in catalog.",
            ) from None
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The playlist catalog {source} is not valid TOML: {exc}.") from None
    return _parse(data, source)
