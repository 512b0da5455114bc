"""Nimbus's client: one JSON call per playlist gives its tracks (with ISRCs) and its header."""

from __future__ import annotations

from collections.abc import Mapping

from tunemeld.config import CatalogEntry
from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.services.http import HttpClient
from tunemeld.services.providers._payload import Reader

__all__ = ["API", "PROVIDER", "NimbusClient"]

PROVIDER = "Nimbus"
API = "https://api.nimbus.test/v1/playlists/"


class NimbusClient:
    """Reads Nimbus playlists: `GET /v1/playlists/<id>` -> `{name, url, cover, tracks: [...]}`."""

    def __init__(self, http: HttpClient, *, costs: Mapping[tuple[str, str], int]) -> None:
        self.http = http
        self._units = costs.get((PROVIDER, "playlist"), 0)

    @property
    def service(self) -> Service:
        """The playlist service this client reads."""
        return Service(PROVIDER)

    def _playlist(self, entry: CatalogEntry) -> Mapping[str, object]:
        payload = self.http.get_json("playlist", API + entry.playlist_id, units=self._units)
        return Reader(PROVIDER, "playlist").mapping(payload, "response")

    def fetch_playlist(self, entry: CatalogEntry) -> list[RawTrack]:
        """Every track, ranked 1..n in the order listed."""
        reader = Reader(PROVIDER, "playlist")
        items = reader.array(self._playlist(entry).get("tracks"), "tracks")
        tracks = []
        for rank, value in enumerate(items, 1):
            item = reader.mapping(value, f"tracks.{rank}")
            tracks.append(
                reader.track(
                    service=self.service,
                    rank=rank,
                    title=reader.text(item.get("title"), "title"),
                    artist=reader.text(item.get("artist"), "artist"),
                    isrc=reader.optional_text(item.get("isrc"), "isrc"),
                    url=reader.optional_text(item.get("link"), "link"),
                )
            )
        return tracks

    def fetch_meta(self, entry: CatalogEntry) -> PlaylistMeta:
        """The playlist's name, URL and cover."""
        reader = Reader(PROVIDER, "playlist")
        body = self._playlist(entry)
        return PlaylistMeta(
            service=self.service,
            genre=entry.genre,
            playlist_id=entry.playlist_id,
            name=reader.text(body.get("name"), "name"),
            url=entry.url,
            cover_url=reader.optional_text(body.get("cover"), "cover"),
        )
