"""Stage 3: the cross-service `Aggregate` playlist of one genre (DESIGN.md §5).

A track enters when at least two services list it, ranked by its rank on the highest-priority
service listing it. Its YouTube video is searched here, before view_count's: the aggregate is
what the API shows, and the search bucket is small.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import structlog

from tunemeld.etl._context import RunContext
from tunemeld.etl._rankings import record_playlist
from tunemeld.etl.transform import resolve_videos
from tunemeld.exceptions import NotFound
from tunemeld.models import AGGREGATE, Genre, Playlist, Service, TrackRank

__all__ = ["aggregate_genre", "aggregate_ranks", "build_aggregate"]

log = structlog.get_logger()

MIN_SERVICES = 2


def aggregate_ranks(rankings: Mapping[Service, Mapping[str, int]]) -> list[TrackRank]:
    """Apply the aggregation rule to per-service {isrc: rank} maps."""
    sources: dict[str, dict[Service, int]] = {}
    for service, ranks in rankings.items():
        for isrc, rank in ranks.items():
            sources.setdefault(isrc, {})[service] = rank
    entries: list[tuple[int, int, str, Service, dict[Service, int]]] = []
    for isrc, listed in sources.items():
        if len(listed) < MIN_SERVICES:
            continue
        best = min(listed, key=lambda s: s.priority)
        entries.append((listed[best], best.priority, isrc, best, listed))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return [
        TrackRank(
            isrc=isrc,
            rank=position,
            sources=dict(sorted(listed.items(), key=lambda kv: kv[0].priority)),
            raw_aggregate_rank=raw_rank,
            aggregate_service_name=service,
        )
        for position, (raw_rank, _, isrc, service, listed) in enumerate(entries, start=1)
    ]


def build_aggregate(
    genre: Genre, playlists: Mapping[Service, Playlist], *, now: datetime, run_id: str
) -> Playlist:
    """The Aggregate playlist from stored service playlists."""
    rankings = {
        service: {t.isrc: t.rank for t in playlist.tracks}
        for service, playlist in playlists.items()
    }
    return Playlist(
        genre=genre,
        service_name=AGGREGATE,
        tracks=aggregate_ranks(rankings),
        updated_at=now,
        run_id=run_id,
    )


def _service_ranks(ctx: RunContext, genre: Genre, service: Service) -> dict[str, int] | None:
    """{isrc: rank} of one service on the run's day: its ranking of the newest day up to the
    run's (the last good one when today's transform failed); a store from before rankings were
    kept, its current playlist; None when there is nothing."""
    day = ctx.store.latest_ranking_day(genre, service.value, until=ctx.as_of)
    if day is None:
        if ctx.store.latest_ranking_day(genre, service.value) is not None:
            return None  # rankings only of later days: nothing for this day
        playlist = ctx.store.get_playlist(genre, service.value)
        return None if playlist is None else {t.isrc: t.rank for t in playlist.tracks}
    rankings = ctx.store.playlist_rankings(genre, service.value, since=day, until=day)
    return {r.isrc: r.rank for r in rankings}


def aggregate_genre(ctx: RunContext, genre: Genre) -> dict[str, int]:
    """Build one genre's Aggregate of the run's day from the services' rankings of that day;
    record its ranking, and make it the current Aggregate when the day is the newest."""
    ctx.aggregates_started += 1
    takers_left = max(1, len(ctx.genres) - ctx.aggregates_started + 1)
    playlists = {
        service: ranks
        for service in Service
        if (ranks := _service_ranks(ctx, genre, service)) is not None
    }
    if len(playlists) < MIN_SERVICES:
        raise NotFound(
            f"Only {len(playlists)} service playlist(s) stored for {genre.value}; "
            f"the aggregate needs at least {MIN_SERVICES}.",
            hint=f"Run `inv etl.run --stage transform --genre {genre.value}` "
            "after a successful extract.",
        )
    aggregate = Playlist(
        genre=genre,
        service_name=AGGREGATE,
        tracks=aggregate_ranks(playlists),
        updated_at=ctx.now,
        run_id=ctx.run_id,
    )
    with ctx.store.unit():
        record_playlist(ctx, aggregate)
    log.info("aggregate_built", tracks=len(aggregate.tracks), services=len(playlists))
    # Each genre's top tracks get an equal part of a small search bucket (100 a day by default),
    # rather than the first genre of the run taking it all; view_count spends what is left.
    share = ctx.fair_share("YouTube", "search", takers_left=takers_left)
    videos = resolve_videos(ctx, aggregate.isrcs, max_searches=share)
    return {"tracks": len(aggregate.tracks), **videos}
