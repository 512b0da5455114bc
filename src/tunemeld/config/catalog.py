"""The playlist catalog: the genres, and each one's flagship playlist on each service.

The one home of the genre list: adding a genre is adding its lines to the catalog file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunemeld.exceptions import ConfigError
from tunemeld.models import Genre, Service

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tunemeld.services.providers.registry import ServiceSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["Catalog", "CatalogEntry", "load_catalog"]


def _services() -> Sequence[ServiceSpec]:
    """The playlist services, each with its catalog table and id pattern (the registry)."""
    from tunemeld.services.providers.registry import PROVIDERS, ServiceSpec  # (above config)

    return [spec for spec in PROVIDERS if isinstance(spec, ServiceSpec)]


@dataclass(frozen=True)
class CatalogEntry:
    """One playlist: its service id and its public URL."""

    service: Service
    genre: Genre
    playlist_id: str
    url: str


@dataclass(frozen=True)
class Catalog:
    """Every (service, genre) playlist, and the genres in catalog order (the one list of them)."""

    entries: dict[tuple[Service, Genre], CatalogEntry]
    source: str
    genres: tuple[Genre, ...] = ()

    def entry(self, service: Service, genre: Genre) -> CatalogEntry:
        """The playlist for one unit of work."""
        try:
            return self.entries[(service, genre)]
        except KeyError:
            table = next(spec.table for spec in _services() if spec.service is service)
            raise ConfigError(
                f"The playlist catalog ({self.source}) has no {service.value} playlist "
                f"for {genre.value}.",
                hint=f"Add `{genre.value} = {{ id = ..., url = ... }}` under [{table}].",
            ) from None

    def genre(self, text: str) -> Genre:
        """Read a genre name (any case, dashes optional) as one of the catalog's; else NotFound."""
        return Genre.parse(text, self.genres)


def _line_of(lines: list[str], section: str, key: str | None = None) -> int | None:
    """The 1-based line of `[section]` (or of `key = ...` inside it), for error messages."""
    header = re.compile(rf"\s*\[\s*{re.escape(section)}\s*\]")
    assignment = re.compile(rf"""\s*["']?{re.escape(key or "")}["']?\s*=""")
    inside = False
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("["):
            inside = bool(header.match(line))
            if inside and key is None:
                return number
        elif inside and key is not None and assignment.match(line):
            return number
    return None


def _at(lines: list[str], section: str, key: str | None = None) -> str:
    number = _line_of(lines, section, key)
    return f"line {number}: " if number is not None else ""


def _check_entry(spec: ServiceSpec, genre: Genre, item: object) -> str | None:
    """Why one catalog value is not a usable playlist entry, or None when it is."""
    service = spec.service
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("id"), str)
        or not isinstance(item.get("url"), str)
    ):
        return f"{service.value} {genre.value} needs string fields id and url"
    playlist_id, url = item["id"], item["url"]
    if not spec.playlist_id.fullmatch(playlist_id):
        return (
            f"{service.value} {genre.value}: id {playlist_id!r} does not look like a "
            f"{service.value} playlist id (like {spec.example_id!r})"
        )
    if playlist_id not in url:
        return f"{service.value} {genre.value}: the URL does not contain the id {playlist_id!r}"
    return None


def _parse(data: dict[str, Any], source: str, text: str) -> Catalog:
    """Check and read the catalog; every problem is reported at once with its line."""
    lines = text.splitlines()
    entries: dict[tuple[Service, Genre], CatalogEntry] = {}
    problems: list[str] = []
    genres: dict[Genre, set[Service]] = {}  # insertion order is catalog order
    spelled: dict[str, str] = {}  # loose key -> the first spelling, to catch near-duplicates
    services = _services()
    for spec in services:
        service, section = spec.service, spec.table
        table = data.get(section)
        if not isinstance(table, dict):
            problems.append(f"missing table [{section}]")
            continue
        for name, item in table.items():
            at = _at(lines, section, name)
            try:
                genre = Genre(name)
            except ValueError:
                spelling = "-".join(re.findall(r"[a-z0-9]+", name.lower())) or "k-pop"
                problems.append(
                    f"{at}[{section}] {name!r} is not a genre name "
                    f"(write it lower-case with dashes, like {spelling!r})"
                )
                continue
            loose = "".join(ch for ch in name if ch.isalnum())
            first = spelled.setdefault(loose, name)
            if first != name:
                problems.append(
                    f"{at}[{section}] {name} duplicates {first} (one spelling per genre)"
                )
                continue
            genres.setdefault(genre, set()).add(service)
            problem = _check_entry(spec, genre, item)
            if problem is not None:
                problems.append(at + problem)
                continue
            entries[(service, genre)] = CatalogEntry(service, genre, item["id"], item["url"])
    for genre, found in genres.items():
        for spec in services:
            section = spec.table
            if spec.service not in found and isinstance(data.get(section), dict):
                problems.append(
                    f"{_at(lines, section)}{genre} has no playlist under [{section}] "
                    f'(add `{genre} = {{ id = "...", url = "..." }}` there)'
                )
    if not genres and not problems:
        problems.append("no genres (add one line per genre under each service's table)")
    if problems:
        raise ConfigError(
            f"The playlist catalog {source} is incomplete or malformed: "
            + "; ".join(problems)
            + ".",
            hint="Give every genre one playlist under each of "
            + ", ".join(f"[{spec.table}]" for spec in services)
            + "; compare the built-in tunemeld/config/catalog.toml.",
        )
    return Catalog(entries=entries, source=source, genres=tuple(genres))


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
        raise ConfigError(
            f"The playlist catalog {source} is not valid TOML: {exc}.",
            hint="Fix that line: each genre once per table, as `name = { id = ..., url = ... }`.",
        ) from None
    return _parse(data, source, text)
