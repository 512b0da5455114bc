"""Chart history: the rules a row's movement, peak and days on chart follow, in one place.

From a playlist's stored rankings of the days before the served one, each served row gets
`previous_rank`, `movement` (new, re-entry, up, down, same), `peak_rank`, `days_on_chart` and
`first_seen`; the ETL's views, `/track/<isrc>`, `/rising` and `tunemeld.frames` all read them here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from tunemeld.models import AGGREGATE, Genre, Ranking, Service, ViewSource
from tunemeld.models.contract import (
    AggregateTrack,
    Gain,
    Movement,
    RisingTrack,
    TrackHistory,
    TrackPlaylistHistory,
    TrackViewCounts,
)
from tunemeld.services.store import Store

__all__ = [
    "ChartStats",
    "RankHistory",
    "chart_stats",
    "gain_of",
    "movement",
    "rank_history",
    "rising_rows",
    "track_history",
]

RankHistory = Mapping[date, Mapping[str, int]]
"""One playlist's rankings: day -> {isrc: rank}."""


@dataclass(frozen=True)
class ChartStats:
    """A served row's chart-history fields (see the module docstring)."""

    previous_rank: int | None
    movement: Movement
    peak_rank: int
    days_on_chart: int
    first_seen: date


def movement(rank: int, previous_rank: int | None, *, listed_before: bool) -> Movement:
    """The move from `previous_rank` (the previous ranking day's, None: not listed) to `rank`;
    without one, `listed_before` (on any earlier day) tells a re-entry from a new entry."""
    if previous_rank is None:
        return Movement(kind="re-entry" if listed_before else "new", places=0)
    if previous_rank > rank:
        return Movement(kind="up", places=previous_rank - rank)
    if previous_rank < rank:
        return Movement(kind="down", places=rank - previous_rank)
    return Movement(kind="same", places=0)


def chart_stats(history: RankHistory, day: date, isrc: str, rank: int) -> ChartStats:
    """The fields of `isrc` served at `rank` on `day`, from the rankings of the days before it
    (later ones are ignored: the served row itself is the day's rank)."""
    earlier = sorted(d for d in history if d < day)
    previous = history[earlier[-1]].get(isrc) if earlier else None
    listed = [(d, history[d][isrc]) for d in earlier if isrc in history[d]]
    return ChartStats(
        previous_rank=previous,
        movement=movement(rank, previous, listed_before=bool(listed)),
        peak_rank=min([rank, *(r for _, r in listed)]),
        days_on_chart=len(listed) + 1,
        first_seen=listed[0][0] if listed else day,
    )


def rank_history(rankings: Iterable[Ranking]) -> dict[date, dict[str, int]]:
    """Ranking records of one playlist as day -> {isrc: rank}, days oldest first."""
    history: dict[date, dict[str, int]] = {}
    for ranking in sorted(rankings, key=lambda r: (r.day, r.rank, r.isrc)):
        history.setdefault(ranking.day, {})[ranking.isrc] = ranking.rank
    return history


def gain_of(row: AggregateTrack) -> Gain:
    """An aggregate row's 7-day gain: each source's `counts.<source>.weekly`, and their sum."""
    spotify, youtube = row.counts.spotify.weekly, row.counts.youtube.weekly
    known = [gain for gain in (spotify, youtube) if gain is not None]
    return Gain(spotify=spotify, youtube=youtube, total=sum(known))


def rising_rows(rows: Iterable[AggregateTrack]) -> list[RisingTrack]:
    """`/rising`: every aggregate row with a known gain (`gain_of`), biggest total first, then
    by rank; rows with no sample yet are left out."""
    rising: list[RisingTrack] = []
    for row in rows:
        gain = gain_of(row)
        if gain.spotify is None and gain.youtube is None:
            continue
        rising.append(
            RisingTrack(
                **row.listing(),
                gain=gain,
                previous_rank=row.previous_rank,
                movement=row.movement,
            )
        )
    return sorted(rising, key=lambda r: (-r.gain.total, r.rank))


def _playlist_position(key: tuple[str, str], genres: Sequence[Genre]) -> tuple[int, str, int]:
    """Sort key of (genre, playlist): catalog genres in order, then the Aggregate, then services
    in registry order (genres no longer in the catalog last, by name)."""
    genre, name = key
    positions = {g.value: n for n, g in enumerate(genres)}
    names = [AGGREGATE, *(service.value for service in Service)]
    return (
        positions.get(genre, len(positions)),
        genre,
        names.index(name) if name in names else len(names),
    )


def track_history(store: Store, isrc: str, genres: Sequence[Genre]) -> TrackHistory | None:
    """Everything the store knows of one recording (`/track/<isrc>`); None when nothing."""
    track = store.get_tracks([isrc]).get(isrc)
    rankings = store.track_rankings(isrc)
    if track is None and not rankings:
        return None
    ranks: dict[tuple[str, str], list[tuple[date, int]]] = {}
    for ranking in sorted(rankings, key=lambda r: r.day):
        ranks.setdefault((ranking.genre.value, ranking.playlist), []).append(
            (ranking.day, ranking.rank)
        )
    playlists = [
        TrackPlaylistHistory(
            genre_name=genre,
            service_name=name,
            ranks=days,
            peak_rank=min(rank for _, rank in days),
            days_on_chart=len(days),
            first_seen=days[0][0],
        )
        for (genre, name), days in sorted(
            ranks.items(), key=lambda item: _playlist_position(item[0], genres)
        )
    ]
    samples = store.view_history([isrc]).get(isrc, [])
    series: dict[ViewSource, list[tuple[int, int, int]]] = {source: [] for source in ViewSource}
    for sample in sorted(samples, key=lambda s: (s.day, s.source.value)):
        moment = int(sample.timestamp.timestamp() * 1000)
        series[sample.source].append((moment, sample.total, sample.delta))
    links = {
        service.value: (data.url if track and (data := track.services.get(service)) else None)
        for service in Service
    }
    return TrackHistory(
        isrc=isrc,
        track_name=track.title if track else None,
        artist_name=track.artist if track else None,
        album_cover_url=track.cover_url if track else None,
        youtube_url=track.youtube_url if track else None,
        links=links,
        playlists=playlists,
        view_counts=TrackViewCounts(
            spotify=series[ViewSource.SPOTIFY], youtube=series[ViewSource.YOUTUBE]
        ),
    )
