"""Health checks: each row passing and failing, and the report as a whole."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest

from tests.catalog import GENRES
from tunemeld.config import Settings
from tunemeld.config.settings import QuotaBucket
from tunemeld.exceptions import ProviderAuthError, StoreUnavailable
from tunemeld.models import Genre, RunReport, RunStatus, Stage, UnitResult, UnitStatus, ViewDoc
from tunemeld.services.cache import CacheStats, MemoryCache, NullCache
from tunemeld.services.health import (
    CheckStatus,
    DiskUsage,
    HealthReport,
    check_cache,
    check_disk,
    check_freshness,
    check_last_run,
    check_providers,
    check_store,
    run_health,
)
from tunemeld.services.store import RUN_LEASE, Lease, SQLiteStore, Store
from tunemeld.services.store.lease import HOST

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
KEYS = {
    "rapidapi_key": "rk-health-1234",
    "spotify_client_id": "spid-health-1234",
    "spotify_client_secret": "spsec-health-1234",
    "youtube_api_key": "yt-health-1234",
}
MB = 1024 * 1024


def plenty(path: Path) -> DiskUsage:
    return DiskUsage(total=100_000 * MB, used=10_000 * MB, free=90_000 * MB)


def nearly_full(path: Path) -> DiskUsage:
    return DiskUsage(total=100_000 * MB, used=99_950 * MB, free=50 * MB)


class DownStore:
    """A store whose every call fails as an unreachable store does."""

    url = "sqlite:///down.db"

    def __getattr__(self, name: str) -> Any:
        def fail(*args: object, **kwargs: object) -> None:
            raise StoreUnavailable("The store is down.", hint="Start it again.")

        return fail


class BrokenCache(MemoryCache):
    """A cache that loses every value and reports an error, like an unreachable KV."""

    name = "cloudflare"

    def __init__(self) -> None:
        super().__init__()
        self.errors = 0
        self.last_error: str | None = None
        self.available = False

    def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        self.errors += 1
        self.last_error = "set: connection failed"

    def stats(self) -> CacheStats:
        return CacheStats(
            hits=self.hits,
            misses=self.misses,
            errors=self.errors,
            available=self.available,
            last_error=self.last_error,
        )


def finished_run(run_id: str, *, failed: list[Genre] | None = None) -> RunReport:
    report = RunReport(
        run_id=run_id,
        as_of=NOW.date(),
        started_at=NOW - timedelta(minutes=5),
        stages=[Stage.AGGREGATE],
        genres=list(GENRES),
        services=[],
    )
    for genre in GENRES:
        status = UnitStatus.FAILED if genre in (failed or []) else UnitStatus.OK
        report.units.append(
            UnitResult(
                stage=Stage.AGGREGATE,
                genre=genre,
                status=status,
                started_at=NOW,
                error="boom" if status is UnitStatus.FAILED else None,
            )
        )
    report.finish(NOW)
    return report


def save_fresh_views(store: Store, at: datetime, genres: list[Genre] | None = None) -> None:
    for genre in genres or list(GENRES):
        store.save_views(
            [ViewDoc(genre=genre, name="last-updated", data={}, version="v", updated_at=at)]
        )


@pytest.fixture(name="live_settings")
def _live_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database={"url": f"sqlite:///{tmp_path / 'h.db'}"},
        providers={"mode": "live", **KEYS},
    )


class TestStore:
    def test_store_when_reachable_passes_with_latency_and_counts(self, store: SQLiteStore) -> None:
        store.save_run(finished_run("r1"))
        row = check_store(store)
        assert row.status is CheckStatus.PASS
        assert row.latency_ms is not None
        assert row.details["records"]["runs"] == 1
        assert row.details["url"] == store.url

    def test_store_when_down_fails_with_its_hint(self) -> None:
        row = check_store(cast(Store, DownStore()))
        assert row.status is CheckStatus.FAIL
        assert row.summary == "The store is down."
        assert row.hint == "Start it again."

    def test_report_when_store_file_is_garbage_fails_and_skips_dependent_rows(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "broken.db"
        path.write_bytes(b"this is not a database" * 50)
        settings = Settings(_env_file=None, database={"url": f"sqlite:///{path}"})
        report = run_health(settings, disk_usage=plenty, now=NOW)
        store = report.row("store")
        assert store is not None
        assert store.status is CheckStatus.FAIL
        assert store.hint is not None
        assert str(path) in store.hint
        assert not report.ok
        assert not report.store_ok
        skipped = [c for c in report.checks if c.status is CheckStatus.SKIP]
        assert [c.name for c in skipped] == ["last run"] + [f"freshness {g.value}" for g in GENRES]


class TestCache:
    def test_memory_cache_when_round_tripped_passes_and_leaves_nothing(self) -> None:
        cache = MemoryCache()
        row = check_cache(cache)
        assert row.status is CheckStatus.PASS
        assert row.details["backend"] == "memory"
        assert len(cache) == 0

    def test_broken_cache_when_round_tripped_fails_with_the_error_and_a_hint(self) -> None:
        row = check_cache(BrokenCache())
        assert row.status is CheckStatus.FAIL
        assert "connection failed" in row.summary
        assert row.hint is not None
        assert "CLOUDFLARE_API_TOKEN" in row.hint

    def test_unavailable_cache_when_checked_without_round_trip_warns(self) -> None:
        row = check_cache(BrokenCache(), round_trip=False)
        assert row.status is CheckStatus.WARN
        assert row.hint is not None

    def test_null_cache_when_checked_passes_as_disabled(self) -> None:
        row = check_cache(NullCache())
        assert row.status is CheckStatus.PASS
        assert "off" in row.summary

    def test_cloudflare_backend_without_credentials_fails_the_cache_row(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        settings = settings.model_copy(
            update={"cache": settings.cache.model_copy(update={"backend": "cloudflare"})}
        )
        report = run_health(settings, store=store, disk_usage=plenty, now=NOW)
        row = report.row("cache")
        assert row is not None
        assert row.status is CheckStatus.FAIL
        assert "CLOUDFLARE_ACCOUNT_ID" in row.summary
        assert row.hint is not None


class TestProviders:
    def test_sample_world_when_in_use_passes_with_a_note(self, settings: Settings) -> None:
        rows = check_providers(settings)
        assert [r.name for r in rows] == [
            "provider Spotify",
            "provider AppleMusic",
            "provider SoundCloud",
            "provider YouTube",
        ]
        assert all(r.status is CheckStatus.PASS and r.details["sample"] for r in rows)
        assert all("sample world" in r.summary for r in rows)

    def test_live_mode_when_keys_are_missing_fails_naming_them(self) -> None:
        settings = Settings(_env_file=None, providers={"mode": "live", "rapidapi_key": "rk-1234"})
        rows = {r.name: r for r in check_providers(settings)}
        assert rows["provider AppleMusic"].status is CheckStatus.PASS
        spotify = rows["provider Spotify"]
        assert spotify.status is CheckStatus.FAIL
        assert spotify.summary == "missing SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET"
        assert spotify.hint is not None
        assert "SPOTIFY_CLIENT_ID" in spotify.hint
        assert rows["provider YouTube"].details["missing"] == ["YOUTUBE_API_KEY"]

    def test_keys_when_present_pass_without_any_call(self, live_settings: Settings) -> None:
        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("no call without --live")

        rows = check_providers(live_settings, opener=refuse)
        assert all(r.status is CheckStatus.PASS for r in rows)
        assert all(KEYS["rapidapi_key"] not in r.model_dump_json() for r in rows)

    def test_live_check_in_the_sample_world_makes_one_call_each(self, settings: Settings) -> None:
        rows = check_providers(settings, live=True, as_of=NOW.date())
        assert all(r.status is CheckStatus.PASS for r in rows), rows
        assert all(r.details["live"] and r.details["calls"] >= 1 for r in rows)

    def test_live_check_with_a_store_records_its_units_there_first(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        """Beside a run, a live check spends from the same quota_usage, never past a limit."""
        rows = check_providers(settings, live=True, as_of=NOW.date(), store=store)
        assert all(r.status is CheckStatus.PASS for r in rows), rows
        usage = store.quota_usage(NOW.date())
        assert usage["youtube"] == 1  # one videos.list
        assert usage["spotify_web"] >= 1

    def test_live_check_when_the_store_says_a_bucket_is_spent_does_not_call(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        spent = settings.model_copy(
            update={
                "providers": settings.providers.model_copy(
                    update={
                        "buckets": {**settings.providers.buckets, "youtube": QuotaBucket(limit=3)}
                    }
                )
            }
        )
        store.add_quota_usage(NOW.date(), "youtube", 3, at=NOW)
        rows = {r.name: r for r in check_providers(spent, live=True, as_of=NOW.date(), store=store)}
        youtube = rows["provider YouTube"]
        assert youtube.status is CheckStatus.FAIL
        assert "quota bucket is spent" in youtube.summary
        assert store.quota_usage(NOW.date())["youtube"] == 3

    def test_live_check_when_a_provider_refuses_fails_that_row_with_the_hint(
        self, settings: Settings
    ) -> None:
        from tunemeld.services.providers import open_providers

        def opener(settings: Settings, *, as_of: Any) -> Any:
            providers = open_providers(settings, as_of=as_of)

            def refused(*args: object) -> None:
                raise ProviderAuthError(
                    "YouTube refused the key.",
                    service="YouTube",
                    endpoint="videos",
                    status=403,
                    hint="Check YOUTUBE_API_KEY.",
                )

            providers.youtube.view_counts = refused  # type: ignore[method-assign, assignment]
            return providers

        rows = {r.name: r for r in check_providers(settings, live=True, opener=opener)}
        assert rows["provider YouTube"].status is CheckStatus.FAIL
        assert rows["provider YouTube"].hint == "Check YOUTUBE_API_KEY."
        assert rows["provider Spotify"].status is CheckStatus.PASS

    def test_live_check_when_a_call_fails_or_crashes_marks_that_row_live(
        self, settings: Settings
    ) -> None:
        # etl.validate counts a failed live call as the provider's failure (exit 1), not set-up.
        from tunemeld.services.providers import open_providers

        def opener(settings: Settings, *, as_of: Any) -> Any:
            providers = open_providers(settings, as_of=as_of)

            def refused(*args: object) -> None:
                raise ProviderAuthError("refused", service="YouTube", endpoint="videos", status=403)

            def crashed(*args: object) -> None:
                raise KeyError("items")

            providers.youtube.view_counts = refused  # type: ignore[method-assign, assignment]
            providers.spotify.find_by_isrc = crashed  # type: ignore[method-assign, assignment]
            return providers

        rows = {r.name: r for r in check_providers(settings, live=True, opener=opener)}
        assert rows["provider YouTube"].details == {"live": True}
        assert rows["provider Spotify"].status is CheckStatus.FAIL
        assert rows["provider Spotify"].summary == "unexpected KeyError during the live call"
        assert rows["provider Spotify"].details == {"live": True}


class TestDisk:
    def test_disk_when_roomy_passes(self, tmp_path: Path) -> None:
        row = check_disk(tmp_path, 200, plenty)
        assert row.status is CheckStatus.PASS
        assert row.details["free_mb"] == 90_000

    def test_disk_when_nearly_full_fails_with_a_hint(self, tmp_path: Path) -> None:
        row = check_disk(tmp_path, 200, nearly_full)
        assert row.status is CheckStatus.FAIL
        assert "only 50 MB free" in row.summary
        assert row.hint is not None
        assert "TUNEMELD_HEALTH__MIN_FREE_DISK_MB" in row.hint

    def test_disk_when_unreadable_fails(self, tmp_path: Path) -> None:
        def broken(path: Path) -> DiskUsage:
            raise FileNotFoundError(2, "No such file or directory")

        row = check_disk(tmp_path / "gone", 200, broken)
        assert row.status is CheckStatus.FAIL
        assert row.hint is not None

    def test_report_when_disk_is_low_is_unhealthy(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        save_fresh_views(store, NOW)
        store.save_run(finished_run("r1"))
        assert run_health(settings, store=store, disk_usage=plenty, now=NOW).ok
        assert not run_health(settings, store=store, disk_usage=nearly_full, now=NOW).ok


class TestLastRun:
    def test_no_run_when_checked_fails_with_the_command(self, store: SQLiteStore) -> None:
        row = check_last_run(store, now=NOW)
        assert row.status is CheckStatus.FAIL
        assert row.hint is not None
        assert "inv etl.run" in row.hint

    def test_ok_run_when_newest_passes(self, store: SQLiteStore) -> None:
        store.save_run(finished_run("good1"))
        row = check_last_run(store, now=NOW)
        assert row.status is CheckStatus.PASS
        assert row.details["run_id"] == "good1"
        assert row.details["failed_units"] == []

    def test_partial_run_when_newest_fails_listing_units_and_the_status_command(
        self, store: SQLiteStore
    ) -> None:
        store.save_run(finished_run("bad1", failed=[Genre("pop"), Genre("rap")]))
        row = check_last_run(store, now=NOW)
        assert row.status is CheckStatus.FAIL
        assert "partial" in row.summary
        assert "aggregate pop" in row.summary
        assert row.hint is not None
        assert "inv etl.status --run bad1" in row.hint

    def test_run_when_running_for_hours_warns(self, store: SQLiteStore) -> None:
        report = finished_run("r1")
        stuck = report.model_copy(update={"status": RunStatus.RUNNING, "finished_at": None})
        store.save_run(stuck)
        assert store.swap_lease(_lease("r1", pid=os.getpid(), hours=8), expected=None)
        assert check_last_run(store, now=NOW).status is CheckStatus.PASS
        later = check_last_run(store, now=NOW + timedelta(hours=7))
        assert later.status is CheckStatus.WARN
        assert later.hint is not None

    def test_running_record_when_its_process_has_ended_shows_abandoned_with_last_seen(
        self, store: SQLiteStore
    ) -> None:
        """The lease names a pid on this host that no longer exists: abandoned at once."""
        ended = subprocess.Popen([sys.executable, "-c", "pass"])
        ended.wait()
        report = finished_run("r1")
        store.save_run(report.model_copy(update={"status": RunStatus.RUNNING, "finished_at": None}))
        assert store.swap_lease(_lease("r1", pid=ended.pid, hours=8), expected=None)
        row = check_last_run(store, now=NOW)
        assert row.status is CheckStatus.WARN
        assert "abandoned" in row.summary
        assert row.details["status"] == "abandoned"
        assert row.details["last_seen_at"] == NOW.isoformat()
        assert row.hint is not None
        assert "inv etl.run" in row.hint

    def test_running_record_when_no_lease_backs_it_shows_abandoned(
        self, store: SQLiteStore
    ) -> None:
        report = finished_run("r1")
        store.save_run(report.model_copy(update={"status": RunStatus.RUNNING, "finished_at": None}))
        row = check_last_run(store, now=NOW)
        assert row.status is CheckStatus.WARN
        assert row.details["status"] == "abandoned"

    def test_running_record_when_its_lease_expired_shows_abandoned(
        self, store: SQLiteStore
    ) -> None:
        """Another host's run (pid unknown here) is abandoned once its lease lapses."""
        report = finished_run("r1")
        store.save_run(report.model_copy(update={"status": RunStatus.RUNNING, "finished_at": None}))
        assert store.swap_lease(_lease("r1", host="db2", pid=1, hours=1), expected=None)
        assert check_last_run(store, now=NOW).details["status"] == "running"
        row = check_last_run(store, now=NOW + timedelta(hours=1))
        assert row.details["status"] == "abandoned"

    def test_abandoned_record_when_newest_warns(self, store: SQLiteStore) -> None:
        report = finished_run("r1").model_copy(
            update={"status": RunStatus.ABANDONED, "finished_at": None, "last_seen_at": NOW}
        )
        store.save_run(report)
        row = check_last_run(store, now=NOW)
        assert row.status is CheckStatus.WARN
        assert "abandoned" in row.summary
        assert "12:00:00" in row.summary


def _lease(run_id: str, *, pid: int, hours: float, host: str = HOST) -> Lease:
    return Lease(
        name=RUN_LEASE,
        token=f"token-{run_id}",
        run_id=run_id,
        host=host,
        pid=pid,
        started_at=NOW,
        renewed_at=NOW,
        expires_at=NOW + timedelta(hours=hours),
    )


class TestFreshness:
    def test_genre_without_data_fails_with_the_command_for_it(self, store: SQLiteStore) -> None:
        save_fresh_views(store, NOW, [Genre("pop")])
        rows = {r.name: r for r in check_freshness(store, GENRES, now=NOW, stale_after_hours=36)}
        assert rows["freshness pop"].status is CheckStatus.PASS
        rap = rows["freshness rap"]
        assert rap.status is CheckStatus.FAIL
        assert rap.hint is not None
        assert "--genre rap" in rap.hint

    @pytest.mark.parametrize(("age_hours", "status"), [(35.9, "pass"), (36.1, "fail")])
    def test_data_when_older_than_the_limit_is_stale(
        self, store: SQLiteStore, age_hours: float, status: str
    ) -> None:
        save_fresh_views(store, NOW - timedelta(hours=age_hours))
        rows = check_freshness(store, GENRES, now=NOW, stale_after_hours=36)
        assert {r.status.value for r in rows} == {status}
        assert rows[0].details["age_hours"] == pytest.approx(age_hours, abs=0.01)

    def test_stale_limit_when_configured_is_used_by_the_report(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        save_fresh_views(store, NOW - timedelta(hours=2))
        store.save_run(finished_run("r1"))
        strict = settings.model_copy(
            update={"health": settings.health.model_copy(update={"stale_after_hours": 1})}
        )
        assert run_health(settings, store=store, disk_usage=plenty, now=NOW).ok
        report = run_health(strict, store=store, disk_usage=plenty, now=NOW)
        assert [c.name for c in report.failed] == [f"freshness {g.value}" for g in GENRES]


class TestReport:
    @pytest.fixture(name="report")
    def _report(self, settings: Settings, store: SQLiteStore) -> HealthReport:
        return run_health(settings, store=store, disk_usage=plenty, now=NOW)

    def test_every_non_passing_row_when_reported_has_a_hint(self, report: HealthReport) -> None:
        assert report.failed
        assert all(c.hint for c in report.checks if c.status is not CheckStatus.PASS)

    def test_report_when_dumped_carries_ok_and_every_row(self, report: HealthReport) -> None:
        data = report.model_dump(mode="json")
        assert data["ok"] is False
        assert len(data["checks"]) == 1 + 1 + 4 + 1 + 1 + len(GENRES)
        assert data["checked_at"].startswith("2026-11-24T12:00:00")
