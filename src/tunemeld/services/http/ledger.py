"""The call ledger: every provider attempt counted by provider and endpoint, for the run report."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["CallLedger", "CallObserver", "Status"]

Status = int | str
"""An attempt's outcome: the HTTP status, or `timeout`, `connection` or `error` without one."""

CallObserver = Callable[[str, str, Status, int], None]
"""Called after each attempt with (provider, endpoint, status, units): the metrics hook."""

T = TypeVar("T")


@dataclass
class _Counts:
    """One endpoint's attempts, quota units, retries and attempts by outcome."""

    calls: int = 0
    units: int = 0
    retries: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


class CallLedger:
    """Counts every attempt (retries included) per provider endpoint; thread-safe, one per run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, _Counts]] = defaultdict(lambda: defaultdict(_Counts))

    def record(self, provider: str, endpoint: str, status: Status, units: int) -> None:
        """Count one attempt, its outcome and the quota units it cost."""
        with self._lock:
            counts = self._counts[provider][endpoint]
            counts.calls += 1
            counts.units += units
            counts.statuses[str(status)] = counts.statuses.get(str(status), 0) + 1

    def record_retry(self, provider: str, endpoint: str) -> None:
        """Count one retry scheduled by the retry policy."""
        with self._lock:
            self._counts[provider][endpoint].retries += 1

    def _per_endpoint(
        self, read: Callable[[_Counts], T], *, retried: bool = False
    ) -> dict[str, dict[str, T]]:
        """provider -> endpoint -> `read(counts)`, for endpoints called (or, `retried`, retried)."""
        with self._lock:
            found = {
                provider: {
                    name: read(c)
                    for name, c in endpoints.items()
                    if (c.retries if retried else c.calls)
                }
                for provider, endpoints in self._counts.items()
            }
        return {provider: endpoints for provider, endpoints in found.items() if endpoints}

    def calls(self) -> dict[str, dict[str, int]]:
        """provider -> endpoint -> attempts."""
        return self._per_endpoint(lambda c: c.calls)

    def statuses(self) -> dict[str, dict[str, dict[str, int]]]:
        """provider -> endpoint -> outcome -> attempts, e.g. {"YouTube": {"videos": {"200": 3}}}."""
        return self._per_endpoint(lambda c: dict(c.statuses))

    def endpoint_units(self) -> dict[str, dict[str, int]]:
        """provider -> endpoint -> quota units spent."""
        return self._per_endpoint(lambda c: c.units)

    def endpoint_retries(self) -> dict[str, dict[str, int]]:
        """provider -> endpoint -> retries scheduled."""
        return self._per_endpoint(lambda c: c.retries, retried=True)

    def quota_units(self) -> dict[str, int]:
        """provider -> quota units spent."""
        return {p: sum(e.values()) for p, e in self.endpoint_units().items()}

    def retries(self) -> dict[str, int]:
        """provider -> retries scheduled."""
        return {p: sum(e.values()) for p, e in self.endpoint_retries().items()}

    def total_calls(self, provider: str | None = None) -> int:
        """All attempts, or one provider's."""
        calls = self.calls()
        chosen = calls.values() if provider is None else [calls.get(provider, {})]
        return sum(sum(e.values()) for e in chosen)
