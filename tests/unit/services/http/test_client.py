"""The HTTP layer: retry policy, error translation, concurrency cap and the call ledger."""

from __future__ import annotations

import random
import threading
import time

import pytest
import requests
from structlog.testing import capture_logs

from tests.unit.services.fake_http import FakeAdapter, Reply, make_http, quick_settings
from tunemeld.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderPayloadError,
    ProviderUnavailable,
    QuotaExhausted,
)
from tunemeld.services.http import CallLedger, HttpClient, build_session

URL = "https://api.example.test/v1/thing"
SECRET = "AIzaSyD-very-secret-key-0123456789"
OK = Reply({"ok": True})


class TestRetries:
    """Transient failures are retried with backoff; the rest fail at once."""

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_get_json_when_5xx_then_ok_retries_and_returns_the_body(self, status: int) -> None:
        adapter = FakeAdapter(Reply({"error": "boom"}, status=status), OK)
        sleeps: list[float] = []
        client = make_http(adapter, sleeps=sleeps)
        assert client.get_json("search", URL) == {"ok": True}
        assert len(adapter.requests) == 2
        assert len(sleeps) == 1

    def test_get_json_when_429_honours_retry_after_seconds(self) -> None:
        adapter = FakeAdapter(Reply({}, status=429, headers={"Retry-After": "7"}), OK)
        sleeps: list[float] = []
        client = make_http(adapter, settings=quick_settings(backoff_max=30.0), sleeps=sleeps)
        assert client.get_json("search", URL) == {"ok": True}
        assert sleeps == [7.0]

    def test_get_json_when_retry_after_exceeds_backoff_max_waits_backoff_max(self) -> None:
        adapter = FakeAdapter(Reply({}, status=429, headers={"Retry-After": "50"}), OK)
        sleeps: list[float] = []
        client = make_http(adapter, settings=quick_settings(backoff_max=10.0), sleeps=sleeps)
        client.get_json("search", URL)
        assert sleeps == [10.0]

    def test_get_json_when_retry_after_exceeds_budget_gives_up_at_once(self) -> None:
        adapter = FakeAdapter(Reply({}, status=429, headers={"Retry-After": "500"}), OK)
        sleeps: list[float] = []
        client = make_http(
            adapter, settings=quick_settings(retry_budget_seconds=120.0), sleeps=sleeps
        )
        with pytest.raises(ProviderUnavailable) as info:
            client.get_json("search", URL)
        assert info.value.retry_after == 500.0
        assert info.value.status == 429
        assert len(adapter.requests) == 1
        assert sleeps == []

    def test_get_json_when_retry_after_is_an_http_date_reads_it_as_seconds(self) -> None:
        when = "Wed, 21 Oct 2099 07:28:00 GMT"
        adapter = FakeAdapter(Reply({}, status=503, headers={"Retry-After": when}))
        client = make_http(adapter)
        with pytest.raises(ProviderUnavailable) as info:
            client.get_json("search", URL)
        assert info.value.retry_after is not None
        assert info.value.retry_after > 10**8
        assert len(adapter.requests) == 1

    @pytest.mark.parametrize(
        "failure",
        [
            requests.exceptions.ConnectionError("connection refused"),
            requests.exceptions.ReadTimeout("read timed out"),
            requests.exceptions.ConnectTimeout("connect timed out"),
            requests.exceptions.ChunkedEncodingError("connection reset mid-body"),
        ],
        ids=["connection", "read-timeout", "connect-timeout", "chunked"],
    )
    def test_get_json_when_network_fails_once_retries(self, failure: Exception) -> None:
        adapter = FakeAdapter(failure, OK)
        client = make_http(adapter)
        assert client.get_json("search", URL) == {"ok": True}
        assert len(adapter.requests) == 2

    def test_get_json_when_always_unavailable_stops_after_max_attempts(self) -> None:
        adapter = FakeAdapter(handler=lambda _: Reply({}, status=503))
        sleeps: list[float] = []
        client = make_http(adapter, settings=quick_settings(max_attempts=3), sleeps=sleeps)
        with pytest.raises(ProviderUnavailable) as info:
            client.get_json("search", URL)
        assert len(adapter.requests) == 3
        assert len(sleeps) == 2
        assert info.value.status == 503
        assert (info.value.service, info.value.endpoint) == ("Spotify", "search")

    def test_get_json_when_timeouts_persist_raises_unavailable_from_the_timeout(self) -> None:
        adapter = FakeAdapter(handler=lambda _: requests.exceptions.ReadTimeout("slow"))
        client = make_http(adapter, settings=quick_settings(max_attempts=2))
        with pytest.raises(ProviderUnavailable) as info:
            client.get_json("videos", URL)
        assert info.value.status is None
        assert isinstance(info.value.__cause__, requests.exceptions.ReadTimeout)

    def test_get_json_when_waits_would_exceed_the_budget_stops_early(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(random, "uniform", lambda _a, b: b)  # full waits
        adapter = FakeAdapter(handler=lambda _: Reply({}, status=500))
        sleeps: list[float] = []
        settings = quick_settings(
            backoff_initial=10.0, backoff_max=100.0, max_attempts=10, retry_budget_seconds=25.0
        )
        client = make_http(adapter, settings=settings, sleeps=sleeps)
        with pytest.raises(ProviderUnavailable):
            client.get_json("search", URL)
        assert sleeps == [10.0]  # the next wait (20 s) would pass the 25 s budget
        assert len(adapter.requests) == 2

    def test_retry_waits_grow_exponentially_with_jitter_and_are_capped(self) -> None:
        adapter = FakeAdapter(handler=lambda _: Reply({}, status=500))
        sleeps: list[float] = []
        settings = quick_settings(backoff_initial=1.0, backoff_max=4.0, max_attempts=5)
        client = make_http(adapter, settings=settings, sleeps=sleeps)
        with pytest.raises(ProviderUnavailable):
            client.get_json("search", URL)
        bases = [1.0, 2.0, 4.0, 4.0]
        assert len(sleeps) == len(bases)
        for wait, base in zip(sleeps, bases, strict=True):
            assert base / 2 <= wait <= base

    @pytest.mark.parametrize("status", [400, 404, 405, 410, 422])
    def test_get_json_when_other_4xx_fails_without_retry(self, status: int) -> None:
        adapter = FakeAdapter(
            Reply({"error": {"status": status, "message": "nope"}}, status=status)
        )
        sleeps: list[float] = []
        client = make_http(adapter, sleeps=sleeps)
        with pytest.raises(ProviderError) as info:
            client.get_json("search", URL)
        assert type(info.value) is ProviderError
        assert info.value.status == status
        assert "nope" in str(info.value)
        assert len(adapter.requests) == 1
        assert sleeps == []


class TestErrorTranslation:
    """Statuses and error bodies map to the documented error classes."""

    def test_get_json_when_401_raises_auth_error_without_retry(self) -> None:
        body = {"error": {"status": 401, "message": "The access token expired"}}
        adapter = FakeAdapter(Reply(body, status=401), OK)
        client = make_http(adapter)
        with pytest.raises(ProviderAuthError) as info:
            client.get_json("search", URL)
        assert info.value.status == 401
        assert "access token expired" in str(info.value)
        assert len(adapter.requests) == 1

    def test_get_json_when_rapidapi_not_subscribed_raises_auth_error(self) -> None:
        adapter = FakeAdapter(Reply({"message": "You are not subscribed to this API."}, status=403))
        client = make_http(adapter, "AppleMusic")
        with pytest.raises(ProviderAuthError) as info:
            client.get_json("playlist", URL)
        assert (info.value.service, info.value.endpoint) == ("AppleMusic", "playlist")

    def test_post_json_when_oauth_invalid_client_raises_auth_error(self) -> None:
        body = {"error": "invalid_client", "error_description": "Invalid client secret"}
        adapter = FakeAdapter(Reply(body, status=400))
        client = make_http(adapter)
        with pytest.raises(ProviderAuthError, match="Invalid client secret"):
            client.post_json("token", URL, data={"grant_type": "client_credentials"})

    def test_get_json_when_youtube_key_invalid_raises_auth_error(self) -> None:
        from tests.unit.services.fake_http import fixture_json

        adapter = FakeAdapter(Reply(fixture_json("youtube", "key_invalid"), status=400))
        client = make_http(adapter, "YouTube")
        with pytest.raises(ProviderAuthError):
            client.get_json("videos", URL)

    @pytest.mark.parametrize(
        ("status", "body"),
        [
            (
                403,
                {
                    "error": {
                        "code": 403,
                        "message": "The request cannot be completed because you have "
                        "exceeded your quota.",
                        "errors": [{"domain": "youtube.quota", "reason": "quotaExceeded"}],
                    }
                },
            ),
            (
                429,
                {
                    "error": {
                        "status": 429,
                        "message": "Too many requests",
                        "reason": "QUOTA_EXCEEDED",
                    }
                },
            ),
            (
                429,
                {
                    "message": "You have exceeded the MONTHLY quota for Requests on your current "
                    "plan, BASIC. Upgrade your plan for more requests."
                },
            ),
        ],
        ids=["youtube", "spotify", "rapidapi"],
    )
    def test_get_json_when_quota_is_spent_raises_quota_exhausted_without_retry(
        self, status: int, body: object
    ) -> None:
        adapter = FakeAdapter(Reply(body, status=status, headers={"Retry-After": "1"}), OK)
        sleeps: list[float] = []
        client = make_http(adapter, sleeps=sleeps)
        with pytest.raises(QuotaExhausted) as info:
            client.get_json("search", URL)
        assert info.value.status == status
        assert len(adapter.requests) == 1
        assert sleeps == []

    def test_get_json_when_rapidapi_rate_window_429_retries(self) -> None:
        adapter = FakeAdapter(Reply({"message": "Too many requests"}, status=429), OK)
        client = make_http(adapter, "SoundCloud")
        assert client.get_json("playlist_tracks", URL) == {"ok": True}
        assert len(adapter.requests) == 2

    @pytest.mark.parametrize(
        "body", [b"<html>Bad gateway</html>", b"", b'{"items": [1, 2', b"\xff\xfe"]
    )
    def test_get_json_when_body_is_never_json_retries_then_raises_payload_error(
        self, body: bytes
    ) -> None:
        """A 200 whose body is not JSON (a proxy page, a cut transfer) is retried like a 5xx."""
        adapter = FakeAdapter(*[Reply(body)] * 4)
        ledger = CallLedger()
        client = make_http(adapter, "YouTube", ledger=ledger)
        with pytest.raises(ProviderPayloadError) as info:
            client.get_json("videos", URL)
        assert (info.value.provider, info.value.endpoint, info.value.status) == (
            "YouTube",
            "videos",
            200,
        )
        assert "not valid JSON" in info.value.problem
        assert len(adapter.requests) == 4
        assert ledger.statuses() == {"YouTube": {"videos": {"invalid_json": 4}}}
        assert ledger.endpoint_retries() == {"YouTube": {"videos": 3}}

    def test_get_json_when_body_is_malformed_once_returns_the_retried_answer(self) -> None:
        adapter = FakeAdapter(Reply(b'{"items": [1, 2'), Reply({"items": []}))
        client = make_http(adapter, "YouTube")
        assert client.get_json("videos", URL) == {"items": []}
        assert len(adapter.requests) == 2

    def test_get_json_when_request_is_invalid_raises_provider_error(self) -> None:
        adapter = FakeAdapter(requests.exceptions.InvalidURL("bad url"))
        client = make_http(adapter)
        with pytest.raises(ProviderError) as info:
            client.get_json("search", URL)
        assert not isinstance(info.value, ProviderUnavailable)
        assert len(adapter.requests) == 1


class TestSecrets:
    """Credentials in query parameters, headers or auth never reach an error's text or the logs."""

    @pytest.mark.parametrize(
        "answer",
        [
            requests.exceptions.ConnectionError(
                f"HTTPSConnectionPool(host='www.googleapis.com', port=443): Max retries exceeded "
                f"with url: /youtube/v3/videos?part=statistics&id=abc&key={SECRET}"
            ),
            requests.exceptions.ReadTimeout(f"Read timed out. (url ...&key={SECRET})"),
            Reply(
                {"error": {"code": 500, "message": f"backend error for key {SECRET}"}}, status=500
            ),
            Reply({"error": {"code": 400, "message": f"bad request key={SECRET}"}}, status=400),
            Reply({"error": {"code": 403, "message": f"key {SECRET} forbidden"}}, status=403),
            Reply(f"<html>key={SECRET}</html>".encode()),
        ],
        ids=["connection", "timeout", "500", "400", "403", "not-json"],
    )
    def test_errors_when_a_secret_is_a_query_param_never_show_it(self, answer: object) -> None:
        adapter = FakeAdapter(handler=lambda _: answer)  # type: ignore[arg-type,return-value]
        client = make_http(adapter, "YouTube", settings=quick_settings(max_attempts=2))
        with capture_logs() as logs, pytest.raises(ProviderError) as info:
            client.get_json("videos", URL, params={"part": "statistics", "key": SECRET})
        assert SECRET not in str(info.value)
        assert SECRET not in repr(info.value.args)
        assert "googleapis" not in str(info.value)
        assert SECRET not in repr(logs)

    def test_errors_when_a_secret_is_a_header_or_basic_auth_never_show_it(self) -> None:
        body = {"message": f"Invalid API key {SECRET} / client secret-of-the-client"}
        adapter = FakeAdapter(handler=lambda _: Reply(body, status=403))
        client = make_http(adapter)
        with pytest.raises(ProviderAuthError) as info:
            client.post_json(
                "token",
                URL,
                headers={"X-RapidAPI-Key": SECRET},
                auth=("id", "secret-of-the-client"),
            )
        assert SECRET not in str(info.value)
        assert "secret-of-the-client" not in str(info.value)

    def test_errors_when_a_bearer_token_or_short_key_is_echoed_never_show_it(self) -> None:
        body = {"error": {"status": 400, "message": "bad token tok-77 for key k9"}}
        adapter = FakeAdapter(Reply(body, status=400))
        client = make_http(adapter)
        with pytest.raises(ProviderError) as info:
            client.get_json(
                "search",
                URL,
                params={"key": "k9", "limit": 1},
                headers={"Authorization": "Bearer tok-77"},
            )
        assert "tok-77" not in str(info.value)
        assert "k9" not in str(info.value)
        assert "bad token *** for key ***" in str(info.value)


class TestRequests:
    """What goes on the wire: timeouts, params, forms, auth, text."""

    def test_every_request_carries_connect_and_read_timeouts(self) -> None:
        adapter = FakeAdapter(Reply({}, status=500), OK)
        client = make_http(adapter, settings=quick_settings(connect_timeout=2.5, read_timeout=9.0))
        client.get_json("search", URL)
        assert adapter.timeouts == [(2.5, 9.0), (2.5, 9.0)]

    def test_get_json_sends_params_and_headers(self) -> None:
        adapter = FakeAdapter(OK)
        client = make_http(adapter)
        client.get_json("search", URL, params={"q": "a b", "limit": 1}, headers={"X-Test": "1"})
        assert adapter.params() == {"q": "a b", "limit": "1"}
        assert adapter.requests[0].headers["X-Test"] == "1"
        assert adapter.requests[0].headers["User-Agent"].startswith("tunemeld/")

    def test_post_json_sends_a_form_with_basic_auth(self) -> None:
        adapter = FakeAdapter(Reply({"access_token": "t"}))
        client = make_http(adapter)
        assert client.post_json(
            "token", URL, data={"grant_type": "client_credentials"}, auth=("id", "pw")
        ) == {"access_token": "t"}
        sent = adapter.requests[0]
        assert sent.method == "POST"
        assert sent.body == "grant_type=client_credentials"
        assert sent.headers["Authorization"] == "Basic aWQ6cHc="

    def test_get_text_returns_the_decoded_page(self) -> None:
        adapter = FakeAdapter(Reply("<h1>Café</h1>"))
        client = make_http(adapter)
        assert client.get_text("playlist_page", URL) == "<h1>Café</h1>"

    def test_build_session_mounts_the_adapter_on_both_schemes(self) -> None:
        adapter = FakeAdapter()
        session = build_session(adapter)
        assert session.get_adapter("https://spotify23.p.rapidapi.com/x") is adapter
        assert session.get_adapter("http://127.0.0.1:8080/x") is adapter

    def test_build_session_without_adapter_keeps_the_default_transport(self) -> None:
        session = build_session()
        assert isinstance(session.get_adapter("https://x.test/"), requests.adapters.HTTPAdapter)

    def test_concurrent_calls_never_exceed_max_concurrency(self) -> None:
        lock = threading.Lock()
        active = peak = 0

        def slow(_: requests.PreparedRequest) -> Reply:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.02)
            with lock:
                active -= 1
            return OK

        client = make_http(FakeAdapter(handler=slow), settings=quick_settings(max_concurrency=2))
        threads = [threading.Thread(target=client.get_json, args=("search", URL)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert peak == 2

    def test_close_closes_the_session(self) -> None:
        closed: list[bool] = []

        class Closing(FakeAdapter):
            def close(self) -> None:
                closed.append(True)

        client = make_http(Closing())
        client.close()
        assert closed  # once per mounted scheme


class TestLedger:
    """The ledger counts every attempt, its status and quota units, and retries."""

    def test_ledger_counts_attempts_statuses_units_and_retries(self) -> None:
        ledger = CallLedger()
        adapter = FakeAdapter(
            Reply({}, status=503),
            requests.exceptions.ConnectionError("down"),
            requests.exceptions.ReadTimeout("slow"),
            OK,
            OK,
        )
        client = make_http(adapter, "YouTube", ledger=ledger)
        client.get_json("videos", URL, units=1)
        client.get_json("search", URL, units=1)
        assert ledger.calls() == {"YouTube": {"videos": 4, "search": 1}}
        assert ledger.statuses() == {
            "YouTube": {
                "videos": {"503": 1, "connection": 1, "timeout": 1, "200": 1},
                "search": {"200": 1},
            }
        }
        assert ledger.quota_units() == {"YouTube": 4}  # the unreached connection attempt is free
        assert ledger.retries() == {"YouTube": 3}
        assert ledger.total_calls() == 5
        assert ledger.total_calls("YouTube") == 5
        assert ledger.total_calls("Spotify") == 0

    def test_ledger_counts_failed_calls_too(self) -> None:
        ledger = CallLedger()
        client = make_http(FakeAdapter(Reply({}, status=404)), ledger=ledger)
        with pytest.raises(ProviderError):
            client.get_json("search", URL, units=1)
        assert ledger.statuses() == {"Spotify": {"search": {"404": 1}}}
        assert ledger.quota_units() == {"Spotify": 1}
        assert ledger.retries() == {}

    def test_on_call_sees_every_attempt(self) -> None:
        seen: list[tuple[str, str, int | str, int]] = []
        adapter = FakeAdapter(Reply({}, status=500), OK)
        client = HttpClient(
            "Spotify",
            build_session(adapter),
            quick_settings(),
            CallLedger(),
            sleep=lambda _: None,
            on_call=lambda *args: seen.append(args),
        )
        client.get_json("search", URL, units=1)
        assert seen == [("Spotify", "search", 500, 1), ("Spotify", "search", 200, 1)]

    def test_ledger_when_many_threads_record_loses_no_count(self) -> None:
        ledger = CallLedger()

        def work() -> None:
            for _ in range(500):
                ledger.record("Spotify", "search", 200, 1)
                ledger.record_retry("Spotify", "search")

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert ledger.total_calls("Spotify") == 4000
        assert ledger.quota_units() == {"Spotify": 4000}
        assert ledger.retries() == {"Spotify": 4000}

    def test_ledger_views_are_copies(self) -> None:
        ledger = CallLedger()
        ledger.record("Spotify", "search", 200, 1)
        ledger.calls()["Spotify"]["search"] = 99
        assert ledger.calls() == {"Spotify": {"search": 1}}


class TestLogging:
    """Retries and failures are logged as snake_case events with context keys."""

    def test_retry_and_failure_are_logged_with_context(self) -> None:
        adapter = FakeAdapter(
            Reply({}, status=429, headers={"Retry-After": "3"}),
            requests.exceptions.ConnectionError("down"),
            Reply({}, status=503),
        )
        client = make_http(
            adapter, "YouTube", settings=quick_settings(max_attempts=3, backoff_max=10.0)
        )
        with capture_logs() as logs, pytest.raises(ProviderUnavailable):
            client.get_json("videos", URL)
        retries = [e for e in logs if e["event"] == "retry_scheduled"]
        assert [(e["attempt"], e["status"]) for e in retries] == [(1, 429), (2, "connection")]
        assert retries[0]["wait_s"] == 3.0
        assert {e["provider"] for e in retries} == {"YouTube"}
        assert {e["endpoint"] for e in retries} == {"videos"}
        failed = [e for e in logs if e["event"] == "provider_call_failed"]
        assert len(failed) == 1
        assert failed[0]["status"] == 503
        assert failed[0]["attempts"] == 3
        assert failed[0]["error"] == "ProviderUnavailable"
