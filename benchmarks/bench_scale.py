"""Benchmark: how a full pipeline run grows with the catalog (4, 20 and 40 genres by default).

For each size it writes a catalog (the built-in four genres plus made-up ones, which the sample
world invents recordings for) and runs one full first-day run in a child process, twice: with the
sample world mounted in-process, and over HTTP against `tunemeld sandbox.serve` (with latency).
It prints, per run, the wall time, the child's peak RSS (`ru_maxrss` from `wait4`), the calls,
the playlist tracks stored and the SQLite file's size, then each figure's ratio to the smallest
catalog's. Not a test: timings depend on the machine.

    python benchmarks/bench_scale.py [--sizes 4,20,40] [--modes inproc,http] [--latency 2ms]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

DAY = date(2026, 10, 5)
SECTIONS = ("spotify", "apple_music", "soundcloud")


def write_catalog(path: Path, size: int) -> Path:
    """The built-in catalog plus made-up genres `scale-05`... up to `size` genres in all."""
    text = resources.files("tunemeld.config").joinpath("catalog.toml").read_text("utf-8")
    tables = {
        section: text.split(f"[{section}]\n", 1)[1].split("\n[", 1)[0] for section in SECTIONS
    }
    built_in = len([line for line in tables["spotify"].splitlines() if "=" in line])
    out = []
    for section in SECTIONS:
        lines = [tables[section].strip()]
        for n in range(built_in + 1, size + 1):
            genre = f"scale-{n:02d}"
            digest = hashlib.sha256(f"{section}:{genre}".encode()).hexdigest()
            if section == "spotify":
                pid, url = "37i9dQZF1D" + digest[:12], "https://open.spotify.com/playlist/"
            elif section == "apple_music":
                pid, url = "pl." + digest[:32], f"https://music.apple.com/us/playlist/{genre}/"
            else:
                pid, url = f"bench/sets/{genre}", "https://soundcloud.com/"
            lines.append(f'{genre} = {{ id = "{pid}", url = "{url}{pid}" }}')
        out.append(f"[{section}]\n" + "\n".join(lines) + "\n")
    path.write_text("\n".join(out), "utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).parent / "tunemeld"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tunemeld"]


def child(folder: Path, url: str | None) -> None:
    """One full run (in this process), then one JSON line of what it did."""
    from tunemeld import etl
    from tunemeld.config import Settings, load_catalog
    from tunemeld.models import Service
    from tunemeld.services.store import SQLiteStore

    db = folder / "bench.db"
    catalog_path = folder / "catalog.toml"
    providers: dict[str, Any] = {
        "mode": "sample",
        "backoff_initial": 0.0,
        "backoff_max": 0.0,
        "buckets": {"youtube_search": {"limit": 1_000_000}},
    }
    if url is not None:
        providers.update(
            mode="live",
            base_url=url,
            rapidapi_key="bench",
            spotify_client_id="bench",
            spotify_client_secret="bench",  # noqa: S106 - the simulator takes any
            youtube_api_key="bench",
            backoff_initial=0.1,
            backoff_max=0.5,
            read_timeout=5.0,
        )
    settings = Settings(
        _env_file=None,
        database={"url": f"sqlite:///{db}"},
        logging={"level": "WARNING"},
        providers=providers,
        etl={"catalog_path": str(catalog_path)},
    )
    started = time.perf_counter()
    report = etl.run(settings, as_of=DAY)
    wall = time.perf_counter() - started
    genres = load_catalog(catalog_path).genres
    store = SQLiteStore.from_url(settings.database.url)
    try:
        tracks = 0
        for genre in genres:
            for service in Service:
                playlist = store.get_playlist(genre, service.value)
                tracks += len(playlist.tracks) if playlist is not None else 0
    finally:
        store.close()
    size = sum(p.stat().st_size for p in folder.glob("bench.db*"))
    calls = sum(sum(endpoints.values()) for endpoints in report.calls.values())
    line = {"status": report.status.value, "genres": len(genres), "wall": wall}
    line.update(calls=calls, tracks=tracks, store_bytes=size)
    print(json.dumps(line))


def _measure(folder: Path, url: str | None) -> dict[str, Any]:
    """Run `child` in a fresh interpreter; its JSON line plus its own peak RSS."""
    args = [sys.executable, __file__, "--child", str(folder)] + (["--url", url] if url else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"the run in {folder} failed (exit {proc.returncode})")
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    found["rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    return found


def _serve(catalog: Path, latency: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEMELD_")}
    env["TUNEMELD_ETL__CATALOG_PATH"] = str(catalog)
    server = subprocess.Popen(
        [*_command(), "sandbox.serve", "--port", str(port), "--quiet", "--latency", latency],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{url}/__stats", timeout=1).close()  # noqa: S310 - local
        except OSError:
            time.sleep(0.1)
            continue
        moved = urllib.request.Request(  # noqa: S310 - our own local server
            f"{url}/__date?date={DAY.isoformat()}", method="POST"
        )
        urllib.request.urlopen(moved, timeout=5).close()  # noqa: S310 - local
        return server, url
    server.terminate()
    raise SystemExit("sandbox.serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,20,40")
    parser.add_argument("--modes", default="inproc,http")
    parser.add_argument("--latency", default="2ms")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.url)
        return
    sizes = [int(n) for n in args.sizes.split(",")]
    rows: list[tuple[str, dict[str, Any]]] = []
    for mode in args.modes.split(","):
        for size in sizes:
            with tempfile.TemporaryDirectory() as name:
                folder = Path(name)
                catalog = write_catalog(folder / "catalog.toml", size)
                if mode == "http":
                    server, url = _serve(catalog, args.latency)
                    try:
                        found = _measure(folder, url)
                    finally:
                        server.terminate()
                        server.wait(timeout=30)
                else:
                    found = _measure(folder, None)
            rows.append((mode, found))
            print(f"{mode} {size} genres: {json.dumps(found)}", flush=True)
    print(
        "\n| mode | genres | status | tracks | calls | wall s | peak RSS MiB | store MiB "
        "| x tracks | x wall | x RSS | x calls | ms/track |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for mode, row in rows:
        base = next(r for m, r in rows if m == mode)
        print(
            f"| {mode} | {row['genres']} | {row['status']} | {row['tracks']:,} | {row['calls']:,} "
            f"| {row['wall']:.1f} | {row['rss_mib']:.0f} | {row['store_bytes'] / 2**20:.1f} "
            f"| {row['tracks'] / base['tracks']:.2f} | {row['wall'] / base['wall']:.2f} "
            f"| {row['rss_mib'] / base['rss_mib']:.2f} | {row['calls'] / base['calls']:.2f} "
            f"| {1000 * row['wall'] / row['tracks']:.1f} |"
        )


if __name__ == "__main__":
    main()
