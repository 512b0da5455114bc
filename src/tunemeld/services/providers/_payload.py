"""Reading provider payloads: shape checks (each mismatch a ProviderPayloadError), RapidAPI headers.

The clients read documented shapes; these helpers keep KeyError and TypeError from escaping.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from tunemeld.exceptions import ProviderPayloadError
from tunemeld.models import RawTrack, normalize_isrc

__all__ = ["Reader", "optional_isrc", "query_param", "rapidapi_headers", "unescape"]

_DIGITS = re.compile(r"[0-9]+")


def _kind(value: object) -> str:
    if value is None:  # `payload.get(name)` reads an absent field as None too
        return "missing or null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@dataclass(frozen=True)
class Reader:
    """Reads one provider answer; `path` arguments name the field in error messages."""

    service: str
    endpoint: str

    def error(self, problem: str) -> ProviderPayloadError:
        """A ProviderPayloadError for this service and endpoint, saying what was wrong."""
        return ProviderPayloadError(
            f"{self.service} {self.endpoint} payload: {problem}.",
            service=self.service,
            endpoint=self.endpoint,
            problem=problem,
            hint="The provider's JSON no longer matches reference/providers.md; "
            "update the parser in tunemeld/services/providers.",
        )

    def mapping(self, value: object, path: str) -> dict[str, object]:
        """`value` as a JSON object."""
        if not isinstance(value, dict):
            raise self.error(f"{path} is {_kind(value)}, expected an object")
        return cast("dict[str, object]", value)

    def optional_mapping(self, value: object, path: str) -> dict[str, object] | None:
        """A JSON object or null."""
        return None if value is None else self.mapping(value, path)

    def array(self, value: object, path: str) -> list[object]:
        """`value` as a JSON array."""
        if not isinstance(value, list):
            raise self.error(f"{path} is {_kind(value)}, expected an array")
        return cast("list[object]", value)

    def text(self, value: object, path: str, *, empty: bool = False) -> str:
        """A string; an empty one only when `empty` allows it."""
        if not isinstance(value, str):
            raise self.error(f"{path} is {_kind(value)}, expected a string")
        if not empty and not value.strip():
            raise self.error(f"{path} is an empty string")
        return value

    def optional_text(self, value: object, path: str) -> str | None:
        """A string or null; an empty string reads as None."""
        if value is None:
            return None
        text = self.text(value, path, empty=True)
        return text or None

    def count(self, value: object, path: str) -> int:
        """A non-negative integer, or a string of decimal digits (YouTube sends strings)."""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            return int(value)
        raise self.error(f"{path} is {_kind(value)}, expected a non-negative integer")

    def track(self, **fields: object) -> RawTrack:
        """Build a RawTrack; a field the model refuses becomes a ProviderPayloadError."""
        try:
            return RawTrack.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise self.error(f"track field {where}: {first['msg']}") from None


def optional_isrc(value: object) -> str | None:
    """A normalised ISRC, or None when the value is missing or not an ISRC."""
    if not isinstance(value, str):
        return None
    try:
        return normalize_isrc(value)
    except ValueError:
        return None


def query_param(url: str, name: str) -> str | None:
    """The first value of one query parameter of a URL, or None."""
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return None
    return values[0] if values else None


def unescape(text: str) -> str:
    """Decode HTML entities (`&amp;`) that scrapers leave in names."""
    return html.unescape(text)


def rapidapi_headers(key: str, host: str) -> dict[str, str]:
    """The two headers every RapidAPI-hosted endpoint needs."""
    return {"X-RapidAPI-Key": key, "X-RapidAPI-Host": host}
