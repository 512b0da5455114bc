"""Apple Music: playlist tracks (RapidAPI apple-music24) and the public playlist page.

Apple Music gives no ISRC: transform resolves its tracks with a Spotify search (providers.md §2.2).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tunemeld.config import CatalogEntry
from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.services.providers._client import RapidApiPlaylistClient
from tunemeld.services.providers._html import PageHead, playlist_meta
from tunemeld.services.providers._payload import Reader, query_param, rapidapi_headers, unescape

__all__ = [
    "PLAYLIST_URL",
    "PROVIDER",
    "AppleMusicClient",
    "editorial_video",
    "parse_meta",
    "parse_playlist",
    "scraper_url",
]

PROVIDER = "AppleMusic"
PLAYLIST_HOST = "apple-music24.p.rapidapi.com"
PLAYLIST_URL = f"https://{PLAYLIST_HOST}/playlist1/"


def scraper_url(playlist_id: str) -> str:
    """The playlist URL the scraper takes: a fixed slug, the `pl.` id (as tunemeld sends it)."""
    return f"https://music.apple.com/us/playlist/playlist/{playlist_id}"


def parse_playlist(payload: object) -> list[RawTrack]:
    """`{album_details: {"0": {name, artist, album, link}, ...}}` -> tracks ranked by key + 1.

    Non-numeric keys (the 2024 shape's `album`, `thumb`, `count`, ...) are not tracks.
    """
    reader = Reader(PROVIDER, "playlist")
    body = reader.mapping(payload, "response")
    details = reader.mapping(body.get("album_details"), "album_details")
    tracks: list[RawTrack] = []
    for key, value in details.items():
        if not (key.isascii() and key.isdigit()):
            continue
        path = f"album_details.{key}"
        item = reader.mapping(value, path)
        link = reader.optional_text(item.get("link"), f"{path}.link")
        tracks.append(
            reader.track(
                service=Service.APPLE_MUSIC,
                rank=int(key) + 1,
                title=unescape(reader.text(item.get("name"), f"{path}.name")).strip(),
                artist=unescape(reader.optional_text(item.get("artist"), f"{path}.artist") or ""),
                url=link,
                service_id=query_param(link, "i") if link else None,
            )
        )
    return sorted(tracks, key=lambda t: t.rank)


def editorial_video(head: PageHead) -> str | None:
    """The page's editorial video stream when it is an http(s) `.m3u8` URL, else None.

    The old front end plays a header cover ending in `.m3u8` as a video; for anything else (a
    missing or odd `src`) the still cover image stays.
    """
    src = head.editorial_video
    if src is None:
        return None
    parts = urlsplit(src)
    if parts.scheme not in ("http", "https") or not parts.path.endswith(".m3u8"):
        return None
    return src


def parse_meta(page: str, entry: CatalogEntry) -> PlaylistMeta:
    """Name (og:title, else the first <h1>), description, cover and editorial video."""
    return playlist_meta(
        page,
        entry,
        service=Service.APPLE_MUSIC,
        name=lambda head: head.get("og:title") or head.h1,
        description=lambda head: head.get("og:description") or head.truncate_text,
        video=editorial_video,
    )


class AppleMusicClient(RapidApiPlaylistClient):
    """Reads Apple Music playlists through the apple-music24 scraper (one call, no pages)."""

    PROVIDER = PROVIDER
    parse_meta = parse_meta

    def fetch_playlist(self, entry: CatalogEntry) -> list[RawTrack]:
        """Every track of the playlist, in rank order."""
        payload = self.http.get_json(
            "playlist",
            PLAYLIST_URL,
            params={"url": scraper_url(entry.playlist_id)},
            headers=rapidapi_headers(self._rapidapi_key, PLAYLIST_HOST),
            units=self._units("playlist"),
        )
        return parse_playlist(payload)
