"""Quotas as settings, the run's budget, and the base URL override, through the real HttpClient."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
import requests

from tests.unit.services.fake_http import FakeAdapter, Reply, make_http, quick_settings
from tunemeld.config import ProvidersSettings, Settings, load_settings
from tunemeld.exceptions import ConfigError, QuotaExhausted
from tunemeld.services.http import CallLedger, QuotaBudget, route_url
from tunemeld.services.providers import call_costs

URL = "https://www.googleapis.com/youtube/v3/search"
QUOTA_BODY = {
    "error": {
        "code": 403,
        "message": "The request cannot be completed because you have exceeded your quota.",
        "errors": [{"domain": "youtube.quota", "reason": "quotaExceeded"}],
    }
}


class TestQuotaSettings:
    """Costs and buckets come from settings with providers.md's 2026 defaults."""

    def test_defaults_when_unset_follow_the_2026_youtube_quotas(self) -> None:
        config = ProvidersSettings()
        assert config.cost("YouTube", "search").bucket == "youtube_search"
        assert config.bucket("youtube_search").limit == 100
        assert config.cost("YouTube", "videos").units == 1
        assert config.bucket(config.cost("YouTube", "videos").bucket).limit == 10_000
        assert config.cost("Spotify", "playlist_page").units == 0
        assert config.cost("Nobody", "nothing").units == 0
        assert call_costs(ProvidersSettings())[("YouTube", "search")] == 1

    def test_one_bucket_when_set_by_environment_keeps_the_other_defaults(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_PROVIDERS__BUCKETS__YOUTUBE_SEARCH__LIMIT", "20")
        monkeypatch.setenv("TUNEMELD_PROVIDERS__COSTS__YOUTUBE_VIDEOS__UNITS", "3")
        config = Settings(_env_file=None).providers
        assert config.bucket("youtube_search").limit == 20
        assert config.bucket("youtube").limit == 10_000
        assert config.cost("YouTube", "videos").units == 3
        assert config.cost("YouTube", "videos").bucket == "youtube"
        assert call_costs(config)[("YouTube", "videos")] == 3

    def test_bucket_when_given_as_json_shorthand_sets_its_limit(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_PROVIDERS__BUCKETS", '{"rapidapi_spotify81": 1000}')
        config = Settings(_env_file=None).providers
        assert config.bucket("rapidapi_spotify81").limit == 1000
        assert config.bucket("youtube_search").limit == 100

    @pytest.mark.parametrize("url", ["ftp://x", "http://127.0.0.1:8765/v1", "localhost:80"])
    def test_base_url_when_not_a_bare_origin_is_refused(self, url: str) -> None:
        with pytest.raises(ConfigError, match="BASE_URL"):
            load_settings(_env_file=None, providers={"base_url": url})


class TestRouteUrl:
    """Only the scheme and host change; the Host header keeps the original host."""

    def test_route_url_when_base_url_is_set_keeps_path_and_query(self) -> None:
        config = quick_settings(base_url="http://127.0.0.1:8765/")
        target, host = route_url(f"{URL}?part=snippet&q=a%20b", config)
        assert target == "http://127.0.0.1:8765/youtube/v3/search?part=snippet&q=a%20b"
        assert host == "www.googleapis.com"

    def test_route_url_when_unset_changes_nothing(self) -> None:
        assert route_url(URL, quick_settings()) == (URL, None)

    def test_route_url_when_a_host_has_its_own_base_url_uses_it(self) -> None:
        config = quick_settings(
            base_url="http://127.0.0.1:1",
            base_urls={"WWW.googleapis.com": "http://127.0.0.1:2"},
        )
        assert route_url(URL, config)[0].startswith("http://127.0.0.1:2/")
        assert route_url("https://api.spotify.com/v1/search", config)[0].startswith(
            "http://127.0.0.1:1/"
        )

    def test_client_when_base_url_is_set_sends_to_it_with_the_original_host(self) -> None:
        adapter = FakeAdapter(Reply({"items": []}))
        client = make_http(adapter, "YouTube", settings=quick_settings(base_url="http://sim:9"))
        client.get_json("search", URL, params={"q": "x"})
        sent = adapter.requests[0]
        assert (sent.url or "").startswith("http://sim:9/youtube/v3/search?q=x")
        assert sent.headers["Host"] == "www.googleapis.com"


class TestBudget:
    """The budget refuses before sending, holds across runs and closes a provider-spent bucket."""

    def test_budget_when_the_limit_is_reached_refuses_without_sending(self) -> None:
        config = quick_settings(buckets={"youtube_search": {"limit": 2}})
        budget = QuotaBudget(config)
        adapter = FakeAdapter(*[Reply({"items": []})] * 3)
        client = make_http(adapter, "YouTube", settings=config)
        client.budget = budget
        client.get_json("search", URL, units=1)
        client.get_json("search", URL, units=1)
        with pytest.raises(QuotaExhausted) as info:
            client.get_json("search", URL, units=1)
        assert info.value.bucket == "youtube_search"
        assert info.value.hint
        assert "LIMIT" in info.value.hint
        assert len(adapter.requests) == 2
        assert budget.is_spent("YouTube", "search")
        assert budget.usage() == {"youtube_search": (2, 2)}
        assert budget.closed()["youtube_search"].startswith("2/2")

    def test_budget_when_earlier_runs_spent_the_day_starts_from_their_total(self) -> None:
        config = quick_settings(buckets={"youtube_search": {"limit": 5}})
        usage = {date(2026, 10, 5): {"youtube_search": 5}}
        budget = QuotaBudget.from_usage(config, date(2026, 10, 5), lambda d: usage.get(d, {}))
        assert budget.is_spent("YouTube", "search")
        fresh = QuotaBudget.from_usage(config, date(2026, 10, 6), lambda d: usage.get(d, {}))
        assert not fresh.is_spent("YouTube", "search")

    def test_calls_left_when_limited_counts_down_and_unlimited_is_none(self) -> None:
        """What a stage may still spend: the rest of the bucket over the cost per call."""
        config = quick_settings(
            buckets={"youtube_search": {"limit": 10}},
            costs={"youtube_search": {"units": 3, "bucket": "youtube_search"}},
        )
        budget = QuotaBudget(config, spent={"youtube_search": 2})
        assert budget.calls_left("YouTube", "search") == 2  # (10 - 2) // 3
        budget.reserve("YouTube", "search", 3)
        assert budget.calls_left("YouTube", "search") == 1
        assert budget.calls_left("Spotify", "play_count") is None
        budget.close("youtube_search", "the provider said so")
        assert budget.calls_left("YouTube", "search") == 0

    def test_monthly_bucket_when_opened_sums_the_month_so_far(self) -> None:
        config = quick_settings(buckets={"rapidapi_spotify81": {"limit": 10, "period": "month"}})
        usage = {date(2026, 10, d): {"rapidapi_spotify81": 3} for d in (1, 2, 3)}
        usage[date(2026, 9, 30)] = {"rapidapi_spotify81": 50}
        budget = QuotaBudget.from_usage(config, date(2026, 10, 3), lambda d: usage.get(d, {}))
        budget.reserve("Spotify", "play_count", 1)
        with pytest.raises(QuotaExhausted):
            budget.reserve("Spotify", "play_count", 1)
        assert budget.usage()["rapidapi_spotify81"] == (1, 10)

    def test_budget_when_no_request_reached_the_provider_refunds_the_units(self) -> None:
        config = quick_settings(buckets={"youtube_search": {"limit": 1}}, max_attempts=2)
        budget = QuotaBudget(config)
        adapter = FakeAdapter(requests.exceptions.ConnectionError("down"), Reply({"items": []}))
        client = make_http(adapter, "YouTube", settings=config)
        client.budget = budget
        client.get_json("search", URL, units=1)
        assert budget.usage()["youtube_search"] == (1, 1)

    def test_provider_quota_error_when_received_closes_the_bucket_for_the_run(self) -> None:
        config = quick_settings()
        budget = QuotaBudget(config)
        adapter = FakeAdapter(Reply(QUOTA_BODY, status=403))
        client = make_http(adapter, "YouTube", settings=config)
        client.budget = budget
        with pytest.raises(QuotaExhausted) as info:
            client.get_json("search", URL, units=1)
        assert info.value.bucket == "youtube_search"
        assert budget.is_spent("YouTube", "search")
        with pytest.raises(QuotaExhausted):
            client.get_json("search", URL, units=1)
        assert len(adapter.requests) == 1

    def test_budget_when_threads_race_never_overspends(self) -> None:
        config = quick_settings(buckets={"youtube_search": {"limit": 50}})
        budget = QuotaBudget(config)
        granted: list[int] = []
        start = threading.Barrier(8)

        def worker() -> None:
            start.wait()
            for _ in range(20):
                try:
                    budget.reserve("YouTube", "search", 1)
                except QuotaExhausted:
                    continue
                granted.append(1)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(granted) == 50
        assert budget.usage() == {"youtube_search": (50, 50)}


class MemoryRecorder:
    """A QuotaRecorder keeping totals in a dict, the store's semantics in miniature."""

    def __init__(self, usage: dict[tuple[date, str], int] | None = None) -> None:
        self.usage = dict(usage or {})
        self.lock = threading.Lock()
        self.spends: list[tuple[date, str, int, int | None]] = []

    def spend_quota(
        self, day: date, bucket: str, units: int, *, limit: int | None, at: datetime
    ) -> int | None:
        with self.lock:
            self.spends.append((day, bucket, units, limit))
            total = self.usage.get((day, bucket), 0) + units
            if limit is not None and total > limit:
                return None
            self.usage[(day, bucket)] = total
            return total

    def refund_quota(self, day: date, bucket: str, units: int, *, at: datetime) -> int:
        with self.lock:
            self.usage[(day, bucket)] = max(0, self.usage.get((day, bucket), 0) - units)
            return self.usage[(day, bucket)]

    def quota_usage(self, day: date) -> dict[str, int]:
        with self.lock:
            return {b: n for (d, b), n in self.usage.items() if d == day}


class TestBudgetWithRecorder:
    """With a recorder (the store), every unit is recorded before its request is sent."""

    DAY = date(2026, 10, 5)

    def _budget(self, config: ProvidersSettings, recorder: MemoryRecorder) -> QuotaBudget:
        return QuotaBudget.from_usage(config, self.DAY, recorder.quota_usage, recorder=recorder)

    def test_reserve_when_a_request_is_sent_has_already_recorded_its_units(self) -> None:
        """At the moment the request leaves, the store counts it: a crash then loses nothing."""
        config = quick_settings(buckets={"youtube_search": {"limit": 5}})
        recorder = MemoryRecorder()
        seen_at_send: list[int] = []

        def answer(request: requests.PreparedRequest) -> Reply:
            seen_at_send.append(recorder.usage.get((self.DAY, "youtube_search"), 0))
            return Reply({"items": []})

        client = make_http(FakeAdapter(handler=answer), "YouTube", settings=config)
        client.budget = self._budget(config, recorder)
        for _ in range(3):
            client.get_json("search", URL, units=1)
        assert seen_at_send == [1, 2, 3]
        assert client.budget.usage() == {"youtube_search": (3, 3)}

    def test_reserve_when_the_store_refuses_raises_without_sending(self) -> None:
        """Another process spent the bucket meanwhile: the store's answer wins over ours."""
        config = quick_settings(buckets={"youtube_search": {"limit": 5}})
        recorder = MemoryRecorder()
        adapter = FakeAdapter(*[Reply({"items": []})] * 3)
        client = make_http(adapter, "YouTube", settings=config)
        client.budget = self._budget(config, recorder)
        client.get_json("search", URL, units=1)
        recorder.usage[(self.DAY, "youtube_search")] = 5  # the other process's spending
        with pytest.raises(QuotaExhausted):
            client.get_json("search", URL, units=1)
        assert len(adapter.requests) == 1
        assert recorder.usage[(self.DAY, "youtube_search")] == 5
        assert client.budget.closed()["youtube_search"].startswith("5/5")

    def test_refund_when_no_request_left_gives_the_units_back_in_the_store(self) -> None:
        config = quick_settings(buckets={"youtube_search": {"limit": 1}}, max_attempts=2)
        recorder = MemoryRecorder()
        adapter = FakeAdapter(requests.exceptions.ConnectionError("down"), Reply({"items": []}))
        client = make_http(adapter, "YouTube", settings=config)
        client.budget = self._budget(config, recorder)
        client.get_json("search", URL, units=1)
        assert recorder.usage[(self.DAY, "youtube_search")] == 1
        assert client.budget.usage()["youtube_search"] == (1, 1)

    def test_monthly_bucket_when_recorded_goes_on_the_first_with_earlier_days_counted(
        self,
    ) -> None:
        """A month's spending lives on its 1st; units older versions put on other days count."""
        config = quick_settings(buckets={"rapidapi_spotify81": {"limit": 10, "period": "month"}})
        recorder = MemoryRecorder(
            {
                (date(2026, 10, 1), "rapidapi_spotify81"): 3,
                (date(2026, 10, 2), "rapidapi_spotify81"): 6,
            }
        )
        budget = self._budget(config, recorder)
        budget.reserve("Spotify", "play_count", 1)
        with pytest.raises(QuotaExhausted):
            budget.reserve("Spotify", "play_count", 1)
        assert recorder.spends[0] == (date(2026, 10, 1), "rapidapi_spotify81", 1, 4)
        assert recorder.usage[(date(2026, 10, 1), "rapidapi_spotify81")] == 4
        assert budget.usage()["rapidapi_spotify81"] == (1, 10)

    def test_free_calls_when_reserved_write_nothing(self) -> None:
        """A zero-unit call (a token, a page) costs no store round trip."""
        recorder = MemoryRecorder()
        budget = self._budget(quick_settings(), recorder)
        budget.reserve("Spotify", "token", 0)
        assert recorder.spends == []


class TestLedgerPerEndpoint:
    """Quota units and retries are kept per provider and endpoint."""

    def test_ledger_when_calls_are_retried_counts_units_and_retries_per_endpoint(self) -> None:
        ledger = CallLedger()
        adapter = FakeAdapter(
            Reply({"error": {"code": 500, "message": "x"}}, status=500), Reply({"items": []})
        )
        client = make_http(adapter, "YouTube", ledger=ledger)
        client.get_json("videos", URL, units=1)
        assert ledger.endpoint_units() == {"YouTube": {"videos": 2}}
        assert ledger.endpoint_retries() == {"YouTube": {"videos": 1}}
        assert ledger.retries() == {"YouTube": 1}
