"""A stage's RunContext on a real SQLite store, with the sample world or a faked Spotify client."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timezone

import pytest

from tunemeld.config import Settings, load_catalog
from tunemeld.etl._context import RunContext
from tunemeld.models import Service
from tunemeld.services.cache import MemoryCache
from tunemeld.services.providers import SpotifyClient, open_providers
from tunemeld.services.store import SQLiteStore

DAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)

MakeContext = Callable[..., AbstractContextManager[RunContext]]
"""`with make_context(run_id=..., spotify=...) as ctx`: a RunContext for one run."""


@pytest.fixture(name="make_context")
def _make_context(settings: Settings, store: SQLiteStore) -> MakeContext:
    """RunContexts over the sample world on `store`; `spotify` replaces its Spotify client."""

    @contextmanager
    def make(
        *,
        run_id: str = "run-1",
        spotify: SpotifyClient | None = None,
    ) -> Iterator[RunContext]:
        with open_providers(settings, as_of=DAY) as providers:
            if spotify is not None:
                playlists = {**providers.playlists, Service.SPOTIFY: spotify}
                providers = dataclasses.replace(providers, spotify=spotify, playlists=playlists)
            yield RunContext(
                settings=settings,
                store=store,
                providers=providers,
                catalog=load_catalog(),
                cache=MemoryCache(),
                run_id=run_id,
                as_of=DAY,
                now=NOW,
            )

    return make
