"""Errors tunemeld raises on purpose; (+X) marks a second base class.

TunemeldError                           .hint: what the user should do next
├── ConfigError(+ValueError)            bad or missing settings                 -> exit 2
├── ProviderError                       .service, .endpoint
│   ├── ProviderUnavailable(+Transient) timeout, connection error, 5xx, 429 after retries
│   ├── ProviderAuthError               401/403: never retried
│   ├── QuotaExhausted                  a quota bucket is spent (.bucket): never retried
│   └── ProviderPayloadError(+ValueError)  JSON not in the documented shape (.problem)
├── LookupsDeferred                     a spent bucket left too many lookups for later: skipped
├── StoreError ── StoreUnavailable(+Transient)                                  -> HTTP 503
├── RunLeaseHeld                        another run holds the store's run lease (.holder) -> exit 2
├── BadRequest(+ValueError)             a malformed API request (absurd path part)   -> HTTP 400
└── NotFound(+LookupError)              unknown genre/service, or no data yet   -> HTTP 404

This module imports nothing from tunemeld, so every layer can raise these.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "ConfigError",
    "LookupsDeferred",
    "NotFound",
    "ProviderAuthError",
    "ProviderError",
    "ProviderPayloadError",
    "ProviderUnavailable",
    "QuotaExhausted",
    "RunLeaseHeld",
    "StoreError",
    "StoreUnavailable",
    "Transient",
    "TunemeldError",
]


class Transient:
    """Mixin: retrying later may succeed; the retry policy keys on it."""


class TunemeldError(Exception):
    """Base of every error tunemeld raises on purpose; `hint` says what to do next."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message


class ConfigError(TunemeldError, ValueError):
    """Settings are invalid or missing; the CLI exits with code 2."""


class ProviderError(TunemeldError):
    """A streaming or video provider call failed; carries which service and endpoint."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        endpoint: str,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.service = service
        self.endpoint = endpoint
        self.status = status


class ProviderUnavailable(ProviderError, Transient):
    """Timeout, connection error, 5xx or 429: worth retrying later.

    `retry_after` carries the provider's Retry-After in seconds when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        endpoint: str,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, service=service, endpoint=endpoint, status=status, hint=hint)
        self.retry_after = retry_after


class ProviderAuthError(ProviderError):
    """The provider refused our credentials (401/403); retrying cannot help."""


class QuotaExhausted(ProviderError):
    """A quota bucket is spent (the provider said so, or our own daily budget is used up).

    `bucket` names the bucket (`youtube_search`, ...) when known; wait for it to refill.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        endpoint: str,
        status: int | None = None,
        bucket: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, service=service, endpoint=endpoint, status=status, hint=hint)
        self.bucket = bucket


class ProviderPayloadError(ProviderError, ValueError):
    """The provider answered, but not in the documented shape; `problem` says what was wrong.

    For example `problem="tracks.items[3].name is null, expected a string"`.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        endpoint: str,
        problem: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, service=service, endpoint=endpoint, status=status, hint=hint)
        self.problem = problem if problem is not None else message

    @property
    def provider(self) -> str:
        """The provider whose answer was wrong (the same as `service`)."""
        return self.service


class LookupsDeferred(TunemeldError):
    """Too many lookups of a unit were deferred by a spent quota bucket to keep its result.

    The unit is skipped (its last good data stays) and the next run retries; not a failure.
    """

    def __init__(
        self, message: str, *, bucket: str, deferred: int, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.bucket = bucket
        self.deferred = deferred


class StoreError(TunemeldError):
    """The store refused an operation."""


class StoreUnavailable(StoreError, Transient):
    """The store cannot be reached or opened; the API answers 503."""


class RunLeaseHeld(TunemeldError):
    """Another run holds the store's run lease (one writer at a time); the CLI exits with code 2.

    `holder` describes the running run (id, start, host, pid) in words.
    """

    def __init__(self, message: str, *, holder: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.holder = holder


class BadRequest(TunemeldError, ValueError):
    """The request itself is malformed (say, an absurdly long path part); the API answers 400."""


class NotFound(TunemeldError, LookupError):
    """Unknown genre or service, or no data yet; the API answers 404."""
