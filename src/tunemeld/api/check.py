"""Checking a running API server from outside: `/health` and every data route for every genre.

Used by `inv api.health` and the CLI's system checks; it speaks HTTP like a front end would, so
it finds what unit tests cannot (a server that is down, a port taken by something else).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from tunemeld.models import Genre, Service

__all__ = ["RouteCheck", "check_server", "route_paths"]


@dataclass(frozen=True)
class RouteCheck:
    """The outcome of one GET: ok means HTTP 200 and an envelope whose status is "success"."""

    path: str
    status: int | None
    latency_ms: float
    ok: bool
    error: str | None = None


def route_paths(genres: Sequence[Genre] = tuple(Genre)) -> list[str]:
    """`/health`, then every data route of every genre (the service playlist of every service)."""
    paths = ["/health"]
    for genre in genres:
        g = genre.value
        paths += [f"/graph-data/{g}", f"/playlist-data/{g}"]
        paths += [f"/service-playlist/{g}/{service.value}" for service in Service]
        paths += [f"/last-updated/{g}", f"/header-art/{g}"]
    return paths


def _envelope_problem(response: requests.Response) -> str | None:
    """None when the body is a success envelope; else what is wrong with it."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: the answer is not JSON"
    if not isinstance(body, dict) or "status" not in body:
        return f"HTTP {response.status_code}: the answer is not a TuneMeld envelope"
    if response.status_code == 200 and body["status"] == "success":
        return None
    message = body.get("message")
    return f"HTTP {response.status_code}: {message}" if message else f"HTTP {response.status_code}"


def check_server(
    base_url: str, genres: Sequence[Genre] = tuple(Genre), *, timeout: float = 5.0
) -> list[RouteCheck]:
    """GET `/health` and every data route on the server at `base_url`, in order.

    When the server cannot be reached, every check fails with the same actionable error
    instead of waiting out one connection attempt per route.
    """
    base = base_url.rstrip("/")
    checks: list[RouteCheck] = []
    unreachable: str | None = None
    with requests.Session() as session:
        for path in route_paths(genres):
            if unreachable is not None:
                checks.append(RouteCheck(path, None, 0.0, ok=False, error=unreachable))
                continue
            started = time.perf_counter()
            try:
                response = session.get(base + path, timeout=timeout)
            except requests.ConnectionError as exc:
                unreachable = (
                    f"The API server at {base} is not reachable ({type(exc).__name__}). "
                    "Start it with `inv api.start`."
                )
                checks.append(RouteCheck(path, None, _ms(started), ok=False, error=unreachable))
                continue
            except requests.Timeout:
                error = f"No answer within {timeout:g} s."
                checks.append(RouteCheck(path, None, _ms(started), ok=False, error=error))
                continue
            except requests.RequestException as exc:
                error = f"The request failed: {type(exc).__name__}."
                checks.append(RouteCheck(path, None, _ms(started), ok=False, error=error))
                continue
            problem = _envelope_problem(response)
            checks.append(
                RouteCheck(
                    path, response.status_code, _ms(started), ok=problem is None, error=problem
                )
            )
    return checks


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
