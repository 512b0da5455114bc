"""Cross-cutting API behaviour: the JSON envelope, errors as envelopes, request ids, CORS, timing.

Bottle is untyped; these typed functions keep it at arm's length. Every answer, including bottle's
own 404/405/500 pages, is the envelope `{"status", "message", "data"}` and never a traceback.
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus

import bottle
import structlog

from tunemeld.exceptions import NotFound, StoreUnavailable, TunemeldError
from tunemeld.services.cache.answers import encode_json, envelope
from tunemeld.services.monitoring import Metrics

__all__ = [
    "ALLOWED_METHODS",
    "JSON_CONTENT_TYPE",
    "REQUEST_ID_HEADER",
    "BadRequest",
    "ErrorEnvelopePlugin",
    "cors_headers",
    "encode_json",
    "envelope",
    "error_message",
    "install_error_pages",
    "install_request_hooks",
    "json_response",
    "raw_header",
    "request_id_from",
]

log = structlog.get_logger()

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
REQUEST_ID_HEADER = "X-Request-ID"
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
"""What the API answers; a preflight advertises GET and OPTIONS (HEAD is implied by GET)."""

UNMATCHED_ROUTE = "<unmatched>"
"""The metrics label of requests no route matched (404/405): one label, not one per path."""

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
_ENVIRON_STARTED = "tunemeld.started"
_ENVIRON_REQUEST_ID = "tunemeld.request_id"
_ENVIRON_LOG_TOKENS = "tunemeld.log_tokens"
_MAX_ECHOED_PATH = 200
_GENERIC_500 = "Internal server error: the request failed unexpectedly and was logged."


class BadRequest(TunemeldError, ValueError):
    """The request itself is malformed (say, an absurdly long path part); the API answers 400."""


def error_message(exc: TunemeldError) -> str:
    """An error's message followed by its hint: one line that says what to do next."""
    return f"{exc.message} {exc.hint}" if exc.hint else exc.message


def json_response(
    status_code: int,
    body: Mapping[str, object] | bytes,
    headers: Mapping[str, str] | None = None,
) -> bottle.HTTPResponse:
    """A bottle response carrying `body` (a mapping, or JSON already encoded) with headers."""
    encoded = body if isinstance(body, bytes) else encode_json(body)
    response = bottle.HTTPResponse(body=encoded, status=status_code)
    response.set_header("Content-Type", JSON_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.set_header(name, value)
    return response


def _error_response(status_code: int, message: str) -> bottle.HTTPResponse:
    return json_response(status_code, envelope("error", message), {"Cache-Control": "no-store"})


class ErrorEnvelopePlugin:
    """A bottle plugin turning exceptions from route callbacks into JSON envelope answers.

    NotFound -> 404, BadRequest -> 400, StoreUnavailable -> 503; anything else is logged once
    with its traceback and answered 500 with a generic message (no exception text leaks).
    """

    name = "tunemeld_errors"
    api = 2

    def __init__(self, debug_context: Callable[[], Mapping[str, object]] | None = None) -> None:
        self._debug_context = debug_context

    def _context(self) -> dict[str, object]:
        """The debug context for an unexpected failure's log line (secrets already redacted)."""
        if self._debug_context is None:
            return {}
        try:
            return {"context": dict(self._debug_context())}
        except Exception:  # the context is a nicety: never let it hide the real error
            return {}

    def apply(self, callback: Callable[..., object], route: object) -> Callable[..., object]:
        """Wrap one route callback."""

        @functools.wraps(callback)
        def wrapper(*args: object, **kwargs: object) -> object:
            try:
                return callback(*args, **kwargs)
            except bottle.HTTPResponse:
                raise  # bottle's own control flow (and HTTPError, rendered by the error pages)
            except NotFound as exc:
                return _error_response(404, error_message(exc))
            except BadRequest as exc:
                return _error_response(400, error_message(exc))
            except StoreUnavailable as exc:
                log.warning("store_unavailable", error=exc.message)
                return _error_response(503, error_message(exc))
            except Exception:
                log.exception("api_request_failed", **self._context())
                return _error_response(500, _GENERIC_500)

        return wrapper


def _allow_header(raw: str | None) -> str:
    methods = {m.strip().upper() for m in (raw or "").split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    order = {m: i for i, m in enumerate(ALLOWED_METHODS)}
    return ", ".join(sorted(methods, key=lambda m: (order.get(m, len(order)), m)))


def _error_page(error: bottle.HTTPError) -> bytes:
    """Render any bottle HTTPError (unknown route, wrong method, crash) as the JSON envelope."""
    status_code = int(error.status_code)
    request = bottle.request
    response = bottle.response
    path = str(request.path)[:_MAX_ECHOED_PATH]
    if status_code == 404:
        message = f"No route for {path}. GET / lists the routes."
    elif status_code == 405:
        allow = _allow_header(response.get_header("Allow"))
        response.set_header("Allow", allow)
        message = f"Method {request.method} is not allowed on {path}. Use {allow}."
    elif status_code >= 500:
        # Only failures outside route callbacks get here (ErrorEnvelopePlugin handles those);
        # bottle has already written the traceback to the server's wsgi.errors stream.
        failure = getattr(error, "exception", None)
        log.error("api_request_failed", error_type=type(failure).__name__ if failure else None)
        message = _GENERIC_500
    else:
        detail = error.body if isinstance(error.body, str) else ""
        message = detail or _reason(status_code)
    response.set_header("Content-Type", JSON_CONTENT_TYPE)
    response.set_header("Cache-Control", "no-store")
    return encode_json(envelope("error", message))


def _reason(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return f"HTTP {status_code}"


def install_error_pages(app: bottle.Bottle) -> None:
    """Replace bottle's HTML error pages with the JSON envelope for every status."""
    app.error_handler.clear()
    app.default_error_handler = _error_page


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a new random one."""
    if header is not None and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def cors_headers(origin: str | None, allowed_origins: Sequence[str]) -> dict[str, str]:
    """The CORS headers for a request from `origin`: the origin is echoed only when listed."""
    headers = {"Vary": "Origin"}
    if "*" in allowed_origins:
        headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Expose-Headers"] = f"ETag, {REQUEST_ID_HEADER}"
    return headers


def raw_header(name: str) -> str | None:
    """A request header as the WSGI server passed it (latin-1 text), never decoded further.

    Bottle's own accessors decode headers as UTF-8 and raise on other bytes; ids, origins and
    ETags are ASCII, so anything else simply fails to match.
    """
    value = bottle.request.environ.get("HTTP_" + name.upper().replace("-", "_"))
    return value if isinstance(value, str) else None


def _route_label(environ: Mapping[str, object]) -> str:
    route = environ.get("bottle.route")
    rule = getattr(route, "rule", None)
    return rule if isinstance(rule, str) else UNMATCHED_ROUTE


def install_request_hooks(
    app: bottle.Bottle, *, metrics: Metrics, cors_origins: Sequence[str]
) -> None:
    """Give every request an id, CORS headers, a metrics sample and one `api_request_handled` line.

    The hooks run around routing, so unknown routes and wrong methods are counted too. Metrics
    are labelled by the route rule (`/graph-data/<genre>`), never the raw path: bounded labels.
    """
    origins = tuple(cors_origins)

    def before_request() -> None:
        environ = bottle.request.environ
        environ[_ENVIRON_STARTED] = time.perf_counter()
        request_id = request_id_from(raw_header(REQUEST_ID_HEADER))
        environ[_ENVIRON_REQUEST_ID] = request_id
        environ[_ENVIRON_LOG_TOKENS] = structlog.contextvars.bind_contextvars(request_id=request_id)

    def after_request() -> None:
        request = bottle.request
        response = bottle.response
        environ = request.environ
        request_id = environ.get(_ENVIRON_REQUEST_ID) or request_id_from(None)
        response.set_header(REQUEST_ID_HEADER, request_id)
        response.set_header("X-Content-Type-Options", "nosniff")
        for name, value in cors_headers(raw_header("Origin"), origins).items():
            response.set_header(name, value)
        started = environ.get(_ENVIRON_STARTED, time.perf_counter())
        seconds = time.perf_counter() - started
        route = _route_label(environ)
        method = str(request.method).upper()
        status = int(response.status_code)
        metrics.record_api_request(
            route, method if method in _KNOWN_METHODS else "other", status, seconds
        )
        log.info(
            "api_request_handled",
            method=method,
            route=route,
            path=str(request.path)[:_MAX_ECHOED_PATH],
            status=status,
            duration_ms=round(seconds * 1000, 3),
        )
        tokens = environ.pop(_ENVIRON_LOG_TOKENS, None)
        if tokens:
            structlog.contextvars.reset_contextvars(**tokens)

    app.add_hook("before_request", before_request)
    app.add_hook("after_request", after_request)
