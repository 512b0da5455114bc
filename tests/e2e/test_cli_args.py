"""Task arguments through the real `tunemeld` command: a bad value exits 2 with one line.

Also the one URL masker end to end: a replica-set URL with a password in `config.show` and
`db.status` (exit 0 or 2, never a traceback, the password never shown).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.test_cli import _command, _env, _free_port, tunemeld

BAD_ARGUMENTS = [
    ("api.start", "--port", "99999"),
    ("api.start", "--port", "abc"),
    ("api.start", "--port", "-5"),
    ("api.start", "--port", "0"),
    ("api.logs", "-n", "abc"),
    ("api.logs", "-n", "-3"),
    ("api.logs", "--follow", "--seconds", "-1"),
    ("api.logs", "--follow", "--seconds", "nan"),
    ("etl.run", "--dry-run", "--date", "2026-13-01"),
    ("etl.run", "--dry-run", "--date", "tomorrow"),
    ("etl.run", "--dry-run", "--stage", "extract,,aggregate"),
    ("etl.run", "--dry-run", "--stage", "bogus"),
    ("etl.run", "--dry-run", "--genre", "pop,jazz"),
    ("etl.run", "--dry-run", "--genre", "pop,"),
    ("etl.run", "--dry-run", "--service", "Spotify,Tidal"),
    ("cache.warm", "--genre", ",rap"),
    ("sandbox.serve", "--port", "70000"),
    ("sandbox.serve", "--port", "x"),
    ("sandbox.serve", "--threads", "0"),
    ("sandbox.serve", "--seed", "-1"),
    ("sandbox.serve", "--date", "2026-02-30"),
]

PASSWORD = "p@ss:w/rd%41"
REPLICA = "mongodb://u:{}@127.0.0.1:1,127.0.0.1:2/tunemeld?replicaSet=rs0&authSource=admin"


@pytest.mark.parametrize("args", BAD_ARGUMENTS, ids=" ".join)
def test_bad_argument_exits_2_with_one_line_naming_the_flag(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = tunemeld(tmp_path, *args, timeout=120)

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert args[-2] in lines[0]  # names the flag
    assert not (tmp_path / ".tunemeld").exists()  # refused before touching the store


def test_api_start_listens_on_the_port_it_names(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [*_command(), "api.start", "--port", str(port)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        answer = None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None, "nothing answered on the named port"
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    assert f"Serving on http://127.0.0.1:{port} " in err
    started = [
        json.loads(line)
        for line in err.splitlines()
        if line.startswith("{") and "api_server_started" in line
    ]
    assert [event["url"] for event in started] == [f"http://127.0.0.1:{port}"]


@pytest.mark.parametrize("written", [PASSWORD, "p%40ss%3Aw%2Frd%2541"], ids=["raw", "encoded"])
@pytest.mark.parametrize("task", ["config.show", "db.status"])
def test_replica_set_url_with_password_is_masked_without_traceback(
    tmp_path: Path, task: str, written: str
) -> None:
    env = {
        "TUNEMELD_DATABASE__URL": REPLICA.format(written),
        "TUNEMELD_DATABASE__SERVER_SELECTION_TIMEOUT_MS": "200",
        "TUNEMELD_DATABASE__TIMEOUT_MS": "200",
    }

    result = tunemeld(tmp_path, task, env=env, timeout=120)

    output = result.stdout + result.stderr
    assert result.returncode in (0, 2), output
    assert "Traceback" not in output
    for secret in (PASSWORD, written, "p@ss:w/rd"):
        assert secret not in output
    if written == PASSWORD:  # not percent-encoded: refused, saying how to write it
        assert result.returncode == 2
        assert "must be percent-encoded" in output
    elif task == "config.show":
        assert result.returncode == 0
        assert "127.0.0.1:1,127.0.0.1:2/tunemeld?replicaSet=rs0" in output
    else:
        assert result.returncode == 2  # nothing listens on ports 1 and 2
        assert "127.0.0.1:1,127.0.0.1:2" in output
