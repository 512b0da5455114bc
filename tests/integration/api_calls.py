"""Calling the API in-process (WSGI, no socket) and listing every data route, for store tests."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.util import setup_testing_defaults

from tests.catalog import GENRES
from tunemeld.api import create_app
from tunemeld.config import Settings
from tunemeld.models import Service
from tunemeld.services.cache import NullCache
from tunemeld.services.store import Store

__all__ = ["DATA_ROUTES", "ApiCaller", "api_for", "data_of", "get"]

DATA_ROUTES = [
    "/",
    *(
        f"/{route}/{genre.value}"
        for genre in GENRES
        for route in ("graph-data", "playlist-data", "last-updated", "header-art", "rising")
    ),
    *(
        f"/service-playlist/{genre.value}/{service.value}"
        for genre in GENRES
        for service in Service
    ),
    "/graph-data/jazz",
    "/service-playlist/pop/Tidal",
]
"""Every data route for every genre and service, plus two unknown names (404 answers)."""

ApiCaller = Callable[[str], tuple[int, bytes]]


def get(app: Callable[..., Any], path: str) -> tuple[int, bytes]:
    """GET `path` (with any `?query`) from a WSGI app in-process: (status code, body bytes)."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    path_info, _, query = path.partition("?")
    environ.update(REQUEST_METHOD="GET", PATH_INFO=path_info, QUERY_STRING=query)
    environ["wsgi.errors"] = io.StringIO()
    captured: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"] = int(status.split()[0])

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], body


@contextmanager
def api_for(settings: Settings, store: Store) -> Iterator[ApiCaller]:
    """An in-process API on `store` with no answer cache: every call reads the store."""
    cache = NullCache()
    try:
        app = create_app(settings, store, cache)
        yield lambda path: get(app, path)
    finally:
        cache.close()


def data_of(body: bytes) -> Any:
    """The `data` of an envelope."""
    return json.loads(body)["data"]
