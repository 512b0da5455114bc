"""The installed `tunemeld` command, run as a user would, against a fresh store in a temp folder."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

SECRETS = {
    "RAPIDAPI_KEY": "rk-e2e-5f1c9a7b3d",
    "SPOTIFY_CLIENT_ID": "spid-e2e-0a1b2c",
    "SPOTIFY_CLIENT_SECRET": "spsec-e2e-9z8y7x6w",
    "YOUTUBE_API_KEY": "yt-e2e-4q3r2s1t",
}


def _command() -> list[str]:
    script = Path(sys.executable).parent / "tunemeld"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tunemeld"]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TUNEMELD_") and k not in SECRETS
    }
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TUNEMELD_LOGGING__FORMAT": "json"})
    env.update(extra or {})
    return env


def tunemeld(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module", name="filled")
def _filled(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """A folder where the main job ran on two consecutive days with made-up keys (sample mode)."""
    folder = tmp_path_factory.mktemp("e2e")
    env = {**SECRETS, "TUNEMELD_PROVIDERS__MODE": "sample"}
    first = tunemeld(folder, "etl.run", "--stage", "full", "--date", "2026-11-24", env=env)
    second = tunemeld(folder, "etl.run", "--stage", "full", "--date", "2026-11-25", env=env)
    return folder, first, second


class TestMainJob:
    """`tunemeld etl.run --stage full` on the embedded default."""

    def test_full_run_exits_zero_and_prints_the_summary(
        self,
        filled: tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]],
    ) -> None:
        folder, first, second = filled
        for result in (first, second):
            assert result.returncode == 0, result.stderr[-3000:]
            assert "Aggregate tracks" in result.stdout
            assert "Provider calls" in result.stdout
            assert "status: ok" in result.stdout
        assert (folder / ".tunemeld" / "tunemeld.db").is_file()

    def test_secrets_never_appear_in_any_output(
        self,
        filled: tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]],
    ) -> None:
        folder, first, second = filled
        shown = tunemeld(folder, "config.show", env=SECRETS)
        assert shown.returncode == 0
        assert "**********" in shown.stdout
        text = "".join(r.stdout + r.stderr for r in (first, second, shown))
        for value in SECRETS.values():
            assert value not in text

    def test_logs_are_structured_json_with_the_run_id(
        self,
        filled: tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]],
    ) -> None:
        import json

        _, first, _ = filled
        events = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
        fetched = [e for e in events if e.get("event") == "playlist_fetched"]
        assert len(fetched) == 12
        assert all({"run_id", "stage", "service", "genre"} <= set(e) for e in fetched)

    def test_etl_status_and_db_status_show_the_runs(
        self,
        filled: tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]],
    ) -> None:
        folder, _, _ = filled
        status = tunemeld(folder, "etl.status")
        assert status.returncode == 0
        assert status.stdout.count(" ok ") >= 32
        # The newest run's spending: calls, quota units and retries per endpoint, cache use.
        assert "Newest run" in status.stdout
        assert re.search(r"YouTube\s*│\s*videos\s*│\s*[1-9]", status.stdout)
        assert "Cache lookups: hits" in status.stdout
        db = tunemeld(folder, "db.status")
        assert db.returncode == 0
        assert re.search(r"view_counts\s*│\s*[1-9]\d*", db.stdout)

    def test_api_serves_what_the_etl_wrote_and_health_check_passes(
        self,
        filled: tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]],
    ) -> None:
        folder, _, _ = filled
        port = _free_port()
        server = subprocess.Popen(
            [*_command(), "api.start", "--port", str(port)],
            cwd=folder,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    requests.get(f"{base}/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            graph = requests.get(f"{base}/graph-data/pop", timeout=5)
            assert graph.status_code == 200
            body = graph.json()
            assert body["status"] == "success"
            assert any(len(row["view_counts"]["Spotify"]) == 2 for row in body["data"])
            missing = requests.get(f"{base}/graph-data/jazz", timeout=5)
            assert missing.status_code == 404
            assert missing.json()["status"] == "error"
            health = tunemeld(folder, "api.health", "--url", base, env=SECRETS)
            assert health.returncode == 0, health.stdout
            for value in SECRETS.values():
                assert value not in health.stdout + health.stderr
        finally:
            server.terminate()
            server.wait(timeout=15)


class TestErrors:
    """Configuration and usage errors exit 2 with a message, never a traceback."""

    def test_production_without_secrets_lists_every_missing_setting(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "config.validate", env={"TUNEMELD_ENV": "production"})
        assert result.returncode == 2
        for name in (
            "RAPIDAPI_KEY",
            "SPOTIFY_CLIENT_ID",
            "SPOTIFY_CLIENT_SECRET",
            "YOUTUBE_API_KEY",
        ):
            assert name in result.stderr
        assert "Traceback" not in result.stderr + result.stdout

    def test_unknown_genre_is_a_usage_error(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "etl.run", "--genre", "jazz")
        assert result.returncode == 2
        assert "Unknown genre 'jazz'" in result.stderr
        assert "Traceback" not in result.stderr

    def test_bad_setting_is_a_config_error(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "db.status", env={"TUNEMELD_API__PORT": "http"})
        assert result.returncode == 2
        assert "TUNEMELD_API__PORT" in result.stderr
        assert "Traceback" not in result.stderr

    def test_dry_run_prints_the_plan_and_creates_no_store(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "etl.run", "--dry-run", "--genre", "pop")
        assert result.returncode == 0, result.stderr
        assert "Dry run plan (8 units" in result.stdout
        assert not (tmp_path / ".tunemeld").exists()

    def test_db_reset_without_a_terminal_refuses_unless_yes(self, tmp_path: Path) -> None:
        refused = tunemeld(tmp_path, "db.reset")
        assert refused.returncode == 2
        assert "--yes" in refused.stderr
        done = tunemeld(tmp_path, "db.reset", "--yes")
        assert done.returncode == 0

    def test_legacy_env_file_is_read_with_a_notice_and_migrated(self, tmp_path: Path) -> None:
        (tmp_path / ".env.dev").write_text("X_RAPIDAPI_KEY=legacy-e2e-77\n")
        shown = tunemeld(tmp_path, "config.show")
        assert shown.returncode == 0
        assert "Deprecated" in shown.stderr
        assert "legacy-e2e-77" not in shown.stdout + shown.stderr
        migrated = tunemeld(tmp_path, "config.migrate-env")
        assert migrated.returncode == 0
        assert (tmp_path / ".env").read_text() == "RAPIDAPI_KEY=legacy-e2e-77\n"
