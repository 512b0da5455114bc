"""open_providers: live or sample world, credentials, one HttpClient per provider, shared ledger."""

from __future__ import annotations

import datetime
import sys
import types

import pytest
import requests

from tests.unit.services.fake_http import FakeAdapter, Reply, fixture_json
from tunemeld.config import Settings
from tunemeld.exceptions import ConfigError
from tunemeld.models import Service
from tunemeld.services import providers as providers_module
from tunemeld.services.http import CallLedger, build_session
from tunemeld.services.providers import Providers, open_providers
from tunemeld.services.providers.apple_music import AppleMusicClient
from tunemeld.services.providers.soundcloud import SoundCloudClient

AS_OF = datetime.date(2026, 3, 6)
KEYS = {
    "rapidapi_key": "rapid-live-key-0001",
    "spotify_client_id": "spotify-client-id",
    "spotify_client_secret": "spotify-client-secret-0001",
    "youtube_api_key": "youtube-live-key-0001",
}


def settings_with(**providers: object) -> Settings:
    return Settings(_env_file=None, env="testing", providers=providers)


@pytest.fixture(name="sandbox")
def _sandbox(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A stand-in for tunemeld.services.sandbox that answers with the YouTube videos fixture."""
    seen: dict[str, object] = {}

    class SampleWorld:
        def __init__(self, seed: int, catalog: object) -> None:
            seen["seed"], seen["catalog"] = seed, catalog

    class SandboxAdapter(FakeAdapter):
        def __init__(self, world: SampleWorld, as_of: datetime.date) -> None:
            super().__init__(handler=lambda _: Reply(fixture_json("youtube", "videos")))
            seen["world"], seen["as_of"], seen["adapter"] = world, as_of, self

    module = types.ModuleType("tunemeld.services.sandbox")
    module.SampleWorld = SampleWorld  # type: ignore[attr-defined]
    module.SandboxAdapter = SandboxAdapter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tunemeld.services.sandbox", module)
    return seen


@pytest.fixture(name="wire")
def _wire(monkeypatch: pytest.MonkeyPatch) -> FakeAdapter:
    """Live sessions answered by a fake adapter instead of the network."""
    adapter = FakeAdapter(handler=lambda _: Reply(fixture_json("youtube", "videos")))

    def session(_: object = None) -> requests.Session:
        return build_session(adapter)

    monkeypatch.setattr(providers_module, "build_session", session)
    return adapter


class TestLive:
    """Live mode needs every credential and sends the configured ones."""

    def test_open_providers_when_live_keys_are_missing_names_each_one(self) -> None:
        settings = settings_with(mode="live", rapidapi_key="rapid-live-key-0001")
        with pytest.raises(ConfigError) as info:
            open_providers(settings, as_of=AS_OF)
        message = str(info.value)
        for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "YOUTUBE_API_KEY"):
            assert name in message
        assert "RAPIDAPI_KEY" not in message.split("Hint:")[0]
        assert "rapid-live-key-0001" not in message
        assert "TUNEMELD_PROVIDERS__MODE=sample" in message

    def test_open_providers_when_auto_has_only_some_keys_refuses_too(self) -> None:
        settings = settings_with(mode="auto", youtube_api_key="youtube-live-key-0001")
        with pytest.raises(ConfigError, match="RAPIDAPI_KEY"):
            open_providers(settings, as_of=AS_OF)

    def test_open_providers_when_live_uses_the_configured_credentials(
        self, wire: FakeAdapter
    ) -> None:
        with open_providers(settings_with(mode="live", **KEYS), as_of=AS_OF) as providers:
            assert providers.sample is False
            providers.youtube.view_counts(["eVli-tstM5E"])
        assert wire.params()["key"] == "youtube-live-key-0001"


class TestSample:
    """Sample mode mounts the sample world and fills in placeholder credentials."""

    def test_open_providers_when_sample_mounts_the_world_with_seed_and_day(
        self, sandbox: dict[str, object]
    ) -> None:
        settings = settings_with(mode="sample", sample_seed=7)
        providers = open_providers(settings, as_of=AS_OF)
        assert providers.sample is True
        assert sandbox["seed"] == 7
        assert sandbox["as_of"] == AS_OF
        assert providers.youtube.view_counts(["eVli-tstM5E"]) == {"eVli-tstM5E": 412887310}
        adapter = sandbox["adapter"]
        assert isinstance(adapter, FakeAdapter)
        assert adapter.params()["key"] == "sample"

    def test_open_providers_when_auto_without_keys_uses_the_sample_world(
        self, sandbox: dict[str, object]
    ) -> None:
        providers = open_providers(settings_with(mode="auto"), as_of=AS_OF)
        assert providers.sample is True
        assert "adapter" in sandbox

    def test_open_providers_when_sample_keeps_configured_keys(
        self, sandbox: dict[str, object]
    ) -> None:
        providers = open_providers(
            settings_with(mode="sample", youtube_api_key="youtube-live-key-0001"), as_of=AS_OF
        )
        providers.youtube.view_counts(["eVli-tstM5E"])
        adapter = sandbox["adapter"]
        assert isinstance(adapter, FakeAdapter)
        assert adapter.params()["key"] == "youtube-live-key-0001"


class TestProviders:
    """The Providers bundle: names, shared ledger, on_call hook, playlist clients."""

    def test_each_client_records_under_its_provider_name_in_the_shared_ledger(
        self, wire: FakeAdapter
    ) -> None:
        ledger = CallLedger()
        calls: list[tuple[str, str, int | str, int]] = []
        providers = open_providers(
            settings_with(mode="live", **KEYS),
            as_of=AS_OF,
            ledger=ledger,
            on_call=lambda *args: calls.append(args),
        )
        assert providers.ledger is ledger
        for client in providers.playlists.values():
            client.http.get_json("probe", "https://x.test/")
        providers.youtube.view_counts(["a"])
        assert set(ledger.calls()) == {"Spotify", "AppleMusic", "SoundCloud", "YouTube"}
        assert calls[-1] == ("YouTube", "videos", 200, 1)

    def test_playlist_client_returns_the_client_of_each_service(self, wire: FakeAdapter) -> None:
        providers = open_providers(settings_with(mode="live", **KEYS), as_of=AS_OF)
        assert providers.playlist_client(Service.SPOTIFY) is providers.spotify
        assert isinstance(providers.playlist_client(Service.APPLE_MUSIC), AppleMusicClient)
        assert isinstance(providers.playlist_client(Service.SOUNDCLOUD), SoundCloudClient)
        for service in Service:
            assert providers.playlist_client(service).service is service

    def test_close_closes_every_session(self, monkeypatch: pytest.MonkeyPatch) -> None:
        closed: list[str] = []

        class Closing(FakeAdapter):
            def close(self) -> None:
                closed.append("x")

        monkeypatch.setattr(
            providers_module, "build_session", lambda _=None: build_session(Closing())
        )
        providers: Providers = open_providers(settings_with(mode="live", **KEYS), as_of=AS_OF)
        providers.close()
        assert len(closed) == 8  # four sessions, each with https:// and http:// mounted
