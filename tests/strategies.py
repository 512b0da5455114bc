"""Hypothesis strategies for the domain models, in one module (attrs' tests/strategies.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import strategies as st

from tests.catalog import GENRES
from tunemeld.models import (
    RawTrack,
    Service,
    ServiceTrack,
    Track,
    TrackRank,
    ViewSample,
    ViewSource,
)

isrcs = st.from_regex(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}", fullmatch=True)
genres = st.sampled_from(GENRES)
services = st.sampled_from(list(Service))
sources = st.sampled_from(ViewSource)
titles = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=80)
aware_datetimes = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(timezone.utc)
)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1))


@st.composite
def raw_tracks(
    draw: st.DrawFn, *, service: Service | None = None, rank: int | None = None
) -> RawTrack:
    """A valid RawTrack; a keyword pins that field, None means any."""
    return RawTrack(
        service=service or draw(services),
        rank=rank or draw(st.integers(1, 200)),
        title=draw(titles),
        artist=draw(titles),
        isrc=draw(st.none() | isrcs),
        url=draw(st.none() | st.just("https://example.test/t")),
    )


@st.composite
def tracks(draw: st.DrawFn, *, isrc: str | None = None) -> Track:
    """A valid Track with data from one to three services."""
    chosen = draw(st.sets(services, min_size=1, max_size=3))
    return Track(
        isrc=isrc or draw(isrcs),
        title=draw(titles),
        artist=draw(titles),
        services={s: ServiceTrack(title=draw(titles), artist=draw(titles)) for s in chosen},
        spotify_id=draw(st.none() | st.from_regex(r"[A-Za-z0-9]{22}", fullmatch=True)),
        youtube_id=draw(st.none() | st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True)),
        updated_at=draw(aware_datetimes),
    )


@st.composite
def service_rankings(draw: st.DrawFn) -> dict[Service, list[str]]:
    """Per service, a list of distinct ISRCs in rank order, drawn from one shared pool."""
    pool = draw(st.lists(isrcs, min_size=0, max_size=40, unique=True))
    result: dict[Service, list[str]] = {}
    for service in Service:
        chosen = draw(st.lists(st.sampled_from(pool), unique=True)) if pool else []
        result[service] = chosen
    return result


@st.composite
def track_ranks(draw: st.DrawFn, *, service: Service | None = None) -> TrackRank:
    """A service-playlist entry."""
    svc = service or draw(services)
    rank = draw(st.integers(1, 200))
    return TrackRank(isrc=draw(isrcs), rank=rank, sources={svc: rank})


@st.composite
def view_samples(draw: st.DrawFn) -> ViewSample:
    """A valid ViewSample."""
    day = draw(days)
    return ViewSample(
        isrc=draw(isrcs),
        source=draw(sources),
        day=day,
        timestamp=datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(hours=12),
        total=draw(st.integers(0, 10**12)),
        delta=draw(st.integers(-(10**6), 10**12)),
        run_id=draw(st.from_regex(r"[a-f0-9]{12}", fullmatch=True)),
    )
