"""The per-genre documents the API serves, built from the store after each view_count unit.

Precomputing them keeps every API request a single keyed read, whatever the store. Their moment
is the newest time in the data they show, so rebuilding from the same data gives the same bytes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from tunemeld.models import (
    AGGREGATE,
    Genre,
    Playlist,
    RawPlaylist,
    Service,
    Track,
    ViewDoc,
    ViewSample,
    ViewSource,
    view_version,
)
from tunemeld.models.contract import (
    AggregateTrack,
    CurrentCount,
    GraphSeries,
    GraphTrack,
    HeaderArt,
    HeaderEntry,
    InitialCount,
    LastUpdated,
    LegacyCount,
    LegacyCounts,
    PlaylistDocument,
    ServicePlaylistDocument,
    ServicePlaylistTrack,
    SourceCount,
    SourceCounts,
)
from tunemeld.models.view import (
    GRAPH_DATA,
    HEADER_ART,
    LAST_UPDATED,
    PLAYLIST_DATA,
    RISING,
    service_playlist_view,
)
from tunemeld.services.charts import RankHistory, chart_stats, rank_history, rising_rows
from tunemeld.services.providers.registry import SERVICES
from tunemeld.services.store import Store

__all__ = ["WEEK", "build_views"]


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


WEEK = timedelta(days=7)
"""The window of the "weekly" counts: current minus the first count inside the last 7 days."""


def _window(
    samples: list[ViewSample], now: datetime
) -> tuple[ViewSample | None, ViewSample | None]:
    """(initial, current): the first sample inside the last 7 days and the newest one.

    When no sample is that recent, the newest is both (a weekly change of 0).
    """
    newest = samples[-1] if samples else None
    since = now - WEEK
    return next((s for s in samples if s.timestamp >= since), newest), newest


def _source_count(samples: list[ViewSample], now: datetime) -> SourceCount:
    """Newest total, and its change since the first sample inside the last 7 days."""
    initial, newest = _window(samples, now)
    if initial is None or newest is None:
        return SourceCount(total=None, weekly=None, timestamp=None)
    return SourceCount(
        total=newest.total,
        weekly=newest.total - initial.total,
        timestamp=_epoch_ms(newest.timestamp),
    )


def _legacy_count(samples: list[ViewSample], now: datetime) -> LegacyCount:
    """The old client's block: initial = first count inside the last 7 days, 0 when unknown."""
    initial, newest = _window(samples, now)
    return LegacyCount(
        initial_count_json=InitialCount(
            initial_timestamp=_epoch_ms(initial.timestamp) if initial else None,
            initial_view_count=initial.total if initial else 0,
        ),
        current_count_json=CurrentCount(
            current_timestamp=_epoch_ms(newest.timestamp) if newest else None,
            current_view_count=newest.total if newest else 0,
        ),
    )


def _by_source(samples: list[ViewSample]) -> dict[ViewSource, list[ViewSample]]:
    series: dict[ViewSource, list[ViewSample]] = {source: [] for source in ViewSource}
    for sample in samples:
        series[sample.source].append(sample)
    return series


def _chart_fields(chart: tuple[date, RankHistory], isrc: str, rank: int) -> dict[str, Any]:
    """The row's chart-history fields on the playlist's served day (`services.charts`)."""
    day, history = chart
    return dict(vars(chart_stats(history, day, isrc, rank)))  # ChartStats's fields, in order


def _chart(store: Store, playlist: Playlist) -> tuple[date, RankHistory]:
    """(served day, rankings by day) of a current playlist: its newest ranking day is served.

    A playlist stored before rankings were kept has none: its own day is then the only one.
    """
    history = rank_history(store.playlist_rankings(playlist.genre, playlist.service_name))
    return (max(history) if history else playlist.updated_at.date()), history


def _aggregate_rows(
    playlist: Playlist,
    tracks: dict[str, Track],
    history: dict[str, list[ViewSample]],
    now: datetime,
    chart: tuple[date, RankHistory],
) -> list[AggregateTrack]:
    rows = []
    for rank in playlist.tracks:
        track = tracks.get(rank.isrc)
        urls = {
            service: (data.url if (data := track.services.get(service)) else None)
            if track
            else None
            for service in Service
        }
        source = rank.aggregate_service_name
        series = _by_source(history.get(rank.isrc, []))
        spotify, youtube = series[ViewSource.SPOTIFY], series[ViewSource.YOUTUBE]
        rows.append(
            AggregateTrack(
                rank=rank.rank,
                isrc=rank.isrc,
                track_name=track.title if track else None,
                artist_name=track.artist if track else None,
                album_cover_url=track.cover_url if track else None,
                youtube_url=track.youtube_url if track else None,
                track_url=urls[source] if source else None,
                source_name=source.value if source else None,
                additional_sources={s.value: urls[s] for s in Service if s in rank.sources},
                sources={s.value: r for s, r in rank.sources.items()},
                raw_aggregate_rank=rank.raw_aggregate_rank,
                aggregate_service_name=source.value if source else None,
                **{spec.url_field: urls[spec.service] for spec in SERVICES},
                view_count_data_json=LegacyCounts(
                    spotify=_legacy_count(spotify, now), youtube=_legacy_count(youtube, now)
                ),
                counts=SourceCounts(
                    spotify=_source_count(spotify, now), youtube=_source_count(youtube, now)
                ),
                **_chart_fields(chart, rank.isrc, rank.rank),
            )
        )
    return rows


def _graph_rows(
    rows: list[AggregateTrack], history: dict[str, list[ViewSample]]
) -> list[GraphTrack]:
    graph = []
    for row in rows:
        series = {
            source: [(_epoch_ms(s.timestamp), s.delta) for s in samples]
            for source, samples in _by_source(history.get(row.isrc, [])).items()
        }
        graph.append(
            GraphTrack(
                **row.listing(),
                view_counts=GraphSeries(
                    spotify=series[ViewSource.SPOTIFY],
                    youtube_legacy=series[ViewSource.YOUTUBE],
                    youtube=series[ViewSource.YOUTUBE],
                ),
            )
        )
    return graph


def _service_document(
    genre: Genre,
    service: Service,
    playlist: Playlist,
    tracks: dict[str, Track],
    raw: RawPlaylist | None,
    chart: tuple[date, RankHistory],
) -> ServicePlaylistDocument:
    entries = []
    for rank in playlist.tracks:
        track = tracks.get(rank.isrc)
        data = track.services.get(service) if track else None
        url = data.url if data else None
        entries.append(
            ServicePlaylistTrack(
                rank=rank.rank,
                isrc=rank.isrc,
                track_name=data.title if data else None,
                artist_name=data.artist if data else None,
                url=url,
                track_url=url,
                album_cover_url=(data.cover_url if data else None)
                or (track.cover_url if track else None),
                youtube_url=track.youtube_url if track else None,
                source_name=service,
                genre_name=genre.value,
                **_chart_fields(chart, rank.isrc, rank.rank),
            )
        )
    return ServicePlaylistDocument(
        genre=genre,
        genre_name=genre.value,
        service_name=service,
        playlist_url=raw.meta.url if raw else None,
        tracks=entries,
    )


def _header_entry(genre: Genre, raw: RawPlaylist) -> HeaderEntry:
    """One header; the old client plays an AppleMusic cover ending in .m3u8 as a video."""
    meta = raw.meta
    return HeaderEntry(
        service_name=raw.service,
        genre_name=genre.value,
        playlist_name=meta.name,
        playlist_url=meta.url,
        playlist_cover_url=meta.video_url or meta.cover_url or "",
        playlist_cover_image_url=meta.cover_url,
        playlist_stream_url=meta.video_url,
        playlist_cover_description_text=meta.description or "",
    )


def _doc(genre: Genre, name: str, data: Any, now: datetime) -> ViewDoc:
    return ViewDoc(genre=genre, name=name, data=data, version=view_version(data), updated_at=now)


def build_views(store: Store, genre: Genre, *, now: datetime) -> list[ViewDoc]:
    """Every API document of one genre that the stored data allows (shapes: models.contract).

    Their moment (`last_updated`, the 7-day window's end) is the newest time in the data they
    show: the current playlists' `updated_at` or a newer sample of the aggregate's tracks, so a
    backfill cannot move it. `now` only stands in while the genre has no playlist yet.
    """
    docs: list[ViewDoc] = []
    playlists = {
        name: playlist
        for name in (AGGREGATE, *(s.value for s in Service))
        if (playlist := store.get_playlist(genre, name)) is not None
    }
    if playlists:
        now = max(playlist.updated_at for playlist in playlists.values())
    isrcs = {t.isrc for playlist in playlists.values() for t in playlist.tracks}
    tracks = store.get_tracks(isrcs)
    raws = {
        service: raw
        for service in Service
        if (raw := store.latest_raw_playlist(service, genre)) is not None
    }

    aggregate = playlists.get(AGGREGATE)
    history = store.view_history(aggregate.isrcs) if aggregate is not None else {}
    now = max([now, *(s.timestamp for samples in history.values() for s in samples[-1:])])
    if aggregate is not None:
        rows = _aggregate_rows(aggregate, tracks, history, now, _chart(store, aggregate))
        document = PlaylistDocument(
            genre=genre, genre_name=genre.value, service_name=AGGREGATE, tracks=rows
        )
        docs.append(_doc(genre, PLAYLIST_DATA.name, [document.dump()], now))
        graph = [row.dump() for row in _graph_rows(rows, history)]
        docs.append(_doc(genre, GRAPH_DATA.name, graph, now))
        rising = [row.dump() for row in rising_rows(rows)]
        docs.append(_doc(genre, RISING.name, rising, now))

    for service in Service:
        playlist = playlists.get(service.value)
        if playlist is None:
            continue
        chart = _chart(store, playlist)
        doc = _service_document(genre, service, playlist, tracks, raws.get(service), chart)
        docs.append(_doc(genre, service_playlist_view(service), [doc.dump()], now))

    if raws:
        entries = {service.value: _header_entry(genre, raw) for service, raw in raws.items()}
        header = HeaderArt.model_validate({"genre_name": genre.value, **entries})
        data = header.model_dump(mode="json", by_alias=True, exclude_unset=True)
        docs.append(_doc(genre, HEADER_ART.name, data, now))
    last = LastUpdated(last_updated=now.isoformat())
    docs.append(_doc(genre, LAST_UPDATED.name, last.dump(), now))
    return docs
