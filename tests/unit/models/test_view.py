"""The view table: every view name written once, and the routes and cache keys made from it."""

from __future__ import annotations

from tunemeld.api.routes import ROUTES
from tunemeld.models import Service
from tunemeld.models.view import VIEWS, service_playlist_view, view_names, view_title


class TestViewTable:
    """`models.view.VIEWS` is the one list of view names; the rest is derived from it."""

    def test_view_names_when_listed_name_each_service_playlist_once(self) -> None:
        """Every name a genre can have, in the order the cache warms them."""
        services = tuple(f"service-playlist:{service.value}" for service in Service)
        assert view_names() == (
            "graph-data",
            "playlist-data",
            *services,
            "last-updated",
            "header-art",
            "rising",
        )

    def test_view_title_when_per_service_names_the_service(self) -> None:
        """The success message's words: the service's own, or the view's title."""
        assert view_title(service_playlist_view(Service.SPOTIFY)) == "Spotify playlist"
        assert view_title("graph-data") == "Graph data"
        assert view_title("no-such-view") == "no-such-view"

    def test_routes_when_made_from_the_table_give_each_view_one_envelope_route(self) -> None:
        """`/<name>/<genre>` (plus `/<service>` per service) answers each view in the envelope."""
        rules = {
            route.view.name: route.rule for route in ROUTES if route.kind == "view" if route.view
        }
        assert rules == {
            "graph-data": "/graph-data/<genre>",
            "playlist-data": "/playlist-data/<genre>",
            "service-playlist": "/service-playlist/<genre>/<service>",
            "last-updated": "/last-updated/<genre>",
            "header-art": "/header-art/<genre>",
            "rising": "/rising/<genre>",
        }

    def test_routes_when_made_from_the_table_give_each_view_one_worker_route(self) -> None:
        """The old worker's `/api/...` route of each view, with its parameters in the query."""
        worker = {
            route.rule: (route.view.name, route.query)
            for route in ROUTES
            if route.kind == "plain" and route.view
        }
        assert worker == {
            "/api/main-playlist": ("playlist-data", ("genre",)),
            "/api/service-playlist": ("service-playlist", ("genre", "service")),
            "/api/graph-data": ("graph-data", ("genre",)),
            "/api/header-art": ("header-art", ("genre",)),
            "/api/last-updated": ("last-updated", ("genre",)),
        }
        # The old worker served the views it knew; views added since (rising) have none.
        assert {name for name, _ in worker.values()} == {view.name for view in VIEWS} - {"rising"}
