"""A cache in Cloudflare Workers KV, spoken to over its REST API, shared by every API process.

KV is a convenience, never a dependency: every call has short timeouts and a few tries (on 429
and 5xx), and a failure only counts a miss or an error and logs a warning (never the token), so
the API answers from the store instead. After `failure_threshold` failures in a row the cache
stops calling KV for `cooldown_seconds`, so a dead KV costs requests nothing. KV's limits (TTL
at least 60 s, keys at most 512 bytes, one write per second per key) are kept here.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests
import structlog

from tunemeld.config._url import REDACTED
from tunemeld.services.cache.base import CacheStats, CountedLookups
from tunemeld.services.http.retry import Retrier, Retryable, RetryPolicy, retry_after
from tunemeld.services.monitoring import Metrics

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_KEY_BYTES",
    "MIN_TTL_SECONDS",
    "CloudflareKVCache",
]

log = structlog.get_logger()

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
MIN_TTL_SECONDS = 60
"""KV refuses an `expiration_ttl` below 60 seconds."""
MAX_KEY_BYTES = 512
WRITE_INTERVAL_SECONDS = 1.0
"""KV accepts one write per second to the same key."""
_LIST_LIMIT = 1000
_BULK_DELETE_LIMIT = 10_000
_MAX_LIST_PAGES = 1000


def _envelope_problem(response: requests.Response) -> str | None:
    """None when the body is a success envelope; else the first error KV gave, in words."""
    try:
        body: Any = response.json()
    except ValueError:
        return f"HTTP {response.status_code} without a JSON envelope"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code} with an unexpected body"
    if body.get("success") is True:
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return f"HTTP {response.status_code}, error {first.get('code')}: {first.get('message')}"
    return f"HTTP {response.status_code}, success is not true"


class CloudflareKVCache(CountedLookups):
    """The `cloudflare` cache backend: one KV namespace, keys under `key_prefix`."""

    name = "cloudflare"

    def __init__(
        self,
        *,
        account_id: str,
        namespace_id: str,
        api_token: str,
        base_url: str = DEFAULT_BASE_URL,
        key_prefix: str = "tunemeld:",
        ttl_seconds: int = 60,
        connect_timeout: float = 2.0,
        read_timeout: float = 3.0,
        max_attempts: int = 2,
        cooldown_seconds: float = 30.0,
        failure_threshold: int = 3,
        metrics: Metrics | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.key_prefix = key_prefix
        self.ttl_seconds = max(MIN_TTL_SECONDS, ttl_seconds)
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self._retry = RetryPolicy(max_attempts, backoff_initial=0.1, backoff_max=1.0, jitter=False)
        self.cooldown_seconds = cooldown_seconds
        self.failure_threshold = max(1, failure_threshold)
        self.base = (
            f"{base_url.rstrip('/')}/accounts/{quote(account_id, safe='')}"
            f"/storage/kv/namespaces/{quote(namespace_id, safe='')}"
        )
        super().__init__(metrics)
        self.errors = 0
        self.skipped_writes = 0
        self.last_error: str | None = None
        self._token = api_token
        self._session = session if session is not None else requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._failures = 0
        self._open_until = 0.0
        self._writes: dict[str, tuple[float, bytes]] = {}

    # -- keys ---------------------------------------------------------------------------------

    def kv_key(self, key: str) -> str:
        """The KV key name of a cache key: prefixed; hashed past 512 bytes (or for `.`, `..`)."""
        full = self.key_prefix + key
        if len(full.encode()) <= MAX_KEY_BYTES and full not in (".", ".."):
            return full
        return f"{self.key_prefix}sha256:{hashlib.sha256(key.encode()).hexdigest()}"

    def _value_path(self, key: str) -> str:
        return "/values/" + quote(self.kv_key(key), safe="")

    # -- the protocol -------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when absent, expired, or KV is slow, down or refusing."""
        response = self._request("get", "GET", self._value_path(key))
        value: bytes | None = None
        if response is not None:
            if response.status_code == 200:
                value = response.content
            elif response.status_code != 404:
                self._failed("get", f"HTTP {response.status_code} reading a value")
        return self._counted(value)

    def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        """Write `value` with `expiration_ttl` (at least 60 s); a non-positive TTL deletes."""
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            self.delete(key)
            return
        kv_key = self.kv_key(key)
        digest = hashlib.sha256(value).digest()
        if not self.available or not self._may_write(kv_key, digest):
            return
        response = self._request(
            "set",
            "PUT",
            self._value_path(key),
            params={"expiration_ttl": str(max(MIN_TTL_SECONDS, ttl))},
            data=bytes(value),
            headers={"Content-Type": "application/octet-stream"},
        )
        if response is not None:
            self._succeeded("set", response)

    def delete(self, key: str) -> None:
        if not self.available or not self._may_write(self.kv_key(key), b""):
            return
        response = self._request("delete", "DELETE", self._value_path(key))
        if response is not None and response.status_code != 404:
            self._succeeded("delete", response)

    def delete_prefix(self, prefix: str) -> int:
        """List the keys under `prefix` and bulk-delete them; returns how many went."""
        names = self._list(self.key_prefix + prefix)
        removed = 0
        for start in range(0, len(names), _BULK_DELETE_LIMIT):
            chunk = names[start : start + _BULK_DELETE_LIMIT]
            response = self._request("delete_prefix", "POST", "/bulk/delete", json=chunk)
            if response is None or not self._succeeded("delete_prefix", response):
                break
            body = response.json()
            result = body.get("result") if isinstance(body, dict) else None
            count = result.get("successful_key_count") if isinstance(result, dict) else None
            removed += count if isinstance(count, int) else len(chunk)
            with self._lock:  # a delete is a write: the next write to these keys waits
                now = self._clock()
                for name in chunk:
                    self._writes[name] = (now, b"")
        return removed

    def clear(self) -> None:
        """Delete every key under this cache's prefix (other keys of the namespace stay)."""
        self.delete_prefix("")

    def close(self) -> None:
        self._session.close()

    @property
    def available(self) -> bool:
        """False while the cache is skipping KV after repeated failures."""
        with self._lock:
            return self._clock() >= self._open_until

    def stats(self) -> CacheStats:
        return CacheStats(
            hits=self.hits,
            misses=self.misses,
            errors=self.errors,
            available=self.available,
            last_error=self.last_error,
        )

    # -- internals ----------------------------------------------------------------------------

    def _list(self, kv_prefix: str) -> list[str]:
        names: list[str] = []
        cursor = ""
        for _ in range(_MAX_LIST_PAGES):
            params = {"prefix": kv_prefix, "limit": str(_LIST_LIMIT)}
            if cursor:
                params["cursor"] = cursor
            response = self._request("list", "GET", "/keys", params=params)
            if response is None or not self._succeeded("list", response):
                return names
            body = response.json()
            result = body.get("result")
            if isinstance(result, list):
                names += [
                    item["name"]
                    for item in result
                    if isinstance(item, dict) and isinstance(item.get("name"), str)
                ]
            info = body.get("result_info")
            cursor = info.get("cursor", "") if isinstance(info, dict) else ""
            if not cursor or not isinstance(result, list) or not result:
                break
        return names

    def _may_write(self, kv_key: str, digest: bytes) -> bool:
        """Keep one write per second per key: skip an identical repeat, wait before a change."""
        with self._lock:
            now = self._clock()
            last = self._writes.get(kv_key)
            if last is not None and now - last[0] < WRITE_INTERVAL_SECONDS:
                if last[1] == digest:  # the same bytes (or a second delete): nothing to do
                    self.skipped_writes += 1
                    return False
                wait = WRITE_INTERVAL_SECONDS - (now - last[0])
            else:
                wait = 0.0
            self._writes[kv_key] = (now + wait, digest)
            if len(self._writes) > 4096:  # forget keys written more than a second ago
                horizon = now - WRITE_INTERVAL_SECONDS
                self._writes = {k: v for k, v in self._writes.items() if v[0] >= horizon}
        if wait > 0:
            self._sleep(wait)
        return True

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response | None:
        """One KV call with retries; None when it failed (already counted and logged)."""
        if not self.available:
            return None
        all_headers = {"Authorization": f"Bearer {self._token}", **(headers or {})}

        def attempt() -> requests.Response:
            try:
                response = self._session.request(
                    method,
                    self.base + path,
                    params=params,
                    data=data,
                    json=json,
                    headers=all_headers,
                    timeout=self.timeout,
                )
            except requests.Timeout:
                raise Retryable("no answer within the timeout", status="timeout") from None
            except requests.ConnectionError:
                raise Retryable("connection failed", status="connection") from None
            if response.status_code == 429 or response.status_code >= 500:
                status = response.status_code
                hint = retry_after(response.headers.get("Retry-After"))
                raise Retryable(f"HTTP {status}", status=status, retry_after=hint)
            return response

        try:
            response = Retrier(self._retry, sleep=self._sleep)(attempt)
        except Retryable as exc:
            self._failed(operation, exc.reason)
            return None
        except requests.RequestException as exc:
            self._failed(operation, f"request failed ({type(exc).__name__})")
            return None
        if response.status_code in (401, 403):
            self._failed(
                operation,
                f"HTTP {response.status_code}: KV refused the token; check CLOUDFLARE_API_TOKEN "
                "has Workers KV Storage Read and Write on this account",
            )
            return None
        with self._lock:
            self._failures = 0
        return response

    def _succeeded(self, operation: str, response: requests.Response) -> bool:
        """True for a success envelope; else the failure is counted and logged."""
        problem = _envelope_problem(response)
        if problem is None and response.status_code < 300:
            return True
        self._failed(operation, problem or f"HTTP {response.status_code} with success true")
        return False

    def _failed(self, operation: str, reason: str) -> None:
        """Count one failed operation, log it (never the token), maybe pause KV calls."""
        reason = reason.replace(self._token, REDACTED) if self._token else reason
        opened = False
        with self._lock:
            self.errors += 1
            self.last_error = f"{operation}: {reason}"
            self._failures += 1
            if self._failures >= self.failure_threshold and self.cooldown_seconds > 0:
                self._open_until = self._clock() + self.cooldown_seconds
                self._failures = 0
                opened = True
        if self._metrics is not None:
            self._metrics.record_cache_error(self.name, operation)
        log.warning("cache_request_failed", cache=self.name, operation=operation, reason=reason)
        if opened:
            log.warning(
                "cache_paused",
                cache=self.name,
                seconds=self.cooldown_seconds,
                reason="repeated failures; answers come from the store meanwhile",
            )
