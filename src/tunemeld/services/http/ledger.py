"""The call ledger: every provider attempt counted by provider and endpoint, for the run report."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

__all__ = ["CallLedger", "CallObserver", "Status"]

Status = int | str
"""An attempt's outcome: the HTTP status, or `timeout`, `connection` or `error` without one."""

CallObserver = Callable[[str, str, Status, int], None]
"""Called after each attempt with (provider, endpoint, status, units): the metrics hook."""


class CallLedger:
    """Counts every attempt (retries included) by provider and endpoint, with statuses and units.

    Thread-safe: one ledger is shared by all provider clients of a run, and the run report reads it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._units: dict[str, int] = defaultdict(int)
        self._endpoint_units: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._retries: dict[str, int] = defaultdict(int)
        self._endpoint_retries: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def record(self, provider: str, endpoint: str, status: Status, units: int) -> None:
        """Count one attempt and the quota units it cost."""
        with self._lock:
            self._calls[provider][endpoint] += 1
            self._statuses[provider][f"{endpoint} {status}"] += 1
            self._units[provider] += units
            self._endpoint_units[provider][endpoint] += units

    def record_retry(self, provider: str, endpoint: str = "") -> None:
        """Count one retry scheduled by the retry policy."""
        with self._lock:
            self._retries[provider] += 1
            if endpoint:
                self._endpoint_retries[provider][endpoint] += 1

    def endpoint_units(self) -> dict[str, dict[str, int]]:
        """provider -> endpoint -> quota units spent."""
        with self._lock:
            return {p: dict(e) for p, e in self._endpoint_units.items()}

    def endpoint_retries(self) -> dict[str, dict[str, int]]:
        """provider -> endpoint -> retries scheduled."""
        with self._lock:
            return {p: dict(e) for p, e in self._endpoint_retries.items()}

    def calls(self) -> dict[str, dict[str, int]]:
        """provider -> endpoint -> attempts."""
        with self._lock:
            return {p: dict(e) for p, e in self._calls.items()}

    def statuses(self) -> dict[str, dict[str, int]]:
        """provider -> "endpoint status" -> attempts, e.g. {"YouTube": {"videos 200": 3}}."""
        with self._lock:
            return {p: dict(s) for p, s in self._statuses.items()}

    def quota_units(self) -> dict[str, int]:
        """provider -> quota units spent."""
        with self._lock:
            return dict(self._units)

    def retries(self) -> dict[str, int]:
        """provider -> retries scheduled."""
        with self._lock:
            return dict(self._retries)

    def total_calls(self, provider: str | None = None) -> int:
        """All attempts, or one provider's."""
        with self._lock:
            if provider is not None:
                return sum(self._calls.get(provider, {}).values())
            return sum(sum(e.values()) for e in self._calls.values())
