"""A genre is catalog data: a user catalog adding `latin` and `k-pop` needs no source edit.

The pipeline runs on the sample world (which invents both genres' recordings from their names),
then a real API server on loopback answers every data route of every catalog genre.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import requests

from tests.catalog import GENRES, catalog_adding
from tunemeld import etl
from tunemeld.api import RunningServer, check_server, create_app, start_background_server
from tunemeld.config import Settings, load_catalog
from tunemeld.models import AGGREGATE, Genre, RunReport, Service, Stage, UnitStatus
from tunemeld.services.cache import MemoryCache
from tunemeld.services.store import SQLiteStore

ADDED = ("latin", "k-pop")
DAY = date(2026, 11, 24)


@pytest.fixture(scope="module", name="user_settings")
def _user_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("user-genres")
    return Settings(
        _env_file=None,
        env="testing",
        database={"url": f"sqlite:///{folder / 'tunemeld.db'}"},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
        etl={"catalog_path": str(catalog_adding(folder / "catalog.toml", ADDED))},
    )


@pytest.fixture(scope="module", name="report")
def _report(user_settings: Settings) -> RunReport:
    """One full run over the user catalog (the slow part, shared)."""
    return etl.run(user_settings, as_of=DAY)


@pytest.fixture(scope="module", name="server")
def _server(user_settings: Settings, report: RunReport) -> Iterator[RunningServer]:
    store = SQLiteStore.from_url(user_settings.database.url)
    server = start_background_server(create_app(user_settings, store, MemoryCache()))
    yield server
    server.close()
    store.close()
    assert not server.running


def test_user_catalog_lists_the_added_genres_after_the_built_in_ones(
    user_settings: Settings,
) -> None:
    genres = load_catalog(user_settings.etl.catalog_path).genres
    assert genres == (*GENRES, *(Genre(name) for name in ADDED))


def test_full_run_does_every_unit_of_the_added_genres(report: RunReport) -> None:
    assert report.ok
    for name in ADDED:
        units = [u for u in report.units if u.genre == name]
        assert {u.stage for u in units} == set(Stage)
        assert len([u for u in units if u.service is not None]) == 2 * len(Service)
        assert all(u.status is UnitStatus.OK for u in units)


def test_added_genres_get_an_aggregate_of_tracks_two_services_list(
    user_settings: Settings, report: RunReport
) -> None:
    store = SQLiteStore.from_url(user_settings.database.url)
    try:
        for name in ADDED:
            aggregate = store.get_playlist(Genre(name), AGGREGATE)
            assert aggregate is not None
            assert aggregate.tracks
            assert all(len(rank.sources) >= 2 for rank in aggregate.tracks)
    finally:
        store.close()


def test_every_route_of_every_catalog_genre_answers_over_http(
    user_settings: Settings, server: RunningServer
) -> None:
    genres = load_catalog(user_settings.etl.catalog_path).genres
    checks = check_server(server.url, genres)
    assert [c for c in checks if not c.ok] == []
    paths = {c.path for c in checks}
    for name in ADDED:
        assert f"/graph-data/{name}" in paths
        assert f"/api/main-playlist?genre={name}" in paths
        assert all(f"/service-playlist/{name}/{s.value}" in paths for s in Service)


def test_index_lists_the_added_genres_for_the_page(server: RunningServer) -> None:
    reply = requests.get(server.url + "/", headers={"Accept": "application/json"}, timeout=10)
    assert reply.status_code == 200
    assert reply.json()["data"]["genres"] == [*(g.value for g in GENRES), *ADDED]


def test_header_art_names_the_added_genres_playlists(server: RunningServer) -> None:
    reply = requests.get(server.url + "/header-art/k-pop", timeout=10)
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert data["genre_name"] == "k-pop"
    assert data["Spotify"]["playlist_name"] == "Hot K Pop"


def test_a_genre_name_spelled_loosely_is_the_catalog_one(server: RunningServer) -> None:
    exact = requests.get(server.url + "/playlist-data/k-pop", timeout=10)
    loose = requests.get(server.url + "/playlist-data/KPop", timeout=10)
    assert (loose.status_code, loose.content) == (200, exact.content)


def test_a_genre_outside_the_catalog_is_not_found_listing_the_catalog(
    server: RunningServer,
) -> None:
    reply = requests.get(server.url + "/playlist-data/jazz", timeout=10)
    assert reply.status_code == 404
    valid = ", ".join([*(g.value for g in GENRES), *ADDED])
    assert reply.json()["message"] == f"Unknown genre 'jazz'. Use one of: {valid}."
