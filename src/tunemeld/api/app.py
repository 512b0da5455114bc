"""The app factory: a bottle app answering the JSON API from the store's precomputed views."""

from __future__ import annotations

import bottle

from tunemeld import __version__
from tunemeld.api.openapi import document_bytes
from tunemeld.api.plugins import (
    ErrorEnvelopePlugin,
    ObservedBottle,
    install_error_pages,
    install_request_hooks,
)
from tunemeld.api.routes import ApiContext, HealthMemo, add_routes, fast_path
from tunemeld.config import Settings, load_catalog
from tunemeld.models import RunReport
from tunemeld.services.cache import Cache
from tunemeld.services.logging import configure_logging, debug_context
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import Store

__all__ = ["create_app"]


def create_app(
    settings: Settings, store: Store, cache: Cache, *, metrics: Metrics | None = None
) -> bottle.Bottle:
    """Build the WSGI app; nothing listens until `serve` or `start_background_server`.

    Pass the `metrics` the cache was opened with so `/metrics` shows cache hits too (and, always,
    the newest stored ETL run). Debug mode stays off: errors are JSON envelopes, never tracebacks.
    """
    configure_logging(settings)
    metrics = metrics if metrics is not None else Metrics()
    metrics.hide(settings.secret_values())
    metrics.watch_runs(lambda: _newest_finished_run(store))
    bottle.debug(False)
    app = ObservedBottle()
    app.config["catchall"] = True
    app.uninstall(True)  # bottle's JSON and template plugins: routes build their own responses
    app.install(ErrorEnvelopePlugin(debug_context=lambda: debug_context(settings)))
    install_error_pages(app)
    health = HealthMemo(settings.health.cache_seconds)
    genres = load_catalog(settings.etl.catalog_path).genres  # a bad catalog stops the start
    context = ApiContext(settings, store, cache, metrics, health, genres)
    install_request_hooks(
        app, metrics=metrics, cors_origins=settings.api.cors_origins, fast=fast_path(context)
    )
    add_routes(app, context, openapi=lambda: document_bytes(__version__, genres))
    return app


def _newest_finished_run(store: Store) -> RunReport | None:
    """The newest run that has ended (a running one has no totals yet)."""
    return next((run for run in store.list_runs(5) if run.finished_at is not None), None)
