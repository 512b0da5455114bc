"""Checking a running API server from outside: `/health`, every data route of every genre, and
`/track/<isrc>` of each genre's top track.

Used by `inv api.health` and the CLI's system checks: speaking HTTP like a front end, it finds
what unit tests cannot (a server that is down, a port taken by something else).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from tunemeld.api.routes import ROUTES, Route
from tunemeld.config import load_catalog
from tunemeld.models import Genre, Service
from tunemeld.models.view import PLAYLIST_DATA

__all__ = ["RouteCheck", "check_server", "route_paths", "route_targets"]


@dataclass(frozen=True)
class RouteCheck:
    """The outcome of one GET: ok means HTTP 200 and an envelope whose status is "success"."""

    path: str
    status: int | None
    latency_ms: float
    ok: bool
    error: str | None = None


def _paths_of(route: Route, genre: Genre) -> list[str]:
    """The concrete paths of one data route for one genre (every service when it takes one)."""
    services: list[Service | None] = list(Service) if "service" in route.params else [None]
    return [
        route.path({"genre": genre.value, "service": service.value if service else ""})
        for service in services
    ]


def route_targets(genres: Sequence[Genre] | None = None) -> list[tuple[str, bool]]:
    """`/health`, then every data route of every genre (default: the built-in catalog's), each
    with "answers an envelope"."""
    targets = [("/health", True)]
    for genre in genres if genres is not None else load_catalog().genres:
        for route in ROUTES:
            if route.is_data:
                targets += [(path, route.kind == "view") for path in _paths_of(route, genre)]
    return targets


def route_paths(genres: Sequence[Genre] | None = None) -> list[str]:
    """`/health`, then every data route of every genre (the service playlist of every service)."""
    return [path for path, _ in route_targets(genres)]


def _top_isrc(path: str, response: requests.Response) -> str | None:
    """The top aggregate track's ISRC in a `/playlist-data/<genre>` answer, else None."""
    if not path.startswith(f"/{PLAYLIST_DATA.name}/") or response.status_code != 200:
        return None
    try:
        tracks = response.json()["data"][0]["tracks"]
        return str(tracks[0]["isrc"]) if tracks else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _envelope_problem(response: requests.Response, enveloped: bool = True) -> str | None:
    """None when the body is a success envelope (or, for a plain route, 200 JSON); else why not."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: the answer is not JSON"
    if not enveloped and response.status_code == 200:
        return None
    if not isinstance(body, dict) or "status" not in body:
        return f"HTTP {response.status_code}: the answer is not a TuneMeld envelope"
    if response.status_code == 200 and body["status"] == "success":
        return None
    message = body.get("message")
    return f"HTTP {response.status_code}: {message}" if message else f"HTTP {response.status_code}"


def check_server(
    base_url: str, genres: Sequence[Genre] | None = None, *, timeout: float = 5.0
) -> list[RouteCheck]:
    """GET `/health` and every data route on the server at `base_url`, in order.

    An unreachable server fails every check at once, not one connection attempt per route.
    """
    base = base_url.rstrip("/")
    checks: list[RouteCheck] = []
    unreachable: str | None = None
    targets = route_targets(genres)
    with requests.Session() as session:
        for path, enveloped in targets:
            if unreachable is not None:
                checks.append(RouteCheck(path, None, 0.0, ok=False, error=unreachable))
                continue
            started = time.perf_counter()
            try:
                response = session.get(base + path, timeout=timeout)
            except requests.RequestException as exc:
                if isinstance(exc, requests.ConnectionError):
                    error = unreachable = (
                        f"The API server at {base} is not reachable ({type(exc).__name__}). "
                        "Start it with `inv api.start`."
                    )
                elif isinstance(exc, requests.Timeout):
                    error = f"No answer within {timeout:g} s."
                else:
                    error = f"The request failed: {type(exc).__name__}."
                checks.append(RouteCheck(path, None, _ms(started), ok=False, error=error))
                continue
            problem = _envelope_problem(response, enveloped)
            checks.append(
                RouteCheck(
                    path, response.status_code, _ms(started), ok=problem is None, error=problem
                )
            )
            isrc = _top_isrc(path, response)
            if isrc is not None:  # the recording's own route: checked as the walk goes on
                targets += [
                    (route.path({"isrc": isrc}), True)
                    for route in ROUTES
                    if "isrc" in route.path_params
                ]
    return checks


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
