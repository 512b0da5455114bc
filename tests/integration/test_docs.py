"""docs/troubleshooting.md quotes what TuneMeld prints; docs/migrating.md names real tasks.

Every quoted message in the troubleshooting guide sits under `<!-- message: ID -->` in a `text`
block. For each ID a producer below drives the code path (the CLI in-process, or the library
for a health row) and returns what it printed; the quote must appear in it word for word
(whitespace runs compared as one space, the working folder as `<project>`). A quote without
a producer, or a producer without a quote, fails too.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.e2e.test_cli import tunemeld
from tunemeld.cli import program
from tunemeld.config.settings import LEGACY_NAMES
from tunemeld.models import AGGREGATE, Genre, Playlist
from tunemeld.services.store import SQLiteStore

ROOT = Path(__file__).parents[2]
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"
MIGRATING = ROOT / "docs" / "migrating.md"
QUOTE = re.compile(r"<!-- message: ([a-z0-9-]+) -->\s*```text\n(.*?)```", re.S)


def _normal(text: str) -> str:
    """Whitespace runs as one space; table borders (a health row is a table cell) dropped."""
    return " ".join(re.sub(r"[│┃]", " ", text).split())


class Runner:
    """Runs `tunemeld ARGS` in-process in a fresh working folder and returns its output."""

    def __init__(
        self, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.folder = folder
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        monkeypatch.chdir(folder)
        monkeypatch.setenv("COLUMNS", "200")
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.setenv("TUNEMELD_LOGGING__LEVEL", "ERROR")
        monkeypatch.setenv("TUNEMELD_LOGGING__FORMAT", "json")
        # load_cli_settings installs its own warning printer; put pytest's back afterwards.
        monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)

    def __call__(self, *args: str, **env: str) -> str:
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.capsys.readouterr()
        program.run(["tunemeld", *args], exit=False)
        captured = self.capsys.readouterr()
        return (captured.out + captured.err).replace(str(self.folder), "<project>")


LIVE_KEYS = {
    "RAPIDAPI_KEY": "rk-docs-1",
    "SPOTIFY_CLIENT_ID": "id-docs-1",
    "SPOTIFY_CLIENT_SECRET": "secret-docs-1",
    "YOUTUBE_API_KEY": "yt-docs-1",
}


def no_keys_live(run: Runner) -> str:
    return run("etl.run", "--stage", "extract", TUNEMELD_PROVIDERS__MODE="live")


def no_keys_production(run: Runner) -> str:
    return run("config.validate", TUNEMELD_ENV="production")


def bad_setting(run: Runner) -> str:
    return run("config.validate", TUNEMELD_API__PORT="eighty")


def store_unreachable(run: Runner) -> str:
    return run("db.status", MONGODB_URL="mongodb://127.0.0.1:1/tunemeld")


def store_locked(run: Runner) -> str:
    path = run.folder / ".tunemeld" / "tunemeld.db"
    path.parent.mkdir()
    created = SQLiteStore(path)
    created.init()
    created.close()  # an open connection left to the collector warns on 3.13
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, e.g. a long ETL unit
    try:
        return run("db.status")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def quota_spent(run: Runner) -> str:
    first = run("etl.run", "--genre", "pop", "--date", "2026-11-24")
    assert "status: ok" in first
    return run("etl.run", "--genre", "pop", "--date", "2026-11-24")  # same day: bucket spent


def provider_error(run: Runner) -> str:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    output = run(
        "etl.run",
        "--stage",
        "extract",
        "--genre",
        "pop",
        "--service",
        "Spotify",
        TUNEMELD_PROVIDERS__MODE="live",
        TUNEMELD_PROVIDERS__BASE_URL=f"http://127.0.0.1:{port}",
        TUNEMELD_PROVIDERS__MAX_ATTEMPTS="1",
        **LIVE_KEYS,
    )
    return output.replace(str(port), "<port>")


def port_in_use(run: Runner) -> str:
    """In a subprocess: should the port check ever pass, the server must not block this test."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = tunemeld(run.folder, "api.start", "--port", str(port), timeout=120)
    return (result.stdout + result.stderr).replace(str(port), "8000")


def stale_data(run: Runner) -> str:
    """`inv system.health` when the pop aggregate was last written 40 hours ago."""
    path = run.folder / ".tunemeld" / "tunemeld.db"
    path.parent.mkdir()
    store = SQLiteStore(path)
    store.init()
    then = datetime.now(timezone.utc) - timedelta(hours=40)
    try:
        store.save_playlist(
            Playlist(
                genre=Genre("pop"), service_name=AGGREGATE, tracks=[], updated_at=then, run_id="r"
            )
        )
    finally:
        store.close()
    return run("system.health")


PRODUCERS: dict[str, Callable[[Runner], str]] = {
    "no-keys-live": no_keys_live,
    "no-keys-production": no_keys_production,
    "bad-setting": bad_setting,
    "store-unreachable": store_unreachable,
    "store-locked": store_locked,
    "quota-spent": quota_spent,
    "provider-error": provider_error,
    "port-in-use": port_in_use,
    "stale-data": stale_data,
}


def quoted_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for ident, block in QUOTE.findall(TROUBLESHOOTING.read_text("utf-8")):
        assert ident not in found, f"message {ident} is quoted twice"
        found[ident] = block
    return found


def test_every_quote_has_a_producer_and_every_producer_a_quote() -> None:
    assert sorted(quoted_messages()) == sorted(PRODUCERS)


@pytest.mark.parametrize("ident", sorted(PRODUCERS))
def test_quoted_message_is_what_tunemeld_prints(
    ident: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    quote = quoted_messages().get(ident)
    assert quote is not None, f"docs/troubleshooting.md does not quote {ident}"
    folder = tmp_path / "project"
    folder.mkdir()
    printed = PRODUCERS[ident](Runner(folder, monkeypatch, capsys))
    assert _normal(quote) in _normal(printed), f"\n--- doc ---\n{quote}\n--- printed ---\n{printed}"


def test_readme_links_both_guides() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "(docs/migrating.md)" in readme
    assert "(docs/troubleshooting.md)" in readme


class TestMigrationGuide:
    def test_every_new_command_is_a_task(self) -> None:
        """Each `inv X` / `tunemeld X` the guide names is a task of the collection."""
        import tasks  # the checkout's collection: the library's tasks plus `dev.*`

        names = set(tasks.ns.task_names)
        text = MIGRATING.read_text("utf-8")
        pattern = r"`(?:inv|tunemeld)(?: --?[a-z-]+(?: [a-z]+)?)* ([a-z]+\.[a-z_-]+|setup)\b"
        used = set(re.findall(pattern, text))
        assert used, "no commands found"
        assert used <= names, sorted(used - names)

    def test_every_legacy_env_name_is_mapped(self) -> None:
        text = MIGRATING.read_text("utf-8")
        for old, new in LEGACY_NAMES.items():
            assert re.search(rf"`{old}`[^\n]*`{new}`", text), old
