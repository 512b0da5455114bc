"""The API's routes (DESIGN.md §6): precomputed views through the cache, health, metrics, index.

Data routes never compute anything: each answers one `views` document the ETL built, encoded
once and then served from the cache with an ETag until the ETL invalidates the genre.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import bottle

from tunemeld.api.plugins import (
    REQUEST_ID_HEADER,
    BadRequest,
    encode_json,
    envelope,
    error_message,
    json_response,
    raw_header,
)
from tunemeld.config import Settings
from tunemeld.exceptions import NotFound, StoreUnavailable
from tunemeld.models import Genre, Service
from tunemeld.services.cache import Cache, view_cache_key
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import Store

__all__ = [
    "GRAPH_DATA",
    "HEADER_ART",
    "LAST_UPDATED",
    "MAX_PATH_PART",
    "PLAYLIST_DATA",
    "ApiContext",
    "CachedAnswer",
    "add_routes",
    "answer_view",
    "etag_for",
    "etag_matches",
    "parse_genre",
    "parse_service",
    "service_playlist_view",
]

GRAPH_DATA = "graph-data"
PLAYLIST_DATA = "playlist-data"
LAST_UPDATED = "last-updated"
HEADER_ART = "header-art"

MAX_PATH_PART = 64
"""Longest genre or service path part accepted: longer ones are answered 400, never echoed."""

_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, If-None-Match, {REQUEST_ID_HEADER}",
    "Access-Control-Max-Age": "600",
}
_ETAG_SAFE = re.compile(r"[!#-~]{1,128}")  # visible ASCII without the double quote
_CACHE_FORMAT = b"tm1"


def service_playlist_view(service: Service) -> str:
    """The view name of one service's ranked playlist."""
    return f"service-playlist:{service.value}"


@dataclass(frozen=True)
class ApiContext:
    """What every route reads: settings, the store, the answer cache and the metrics."""

    settings: Settings
    store: Store
    cache: Cache
    metrics: Metrics


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


def etag_for(version: str) -> str:
    """The quoted strong ETag of a view version (hashed when it has unsafe characters)."""
    if not _ETAG_SAFE.fullmatch(version):
        version = hashlib.sha256(version.encode()).hexdigest()[:32]
    return f'"{version}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an If-None-Match header names `etag` (weak comparison) or is `*`."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        tag = tag.removeprefix("W/")
        if tag == etag:
            return True
    return False


def _checked_part(kind: str, text: str) -> str:
    if len(text) > MAX_PATH_PART or not text.isprintable():
        raise BadRequest(
            f"The {kind} part of the path is not a valid name "
            f"(at most {MAX_PATH_PART} printable characters)."
        )
    return text


def parse_genre(text: str) -> Genre:
    """The genre a path part names; BadRequest when absurd, NotFound listing the valid ones."""
    return Genre.parse(_checked_part("genre", text))


def parse_service(text: str) -> Service:
    """The service a path part names (`Spotify`, `apple_music`, ...); NotFound lists the valid."""
    return Service.parse(_checked_part("service", text))


def answer_view(
    ctx: ApiContext, genre: Genre, name: str, title: str, if_none_match: str | None
) -> bottle.HTTPResponse:
    """Answer one precomputed view: from the cache, else from the store (then cached).

    The ETag is the view's content version, so a client revalidating an unchanged view gets
    304 with no body, whether the answer came from the cache or the store.
    """
    ttl = ctx.settings.cache.ttl_seconds
    key = view_cache_key(genre, name)
    raw = ctx.cache.get(key)
    answer = CachedAnswer.unpack(raw) if raw is not None else None
    if answer is None:
        doc = ctx.store.get_view(genre, name)
        if doc is None:
            raise NotFound(
                f"No data for {genre.value} yet.",
                hint="Run `inv etl.run --stage full` to build it.",
            )
        body = encode_json(envelope("success", f"{title} for {genre.value}.", doc.data))
        answer = CachedAnswer(etag=etag_for(doc.version), body=body)
        ctx.cache.set(key, answer.pack(), ttl_seconds=ttl)
    headers = {"ETag": answer.etag, "Cache-Control": f"public, max-age={ttl}"}
    if etag_matches(if_none_match, answer.etag):
        return bottle.HTTPResponse(status=304, headers=headers)
    return json_response(200, answer.body, headers)


def _health(ctx: ApiContext) -> bottle.HTTPResponse:
    started = time.perf_counter()
    problem: str | None = None
    try:
        ctx.store.ping()
    except StoreUnavailable as exc:
        problem = error_message(exc)
    store_report: dict[str, object] = {
        "ok": problem is None,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        "url": ctx.store.url,
    }
    if problem is not None:
        store_report["error"] = problem
    data = {"store": store_report, "cache": {"backend": ctx.cache.name}}
    headers = {"Cache-Control": "no-store"}
    if problem is not None:
        body = envelope("error", f"The store is unavailable: {problem}", data)
        return json_response(503, body, headers)
    return json_response(200, envelope("success", "TuneMeld is healthy.", data), headers)


def _metrics(ctx: ApiContext) -> bottle.HTTPResponse:
    body, content_type = ctx.metrics.render()
    return bottle.HTTPResponse(
        body=body, status=200, headers={"Content-Type": content_type, "Cache-Control": "no-store"}
    )


def _preflight(**_: str) -> bottle.HTTPResponse:
    return bottle.HTTPResponse(status=204, headers=dict(_PREFLIGHT_HEADERS))


def add_routes(app: bottle.Bottle, ctx: ApiContext) -> list[str]:
    """Register every route (GET, and OPTIONS for CORS preflights); returns the GET rules."""

    def view(name: str, title: str) -> Callable[[str], bottle.HTTPResponse]:
        def handler(genre: str) -> bottle.HTTPResponse:
            return answer_view(ctx, parse_genre(genre), name, title, raw_header("If-None-Match"))

        return handler

    def service_playlist(genre: str, service: str) -> bottle.HTTPResponse:
        parsed_genre = parse_genre(genre)
        parsed_service = parse_service(service)
        name = service_playlist_view(parsed_service)
        title = f"{parsed_service.value} playlist"
        return answer_view(ctx, parsed_genre, name, title, raw_header("If-None-Match"))

    rules: list[str] = []

    def index() -> bottle.HTTPResponse:
        data = {"name": "TuneMeld", "routes": list(rules)}
        return json_response(200, envelope("success", "TuneMeld API.", data))

    routes: list[tuple[str, Callable[..., bottle.HTTPResponse]]] = [
        ("/", index),
        ("/health", lambda: _health(ctx)),
        ("/metrics", lambda: _metrics(ctx)),
        ("/graph-data/<genre>", view(GRAPH_DATA, "Graph data")),
        ("/playlist-data/<genre>", view(PLAYLIST_DATA, "Playlist data")),
        ("/service-playlist/<genre>/<service>", service_playlist),
        ("/last-updated/<genre>", view(LAST_UPDATED, "Last updated")),
        ("/header-art/<genre>", view(HEADER_ART, "Header art")),
    ]
    for rule, callback in routes:
        app.route(rule, method="GET", callback=callback)
        app.route(rule, method="OPTIONS", callback=_preflight)
        rules.append(rule)
    return list(rules)
