"""The one retry engine and `Retry-After` parser on their own; test_client covers their use."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tunemeld.services.http.retry import Retrier, Retryable, RetryPolicy, retry_after

STEADY = RetryPolicy(max_attempts=4, backoff_initial=1.0, backoff_max=3.0, jitter=False)


class Script:
    """Fails with the given exceptions in turn, then answers "ok"; records the waits."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.slept: list[float] = []

    def __call__(self) -> str:
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def run(script: Script, policy: RetryPolicy = STEADY) -> tuple[Retrier, str]:
    retrier = Retrier(policy, sleep=script.slept.append)
    return retrier, retrier(script)


class TestRetrier:
    """Backoff, hints, the give-up rules and the attempt count."""

    def test_retryable_failures_when_followed_by_success_wait_exponentially_capped(self) -> None:
        script = Script(*(Retryable("503", status=503) for _ in range(3)))
        retrier, answer = run(script)
        assert answer == "ok"
        assert script.slept == [1.0, 2.0, 3.0]
        assert retrier.attempts == 4

    def test_retry_after_when_given_is_waited_up_to_the_backoff_cap(self) -> None:
        script = Script(
            Retryable("429", status=429, retry_after=0.5),
            Retryable("429", status=429, retry_after=60.0),
        )
        run(script)
        assert script.slept == [0.5, 3.0]

    def test_failures_when_they_outlast_max_attempts_raise_the_last_one(self) -> None:
        last = Retryable("last", status="timeout")
        script = Script(
            *(Retryable("x", status=500) for _ in range(3)), last, Retryable("y", status=1)
        )
        retrier = Retrier(STEADY, sleep=script.slept.append)
        with pytest.raises(Retryable) as caught:
            retrier(script)
        assert caught.value is last
        assert retrier.attempts == 4
        assert len(script.slept) == 3

    def test_other_failure_when_raised_passes_through_without_retry(self) -> None:
        script = Script(Retryable("x", status=500), KeyError("not retried"))
        retrier = Retrier(STEADY, sleep=script.slept.append)
        with pytest.raises(KeyError):
            retrier(script)
        assert retrier.attempts == 2
        assert script.slept == [1.0]

    def test_retry_after_when_past_the_time_budget_gives_up_at_once(self) -> None:
        policy = RetryPolicy(5, 1.0, 100.0, budget_seconds=10.0, jitter=False)
        script = Script(Retryable("429", status=429, retry_after=11.0))
        with pytest.raises(Retryable):
            Retrier(policy, sleep=script.slept.append)(script)
        assert script.slept == []

    def test_waits_when_they_would_pass_the_budget_stop_early(self) -> None:
        policy = RetryPolicy(10, 2.0, 100.0, budget_seconds=7.0, jitter=False)
        script = Script(*(Retryable("503", status=503) for _ in range(9)))
        with pytest.raises(Retryable):
            Retrier(policy, sleep=script.slept.append)(script)
        assert script.slept == [2.0, 4.0]  # 8.0 more would pass the 7 s budget

    def test_jitter_when_on_keeps_each_wait_between_half_and_all_of_the_backoff(self) -> None:
        policy = RetryPolicy(6, 1.0, 8.0)
        script = Script(*(Retryable("503", status=503) for _ in range(5)))
        run(script, policy)
        for wait, base in zip(script.slept, [1.0, 2.0, 4.0, 8.0, 8.0], strict=True):
            assert base / 2 <= wait <= base

    def test_on_retry_when_waiting_sees_the_failure_attempt_and_wait(self) -> None:
        failure = Retryable("503", status=503)
        seen: list[tuple[Retryable, int, float]] = []
        retrier = Retrier(STEADY, sleep=lambda _: None, on_retry=lambda *a: seen.append(a))
        retrier(Script(failure))
        assert seen == [(failure, 1, 1.0)]


class TestRetryAfter:
    """`Retry-After` is seconds or an HTTP date; anything else is no hint."""

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [("3", 3.0), (" 1.5 ", 1.5), ("-4", 0.0), ("0", 0.0)],
    )
    def test_seconds_when_given_are_read_and_never_negative(
        self, value: str, seconds: float
    ) -> None:
        assert retry_after(value) == seconds

    @pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "Mon, 99 Foo 2026"])
    def test_value_when_absent_or_bad_is_no_hint(self, value: str | None) -> None:
        assert retry_after(value) is None

    def test_http_date_when_given_is_the_seconds_until_then(self) -> None:
        later = datetime.now(timezone.utc) + timedelta(seconds=120)
        seconds = retry_after(format_datetime(later, usegmt=True))
        assert seconds is not None
        assert 100 <= seconds <= 120

    def test_http_date_when_past_is_zero(self) -> None:
        earlier = datetime.now(timezone.utc) - timedelta(hours=1)
        assert retry_after(format_datetime(earlier, usegmt=True)) == 0.0
