"""The run lease: one writing run per store at a time, across processes and machines.

A run (and `db.reset`, `db.import`, `db.copy` on its target) takes the `etl` lease before it
writes, renews it from a background thread (so a slow unit cannot let it lapse) and releases it
at the end, also on an error or Ctrl-C; a second run waits up to `wait` seconds, then raises
RunLeaseHeld naming the holder. A lease expires when not renewed for `etl.lease_seconds`, or at
once when its holder ran on this host and has ended; the next run takes it over by compare and
set and records the dead run as `abandoned`. Readers (`etl.status`, health) never take it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import structlog

from tunemeld.exceptions import RunLeaseHeld, TunemeldError
from tunemeld.models import RunReport, RunStatus
from tunemeld.services.store.base import RUN_LEASE, Lease, Store

__all__ = [
    "HOST",
    "RunLease",
    "describe_lease",
    "lease_expiry",
    "process_exists",
    "shown_status",
    "take_run_lease",
]

log = structlog.get_logger()

HOST = socket.gethostname()
"""This machine's name, as leases record it."""

_POLL_SECONDS = 1.0
"""How often a waiting run looks at the lease again."""

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def process_exists(pid: int) -> bool:
    """True unless process `pid` is known not to exist on this host (POSIX signal 0); always
    True elsewhere, where only the lease's expiry frees it."""
    if os.name != "posix" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def lease_expiry(
    lease: Lease, now: datetime, *, exists: Callable[[int], bool] = process_exists
) -> str | None:
    """Why `lease` no longer protects a live run, or None while its holder counts as alive."""
    if lease.host == HOST and lease.pid != os.getpid() and not exists(lease.pid):
        return f"its process {lease.pid} on this host ({HOST}) has ended"
    if now >= lease.expires_at:
        return f"it was not renewed since {_when(lease.renewed_at)} (expired {_when(now)})"
    return None


def describe_lease(lease: Lease) -> str:
    """`run <id>, started <time> on <host>, pid <pid>`: enough for an operator to find it."""
    return f"run {lease.run_id}, started {_when(lease.started_at)} on {lease.host}, pid {lease.pid}"


def shown_status(
    run: RunReport,
    lease: Lease | None,
    now: datetime,
    *,
    exists: Callable[[int], bool] = process_exists,
) -> tuple[RunStatus, datetime | None]:
    """What a run record really is now, and when it was last seen alive (for abandoned runs):
    a writing run holds the lease through all its saves, so `running` without it is `abandoned`."""
    if run.status is not RunStatus.RUNNING:
        return run.status, run.last_seen_at
    if lease is None or lease.run_id != run.run_id:
        return RunStatus.ABANDONED, run.last_seen_at
    if lease_expiry(lease, now, exists=exists) is not None:
        return RunStatus.ABANDONED, lease.renewed_at
    return RunStatus.RUNNING, None


@dataclass
class RunLease:
    """A lease this process holds; `release()` (or the context manager) gives it back. `lost` is
    set when another run took it over (this one lost the store too long): stop writing."""

    store: Store
    lease: Lease
    seconds: float
    clock: Clock = _utcnow
    taken_over: Lease | None = None
    """The dead holder's lease this run took over, if any."""

    def __post_init__(self) -> None:
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._renew_loop, name="tunemeld-lease", daemon=True)
        self._thread.start()

    def __enter__(self) -> RunLease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def renew(self) -> bool:
        """Extend the lease by `seconds` from now; False (and `lost` set) if it was taken over."""
        with self._lock:
            if self.lost.is_set():
                return False
            now = self.clock()
            renewed = self.lease.model_copy(
                update={
                    "token": uuid.uuid4().hex,
                    "renewed_at": now,
                    "expires_at": now + timedelta(seconds=self.seconds),
                }
            )
            if self.store.swap_lease(renewed, expected=self.lease):
                self.lease = renewed
                return True
            self.lost.set()
        holder = self.store.get_lease(self.lease.name)
        log.error(
            "run_lease_lost",
            lease=self.lease.name,
            holder=describe_lease(holder) if holder else None,
        )
        return False

    def release(self) -> None:
        """Stop renewing and delete the lease if it is still ours; safe to call twice."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self.lost.is_set():
                return
            self.lost.set()  # released: no renewal after this
            self.store.release_lease(self.lease.name, self.lease.token)
        log.info("run_lease_released", lease=self.lease.name)

    def _renew_loop(self) -> None:
        """Renew every quarter of the lease's life until stopped; a store error is retried."""
        interval = max(0.25, self.seconds / 4)
        while not self._stop.wait(interval):
            try:
                if not self.renew():
                    return
            except TunemeldError as exc:  # the store hiccupped: try again next time
                log.warning("run_lease_not_renewed", error=exc.message, hint=exc.hint)


def take_run_lease(
    store: Store,
    *,
    run_id: str,
    seconds: float,
    wait: float = 0.0,
    clock: Clock = _utcnow,
    exists: Callable[[int], bool] = process_exists,
    sleep: Callable[[float], None] = time.sleep,
) -> RunLease:
    """Take the store's run lease for `run_id`, waiting up to `wait` seconds for its holder (a
    dead or expired one is taken over at once); RunLeaseHeld when a live run still holds it."""
    deadline = time.monotonic() + max(0.0, wait)
    started = clock()
    waiting = False
    while True:
        current = store.get_lease(RUN_LEASE)
        now = clock()
        mine = Lease(
            name=RUN_LEASE,
            token=uuid.uuid4().hex,
            run_id=run_id,
            host=HOST,
            pid=os.getpid(),
            started_at=started,
            renewed_at=now,
            expires_at=now + timedelta(seconds=seconds),
        )
        reason = None if current is None else lease_expiry(current, now, exists=exists)
        if current is None or reason is not None:
            if store.swap_lease(mine, expected=current):
                if current is not None and reason is not None:
                    _abandon(store, current, reason, by=run_id)
                _abandon_orphans(store, run_id)
                log.info("run_lease_taken", lease=RUN_LEASE, took_over=bool(current))
                return RunLease(store, mine, seconds, clock, taken_over=current)
            continue  # someone else changed it in between: look again
        left = deadline - time.monotonic()
        if left <= 0:
            raise _held(current, waited=wait, seconds=seconds)
        if not waiting:
            waiting = True
            log.info("run_lease_waiting", holder=describe_lease(current), wait_seconds=wait)
        sleep(min(_POLL_SECONDS, left))


def _held(lease: Lease, *, waited: float, seconds: float) -> RunLeaseHeld:
    holder = describe_lease(lease)
    after = f" after waiting {waited:g} s" if waited > 0 else ""
    return RunLeaseHeld(
        f"Another run is writing to this store{after}: {holder} "
        f"(last renewed {_when(lease.renewed_at)}).",
        holder=holder,
        hint=f"Let it finish (`inv etl.status` shows it), or start this run with --wait SECONDS "
        f"to run after it. If that process is gone, its lease expires {seconds:g} s after its "
        "last renewal (etl.lease_seconds) and the next run takes over.",
    )


def _abandon(store: Store, lease: Lease, reason: str, *, by: str) -> None:
    """Record the dead holder's run as abandoned, with when it was last seen alive."""
    run = store.get_run(lease.run_id)
    if run is None or run.status is not RunStatus.RUNNING:
        return
    run.status = RunStatus.ABANDONED
    run.last_seen_at = lease.renewed_at
    run.notes.append(
        f"Abandoned: {reason}; last seen alive at {_when(lease.renewed_at)}. "
        f"Run {by} took its lease over; units it did not finish are redone by later runs."
    )
    store.save_run(run)
    log.warning(
        "run_abandoned",
        abandoned_run_id=run.run_id,
        last_seen_at=lease.renewed_at.isoformat(),
        reason=reason,
    )


def _abandon_orphans(store: Store, holder: str, *, runs: int = 50) -> None:
    """Every other `running` record is dead now that `holder` has the lease: mark it so."""
    for run in store.list_runs(limit=runs):
        if run.status is RunStatus.RUNNING and run.run_id != holder:
            run.status = RunStatus.ABANDONED
            run.notes.append(
                f"Abandoned: found running without the run lease when run {holder} took it "
                "(it ended without finishing)."
            )
            store.save_run(run)
            log.warning("run_abandoned", abandoned_run_id=run.run_id, reason="no lease")


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
