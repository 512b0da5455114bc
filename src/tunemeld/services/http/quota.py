"""The quota budget: refuses, before sending, a call whose quota bucket can no longer pay for it."""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Protocol

from tunemeld.config import ProvidersSettings
from tunemeld.exceptions import QuotaExhausted

__all__ = ["QuotaBudget", "QuotaRecorder", "period_start"]


def _period_days(day: date, period: str) -> list[date]:
    """The days of `day`'s period so far: just `day`, or the 1st of its month to `day`."""
    if period != "month":
        return [day]
    return [day.replace(day=n) for n in range(1, day.day + 1)]


def period_start(day: date, period: str) -> date:
    """The day whose `quota_usage` record holds a bucket's spending: `day`, or the 1st."""
    return day.replace(day=1) if period == "month" else day


class QuotaRecorder(Protocol):
    """Where a budget records units before it spends them (the Store implements this)."""

    def spend_quota(
        self, day: date, bucket: str, units: int, *, limit: int | None, at: datetime
    ) -> int | None:
        """Record `units` unless the total would pass `limit`; the new total, or None."""
        ...

    def refund_quota(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        """Give back units of a request that never left."""
        ...

    def quota_usage(self, day: date) -> Mapping[str, int]:
        """Units recorded per bucket on `day`."""
        ...


class QuotaBudget:
    """The run's quota buckets: refuses, before sending, a call its bucket can no longer pay for.

    With a `recorder` (the store), each unit is recorded there before its attempt is sent, by an
    atomic conditional increment, so a crash never leaves a spent unit unrecorded and processes
    sharing the store share one limit; without one it counts in memory. Thread-safe.
    """

    def __init__(
        self,
        settings: ProvidersSettings,
        *,
        spent: Mapping[str, int] | None = None,
        recorder: QuotaRecorder | None = None,
        day: date | None = None,
        earlier: Mapping[str, int] | None = None,
    ) -> None:
        if recorder is not None and day is None:
            raise ValueError("a budget with a recorder needs the day it spends on")
        self._settings = settings
        self._lock = threading.Lock()
        self._spent: dict[str, int] = defaultdict(int, spent or {})
        self._run: dict[str, int] = defaultdict(int)
        self._closed: dict[str, str] = {}
        self._recorder = recorder
        self._day = day
        self._earlier: dict[str, int] = defaultdict(int, earlier or {})
        """Units of this period recorded on other days than its record day (older versions)."""

    @classmethod
    def from_usage(
        cls,
        settings: ProvidersSettings,
        day: date,
        usage_of: Callable[[date], Mapping[str, int]],
        *,
        recorder: QuotaRecorder | None = None,
    ) -> QuotaBudget:
        """A budget for `day`, with each bucket's spending so far read through `usage_of(day)`."""
        usage = functools.cache(usage_of)
        spent: dict[str, int] = {}
        earlier: dict[str, int] = {}
        for name, bucket in settings.buckets.items():
            units = {each: usage(each).get(name, 0) for each in _period_days(day, bucket.period)}
            spent[name] = sum(units.values())
            earlier[name] = spent[name] - units[period_start(day, bucket.period)]
        return cls(settings, spent=spent, recorder=recorder, day=day, earlier=earlier)

    def bucket_of(self, provider: str, endpoint: str) -> str:
        """The bucket a provider endpoint draws on."""
        return self._settings.cost(provider, endpoint).bucket

    def reserve(self, provider: str, endpoint: str, units: int) -> None:
        """Take `units` from the endpoint's bucket (recording them), or raise QuotaExhausted."""
        name = self.bucket_of(provider, endpoint)
        bucket = self._settings.bucket(name)
        with self._lock:
            closed = self._closed.get(name)
            if closed is None and (self._recorder is None or units <= 0):
                over = (
                    bucket.limit is not None
                    and units > 0
                    and self._spent[name] + units > bucket.limit
                )
                if not over:
                    self._spent[name] += units
                    self._run[name] += units
                    return
                closed = self._closed[name] = self._used(name)
        if closed is None and self._recorder is not None:
            closed = self._record(name, units)
        if closed is not None:
            raise self._refusal(provider, endpoint, name, closed)

    def _record(self, name: str, units: int) -> str | None:
        """Record `units` in the store first; None when granted, else why the bucket is spent."""
        assert self._recorder is not None
        assert self._day is not None
        bucket = self._settings.bucket(name)
        home = period_start(self._day, bucket.period)
        limit = None if bucket.limit is None else bucket.limit - self._earlier[name]
        now = datetime.now(timezone.utc)
        total = self._recorder.spend_quota(home, name, units, limit=limit, at=now)
        if total is None:
            used = self._recorder.quota_usage(home).get(name, 0) + self._earlier[name]
            with self._lock:
                self._spent[name] = used
                return self._closed.setdefault(name, self._used(name))
        with self._lock:
            self._spent[name] = total + self._earlier[name]
            self._run[name] += units
        return None

    def _used(self, name: str) -> str:
        """Why a bucket is spent, in numbers (the caller holds the lock)."""
        bucket = self._settings.bucket(name)
        return f"{self._spent[name]}/{bucket.limit} units used this {bucket.period}"

    def _refusal(self, provider: str, endpoint: str, name: str, why: str) -> QuotaExhausted:
        bucket = self._settings.bucket(name)
        return QuotaExhausted(
            f"{provider} {endpoint}: the {name} quota bucket is spent ({why}); not calling.",
            service=provider,
            endpoint=endpoint,
            bucket=name,
            hint=f"The next run ({'tomorrow' if bucket.period == 'day' else 'next month'}) "
            f"continues; or raise TUNEMELD_PROVIDERS__BUCKETS__{name.upper()}__LIMIT.",
        )

    def refund(self, provider: str, endpoint: str, units: int) -> None:
        """Give back units reserved for an attempt that never reached the provider."""
        name = self.bucket_of(provider, endpoint)
        total = None
        if self._recorder is not None and self._day is not None and units > 0:
            home = period_start(self._day, self._settings.bucket(name).period)
            total = self._recorder.refund_quota(home, name, units, at=datetime.now(timezone.utc))
        with self._lock:
            left = self._spent[name] - units
            self._spent[name] = left if total is None else total + self._earlier[name]
            self._run[name] -= units

    def close(self, bucket: str, reason: str) -> None:
        """Stop spending on `bucket` for the rest of the run (the provider said it is spent)."""
        with self._lock:
            self._closed.setdefault(bucket, reason)

    def calls_left(self, provider: str, endpoint: str) -> int | None:
        """How many more calls of this endpoint its bucket can pay for; None when unlimited.

        As this process last saw it: the store still refuses what others spent since.
        """
        name = self.bucket_of(provider, endpoint)
        bucket = self._settings.bucket(name)
        units = self._settings.cost(provider, endpoint).units
        with self._lock:
            if name in self._closed:
                return 0
            if bucket.limit is None or units <= 0:
                return None
            return max(0, (bucket.limit - self._spent[name]) // units)

    def is_spent(self, provider: str, endpoint: str) -> bool:
        """True when the next call of this endpoint would be refused (the bucket is then closed)."""
        if self.calls_left(provider, endpoint) != 0:
            return False
        name = self.bucket_of(provider, endpoint)
        with self._lock:
            self._closed.setdefault(name, self._used(name))
        return True

    def refresh(self) -> None:
        """Re-read every bucket's total from the recorder (other processes spend too)."""
        if self._recorder is None or self._day is None:
            return
        usage = functools.cache(self._recorder.quota_usage)
        for name, bucket in self._settings.buckets.items():
            total = usage(period_start(self._day, bucket.period)).get(name, 0)
            with self._lock:
                self._spent[name] = total + self._earlier[name]

    def usage(self) -> dict[str, tuple[int, int]]:
        """bucket -> (units this run, units this period including earlier runs)."""
        with self._lock:
            names = {k for k, v in self._run.items() if v} | {
                k for k, v in self._spent.items() if v
            }
            return {name: (self._run[name], self._spent[name]) for name in sorted(names)}

    def closed(self) -> dict[str, str]:
        """bucket -> why it refused calls during this run (our limit reached, or the provider's)."""
        with self._lock:
            return dict(self._closed)
