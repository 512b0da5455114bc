"""One provider's HTTP client: a session, timeouts, retries, a concurrency cap, errors translated.

The only place requests errors become tunemeld errors, so every provider client gets the same
timeouts, retries and accounting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
import structlog
from requests.adapters import BaseAdapter

from tunemeld.config import ProvidersSettings
from tunemeld.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderPayloadError,
    ProviderUnavailable,
    QuotaExhausted,
)
from tunemeld.services.http.envelope import body_json, reasons_and_message, scrub, secrets_of
from tunemeld.services.http.ledger import CallLedger, CallObserver, Status
from tunemeld.services.http.quota import QuotaBudget
from tunemeld.services.http.retry import Retrier, Retryable, RetryPolicy, retry_after

__all__ = ["HttpClient", "build_session", "route_url"]

log = structlog.get_logger()

_USER_AGENT = "tunemeld/0.1 (+https://github.com/EliJaghab/tunemeld)"
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "QUOTA_EXCEEDED"})
_AUTH_REASONS = frozenset({"keyInvalid", "invalid_client", "unauthorized_client"})


def build_session(adapter: BaseAdapter | None = None) -> requests.Session:
    """A fresh Session per provider (pools and failures stay apart); `adapter` answers every URL."""
    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    if adapter is not None:
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return session


def route_url(url: str, settings: ProvidersSettings) -> tuple[str, str | None]:
    """(URL to send to, Host header to send) under the `base_url` / `base_urls` overrides.

    Path and query stay and the Host header keeps the original, so a proxy can route by host.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    origin = settings.origin_for(host) if host else None
    if origin is None:
        return url, None
    target = urlsplit(origin)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, "")), parts.netloc


class _ProviderRetryable(Retryable):
    """A failed attempt worth retrying; carries the error raised if retries run out."""

    def __init__(
        self, error: ProviderError, status: Status, retry_after: float | None = None
    ) -> None:
        super().__init__(error.message, status=status, retry_after=retry_after)
        self.error = error


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
        self._policy = RetryPolicy.of(settings)

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
            raise _ProviderRetryable(error, "invalid_json") from exc

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
        """One logical call: attempts under the retry engine, the failure logged once."""
        secrets = secrets_of(params, headers, auth)
        target, host = route_url(url, self._settings)
        if host is not None:
            headers = {**(headers or {}), "Host": host}

        def attempt() -> tuple[requests.Response, object]:
            """One request under the concurrency cap, after the quota budget grants its units."""
            if self.budget is not None:
                self.budget.reserve(self.provider, endpoint, units)
            with self._slots:
                try:
                    response = self._session.request(
                        method,
                        target,
                        params=dict(params) if params else None,
                        data=dict(data) if data else None,
                        headers=dict(headers) if headers else None,
                        auth=auth,
                        timeout=(self._settings.connect_timeout, self._settings.read_timeout),
                    )
                except requests.exceptions.RequestException as exc:
                    raise self._transport_failure(endpoint, units, exc) from exc
            status: Status = response.status_code
            if response.status_code >= 400:
                self._record(endpoint, status, units)
                failure = self._classify(endpoint, response, secrets)
                if isinstance(failure, QuotaExhausted) and self.budget is not None:
                    failure.bucket = self.budget.bucket_of(self.provider, endpoint)
                    self.budget.close(failure.bucket, f"{self.provider} answered {failure.status}")
                raise failure
            try:
                payload = self._decode(endpoint, response) if want_json else None
            except _ProviderRetryable:
                status = "invalid_json"
                raise
            finally:
                self._record(endpoint, status, units)
            return response, payload

        def on_retry(failure: Retryable, number: int, wait: float) -> None:
            self.ledger.record_retry(self.provider, endpoint)
            log.warning(
                "retry_scheduled",
                provider=self.provider,
                endpoint=endpoint,
                attempt=number,
                wait_s=round(wait, 3),
                status=failure.status,
            )

        retrier = Retrier(self._policy, sleep=self._sleep, on_retry=on_retry)
        try:
            return retrier(attempt)
        except (_ProviderRetryable, ProviderError) as failure:
            error = failure.error if isinstance(failure, _ProviderRetryable) else failure
            log.warning(
                "provider_call_failed",
                provider=self.provider,
                endpoint=endpoint,
                status=failure.status,
                error=type(error).__name__,
                attempts=retrier.attempts,
            )
            if error is failure:
                raise
            raise error from failure.__cause__

    def _transport_failure(
        self, endpoint: str, units: int, exc: requests.exceptions.RequestException
    ) -> ProviderError | _ProviderRetryable:
        """Translate a requests error, refunding the units of a request that never left."""
        where = f"{self.provider} {endpoint}"
        connect = isinstance(exc, requests.exceptions.ConnectTimeout)
        if isinstance(exc, requests.exceptions.Timeout) and not connect:  # sent: units spent
            self._record(endpoint, "timeout", units)
            return self._unavailable(f"{where} did not answer in time.", endpoint, "timeout")
        if self.budget is not None:
            self.budget.refund(self.provider, endpoint, units)
        if connect:
            status, message = "timeout", "did not accept a connection in time."
        elif isinstance(
            exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
        ):
            status, message = "connection", f"could not be reached ({type(exc).__name__})."
        else:
            self._record(endpoint, "error", 0)
            return ProviderError(
                f"{where} request failed ({type(exc).__name__}).",
                service=self.provider,
                endpoint=endpoint,
            )
        self._record(endpoint, status, 0)
        return self._unavailable(f"{where} {message}", endpoint, status)

    def _record(self, endpoint: str, status: Status, units: int) -> None:
        self.ledger.record(self.provider, endpoint, status, units)
        if self._on_call is not None:
            self._on_call(self.provider, endpoint, status, units)

    def _unavailable(
        self, message: str, endpoint: str, status: Status, retry_after: float | None = None
    ) -> _ProviderRetryable:
        error = ProviderUnavailable(
            message,
            service=self.provider,
            endpoint=endpoint,
            status=status if isinstance(status, int) else None,
            retry_after=retry_after,
            hint="The provider is unavailable or rate-limiting us; the next run retries.",
        )
        return _ProviderRetryable(error, status, retry_after)

    def _classify(
        self, endpoint: str, response: requests.Response, secrets: list[str]
    ) -> ProviderError | _ProviderRetryable:
        """Map an error status (and the body's reasons) to a final error or a retryable failure."""
        status = response.status_code
        reasons, message = reasons_and_message(body_json(response))
        detail = scrub(message, secrets)
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
            return self._unavailable(
                f"{where}{said}", endpoint, status, retry_after(response.headers.get("Retry-After"))
            )
        return ProviderError(f"{where}{said}", service=svc, endpoint=ep, status=status)
