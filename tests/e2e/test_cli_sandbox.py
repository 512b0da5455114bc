"""`tunemeld sandbox.serve` as a user runs it, and `etl.run` pointed at it over the network."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.test_cli import SECRETS, _command, _env, _free_port, tunemeld

DAY = "2026-10-05"


@pytest.fixture(name="served")
def _served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A `tunemeld sandbox.serve` process with faults on a free port; interrupted at the end."""
    port = _free_port()
    process = subprocess.Popen(
        [
            *_command(),
            "sandbox.serve",
            "--port",
            str(port),
            "--faults",
            "429=0.1,500=0.05,malformed=0.02",
            "--retry-after",
            "10ms",
            "--seed",
            "2026",
            "--date",
            DAY,
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(f"{url}/__stats", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


def test_etl_run_when_pointed_at_the_simulator_runs_over_http_and_reports_per_endpoint(
    served: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, process = served
    env = {
        **SECRETS,
        "TUNEMELD_PROVIDERS__MODE": "live",
        "TUNEMELD_PROVIDERS__BASE_URL": url,
        "TUNEMELD_PROVIDERS__BACKOFF_INITIAL": "0",
        "TUNEMELD_PROVIDERS__BACKOFF_MAX": "0.05",
        "TUNEMELD_PROVIDERS__BUCKETS__YOUTUBE_SEARCH__LIMIT": "20",
    }
    run = tunemeld(tmp_path, "etl.run", "--genre", "pop", "--date", DAY, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"YouTube\s*│\s*search\s*│\s*20\s*│\s*20", run.stdout), run.stdout
    assert "Quota buckets" in run.stdout
    assert "deferred" in run.stdout
    for secret in SECRETS.values():
        assert secret not in run.stdout + run.stderr

    stats = requests.get(f"{url}/__stats", timeout=5).json()
    assert sum(stats["endpoints"]["YouTube search"].values()) == 20  # retries cost quota too
    assert stats["endpoints"]["Spotify play_count"]["200"] > 10
    assert stats["total"] > 100
    shown = tunemeld(tmp_path, "sandbox.stats", "--url", url)
    assert shown.returncode == 0, shown.stderr
    assert "Spotify play_count" in shown.stdout

    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Requests served by" in out
    assert "YouTube search" in out
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests_logged = [line for line in lines if line.get("event") == "sandbox_request"]
    assert len(requests_logged) >= stats["total"]
    for secret in SECRETS.values():
        assert secret not in err


def test_sandbox_serve_when_faults_are_invalid_exits_2_with_a_hint(tmp_path: Path) -> None:
    result = tunemeld(tmp_path, "sandbox.serve", "--port", "0", "--faults", "teapot=0.5")
    assert result.returncode == 2
    assert "Hint" in result.stderr
