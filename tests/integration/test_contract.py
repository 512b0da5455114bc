"""The contract the original TuneMeld front end reads, field by field, after two sample-world days.

Each test names the old client's reads it stands for (its playlist, header, last-updated and
chart modules): a field it reads missing, renamed or of another type breaks a rendered table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.catalog import GENRES
from tests.integration.api_calls import ApiCaller, api_for, data_of
from tests.sample import sample_settings
from tunemeld import etl
from tunemeld.models import Service
from tunemeld.services.store import SQLiteStore

DAY1 = date(2026, 11, 24)
DAY2 = date(2026, 11, 25)


@pytest.fixture(scope="module", name="call")
def _call(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiCaller]:
    """The in-process API over a store filled by full runs on two consecutive days."""
    settings = sample_settings(tmp_path_factory.mktemp("contract") / "tunemeld.db")
    for day in (DAY1, DAY2):
        assert etl.run(settings, as_of=day).ok
    store = SQLiteStore.from_url(settings.database.url)
    try:
        with api_for(settings, store) as call:
            yield call
    finally:
        store.close()


def _data(call: ApiCaller, path: str) -> Any:
    status, body = call(path)
    assert status == 200, (path, body[:300])
    return data_of(body)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@pytest.mark.parametrize("genre", [g.value for g in GENRES])
class TestPlaylistData:
    """`data.forEach(playlist => playlist.tracks.forEach(...))`, then each row's fields."""

    def test_data_is_a_list_of_playlist_documents(self, call: ApiCaller, genre: str) -> None:
        data = _data(call, f"/playlist-data/{genre}")
        assert isinstance(data, list)
        [document] = data
        assert document["genre_name"] == genre
        assert document["service_name"] == "Aggregate"
        ranks = [track["rank"] for track in document["tracks"]]
        assert ranks == list(range(1, len(ranks) + 1))
        assert len(ranks) >= 15

    def test_every_row_carries_what_the_aggregate_table_reads(
        self, call: ApiCaller, genre: str
    ) -> None:
        [document] = _data(call, f"/playlist-data/{genre}")
        services = {s.value for s in Service}
        for track in document["tracks"]:
            for key in ("isrc", "track_name", "artist_name", "album_cover_url"):
                assert isinstance(track[key], str), (key, track)
            assert track["youtube_url"] is None or track["youtube_url"].startswith("https://")
            assert track["source_name"] in services
            assert isinstance(track["track_url"], str)
            assert track["track_url"].startswith("https://")
            sources = track["additional_sources"]
            assert len(sources) >= 2  # the aggregate: at least two services list it
            assert set(sources) <= services
            assert sources[track["source_name"]] == track["track_url"]
            assert all(isinstance(url, str) for url in sources.values())

    def test_view_count_data_json_has_both_keys_and_numbers(
        self, call: ApiCaller, genre: str
    ) -> None:
        """`view_count_data_json.Youtube.current_count_json.current_view_count.toLocaleString()`."""
        [document] = _data(call, f"/playlist-data/{genre}")
        grew = 0
        for track in document["tracks"]:
            legacy = track["view_count_data_json"]
            assert set(legacy) == {"Spotify", "Youtube"}
            for source in ("Spotify", "Youtube"):
                initial = legacy[source]["initial_count_json"]["initial_view_count"]
                current = legacy[source]["current_count_json"]["current_view_count"]
                assert _is_count(initial), (source, track["isrc"])
                assert _is_count(current), (source, track["isrc"])
                assert current >= initial
                grew += current > initial
            ours = track["counts"]
            assert set(ours) == {"Spotify", "YouTube"}
            spotify = ours["Spotify"]
            assert (
                spotify["total"] is None
                or spotify["total"]
                == (legacy["Spotify"]["current_count_json"]["current_view_count"])
            )
        assert grew > 0  # two days of samples: "weekly" is not 0 everywhere


@pytest.mark.parametrize("genre", [g.value for g in GENRES])
@pytest.mark.parametrize("service", [s.value for s in Service])
def test_service_playlist_is_a_list_of_one_document_with_row_fields(
    call: ApiCaller, genre: str, service: str
) -> None:
    """The small tables: rank, album_cover_url, track_url, track_name, artist_name, youtube_url."""
    [document] = _data(call, f"/service-playlist/{genre}/{service}")
    assert document["genre_name"] == genre
    assert document["service_name"] == service
    assert isinstance(document["playlist_url"], str)
    assert document["tracks"]
    for track in document["tracks"]:
        assert isinstance(track["rank"], int)
        assert track["source_name"] == service
        assert track["genre_name"] == genre
        for key in ("isrc", "track_name", "artist_name", "track_url"):
            assert isinstance(track[key], str), (key, track)
        assert "album_cover_url" in track
        assert "youtube_url" in track


@pytest.mark.parametrize("genre", [g.value for g in GENRES])
def test_graph_data_lists_tracks_with_both_series(call: ApiCaller, genre: str) -> None:
    """`data.find(t => t.isrc === isrc)`, then `view_counts.Spotify` and `view_counts.Youtube`."""
    graph = _data(call, f"/graph-data/{genre}")
    [document] = _data(call, f"/playlist-data/{genre}")
    assert [t["isrc"] for t in graph] == [t["isrc"] for t in document["tracks"]]
    for track in graph:
        for key in ("track_name", "artist_name", "album_cover_url", "youtube_url"):
            assert key in track
        for source in ("Spotify", "Youtube"):
            series = track["view_counts"][source]
            assert isinstance(series, list)
            assert all(len(point) == 2 and isinstance(point[0], int) for point in series)
        assert track["view_counts"]["Youtube"] == track["view_counts"]["YouTube"]
    assert any(len(t["view_counts"]["Youtube"]) == 2 for t in graph)


@pytest.mark.parametrize("genre", [g.value for g in GENRES])
def test_header_art_has_genre_name_and_every_service(call: ApiCaller, genre: str) -> None:
    """`data.genre_name`, `data[service].playlist_cover_url.endsWith(".m3u8")`, name, URL, text."""
    header = _data(call, f"/header-art/{genre}")
    assert header["genre_name"] == genre
    for service in Service:
        entry = header[service.value]
        for key in (
            "playlist_name",
            "playlist_url",
            "playlist_cover_url",
            "playlist_cover_description_text",
        ):
            assert isinstance(entry[key], str), (service, key)
            assert entry[key], (service, key)
        assert entry["service_name"] == service.value
        assert entry["playlist_cover_image_url"].startswith("https://")
    apple = header[Service.APPLE_MUSIC.value]
    assert apple["playlist_cover_url"].endswith(".m3u8")
    assert apple["playlist_stream_url"] == apple["playlist_cover_url"]
    assert apple["playlist_cover_image_url"].endswith(".jpg")
    for service in (Service.SPOTIFY, Service.SOUNDCLOUD):
        entry = header[service.value]
        assert entry["playlist_cover_url"] == entry["playlist_cover_image_url"]
        assert entry["playlist_stream_url"] is None


@pytest.mark.parametrize("genre", [g.value for g in GENRES])
def test_last_updated_is_an_iso_time(call: ApiCaller, genre: str) -> None:
    """`new Date(data.last_updated)`."""
    data = _data(call, f"/last-updated/{genre}")
    assert data["last_updated"].startswith(DAY2.isoformat())


class TestWorkerRoutes:
    """The old Cloudflare worker's `/api/...` routes: the same data, no envelope."""

    @pytest.mark.parametrize(
        ("worker", "django"),
        [
            ("/api/main-playlist?genre=pop", "/playlist-data/pop"),
            ("/api/graph-data?genre=rap", "/graph-data/rap"),
            ("/api/header-art?genre=dance", "/header-art/dance"),
            ("/api/service-playlist?genre=country&service=AppleMusic", None),
        ],
    )
    def test_answers_exactly_the_data_of_the_django_route(
        self, call: ApiCaller, worker: str, django: str | None
    ) -> None:
        django = django or "/service-playlist/country/AppleMusic"
        status, body = call(worker)
        assert status == 200
        assert json.loads(body) == _data(call, django)

    def test_last_updated_is_camel_case(self, call: ApiCaller) -> None:
        status, body = call("/api/last-updated?genre=pop")
        assert status == 200
        assert json.loads(body) == {"lastUpdated": _data(call, "/last-updated/pop")["last_updated"]}

    @pytest.mark.parametrize(
        ("path", "expected", "words"),
        [
            ("/api/main-playlist", 400, "'genre' is missing"),
            ("/api/main-playlist?genre=", 400, "'genre' is missing"),
            ("/api/service-playlist?genre=pop", 400, "'service' is missing"),
            ("/api/last-updated?genre=jazz", 404, "Unknown genre 'jazz'"),
            ("/api/service-playlist?genre=pop&service=Tidal", 404, "Unknown service 'Tidal'"),
            ("/api/graph-data?genre=" + "x" * 65, 400, "at most 64"),
        ],
    )
    def test_bad_parameters_get_a_json_error_envelope(
        self, call: ApiCaller, path: str, expected: int, words: str
    ) -> None:
        status, body = call(path)
        assert status == expected
        error = json.loads(body)
        assert error["status"] == "error"
        assert words in error["message"]
        assert error["data"] is None
