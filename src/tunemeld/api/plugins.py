"""Cross-cutting API behaviour: the JSON envelope, errors as envelopes, request ids, CORS, timing.

Bottle is untyped; these typed functions keep it at arm's length. Every answer, including bottle's
own 404/405/500 pages, is the envelope `{"status", "message", "data"}` and never a traceback.
"""

from __future__ import annotations

import functools
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus

import bottle
import structlog

from tunemeld.api._access_log import AccessLog, request_id_variable
from tunemeld.api.answers import CachedAnswer, encode_json, envelope
from tunemeld.exceptions import BadRequest, NotFound, StoreUnavailable, TunemeldError
from tunemeld.services.monitoring import Metrics

__all__ = [
    "ALLOWED_METHODS",
    "JSON_CONTENT_TYPE",
    "REQUEST_ID_HEADER",
    "ErrorEnvelopePlugin",
    "FastAnswer",
    "FastPath",
    "FixedResponse",
    "ObservedBottle",
    "PreparedAnswer",
    "RequestObserver",
    "WsgiAnswer",
    "cors_headers",
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
_ENVIRON_REQUEST_ID = "tunemeld.request_id"
_MAX_ECHOED_PATH = 200
_GENERIC_500 = "Internal server error: the request failed unexpectedly and was logged."


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


class _Prebuilt(bottle.HTTPResponse):  # type: ignore[misc]  # bottle is untyped
    """A response from prebuilt parts (no status parsing, no header validation); each has its
    own header lists, since bottle's `add_header` appends to them in place."""

    def __init__(self, body: bytes, status: tuple[int, str], headers: dict[str, list[str]]):
        self._cookies = None
        self._headers = {name: values[:] for name, values in headers.items()}
        self.body = body
        self._status_code, self._status_line = status


class FixedResponse:
    """A response that is the same for every request: validated once, copied per request."""

    def __init__(self, response: bottle.HTTPResponse) -> None:
        self._status = (response.status_code, response.status_line)
        self._headers = dict(response._headers)
        self._body = response.body

    def response(self) -> bottle.HTTPResponse:
        return _Prebuilt(self._body, self._status, self._headers)


WsgiAnswer = tuple[str, tuple[tuple[str, str], ...], bytes]
"""What bottle's WSGI call sends for a response: its status line, header list and body."""

_BODILESS = frozenset({100, 101, 204, 304})
"""Statuses bottle sends without a body (RFC 9110), whatever the response holds."""


def wsgi_answer(fixed: FixedResponse) -> WsgiAnswer:
    """The status line, header list and body bottle's WSGI call sends for `fixed` to a GET (read
    from bottle's own response, so an answer sent without bottle is the same bytes)."""
    response = fixed.response()
    body = response.body
    if "Content-Length" not in response:  # what bottle's `_cast` adds to a bytes body
        response["Content-Length"] = len(body)
    status = response._wsgi_status_line()
    headers = tuple(response.headerlist)
    return status, headers, b"" if response.status_code in _BODILESS else body


class PreparedAnswer:
    """One cached answer's 200 and 304 responses, built once per cache fill: as bottle
    responses, and as bottle's WSGI call sends them (`wsgi`, for the fast path)."""

    def __init__(self, answer: CachedAnswer, *, max_age: int) -> None:
        self.etag = answer.etag
        self.body = answer.body
        headers = {"ETag": answer.etag, "Cache-Control": f"public, max-age={max_age}"}
        length = {"Content-Length": str(len(answer.body))}
        self._ok = FixedResponse(json_response(200, answer.body, {**headers, **length}))
        self._not_modified = FixedResponse(bottle.HTTPResponse(b"", status=304, headers=headers))

    def response(self, *, not_modified: bool) -> bottle.HTTPResponse:
        """A fresh response for one request: 304 without a body, else 200 with it."""
        return (self._not_modified if not_modified else self._ok).response()

    @functools.cached_property
    def _wsgi_answers(self) -> tuple[WsgiAnswer, WsgiAnswer]:
        """Made on first use, so answers only bottle serves (`/track`) never pay for it."""
        return wsgi_answer(self._ok), wsgi_answer(self._not_modified)

    def wsgi(self, *, not_modified: bool) -> WsgiAnswer:
        """What bottle's WSGI call would send for `response(not_modified=...)` to a GET."""
        return self._wsgi_answers[1 if not_modified else 0]


def _error_response(status_code: int, message: str) -> bottle.HTTPResponse:
    return json_response(status_code, envelope("error", message), {"Cache-Control": "no-store"})


class ErrorEnvelopePlugin:
    """Exceptions of route callbacks as envelopes: NotFound 404, BadRequest 400,
    StoreUnavailable 503; anything else is logged with its traceback and answered a generic 500."""

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


def request_id_from(header: object) -> str:
    """The client's X-Request-ID when it is a sane token, else 32 random hex digits.

    From `random`, not `os.urandom`: an id only correlates log lines (it guards nothing), and
    `os.urandom` is a system call that gives up the GIL mid-request.
    """
    if isinstance(header, str) and _REQUEST_ID.fullmatch(header):
        return header
    return f"{random.getrandbits(128):032x}"


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
    """A request header as the WSGI server passed it (latin-1), never decoded further: bottle's
    accessors decode UTF-8 and raise on other bytes; the headers read here are ASCII."""
    value = bottle.request.environ.get(_environ_key(name))
    return value if isinstance(value, str) else None


@functools.cache  # header names are constants of the code: a handful
def _environ_key(name: str) -> str:
    return "HTTP_" + name.upper().replace("-", "_")


def _header_name(name: str) -> str:
    """A header name spelled as bottle sends it (`X-Request-Id`): the wire bytes stay the same."""
    return name.title().replace("_", "-")


StartResponse = Callable[..., object]
WsgiCall = Callable[[dict[str, object], StartResponse], Iterable[bytes]]

FastAnswer = tuple[str, WsgiAnswer]
"""A request answered in front of bottle: its route rule (the metrics label) and the answer."""

FastPath = Callable[[dict[str, object]], FastAnswer | None]
"""Answers the requests it knows from a WSGI environ, without bottle; None for any other."""


class RequestObserver:
    """Gives every request an id, CORS headers, a metrics sample and one `api_request_handled` line.

    It wraps the whole WSGI call, so unknown routes, wrong methods and crashes are observed too.
    Metrics are labelled by route rule, never raw path (bounded labels). The headers are built
    once per origin here, not per request.
    """

    def __init__(
        self, *, metrics: Metrics, cors_origins: Sequence[str], fast: FastPath | None = None
    ) -> None:
        self.fast = fast
        """Answers the requests it knows in front of bottle (see `routes.fast_path`)."""
        origins = tuple(cors_origins)
        self._metrics = metrics
        self._log = AccessLog()
        self._request_id = request_id_variable()

        def prebuilt(origin: str | None) -> tuple[tuple[str, str], ...]:
            headers = {"X-Content-Type-Options": "nosniff", **cors_headers(origin, origins)}
            return tuple((_header_name(name), value) for name, value in headers.items())

        self._cors_other = prebuilt(None)
        self._cors_listed = {origin: prebuilt(origin) for origin in origins if origin != "*"}
        self._id_header = _header_name(REQUEST_ID_HEADER)
        names = {self._id_header, *(name for name, _ in self._cors_other)}
        for headers in self._cors_listed.values():
            names.update(name for name, _ in headers)
        self._replaced = frozenset(names)

    def __call__(
        self, environ: dict[str, object], start_response: StartResponse, app: WsgiCall
    ) -> Iterable[bytes]:
        """Answer through `fast` when it knows the request, else through `app` (bottle's)."""
        started = time.perf_counter()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[_ENVIRON_REQUEST_ID] = request_id
        token = self._request_id.set(request_id)  # bound for every log line of the request
        origin = environ.get("HTTP_ORIGIN")
        cors = self._cors_listed.get(origin) if isinstance(origin, str) else None
        extra = ((self._id_header, request_id), *(cors or self._cors_other))
        replaced = self._replaced
        statuses: list[str] = []
        fast_rule: str | None = None

        def observed_start(
            status: str, headers: Sequence[tuple[str, str]], exc_info: object = None
        ) -> object:
            statuses.append(status)
            kept = [header for header in headers if header[0] not in replaced]
            kept.extend(extra)
            return start_response(status, kept, exc_info)

        try:
            found = None
            if self.fast is not None:
                try:
                    found = self.fast(environ)
                except Exception:  # a fault of the shortcut: logged, and bottle answers as always
                    log.exception("api_fast_path_failed")
            if found is None:
                return app(environ, observed_start)
            fast_rule, (status, headers, body) = found
            observed_start(status, headers)
            return [body] if body else []
        finally:
            seconds = time.perf_counter() - started
            try:
                self._record(environ, statuses, seconds, fast_rule)
            finally:
                self._request_id.reset(token)

    def _record(
        self,
        environ: Mapping[str, object],
        statuses: list[str],
        seconds: float,
        fast_rule: str | None,
    ) -> None:
        status = int(statuses[-1][:3]) if statuses else 500
        if fast_rule is not None:  # a GET of a path the fast path knows: nothing to normalise
            route, method, label, path = fast_rule, "GET", "GET", str(environ["PATH_INFO"])
        else:
            rule = getattr(environ.get("bottle.route"), "rule", UNMATCHED_ROUTE)
            route = rule if isinstance(rule, str) else UNMATCHED_ROUTE
            method = str(environ.get("REQUEST_METHOD", "GET")).upper()
            label = method if method in _KNOWN_METHODS else "other"
            path = str(environ.get("PATH_INFO", ""))
            if not path.startswith("/") or path.startswith("//"):
                path = "/" + path.lstrip("/")
            path = path[:_MAX_ECHOED_PATH]
        self._metrics.record_api_request(route, label, status, seconds)
        self._log.record(method, route, path, status, round(seconds * 1000, 3))


class ObservedBottle(bottle.Bottle):  # type: ignore[misc]  # bottle is untyped
    """A bottle app whose every request goes through its `RequestObserver` (when installed)."""

    observer: RequestObserver | None = None

    def __call__(
        self, environ: dict[str, object], start_response: StartResponse
    ) -> Iterable[bytes]:
        observer = self.observer
        if observer is None:
            return self.wsgi(environ, start_response)  # type: ignore[no-any-return]
        return observer(environ, start_response, self.wsgi)


def install_request_hooks(
    app: ObservedBottle,
    *,
    metrics: Metrics,
    cors_origins: Sequence[str],
    fast: FastPath | None = None,
) -> None:
    """Observe every request of `app` (`RequestObserver`), answering what `fast` knows first."""
    app.observer = RequestObserver(metrics=metrics, cors_origins=cors_origins, fast=fast)
