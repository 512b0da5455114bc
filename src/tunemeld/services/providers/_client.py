"""What the RapidAPI-backed playlist clients share: a key, call prices, the page, paging.

Each client names its `PROVIDER` and `parse_meta`; the rest is here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar, TypeVar

import structlog

from tunemeld.config import CatalogEntry
from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.services.http import HttpClient

__all__ = ["MAX_PAGES", "RapidApiPlaylistClient"]

log = structlog.get_logger()

MAX_PAGES = 10
"""The most pages a playlist is read across; a longer one is cut there with a warning."""

_Cursor = TypeVar("_Cursor")


class RapidApiPlaylistClient:
    """A playlist service's client: one HttpClient, a RapidAPI key and each endpoint's units."""

    PROVIDER: ClassVar[str]
    parse_meta: ClassVar[Callable[[str, CatalogEntry], PlaylistMeta]]
    """Its module's page parser: a plain function, so it is read from the class, unbound."""

    def __init__(
        self, http: HttpClient, *, rapidapi_key: str, costs: Mapping[tuple[str, str], int]
    ) -> None:
        self.http = http
        self._rapidapi_key = rapidapi_key
        self._costs = costs

    @property
    def service(self) -> Service:
        return Service(self.PROVIDER)

    def _units(self, endpoint: str) -> int:
        return self._costs.get((self.PROVIDER, endpoint), 0)

    def fetch_meta(self, entry: CatalogEntry) -> PlaylistMeta:
        """Name, cover and description from the public playlist page."""
        page = self.http.get_text("playlist_page", entry.url, units=self._units("playlist_page"))
        return type(self).parse_meta(page, entry)

    def _paged(
        self,
        first: _Cursor,
        read: Callable[[_Cursor, int], tuple[list[RawTrack], _Cursor | None]],
    ) -> list[RawTrack]:
        """Tracks ranked 1..n across pages: `read(cursor, first_rank)` gives a page and the next."""
        tracks: list[RawTrack] = []
        cursor = first
        for _ in range(MAX_PAGES):
            page, following = read(cursor, len(tracks) + 1)
            tracks.extend(page)
            if following is None:
                return tracks
            cursor = following
        log.warning(
            "playlist_truncated", provider=self.PROVIDER, pages=MAX_PAGES, tracks=len(tracks)
        )
        return tracks
