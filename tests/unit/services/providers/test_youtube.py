"""YouTube client: video search and batched view counts."""

from __future__ import annotations

import pytest

from tests.unit.services.fake_http import FakeAdapter, Reply, fixture_json, make_http
from tunemeld.config import ProvidersSettings
from tunemeld.exceptions import ProviderAuthError, ProviderPayloadError, QuotaExhausted
from tunemeld.services.http import CallLedger
from tunemeld.services.providers import YouTubeClient, call_costs
from tunemeld.services.providers.youtube import parse_search, parse_videos

KEY = "AIzaSyTEST-key-never-shown-0123456789"
SEARCH = "www.googleapis.com/youtube/v3/search"
VIDEOS = "www.googleapis.com/youtube/v3/videos"


def make_client(adapter: FakeAdapter, ledger: CallLedger | None = None) -> YouTubeClient:
    return YouTubeClient(
        make_http(adapter, "YouTube", ledger=ledger),
        api_key=KEY,
        costs=call_costs(ProvidersSettings()),
    )


def video(video_id: str, title: str) -> dict[str, object]:
    return {
        "kind": "youtube#searchResult",
        "id": {"kind": "youtube#video", "videoId": video_id},
        "snippet": {"title": title, "channelTitle": "c"},
    }


def stats(*ids: str) -> dict[str, object]:
    return {
        "items": [{"id": i, "statistics": {"viewCount": str(n + 1)}} for n, i in enumerate(ids)]
    }


class TestSearchVideo:
    """search.list -> the first plausible video id."""

    def test_search_video_skips_channels_and_unrelated_videos(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("youtube", "search")))
        assert make_client(adapter).search_video("Espresso", "Sabrina Carpenter") == "eVli-tstM5E"

    def test_search_video_sends_the_quoted_query_and_the_key(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("youtube", "search")))
        ledger = CallLedger()
        make_client(adapter, ledger).search_video("Espresso", "Sabrina Carpenter")
        assert adapter.paths() == [SEARCH]
        assert adapter.params() == {
            "part": "snippet",
            "q": '"Espresso" "Sabrina Carpenter"',
            "type": "video",
            "maxResults": "5",
            "key": KEY,
        }
        assert ledger.quota_units() == {"YouTube": 1}

    def test_search_video_when_no_result_matches_returns_none(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("youtube", "search")))
        assert make_client(adapter).search_video("Please Please Please", "Someone") is None

    def test_search_video_when_there_are_no_results_returns_none(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("youtube", "search_empty")))
        assert make_client(adapter).search_video("Espresso", "Sabrina Carpenter") is None

    @pytest.mark.parametrize(
        ("video_title", "title", "artist", "found"),
        [
            ("ROSÉ & Bruno Mars - APT. (Official Music Video)", "APT.", "x", True),
            ("bruno mars live", "Other", "ROSÉ, Bruno Mars", True),
            ("Don&#39;t Stop (Audio)", "Don't Stop", "x", True),
            ("Completely different", "APT.", "ROSÉ, Bruno Mars", False),
            ("anything", "", " , ", False),
        ],
    )
    def test_parse_search_accepts_a_title_naming_the_track_or_an_artist(
        self, video_title: str, title: str, artist: str, found: bool
    ) -> None:
        payload = {"items": [video("abc", video_title)]}
        assert parse_search(payload, title, artist) == ("abc" if found else None)

    @pytest.mark.parametrize(
        "payload",
        [
            [],
            {"items": "x"},
            {"items": [None]},
            {"items": [{"id": "abc"}]},
            {"items": [{"id": {"videoId": 5}}]},
            {"items": [{"id": {"videoId": "a"}}]},
            {"items": [{"id": {"videoId": "a"}, "snippet": {"title": None}}]},
        ],
    )
    def test_parse_search_when_shape_is_wrong_raises_payload_error(self, payload: object) -> None:
        with pytest.raises(ProviderPayloadError, match="YouTube search payload"):
            parse_search(payload, "t", "a")

    def test_search_video_when_quota_is_exceeded_raises_quota_exhausted(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("youtube", "quota_exceeded"), 403))
        with pytest.raises(QuotaExhausted) as info:
            make_client(adapter).search_video("Espresso", "Sabrina Carpenter")
        assert (info.value.service, info.value.endpoint, info.value.status) == (
            "YouTube",
            "search",
            403,
        )
        assert len(adapter.requests) == 1
        assert KEY not in str(info.value)

    def test_search_video_when_key_is_invalid_raises_auth_error_without_the_key(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("youtube", "key_invalid"), 400))
        with pytest.raises(ProviderAuthError) as info:
            make_client(adapter).search_video("Espresso", "Sabrina Carpenter")
        assert KEY not in str(info.value)


class TestViewCounts:
    """videos.list in batches of 50 -> {video id: views}."""

    def test_view_counts_reads_string_counts_as_ints(self) -> None:
        adapter = FakeAdapter(Reply(fixture_json("youtube", "videos")))
        counts = make_client(adapter).view_counts(["eVli-tstM5E", "kPa7bsKwL-c", "gone0000000"])
        assert counts == {"eVli-tstM5E": 412887310, "kPa7bsKwL-c": 1598002173}
        assert adapter.params() == {
            "part": "statistics",
            "id": "eVli-tstM5E,kPa7bsKwL-c,gone0000000",
            "key": KEY,
        }

    def test_view_counts_when_120_ids_makes_three_calls_of_50_50_20(self) -> None:
        ids = [f"vid{n:08d}" for n in range(120)]
        adapter = FakeAdapter(
            handler=lambda request: Reply(
                stats(*(request.url or "").split("id=")[1].split("&")[0].split("%2C"))
            )
        )
        ledger = CallLedger()
        counts = make_client(adapter, ledger).view_counts(ids)
        assert adapter.paths() == [VIDEOS] * 3
        assert [adapter.params(i)["id"].split(",") for i in range(3)] == [
            ids[:50],
            ids[50:100],
            ids[100:],
        ]
        assert set(counts) == set(ids)
        assert ledger.quota_units() == {"YouTube": 3}

    def test_view_counts_removes_duplicates_before_batching(self) -> None:
        adapter = FakeAdapter(Reply(stats("a", "b")))
        make_client(adapter).view_counts(["a", "b", "a", "", "b"])
        assert adapter.params()["id"] == "a,b"

    def test_view_counts_when_no_ids_makes_no_call(self) -> None:
        adapter = FakeAdapter()
        assert make_client(adapter).view_counts([]) == {}
        assert adapter.requests == []

    def test_view_counts_ignores_ids_that_were_not_asked_for(self) -> None:
        adapter = FakeAdapter(Reply(stats("a", "zzz")))
        assert make_client(adapter).view_counts(["a"]) == {"a": 1}

    @pytest.mark.parametrize(
        "payload",
        [
            None,
            {"items": {}},
            {"items": [{"id": "a"}]},
            {"items": [{"statistics": {}}]},
            {"items": [{"id": "a", "statistics": {}}]},
            {"items": [{"id": "a", "statistics": {"viewCount": "12a"}}]},
            {"items": [{"id": "a", "statistics": {"viewCount": "-3"}}]},
            {"items": [{"id": "a", "statistics": {"viewCount": "٣"}}]},
            {"items": [{"id": "a", "statistics": {"viewCount": None}}]},
        ],
    )
    def test_parse_videos_when_shape_is_wrong_raises_payload_error(self, payload: object) -> None:
        with pytest.raises(ProviderPayloadError, match="YouTube videos payload"):
            parse_videos(payload)

    def test_parse_videos_when_items_are_absent_returns_nothing(self) -> None:
        assert parse_videos({"kind": "youtube#videoListResponse"}) == {}
