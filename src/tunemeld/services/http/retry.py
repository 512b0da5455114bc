"""The retry plan: exponential backoff with jitter, `Retry-After`, a time budget (tenacity)."""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests
import tenacity

from tunemeld.config import ProvidersSettings
from tunemeld.exceptions import ProviderError, ProviderUnavailable
from tunemeld.services.http.ledger import Status

__all__ = ["CallState", "RetryableError", "retry_after"]


class RetryableError(Exception):
    """Internal: a failed attempt worth retrying; carries the error raised if retries run out."""

    def __init__(self, error: ProviderError, status: Status) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status


@dataclass
class CallState:
    """Per-call retry bookkeeping: time spent (attempts plus waits) and each attempt's decision."""

    settings: ProvidersSettings
    spent: float = 0.0
    plans: dict[int, tuple[float, bool]] = field(default_factory=dict)

    def plan(self, state: tenacity.RetryCallState) -> tuple[float, bool]:
        """(wait before the next attempt, give up now); computed once per attempt.

        tenacity's versions differ in whether `stop` or `wait` runs first, so both ask here.
        """
        number = state.attempt_number
        if number not in self.plans:
            self.plans[number] = self._decide(state)
        return self.plans[number]

    def _decide(self, state: tenacity.RetryCallState) -> tuple[float, bool]:
        settings = self.settings
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        retry_after = (
            failure.error.retry_after
            if isinstance(failure, RetryableError)
            and isinstance(failure.error, ProviderUnavailable)
            else None
        )
        remaining = settings.retry_budget_seconds - self.spent
        if retry_after is not None:
            if retry_after > remaining:
                return 0.0, True
            wait = min(retry_after, settings.backoff_max)
        else:
            exponent = min(state.attempt_number - 1, 32)
            base = min(settings.backoff_max, settings.backoff_initial * 2**exponent)
            wait = base / 2 + random.uniform(0, base / 2)  # "equal jitter": between base/2 and base
        give_up = state.attempt_number >= settings.max_attempts or wait > remaining
        if not give_up:
            self.spent += wait
        return wait, give_up

    def stop(self, state: tenacity.RetryCallState) -> bool:
        return self.plan(state)[1]

    def wait(self, state: tenacity.RetryCallState) -> float:
        return self.plan(state)[0]


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a `Retry-After` header (seconds or an HTTP date); None if absent or bad."""
    value = response.headers.get("Retry-After")
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
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite
        return None
    return max(0.0, seconds)
