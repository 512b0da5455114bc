"""CloudflareKVCache without a network: keys, TTLs, write pacing and the pause (fake adapter)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from tunemeld.config import Settings
from tunemeld.exceptions import ConfigError
from tunemeld.services.cache import CloudflareKVCache, open_cache


class FakeKV(BaseAdapter):
    """Answers every request with `status` (success envelope for 2xx) and records it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []
        self.status = 200
        self.value = b"stored"
        self.headers: dict[str, str] = {}

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: object = None,
    ) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self.status
        response.headers.update(self.headers)
        response.request = request
        response.url = request.url or ""
        if request.method == "GET" and "/values/" in response.url and self.status == 200:
            response._content = self.value
        else:
            ok = self.status < 300
            response._content = json.dumps(
                {"success": ok, "errors": [] if ok else [{"code": 1, "message": "x"}]}
            ).encode()
        return response

    def close(self) -> None:
        """Nothing to close."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make(adapter: FakeKV, clock: Clock, **options: Any) -> CloudflareKVCache:
    session = requests.Session()
    session.mount("https://", adapter)
    return CloudflareKVCache(
        account_id="acc",
        namespace_id="ns",
        api_token="tok-unit-abcdef",
        session=session,
        clock=clock,
        sleep=clock.sleep,
        **options,
    )


def test_ttl_when_below_60_is_raised_to_the_kv_minimum() -> None:
    adapter, clock = FakeKV(), Clock()
    cache = make(adapter, clock, ttl_seconds=5)
    cache.set("k", b"v")
    cache.set("k2", b"v", ttl_seconds=3600)
    assert "expiration_ttl=60" in (adapter.sent[0].url or "")
    assert "expiration_ttl=3600" in (adapter.sent[1].url or "")
    assert adapter.sent[0].headers["Authorization"] == "Bearer tok-unit-abcdef"


def test_different_value_when_written_within_a_second_waits_out_the_second() -> None:
    adapter, clock = FakeKV(), Clock()
    cache = make(adapter, clock)
    cache.set("k", b"one")
    clock.now += 0.25
    cache.set("k", b"two")
    assert clock.slept == [pytest.approx(0.75)]
    assert len(adapter.sent) == 2
    clock.now += 5
    cache.set("k", b"three")
    assert clock.slept == [pytest.approx(0.75)]


class TestRetries:
    """KV calls share the providers' retry engine and `Retry-After` parser."""

    def test_5xx_when_repeated_backs_off_exponentially_without_jitter(self) -> None:
        adapter, clock = FakeKV(), Clock()
        adapter.status = 503
        cache = make(adapter, clock, max_attempts=3)
        assert cache.get("k") is None
        assert len(adapter.sent) == 3
        assert clock.slept == [pytest.approx(0.1), pytest.approx(0.2)]
        assert cache.last_error == "get: HTTP 503"

    @pytest.mark.parametrize(("header", "wait"), [("0.5", 0.5), ("-5", 0.0), ("soon", 0.1)])
    def test_429_when_retry_after_is_given_waits_what_it_says(
        self, header: str, wait: float
    ) -> None:
        adapter, clock = FakeKV(), Clock()
        adapter.status, adapter.headers = 429, {"Retry-After": header}
        make(adapter, clock).get("k")
        assert clock.slept == [pytest.approx(wait)]

    def test_429_when_retry_after_is_an_http_date_waits_at_most_a_second(self) -> None:
        adapter, clock = FakeKV(), Clock()
        later = datetime.now(timezone.utc) + timedelta(seconds=30)
        adapter.status, adapter.headers = 429, {"Retry-After": format_datetime(later, usegmt=True)}
        make(adapter, clock).get("k")
        assert clock.slept == [pytest.approx(1.0)]


def test_failures_when_repeated_pause_calls_until_the_cooldown_ends() -> None:
    adapter, clock = FakeKV(), Clock()
    adapter.status = 503
    cache = make(adapter, clock, max_attempts=1, cooldown_seconds=30, failure_threshold=3)
    for _ in range(3):
        assert cache.get("k") is None
    assert not cache.available
    sent = len(adapter.sent)
    assert cache.get("k") is None
    assert len(adapter.sent) == sent
    clock.now += 31
    adapter.status = 200
    assert cache.get("k") == b"stored"
    assert cache.available


def test_token_when_echoed_in_an_error_is_never_kept() -> None:
    adapter, clock = FakeKV(), Clock()
    cache = make(adapter, clock)
    cache._failed("get", "bad header Bearer tok-unit-abcdef")
    assert cache.last_error is not None
    assert "tok-unit-abcdef" not in cache.last_error


def test_cloudflare_backend_when_credentials_are_missing_is_a_config_error() -> None:
    settings = Settings(
        _env_file=None, cache={"backend": "cloudflare", "cloudflare_account_id": "a"}
    )
    with pytest.raises(ConfigError) as error:
        open_cache(settings)
    assert "CLOUDFLARE_NAMESPACE_ID, CLOUDFLARE_API_TOKEN" in error.value.message
    assert error.value.hint is not None


def test_production_when_cloudflare_lacks_credentials_is_refused() -> None:
    settings = Settings(
        _env_file=None, providers={"mode": "sample"}, cache={"backend": "cloudflare"}
    )
    problems = settings.production_problems()
    assert any("CLOUDFLARE_API_TOKEN" in p for p in problems)
    assert len([p for p in problems if "CLOUDFLARE" in p]) == 3


def test_flat_names_when_set_fill_the_cloudflare_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acc-flat")
    monkeypatch.setenv("CLOUDFLARE_NAMESPACE_ID", "ns-flat")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "tok-flat-123456")
    settings = Settings(_env_file=None)
    assert settings.cache.missing_cloudflare() == []
    assert "tok-flat-123456" in settings.secret_values()
    assert settings.redacted()["cache"]["cloudflare_api_token"] == "**********"
    assert "tok-flat-123456" not in repr(settings)
