"""What the ETL computed, as pandas DataFrames: for notebooks and ad-hoc analysis.

    >>> from tunemeld import frames
    >>> frames.playlist(store, "pop")            # the aggregate playlist, one row per track
    >>> frames.track_history(store, "USUM71703861")
    >>> frames.rising(store, "pop")              # this week's climbers, as /rising serves them
    >>> frames.rankings(store, "pop")            # every day's ranking of the aggregate

pandas is an optional dependency (`pip install "tunemeld[notebook]"`); it is imported when this
module is, never by `import tunemeld`. Every function only reads the store.
"""

from __future__ import annotations

from collections.abc import Iterable

from tunemeld.config import Catalog, load_catalog
from tunemeld.models import AGGREGATE, Genre, Service, ViewSample, ViewSource
from tunemeld.models.contract import RisingTrack
from tunemeld.models.view import RISING
from tunemeld.services.store import Store

try:
    import pandas as pd
except ImportError as exc:  # pragma: no cover - the notebook extra is installed in tests
    raise ImportError(
        "tunemeld.frames needs pandas: python -m pip install 'tunemeld[notebook]'"
    ) from exc

__all__ = ["aggregates", "playlist", "rankings", "rising", "track_history"]

_HISTORY_COLUMNS = ["isrc", "source", "day", "timestamp", "total", "delta"]


def _genre(genre: Genre | str) -> Genre:
    """A Genre as given; text read against the built-in catalog (pass a Genre for others)."""
    return genre if isinstance(genre, Genre) else load_catalog().genre(genre)


def playlist(store: Store, genre: Genre | str, service_name: str = AGGREGATE) -> pd.DataFrame:
    """One ranked playlist (the Aggregate by default), a row per track, indexed by rank.

    Columns: isrc, title, artist, one rank column per service that lists the track (empty
    where it does not), the aggregate's raw rank and deciding service, and the YouTube id.
    An empty frame before the first run.
    """
    the_genre = _genre(genre)
    found = store.get_playlist(the_genre, service_name)
    ranks = found.tracks if found is not None else []
    tracks = store.get_tracks(rank.isrc for rank in ranks)
    rows = []
    for rank in ranks:
        track = tracks.get(rank.isrc)
        row: dict[str, object] = {
            "rank": rank.rank,
            "isrc": rank.isrc,
            "title": track.title if track else None,
            "artist": track.artist if track else None,
        }
        for service in Service:
            row[f"{service.value}_rank"] = rank.sources.get(service)
        row["raw_aggregate_rank"] = rank.raw_aggregate_rank
        row["aggregate_service_name"] = (
            rank.aggregate_service_name.value if rank.aggregate_service_name else None
        )
        row["youtube_id"] = track.youtube_id if track else None
        rows.append(row)
    columns = [
        "rank",
        "isrc",
        "title",
        "artist",
        *(f"{s.value}_rank" for s in Service),
        "raw_aggregate_rank",
        "aggregate_service_name",
        "youtube_id",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for service in Service:
        frame[f"{service.value}_rank"] = frame[f"{service.value}_rank"].astype("Int64")
    frame["raw_aggregate_rank"] = frame["raw_aggregate_rank"].astype("Int64")
    indexed: pd.DataFrame = frame.set_index("rank")
    return indexed


def aggregates(
    store: Store, genres: Iterable[Genre | str] | None = None, *, catalog: Catalog | None = None
) -> pd.DataFrame:
    """Every genre's aggregate playlist in one frame, with `genre` and `rank` columns.

    Genres are read against `catalog` (the built-in one by default); all of its genres when
    `genres` is None.
    """
    known = catalog or load_catalog()
    chosen = (
        [g if isinstance(g, Genre) else known.genre(g) for g in genres]
        if genres is not None
        else list(known.genres)
    )
    parts = [playlist(store, genre).reset_index().assign(genre=genre.value) for genre in chosen]
    frame = pd.concat(parts, ignore_index=True)
    ordered: pd.DataFrame = frame[["genre", *(c for c in frame.columns if c != "genre")]]
    return ordered


def _history_rows(samples: Iterable[ViewSample]) -> list[dict[str, object]]:
    return [
        {
            "isrc": s.isrc,
            "source": s.source.value,
            "day": pd.Timestamp(s.day),
            "timestamp": pd.Timestamp(s.timestamp),
            "total": s.total,
            "delta": s.delta,
        }
        for s in samples
    ]


def track_history(store: Store, isrc: str, source: ViewSource | None = None) -> pd.DataFrame:
    """One recording's samples, oldest first: day, source (Spotify plays, YouTube views), total,
    delta; `frame.pivot(index="day", columns="source", values="total")` gives one line each."""
    samples = store.view_history([isrc], source).get(isrc, [])
    frame = pd.DataFrame(_history_rows(samples), columns=_HISTORY_COLUMNS)
    ordered: pd.DataFrame = frame.sort_values(["day", "source"], ignore_index=True)
    return ordered


def rankings(store: Store, genre: Genre | str, service_name: str = AGGREGATE) -> pd.DataFrame:
    """Every stored day's ranking of one playlist (the Aggregate by default): day, rank, isrc,
    oldest day first; `frame.pivot(index="day", columns="isrc", values="rank")` gives a chart."""
    found = store.playlist_rankings(_genre(genre), service_name)
    rows = [{"day": pd.Timestamp(r.day), "rank": r.rank, "isrc": r.isrc} for r in found]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=["day", "rank", "isrc"])
    return frame


def rising(store: Store, genre: Genre | str, *, limit: int | None = 10) -> pd.DataFrame:
    """This week's climbers exactly as `GET /rising/<genre>` serves them (the stored view; the
    rule is `services.charts.rising_rows`): biggest 7-day gain in Spotify plays plus YouTube views
    first. Columns: rank, isrc, title, artist, each source's gain, the total, previous rank and
    movement. Empty before the first run.
    """
    view = store.get_view(_genre(genre), RISING.name)
    rows = []
    for item in view.data if view is not None else []:
        row = RisingTrack.model_validate(item)
        rows.append(
            {
                "rank": row.rank,
                "isrc": row.isrc,
                "title": row.track_name,
                "artist": row.artist_name,
                "spotify_gain": row.gain.spotify,
                "youtube_gain": row.gain.youtube,
                "gain": row.gain.total,
                "previous_rank": row.previous_rank,
                "movement": row.movement.kind,
            }
        )
    columns = [
        "rank",
        "isrc",
        "title",
        "artist",
        "spotify_gain",
        "youtube_gain",
        "gain",
        "previous_rank",
        "movement",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("spotify_gain", "youtube_gain", "previous_rank"):
        frame[column] = frame[column].astype("Int64")
    top: pd.DataFrame = frame.head(limit) if limit is not None else frame
    return top
