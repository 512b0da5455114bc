"""The API's routes (DESIGN.md §6): precomputed views through the cache, health, metrics, index.

`ROUTES` is the one table of every route (registered here, walked by `api.check`, documented by
`api.openapi`); its data routes come from `models.view.VIEWS`. Data routes compute nothing: each
answers a `views` document the ETL built, from the cache with an ETag. The worker-style `/api/...`
routes answer the same documents without the envelope, re-encoded once per version. The table,
its handlers and the fast path answering them ahead of bottle must agree, so they live together.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import bottle

from tunemeld.api.answers import (
    AnswerMemo,
    CachedAnswer,
    answer_for,
    encode_json,
    envelope,
    etag_for,
)
from tunemeld.api.page import PAGE_FILE, STATIC_PREFIX, asset_response, load_assets, wants_html
from tunemeld.api.plugins import (
    REQUEST_ID_HEADER,
    FastAnswer,
    FastPath,
    FixedResponse,
    PreparedAnswer,
    WsgiAnswer,
    json_response,
    raw_header,
    wsgi_answer,
)
from tunemeld.config import Settings
from tunemeld.exceptions import BadRequest, NotFound, TunemeldError
from tunemeld.models import Genre, Service, normalize_isrc, view_version
from tunemeld.models.contract import (
    RouteIndex,
    TrackHistory,
    WorkerLastUpdated,
)
from tunemeld.models.view import (
    GRAPH_DATA,
    HEADER_ART,
    LAST_UPDATED,
    PLAYLIST_DATA,
    RISING,
    SERVICE_PLAYLIST,
    ViewSpec,
    service_playlist_view,
)
from tunemeld.services.cache import Cache, track_cache_key, view_cache_key
from tunemeld.services.charts import track_history
from tunemeld.services.health import HealthReport, run_health
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import Store

__all__ = [
    "MAX_PATH_PART",
    "ROUTES",
    "ApiContext",
    "HealthMemo",
    "PlainAnswers",
    "Route",
    "add_routes",
    "answer_track",
    "etag_matches",
    "fast_path",
    "load_answer",
    "parse_genre",
    "parse_isrc",
    "parse_service",
]

MAX_PATH_PART = 64
"""Longest genre or service path part accepted: longer ones are answered 400, never echoed."""

_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, If-None-Match, {REQUEST_ID_HEADER}",
    "Access-Control-Max-Age": "600",
}


RouteKind = Literal["index", "health", "metrics", "openapi", "view", "plain", "track"]
"""What a route answers: a view in the envelope (`view`) or bare (`plain`), one recording's
history read from the store (`track`), or something else."""

Param = Literal["genre", "service", "isrc"]
_PARAMS: tuple[Param, ...] = ("genre", "service", "isrc")
_PATH_PARAM = re.compile(r"<(\w+)>")


@dataclass(frozen=True)
class Route:
    """One GET route: its rule, what it answers and, for the OpenAPI document, its data's type."""

    rule: str
    operation_id: str
    summary: str
    kind: RouteKind
    view: ViewSpec | None = None
    """The precomputed view it answers (`view` and `plain` routes); per service, the parameter's."""
    data: Any = None
    """The type of the answer's data (a pydantic model or a list of one), for the schema."""
    query: tuple[Param, ...] = ()
    """Required query parameters (the worker-style routes take genre and service that way)."""
    reshape: Callable[[Any], Any] | None = None
    """A plain route's change of the view's data (`/api/last-updated` renames its key)."""

    @property
    def path_params(self) -> tuple[Param, ...]:
        """The `<name>` parts of the rule, in order."""
        names = tuple(_PATH_PARAM.findall(self.rule))
        return tuple(n for n in _PARAMS if n in names)

    @property
    def params(self) -> tuple[Param, ...]:
        """Every parameter, in the path or the query."""
        return self.path_params + self.query

    @property
    def is_data(self) -> bool:
        """True for the routes that answer a genre's precomputed view."""
        return self.kind in ("view", "plain")

    def path(self, values: Mapping[str, str]) -> str:
        """The path asking this route for `values` (the query appended when it takes one)."""
        path = self.rule
        for name in self.path_params:
            path = path.replace(f"<{name}>", values[name])
        if self.query:
            path += "?" + "&".join(f"{name}={values[name]}" for name in self.query)
        return path


def _worker_last_updated(data: Any) -> Any:
    return WorkerLastUpdated(last_updated=data["last_updated"]).dump()


def _view_route(view: ViewSpec, operation_id: str, summary: str) -> Route:
    """The route answering `view` in the envelope: `/<view name>/<genre>[/<service>]`."""
    rule = f"/{view.name}/<genre>" + ("/<service>" if view.per_service else "")
    return Route(rule, operation_id, summary, "view", view=view, data=view.data)


def _worker_route(
    view: ViewSpec,
    operation_id: str,
    rule: str | None = None,
    *,
    summary: str | None = None,
    data: Any = None,
    reshape: Callable[[Any], Any] | None = None,
) -> Route:
    """The old worker's route for `view` (`/api/<view name>`): bare data, query parameters."""
    return Route(
        rule or f"/api/{view.name}",
        operation_id,
        summary or f"The old worker's route: /{view.name}'s data, no envelope.",
        "plain",
        view=view,
        data=data or view.data,
        query=("genre", "service") if view.per_service else ("genre",),
        reshape=reshape,
    )


ROUTES: tuple[Route, ...] = (
    Route("/", "index", "The route index (JSON) or the page.", "index", data=RouteIndex),
    Route("/health", "health", "The health report; 503 when the store is down.", "health"),
    Route("/metrics", "metrics", "Prometheus metrics.", "metrics"),
    Route("/openapi.json", "openapi", "This OpenAPI 3.1 document.", "openapi"),
    _view_route(GRAPH_DATA, "graphData", "Aggregate tracks with their play and view series."),
    _view_route(
        PLAYLIST_DATA,
        "playlistData",
        "The aggregate playlist, as a list of one playlist document.",
    ),
    _view_route(
        SERVICE_PLAYLIST,
        "servicePlaylist",
        "One service's ranked playlist, as a list of one playlist document.",
    ),
    _view_route(LAST_UPDATED, "lastUpdated", "When the genre's data was last rebuilt."),
    _view_route(HEADER_ART, "headerArt", "Each service's playlist header."),
    _view_route(
        RISING,
        "rising",
        "This week's climbers: aggregate tracks by 7-day gain in Spotify plays plus YouTube views.",
    ),
    Route(
        "/track/<isrc>",
        "track",
        "Everything known about one recording: links, its rank per day on every playlist it "
        "has been on, its play and view history.",
        "track",
        data=TrackHistory,
    ),
    _worker_route(PLAYLIST_DATA, "workerMainPlaylist", "/api/main-playlist"),
    _worker_route(SERVICE_PLAYLIST, "workerServicePlaylist"),
    _worker_route(GRAPH_DATA, "workerGraphData"),
    _worker_route(HEADER_ART, "workerHeaderArt"),
    _worker_route(
        LAST_UPDATED,
        "workerLastUpdated",
        summary="The old worker's route: `{lastUpdated}`, no envelope.",
        data=WorkerLastUpdated,
        reshape=_worker_last_updated,
    ),
)
"""Every route, in the order the index lists them."""


class HealthMemo:
    """The last health report and its rendered answer, reused for `seconds`: polling stays cheap."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._at = 0.0
        self._answer: tuple[HealthReport, FixedResponse, WsgiAnswer] | None = None

    def answer(
        self,
        compute: Callable[[], HealthReport],
        render: Callable[[HealthReport], bottle.HTTPResponse],
    ) -> bottle.HTTPResponse:
        """A copy of the remembered report's answer."""
        return self.rendered(compute, render)[0].response()

    def rendered(
        self,
        compute: Callable[[], HealthReport],
        render: Callable[[HealthReport], bottle.HTTPResponse],
    ) -> tuple[FixedResponse, WsgiAnswer]:
        """The remembered report's answer, rendered once per report (and as bottle's WSGI call
        sends it to a GET, for the fast path)."""
        with self._lock:
            now = self._clock()
            if self._report is None or now - self._at >= self.seconds:
                self._report, self._at = compute(), now
            report = self._report
        memo = self._answer
        if memo is None or memo[0] is not report:
            fixed = FixedResponse(render(report))
            memo = (report, fixed, wsgi_answer(fixed))
            self._answer = memo  # one tuple: threads never see half of it
        return memo[1:]


class PlainAnswers:
    """Bare (no envelope) bodies of cached answers, made once per (route, key, ETag): a new
    version is a new key, so nothing goes stale. The oldest go past `size` entries."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._bodies: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()

    def body(self, route: Route, key: str, answer: CachedAnswer | PreparedAnswer) -> bytes:
        """The answer's `data`, reshaped for `route`, encoded as JSON."""
        memo = (route.rule, key, answer.etag)
        with self._lock:
            cached = self._bodies.get(memo)
            if cached is not None:
                self._bodies.move_to_end(memo)
                return cached
        data = json.loads(answer.body)["data"]
        body = encode_json(route.reshape(data) if route.reshape else data)
        with self._lock:
            self._bodies[memo] = body
            while len(self._bodies) > self.size:
                self._bodies.popitem(last=False)
        return body


@dataclass(frozen=True)
class ApiContext:
    """What every route reads: settings, the store, the answer cache and the metrics."""

    settings: Settings
    store: Store
    cache: Cache
    metrics: Metrics
    health: HealthMemo = field(default_factory=lambda: HealthMemo(0.0))
    genres: tuple[Genre, ...] = ()
    """The catalog's genres: the only names the routes accept."""
    answers: AnswerMemo[PreparedAnswer] = field(default_factory=AnswerMemo)
    """Each cached answer's responses, built once per cache fill (see `load_answer`)."""
    plain: PlainAnswers = field(default_factory=PlainAnswers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an If-None-Match header names `etag` (weak comparison) or is `*`."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def _checked_part(kind: str, text: str) -> str:
    if len(text) > MAX_PATH_PART or not text.isprintable():
        raise BadRequest(
            f"The {kind} given is not a valid name (at most {MAX_PATH_PART} printable characters)."
        )
    return text


def parse_genre(text: str, genres: Sequence[Genre]) -> Genre:
    """The catalog genre a path part names; BadRequest when absurd, NotFound listing the valid."""
    return Genre.parse(_checked_part("genre", text), genres)


def parse_service(text: str) -> Service:
    """The service a path part names (`Spotify`, `apple_music`, ...); NotFound lists the valid."""
    return Service.parse(_checked_part("service", text))


def parse_isrc(text: str) -> str:
    """The ISRC a path part names (dashes, spaces and case forgiven); NotFound when it is none
    (never echoing the input: only a well-formed ISRC is named in an answer)."""
    try:
        if len(text) > MAX_PATH_PART:
            raise ValueError("too long")
        return normalize_isrc(text)
    except ValueError:
        raise NotFound(
            "That is not an ISRC (12 characters like USUG12503301).",
            hint="Take an isrc from /playlist-data/<genre> or /service-playlist/<genre>/<service>.",
        ) from None


def answer_track(ctx: ApiContext, text: str, if_none_match: str | None) -> bottle.HTTPResponse:
    """One recording's history, across genres: from the cache (which the ETL empties of track
    answers when it rebuilds the views), else built from the store."""
    isrc = parse_isrc(text)
    ttl = ctx.settings.cache.ttl_seconds
    key = track_cache_key(isrc)
    raw = ctx.cache.get(key)
    answer = CachedAnswer.unpack(raw) if raw is not None else None
    if answer is None:
        history = track_history(ctx.store, isrc, ctx.genres)
        if history is None:
            raise NotFound(
                f"TuneMeld knows no recording {isrc}.",
                hint="Take an isrc from /playlist-data/<genre> or "
                "/service-playlist/<genre>/<service>.",
            )
        data = history.dump()
        body = encode_json(envelope("success", f"History of {isrc}.", data))
        answer = CachedAnswer(etag=etag_for(view_version(data)), body=body)
        ctx.cache.set(key, answer.pack(), ttl_seconds=ttl)
    prepared = PreparedAnswer(answer, max_age=ttl)
    return prepared.response(not_modified=etag_matches(if_none_match, prepared.etag))


def load_answer(ctx: ApiContext, genre: Genre, name: str) -> tuple[str, PreparedAnswer]:
    """A view's cache key and prepared answer (built once per cache fill), else from the store:
    a cache that is down costs a store read, never the request."""
    ttl = ctx.settings.cache.ttl_seconds

    def prepare(answer: CachedAnswer) -> PreparedAnswer:
        return PreparedAnswer(answer, max_age=ttl)

    key = view_cache_key(genre, name)
    raw = ctx.cache.get(key)
    prepared = ctx.answers.get(key, raw, prepare) if raw is not None else None
    if prepared is None:
        doc = ctx.store.get_view(genre, name)
        if doc is None:
            raise NotFound(
                f"No data for {genre.value} yet.",
                hint="Run `inv etl.run --stage full` to build it.",
            )
        answer = answer_for(doc)
        packed = answer.pack()
        ctx.cache.set(key, packed, ttl_seconds=ttl)
        prepared = ctx.answers.put(key, packed, prepare(answer))
    return key, prepared


_FAST_FAILURE = "tunemeld.fast_failure"
"""The WSGI environ key of the error the fast path met loading a view (its route raises it)."""


def fast_path(ctx: ApiContext) -> FastPath:
    """Answers GETs of `/health` and of a view route's canonical paths in front of bottle.

    Canonical: the paths whose parts parse to themselves (`/service-playlist/pop/Spotify`), so
    the answer is exactly `load_answer`'s as bottle would send it. Anything else gets None and
    bottle answers it. A failure loading a view is handed to the route's callback in the environ,
    which raises it: bottle answers the error without reading the cache and store twice.
    """

    def canonical(parse: Callable[[str], object], value: Genre | Service) -> bool:
        try:
            return parse(value.value) is value
        except TunemeldError:  # a name the route would refuse (too long)
            return False

    genres = [g for g in ctx.genres if canonical(lambda t: parse_genre(t, ctx.genres), g)]
    services: list[Service | None] = [s for s in Service if canonical(parse_service, s)]
    table: dict[str, tuple[str, Genre, str, str | None]] = {}
    for route in ROUTES:
        if route.kind != "view" or route.view is None:
            continue
        for genre in genres:
            for service in services if route.view.per_service else [None]:
                value = service.value if service is not None else ""
                name = service_playlist_view(service) if service is not None else route.view.name
                path = route.path({"genre": genre.value, "service": value})
                table[path] = (route.rule, genre, name, value or None)

    health = next(route.rule for route in ROUTES if route.kind == "health")

    def answer(environ: dict[str, object]) -> FastAnswer | None:
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        path = environ.get("PATH_INFO")
        if path == health:
            return health, ctx.health.rendered(lambda: _health_report(ctx), _health_response)[1]
        entry = table.get(path) if isinstance(path, str) else None
        if entry is None:
            return None
        rule, genre, name, service = entry
        if service is not None:
            try:
                Service.parse(service)  # still registered?
            except NotFound:  # unregistered since the app was built: bottle's 404
                return None
        try:
            _, prepared = load_answer(ctx, genre, name)
        except Exception as exc:  # handed over: the route raises it
            environ[_FAST_FAILURE] = exc
            return None
        sent = environ.get("HTTP_IF_NONE_MATCH")
        fresh = etag_matches(sent if isinstance(sent, str) else None, prepared.etag)
        return rule, prepared.wsgi(not_modified=fresh)

    return answer


def _fast_failure() -> None:
    """Raise the error the fast path met loading this request's view, if it met one."""
    failure = bottle.request.environ.pop(_FAST_FAILURE, None)
    if isinstance(failure, Exception):
        raise failure


def _send(
    ctx: ApiContext, etag: str, body: bytes, if_none_match: str | None
) -> bottle.HTTPResponse:
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={ctx.settings.cache.ttl_seconds}"}
    if etag_matches(if_none_match, etag):
        return bottle.HTTPResponse(status=304, headers=headers)
    return json_response(200, body, headers)


def _view_of(ctx: ApiContext, route: Route, genre: str, service: str | None) -> tuple[Genre, str]:
    """The genre and view name a data route's parts ask for (BadRequest or NotFound if bad)."""
    parsed = parse_genre(genre, ctx.genres)
    assert route.view is not None  # only view and plain routes ask
    if not route.view.per_service:
        return parsed, route.view.name
    assert service is not None  # a per-service view's routes always take a service
    return parsed, service_playlist_view(parse_service(service))


def _query_param(name: str) -> str:
    """A required query parameter; BadRequest saying what to add when it is missing."""
    value = bottle.request.query.getunicode(name)
    if not value:
        raise BadRequest(
            f"The query parameter {name!r} is missing.",
            hint=f"Add ?{name}=... (see GET /openapi.json).",
        )
    return str(value)


def _health_report(ctx: ApiContext) -> HealthReport:
    """The report `/health` answers: no provider calls, no cache writes."""
    return run_health(ctx.settings, store=ctx.store, cache=ctx.cache, cache_round_trip=False)


def _health_response(report: HealthReport) -> bottle.HTTPResponse:
    """The answer of one health report: 200 (healthy or degraded) or 503 (store down)."""
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


def add_routes(
    app: bottle.Bottle,
    ctx: ApiContext,
    openapi: Callable[[], bytes] | None = None,
) -> list[str]:
    """Register every route of ROUTES (GET, and OPTIONS for CORS preflights), `openapi` giving
    the encoded OpenAPI document; returns the rules."""
    rules = [route.rule for route in ROUTES]
    assets = load_assets()

    def asset(name: str) -> bottle.HTTPResponse:
        found = assets.get(name)
        fresh = etag_matches(raw_header("If-None-Match"), found.etag)
        return asset_response(found, not_modified=fresh)

    def index() -> bottle.HTTPResponse:
        """The page for a browser; for JSON clients the routes, genres and services."""
        if wants_html(raw_header("Accept")):
            return asset(PAGE_FILE)
        data = RouteIndex(
            name="TuneMeld", routes=rules, genres=list(ctx.genres), services=list(Service)
        ).dump()
        # `/` answers two shapes on one URL (the global hook owns `Vary`): keep it out of caches.
        body = envelope("success", "TuneMeld API.", data)
        return json_response(200, body, {"Cache-Control": "no-store"})

    def openapi_document() -> bottle.HTTPResponse:
        if openapi is None:
            raise NotFound("No OpenAPI document in this app.")
        body = openapi()
        return json_response(200, body, {"Cache-Control": "public, max-age=300"})

    def view_handler(route: Route) -> Callable[..., bottle.HTTPResponse]:
        def handler(genre: str, service: str | None = None) -> bottle.HTTPResponse:
            parsed, name = _view_of(ctx, route, genre, service)
            _fast_failure()
            _, prepared = load_answer(ctx, parsed, name)
            fresh = etag_matches(raw_header("If-None-Match"), prepared.etag)
            return prepared.response(not_modified=fresh)

        return handler

    def plain_handler(route: Route) -> Callable[[], bottle.HTTPResponse]:
        def handler() -> bottle.HTTPResponse:
            values = {param: _query_param(param) for param in route.query}
            genre, name = _view_of(ctx, route, values["genre"], values.get("service"))
            key, answer = load_answer(ctx, genre, name)
            body = ctx.plain.body(route, key, answer)
            return _send(ctx, answer.etag, body, raw_header("If-None-Match"))

        return handler

    def track(isrc: str) -> bottle.HTTPResponse:
        return answer_track(ctx, isrc, raw_header("If-None-Match"))

    fixed: dict[RouteKind, Callable[..., bottle.HTTPResponse]] = {
        "track": track,
        "index": index,
        "health": lambda: ctx.health.answer(lambda: _health_report(ctx), _health_response),
        "metrics": lambda: _metrics(ctx),
        "openapi": openapi_document,
    }
    for route in ROUTES:
        if route.kind == "view":
            callback = view_handler(route)
        elif route.kind == "plain":
            callback = plain_handler(route)
        else:
            callback = fixed[route.kind]
        app.route(route.rule, method="GET", callback=callback)
        app.route(route.rule, method="OPTIONS", callback=_preflight)
    # The page's files: not API routes, so neither in the index nor in the OpenAPI document.
    app.route(STATIC_PREFIX + "<name>", method="GET", callback=asset)
    return rules
