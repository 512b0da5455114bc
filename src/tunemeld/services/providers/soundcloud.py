"""SoundCloud: playlist tracks (RapidAPI soundcloud-scraper, 50 a page) and the playlist page.

The label's ISRC is sometimes in `publisher`; transform resolves the rest (providers.md §2.3).
"""

from __future__ import annotations

from tunemeld.config import CatalogEntry
from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.services.providers._client import RapidApiPlaylistClient
from tunemeld.services.providers._html import playlist_meta
from tunemeld.services.providers._payload import Reader, optional_isrc, rapidapi_headers

__all__ = [
    "PLAYLIST_URL",
    "PROVIDER",
    "SoundCloudClient",
    "parse_meta",
    "parse_playlist_tracks",
    "split_title",
]

PROVIDER = "SoundCloud"
PLAYLIST_HOST = "soundcloud-scraper.p.rapidapi.com"
PLAYLIST_URL = f"https://{PLAYLIST_HOST}/v1/playlist/tracks"

_Params = dict[str, str | int]


def split_title(title: str) -> tuple[str, str] | None:
    """("Artist", "Title") from an uploader's "Artist - Title", or None without that split."""
    artist, sep, rest = title.partition(" - ")
    if not sep or not artist.strip() or not rest.strip():
        return None
    return artist.strip(), rest.strip()


def _artist_and_title(reader: Reader, item: dict[str, object], path: str) -> tuple[str, str]:
    title = reader.text(item.get("title"), f"{path}.title")
    publisher = reader.optional_mapping(item.get("publisher"), f"{path}.publisher") or {}
    artist = reader.optional_text(publisher.get("artist"), f"{path}.publisher.artist")
    if artist and artist.strip():
        return artist.strip(), title.strip()
    split = split_title(title)
    if split is not None:
        return split
    user = reader.optional_mapping(item.get("user"), f"{path}.user") or {}
    name = reader.optional_text(user.get("name"), f"{path}.user.name")
    return (name or "").strip(), title.strip()


def parse_playlist_tracks(
    payload: object, *, first_rank: int = 1
) -> tuple[list[RawTrack], int | None]:
    """One page -> (tracks ranked from `first_rank`, the next page's offset or None at the end)."""
    reader = Reader(PROVIDER, "playlist_tracks")
    body = reader.mapping(payload, "response")
    if body.get("status") is False:
        error_id = body.get("errorId")
        raise reader.error(
            f"the scraper reported failure ({error_id if isinstance(error_id, str) else '?'})"
        )
    page = reader.mapping(body.get("tracks"), "tracks")
    items = reader.array(page.get("items"), "tracks.items")
    tracks: list[RawTrack] = []
    for i, value in enumerate(items):
        if value is None:
            continue
        path = f"tracks.items[{i}]"
        item = reader.mapping(value, path)
        track_id = item.get("id")
        if isinstance(track_id, bool) or not isinstance(track_id, (int, str)) or track_id == "":
            raise reader.error(f"{path}.id is missing or not an integer")
        artist, title = _artist_and_title(reader, item, path)
        publisher = reader.optional_mapping(item.get("publisher"), f"{path}.publisher") or {}
        tracks.append(
            reader.track(
                service=Service.SOUNDCLOUD,
                rank=first_rank + len(tracks),
                title=title,
                artist=artist,
                isrc=optional_isrc(publisher.get("isrc")),
                url=reader.optional_text(item.get("permalink"), f"{path}.permalink"),
                cover_url=reader.optional_text(item.get("artworkUrl"), f"{path}.artworkUrl"),
                service_id=str(track_id),
            )
        )
    next_offset = page.get("nextOffset")
    if next_offset is None:
        return tracks, None
    return tracks, reader.count(next_offset, "tracks.nextOffset")


def parse_meta(page: str, entry: CatalogEntry) -> PlaylistMeta:
    """og:title, og:image and og:description (or meta description) from the playlist page."""
    return playlist_meta(
        page,
        entry,
        service=Service.SOUNDCLOUD,
        name=lambda head: head.get("og:title"),
        description=lambda head: head.get("og:description", "description"),
    )


class SoundCloudClient(RapidApiPlaylistClient):
    """Reads SoundCloud playlists through soundcloud-scraper, following `nextOffset`."""

    PROVIDER = PROVIDER
    parse_meta = parse_meta

    def fetch_playlist(self, entry: CatalogEntry) -> list[RawTrack]:
        """Every track of the playlist across up to MAX_PAGES pages, ranked 1..n."""
        headers = rapidapi_headers(self._rapidapi_key, PLAYLIST_HOST)

        def read(params: _Params, first_rank: int) -> tuple[list[RawTrack], _Params | None]:
            payload = self.http.get_json(
                "playlist_tracks",
                PLAYLIST_URL,
                params=params,
                headers=headers,
                units=self._units("playlist_tracks"),
            )
            page, offset = parse_playlist_tracks(payload, first_rank=first_rank)
            return page, None if offset is None else {"playlist": entry.url, "offset": offset}

        return self._paged(_Params(playlist=entry.url), read)
