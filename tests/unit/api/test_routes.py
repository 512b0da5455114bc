"""The route helpers: ETags, If-None-Match matching, the cached answer format, path parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.catalog import GENRES
from tunemeld.api.answers import CachedAnswer, etag_for
from tunemeld.api.routes import (
    MAX_PATH_PART,
    ROUTES,
    PlainAnswers,
    Route,
    etag_matches,
    parse_genre,
    parse_service,
)
from tunemeld.exceptions import BadRequest, NotFound
from tunemeld.models import Genre, Service, view_version
from tunemeld.models.view import service_playlist_view

etags = st.from_regex(r'"[!#-~]{1,40}"', fullmatch=True)


class TestEtag:
    """A view version becomes a quoted strong ETag that is always a legal header value."""

    def test_view_version_when_quoted_is_kept_verbatim(self) -> None:
        """The ETL's content hash is the ETag."""
        version = view_version({"a": 1})
        assert etag_for(version) == f'"{version}"'

    @pytest.mark.parametrize("version", ['with"quote', "new\nline", "", "ü", "x" * 200])
    def test_unsafe_version_when_quoted_is_hashed_to_a_safe_token(self, version: str) -> None:
        """Quotes, controls, non-ASCII, empty or huge versions never reach the header raw."""
        etag = etag_for(version)
        assert etag.startswith('"')
        assert etag.endswith('"')
        assert len(etag) == 34
        int(etag[1:-1], 16)

    @given(st.text())
    def test_any_version_when_quoted_gives_a_stable_header_value(self, version: str) -> None:
        """Same version, same ETag; always visible ASCII inside the quotes."""
        etag = etag_for(version)
        assert etag == etag_for(version)
        inner = etag[1:-1]
        assert inner
        assert all(33 <= ord(ch) <= 126 and ch != '"' for ch in inner)


class TestEtagMatches:
    """If-None-Match uses the weak comparison and may list several tags."""

    @pytest.mark.parametrize(
        "header", ['"v1"', 'W/"v1"', '"v0", "v1"', ' "v0" ,W/"v1" ', "*"], ids=repr
    )
    def test_header_when_it_names_the_etag_matches(self, header: str) -> None:
        """Exact, weak, listed and wildcard forms."""
        assert etag_matches(header, '"v1"')

    @pytest.mark.parametrize("header", [None, "", '"v2"', "v1", '"v1', 'W/"v2", "v3"'], ids=repr)
    def test_header_when_it_does_not_name_the_etag_does_not_match(self, header: str | None) -> None:
        """Absent, other or unquoted tags never match."""
        assert not etag_matches(header, '"v1"')


class TestCachedAnswer:
    """The cache value holds the ETag and the encoded body, and reads back exactly."""

    @given(etag=etags, body=st.binary(min_size=1))
    def test_answer_when_packed_unpacks_to_itself(self, etag: str, body: bytes) -> None:
        """Bodies may contain newlines and any bytes."""
        answer = CachedAnswer(etag=etag, body=body)
        assert CachedAnswer.unpack(answer.pack()) == answer

    @pytest.mark.parametrize(
        "raw",
        [b"", b"garbage", b"tm1\n", b'tm1\n"e"\n', b'tm2\n"e"\n{}', b"tm1\n\xff\n{}"],
        ids=repr,
    )
    def test_foreign_bytes_when_unpacked_are_none(self, raw: bytes) -> None:
        """Anything not written by pack is a miss, never an exception."""
        assert CachedAnswer.unpack(raw) is None


class TestPathParts:
    """Genre and service path parts: loose spelling, 404 listing valid names, 400 if absurd."""

    def test_service_view_name_when_built_uses_the_service_value(self) -> None:
        """The ETL writes `service-playlist:<Service.value>`."""
        assert service_playlist_view(Service.APPLE_MUSIC) == "service-playlist:AppleMusic"

    def test_genre_when_known_parses(self) -> None:
        """Case does not matter."""
        assert parse_genre("Country", GENRES) is Genre("country")

    def test_service_when_spelled_like_the_old_api_parses(self) -> None:
        """`apple_music` was the old URL spelling."""
        assert parse_service("apple_music") is Service.APPLE_MUSIC

    def test_unknown_names_when_parsed_raise_not_found_with_hint(self) -> None:
        """The hint lists what is valid."""
        with pytest.raises(NotFound) as genre_error:
            parse_genre("jazz", GENRES)
        assert genre_error.value.hint is not None
        assert "pop" in genre_error.value.hint
        with pytest.raises(NotFound) as service_error:
            parse_service("Tidal")
        assert service_error.value.hint is not None
        assert "Spotify" in service_error.value.hint

    @pytest.mark.parametrize("text", ["p" * (MAX_PATH_PART + 1), "po\x00p", "pop\n"], ids=repr)
    def test_absurd_part_when_parsed_raises_bad_request(self, text: str) -> None:
        """Too long or unprintable: bad input, not an unknown name."""
        with pytest.raises(BadRequest):
            parse_genre(text, GENRES)
        with pytest.raises(BadRequest):
            parse_service(text)

    def test_longest_allowed_part_when_parsed_is_just_unknown(self) -> None:
        """The limit is inclusive."""
        with pytest.raises(NotFound):
            parse_genre("p" * MAX_PATH_PART, GENRES)


class TestPlainAnswers:
    """Worker-style bodies: the envelope's data, made once per (route, key, ETag), bounded."""

    def _route(self, rule: str) -> Route:
        return next(route for route in ROUTES if route.rule == rule)

    def test_body_is_the_data_and_is_reused_for_the_same_version(self) -> None:
        plain = PlainAnswers()
        answer = CachedAnswer(etag='"v1"', body=b'{"status":"success","message":"m","data":[1]}')
        route = self._route("/api/graph-data")
        first = plain.body(route, "view:pop:graph-data", answer)
        assert first == b"[1]"
        assert plain.body(route, "view:pop:graph-data", answer) is first

    def test_last_updated_is_reshaped_to_the_workers_key(self) -> None:
        data = b'{"status":"success","message":"m","data":{"last_updated":"2026-01-01T00:00:00"}}'
        body = PlainAnswers().body(
            self._route("/api/last-updated"), "k", CachedAnswer(etag='"v"', body=data)
        )
        assert body == b'{"lastUpdated":"2026-01-01T00:00:00"}'

    def test_a_new_version_is_a_new_body_and_old_ones_are_dropped_past_the_size(self) -> None:
        plain = PlainAnswers(size=2)
        route = self._route("/api/graph-data")
        for n in range(3):
            body = f'{{"status":"success","message":"m","data":[{n}]}}'.encode()
            assert (
                plain.body(route, "k", CachedAnswer(etag=f'"v{n}"', body=body)) == f"[{n}]".encode()
            )
        assert len(plain._bodies) == 2
        assert ("/api/graph-data", "k", '"v0"') not in plain._bodies
