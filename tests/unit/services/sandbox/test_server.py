"""The simulator's WSGI side without sockets: flag parsing, seeded faults, routing and counts."""

from __future__ import annotations

import json
import random
import wsgiref.util
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tunemeld.exceptions import ConfigError, ProviderPayloadError
from tunemeld.services.providers import spotify, youtube
from tunemeld.services.sandbox import SampleWorld
from tunemeld.services.sandbox.server import (
    FaultPlan,
    Latency,
    Simulator,
    endpoint_label,
    parse_duration,
)

DAY = date(2026, 10, 5)
WORLD = SampleWorld(seed=7)


def call(
    sim: Simulator,
    path: str,
    query: str = "",
    *,
    host: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request through the WSGI app: (status, headers, body)."""
    environ: dict[str, Any] = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update({"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": method})
    if host is not None:
        environ["HTTP_HOST"] = host
    for name, value in (headers or {}).items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: object) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    body = b"".join(sim(environ, start_response))
    return seen["status"], seen["headers"], body


def simulator(faults: str = "", **kwargs: Any) -> Simulator:
    return Simulator(WORLD, faults=FaultPlan.parse(faults), seed=7, as_of=DAY, quiet=True, **kwargs)


VIDEOS = ("/youtube/v3/videos", "part=statistics&id=abc,def&key=secret-key")
YOUTUBE = "www.googleapis.com"


class TestFlags:
    """`--faults`, `--latency` and durations."""

    def test_fault_plan_when_valid_keeps_kinds_and_rates_in_order(self) -> None:
        plan = FaultPlan.parse("429=0.1, 500=0.05,timeout=0.02,malformed=0.02,truncated=0.01")
        assert plan.rates == (
            ("429", 0.1),
            ("500", 0.05),
            ("timeout", 0.02),
            ("malformed", 0.02),
            ("truncated", 0.01),
        )
        assert str(FaultPlan.parse("")) == "none"

    @pytest.mark.parametrize(
        "text", ["418=0.1", "429", "429=x", "429=1.5", "429=-0.1", "429=0.6,500=0.6"]
    )
    def test_fault_plan_when_invalid_raises_config_error_with_a_hint(self, text: str) -> None:
        with pytest.raises(ConfigError) as info:
            FaultPlan.parse(text)
        assert info.value.hint

    @pytest.mark.parametrize(
        ("text", "mean", "jitter"),
        [("50ms±20ms", 0.05, 0.02), ("50ms+-20ms", 0.05, 0.02), ("1.5s", 1.5, 0.0), ("", 0, 0)],
    )
    def test_latency_when_parsed_reads_mean_and_jitter(
        self, text: str, mean: float, jitter: float
    ) -> None:
        latency = Latency.parse(text)
        assert latency.mean == pytest.approx(mean)
        assert latency.jitter == pytest.approx(jitter)

    @given(st.integers(0, 2**32))
    def test_latency_when_drawn_stays_within_mean_plus_minus_jitter(self, seed: int) -> None:
        delay = Latency(0.05, 0.02).draw(random.Random(seed))
        assert 0.03 - 1e-9 <= delay <= 0.07 + 1e-9

    @pytest.mark.parametrize("text", ["fast", "-1s", "1h", ""])
    def test_parse_duration_when_not_a_duration_raises_config_error(self, text: str) -> None:
        with pytest.raises(ConfigError):
            parse_duration(text)

    def test_fault_plan_when_picking_many_times_matches_the_rates(self) -> None:
        plan = FaultPlan.parse("429=0.2,malformed=0.1")
        rng = random.Random(1)
        picks = [plan.pick(rng) for _ in range(20_000)]
        assert picks.count("429") / len(picks) == pytest.approx(0.2, abs=0.015)
        assert picks.count("malformed") / len(picks) == pytest.approx(0.1, abs=0.015)


class TestRouting:
    """Every provider host answers, by Host header or by /<host>/<path>."""

    def test_request_when_host_header_names_a_provider_gets_the_world_answer(self) -> None:
        status, _, body = call(simulator(), *VIDEOS, host=YOUTUBE)
        assert status == 200
        assert json.loads(body)["kind"] == "youtube#videoListResponse"

    def test_request_when_host_is_the_first_path_segment_gets_the_same_answer(self) -> None:
        by_header = call(simulator(), *VIDEOS, host=YOUTUBE)
        by_path = call(simulator(), f"/{YOUTUBE}{VIDEOS[0]}", VIDEOS[1], host="127.0.0.1:1")
        assert by_header[2] == by_path[2]

    def test_request_when_host_is_unknown_answers_404_with_how_to_route(self) -> None:
        status, _, body = call(simulator(), "/v1/search", "q=x", host="127.0.0.1:8765")
        assert status == 404
        assert "Host header" in json.loads(body)["message"]

    def test_spotify_token_when_posted_through_the_simulator_is_issued(self) -> None:
        sim = simulator()
        environ_body = b"grant_type=client_credentials"
        environ: dict[str, Any] = {}
        wsgiref.util.setup_testing_defaults(environ)
        environ.update(
            {
                "PATH_INFO": "/api/token",
                "REQUEST_METHOD": "POST",
                "HTTP_HOST": "accounts.spotify.com",
                "HTTP_AUTHORIZATION": "Basic aWQ6c2VjcmV0",
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(environ_body)),
            }
        )
        environ["wsgi.input"].write(environ_body)
        environ["wsgi.input"].seek(0)
        statuses: list[str] = []
        body = b"".join(sim(environ, lambda status, headers, *_: statuses.append(status)))
        assert statuses[0].startswith("200")
        token, lifetime = spotify.parse_token(json.loads(body))
        assert token
        assert lifetime == 3600

    @pytest.mark.parametrize(
        ("host", "path", "label"),
        [
            (YOUTUBE, "/youtube/v3/search", "YouTube search"),
            (YOUTUBE, "/youtube/v3/videos", "YouTube videos"),
            ("api.spotify.com", "/v1/search", "Spotify search"),
            ("spotify81.p.rapidapi.com", "/partner/track/count", "Spotify play_count"),
            ("music.apple.com", "/us/playlist/x/pl.1", "AppleMusic playlist_page"),
        ],
    )
    def test_endpoint_label_when_given_a_provider_url_names_it_like_the_ledger(
        self, host: str, path: str, label: str
    ) -> None:
        assert endpoint_label(host, path) == label


class TestFaults:
    """Each fault's shape, and the same faults for the same seed whatever the timing."""

    def test_429_when_injected_carries_retry_after_and_a_provider_error_body(self) -> None:
        status, headers, body = call(simulator("429=1", retry_after=0.5), *VIDEOS, host=YOUTUBE)
        assert status == 429
        assert headers["Retry-After"] == "0.5"
        assert json.loads(body)["error"]["errors"][0]["reason"] == "rateLimitExceeded"

    def test_500_when_injected_on_rapidapi_uses_its_message_shape(self) -> None:
        status, _, body = call(
            simulator("500=1"),
            "/partner/track/count",
            "spotify_track_id=x",
            host="spotify81.p.rapidapi.com",
            headers={"X-RapidAPI-Key": "k"},
        )
        assert status == 500
        assert set(json.loads(body)) == {"message"}

    def test_malformed_when_injected_is_a_200_that_is_not_json(self) -> None:
        status, _, body = call(simulator("malformed=1"), *VIDEOS, host=YOUTUBE)
        assert status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)

    def test_truncated_when_injected_promises_more_bytes_than_it_sends(self) -> None:
        status, headers, body = call(simulator("truncated=1"), *VIDEOS, host=YOUTUBE)
        assert status == 200
        assert int(headers["Content-Length"]) > len(body)

    def test_drift_when_injected_removes_or_renames_one_field(self) -> None:
        clean = json.loads(call(simulator(), *VIDEOS, host=YOUTUBE)[2])
        drifted = json.loads(call(simulator("drift=1"), *VIDEOS, host=YOUTUBE)[2])
        assert drifted != clean

    def test_faults_when_seed_and_requests_repeat_are_identical(self) -> None:
        first = simulator("429=0.3,500=0.2,drift=0.2")
        second = simulator("429=0.3,500=0.2,drift=0.2")
        queries = [f"part=statistics&id=v{i}&key=k" for i in range(40)] * 2
        one = [call(first, VIDEOS[0], q, host=YOUTUBE)[0:3:2] for q in queries]
        two = [call(second, VIDEOS[0], q, host=YOUTUBE)[0:3:2] for q in queries]
        assert one == two
        assert {status for status, _ in one} >= {200, 429, 500}

    def test_faults_when_the_api_key_differs_do_not_change(self) -> None:
        def statuses(key: str) -> list[int]:
            sim = simulator("500=0.5")
            path = VIDEOS[0]
            return [
                call(sim, path, f"id=v{i}&part=x&key={key}", host=YOUTUBE)[0] for i in range(30)
            ]

        assert statuses("a") == statuses("b")
        assert 500 in statuses("a")

    def test_retried_request_when_faulted_once_meets_a_fresh_draw(self) -> None:
        sim = simulator("500=0.5")
        statuses = [call(sim, *VIDEOS, host=YOUTUBE)[0] for _ in range(30)]
        assert 200 in statuses
        assert 500 in statuses

    @given(st.integers(0, 10_000))
    def test_drifted_answers_when_parsed_raise_only_the_typed_error(self, seed: int) -> None:
        sim = Simulator(WORLD, faults=FaultPlan.parse("drift=1"), seed=seed, as_of=DAY, quiet=True)
        _, _, body = call(sim, *VIDEOS, host=YOUTUBE)
        failure: ProviderPayloadError | None = None
        counts: dict[str, int] = {}
        try:
            counts = youtube.parse_videos(json.loads(body))
        except ProviderPayloadError as exc:
            failure = exc
        if failure is not None:
            assert failure.provider == "YouTube"
            assert failure.problem
        assert all(v >= 0 for v in counts.values())


class TestControlRoutes:
    """`/__stats` counts what was served; `/__date` moves the simulated day."""

    def test_stats_when_requests_were_served_counts_them_per_endpoint_and_outcome(self) -> None:
        sim = simulator("429=1")
        for _ in range(3):
            call(sim, *VIDEOS, host=YOUTUBE)
        status, _, body = call(sim, "/__stats")
        stats = json.loads(body)
        assert status == 200
        assert stats["endpoints"] == {"YouTube videos": {"429": 3}}
        assert stats["total"] == 3
        call(sim, "/__stats", method="DELETE")
        assert json.loads(call(sim, "/__stats")[2])["total"] == 0

    def test_date_when_posted_changes_the_day_and_bad_dates_are_refused(self) -> None:
        sim = simulator()
        assert call(sim, "/__date", "date=2026-12-01", method="POST")[0] == 200
        assert sim.today() == date(2026, 12, 1)
        assert call(sim, "/__date", "date=tomorrow", method="POST")[0] == 400
        assert sim.today() == date(2026, 12, 1)
