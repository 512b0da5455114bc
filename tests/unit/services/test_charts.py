"""Chart-history rules: movement, peak, days on chart, first seen, rising; by example and as
properties over random rank histories."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tunemeld.etl.view_count import redo_later_deltas
from tunemeld.models import ViewSample, ViewSource
from tunemeld.models.contract import (
    AggregateTrack,
    CurrentCount,
    InitialCount,
    LegacyCount,
    LegacyCounts,
    Movement,
    SourceCount,
    SourceCounts,
)
from tunemeld.services.charts import chart_stats, movement, rising_rows

DAY0 = date(2026, 11, 1)
ISRCS = [f"USAAA26{n:05d}" for n in range(6)]
ranks = st.integers(min_value=1, max_value=200)


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[date, dict[str, int]], date]:
    """Up to 8 ranking days (gaps allowed) of a playlist of ISRCS, and a served day after them."""
    offsets = draw(st.lists(st.integers(0, 20), max_size=8, unique=True))
    history: dict[date, dict[str, int]] = {}
    for offset in offsets:
        listed = draw(st.lists(st.sampled_from(ISRCS), unique=True))
        history[DAY0 + timedelta(days=offset)] = {
            isrc: position for position, isrc in enumerate(listed, start=1)
        }
    served = DAY0 + timedelta(days=draw(st.integers(0, 22)))
    return history, served


class TestMovement:
    """The movement rule, by the contract's words."""

    def test_movement_when_examples_follow_the_contract(self) -> None:
        assert movement(3, 5, listed_before=True) == Movement(kind="up", places=2)
        assert movement(5, 3, listed_before=True) == Movement(kind="down", places=2)
        assert movement(4, 4, listed_before=True) == Movement(kind="same", places=0)
        assert movement(1, None, listed_before=False) == Movement(kind="new", places=0)
        assert movement(1, None, listed_before=True) == Movement(kind="re-entry", places=0)

    @given(rank=ranks, previous=st.one_of(st.none(), ranks), listed_before=st.booleans())
    def test_movement_when_applied_to_the_previous_rank_gives_the_rank(
        self, rank: int, previous: int | None, listed_before: bool
    ) -> None:
        """Moving `places` in the movement's direction from the previous rank lands on the rank;
        without a previous rank, places is 0 and the kind says whether it was listed before."""
        moved = movement(rank, previous, listed_before=listed_before or previous is not None)
        if previous is None:
            assert moved.kind == ("re-entry" if listed_before else "new")
            assert moved.places == 0
            return
        step = {"up": -1, "down": 1, "same": 0}[moved.kind]
        assert previous + step * moved.places == rank
        assert (moved.places > 0) == (moved.kind != "same")


class TestChartStats:
    """A row's fields against what a reader computes from the history by hand."""

    def test_chart_stats_when_examples_follow_the_contract(self) -> None:
        a, b = ISRCS[0], ISRCS[1]
        history = {
            DAY0: {a: 4, b: 1},
            DAY0 + timedelta(days=1): {b: 2},
            DAY0 + timedelta(days=3): {a: 7, b: 3},
        }
        served = DAY0 + timedelta(days=4)

        back = chart_stats(history, served, a, 5)
        assert (back.previous_rank, back.movement) == (7, Movement(kind="up", places=2))
        assert (back.peak_rank, back.days_on_chart, back.first_seen) == (4, 3, DAY0)

        gone = chart_stats({**history, DAY0 + timedelta(days=3): {b: 3}}, served, a, 2)
        assert gone.previous_rank is None
        assert gone.movement == Movement(kind="re-entry", places=0)
        assert (gone.peak_rank, gone.days_on_chart) == (2, 2)

        new = chart_stats(history, served, ISRCS[2], 9)
        assert new.movement == Movement(kind="new", places=0)
        assert (new.peak_rank, new.days_on_chart, new.first_seen) == (9, 1, served)

    @given(drawn=histories(), isrc=st.sampled_from(ISRCS), rank=ranks)
    def test_chart_stats_when_history_is_random_match_a_hand_count(
        self, drawn: tuple[dict[date, dict[str, int]], date], isrc: str, rank: int
    ) -> None:
        """previous = the latest earlier day's rank; peak = the best of every listed rank;
        days = listed earlier days + the served one; first seen = the first of them."""
        history, served = drawn
        before = [day for day in history if day < served]
        listed_days = sorted(day for day in before if isrc in history[day])
        latest = max(before) if before else None

        stats = chart_stats(history, served, isrc, rank)

        assert stats.previous_rank == (history[latest].get(isrc) if latest else None)
        assert stats.peak_rank == min([rank] + [history[day][isrc] for day in listed_days])
        assert stats.peak_rank <= rank
        assert stats.days_on_chart == len(listed_days) + 1
        assert stats.first_seen == (listed_days[0] if listed_days else served)
        assert (stats.movement.kind == "new") == (not listed_days)

    @given(drawn=histories(), isrc=st.sampled_from(ISRCS), rank=ranks, later=ranks)
    def test_chart_stats_when_later_days_are_stored_ignores_them(
        self, drawn: tuple[dict[date, dict[str, int]], date], isrc: str, rank: int, later: int
    ) -> None:
        """Days on or after the served day never count (the served row is that day's rank)."""
        history, served = drawn
        earlier = {day: ranks for day, ranks in history.items() if day < served}
        with_later = {**earlier, served: {isrc: later}, served + timedelta(days=1): {isrc: 1}}

        assert chart_stats(with_later, served, isrc, rank) == chart_stats(
            earlier, served, isrc, rank
        )


def _count(weekly: int | None) -> SourceCount:
    return SourceCount(total=None if weekly is None else 1000, weekly=weekly, timestamp=None)


def _row(rank: int, spotify: int | None, youtube: int | None) -> AggregateTrack:
    legacy = LegacyCount(
        initial_count_json=InitialCount(initial_timestamp=None, initial_view_count=0),
        current_count_json=CurrentCount(current_timestamp=None, current_view_count=0),
    )
    return AggregateTrack(
        rank=rank,
        isrc=ISRCS[rank - 1],
        track_name=None,
        artist_name=None,
        album_cover_url=None,
        youtube_url=None,
        track_url=None,
        source_name=None,
        additional_sources={},
        sources={},
        raw_aggregate_rank=None,
        aggregate_service_name=None,
        spotify_url=None,
        apple_music_url=None,
        soundcloud_url=None,
        view_count_data_json=LegacyCounts(spotify=legacy, youtube=legacy),
        counts=SourceCounts(spotify=_count(spotify), youtube=_count(youtube)),
        previous_rank=None,
        movement=Movement(kind="new", places=0),
        peak_rank=rank,
        days_on_chart=1,
        first_seen=DAY0,
    )


class TestRising:
    """`/rising`: the known weekly gains summed; biggest first, ties by rank; unknown left out."""

    def test_rising_rows_when_gains_differ_orders_by_total_then_rank(self) -> None:
        rows = [
            _row(1, 10, None),
            _row(2, None, None),
            _row(3, 5, 20),
            _row(4, None, 10),
            _row(5, 0, 0),
        ]

        rising = rising_rows(rows)

        assert [(r.rank, r.gain.total) for r in rising] == [(3, 25), (1, 10), (4, 10), (5, 0)]
        assert (rising[1].gain.spotify, rising[1].gain.youtube) == (10, None)


class TestLaterDeltas:
    """A backfilled sample becomes the next sample's previous one."""

    def test_redo_later_deltas_when_a_day_is_filled_in_takes_the_next_delta_against_it(
        self,
    ) -> None:
        def sample(day: int, total: int, delta: int) -> ViewSample:
            return ViewSample(
                isrc=ISRCS[0],
                source=ViewSource.SPOTIFY,
                day=DAY0 + timedelta(days=day),
                timestamp=datetime(2026, 11, 1 + day, 12, tzinfo=timezone.utc),
                total=total,
                delta=delta,
                run_id="r",
            )

        stored = {ISRCS[0]: [sample(0, 100, 0), sample(2, 160, 60), sample(3, 170, 10)]}

        (changed,) = redo_later_deltas([sample(1, 130, 30)], stored)

        assert (changed.day, changed.total, changed.delta) == (DAY0 + timedelta(days=2), 160, 30)
        assert redo_later_deltas([sample(1, 100, 0)], {ISRCS[0]: [sample(1, 100, 0)]}) == []
