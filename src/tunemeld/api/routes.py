"""The API's routes (DESIGN.md §6): precomputed views through the cache, health, metrics, index.

Data routes never compute anything: each answers one `views` document the ETL built, encoded
once and then served from the cache with an ETag until the ETL invalidates the genre.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import bottle

from tunemeld.api.page import PAGE_FILE, STATIC_PREFIX, asset_response, load_assets, wants_html
from tunemeld.api.plugins import (
    REQUEST_ID_HEADER,
    BadRequest,
    envelope,
    json_response,
    raw_header,
)
from tunemeld.config import Settings
from tunemeld.exceptions import NotFound
from tunemeld.models import Genre, Service
from tunemeld.services.cache import Cache, view_cache_key
from tunemeld.services.cache.answers import (
    GRAPH_DATA,
    HEADER_ART,
    LAST_UPDATED,
    PLAYLIST_DATA,
    CachedAnswer,
    answer_for,
    etag_for,
    service_playlist_view,
)
from tunemeld.services.health import HealthReport, run_health
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
    "HealthMemo",
    "add_routes",
    "answer_view",
    "etag_for",
    "etag_matches",
    "parse_genre",
    "parse_service",
    "service_playlist_view",
]

MAX_PATH_PART = 64
"""Longest genre or service path part accepted: longer ones are answered 400, never echoed."""

_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, If-None-Match, {REQUEST_ID_HEADER}",
    "Access-Control-Max-Age": "600",
}


class HealthMemo:
    """The last health report, reused for `seconds` so `/health` stays cheap when polled."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._at = 0.0

    def get(self, compute: Callable[[], HealthReport]) -> HealthReport:
        """The remembered report while fresh, else a new one from `compute`."""
        with self._lock:
            now = self._clock()
            if self._report is not None and now - self._at < self.seconds:
                return self._report
            report = compute()
            self._report, self._at = report, now
            return report


@dataclass(frozen=True)
class ApiContext:
    """What every route reads: settings, the store, the answer cache and the metrics."""

    settings: Settings
    store: Store
    cache: Cache
    metrics: Metrics
    health: HealthMemo = field(default_factory=lambda: HealthMemo(0.0))


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
    ctx: ApiContext, genre: Genre, name: str, if_none_match: str | None
) -> bottle.HTTPResponse:
    """Answer one precomputed view: from the cache, else from the store (then cached).

    The ETag is the view's content version, so a client revalidating an unchanged view gets
    304 with no body, whether the answer came from the cache or the store. A cache that is
    down only costs a store read: it never fails the request.
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
        answer = answer_for(doc)
        ctx.cache.set(key, answer.pack(), ttl_seconds=ttl)
    headers = {"ETag": answer.etag, "Cache-Control": f"public, max-age={ttl}"}
    if etag_matches(if_none_match, answer.etag):
        return bottle.HTTPResponse(status=304, headers=headers)
    return json_response(200, answer.body, headers)


def _health(ctx: ApiContext) -> bottle.HTTPResponse:
    """The health report (no provider calls, no cache writes), reused for a few seconds."""
    report = ctx.health.get(
        lambda: run_health(ctx.settings, store=ctx.store, cache=ctx.cache, cache_round_trip=False)
    )
    data = report.model_dump(mode="json")
    headers = {"Cache-Control": "no-store"}
    if not report.store_ok:
        store = report.row("store")
        problem = store.summary if store is not None else "not checked"
        hint = f" {store.hint}" if store is not None and store.hint else ""
        body = envelope("error", f"The store is unavailable: {problem}{hint}", data)
        return json_response(503, body, headers)
    failed = [check.name for check in report.failed]
    message = (
        "TuneMeld is healthy."
        if not failed
        else f"TuneMeld is degraded: {', '.join(failed)} failed (each row has a hint)."
    )
    return json_response(200, envelope("success", message, data), headers)


def _metrics(ctx: ApiContext) -> bottle.HTTPResponse:
    body, content_type = ctx.metrics.render()
    return bottle.HTTPResponse(
        body=body, status=200, headers={"Content-Type": content_type, "Cache-Control": "no-store"}
    )


def _preflight(**_: str) -> bottle.HTTPResponse:
    return bottle.HTTPResponse(status=204, headers=dict(_PREFLIGHT_HEADERS))


def add_routes(app: bottle.Bottle, ctx: ApiContext) -> list[str]:
    """Register every route (GET, and OPTIONS for CORS preflights); returns the GET rules."""

    def view(name: str) -> Callable[[str], bottle.HTTPResponse]:
        def handler(genre: str) -> bottle.HTTPResponse:
            return answer_view(ctx, parse_genre(genre), name, raw_header("If-None-Match"))

        return handler

    def service_playlist(genre: str, service: str) -> bottle.HTTPResponse:
        parsed_genre = parse_genre(genre)
        name = service_playlist_view(parse_service(service))
        return answer_view(ctx, parsed_genre, name, raw_header("If-None-Match"))

    rules: list[str] = []
    assets = load_assets()

    def asset(name: str) -> bottle.HTTPResponse:
        found = assets.get(name)
        fresh = etag_matches(raw_header("If-None-Match"), found.etag)
        return asset_response(found, not_modified=fresh)

    def index() -> bottle.HTTPResponse:
        """The page for a browser; for JSON clients the routes, genres and services."""
        if wants_html(raw_header("Accept")):
            return asset(PAGE_FILE)
        data = {
            "name": "TuneMeld",
            "routes": list(rules),
            "genres": [genre.value for genre in Genre],
            "services": [service.value for service in Service],
        }
        # `/` answers two shapes on one URL (the global hook owns `Vary`): keep it out of caches.
        return json_response(
            200, envelope("success", "TuneMeld API.", data), {"Cache-Control": "no-store"}
        )

    routes: list[tuple[str, Callable[..., bottle.HTTPResponse]]] = [
        ("/", index),
        ("/health", lambda: _health(ctx)),
        ("/metrics", lambda: _metrics(ctx)),
        ("/graph-data/<genre>", view(GRAPH_DATA)),
        ("/playlist-data/<genre>", view(PLAYLIST_DATA)),
        ("/service-playlist/<genre>/<service>", service_playlist),
        ("/last-updated/<genre>", view(LAST_UPDATED)),
        ("/header-art/<genre>", view(HEADER_ART)),
    ]
    for rule, callback in routes:
        app.route(rule, method="GET", callback=callback)
        app.route(rule, method="OPTIONS", callback=_preflight)
        rules.append(rule)
    # The page's files: not API routes, so not listed in the index.
    app.route(STATIC_PREFIX + "<name>", method="GET", callback=asset)
    return list(rules)
