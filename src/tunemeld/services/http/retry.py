"""The one retry engine and `Retry-After` parser, for provider calls and Cloudflare KV alike.

Exponential backoff (equal jitter unless turned off), a server's `Retry-After` honoured up to the
backoff cap, and a per-call time budget for attempts plus waits. The only importer of tenacity.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

import tenacity

from tunemeld.config import ProvidersSettings
from tunemeld.services.http.ledger import Status

__all__ = ["Retrier", "RetryPolicy", "Retryable", "retry_after"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one call is retried."""

    max_attempts: int
    backoff_initial: float
    backoff_max: float
    budget_seconds: float = math.inf
    """Time for attempts plus waits; a wait (or a `Retry-After`) past what is left gives up."""
    jitter: bool = True
    """Equal jitter: each wait is between half the backoff and all of it."""

    @classmethod
    def of(cls, settings: ProvidersSettings) -> RetryPolicy:
        """The providers' policy, from `providers.*` settings."""
        return cls(
            settings.max_attempts,
            settings.backoff_initial,
            settings.backoff_max,
            settings.retry_budget_seconds,
        )


class Retryable(Exception):
    """A failed attempt worth another try; `retry_after` is the server's hint in seconds."""

    def __init__(self, reason: str, *, status: Status, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class Retrier:
    """Runs one call under a policy, retrying `Retryable` failures; `attempts` counts the tries.

    A failure that is not `Retryable` passes through at once; when the policy gives up, the last
    `Retryable` is raised. `on_retry(failure, attempt, wait)` runs before each wait.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[Retryable, int, float], None] | None = None,
    ) -> None:
        self.policy = policy
        self.attempts = 0
        self._sleep = sleep
        self._on_retry = on_retry
        self._spent = 0.0
        self._plans: dict[int, tuple[float, bool]] = {}

    def __call__(self, attempt: Callable[[], T]) -> T:
        """`attempt()`'s result, after as many tries as the policy allows."""

        def timed() -> T:
            self.attempts += 1
            started = time.monotonic()
            try:
                return attempt()
            finally:
                self._spent += time.monotonic() - started

        def before_sleep(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome is not None else None
            if self._on_retry is not None and isinstance(failure, Retryable):
                self._on_retry(failure, state.attempt_number, self._plan(state)[0])

        retrying = tenacity.Retrying(
            stop=lambda state: self._plan(state)[1],
            wait=lambda state: self._plan(state)[0],
            retry=tenacity.retry_if_exception_type(Retryable),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(timed)

    def _plan(self, state: tenacity.RetryCallState) -> tuple[float, bool]:
        """(wait before the next attempt, give up now); computed once per attempt.

        tenacity's versions differ in whether `stop` or `wait` runs first, so both ask here.
        """
        number = state.attempt_number
        if number not in self._plans:
            failure = state.outcome.exception() if state.outcome is not None else None
            hint = failure.retry_after if isinstance(failure, Retryable) else None
            self._plans[number] = self._decide(number, hint)
        return self._plans[number]

    def _decide(self, number: int, hint: float | None) -> tuple[float, bool]:
        policy = self.policy
        remaining = policy.budget_seconds - self._spent
        if hint is not None:
            if hint > remaining:
                return 0.0, True
            wait = min(hint, policy.backoff_max)
        else:
            base = min(policy.backoff_max, policy.backoff_initial * 2 ** min(number - 1, 32))
            wait = base / 2 + random.uniform(0, base / 2) if policy.jitter else base
        give_up = number >= policy.max_attempts or wait > remaining
        if not give_up:
            self._spent += wait
        return wait, give_up


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
