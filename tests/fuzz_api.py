"""Fuzz the API against its own OpenAPI document: `nox -s schemathesis` runs this.

A sample-world ETL run fills a SQLite store in a temporary directory, the API serves it on a free
loopback port, and schemathesis reads its `/openapi.json` and sends every operation generated
valid and invalid requests (a bounded number each), checking that no answer is a server error or
outside the schema. The document's `isrc` parameter is given the ISRCs the store holds as
examples, so `/track/<isrc>` is tried with real recordings as well as invented ones. The server
stops when schemathesis ends; the exit code is schemathesis's.

    python -m tests.fuzz_api [--max-examples N] [--seed N] [-- extra schemathesis options]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import requests

from tests.sample import sample_settings
from tunemeld import etl
from tunemeld.api import create_app, start_background_server
from tunemeld.config import load_catalog
from tunemeld.services.cache import MemoryCache
from tunemeld.services.store import SQLiteStore

AS_OF = (date(2026, 11, 24), date(2026, 11, 25))
"""Two days, so the counts and series hold real deltas."""


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=40, help="test cases per operation")
    parser.add_argument("--seed", type=int, default=20261124, help="generation seed")
    parser.add_argument("--report", type=Path, default=None, help="write a JUnit XML report here")
    parser.add_argument("extra", nargs="*", help="more schemathesis options (after --)")
    return parser.parse_args(argv)


def _with_real_isrcs(base_url: str, folder: Path) -> Path:
    """The served OpenAPI document, its `isrc` examples the served aggregates' ISRCs; its file."""
    document = requests.get(f"{base_url}/openapi.json", timeout=10).json()
    isrcs: list[str] = []
    for genre in load_catalog().genres:
        answer = requests.get(f"{base_url}/playlist-data/{genre.value}", timeout=10).json()
        isrcs += [track["isrc"] for track in answer["data"][0]["tracks"][:5]]
    for path in document["paths"].values():
        for parameter in path["get"]["parameters"]:
            if parameter["name"] == "isrc":
                parameter["schema"]["examples"] = isrcs
    target = folder / "openapi.json"
    target.write_text(json.dumps(document))
    return target


def main(argv: list[str]) -> int:
    """Fill a store, serve it, run schemathesis against it; schemathesis's exit code."""
    args = _arguments(argv)
    program = shutil.which("schemathesis")
    if program is None:
        print("schemathesis is not installed: run `nox -s schemathesis`.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tunemeld-fuzz-") as tmp:
        folder = Path(tmp)
        settings = sample_settings(folder / "tunemeld.db")
        for day in AS_OF:
            report = etl.run(settings, as_of=day)
            if not report.ok:
                print(f"The sample ETL run for {day} failed: {report.status}.", file=sys.stderr)
                return 1
        store = SQLiteStore.from_url(settings.database.url)
        cache = MemoryCache()
        try:
            app = create_app(settings, store, cache)
            with start_background_server(app, "127.0.0.1", 0, threads=4) as server:
                command = [
                    program,
                    "run",
                    str(_with_real_isrcs(server.url, folder)),
                    "--url",
                    server.url,
                    "--checks",
                    "all",
                    "--max-examples",
                    str(args.max_examples),
                    "--seed",
                    str(args.seed),
                    "--workers",
                    "2",
                    "--request-timeout",
                    "10",
                    "--generation-database",
                    "none",
                    "--report-dir",
                    str(folder / "report"),
                    "--no-color",
                ]
                if args.report is not None:
                    junit = str(args.report.resolve())
                    command += ["--report", "junit", "--report-junit-path", junit]
                command += args.extra
                # Run in the temporary folder: schemathesis keeps its own state in the cwd.
                done = subprocess.run(command, cwd=folder, check=False, timeout=1800)
                return done.returncode
        finally:
            cache.close()
            store.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
