"""Recording a playlist's day: its ranking kept for history, the current playlist only if newest.

The current playlist (what the API serves) is replaced only when the run's day is the newest
that playlist has a ranking for: a backfill adds to the history without turning the API back.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from datetime import time as dtime

from tunemeld.etl._context import RunContext
from tunemeld.models import Genre, Playlist, Ranking

__all__ = ["day_end", "is_newest_day", "record_playlist"]


def day_end(day: date) -> datetime:
    """The last instant of `day` (UTC): snapshots fetched for a day are stamped within it."""
    return datetime.combine(day, dtime.max, tzinfo=timezone.utc)


def is_newest_day(ctx: RunContext, genre: Genre, playlist: str) -> bool:
    """True when no ranking of the playlist is of a day after the run's."""
    newest = ctx.store.latest_ranking_day(genre, playlist)
    return newest is None or newest <= ctx.as_of


def record_playlist(ctx: RunContext, playlist: Playlist) -> bool:
    """Save the run's day's ranking of `playlist`, and the playlist itself when that day is the
    newest; call inside the playlist's unit. True when the playlist became the current one."""
    newest = is_newest_day(ctx, playlist.genre, playlist.service_name)
    rankings = [
        Ranking(
            genre=playlist.genre,
            playlist=playlist.service_name,
            day=ctx.as_of,
            isrc=track.isrc,
            rank=track.rank,
            run_id=ctx.run_id,
            recorded_at=ctx.now,
        )
        for track in playlist.tracks
    ]
    ctx.store.save_rankings(playlist.genre, playlist.service_name, ctx.as_of, rankings)
    if newest:
        ctx.store.save_playlist(playlist)
    return newest
