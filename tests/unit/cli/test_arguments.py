"""The shared task-argument parsers: a bad value is a one-line ConfigError, never another error."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.catalog import GENRES
from tunemeld.cli._common import (
    parse_count,
    parse_date,
    parse_genres,
    parse_port,
    parse_seconds,
    parse_services,
    parse_stages,
    split_list,
)
from tunemeld.exceptions import ConfigError
from tunemeld.models import Genre, Service, Stage


class TestPort:
    @pytest.mark.parametrize("text", ["1", "8000", "65535", " 443 "])
    def test_port_when_in_range_is_the_number(self, text: str) -> None:
        assert parse_port("port", text) == int(text)

    @pytest.mark.parametrize("text", ["0", "65536", "99999", "-5", "abc", "", "8e3", "1.5"])
    def test_port_when_out_of_range_or_malformed_is_a_one_line_config_error(
        self, text: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_port("port", text)

        assert str(caught.value) == f"--port {text.strip()!r} is not a port from 1 to 65535."
        assert caught.value.hint is None

    def test_port_zero_when_allowed_means_any_free_port(self) -> None:
        assert parse_port("port", "0", allow_zero=True) == 0

    @given(st.integers(-(10**6), 10**6))
    def test_port_accepts_exactly_1_to_65535(self, number: int) -> None:
        if 1 <= number <= 65535:
            assert parse_port("port", str(number)) == number
        else:
            with pytest.raises(ConfigError):
                parse_port("port", str(number))

    @given(st.text())
    def test_parsers_on_any_text_give_a_value_or_a_config_error(self, text: str) -> None:
        for parse in (
            lambda: parse_port("port", text),
            lambda: parse_count("n", text),
            lambda: parse_seconds("wait", text),
            lambda: parse_date(text),
            lambda: parse_genres(text, GENRES),
            lambda: parse_stages(text),
        ):
            message = ""
            try:
                parse()
            except ConfigError as exc:
                message = str(exc)
            assert "\n" not in message


class TestNumbers:
    def test_count_when_short_flag_names_it_with_one_dash(self) -> None:
        with pytest.raises(ConfigError, match=r"^-n '-3' is not a whole number of at least 0\.$"):
            parse_count("n", "-3")

    def test_count_when_bounded_says_both_bounds(self) -> None:
        assert parse_count("workers", "4", low=1, high=64) == 4
        with pytest.raises(ConfigError, match="from 1 to 64"):
            parse_count("workers", "65", low=1, high=64)

    @pytest.mark.parametrize("text", ["-1", "nan", "inf", "-inf", "soon", ""])
    def test_seconds_when_negative_or_not_finite_is_refused(self, text: str) -> None:
        with pytest.raises(ConfigError, match="is not a number of seconds, 0 or more"):
            parse_seconds("wait", text)

    def test_seconds_when_given_reads_fractions_and_bounds(self) -> None:
        assert parse_seconds("wait", "2.5") == 2.5
        assert parse_seconds("wait", "0") == 0.0
        with pytest.raises(ConfigError, match="at most 60"):
            parse_seconds("wait", "61", high=60)


class TestDatesAndLists:
    def test_date_when_iso_is_the_day(self) -> None:
        assert parse_date("2026-11-24") == date(2026, 11, 24)

    @pytest.mark.parametrize("text", ["2026-13-01", "2026-02-30", "24/11/2026", "today"])
    def test_date_when_malformed_says_the_format(self, text: str) -> None:
        with pytest.raises(ConfigError, match=r"use YYYY-MM-DD"):
            parse_date(text)

    def test_lists_when_repeated_and_comma_separated_are_one_list_without_repeats(self) -> None:
        assert parse_genres(["pop,rap", "Pop", " dance "], GENRES) == [
            Genre("pop"),
            Genre("rap"),
            Genre("dance"),
        ]
        assert parse_services("spotify,apple_music") == [Service.SPOTIFY, Service.APPLE_MUSIC]
        assert parse_stages("view_count,extract") == [Stage.EXTRACT, Stage.VIEW_COUNT]
        assert parse_genres(None, GENRES) == []

    @pytest.mark.parametrize("values", ["pop,,rap", ",pop", "pop,", " "])
    def test_lists_when_an_item_is_empty_are_refused(self, values: str) -> None:
        with pytest.raises(ConfigError, match="has an empty item"):
            split_list("genre", values)

    def test_lists_when_a_name_is_unknown_name_it_and_the_choices(self) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_genres("pop,jazz", GENRES)

        assert str(caught.value) == (
            "--genre 'jazz': Unknown genre 'jazz'. Use one of: country, dance, pop, rap."
        )
