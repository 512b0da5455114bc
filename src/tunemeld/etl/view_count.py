"""Stage 4: a play/view-count sample for every track of a genre, then the API's views rebuilt.

One sample per (ISRC, source, day): re-running a day replaces its sample (idempotent);
`delta` is the growth since the newest sample of an earlier day (0 for the first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import structlog

from tunemeld.etl._context import RunContext
from tunemeld.etl.views import build_views
from tunemeld.exceptions import ProviderAuthError, ProviderError, QuotaExhausted
from tunemeld.models import AGGREGATE, Genre, Service, Track, ViewSample, ViewSource
from tunemeld.services.cache import genre_cache_prefix

__all__ = ["count_views", "make_samples"]

log = structlog.get_logger()

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
    samples = []
    for isrc, total in sorted(totals.items()):
        before = previous.get(isrc)
        delta = total - before.total if before is not None else 0
        samples.append(
            ViewSample(
                isrc=isrc,
                source=source,
                day=day,
                timestamp=timestamp,
                total=total,
                delta=delta,
                run_id=run_id,
            )
        )
    return samples


def _genre_isrcs(ctx: RunContext, genre: Genre) -> list[str]:
    isrcs: dict[str, None] = {}
    for name in (AGGREGATE, *(s.value for s in Service)):
        playlist = ctx.store.get_playlist(genre, name)
        if playlist is not None:
            isrcs.update(dict.fromkeys(playlist.isrcs))
    return list(isrcs)


def _spotify_totals(ctx: RunContext, tracks: Iterable[Track]) -> tuple[dict[str, int], int]:
    totals: dict[str, int] = {}
    failures = 0
    for track in tracks:
        if not track.spotify_id:
            continue
        found, value = ctx.memo_get(SPOTIFY_PLAYS, track.isrc)
        if found:
            if value is not None:
                totals[track.isrc] = int(value)
            continue
        try:
            count = ctx.providers.spotify.play_count(track.spotify_id, track.isrc)
        except (QuotaExhausted, ProviderAuthError):
            raise
        except ProviderError as exc:
            failures += 1
            ctx.memo_set(SPOTIFY_PLAYS, track.isrc, None)
            log.warning("play_count_failed", isrc=track.isrc, error=exc.message)
            continue
        ctx.memo_set(SPOTIFY_PLAYS, track.isrc, str(count))
        totals[track.isrc] = count
    return totals, failures


def _youtube_totals(ctx: RunContext, tracks: Iterable[Track]) -> dict[str, int]:
    totals: dict[str, int] = {}
    wanted: dict[str, str] = {}
    for track in tracks:
        if not track.youtube_id:
            continue
        found, value = ctx.memo_get(YOUTUBE_VIEWS, track.isrc)
        if found:
            if value is not None:
                totals[track.isrc] = int(value)
            continue
        wanted[track.youtube_id] = track.isrc
    if wanted:
        counts = ctx.providers.youtube.view_counts(list(wanted))
        for video_id, isrc in wanted.items():
            count = counts.get(video_id)
            ctx.memo_set(YOUTUBE_VIEWS, isrc, None if count is None else str(count))
            if count is not None:
                totals[isrc] = count
    return totals


def count_views(ctx: RunContext, genre: Genre) -> dict[str, int]:
    """Sample every track of the genre's playlists, store the samples and rebuild the views."""
    isrcs = _genre_isrcs(ctx, genre)
    tracks = list(ctx.store.get_tracks(isrcs).values())
    spotify, failures = _spotify_totals(ctx, tracks)
    youtube = _youtube_totals(ctx, tracks)
    samples: list[ViewSample] = []
    for source, totals in ((ViewSource.SPOTIFY, spotify), (ViewSource.YOUTUBE, youtube)):
        previous = ctx.store.previous_samples(totals, source, before=ctx.as_of)
        samples += make_samples(
            totals, previous, source=source, day=ctx.as_of, timestamp=ctx.now, run_id=ctx.run_id
        )
    with ctx.store.unit():
        ctx.store.save_view_samples(samples)
        ctx.store.save_views(build_views(ctx.store, genre, now=ctx.now))
    ctx.cache.delete_prefix(genre_cache_prefix(genre))
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
    }
