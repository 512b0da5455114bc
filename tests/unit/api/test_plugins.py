"""The envelope, JSON encoding, error messages, request ids and CORS header rules."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tunemeld.api.answers import encode_json, envelope
from tunemeld.api.plugins import cors_headers, error_message, json_response, request_id_from
from tunemeld.exceptions import NotFound

sane_ids = st.from_regex(r"[A-Za-z0-9._-]{1,128}", fullmatch=True)


class TestEnvelope:
    """Every JSON body has status, message and data."""

    def test_envelope_when_built_has_exactly_three_keys(self) -> None:
        """Data defaults to null."""
        assert envelope("error", "nope") == {"status": "error", "message": "nope", "data": None}

    def test_json_when_encoded_is_compact_utf8(self) -> None:
        """No spaces, no \\u escapes."""
        assert encode_json({"a": ["é", 1]}) == '{"a":["é",1]}'.encode()

    @pytest.mark.parametrize("value", [math.nan, math.inf])
    def test_non_finite_number_when_encoded_is_refused(self, value: float) -> None:
        """NaN is not JSON; a front end's JSON.parse would fail on it."""
        with pytest.raises(ValueError, match="JSON"):
            encode_json({"x": value})

    def test_error_message_when_hint_present_appends_it(self) -> None:
        """One line: what happened, then what to do."""
        assert error_message(NotFound("Unknown genre 'x'.", hint="Use pop.")) == (
            "Unknown genre 'x'. Use pop."
        )
        assert error_message(NotFound("Gone.")) == "Gone."

    def test_json_response_when_given_bytes_sends_them_unchanged(self) -> None:
        """Cached bodies are not re-encoded."""
        response = json_response(200, b'{"k":1}', {"ETag": '"v"'})
        assert response.body == b'{"k":1}'
        assert response.status_code == 200
        assert response.get_header("ETag") == '"v"'
        assert response.get_header("Content-Type") == "application/json; charset=utf-8"

    def test_json_response_when_given_a_mapping_encodes_it(self) -> None:
        """Mappings go through encode_json."""
        response = json_response(404, envelope("error", "x"))
        assert json.loads(response.body) == {"status": "error", "message": "x", "data": None}
        assert response.status_code == 404


class TestRequestIdFrom:
    """Sane client ids are kept; everything else is replaced by 32 random hex digits."""

    @given(sane_ids)
    def test_sane_id_when_given_is_kept(self, value: str) -> None:
        """Up to 128 of [A-Za-z0-9._-]."""
        assert request_id_from(value) == value

    @given(
        st.text().filter(lambda s: not all(c.isascii() and (c.isalnum() or c in "._-") for c in s))
    )
    def test_other_text_when_given_is_replaced(self, value: str) -> None:
        """Spaces, controls, non-ASCII or punctuation never reach logs or headers."""
        new = request_id_from(value)
        assert new != value
        assert len(new) == 32

    def test_missing_or_too_long_id_when_given_is_replaced(self) -> None:
        """None, empty and 129 characters are replaced."""
        for value in (None, "", "a" * 129):
            assert len(request_id_from(value)) == 32
            assert request_id_from(value) != value


class TestCorsHeaders:
    """The allow-origin header appears only for listed origins; Vary always."""

    def test_listed_origin_when_sent_is_echoed(self) -> None:
        """Exactly the requesting origin, not the whole list."""
        headers = cors_headers("https://a.test", ["https://a.test", "https://b.test"])
        assert headers["Access-Control-Allow-Origin"] == "https://a.test"
        assert headers["Vary"] == "Origin"

    @pytest.mark.parametrize("origin", [None, "", "https://c.test", "https://a.test.evil"])
    def test_unlisted_origin_when_sent_gets_only_vary(self, origin: str | None) -> None:
        """No prefix or substring matching."""
        assert cors_headers(origin, ["https://a.test"]) == {"Vary": "Origin"}

    def test_wildcard_when_listed_allows_every_origin(self) -> None:
        """`*` answers `*` even without an Origin header."""
        assert cors_headers(None, ["*"])["Access-Control-Allow-Origin"] == "*"
