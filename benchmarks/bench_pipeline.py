"""Benchmark: the full pipeline over HTTP against `tunemeld sandbox.serve`, with latency.

Runs a first day on an empty store and then the next day, and prints for each: calls and quota
units per provider, the minimum calls the run needs, their ratio, wall time and peak memory.

The minimum is: playlist pages (RapidAPI) + playlist header pages + 1 Spotify token + one play
count per track with a Spotify id + ceil(videos / 50) videos.list + one call per lookup key the
run had to learn (a lookup not in the store, or expired, before the run). Retries are not
minimum calls. Not a test: timings depend on the machine.

    python benchmarks/bench_pipeline.py [--latency 50ms±20ms] [--seed 2026] [--search-limit N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timezone
from datetime import time as dtime
from pathlib import Path

from tunemeld import etl
from tunemeld.config import Settings, load_catalog
from tunemeld.models import AGGREGATE, RunReport, Service
from tunemeld.services.store import SQLiteStore

DAY1 = date(2026, 10, 5)
DAY2 = date(2026, 10, 6)
PAGE_SIZES = {Service.SPOTIFY: 100, Service.APPLE_MUSIC: 10_000, Service.SOUNDCLOUD: 50}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).parent / "tunemeld"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tunemeld"]


def _post(url: str) -> None:
    request = urllib.request.Request(url, method="POST")  # noqa: S310 - our own local server
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


def _lookups(db: Path) -> dict[tuple[str, str], str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, key, updated_at FROM lookups").fetchall()
    conn.close()
    return {(kind, key): updated for kind, key, updated in rows}


def minimum_calls(db: Path, day: date, learned: int) -> dict[str, int]:
    """The calls a perfect client needs for the run of `day`, by kind."""
    store = SQLiteStore.from_url(f"sqlite:///{db}")
    try:
        pages = 0
        isrcs: dict[str, None] = {}
        for genre in load_catalog().genres:
            for service in Service:
                raw = store.latest_raw_playlist(service, genre)
                if raw is not None:
                    pages += math.ceil(len(raw.tracks) / PAGE_SIZES[service]) + 1  # + header
            for name in (AGGREGATE, *(s.value for s in Service)):
                playlist = store.get_playlist(genre, name)
                if playlist is not None:
                    isrcs.update(dict.fromkeys(playlist.isrcs))
        tracks = store.get_tracks(isrcs)
    finally:
        store.close()
    videos = {t.youtube_id for t in tracks.values() if t.youtube_id}
    return {
        "playlists": pages,
        "token": 1,
        "play_counts": sum(1 for t in tracks.values() if t.spotify_id),
        "videos_list": math.ceil(len(videos) / 50),
        "lookups": learned,
    }


def run_day(settings: Settings, db: Path, url: str, day: date) -> tuple[RunReport, float, int]:
    """One full run as of `day`: (report, wall seconds, lookup keys learned)."""
    _post(f"{url}/__date?date={day.isoformat()}")
    before = _lookups(db) if db.exists() else {}
    started = time.perf_counter()
    report = etl.run(settings, as_of=day)
    wall = time.perf_counter() - started
    stamp = datetime.combine(day, dtime(12, 0), tzinfo=timezone.utc).isoformat()
    after = _lookups(db)
    learned = sum(1 for k, v in after.items() if k not in before or (v != before[k] and v == stamp))
    return report, wall, learned


def describe(title: str, report: RunReport, wall: float, minimum: dict[str, int]) -> None:
    calls = sum(sum(e.values()) for e in report.calls.values())
    needed = sum(minimum.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n== {title}: {report.status.value}, as of {report.as_of}")
    print(f"{'provider':<11} {'calls':>6} {'units':>6}  by endpoint (calls/units)")
    for provider, endpoints in sorted(report.calls.items()):
        units = report.endpoint_units.get(provider, {})
        detail = ", ".join(f"{e} {n}/{units.get(e, 0)}" for e, n in sorted(endpoints.items()))
        print(
            f"{provider:<11} {sum(endpoints.values()):>6} "
            f"{report.quota_units.get(provider, 0):>6}  {detail}"
        )
    print(f"calls {calls}, minimum {needed} ({json.dumps(minimum)})")
    print(f"ratio {calls / needed:.3f}; retries {sum(report.retries.values())}")
    print(f"deferred {report.deferred or 'none'}")
    print(f"wall time {wall:.1f} s; peak RSS so far {peak_mb:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", default="50ms±20ms")
    parser.add_argument("--faults", default="")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--search-limit",
        type=int,
        default=10_000,
        help="YouTube search bucket per day (default 10000, so the first run can look up "
        "every track; the real default is 100)",
    )
    args = parser.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEMELD_")}
    server = subprocess.Popen(
        [
            *_command(),
            "sandbox.serve",
            "--port",
            str(port),
            "--quiet",
            "--latency",
            args.latency,
            "--seed",
            str(args.seed),
            "--faults",
            args.faults,
            "--retry-after",
            "100ms",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/__stats", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.05)
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "bench.db"
            settings = Settings(
                _env_file=None,
                database={"url": f"sqlite:///{db}"},
                logging={"level": "WARNING"},
                providers={
                    "mode": "live",
                    "base_url": url,
                    "rapidapi_key": "bench",
                    "spotify_client_id": "bench",
                    "spotify_client_secret": "bench",
                    "youtube_api_key": "bench",
                    "sample_seed": args.seed,
                    "backoff_initial": 0.1,
                    "backoff_max": 0.5,
                    "read_timeout": 2.0,
                    "buckets": {"youtube_search": {"limit": args.search_limit}},
                },
            )
            print(
                f"simulator {url}: latency {args.latency}, faults {args.faults or 'none'}, "
                f"seed {args.seed}, YouTube search bucket {args.search_limit}/day"
            )
            for title, day in (("first run", DAY1), ("next-day run", DAY2)):
                report, wall, learned = run_day(settings, db, url, day)
                describe(title, report, wall, minimum_calls(db, day, learned))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
