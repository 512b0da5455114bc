"""`inv dev.start` from a checkout: prints the page's URL and serves the page and the API."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.e2e.test_cli import _env, _free_port

REPO = Path(__file__).parents[2]
STARTUP_SECONDS = 60


def _first_line(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


def test_dev_start_prints_the_page_url_and_serves_the_page(tmp_path: Path) -> None:
    """The URL it prints answers a browser with the page and a JSON client with the index."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "invoke",
            "--search-root",
            str(REPO),
            "dev.start",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=_env({"TUNEMELD_DATABASE__URL": f"sqlite:///{tmp_path / 'dev.db'}"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the reloader's worker is its child: stop both together
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_first_line, args=(process.stderr, lines), daemon=True).start()
    try:
        first = lines.get(timeout=STARTUP_SECONDS)
        url = f"http://127.0.0.1:{port}/"
        assert first.startswith(f"TuneMeld page: {url} ")
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                page = requests.get(url, headers={"Accept": "text/html"}, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "dev.start never answered"
                time.sleep(0.2)
        assert page.status_code == 200
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<title>TuneMeld</title>" in page.text
        index = requests.get(url, headers={"Accept": "application/json"}, timeout=5)
        assert index.json()["data"]["name"] == "TuneMeld"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        if process.stderr is not None:
            process.stderr.close()
