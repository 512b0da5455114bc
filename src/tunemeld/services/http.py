"""HTTP for every provider call: sessions, timeouts, the retry policy and the call/quota ledger.

This is the only module that imports tenacity, and the only place requests errors are translated
into tunemeld errors, so every provider client gets the same timeouts, retries and accounting.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import requests
import structlog
import tenacity
from requests.adapters import BaseAdapter

from tunemeld.config import ProvidersSettings
from tunemeld.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderPayloadError,
    ProviderUnavailable,
    QuotaExhausted,
)

__all__ = [
    "CallLedger",
    "CallObserver",
    "HttpClient",
    "QuotaBudget",
    "QuotaRecorder",
    "Status",
    "build_session",
    "period_start",
    "route_url",
]

log = structlog.get_logger()

Status = int | str
"""An attempt's outcome: the HTTP status, or `timeout`, `connection` or `error` without one."""

CallObserver = Callable[[str, str, Status, int], None]
"""Called after each attempt with (provider, endpoint, status, units): the metrics hook."""

_USER_AGENT = "tunemeld/0.1 (+https://github.com/EliJaghab/tunemeld)"
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "QUOTA_EXCEEDED"})
_AUTH_REASONS = frozenset({"keyInvalid", "invalid_client", "unauthorized_client"})
_MESSAGE_CHARS = 160
_SECRET_NAMES = ("key", "token", "secret", "auth", "password", "signature")


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


def build_session(adapter: BaseAdapter | None = None) -> requests.Session:
    """A fresh Session for one provider; `adapter` (the offline sample world) answers every URL.

    A session per provider keeps connection pools and their failures apart.
    """
    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    if adapter is not None:
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return session


def route_url(url: str, settings: ProvidersSettings) -> tuple[str, str | None]:
    """(URL to send to, Host header to send) under the `base_url` / `base_urls` overrides.

    Only the scheme and host[:port] change; path and query stay and the Host header carries the
    original host, so a simulator or proxy routes by host like the real internet does.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    origin = settings.origin_for(host) if host else None
    if origin is None:
        return url, None
    target = urlsplit(origin)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, "")), parts.netloc


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

    Limits and costs come from settings (`providers.costs`, `providers.buckets`). With a
    `recorder` (the store), every unit is recorded there before its attempt is sent, by one
    atomic conditional increment that refuses to pass the limit, so a crash never leaves a
    spent unit unrecorded and processes sharing the store share one limit. Units are refunded
    when nothing reached the provider. A bucket the provider itself reports spent (403
    quotaExceeded) is closed for the rest of the run. Without a recorder the budget only counts
    in memory (`spent` seeds it). Thread-safe: one budget is shared by every client of a run.
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
        by_day: dict[date, Mapping[str, int]] = {}
        spent: dict[str, int] = {}
        earlier: dict[str, int] = {}
        for name, bucket in settings.buckets.items():
            total = 0
            home = period_start(day, bucket.period)
            for each in _period_days(day, bucket.period):
                if each not in by_day:
                    by_day[each] = usage_of(each)
                units = by_day[each].get(name, 0)
                total += units
                if each != home:
                    earlier[name] = earlier.get(name, 0) + units
            spent[name] = total
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
                closed = f"{self._spent[name]}/{bucket.limit} units used this {bucket.period}"
                self._closed[name] = closed
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
                return self._closed.setdefault(
                    name, f"{used}/{bucket.limit} units used this {bucket.period}"
                )
        with self._lock:
            self._spent[name] = total + self._earlier[name]
            self._run[name] += units
        return None

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
        if self._recorder is not None and self._day is not None and units > 0:
            home = period_start(self._day, self._settings.bucket(name).period)
            at = datetime.now(timezone.utc)
            total = self._recorder.refund_quota(home, name, units, at=at)
            with self._lock:
                self._spent[name] = total + self._earlier[name]
                self._run[name] -= units
            return
        with self._lock:
            self._spent[name] -= units
            self._run[name] -= units

    def close(self, bucket: str, reason: str) -> None:
        """Stop spending on `bucket` for the rest of the run (the provider said it is spent)."""
        with self._lock:
            self._closed.setdefault(bucket, reason)

    def calls_left(self, provider: str, endpoint: str) -> int | None:
        """How many more calls of this endpoint its bucket can pay for; None when unlimited.

        From what this process last saw: another process may have spent some since, which
        the store's conditional increment still refuses.
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
        name = self.bucket_of(provider, endpoint)
        bucket = self._settings.bucket(name)
        units = self._settings.cost(provider, endpoint).units
        with self._lock:
            if name in self._closed:
                return True
            if bucket.limit is not None and units > 0 and self._spent[name] + units > bucket.limit:
                self._closed[name] = (
                    f"{self._spent[name]}/{bucket.limit} units used this {bucket.period}"
                )
                return True
            return False

    def refresh(self) -> None:
        """Re-read every bucket's total from the recorder (other processes spend too)."""
        if self._recorder is None or self._day is None:
            return
        by_day: dict[date, Mapping[str, int]] = {}
        for name, bucket in self._settings.buckets.items():
            home = period_start(self._day, bucket.period)
            if home not in by_day:
                by_day[home] = self._recorder.quota_usage(home)
            with self._lock:
                self._spent[name] = by_day[home].get(name, 0) + self._earlier[name]

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


class _RetryableError(Exception):
    """Internal: a failed attempt worth retrying; carries the error raised if retries run out."""

    def __init__(self, error: ProviderError, status: Status) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status


@dataclass
class _CallState:
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
            if isinstance(failure, _RetryableError)
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


def _retry_after(response: requests.Response) -> float | None:
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


def _body_json(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _reasons_and_message(body: object) -> tuple[set[str], str]:
    """Machine reasons and the human message of the error envelopes in providers.md.

    Spotify `{error: {status, message, reason?}}`, OAuth `{error: str, error_description: str}`,
    Google `{error: {code, message, errors: [{reason}]}}`, RapidAPI `{message: str}`.
    """
    reasons: set[str] = set()
    messages: list[str] = []
    if not isinstance(body, dict):
        return reasons, ""
    error = body.get("error")
    if isinstance(error, str):
        reasons.add(error)
        if isinstance(body.get("error_description"), str):
            messages.append(body["error_description"])
    elif isinstance(error, dict):
        if isinstance(error.get("reason"), str):
            reasons.add(error["reason"])
        if isinstance(error.get("message"), str):
            messages.append(error["message"])
        details = error.get("errors")
        if isinstance(details, list):
            reasons.update(
                d["reason"]
                for d in details
                if isinstance(d, dict) and isinstance(d.get("reason"), str)
            )
    if isinstance(body.get("message"), str):
        messages.append(body["message"])
    return reasons, " ".join(messages)


def _is_secret_name(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_NAMES)


def _secrets(
    params: Mapping[str, str | int] | None,
    headers: Mapping[str, str] | None,
    auth: tuple[str, str] | None,
) -> list[str]:
    """The credentials of one request (key params, auth headers, basic auth), longest first."""
    found = [str(v) for k, v in (params or {}).items() if _is_secret_name(k)]
    for name, value in (headers or {}).items():
        if _is_secret_name(name):
            found += [value, *value.split()[1:]]  # "Bearer <token>": the token alone too
    found += list(auth or ())
    return sorted({s for s in found if s.strip()}, key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    """Drop every secret from a provider's message and keep it short."""
    for secret in secrets:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text[:_MESSAGE_CHARS]


class HttpClient:
    """One provider's HTTP: timeouts, retries with backoff and jitter, a concurrency cap, a ledger.

    Errors name the provider and endpoint but never the URL (YouTube's key is a query parameter).
    """

    def __init__(
        self,
        provider: str,
        session: requests.Session,
        settings: ProvidersSettings,
        ledger: CallLedger,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_call: CallObserver | None = None,
        budget: QuotaBudget | None = None,
    ) -> None:
        self.provider = provider
        self.ledger = ledger
        self.budget = budget
        self._session = session
        self._settings = settings
        self._sleep = sleep
        self._on_call = on_call
        self._slots = threading.BoundedSemaphore(settings.max_concurrency)

    def get_json(
        self,
        endpoint: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        units: int = 1,
    ) -> object:
        """GET and decode JSON; a body that is not JSON is retried, then a ProviderPayloadError."""
        _, payload = self._call(
            "GET", endpoint, url, params=params, headers=headers, units=units, want_json=True
        )
        return payload

    def post_json(
        self,
        endpoint: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        units: int = 0,
    ) -> object:
        """POST a form and decode the JSON answer."""
        _, payload = self._call(
            "POST",
            endpoint,
            url,
            data=data,
            headers=headers,
            auth=auth,
            units=units,
            want_json=True,
        )
        return payload

    def get_text(
        self,
        endpoint: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        units: int = 0,
    ) -> str:
        """GET a page (HTML) as text."""
        response, _ = self._call("GET", endpoint, url, params=params, headers=headers, units=units)
        return response.text

    def close(self) -> None:
        """Close the session and its connection pools."""
        self._session.close()

    def _decode(self, endpoint: str, response: requests.Response) -> object:
        """The body as JSON, or a retryable failure carrying a ProviderPayloadError."""
        try:
            return response.json()
        except ValueError as exc:
            error = ProviderPayloadError(
                f"{self.provider} {endpoint} answered HTTP {response.status_code} with a body "
                "that is not JSON.",
                service=self.provider,
                endpoint=endpoint,
                problem="the body is not valid JSON (malformed or cut short)",
                status=response.status_code,
                hint="The provider may be down or behind a proxy page; retry later.",
            )
            raise _RetryableError(error, "invalid_json") from exc

    def _call(
        self,
        method: str,
        endpoint: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        units: int,
        want_json: bool = False,
    ) -> tuple[requests.Response, object]:
        secrets = _secrets(params, headers, auth)
        call = _CallState(self._settings)
        target, host = route_url(url, self._settings)
        if host is not None:
            headers = {**(headers or {}), "Host": host}

        def attempt() -> tuple[requests.Response, object]:
            started = time.monotonic()
            try:
                return self._attempt(
                    method, endpoint, target, params, data, headers, auth, units, secrets, want_json
                )
            finally:
                call.spent += time.monotonic() - started

        def before_sleep(state: tenacity.RetryCallState) -> None:
            outcome = state.outcome
            failure = outcome.exception() if outcome is not None else None
            status = failure.status if isinstance(failure, _RetryableError) else _kind(failure)
            self.ledger.record_retry(self.provider, endpoint)
            log.warning(
                "retry_scheduled",
                provider=self.provider,
                endpoint=endpoint,
                attempt=state.attempt_number,
                wait_s=round(call.plan(state)[0], 3),
                status=status,
            )

        retrying = tenacity.Retrying(
            stop=call.stop,
            wait=call.wait,
            retry=tenacity.retry_if_exception_type(_RetryableError),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _RetryableError as failure:
            self._log_failure(endpoint, failure.error, failure.status, len(call.plans))
            raise failure.error from failure.__cause__
        except ProviderError as error:
            self._log_failure(endpoint, error, error.status, len(call.plans) + 1)
            raise

    def _log_failure(
        self, endpoint: str, error: ProviderError, status: Status | None, attempts: int
    ) -> None:
        log.warning(
            "provider_call_failed",
            provider=self.provider,
            endpoint=endpoint,
            status=status,
            error=type(error).__name__,
            attempts=attempts,
        )

    def _attempt(
        self,
        method: str,
        endpoint: str,
        url: str,
        params: Mapping[str, str | int] | None,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
        units: int,
        secrets: list[str],
        want_json: bool,
    ) -> tuple[requests.Response, object]:
        """One request under the concurrency cap; raises _RetryableError or a final error.

        The quota budget is asked first: a spent bucket raises QuotaExhausted without sending.
        """
        where = f"{self.provider} {endpoint}"
        if self.budget is not None:
            self.budget.reserve(self.provider, endpoint, units)
        with self._slots:
            try:
                response = self._session.request(
                    method,
                    url,
                    params=dict(params) if params else None,
                    data=dict(data) if data else None,
                    headers=dict(headers) if headers else None,
                    auth=auth,
                    timeout=(self._settings.connect_timeout, self._settings.read_timeout),
                )
            except requests.exceptions.ConnectTimeout as exc:
                self._refund(endpoint, units)
                self._record(endpoint, "timeout", 0)
                raise self._unavailable(
                    f"{where} did not accept a connection in time.", endpoint, "timeout"
                ) from exc
            except requests.exceptions.Timeout as exc:
                self._record(endpoint, "timeout", units)
                raise self._unavailable(
                    f"{where} did not answer in time.", endpoint, "timeout"
                ) from exc
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                self._refund(endpoint, units)
                self._record(endpoint, "connection", 0)
                raise self._unavailable(
                    f"{where} could not be reached ({_kind(exc)}).", endpoint, "connection"
                ) from exc
            except requests.exceptions.RequestException as exc:
                self._refund(endpoint, units)
                self._record(endpoint, "error", 0)
                raise ProviderError(
                    f"{where} request failed ({_kind(exc)}).",
                    service=self.provider,
                    endpoint=endpoint,
                ) from exc
        if response.status_code >= 400:
            self._record(endpoint, response.status_code, units)
            failure = self._classify(endpoint, response, secrets)
            if isinstance(failure, QuotaExhausted) and self.budget is not None:
                failure.bucket = self.budget.bucket_of(self.provider, endpoint)
                self.budget.close(failure.bucket, f"{self.provider} answered {failure.status}")
            raise failure
        if not want_json:
            self._record(endpoint, response.status_code, units)
            return response, None
        try:
            payload = self._decode(endpoint, response)
        except _RetryableError:
            self._record(endpoint, "invalid_json", units)
            raise
        self._record(endpoint, response.status_code, units)
        return response, payload

    def _refund(self, endpoint: str, units: int) -> None:
        if self.budget is not None:
            self.budget.refund(self.provider, endpoint, units)

    def _record(self, endpoint: str, status: Status, units: int) -> None:
        self.ledger.record(self.provider, endpoint, status, units)
        if self._on_call is not None:
            self._on_call(self.provider, endpoint, status, units)

    def _unavailable(
        self, message: str, endpoint: str, status: Status, retry_after: float | None = None
    ) -> _RetryableError:
        error = ProviderUnavailable(
            message,
            service=self.provider,
            endpoint=endpoint,
            status=status if isinstance(status, int) else None,
            retry_after=retry_after,
            hint="The provider is unavailable or rate-limiting us; the next run retries.",
        )
        return _RetryableError(error, status)

    def _classify(
        self, endpoint: str, response: requests.Response, secrets: list[str]
    ) -> ProviderError | _RetryableError:
        """Map an error status (and the body's reasons) to a final error or a retryable failure."""
        status = response.status_code
        reasons, message = _reasons_and_message(_body_json(response))
        detail = _scrub(message, secrets)
        said = f": {detail}" if detail else ""
        where = f"{self.provider} {endpoint} answered HTTP {status}"
        svc, ep = self.provider, endpoint
        if status in (403, 429) and (
            reasons & _QUOTA_REASONS or (status == 429 and "quota" in message.lower())
        ):
            return QuotaExhausted(
                f"{where}: the quota is spent{said}",
                service=svc,
                endpoint=ep,
                status=status,
                hint="Wait for the provider's quota to refill, or raise the plan's limit.",
            )
        if status in (401, 403) or reasons & _AUTH_REASONS:
            return ProviderAuthError(
                f"{where}: credentials refused{said}",
                service=svc,
                endpoint=ep,
                status=status,
                hint=f"Check the {svc} credentials (`inv config.show` lists what is set).",
            )
        if status == 429 or status >= 500:
            return self._unavailable(f"{where}{said}", endpoint, status, _retry_after(response))
        return ProviderError(f"{where}{said}", service=svc, endpoint=ep, status=status)


def _kind(exc: BaseException | None) -> str:
    """A short, secret-free description of a foreign exception: its class name."""
    return type(exc).__name__ if exc is not None else "unknown"
