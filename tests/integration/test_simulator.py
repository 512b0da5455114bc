"""The full pipeline over real HTTP against the fault-injecting simulator (`inv sandbox.serve`).

TuneMeld runs in `mode=live` with made-up keys and `providers.base_url` pointing at a simulator
on 127.0.0.1: the production client code path, over the network. Seeds are fixed, latency is 0,
backoff waits are 0, so the fault runs stay repeatable.

Timeouts are robust on a loaded machine: the read timeout is generous (a loopback answer never
takes `READ_TIMEOUT` even on a busy 2-core box, so no timeout fires spuriously) and an injected
hang lasts far longer (`HANG`), so every injected timeout does fire. Hung handler threads are
released before each test, so they never pile up.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import wsgiref.util
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.catalog import GENRES
from tunemeld import etl
from tunemeld.api import create_app
from tunemeld.config import Settings
from tunemeld.etl._context import RunContext
from tunemeld.etl.transform import YOUTUBE_VIDEO
from tunemeld.models import AGGREGATE, Genre, RunReport, RunStatus, Service, Stage, UnitStatus
from tunemeld.services.cache import MemoryCache
from tunemeld.services.sandbox import SampleWorld
from tunemeld.services.sandbox.server import FaultPlan, Simulator, SimulatorServer, start_simulator
from tunemeld.services.store import SQLiteStore

pytestmark = pytest.mark.slow

DAY1 = date(2026, 10, 5)  # not today: runs for another day are stamped at that day's noon
DAY2 = date(2026, 10, 6)
DAY3 = date(2026, 10, 7)
SEED = 2026
READ_TIMEOUT = 2.0
"""Seconds; an ordinary answer takes milliseconds, so only an injected hang reaches it."""
HANG = 30 * READ_TIMEOUT
"""Seconds an injected `timeout` fault holds its answer: always past the read timeout."""


@pytest.fixture(scope="module", name="running_simulator")
def _running_simulator() -> Iterator[SimulatorServer]:
    """One simulator on a free port for the module (servers are the slow part to start)."""
    sim = Simulator(SampleWorld(seed=SEED), seed=SEED, as_of=DAY1, hang=HANG, retry_after=0.01)
    sim.quiet = True
    with start_simulator(sim, threads=32) as server:
        yield server


@pytest.fixture(name="simulator")
def _simulator(running_simulator: SimulatorServer) -> SimulatorServer:
    """The module's simulator as a fresh one: no faults, no counts, DAY1."""
    sim = running_simulator.simulator
    sim.stopping.set()  # wake handlers still holding a hung answer from an earlier test
    sim.stopping.clear()
    sim.faults = FaultPlan()
    sim.as_of = DAY1
    sim.reset()
    return running_simulator


def http_settings(db: Path, url: str, **providers: Any) -> Settings:
    """Live mode with made-up keys, every host sent to the simulator, no waiting between tries."""
    values: dict[str, Any] = {
        "mode": "live",
        "base_url": url,
        "rapidapi_key": "made-up-rapidapi-key",
        "spotify_client_id": "made-up-id",
        "spotify_client_secret": "made-up-secret",
        "youtube_api_key": "made-up-youtube-key",
        "sample_seed": SEED,
        "backoff_initial": 0.0,
        "backoff_max": 0.0,
        "read_timeout": READ_TIMEOUT,
        "connect_timeout": 2.0,
    }
    values.update(providers)
    return Settings(
        _env_file=None,
        env="testing",
        database={"url": f"sqlite:///{db}"},
        providers=values,
    )


def run_day(settings: Settings, server: SimulatorServer, day: date, **kwargs: Any) -> RunReport:
    server.simulator.as_of = day
    return etl.run(settings, as_of=day, **kwargs)


def served(server: SimulatorServer, outcome: str) -> int:
    """How many requests the simulator answered with `outcome` (a status or a fault)."""
    return sum(o.get(outcome, 0) for o in server.simulator.counts().values())


class TestFaultsOneByOne:
    """Each fault type alone, on one genre: the run ends and says what failed and why."""

    @pytest.mark.parametrize(
        ("fault", "rate"),
        [("429", 0.3), ("500", 0.3), ("503", 0.2), ("malformed", 0.2), ("truncated", 0.2)],
    )
    def test_transient_fault_when_injected_is_retried_and_the_run_ends_ok(
        self, simulator: SimulatorServer, tmp_path: Path, fault: str, rate: float
    ) -> None:
        simulator.simulator.faults = FaultPlan.parse(f"{fault}={rate}")
        settings = http_settings(tmp_path / "t.db", simulator.url, max_attempts=8)
        report = run_day(settings, simulator, DAY1, genres=["pop"])
        assert served(simulator, fault) > 10
        assert sum(report.retries.values()) >= served(simulator, fault) * 0.9
        assert report.status is RunStatus.OK, [(u.label, u.error) for u in report.failed_units]
        assert all(u.status is UnitStatus.OK for u in report.units)

    def test_timeout_when_injected_is_retried_within_the_read_timeout(
        self, simulator: SimulatorServer, tmp_path: Path
    ) -> None:
        simulator.simulator.faults = FaultPlan.parse("timeout=0.05")
        settings = http_settings(tmp_path / "t.db", simulator.url, max_attempts=6)
        report = run_day(
            settings, simulator, DAY1, genres=["rap"], services=["Spotify", "SoundCloud"]
        )
        timeouts = sum(
            n
            for endpoints in report.statuses.values()
            for outcomes in endpoints.values()
            for k, n in outcomes.items()
            if "timeout" in k
        )
        assert served(simulator, "timeout") >= 3
        assert timeouts == served(simulator, "timeout")
        assert report.status is RunStatus.OK, [(u.label, u.error) for u in report.failed_units]

    def test_drift_when_injected_fails_only_lookups_or_units_with_the_payload_problem(
        self, simulator: SimulatorServer, tmp_path: Path
    ) -> None:
        """A drifted answer is permanent: not retried; its lookup or its unit fails, named."""
        simulator.simulator.faults = FaultPlan.parse("drift=0.5")
        settings = http_settings(tmp_path / "t.db", simulator.url)
        report = run_day(settings, simulator, DAY1, genres=["country"])
        assert served(simulator, "drift") > 10
        assert sum(report.retries.values()) == 0
        for unit in report.failed_units:
            assert "payload" in (unit.error or ""), unit.error
            assert unit.hint
        assert any("lookup(s) failed" in note for note in report.notes), report.notes
        assert not any("unexpected" in (u.error or "") for u in report.units)


class TestAllFaultsTogether:
    """The issue's check: 429=0.2,500=0.1,timeout=0.05,malformed=0.05 after a clean day."""

    def test_faulty_day_when_run_finishes_with_most_units_done_and_last_good_data_served(
        self, simulator: SimulatorServer, tmp_path: Path
    ) -> None:
        db = tmp_path / "t.db"
        settings = http_settings(db, simulator.url)
        genres = ["pop", "dance"]
        clean = run_day(settings, simulator, DAY1, genres=genres)
        assert clean.ok
        store = SQLiteStore.from_url(f"sqlite:///{db}")
        try:
            before = {(g, s.value): store.get_playlist(g, s.value) for g in GENRES for s in Service}
        finally:
            store.close()

        simulator.simulator.faults = FaultPlan.parse("429=0.2,500=0.1,timeout=0.05,malformed=0.05")
        faulty = run_day(settings, simulator, DAY2, genres=genres)
        assert served(simulator, "429") > 20
        assert served(simulator, "timeout") > 3
        done = [u for u in faulty.units if u.status is UnitStatus.OK]
        assert len(done) >= 0.8 * len(faulty.units)
        # Bounded: each call is tried at most max_attempts times.
        logical = sum(sum(e.values()) for e in clean.calls.values())
        attempts = sum(sum(e.values()) for e in faulty.calls.values())
        assert attempts <= settings.providers.max_attempts * logical
        for unit in faulty.failed_units:
            assert unit.error
            assert unit.hint
        assert faulty.ok == (not faulty.failed_units)

        store = SQLiteStore.from_url(f"sqlite:///{db}")
        cache = MemoryCache()
        try:
            app = create_app(settings, store, cache)
            for unit in faulty.units:
                if unit.status is UnitStatus.OK or unit.service is None:
                    continue
                if unit.stage not in (Stage.EXTRACT, Stage.TRANSFORM):
                    continue
                # The failed unit kept yesterday's playlist, and the API still serves it.
                kept = store.get_playlist(unit.genre, unit.service.value)
                assert kept == before[(unit.genre, unit.service.value)]
                status, body = _wsgi_get(
                    app, f"/service-playlist/{unit.genre.value}/{unit.service.value}"
                )
                assert status.startswith("200")
                assert json.loads(body)["status"] == "success"
        finally:
            cache.close()
            store.close()


def _wsgi_get(app: Any, path: str) -> tuple[str, bytes]:
    """GET `path` from a WSGI app in-process: (status line, body)."""
    environ: dict[str, Any] = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ["PATH_INFO"] = path
    answer: list[str] = []

    def start_response(status: str, headers: object, exc_info: object = None) -> None:
        answer.append(status)

    body = b"".join(app(environ, start_response))
    return answer[0], body


def _table(db: Path, name: str) -> list[tuple[object, ...]]:
    """Every row of a table, with run ids (random per run) removed from columns and JSON docs."""

    def clean(value: object) -> object:
        if isinstance(value, str) and value[:1] in "{[":
            try:
                doc = json.loads(value)
            except ValueError:
                return value
            return json.dumps(strip(doc), sort_keys=True)
        return value

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "run_id"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    with sqlite3.connect(db) as conn:
        cursor = conn.execute(f"SELECT * FROM {name}")  # noqa: S608 - fixed table names
        columns = [c[0] for c in cursor.description]
        skip = {"run_id", "updated_at"} if name == "quota_usage" else {"run_id"}
        rows = [
            tuple(clean(v) for c, v in zip(columns, row, strict=True) if c not in skip)
            for row in cursor
        ]
    conn.close()
    return sorted(rows, key=repr)


class TestAdapterAndHttpAgree:
    """The in-process adapter and the HTTP simulator are the same world."""

    def test_full_pipeline_when_run_both_ways_leaves_identical_stores(
        self, simulator: SimulatorServer, tmp_path: Path
    ) -> None:
        """Same seed and dates, so every collection matches row for row.

        Excluded: `runs` (each run has its own random id and wall-clock times), `run_id`
        columns and fields, and the wall-clock write time of `quota_usage` rows. Everything
        else is stamped with the simulated day's noon, so it must be equal.
        """
        adapter_db = tmp_path / "adapter.db"
        http_db = tmp_path / "http.db"
        quota = {"buckets": {"youtube_search": {"limit": 150}}}
        in_process = Settings(
            _env_file=None,
            env="testing",
            database={"url": f"sqlite:///{adapter_db}"},
            providers={"mode": "sample", "sample_seed": SEED, **quota},
        )
        over_http = http_settings(http_db, simulator.url, **quota)
        for day in (DAY1, DAY2):
            assert etl.run(in_process, as_of=day).ok
            assert run_day(over_http, simulator, day).ok
        tables = [
            "raw_playlists",
            "tracks",
            "playlists",
            "view_counts",
            "lookups",
            "views",
            "quota_usage",
        ]
        for name in tables:
            adapter_rows = _table(adapter_db, name)
            assert adapter_rows, name
            assert adapter_rows == _table(http_db, name), name


class TestQuotaBudget:
    """Quotas as settings, spending kept in the store, deferral with aggregate tracks first."""

    def test_search_bucket_of_20_when_spent_resolves_aggregate_tracks_first_then_continues(
        self, simulator: SimulatorServer, tmp_path: Path
    ) -> None:
        db = tmp_path / "t.db"
        settings = http_settings(db, simulator.url, buckets={"youtube_search": {"limit": 20}})
        first = run_day(settings, simulator, DAY1)
        assert first.ok
        assert first.status is RunStatus.OK
        assert first.calls["YouTube"]["search"] == 20
        assert first.buckets["youtube_search"].spent
        assert first.deferred["youtube_search"] > 300
        assert any("youtube_search" in note and "deferred" in note for note in first.notes)

        store = SQLiteStore.from_url(f"sqlite:///{db}")
        try:
            aggregate = [
                isrc
                for genre in GENRES
                if (p := store.get_playlist(genre, AGGREGATE)) is not None
                for isrc in p.isrcs
            ]
            everything = store.get_tracks(
                t.isrc
                for g in GENRES
                for s in Service
                if (p := store.get_playlist(g, s.value))
                for t in p.tracks
            )
            with_video = {i for i, t in everything.items() if t.youtube_id}
            assert 0 < len(with_video) <= 20
            assert with_video <= set(aggregate)
            # Each genre's aggregate got an equal share (20 / 4 genres), spent in rank order:
            # the searched tracks (found or remembered as misses) are each genre's top five.
            for genre in GENRES:
                playlist = store.get_playlist(genre, AGGREGATE)
                assert playlist is not None
                searched = [i for i in playlist.isrcs if store.get_lookup(YOUTUBE_VIDEO, i)]
                assert searched == playlist.isrcs[:5], genre
            # Deferred lookups are not cached as misses.
            missing = next(i for i in aggregate if i not in with_video)
            assert store.get_lookup(YOUTUBE_VIDEO, missing) is None
            # The API view serves them without a YouTube link meanwhile.
            view = store.get_view(Genre(first.genres[0].value), "playlist-data")
            assert view is not None
            [document] = view.data
            links = {row["isrc"]: row["youtube_url"] for row in document["tracks"]}
            assert links[missing] is None
            assert store.quota_usage(DAY1)["youtube_search"] == 20
        finally:
            store.close()

        again = run_day(settings, simulator, DAY1)
        assert again.calls["YouTube"].get("search", 0) == 0  # the day's budget holds
        second = run_day(settings, simulator, DAY2)
        assert second.calls["YouTube"]["search"] == 20
        third = run_day(settings, simulator, DAY3)
        assert third.calls["YouTube"]["search"] == 20
        assert third.deferred["youtube_search"] < first.deferred["youtube_search"]

    def test_spotify_search_bucket_when_spent_skips_the_playlist_and_keeps_exit_ok(
        self, simulator: SimulatorServer, tmp_path: Path
    ) -> None:
        """Apple Music needs a search per track: with 10 allowed, its playlist is deferred."""
        settings = http_settings(
            tmp_path / "t.db", simulator.url, buckets={"spotify_web": {"limit": 10}}
        )
        report = run_day(settings, simulator, DAY1, genres=["pop"], stages=["extract", "transform"])
        assert report.ok
        assert report.calls["Spotify"]["search"] == 10
        skipped = [u for u in report.units if u.status is UnitStatus.SKIPPED]
        assert [(u.stage, u.service) for u in skipped] == [(Stage.TRANSFORM, Service.APPLE_MUSIC)]
        assert "deferred" in (skipped[0].error or "")
        assert skipped[0].hint
        assert report.deferred["spotify_web"] > 80
        assert report.buckets["spotify_web"].spent

    def test_next_day_run_when_lookups_are_stored_needs_at_most_110_percent_of_minimum(
        self, simulator: SimulatorServer, tmp_path: Path
    ) -> None:
        db = tmp_path / "t.db"
        settings = http_settings(db, simulator.url, buckets={"youtube_search": {"limit": 10_000}})
        assert run_day(settings, simulator, DAY1).ok
        store = SQLiteStore.from_url(f"sqlite:///{db}")
        try:
            seen = set(store.get_tracks(_all_isrcs(store)))
        finally:
            store.close()
        second = run_day(settings, simulator, DAY2)
        assert second.ok
        store = SQLiteStore.from_url(f"sqlite:///{db}")
        try:
            today = _all_isrcs(store)
            tracks = store.get_tracks(today)
        finally:
            store.close()
        new = [i for i in today if i not in seen]
        videos = {t.youtube_id for t in tracks.values() if t.youtube_id}
        spotify_tracks = [t for t in tracks.values() if t.spotify_id]
        playlist_calls = sum(
            n
            for provider in ("Spotify", "AppleMusic", "SoundCloud")
            for endpoint, n in second.calls.get(provider, {}).items()
            if endpoint in ("playlist_tracks", "playlist", "playlist_page")
        )
        minimum = (
            playlist_calls
            + len(spotify_tracks)  # play counts
            + math.ceil(len(videos) / 50)  # videos.list
            + 2 * len(new)  # a Spotify and a YouTube lookup for each track never seen before
        )
        actual = sum(sum(e.values()) for e in second.calls.values())
        assert actual <= 1.1 * minimum, (actual, minimum, second.calls)
        assert second.calls["YouTube"].get("search", 0) <= len(new)
        assert second.calls["YouTube"]["videos"] <= math.ceil(len(videos) / 50)


def _all_isrcs(store: SQLiteStore) -> list[str]:
    isrcs: dict[str, None] = {}
    for genre in GENRES:
        for name in (AGGREGATE, *(s.value for s in Service)):
            playlist = store.get_playlist(genre, name)
            if playlist is not None:
                isrcs.update(dict.fromkeys(playlist.isrcs))
    return list(isrcs)


class TestSearchOnce:
    """Never the same search twice in a run, even from several threads at once."""

    def test_search_once_when_threads_ask_for_one_key_searches_once(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        from tunemeld.config import load_catalog
        from tunemeld.services.providers import open_providers

        calls: list[str] = []
        gate = threading.Barrier(8)

        def search() -> str | None:
            calls.append("search")
            return "video-id"

        with open_providers(settings, as_of=DAY1) as providers:
            ctx = RunContext(
                settings=settings,
                store=store,
                providers=providers,
                catalog=load_catalog(),
                cache=MemoryCache(),
                run_id="r",
                as_of=DAY1,
                now=__import__("datetime").datetime(
                    2026, 11, 24, 12, tzinfo=__import__("datetime").timezone.utc
                ),
            )
            answers: list[str | None] = []

            def worker() -> None:
                gate.wait()
                answers.append(ctx.search_once(YOUTUBE_VIDEO, "USAAA2400001", search))

            threads = [threading.Thread(target=worker) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert calls == ["search"]
        assert answers == ["video-id"] * 8
        stored = store.get_lookup(YOUTUBE_VIDEO, "USAAA2400001")
        assert stored is not None
        assert stored.value == "video-id"
