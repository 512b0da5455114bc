"""The app factory: a bottle app answering the JSON API from the store's precomputed views."""

from __future__ import annotations

import bottle

from tunemeld.api.plugins import ErrorEnvelopePlugin, install_error_pages, install_request_hooks
from tunemeld.api.routes import ApiContext, add_routes
from tunemeld.config import Settings
from tunemeld.services.cache import Cache
from tunemeld.services.logging import configure_logging
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import Store

__all__ = ["create_app"]


def create_app(
    settings: Settings, store: Store, cache: Cache, *, metrics: Metrics | None = None
) -> bottle.Bottle:
    """Build the WSGI app; nothing listens until `serve` or `start_background_server`.

    Pass the same `metrics` the cache was opened with so `/metrics` shows cache hits too.
    Debug mode stays off whatever the settings say: errors are JSON envelopes, never tracebacks.
    """
    configure_logging(settings)
    metrics = metrics if metrics is not None else Metrics()
    bottle.debug(False)
    app = bottle.Bottle()
    app.config["catchall"] = True
    app.uninstall(True)  # bottle's JSON and template plugins: routes build their own responses
    app.install(ErrorEnvelopePlugin())
    install_error_pages(app)
    install_request_hooks(app, metrics=metrics, cors_origins=settings.api.cors_origins)
    add_routes(app, ApiContext(settings, store, cache, metrics))
    return app
