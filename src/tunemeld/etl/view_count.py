"""Stage 4: a play/view-count sample for every track of a genre, then the API's views rebuilt.

One sample per (ISRC, source, day), so re-running a day replaces it; `delta` is the growth since
the newest sample of an earlier day. videos.list takes 50 ids a call: a genre's last, partial
batch is topped up with the run's other genres' ids, so a run needs about ceil(videos / 50).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import structlog

from tunemeld.etl._context import RunContext
from tunemeld.etl._rankings import is_newest_day
from tunemeld.etl.transform import resolve_videos
from tunemeld.etl.views import build_views
from tunemeld.exceptions import ProviderAuthError, ProviderError, QuotaExhausted
from tunemeld.models import AGGREGATE, Genre, Service, Track, ViewSample, ViewSource
from tunemeld.services.cache import TRACK_CACHE_PREFIX, genre_cache_prefix

__all__ = ["count_views", "make_samples", "redo_later_deltas"]

log = structlog.get_logger()

YOUTUBE_BATCH = 50
SPOTIFY_PLAYS = "spotify_plays"
YOUTUBE_VIEWS = "youtube_views"


def make_samples(
    totals: Mapping[str, int],
    previous: Mapping[str, ViewSample],
    *,
    source: ViewSource,
    day: date,
    timestamp: datetime,
    run_id: str,
) -> list[ViewSample]:
    """Samples with deltas against each ISRC's previous sample (0 when there is none)."""
    return [
        ViewSample(
            isrc=isrc,
            source=source,
            day=day,
            timestamp=timestamp,
            total=total,
            delta=total - previous[isrc].total if isrc in previous else 0,
            run_id=run_id,
        )
        for isrc, total in sorted(totals.items())
    ]


def _genre_isrcs(ctx: RunContext, genre: Genre) -> list[str]:
    """The tracks of the genre's playlists on the run's day: its rankings of that day, and for
    the newest day (or a store from before rankings were kept) the current playlists."""
    isrcs: dict[str, None] = {}
    for name in (AGGREGATE, *(s.value for s in Service)):
        day = ctx.store.playlist_rankings(genre, name, since=ctx.as_of, until=ctx.as_of)
        isrcs.update(dict.fromkeys(r.isrc for r in day))
        if is_newest_day(ctx, genre, name):
            playlist = ctx.store.get_playlist(genre, name)
            if playlist is not None:
                isrcs.update(dict.fromkeys(playlist.isrcs))
    return list(isrcs)


def redo_later_deltas(
    samples: Iterable[ViewSample], history: Mapping[str, list[ViewSample]]
) -> list[ViewSample]:
    """The samples right after each new one (a backfilled day), their delta taken against it."""
    changed = []
    for sample in samples:
        later = [
            s
            for s in history.get(sample.isrc, [])
            if s.source is sample.source and s.day > sample.day
        ]
        if not later:
            continue
        following = min(later, key=lambda s: s.day)
        delta = following.total - sample.total
        if following.delta != delta:
            changed.append(following.model_copy(update={"delta": delta}))
    return changed


def _spotify_totals(ctx: RunContext, tracks: Iterable[Track]) -> tuple[dict[str, int], int]:
    """Play counts of the tracks with a Spotify id, read once a run, `max_concurrency` at a time.

    A failed count costs only its track's sample; a spent quota or refused key fails the unit.
    """
    totals: dict[str, int] = {}
    wanted: list[Track] = []
    for track in tracks:
        if not track.spotify_id:
            continue
        found, value = ctx.memo_get(SPOTIFY_PLAYS, track.isrc)
        if not found:
            wanted.append(track)
        elif value is not None:
            totals[track.isrc] = int(value)
    spotify = ctx.providers.spotify
    counts = ctx.each(lambda t: spotify.play_count(t.spotify_id or "", t.isrc), wanted)
    failures = 0
    for track, count in zip(wanted, counts, strict=True):
        if isinstance(count, (QuotaExhausted, ProviderAuthError)):
            raise count
        if isinstance(count, ProviderError):
            failures += 1
            ctx.memo_set(SPOTIFY_PLAYS, track.isrc, None)
            log.warning("play_count_failed", isrc=track.isrc, error=count.message)
            continue
        if isinstance(count, Exception):
            raise count
        ctx.memo_set(SPOTIFY_PLAYS, track.isrc, str(count))
        totals[track.isrc] = count
    return totals, failures


def _unread_videos(ctx: RunContext, tracks: Iterable[Track]) -> dict[str, list[str]]:
    """video id -> ISRCs, for tracks with a video whose count this run has not read yet."""
    wanted: dict[str, list[str]] = {}
    for track in tracks:
        if track.youtube_id and not ctx.memo_get(YOUTUBE_VIEWS, track.isrc)[0]:
            wanted.setdefault(track.youtube_id, []).append(track.isrc)
    return wanted


def _other_genre_tracks(ctx: RunContext, genre: Genre) -> list[Track]:
    """Tracks of the run's other genres (to fill a partial videos.list batch)."""
    isrcs: dict[str, None] = {}
    for other in ctx.genres:
        if other is not genre:
            isrcs.update(dict.fromkeys(_genre_isrcs(ctx, other)))
    return list(ctx.store.get_tracks(isrcs).values())


def _youtube_totals(ctx: RunContext, genre: Genre, tracks: Iterable[Track]) -> dict[str, int]:
    wanted = _unread_videos(ctx, tracks)
    batch = YOUTUBE_BATCH
    if wanted and len(wanted) % batch:
        spare = batch - len(wanted) % batch
        for video_id, isrcs in _unread_videos(ctx, _other_genre_tracks(ctx, genre)).items():
            if spare == 0:
                break
            if video_id not in wanted:
                wanted[video_id] = isrcs
                spare -= 1
    if wanted:
        counts = ctx.providers.youtube.view_counts(list(wanted))
        for video_id, isrcs in wanted.items():
            count = counts.get(video_id)
            for isrc in isrcs:
                ctx.memo_set(YOUTUBE_VIEWS, isrc, None if count is None else str(count))
    totals: dict[str, int] = {}
    for track in tracks:
        found, value = ctx.memo_get(YOUTUBE_VIEWS, track.isrc)
        if track.youtube_id and found and value is not None:
            totals[track.isrc] = int(value)
    return totals


def count_views(ctx: RunContext, genre: Genre) -> dict[str, int]:
    """Sample every track of the genre's playlists, store the samples and rebuild the views."""
    isrcs = _genre_isrcs(ctx, genre)
    videos = resolve_videos(ctx, isrcs)
    tracks = list(ctx.store.get_tracks(isrcs).values())
    spotify, failures = _spotify_totals(ctx, tracks)
    youtube = _youtube_totals(ctx, genre, tracks)
    samples: list[ViewSample] = []
    for source, totals in ((ViewSource.SPOTIFY, spotify), (ViewSource.YOUTUBE, youtube)):
        previous = ctx.store.previous_samples(totals, source, before=ctx.as_of)
        samples += make_samples(
            totals, previous, source=source, day=ctx.as_of, timestamp=ctx.now, run_id=ctx.run_id
        )
    later = redo_later_deltas(samples, ctx.store.view_history({s.isrc for s in samples}))
    with ctx.store.unit():
        ctx.store.save_view_samples([*samples, *later])
        ctx.store.save_views(build_views(ctx.store, genre, now=ctx.now))
    ctx.cache.delete_prefix(genre_cache_prefix(genre))
    ctx.cache.delete_prefix(TRACK_CACHE_PREFIX)
    log.info(
        "views_counted",
        tracks=len(tracks),
        spotify_samples=len(spotify),
        youtube_samples=len(youtube),
        failures=failures,
    )
    return {
        "tracks": len(tracks),
        "samples": len(samples),
        "spotify_samples": len(spotify),
        "youtube_samples": len(youtube),
        "failures": failures,
        **videos,
    }
