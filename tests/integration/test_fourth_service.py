"""A service is one registry entry: a made-up fourth service runs through the pipeline and the API.

`tests/nimbus` holds what adding a service takes: its provider client, its sample-world endpoints
and its registry entry. Registered for this module only (and unregistered after it), with its
playlists in a user catalog given by `TUNEMELD_ETL__CATALOG_PATH`, it is extracted, matched and
aggregated like the others and served on every route of a genre over a real loopback server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from importlib import resources
from typing import Any

import pytest
import requests

from tests.catalog import GENRES
from tests.nimbus import SPEC, catalog_line
from tunemeld import etl
from tunemeld.api import RunningServer, check_server, create_app, start_background_server
from tunemeld.config import Settings, load_catalog
from tunemeld.exceptions import NotFound
from tunemeld.models import AGGREGATE, Genre, RunReport, Service, UnitStatus
from tunemeld.services.cache import MemoryCache
from tunemeld.services.providers.registry import SERVICES, register, unregister
from tunemeld.services.store import SQLiteStore

DAY = date(2026, 11, 24)
GENRE = Genre("pop")


@pytest.fixture(scope="module", name="nimbus")
def _nimbus() -> Iterator[Service]:
    """Nimbus registered for this module; afterwards the registry is the built-in one again."""
    built_in = list(SERVICES)
    register(SPEC)
    try:
        yield SPEC.service
    finally:
        unregister(SPEC)
    assert list(SERVICES) == built_in
    assert "Nimbus" not in [s.value for s in Service]
    with pytest.raises(ValueError, match="not a registered playlist service"):
        Service("Nimbus")
    with pytest.raises(NotFound, match="Unknown service 'Nimbus'"):
        Service.parse("Nimbus")  # the exact-name fast path forgets it too


@pytest.fixture(scope="module", name="settings")
def _settings(nimbus: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("fourth-service")
    text = resources.files("tunemeld.config").joinpath("catalog.toml").read_text("utf-8")
    catalog = folder / "catalog.toml"
    catalog.write_text(
        text.rstrip("\n") + "\n\n[nimbus]\n" + "".join(catalog_line(g) + "\n" for g in GENRES)
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TUNEMELD_ETL__CATALOG_PATH", str(catalog))
        yield Settings(
            _env_file=None,
            env="testing",
            database={"url": f"sqlite:///{folder / 'tunemeld.db'}"},
            providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
        )


@pytest.fixture(scope="module", name="report")
def _report(settings: Settings) -> RunReport:
    return etl.run(settings, as_of=DAY, genres=[GENRE])


@pytest.fixture(scope="module", name="server")
def _server(settings: Settings, report: RunReport) -> Iterator[RunningServer]:
    store = SQLiteStore.from_url(settings.database.url)
    server = start_background_server(create_app(settings, store, MemoryCache()))
    yield server
    server.close()
    store.close()


def _data(server: RunningServer, path: str) -> Any:
    reply = requests.get(server.url + path, timeout=10)
    assert reply.status_code == 200, reply.text[:300]
    return reply.json()["data"]


def test_the_registered_service_is_a_service_everywhere(
    nimbus: Service, settings: Settings
) -> None:
    assert Service("Nimbus") is nimbus is Service.parse("nimbus")
    assert list(Service)[-1] is nimbus  # priority 3: after Spotify
    assert nimbus.priority == 3
    assert (
        load_catalog(settings.etl.catalog_path).entry(nimbus, GENRE).playlist_id.startswith("nb-")
    )


def test_the_pipeline_runs_every_unit_of_the_new_service(
    nimbus: Service, report: RunReport
) -> None:
    assert report.ok
    units = [u for u in report.units if u.service is nimbus]
    assert {u.stage.value for u in units} == {"extract", "transform"}
    assert all(u.status is UnitStatus.OK for u in units)
    assert report.calls[nimbus.value]["playlist"] == 2  # the playlist and its header
    assert report.quota_units[nimbus.value] == 2  # its registered cost: 1 unit a call
    assert report.buckets["nimbus"].units == 2  # drawn from its registered bucket


def test_the_aggregate_counts_the_new_service_as_a_source(
    nimbus: Service, settings: Settings, report: RunReport
) -> None:
    store = SQLiteStore.from_url(settings.database.url)
    try:
        aggregate = store.get_playlist(GENRE, AGGREGATE)
        assert aggregate is not None
        assert any(nimbus in rank.sources for rank in aggregate.tracks)
    finally:
        store.close()


def test_every_route_of_the_genre_answers_over_http(nimbus: Service, server: RunningServer) -> None:
    checks = check_server(server.url, [GENRE])
    assert [c for c in checks if not c.ok] == []
    assert f"/service-playlist/{GENRE}/{nimbus.value}" in {c.path for c in checks}


def test_the_new_service_playlist_is_served(nimbus: Service, server: RunningServer) -> None:
    [document] = _data(server, f"/service-playlist/{GENRE}/nimbus")
    assert document["service_name"] == "Nimbus"
    assert len(document["tracks"]) == SPEC.sample_playlist_size
    assert document["tracks"][0]["url"].startswith("https://nimbus.test/track/")


def test_header_art_has_the_new_service(server: RunningServer) -> None:
    header = _data(server, f"/header-art/{GENRE}")
    assert list(header) == ["genre_name", "AppleMusic", "SoundCloud", "Spotify", "Nimbus"]
    assert header["Nimbus"]["playlist_name"] == "Nimbus Pop"


def test_aggregate_rows_carry_the_new_service_url_and_sources(server: RunningServer) -> None:
    [document] = _data(server, f"/playlist-data/{GENRE}")
    rows = document["tracks"]
    keys = list(rows[0])
    at = keys.index("aggregate_service_name")
    assert keys[at + 1 : at + 5] == [
        "spotify_url",
        "apple_music_url",
        "soundcloud_url",
        "nimbus_url",
    ]
    listed = [row for row in rows if "Nimbus" in row["sources"]]
    assert listed
    for row in listed:
        assert row["nimbus_url"] == row["additional_sources"]["Nimbus"]
        assert row["nimbus_url"].startswith("https://nimbus.test/track/")


def test_the_index_and_openapi_list_the_new_service(server: RunningServer) -> None:
    index = requests.get(server.url + "/", headers={"Accept": "application/json"}, timeout=10)
    assert index.json()["data"]["services"] == ["AppleMusic", "SoundCloud", "Spotify", "Nimbus"]
    document = requests.get(server.url + "/openapi.json", timeout=10).json()
    schemas = document["components"]["schemas"]
    assert schemas["Service"]["enum"][-1] == "Nimbus"
    assert "nimbus_url" in schemas["AggregateTrack"]["required"]
    assert "Nimbus" in schemas["HeaderArt"]["properties"]
