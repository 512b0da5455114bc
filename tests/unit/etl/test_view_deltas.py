"""View-count samples: deltas against the previous day's sample."""

from __future__ import annotations

from datetime import date, datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from tunemeld.etl import make_samples
from tunemeld.models import ViewSample, ViewSource

DAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
ISRC = "USAAA2500001"


def _sample(total: int, day: date) -> ViewSample:
    return ViewSample(
        isrc=ISRC,
        source=ViewSource.SPOTIFY,
        day=day,
        timestamp=NOW,
        total=total,
        delta=0,
        run_id="r0",
    )


class TestDeltas:
    """Deltas by example and as properties."""

    def test_first_sample_has_delta_zero(self) -> None:
        (sample,) = make_samples(
            {ISRC: 500}, {}, source=ViewSource.SPOTIFY, day=DAY, timestamp=NOW, run_id="r1"
        )
        assert (sample.total, sample.delta) == (500, 0)

    def test_delta_is_growth_since_previous_sample(self) -> None:
        previous = {ISRC: _sample(400, date(2026, 11, 23))}
        (sample,) = make_samples(
            {ISRC: 525}, previous, source=ViewSource.SPOTIFY, day=DAY, timestamp=NOW, run_id="r1"
        )
        assert sample.delta == 125
        assert sample.day == DAY

    @given(st.lists(st.integers(0, 10**12), min_size=1, max_size=30))
    def test_deltas_sum_to_growth_over_the_series(self, totals: list[int]) -> None:
        previous: dict[str, ViewSample] = {}
        deltas = []
        for offset, total in enumerate(totals):
            (sample,) = make_samples(
                {ISRC: total},
                previous,
                source=ViewSource.YOUTUBE,
                day=date.fromordinal(DAY.toordinal() + offset),
                timestamp=NOW,
                run_id=f"r{offset}",
            )
            deltas.append(sample.delta)
            previous = {ISRC: sample}
        assert deltas[0] == 0
        assert sum(deltas) == totals[-1] - totals[0]

    @given(st.lists(st.integers(0, 10**9), min_size=2, max_size=30).map(sorted))
    def test_growing_totals_never_give_negative_deltas(self, totals: list[int]) -> None:
        previous: dict[str, ViewSample] = {}
        for offset, total in enumerate(totals):
            (sample,) = make_samples(
                {ISRC: total},
                previous,
                source=ViewSource.SPOTIFY,
                day=date.fromordinal(DAY.toordinal() + offset),
                timestamp=NOW,
                run_id="r",
            )
            assert sample.delta >= 0
            previous = {ISRC: sample}
