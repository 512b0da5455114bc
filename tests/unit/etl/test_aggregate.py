"""The aggregation rule of DESIGN.md §5, by example and as properties."""

from __future__ import annotations

from hypothesis import given

from tests import strategies as st_
from tunemeld.etl import aggregate_ranks
from tunemeld.models import Service

A, S, P = Service.APPLE_MUSIC, Service.SOUNDCLOUD, Service.SPOTIFY


class TestAggregateRule:
    """Worked examples of the rule."""

    def test_aggregate_when_one_service_lists_track_excludes_it(self) -> None:
        result = aggregate_ranks({P: {"USAAA2500001": 1}, A: {"USAAA2500002": 1}})
        assert result == []

    def test_raw_rank_comes_from_the_highest_priority_service(self) -> None:
        result = aggregate_ranks(
            {P: {"USAAA2500001": 1}, S: {"USAAA2500001": 7}, A: {"USAAA2500001": 30}}
        )
        (entry,) = result
        assert entry.raw_aggregate_rank == 30
        assert entry.aggregate_service_name is A
        assert entry.sources == {A: 30, S: 7, P: 1}
        assert entry.rank == 1

    def test_ties_break_on_service_priority_then_isrc(self) -> None:
        result = aggregate_ranks(
            {
                P: {"USAAA2500003": 2, "USAAA2500002": 2, "USAAA2500001": 2},
                S: {"USAAA2500003": 2, "USAAA2500002": 2},
                A: {"USAAA2500001": 2},
            }
        )
        assert [(e.isrc, e.aggregate_service_name, e.rank) for e in result] == [
            ("USAAA2500001", A, 1),
            ("USAAA2500002", S, 2),
            ("USAAA2500003", S, 3),
        ]

    def test_lower_raw_rank_sorts_first_whatever_the_service(self) -> None:
        result = aggregate_ranks(
            {S: {"USAAA2500001": 5, "USAAA2500002": 3}, P: {"USAAA2500001": 1, "USAAA2500002": 9}}
        )
        assert [e.isrc for e in result] == ["USAAA2500002", "USAAA2500001"]


def _rankings(drawn: dict[Service, list[str]]) -> dict[Service, dict[str, int]]:
    return {
        service: {isrc: i for i, isrc in enumerate(isrcs, start=1)}
        for service, isrcs in drawn.items()
    }


class TestAggregateProperties:
    """Properties that hold for any input."""

    @given(st_.service_rankings())
    def test_ranks_are_exactly_one_to_n(self, drawn: dict[Service, list[str]]) -> None:
        result = aggregate_ranks(_rankings(drawn))
        assert [e.rank for e in result] == list(range(1, len(result) + 1))

    @given(st_.service_rankings())
    def test_members_are_exactly_tracks_listed_by_two_or_more_services(
        self, drawn: dict[Service, list[str]]
    ) -> None:
        expected = {
            isrc
            for isrc in {i for isrcs in drawn.values() for i in isrcs}
            if sum(isrc in isrcs for isrcs in drawn.values()) >= 2
        }
        assert {e.isrc for e in aggregate_ranks(_rankings(drawn))} == expected

    @given(st_.service_rankings())
    def test_order_is_raw_rank_then_priority_then_isrc(
        self, drawn: dict[Service, list[str]]
    ) -> None:
        result = aggregate_ranks(_rankings(drawn))
        keys = [
            (
                e.raw_aggregate_rank,
                e.aggregate_service_name.priority if e.aggregate_service_name else 9,
                e.isrc,
            )
            for e in result
        ]
        assert keys == sorted(keys)
        for entry in result:
            best = min(entry.sources, key=lambda s: s.priority)
            assert entry.aggregate_service_name is best
            assert entry.raw_aggregate_rank == entry.sources[best]

    @given(st_.service_rankings())
    def test_aggregate_is_deterministic_whatever_the_input_order(
        self, drawn: dict[Service, list[str]]
    ) -> None:
        rankings = _rankings(drawn)
        reversed_input = {
            s: dict(reversed(list(r.items()))) for s, r in reversed(list(rankings.items()))
        }
        assert aggregate_ranks(rankings) == aggregate_ranks(reversed_input)
