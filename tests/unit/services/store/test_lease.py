"""The run lease: taken, refused while its holder lives, taken over from a dead one, released."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from tunemeld import etl
from tunemeld.config import Settings
from tunemeld.exceptions import RunLeaseHeld
from tunemeld.models import Genre, RunReport, RunStatus, Stage, UnitResult
from tunemeld.services.store import RUN_LEASE, Lease, SQLiteStore, Store, open_store
from tunemeld.services.store.lease import HOST, lease_expiry, shown_status, take_run_lease

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def _ended_pid() -> int:
    """The pid of a process that has just ended (and was reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _lease(run_id: str, *, pid: int, host: str = HOST, renewed: datetime = NOW) -> Lease:
    return Lease(
        name=RUN_LEASE,
        token=f"token-{run_id}",
        run_id=run_id,
        host=host,
        pid=pid,
        started_at=NOW - timedelta(minutes=5),
        renewed_at=renewed,
        expires_at=renewed + timedelta(minutes=2),
    )


def _running(run_id: str) -> RunReport:
    return RunReport(
        run_id=run_id,
        as_of=NOW.date(),
        started_at=NOW - timedelta(minutes=5),
        stages=[Stage.EXTRACT],
        genres=[Genre("pop")],
        services=[],
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TestExpiry:
    """When a lease stops protecting its holder."""

    def test_lease_when_renewed_recently_by_a_live_process_is_live(self) -> None:
        assert lease_expiry(_lease("a", pid=os.getpid()), NOW) is None
        assert lease_expiry(_lease("a", pid=1, host="elsewhere"), NOW) is None

    def test_lease_when_not_renewed_for_its_time_is_expired(self) -> None:
        reason = lease_expiry(_lease("a", pid=1, host="elsewhere"), NOW + timedelta(minutes=2))
        assert reason is not None
        assert "not renewed since 2026-11-24 12:00:00 UTC" in reason

    def test_lease_when_its_process_on_this_host_ended_is_expired_at_once(self) -> None:
        pid = _ended_pid()
        reason = lease_expiry(_lease("a", pid=pid), NOW)
        assert reason is not None
        assert f"process {pid}" in reason
        assert lease_expiry(_lease("a", pid=pid, host="elsewhere"), NOW) is None

    def test_shown_status_when_running_without_a_live_lease_is_abandoned(self) -> None:
        run = _running("a")
        assert shown_status(run, _lease("a", pid=os.getpid()), NOW) == (RunStatus.RUNNING, None)
        assert shown_status(run, None, NOW)[0] is RunStatus.ABANDONED
        assert shown_status(run, _lease("b", pid=os.getpid()), NOW)[0] is RunStatus.ABANDONED
        late = NOW + timedelta(minutes=3)
        assert shown_status(run, _lease("a", pid=os.getpid()), late) == (
            RunStatus.ABANDONED,
            NOW,
        )


class TestTakeRunLease:
    """take_run_lease against a real SQLite store."""

    def test_take_when_free_holds_it_until_released(self, store: SQLiteStore) -> None:
        lease = take_run_lease(store, run_id="r1", seconds=60)
        held = store.get_lease(RUN_LEASE)
        assert held is not None
        assert (held.run_id, held.host, held.pid) == ("r1", HOST, os.getpid())
        lease.release()
        assert store.get_lease(RUN_LEASE) is None
        lease.release()  # twice is fine

    def test_take_when_a_live_run_holds_it_names_that_run_and_what_to_do(
        self, store: SQLiteStore
    ) -> None:
        store.swap_lease(_lease("busy1", pid=4321, host="db2", renewed=_now()), expected=None)
        with pytest.raises(RunLeaseHeld) as info:
            take_run_lease(store, run_id="r2", seconds=60)
        message = info.value.message
        assert "busy1" in message
        assert "db2" in message
        assert "pid 4321" in message
        assert "started 2026-11-24 11:55:00 UTC" in message
        assert info.value.hint is not None
        assert "--wait" in info.value.hint
        assert store.get_lease(RUN_LEASE).run_id == "busy1"  # type: ignore[union-attr]

    def test_take_with_wait_when_the_holder_finishes_meanwhile_takes_it(
        self, store: SQLiteStore
    ) -> None:
        holder = take_run_lease(store, run_id="first", seconds=60)
        naps: list[float] = []

        def nap(seconds: float) -> None:  # the first run ends while the second waits
            naps.append(seconds)
            holder.release()

        lease = take_run_lease(store, run_id="second", seconds=60, wait=30, sleep=nap)
        assert len(naps) == 1
        assert store.get_lease(RUN_LEASE).run_id == "second"  # type: ignore[union-attr]
        lease.release()

    def test_take_with_wait_when_the_holder_stays_gives_up_after_waiting(
        self, store: SQLiteStore
    ) -> None:
        store.swap_lease(_lease("busy1", pid=1, host="db2", renewed=_now()), expected=None)
        with pytest.raises(RunLeaseHeld, match=r"after waiting 0\.05 s"):
            take_run_lease(store, run_id="r2", seconds=60, wait=0.05, sleep=lambda s: None)

    def test_take_when_the_holder_process_ended_takes_over_and_abandons_its_run(
        self, store: SQLiteStore
    ) -> None:
        store.save_run(_running("dead1"))
        store.save_run(_running("older"))
        store.swap_lease(_lease("dead1", pid=_ended_pid(), renewed=NOW), expected=None)

        lease = take_run_lease(store, run_id="r2", seconds=60)

        assert lease.taken_over is not None
        assert lease.taken_over.run_id == "dead1"
        dead = store.get_run("dead1")
        assert dead is not None
        assert dead.status is RunStatus.ABANDONED
        assert dead.last_seen_at == NOW
        assert any("last seen alive at 2026-11-24 12:00:00 UTC" in n for n in dead.notes)
        older = store.get_run("older")
        assert older is not None
        assert older.status is RunStatus.ABANDONED  # running without any lease: dead too
        lease.release()

    def test_take_when_another_hosts_lease_expired_takes_it_over(self, store: SQLiteStore) -> None:
        store.save_run(_running("far1"))
        store.swap_lease(_lease("far1", pid=1, host="db2", renewed=NOW), expected=None)
        lease = take_run_lease(store, run_id="r2", seconds=60)
        assert store.get_run("far1").status is RunStatus.ABANDONED  # type: ignore[union-attr]
        lease.release()

    def test_lease_when_held_is_renewed_by_its_thread_without_the_run_doing_anything(
        self, store: SQLiteStore
    ) -> None:
        """A slow unit cannot let the lease lapse: the renewer thread extends it on its own."""
        lease = take_run_lease(store, run_id="r1", seconds=1)
        try:
            first = store.get_lease(RUN_LEASE)
            assert first is not None
            deadline = time.monotonic() + 60
            current = first
            while current.token == first.token and time.monotonic() < deadline:
                time.sleep(0.05)  # polling the store: the observable effect of a renewal
                current = store.get_lease(RUN_LEASE) or first
            assert current.token != first.token, "the lease was never renewed"
            assert current.expires_at > first.expires_at
        finally:
            lease.release()
        assert store.get_lease(RUN_LEASE) is None

    def test_renew_when_another_run_took_over_sets_lost_and_keeps_their_lease(
        self, store: SQLiteStore
    ) -> None:
        lease = take_run_lease(store, run_id="r1", seconds=60)
        first = store.get_lease(RUN_LEASE)
        assert lease.renew()
        renewed = store.get_lease(RUN_LEASE)
        assert renewed is not None
        assert first is not None
        assert renewed.token != first.token
        assert renewed.renewed_at >= first.renewed_at
        store.swap_lease(_lease("thief", pid=1, host="db2"), expected=renewed)
        assert not lease.renew()
        assert lease.lost.is_set()
        lease.release()
        assert store.get_lease(RUN_LEASE).run_id == "thief"  # type: ignore[union-attr]


class TestPipelineLease:
    """etl.run takes the lease; a dry run never does."""

    def test_run_when_another_run_holds_the_lease_raises_before_writing(
        self, settings: Settings
    ) -> None:
        store = open_store(settings)
        try:
            store.swap_lease(_lease("busy1", pid=1, host="db2", renewed=_now()), expected=None)
            with pytest.raises(RunLeaseHeld, match="busy1"):
                etl.run(settings, stages=["extract"], genres=["pop"])
            assert store.list_runs() == []
            assert store.quota_usage(_now().date()) == {}
            dry = etl.run(settings, stages=["extract"], genres=["pop"], dry_run=True)
            assert dry.status is RunStatus.DRY_RUN
        finally:
            store.close()

    def test_run_when_finished_releases_the_lease_and_records_host_and_pid(
        self, settings: Settings
    ) -> None:
        report = etl.run(settings, stages=["extract"], genres=["pop"], services=["Spotify"])
        store: Store = open_store(settings)
        try:
            assert store.get_lease(RUN_LEASE) is None
            saved = store.get_run(report.run_id)
            assert saved is not None
            assert (saved.host, saved.pid) == (HOST, os.getpid())
        finally:
            store.close()

    def test_run_when_interrupted_by_ctrl_c_records_it_and_releases_the_lease(
        self, settings: Settings
    ) -> None:
        class Interrupt:
            def planned(self, units: object) -> None:
                pass

            def started(self, unit: object) -> None:
                raise KeyboardInterrupt

            def finished(self, unit: object, result: UnitResult) -> None:
                pass

        with pytest.raises(KeyboardInterrupt):
            etl.run(settings, stages=["extract"], genres=["pop"], progress=Interrupt())
        store = open_store(settings)
        try:
            assert store.get_lease(RUN_LEASE) is None
            [run] = store.list_runs()
            assert run.status is RunStatus.FAILED
            assert any("KeyboardInterrupt" in note for note in run.notes)
        finally:
            store.close()

    def test_run_when_wait_is_negative_is_a_config_error(self, settings: Settings) -> None:
        with pytest.raises(ValueError, match="wait"):
            etl.run(settings, stages=["extract"], wait=-1)
