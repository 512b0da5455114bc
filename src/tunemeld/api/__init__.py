"""The JSON API (DESIGN.md §6): the bottle app factory, its servers and an outside check."""

from tunemeld.api.app import create_app
from tunemeld.api.check import RouteCheck, check_server
from tunemeld.api.server import RunningServer, serve, start_background_server

__all__ = [
    "RouteCheck",
    "RunningServer",
    "check_server",
    "create_app",
    "serve",
    "start_background_server",
]
