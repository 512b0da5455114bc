"""`tunemeld system.health`, `cache.*`, `api.start --log-file` / `api.logs` and `etl.status --run`,
run as a user would (subprocesses), with made-up secrets that must never show anywhere.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.test_cli import _command, _env, _free_port, tunemeld

SECRETS = {
    "RAPIDAPI_KEY": "rk-sys-e2e-6b2d91",
    "SPOTIFY_CLIENT_ID": "spid-sys-e2e-1c4f",
    "SPOTIFY_CLIENT_SECRET": "spsec-sys-e2e-8a8a",
    "YOUTUBE_API_KEY": "yt-sys-e2e-33e0",
    "CLOUDFLARE_API_TOKEN": "cf-sys-e2e-token-d00d",
    "CLOUDFLARE_ACCOUNT_ID": "acct-sys-e2e",
    "CLOUDFLARE_NAMESPACE_ID": "ns-sys-e2e",
}
SECRET_VALUES = [v for k, v in SECRETS.items() if "ID" not in k or "CLIENT" in k]
ENV = {**SECRETS, "TUNEMELD_PROVIDERS__MODE": "sample"}

outputs: list[str] = []
"""Every stdout / stderr / body seen by this module, grepped for secrets at the end."""


def run(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = tunemeld(folder, *args, env={**ENV, **(env or {})})
    outputs.extend([result.stdout, result.stderr])
    return result


@pytest.fixture(scope="module", name="folder")
def _folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder after one full run today (so the data is fresh)."""
    folder = tmp_path_factory.mktemp("system")
    result = run(folder, "etl.run", "--stage", "full")
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def run_id_of(folder: Path) -> str:
    listed = run(folder, "etl.status")
    assert listed.returncode == 0
    shown = run(folder, "system.health", "--json")
    rows = {row["name"]: row for row in json.loads(shown.stdout)["checks"]}
    return str(rows["last run"]["details"]["run_id"])


class TestSystemHealth:
    def test_health_after_a_fresh_full_run_passes_every_row(self, folder: Path) -> None:
        result = run(folder, "system.health")
        assert result.returncode == 0, result.stdout
        assert "healthy" in result.stdout
        for name in ("store", "cache", "provider YouTube", "disk", "last run", "freshness rap"):
            assert name in result.stdout
        assert " fail " not in result.stdout

    def test_health_json_when_asked_is_the_same_report(self, folder: Path) -> None:
        result = run(folder, "system.health", "--json", "--live")
        assert result.returncode == 0, result.stdout
        report = json.loads(result.stdout)
        assert report["ok"] is True
        names = [row["name"] for row in report["checks"]]
        assert names[:2] == ["store", "cache"]
        assert len(names) == 12
        live = [row for row in report["checks"] if row["group"] == "provider"]
        assert all(row["details"]["live"] for row in live)

    def test_health_when_the_store_file_is_garbage_exits_1_with_the_fix(
        self, tmp_path: Path
    ) -> None:
        db = tmp_path / ".tunemeld" / "tunemeld.db"
        db.parent.mkdir()
        db.write_bytes(b"not a database, just bytes " * 40)
        result = run(tmp_path, "system.health")
        assert result.returncode == 1
        assert "not a usable SQLite database" in result.stdout
        assert "fix:" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
    def test_health_when_the_store_file_is_unreadable_exits_1_with_the_fix(
        self, folder: Path, tmp_path: Path
    ) -> None:
        db = tmp_path / ".tunemeld" / "tunemeld.db"
        db.parent.mkdir()
        db.write_bytes((folder / ".tunemeld" / "tunemeld.db").read_bytes())
        db.chmod(0)
        try:
            result = run(tmp_path, "system.health")
        finally:
            db.chmod(0o600)
        assert result.returncode == 1
        assert "fix:" in result.stdout

    def test_health_in_an_empty_folder_fails_with_the_etl_command(self, tmp_path: Path) -> None:
        result = run(tmp_path, "system.health", "--json")
        assert result.returncode == 1
        report = json.loads(result.stdout)
        failing = {row["name"]: row for row in report["checks"] if row["status"] == "fail"}
        assert "last run" in failing
        assert "inv etl.run" in failing["last run"]["hint"]


class TestEtlStatusRun:
    def test_status_with_a_run_id_shows_that_run(self, folder: Path) -> None:
        run_id = run_id_of(folder)
        result = run(folder, "etl.status", "--run", run_id)
        assert result.returncode == 0, result.stderr
        assert f"Run {run_id}" in result.stdout
        assert "Provider calls" in result.stdout

    def test_status_with_an_unknown_run_id_is_a_usage_error_listing_recent_runs(
        self, folder: Path
    ) -> None:
        result = run(folder, "etl.status", "--run", "nope")
        assert result.returncode == 2
        assert "No run 'nope'" in result.stderr
        assert run_id_of(folder) in result.stderr


class TestCacheTasks:
    def test_warm_and_clear_when_run_report_what_they_did(self, folder: Path) -> None:
        warm = run(folder, "cache.warm", "--genre", "pop")
        assert warm.returncode == 0, warm.stderr
        assert "pop: 8 answer(s) warmed in the memory cache" in warm.stdout
        clear = run(folder, "cache.clear")
        assert clear.returncode == 0
        assert "Cleared every answer from the memory cache" in clear.stdout

    def test_warm_when_cloudflare_is_unreachable_exits_1_without_a_traceback(
        self, folder: Path
    ) -> None:
        env = {
            "TUNEMELD_CACHE__BACKEND": "cloudflare",
            "TUNEMELD_CACHE__CLOUDFLARE_BASE_URL": f"http://127.0.0.1:{_free_port()}/client/v4",
        }
        result = run(folder, "cache.warm", "--genre", "pop", env=env)
        assert result.returncode == 1
        assert "Some writes failed" in result.stdout
        assert "Traceback" not in result.stderr

    def test_unknown_genre_when_warmed_is_a_usage_error(self, folder: Path) -> None:
        result = run(folder, "cache.warm", "--genre", "jazz")
        assert result.returncode == 2
        assert "jazz" in result.stderr


@pytest.fixture(scope="module", name="server")
def _server(folder: Path) -> Iterator[tuple[str, Path]]:
    """`api.start --log-file` in the filled folder; stopped at the end of the module."""
    port = _free_port()
    log_file = folder / "logs" / "api.log"
    process = subprocess.Popen(
        [*_command(), "api.start", "--port", str(port), "--log-file", str(log_file)],
        cwd=folder,
        env=_env(ENV),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base, log_file
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
        outputs.append(err)


class TestApiLogsAndMetrics:
    def test_logs_when_requested_show_the_json_request_lines(
        self, folder: Path, server: tuple[str, Path]
    ) -> None:
        base, log_file = server
        reply = requests.get(
            f"{base}/playlist-data/pop", headers={"X-Request-ID": "e2e-7"}, timeout=5
        )
        assert reply.headers["X-Request-ID"] == "e2e-7"
        result = run(folder, "api.logs", "-n", "5", "--file", str(log_file))
        assert result.returncode == 0, result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(events) <= 5
        handled = [e for e in events if e.get("event") == "api_request_handled"]
        assert handled[-1]["request_id"] == "e2e-7"
        assert handled[-1]["route"] == "/playlist-data/<genre>"

    def test_follow_when_a_request_arrives_prints_its_line_then_stops(
        self, folder: Path, server: tuple[str, Path]
    ) -> None:
        base, log_file = server
        follower = subprocess.Popen(
            [
                *_command(),
                "api.logs",
                "-n",
                "0",
                "--follow",
                "--seconds",
                "4",
                "--file",
                str(log_file),
            ],
            cwd=folder,
            env=_env(ENV),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20  # keep asking until it stops by itself (--seconds)
        while follower.poll() is None and time.monotonic() < deadline:
            requests.get(f"{base}/header-art/rap", headers={"X-Request-ID": "follow-1"}, timeout=5)
            time.sleep(0.25)
        out, err = follower.communicate(timeout=20)
        outputs.extend([out, err])
        assert follower.returncode == 0, err
        ids = [json.loads(line).get("request_id") for line in out.splitlines()]
        assert "follow-1" in ids

    def test_follow_when_interrupted_with_ctrl_c_stops_cleanly(
        self, folder: Path, server: tuple[str, Path]
    ) -> None:
        """SIGINT (what Ctrl-C sends) ends --follow with exit 0 and no traceback."""
        _, log_file = server
        follower = subprocess.Popen(
            [*_command(), "api.logs", "-n", "1", "--follow", "--file", str(log_file)],
            cwd=folder,
            env=_env(ENV),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # a shell may start children with SIGINT ignored; a terminal's Ctrl-C is not
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert follower.stdout is not None
        first = follower.stdout.readline()  # the tail is printed: it is following now
        follower.send_signal(signal.SIGINT)
        rest, err = follower.communicate(timeout=20)
        outputs.extend([first, rest, err])
        assert follower.returncode == 0, err
        assert "Traceback" not in err
        assert json.loads(first)["event"]

    def test_metrics_and_health_when_scraped_show_the_run_and_the_requests(
        self, server: tuple[str, Path]
    ) -> None:
        base, _ = server
        for _ in range(2):
            requests.get(f"{base}/graph-data/pop", timeout=5)
        missing = requests.get(f"{base}/graph-data/jazz", timeout=5)
        health = requests.get(f"{base}/health", timeout=5)
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        outputs.extend([missing.text, health.text, metrics])
        assert health.status_code == 200
        assert health.json()["data"]["ok"] is True
        provider_calls = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("tunemeld_last_run_provider_calls{")
        ]
        assert sum(provider_calls) > 0
        assert 'tunemeld_cache_requests_total{cache="memory",result="hit"}' in metrics
        assert 'tunemeld_api_latency_seconds_count{route="/graph-data/<genre>",status="200"}' in (
            metrics
        )

    def test_logs_without_a_file_is_a_usage_error_with_the_fix(self, tmp_path: Path) -> None:
        result = run(tmp_path, "api.logs")
        assert result.returncode == 2
        assert "--log-file" in result.stderr


def test_no_secret_in_any_output_of_this_module(folder: Path, server: tuple[str, Path]) -> None:
    """Runs last in the module: every output above, the log file and config.show."""
    _, log_file = server
    shown = run(folder, "config.show")
    assert shown.returncode == 0
    assert "**********" in shown.stdout  # the secrets were configured, and shown redacted
    text = "\n".join([*outputs, log_file.read_text()])
    assert "api_request_handled" in text
    for secret in SECRET_VALUES:
        assert secret not in text, secret
