"""One writer per store, and quota spent exactly once, with real CLI processes on both stores.

Every run here is `python -m tunemeld etl.run` in a subprocess, in live mode against the sample
world served over HTTP on 127.0.0.1 (`Simulator`), so the test can count the calls each run
really made on the server side. A gate in front of the simulator holds every provider request
until the test opens it: a run that took the lease is then provably still running while the
test starts another, without any timing assumption. Waiting is always on observable state (a
process's exit, the lease in the store, a log line in a file, the simulator's counts) with a
generous overall timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from tests.mongo_server import MongoServer
from tunemeld.api.server import start_background_server
from tunemeld.config import Settings
from tunemeld.models import RunStatus
from tunemeld.services.sandbox.server import Simulator, SimulatorServer
from tunemeld.services.sandbox.world import SampleWorld
from tunemeld.services.store import RUN_LEASE, Store, open_store_url

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 2)
SEED = 2026
SEARCH_LIMIT = 40
"""A YouTube search bucket small enough that every run here reaches it."""
GENRES = ("pop", "rap")
TIMEOUT = 300.0
"""The overall limit of every wait: generous, a busy 2-core machine is slow."""
KILLS = 10


class Gate:
    """WSGI middleware: provider requests wait while the gate is shut; control routes pass."""

    def __init__(self, app: Simulator) -> None:
        self.app = app
        self.opened = threading.Event()
        self.opened.set()
        self.reached = threading.Event()
        """Set when a provider request arrived (and waits, if the gate is shut)."""

    def shut(self) -> None:
        self.opened.clear()
        self.reached.clear()

    def __call__(
        self, environ: dict[str, object], start_response: Callable[..., object]
    ) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith("/__"):
            self.reached.set()
            self.opened.wait(TIMEOUT)
        return self.app(environ, start_response)


@dataclass
class World:
    """The simulator behind its gate, on a free loopback port."""

    simulator: Simulator
    gate: Gate
    url: str
    settings: Settings = field(default_factory=lambda: Settings(_env_file=None, env="testing"))

    def calls(self) -> dict[str, int]:
        """Requests the simulator received per `Provider endpoint` label, any outcome."""
        return {label: sum(o.values()) for label, o in self.simulator.counts().items()}

    def units_by_bucket(self) -> dict[str, int]:
        """Quota units those requests cost, per bucket (each attempt costs, as providers count)."""
        units: dict[str, int] = {}
        for label, count in self.calls().items():
            provider, _, endpoint = label.partition(" ")
            cost = self.settings.providers.cost(provider, endpoint)
            if cost.units:
                units[cost.bucket] = units.get(cost.bucket, 0) + cost.units * count
        return units


@pytest.fixture(scope="module", name="world")
def _world() -> Iterator[World]:
    simulator = Simulator(SampleWorld(seed=SEED), seed=SEED, as_of=DAY)
    simulator.quiet = True
    gate = Gate(simulator)
    running = start_background_server(gate, "127.0.0.1", 0, threads=32)
    server = SimulatorServer(simulator, running)
    try:
        yield World(simulator, gate, server.url)
    finally:
        gate.opened.set()
        server.close()


@pytest.fixture(name="fresh_world")
def _fresh_world(world: World) -> World:
    world.gate.opened.set()
    world.simulator.as_of = DAY
    world.simulator.reset()
    return world


StoreTarget = tuple[Callable[[], str], Callable[[], None]]
"""A factory of fresh store URLs, and how to wait until killed writers hold nothing."""


@pytest.fixture(name="target", params=["sqlite", "mongo"])
def _target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreTarget]:
    if request.param == "sqlite":
        made: list[int] = []

        def sqlite_url() -> str:
            made.append(1)
            return f"sqlite:///{tmp_path / f'store{len(made)}.db'}"

        yield sqlite_url, lambda: None
        return
    server: MongoServer = request.getfixturevalue("mongo_server")
    databases: list[str] = []

    def mongo_url() -> str:
        databases.append(server.fresh_database())
        return server.database_url(databases[-1])

    try:
        yield mongo_url, server.wait_for_abandoned_transactions
    finally:
        for database in databases:
            server.drop_database(database)


def _env(store_url: str, world: World) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEMELD_")}
    env.update(
        {
            "TUNEMELD_DATABASE__URL": store_url,
            "TUNEMELD_PROVIDERS__MODE": "live",
            "TUNEMELD_PROVIDERS__BASE_URL": world.url,
            "RAPIDAPI_KEY": "made-up-rapidapi-key",
            "SPOTIFY_CLIENT_ID": "made-up-id",
            "SPOTIFY_CLIENT_SECRET": "made-up-secret",
            "YOUTUBE_API_KEY": "made-up-youtube-key",
            "TUNEMELD_PROVIDERS__BACKOFF_INITIAL": "0",
            "TUNEMELD_PROVIDERS__BACKOFF_MAX": "0",
            "TUNEMELD_PROVIDERS__READ_TIMEOUT": str(TIMEOUT),  # a gated request is not a hang
            "TUNEMELD_PROVIDERS__BUCKETS__YOUTUBE_SEARCH__LIMIT": str(SEARCH_LIMIT),
            "TUNEMELD_LOGGING__FORMAT": "json",
            "NO_COLOR": "1",
        }
    )
    return env


def _command(*extra: str) -> list[str]:
    genres = [arg for genre in GENRES for arg in ("--genre", genre)]
    return [
        sys.executable,
        *("-m", "tunemeld", "etl.run", "--stage", "full", "--date", str(DAY)),
        *genres,
        *extra,
    ]


@dataclass
class Run:
    """One CLI run in a subprocess, its stderr in a file (a pipe could fill and block it)."""

    process: subprocess.Popen[bytes]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait(self) -> int:
        return self.process.wait(timeout=TIMEOUT)


def _start(store_url: str, world: World, log: Path, *extra: str) -> Run:
    with log.open("wb") as err:
        process = subprocess.Popen(
            _command(*extra),
            cwd=log.parent,
            env=_env(store_url, world),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return Run(process, log)


def _until(what: str, done: Callable[[], bool], *runs: Run) -> None:
    """Wait until `done()`; fail with every run's log if it never happens or a run ends first."""
    deadline = time.monotonic() + TIMEOUT
    while not done():
        ended = [r for r in runs if r.process.poll() is not None]
        if ended or time.monotonic() > deadline:
            logs = "\n".join(r.stderr()[-2000:] for r in runs)
            pytest.fail(f"never saw {what} (ended: {len(ended)}):\n{logs}")
        time.sleep(0.02)


def _first_exit(runs: list[Run]) -> Run:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for run in runs:
            if run.process.poll() is not None:
                return run
        time.sleep(0.02)
    pytest.fail("no run ended:\n" + "\n".join(r.stderr()[-2000:] for r in runs))


def _stop(runs: Iterable[Run]) -> None:
    for run in runs:
        if run.process.poll() is None:
            run.process.kill()
        run.process.wait(timeout=60)


def _store(url: str) -> Store:
    return open_store_url(url, Settings(_env_file=None, env="testing"))


class TestOneWriter:
    """Two runs on one store: one runs, the other exits 2 naming it, or waits with --wait."""

    def test_two_runs_started_together_one_runs_and_the_other_exits_2_naming_it(
        self, target: StoreTarget, fresh_world: World, tmp_path: Path
    ) -> None:
        new_url, _ = target
        url = new_url()
        fresh_world.gate.shut()  # the winner holds the lease until the gate opens
        runs = [_start(url, fresh_world, tmp_path / f"run{n}.log") for n in range(2)]
        store = _store(url)
        try:
            loser = _first_exit(runs)
            winner = runs[1 - runs.index(loser)]
            assert loser.wait() == 2, loser.stderr()
            lease = store.get_lease(RUN_LEASE)
            assert lease is not None
            assert lease.pid == winner.process.pid
            said = " ".join(loser.stderr().split())
            assert f"run {lease.run_id}" in said
            assert f"on {lease.host}, pid {lease.pid}" in said
            assert "started " in said
            assert "--wait" in said
            assert "Traceback" not in said

            fresh_world.gate.opened.set()
            assert winner.wait() == 0, winner.stderr()[-3000:]
            [only] = store.list_runs()
            assert only.run_id == lease.run_id
            assert only.status is RunStatus.OK
            assert store.get_lease(RUN_LEASE) is None
            _assert_quota_agrees(store, fresh_world, [only.run_id])
        finally:
            fresh_world.gate.opened.set()
            _stop(runs)
            store.close()

    def test_two_runs_with_wait_run_one_after_the_other_within_the_quota(
        self, target: StoreTarget, fresh_world: World, tmp_path: Path
    ) -> None:
        new_url, _ = target
        url = new_url()
        fresh_world.gate.shut()
        runs = [_start(url, fresh_world, tmp_path / f"run{n}.log", "--wait", "600") for n in (0, 1)]
        store = _store(url)
        try:
            _until("a run waiting for the lease", lambda: _waiting(runs) is not None, *runs)
            _until("the lease holder calling a provider", fresh_world.gate.reached.is_set, *runs)
            fresh_world.gate.opened.set()
            codes = [run.wait() for run in runs]
            assert codes == [0, 0], [r.stderr()[-3000:] for r in runs]
            first, second = sorted(store.list_runs(), key=lambda r: r.started_at)
            assert first.status is second.status is RunStatus.OK
            assert first.finished_at is not None
            assert second.started_at >= first.finished_at, "the runs overlapped"
            _assert_quota_agrees(store, fresh_world, [first.run_id, second.run_id])
        finally:
            fresh_world.gate.opened.set()
            _stop(runs)
            store.close()


def _waiting(runs: list[Run]) -> Run | None:
    return next((r for r in runs if '"run_lease_waiting"' in r.stderr()), None)


def _assert_quota_agrees(store: Store, world: World, run_ids: list[str]) -> None:
    """quota_usage == units of the calls the simulator saw == the run records' sums; <= limits."""
    recorded = store.quota_usage(DAY)
    spent = world.units_by_bucket()
    assert spent["youtube_search"] == SEARCH_LIMIT, "the search bucket was not reached"
    assert recorded == spent
    assert recorded["youtube_search"] <= SEARCH_LIMIT
    reports = [store.get_run(run_id) for run_id in run_ids]
    summed: dict[str, int] = {}
    for report in reports:
        assert report is not None
        for bucket, usage in report.buckets.items():
            if usage.units:
                summed[bucket] = summed.get(bucket, 0) + usage.units
    assert summed == recorded


SPENDER = """
import sys, time, pathlib
from datetime import date, datetime, timezone
from tunemeld.config import Settings
from tunemeld.services.store import open_store_url

url, folder, name = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
store = open_store_url(url, Settings(_env_file=None, env="testing"))
(folder / (name + ".ready")).touch()
deadline = time.monotonic() + 300
while not (folder / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.01)
now = datetime.now(timezone.utc)
granted = [store.spend_quota(date(2026, 3, 2), "youtube_search", 1, limit=50, at=now)
           for _ in range(60)]
print(sum(g is not None for g in granted))
store.close()
"""
"""A process that spends 60 units of a 50-unit bucket as soon as the file `go` appears."""


class TestSharedQuota:
    """Processes sharing a store (two machines on MongoDB) never pass a limit together."""

    def test_two_processes_spending_at_once_get_exactly_the_limit_between_them(
        self, target: StoreTarget, tmp_path: Path
    ) -> None:
        new_url, _ = target
        url = new_url()
        _store(url).close()  # created before the race
        spenders = [
            subprocess.Popen(
                [sys.executable, "-c", SPENDER, url, str(tmp_path), f"p{n}"],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in (0, 1)
        ]
        try:
            deadline = time.monotonic() + TIMEOUT
            while not all((tmp_path / f"p{n}.ready").exists() for n in (0, 1)):
                assert time.monotonic() < deadline, "the spenders never got ready"
                assert all(p.poll() is None for p in spenders), "a spender died"
                time.sleep(0.02)
            (tmp_path / "go").touch()
            outputs = [p.communicate(timeout=TIMEOUT)[0] for p in spenders]
        finally:
            for process in spenders:
                if process.poll() is None:
                    process.kill()
                process.wait(timeout=60)
        assert [p.returncode for p in spenders] == [0, 0]
        assert sum(int(out.strip()) for out in outputs) == 50
        store = _store(url)
        try:
            assert store.quota_usage(DAY) == {"youtube_search": 50}
        finally:
            store.close()


class TestKilledRuns:
    """SIGKILL at 10 moments of a run's life: units recorded >= calls made; the run is abandoned."""

    def test_run_when_killed_at_ten_moments_never_leaves_spent_units_unrecorded(
        self, target: StoreTarget, fresh_world: World, tmp_path: Path
    ) -> None:
        new_url, settle = target
        reference = _start(new_url(), fresh_world, tmp_path / "reference.log")
        assert reference.wait() == 0, reference.stderr()[-3000:]
        total = sum(fresh_world.calls().values())
        assert total > 100
        moments = [max(1, total * n // (KILLS + 1)) for n in range(1, KILLS + 1)]

        for trial, moment in enumerate(moments):
            fresh_world.simulator.reset()
            url = new_url()
            killed = _start(url, fresh_world, tmp_path / f"killed{trial}.log")
            try:
                _until(f"{moment} calls", _calls_reached(fresh_world, moment), killed)
                killed.process.send_signal(signal.SIGKILL)
            finally:
                _stop([killed])
            assert killed.process.returncode == -signal.SIGKILL
            store = _store(url)
            try:
                _assert_recorded_covers_calls(store, fresh_world, f"after kill {trial}")
                if trial == 0:  # read-only status already calls the dead run abandoned
                    shown = _status(url, fresh_world, tmp_path)
                    assert "abandoned, last seen alive" in shown, shown
                    assert "Writing now" not in shown
                settle()
                rerun = _start(url, fresh_world, tmp_path / f"rerun{trial}.log")
                assert rerun.wait() == 0, rerun.stderr()[-3000:]
                _assert_recorded_covers_calls(store, fresh_world, f"after re-run {trial}")
                assert store.quota_usage(DAY)["youtube_search"] <= SEARCH_LIMIT
                runs = {run.pid: run for run in store.list_runs()}
                dead = runs[killed.process.pid]
                assert dead.status is RunStatus.ABANDONED, trial
                assert dead.last_seen_at is not None
                assert runs[rerun.process.pid].status is RunStatus.OK
            finally:
                store.close()


def _status(url: str, world: World, cwd: Path) -> str:
    """`tunemeld etl.status` output (it never waits for, nor takes, the lease)."""
    result = subprocess.run(
        [sys.executable, "-m", "tunemeld", "etl.status"],
        cwd=cwd,
        env={**_env(url, world), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())


def _calls_reached(world: World, moment: int) -> Callable[[], bool]:
    return lambda: sum(world.calls().values()) >= moment


def _assert_recorded_covers_calls(store: Store, world: World, when: str) -> None:
    recorded = store.quota_usage(DAY)
    for bucket, units in world.units_by_bucket().items():
        assert recorded.get(bucket, 0) >= units, (when, bucket, recorded, units)
