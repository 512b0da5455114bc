"""The API's wire format and cached answers: the envelope, its JSON, ETags, warming a genre.

The API (on a miss) and the ETL or `inv cache.warm` (ahead of requests) build answers here alike,
so a warmed entry is byte for byte what the API would have cached. The cache only keeps bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from tunemeld.models import Genre, ViewDoc
from tunemeld.models.view import view_names, view_title
from tunemeld.services.cache.base import Cache, genre_cache_prefix, view_cache_key
from tunemeld.services.store import Store

__all__ = [
    "AnswerMemo",
    "CachedAnswer",
    "WarmResult",
    "answer_for",
    "encode_json",
    "envelope",
    "etag_for",
    "purge_genres",
    "refresh_genre",
    "warm_genres",
]

_ETAG_SAFE = re.compile(r"[!#-~]{1,128}")  # visible ASCII without the double quote
_CACHE_FORMAT = b"tm1"

Status = Literal["success", "error"]
T = TypeVar("T")


def envelope(status: Status, message: str, data: object = None) -> dict[str, object]:
    """The body every JSON answer has, success or error."""
    return {"status": status, "message": message, "data": data}


def encode_json(value: object) -> bytes:
    """Compact, strict (no NaN) UTF-8 JSON: what the API sends and the cache keeps."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def etag_for(version: str) -> str:
    """The quoted strong ETag of a view version (hashed when it has unsafe characters)."""
    if not _ETAG_SAFE.fullmatch(version):
        version = hashlib.sha256(version.encode()).hexdigest()[:32]
    return f'"{version}"'


@dataclass(frozen=True)
class CachedAnswer:
    """One view's encoded success body and its quoted ETag: the value the cache keeps."""

    etag: str
    body: bytes

    def pack(self) -> bytes:
        """Bytes for `Cache.set`: a format tag, the ETag and the body, newline-separated."""
        return b"\n".join((_CACHE_FORMAT, self.etag.encode("ascii"), self.body))

    @classmethod
    def unpack(cls, raw: bytes) -> CachedAnswer | None:
        """Read `pack`'s bytes back; None for anything else (treated as a cache miss)."""
        parts = raw.split(b"\n", 2)
        if len(parts) != 3 or parts[0] != _CACHE_FORMAT or not parts[1] or not parts[2]:
            return None
        try:
            etag = parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        return cls(etag=etag, body=parts[2])


class AnswerMemo(Generic[T]):
    """What the API builds from each cached value (headers, responses), once per cache fill.

    Per key it keeps the bytes last seen and what `prepare` made of them, reused while the cache
    returns the same bytes, so requests do not rebuild the response. At most `max_entries` keys.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[bytes, T]] = {}

    def get(self, key: str, raw: bytes, prepare: Callable[[CachedAnswer], T]) -> T | None:
        """The prepared answer of `raw` (the value the cache holds under `key`); None if foreign."""
        entry = self._entries.get(key)
        if entry is not None and (entry[0] is raw or entry[0] == raw):
            return entry[1]
        answer = CachedAnswer.unpack(raw)
        if answer is None:
            return None
        return self.put(key, raw, prepare(answer))

    def put(self, key: str, raw: bytes, prepared: T) -> T:
        """Remember `prepared` as what `raw` under `key` makes (after a cache fill)."""
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                self._entries.clear()  # keys are a few per genre: only foreign keys get here
            self._entries[key] = (raw, prepared)
        return prepared

    def __len__(self) -> int:
        return len(self._entries)


def answer_for(doc: ViewDoc) -> CachedAnswer:
    """The success answer of one stored view, as the API sends and caches it."""
    message = f"{view_title(doc.name)} for {doc.genre.value}."
    body = encode_json(envelope("success", message, doc.data))
    return CachedAnswer(etag=etag_for(doc.version), body=body)


@dataclass
class WarmResult:
    """What a purge or warm did, per genre: answers written and stale keys removed."""

    warmed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def total_warmed(self) -> int:
        """Answers written over every genre."""
        return sum(self.warmed.values())

    @property
    def total_removed(self) -> int:
        """Keys removed over every genre."""
        return sum(self.removed.values())


def refresh_genre(store: Store, cache: Cache, genre: Genre, ttl_seconds: int) -> tuple[int, int]:
    """Overwrite every cached answer of `genre` from the store (not delete first: a shared cache
    never sees a miss storm), drop those it no longer has. Returns (written, removed)."""
    written = removed = 0
    for name in view_names():
        key = view_cache_key(genre, name)
        doc = store.get_view(genre, name)
        if doc is None:
            cache.delete(key)
            removed += 1
            continue
        cache.set(key, answer_for(doc).pack(), ttl_seconds=ttl_seconds)
        written += 1
    return written, removed


def warm_genres(
    store: Store, cache: Cache, genres: Iterable[Genre], ttl_seconds: int
) -> WarmResult:
    """Fill the cache with every route's answer of every genre in `genres`."""
    result = WarmResult()
    for genre in genres:
        written, removed = refresh_genre(store, cache, genre, ttl_seconds)
        result.warmed[genre.value] = written
        result.removed[genre.value] = removed
    return result


def purge_genres(cache: Cache, genres: Iterable[Genre]) -> WarmResult:
    """Forget every cached answer of the genres (by prefix)."""
    result = WarmResult()
    for genre in genres:
        result.removed[genre.value] = cache.delete_prefix(genre_cache_prefix(genre))
    return result
