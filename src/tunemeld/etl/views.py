"""The per-genre documents the API serves, built from the store after each view_count unit.

Precomputing them keeps every API request a single keyed read, whatever the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tunemeld.models import (
    AGGREGATE,
    Genre,
    Playlist,
    Service,
    Track,
    ViewDoc,
    ViewSource,
    view_version,
)
from tunemeld.services.store import Store

__all__ = [
    "GRAPH_DATA",
    "HEADER_ART",
    "LAST_UPDATED",
    "PLAYLIST_DATA",
    "build_views",
    "service_playlist_view",
]

GRAPH_DATA = "graph-data"
PLAYLIST_DATA = "playlist-data"
HEADER_ART = "header-art"
LAST_UPDATED = "last-updated"

_URL_KEYS = {
    Service.SPOTIFY: "spotify_url",
    Service.APPLE_MUSIC: "apple_music_url",
    Service.SOUNDCLOUD: "soundcloud_url",
}


def service_playlist_view(service: Service) -> str:
    """The view name of one service's ranked playlist."""
    return f"service-playlist:{service.value}"


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _aggregate_rows(playlist: Playlist, tracks: dict[str, Track]) -> list[dict[str, Any]]:
    rows = []
    for rank in playlist.tracks:
        track = tracks.get(rank.isrc)
        row: dict[str, Any] = {
            "rank": rank.rank,
            "isrc": rank.isrc,
            "track_name": track.title if track else None,
            "artist_name": track.artist if track else None,
            "album_cover_url": track.cover_url if track else None,
            "youtube_url": track.youtube_url if track else None,
            "sources": {s.value: r for s, r in rank.sources.items()},
            "raw_aggregate_rank": rank.raw_aggregate_rank,
            "aggregate_service_name": rank.aggregate_service_name.value
            if rank.aggregate_service_name
            else None,
        }
        for service, key in _URL_KEYS.items():
            data = track.services.get(service) if track else None
            row[key] = data.url if data else None
        rows.append(row)
    return rows


def _doc(genre: Genre, name: str, data: Any, now: datetime) -> ViewDoc:
    return ViewDoc(genre=genre, name=name, data=data, version=view_version(data), updated_at=now)


def build_views(store: Store, genre: Genre, *, now: datetime) -> list[ViewDoc]:
    """Every API document of one genre that the stored data allows."""
    docs: list[ViewDoc] = []
    playlists = {
        name: playlist
        for name in (AGGREGATE, *(s.value for s in Service))
        if (playlist := store.get_playlist(genre, name)) is not None
    }
    isrcs = {t.isrc for playlist in playlists.values() for t in playlist.tracks}
    tracks = store.get_tracks(isrcs)

    aggregate = playlists.get(AGGREGATE)
    if aggregate is not None:
        rows = _aggregate_rows(aggregate, tracks)
        docs.append(
            _doc(
                genre,
                PLAYLIST_DATA,
                {"genre": genre.value, "service_name": AGGREGATE, "tracks": rows},
                now,
            )
        )
        history = store.view_history(aggregate.isrcs)
        graph = []
        for row in rows:
            series: dict[str, list[list[int]]] = {s.value: [] for s in ViewSource}
            for sample in history.get(row["isrc"], []):
                series[sample.source.value].append([_epoch_ms(sample.timestamp), sample.delta])
            graph.append(
                {
                    "isrc": row["isrc"],
                    "rank": row["rank"],
                    "track_name": row["track_name"],
                    "artist_name": row["artist_name"],
                    "album_cover_url": row["album_cover_url"],
                    "view_counts": series,
                }
            )
        docs.append(_doc(genre, GRAPH_DATA, graph, now))

    for service in Service:
        playlist = playlists.get(service.value)
        if playlist is None:
            continue
        entries = []
        for rank in playlist.tracks:
            track = tracks.get(rank.isrc)
            data = track.services.get(service) if track else None
            entries.append(
                {
                    "rank": rank.rank,
                    "isrc": rank.isrc,
                    "track_name": data.title if data else None,
                    "artist_name": data.artist if data else None,
                    "url": data.url if data else None,
                    "album_cover_url": (data.cover_url if data else None)
                    or (track.cover_url if track else None),
                }
            )
        docs.append(
            _doc(
                genre,
                service_playlist_view(service),
                {"genre": genre.value, "service_name": service.value, "tracks": entries},
                now,
            )
        )

    header: dict[str, Any] = {}
    for service in Service:
        raw = store.latest_raw_playlist(service, genre)
        if raw is None:
            continue
        header[service.value] = {
            "playlist_name": raw.meta.name,
            "playlist_url": raw.meta.url,
            "playlist_cover_url": raw.meta.cover_url,
            "playlist_cover_description_text": raw.meta.description,
        }
    if header:
        docs.append(_doc(genre, HEADER_ART, header, now))
    docs.append(_doc(genre, LAST_UPDATED, {"last_updated": now.isoformat()}, now))
    return docs
