"""`tunemeld.etl.validate`: each row passing and failing, and the exit code the rows add up to."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tunemeld.config import load_catalog
from tunemeld.etl.validate import (
    ValidationReport,
    check_catalog,
    check_packages,
    check_store_writable,
    validate,
)
from tunemeld.services.health import CheckStatus
from tunemeld.services.store import SQLiteStore

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
DAY = NOW.date()
BUILT_IN = (Path(load_catalog().source).name, load_catalog())
KEYS = ("RAPIDAPI_KEY", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "YOUTUBE_API_KEY")


@pytest.fixture(name="db_url")
def _db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'validate.db'}"


def run(db_url: str, **overrides: Any) -> ValidationReport:
    """validate() on a store under tmp_path, never the developer's .env."""
    database = overrides.pop("database", {"url": db_url})
    return validate(now=NOW, _env_file=None, database=database, **overrides)


def status_of(report: ValidationReport, name: str) -> CheckStatus:
    row = report.row(name)
    assert row is not None, f"no row {name!r} in {[c.name for c in report.checks]}"
    return row.status


class TestWholeReport:
    def test_sample_world_in_a_fresh_folder_is_ready_and_exits_zero(self, db_url: str) -> None:
        """Development, no keys: every row passes (or warns) and the exit code is 0."""
        report = run(db_url)
        assert report.exit_code == 0, [(c.name, c.summary) for c in report.failed]
        names = [check.name for check in report.checks]
        assert names[:4] == ["configuration", "catalog", "store", "store writable"]
        assert {"provider Spotify", "provider YouTube", "quota youtube_search", "packages"} <= set(
            names
        )
        assert report.profile == "development"

    def test_production_without_keys_lists_every_problem_and_exits_two(self, db_url: str) -> None:
        """The configuration row names all four keys, each provider row its own missing ones."""
        report = run(db_url, env="production")
        assert report.exit_code == 2
        config = report.row("configuration")
        assert config is not None
        assert config.status is CheckStatus.FAIL
        for key in KEYS:
            assert key in config.summary
        spotify = report.row("provider Spotify")
        assert spotify is not None
        assert spotify.status is CheckStatus.FAIL
        assert "SPOTIFY_CLIENT_SECRET" in spotify.summary
        assert spotify.hint
        assert "TUNEMELD_PROVIDERS__MODE=sample" in spotify.hint
        assert status_of(report, "provider YouTube") is CheckStatus.FAIL
        # What does not depend on keys is still checked.
        assert status_of(report, "store") is CheckStatus.PASS
        assert status_of(report, "catalog") is CheckStatus.PASS

    def test_unreadable_setting_fails_configuration_and_skips_what_needs_settings(
        self, db_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_API__PORT", "eighty")
        report = run(db_url)
        assert report.exit_code == 2
        config = report.row("configuration")
        assert config is not None
        assert "TUNEMELD_API__PORT" in config.summary
        assert status_of(report, "store") is CheckStatus.SKIP
        assert status_of(report, "catalog") is CheckStatus.SKIP
        assert status_of(report, "packages") is CheckStatus.PASS

    def test_every_row_that_does_not_pass_says_how_to_fix_it(self, db_url: str) -> None:
        report = run(db_url, env="production")
        for check in report.checks:
            if check.status is not CheckStatus.PASS:
                assert check.hint, check.name


class TestCatalog:
    def test_built_in_catalog_passes(self) -> None:
        assert check_catalog(BUILT_IN[1]).status is CheckStatus.PASS

    def test_malformed_id_fails_naming_the_entry(self, db_url: str, tmp_path: Path) -> None:
        text = (
            Path(__file__)
            .parents[3]
            .joinpath("src/tunemeld/config/catalog.toml")
            .read_text("utf-8")
            .replace('id = "37i9dQZF1DXcBWIGoYBM5M"', 'id = "not-an-id"')
        )
        path = tmp_path / "catalog.toml"
        path.write_text(text, "utf-8")
        report = run(db_url, etl={"catalog_path": str(path)})
        row = report.row("catalog")
        assert row is not None
        assert row.status is CheckStatus.FAIL
        assert "Spotify pop" in row.summary
        assert "'not-an-id'" in row.summary
        assert report.exit_code == 2

    def test_missing_genre_fails_with_the_catalog_hint(self, db_url: str, tmp_path: Path) -> None:
        path = tmp_path / "catalog.toml"
        path.write_text('[spotify]\npop = { id = "37i9dQZF1DXcBWIGoYBM5M", url = "u" }\n')
        report = run(db_url, etl={"catalog_path": str(path)})
        row = report.row("catalog")
        assert row is not None
        assert row.status is CheckStatus.FAIL
        assert "incomplete" in row.summary
        assert row.hint


class TestStore:
    def test_store_in_a_folder_is_unreachable_and_skips_quota(self, tmp_path: Path) -> None:
        folder = tmp_path / "a-folder.db"
        folder.mkdir()
        report = run("", database={"url": f"sqlite:///{folder}"})
        assert status_of(report, "store") is CheckStatus.FAIL
        assert status_of(report, "store writable") is CheckStatus.SKIP
        assert status_of(report, "quota") is CheckStatus.SKIP
        assert report.exit_code == 2

    def test_locked_store_fails_with_the_locked_message(self, tmp_path: Path) -> None:
        path = tmp_path / "locked.db"
        created = SQLiteStore(path)
        created.init()
        created.close()  # an open connection left to the collector warns on 3.13
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            report = run("", database={"url": f"sqlite:///{path}", "timeout_ms": 100})
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        row = report.row("store")
        assert row is not None
        assert row.status is CheckStatus.FAIL
        assert "locked by another writer" in row.summary
        assert report.exit_code == 2

    def test_write_probe_keeps_nothing(self, store: SQLiteStore) -> None:
        before = {s.name: s.count for s in store.status()}
        row = check_store_writable(store, now=NOW)
        assert row.status is CheckStatus.PASS
        assert {s.name: s.count for s in store.status()} == before
        assert store.get_lookup("validate_probe", "writable") is None


class TestQuota:
    @pytest.fixture(name="spent_store")
    def _spent_store(self, db_url: str) -> Iterator[SQLiteStore]:
        store = SQLiteStore.from_url(db_url)
        store.init()
        yield store
        store.close()

    def test_bucket_too_spent_for_the_playlists_fails_and_exits_one(
        self, db_url: str, spent_store: SQLiteStore
    ) -> None:
        """Spotify's four playlist fetches need 4 units of rapidapi_spotify23; 2 are left."""
        spent_store.add_quota_usage(DAY, "rapidapi_spotify23", 8, at=NOW)
        report = run(
            db_url, providers={"mode": "sample", "buckets": {"rapidapi_spotify23": {"limit": 10}}}
        )
        row = report.row("quota rapidapi_spotify23")
        assert row is not None
        assert row.status is CheckStatus.FAIL
        assert "8/10 spent this day, 2 left" in row.summary
        assert row.hint
        assert "TUNEMELD_PROVIDERS__BUCKETS__RAPIDAPI_SPOTIFY23__LIMIT" in row.hint
        assert report.exit_code == 1

    def test_enough_for_the_playlists_passes(self, db_url: str, spent_store: SQLiteStore) -> None:
        spent_store.add_quota_usage(DAY, "rapidapi_spotify23", 6, at=NOW)
        report = run(
            db_url, providers={"mode": "sample", "buckets": {"rapidapi_spotify23": {"limit": 10}}}
        )
        assert status_of(report, "quota rapidapi_spotify23") is CheckStatus.PASS
        assert report.exit_code == 0

    def test_yesterdays_spending_does_not_count_for_a_daily_bucket(
        self, db_url: str, spent_store: SQLiteStore
    ) -> None:
        spent_store.add_quota_usage(date(2026, 11, 23), "youtube_search", 100, at=NOW)
        report = run(db_url)
        row = report.row("quota youtube_search")
        assert row is not None
        assert "0/100 spent this day" in row.summary


class TestPackages:
    def test_installed_distribution_passes(self) -> None:
        row = check_packages()
        assert row.status is CheckStatus.PASS, row.summary

    def test_missing_package_fails_with_the_install_command(self) -> None:
        def version_of(name: str) -> str:
            if name == "pymongo":
                raise metadata.PackageNotFoundError(name)
            return metadata.version(name)

        row = check_packages(version_of=version_of)
        assert row.status is CheckStatus.FAIL
        assert "pymongo>=4.7 (not installed)" in row.summary
        assert row.hint
        assert "python -m pip install 'pymongo>=4.7'" in row.hint

    def test_too_old_package_fails(self) -> None:
        row = check_packages(version_of=lambda name: "0.0.1")
        assert row.status is CheckStatus.FAIL
        assert "(0.0.1 installed)" in row.summary


class TestLive:
    def test_live_in_the_sample_world_calls_each_provider_once(self, db_url: str) -> None:
        report = run(db_url, providers={"mode": "sample"}, live=True)
        for provider in ("Spotify", "AppleMusic", "SoundCloud", "YouTube"):
            row = report.row(f"provider {provider}")
            assert row is not None
            assert row.status is CheckStatus.PASS
            assert row.summary.startswith("sample world answered")
            assert row.details["calls"] >= 1
        assert report.exit_code == 0
