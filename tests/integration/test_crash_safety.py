"""Crash safety: a full run killed with SIGKILL at random points leaves a store the API serves
whole, and a re-run completes it (DESIGN.md §3: each unit commits atomically).

Each store first holds a complete run of day D-1. Then `python -m tunemeld etl.run --stage
full --date D` runs in a subprocess and is killed once it has logged a (seeded) random number
of units of the chosen stage, after a random few milliseconds more, so the kill lands between
units or inside one. After every kill the API must answer every data route from complete,
consistent documents; after a last, uninterrupted run every genre must serve day D.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.catalog import GENRES
from tests.integration.api_calls import DATA_ROUTES, api_for, data_of
from tests.mongo_server import MongoServer
from tunemeld import etl
from tunemeld.config import Settings
from tunemeld.models import AGGREGATE, Genre, RunStatus, Service
from tunemeld.services.store import Store, open_store

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 2)
PREVIOUS = DAY - timedelta(days=1)
LATER = datetime(2026, 3, 9, 6, tzinfo=timezone.utc)
SEED = 20260302
TRIALS = (("extract", 12), ("transform", 12), ("view_count", 4))
"""(stage, units it logs): each trial kills the run inside one of these stages."""


Target = tuple[str, Callable[[], None]]
"""A store URL, and how to wait until a killed writer no longer holds anything in it."""


@pytest.fixture(name="target", params=["sqlite", "mongo"])
def _target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}", lambda: None  # SQLite rolls back at once
        return
    server: MongoServer = request.getfixturevalue("mongo_server")
    database = server.fresh_database()
    yield server.database_url(database), server.wait_for_abandoned_transactions
    server.drop_database(database)


def _settings(url: str) -> Settings:
    return Settings(
        _env_file=None,
        env="testing",
        database={"url": url},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
    )


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEMELD_")}
    env.update(
        {
            "TUNEMELD_DATABASE__URL": url,
            "TUNEMELD_PROVIDERS__MODE": "sample",
            "TUNEMELD_PROVIDERS__BACKOFF_INITIAL": "0",
            "TUNEMELD_PROVIDERS__BACKOFF_MAX": "0",
            "TUNEMELD_LOGGING__FORMAT": "json",
            "NO_COLOR": "1",
        }
    )
    return env


def _command() -> list[str]:
    return [sys.executable, "-m", "tunemeld", "etl.run", "--stage", "full", "--date", str(DAY)]


def _run_and_kill(url: str, cwd: Path, stage: str, after_units: int, delay: float) -> None:
    """Start a full run of DAY and SIGKILL it `delay` s after its `after_units`-th `stage` unit."""
    process = subprocess.Popen(
        _command(),
        cwd=cwd,
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = 0
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            try:
                event: Any = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict) and event.get("stage") == stage:
                seen += 1
                if seen == after_units:
                    time.sleep(delay)
                    process.send_signal(signal.SIGKILL)
                    break
    finally:
        if process.poll() is None and seen < after_units:
            process.kill()
        process.wait(timeout=60)
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL, (
        f"the run was not killed inside {stage} (exit {process.returncode}):\n" + "".join(lines)
    )


def _check_consistent(settings: Settings, store: Store) -> dict[Genre, str]:
    """Every route answers from whole documents; returns each genre's last-updated time."""
    last_updated: dict[Genre, str] = {}
    with api_for(settings, store) as call:
        for path in DATA_ROUTES:
            status, body = call(path)
            expected = 404 if path.endswith(("/jazz", "/Tidal")) else 200
            assert status == expected, (path, body[:300])
        for genre in GENRES:
            [playlist] = data_of(call(f"/playlist-data/{genre.value}")[1])
            graph = data_of(call(f"/graph-data/{genre.value}")[1])
            rows = playlist["tracks"]
            assert len(rows) >= 15, genre
            assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1)), genre
            assert [row["isrc"] for row in rows] == [row["isrc"] for row in graph], genre
            for row in graph:
                for series in row["view_counts"].values():
                    stamps = [point[0] for point in series]
                    assert stamps == sorted(set(stamps)), (genre, row["isrc"])
            last_updated[genre] = str(data_of(call(f"/last-updated/{genre.value}")[1]))
    for genre in GENRES:  # the store itself: every listed track is stored
        for name in (AGGREGATE, *(s.value for s in Service)):
            stored = store.get_playlist(genre, name)
            assert stored is not None, (genre, name)
            assert set(store.get_tracks(stored.isrcs)) == set(stored.isrcs), (genre, name)
    return last_updated


def test_full_run_when_killed_at_random_points_leaves_a_servable_store_and_reruns_to_complete(
    target: Target, tmp_path: Path
) -> None:
    """Kill -9 during extract, transform and view_count; the API stays whole; a re-run completes.

    On MongoDB a killed writer's open transaction keeps its documents locked until the server
    expires it, so the next run waits for that (`settle`), as an operator would.
    """
    store_url, settle = target
    settings = _settings(store_url)
    report = etl.run(settings, as_of=PREVIOUS, clock=lambda: LATER)
    assert report.status is RunStatus.OK
    store = open_store(settings)
    try:
        before = _check_consistent(settings, store)
        rng = random.Random(SEED)
        for stage, units in TRIALS:
            _run_and_kill(
                store_url,
                tmp_path,
                stage,
                after_units=rng.randint(1, units - 1),
                delay=rng.uniform(0, 0.005),
            )
            during = _check_consistent(settings, store)
            assert set(during) == set(before)
            settle()

        finished = subprocess.run(
            _command(),
            cwd=tmp_path,
            env=_env(store_url),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert finished.returncode == 0, finished.stderr[-3000:]

        after = _check_consistent(settings, store)
        assert after != before
        assert len(set(after.values())) == 1, "every genre serves the same, newest run"
        newest = store.list_runs(limit=1)[0]
        assert newest.as_of == DAY
        assert newest.status is RunStatus.OK
        for service in Service:
            for genre in GENRES:
                raw = store.latest_raw_playlist(service, genre)
                assert raw is not None
                assert raw.fetched_at.date() == DAY
    finally:
        store.close()
