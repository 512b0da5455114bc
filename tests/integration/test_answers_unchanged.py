"""Every data route's answer after a two-day sample run, byte for byte as recorded.

A characterisation test for refactors: `tests/fixtures/answers/two-day.sha256` holds the SHA-256
of each route's body (and its status) recorded before a change that must not alter what the API
serves. A change that means to alter answers re-records the file, and its diff shows which routes
changed: `python -m tests.integration.test_answers_unchanged --record`.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import date
from pathlib import Path

from tests.unit.api.test_app import WsgiClient
from tunemeld import etl
from tunemeld.api import create_app
from tunemeld.api.check import route_paths
from tunemeld.config import Settings
from tunemeld.services.cache import MemoryCache
from tunemeld.services.store import SQLiteStore

RECORD = Path(__file__).parents[1] / "fixtures" / "answers" / "two-day.sha256"
DAYS = (date(2026, 11, 23), date(2026, 11, 24))


def served(folder: Path) -> dict[str, str]:
    """`{path: "<status> <sha256 of the body>"}` for every data route after the two-day run."""
    url = f"sqlite:///{folder / 'answers.db'}"
    settings = Settings(
        _env_file=None,
        database={"url": url},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
    )
    for day in DAYS:
        assert etl.run(settings, as_of=day).ok
    store = SQLiteStore(folder / "answers.db")
    try:
        client = WsgiClient(create_app(settings, store, MemoryCache()))
        found = {}
        for path in route_paths():
            if path == "/health":
                continue  # says how old the data is: changes with the clock
            reply = client.get(path)
            found[path] = f"{reply.status} {hashlib.sha256(reply.body).hexdigest()}"
        return found
    finally:
        store.close()


def recorded() -> dict[str, str]:
    pairs = (line.split(" ", 1) for line in RECORD.read_text().splitlines() if line)
    return dict(pairs)


def test_answers_when_served_after_a_two_day_run_are_the_recorded_bytes(tmp_path: Path) -> None:
    now = served(tmp_path)
    expected = recorded()
    assert list(now) == list(expected)  # the same routes, in the same order
    changed = [path for path in expected if now[path] != expected[path]]
    assert not changed, f"answers differ from {RECORD.name}: {changed}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m tests.integration.test_answers_unchanged --record")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        answers = served(Path(folder))
    RECORD.write_text("".join(f"{path} {answer}\n" for path, answer in answers.items()))
    print(f"recorded {len(answers)} answers in {RECORD}")
