"""Usage examples of the public API that must type-check: mypy checks them, pytest never runs them.

Each `assert_type` pins what a call returns; each `# type: ignore[code]` is a misuse mypy must
reject (strict mode flags an ignore that is no longer needed, so a loosened signature fails too).
"""

from __future__ import annotations

import sys

import bottle

import tunemeld
from tunemeld import Settings, Store
from tunemeld.api import RouteCheck, check_server, create_app
from tunemeld.models import AGGREGATE, Genre, Playlist, RunReport, RunStatus, Service, ViewDoc
from tunemeld.models.view import GRAPH_DATA
from tunemeld.services.cache import Cache, open_cache

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type


def settings_examples() -> Settings:
    """Settings come from the environment; keyword overrides replace groups."""
    settings = tunemeld.load_settings()
    assert_type(settings, Settings)
    assert_type(settings.database.url, str)
    assert_type(settings.cache.ttl_seconds, int)
    return tunemeld.load_settings(database={"url": "sqlite:///example.db"})


def store_examples(settings: Settings) -> None:
    """A store is built from settings and read with typed repository methods."""
    store = tunemeld.open_store(settings)
    assert_type(store, Store)
    pop = Genre("pop")
    assert_type(pop, Genre)
    assert_type(store.get_playlist(pop, AGGREGATE), Playlist | None)
    assert_type(store.get_view(pop, GRAPH_DATA.name), ViewDoc | None)
    assert_type(store.list_runs(limit=5), list[RunReport])
    store.get_view("pop", GRAPH_DATA.name)  # type: ignore[arg-type]  # a Genre, not a string
    store.close()
    with tunemeld.open_store(settings) as opened:  # a store is a context manager: closed after
        assert_type(opened, Store)


def etl_examples(settings: Settings) -> None:
    """`etl.run` takes names or enum values and returns the run's report."""
    report = tunemeld.etl.run(
        settings, stages=["full"], genres=["pop"], services=[Service.SPOTIFY], dry_run=True
    )
    assert_type(report, RunReport)
    assert_type(report.ok, bool)
    assert_type(report.status, RunStatus)
    assert_type(report.genres, list[Genre])
    tunemeld.etl.run(settings, ["full"])  # type: ignore[call-arg]  # everything after settings is keyword-only
    tunemeld.etl.run(settings, stages=[1])  # type: ignore[list-item]  # stage names or Stage values


def api_examples(settings: Settings, store: Store) -> None:
    """The app is built from settings, a store and a cache; `check_server` checks one serving."""
    cache = open_cache(settings)
    assert_type(cache, Cache)
    app = create_app(settings, store, cache)
    assert_type(app, bottle.Bottle)
    checks = check_server("http://127.0.0.1:8000", [Genre("pop")], timeout=2.0)
    assert_type(checks, list[RouteCheck])
    assert_type(checks[0].ok, bool)
    create_app(settings, store)  # type: ignore[call-arg]  # the cache is required
