"""Provider clients: documented API JSON -> domain objects, one HttpClient (and Session) each.

`open_providers(settings, as_of=...)` builds them all, against the real APIs or, without keys,
against the offline sample world mounted as a requests adapter (DESIGN.md §4).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

import structlog
from pydantic import SecretStr

from tunemeld.config import CatalogEntry, Settings
from tunemeld.exceptions import ConfigError
from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.services.http import CallLedger, CallObserver, HttpClient, build_session
from tunemeld.services.providers.apple_music import AppleMusicClient
from tunemeld.services.providers.soundcloud import SoundCloudClient
from tunemeld.services.providers.spotify import SpotifyClient, SpotifyMatch
from tunemeld.services.providers.youtube import YouTubeClient

__all__ = [
    "DEFAULT_COSTS",
    "PROVIDER_NAMES",
    "SAMPLE_CREDENTIAL",
    "AppleMusicClient",
    "PlaylistClient",
    "Providers",
    "SoundCloudClient",
    "SpotifyClient",
    "SpotifyMatch",
    "YouTubeClient",
    "open_providers",
]

log = structlog.get_logger()

PROVIDER_NAMES = ("Spotify", "AppleMusic", "SoundCloud", "YouTube")
"""Provider names used by the ledger, logs and metrics: the Service values, plus YouTube."""

SAMPLE_CREDENTIAL = "sample"
"""What stands in for a missing credential when the sample world answers."""

DEFAULT_COSTS: dict[tuple[str, str], int] = {
    ("Spotify", "playlist_tracks"): 1,  # RapidAPI spotify23: one request of plan quota
    ("Spotify", "token"): 0,
    ("Spotify", "search"): 1,
    ("Spotify", "play_count"): 1,  # RapidAPI spotify81
    ("Spotify", "playlist_page"): 0,
    ("AppleMusic", "playlist"): 1,  # RapidAPI apple-music24
    ("AppleMusic", "playlist_page"): 0,
    ("SoundCloud", "playlist_tracks"): 1,  # RapidAPI soundcloud-scraper, per page
    ("SoundCloud", "playlist_page"): 0,
    ("YouTube", "search"): 1,  # its own bucket since 2026-06-01 (providers.md §3.1)
    ("YouTube", "videos"): 1,
}
"""Quota units per call by (provider, endpoint), from providers.md §7; unknown pairs cost 0."""


class PlaylistClient(Protocol):
    """What extract needs from a streaming service: its playlist's tracks and header."""

    service: Service

    def fetch_playlist(self, entry: CatalogEntry) -> list[RawTrack]:
        """The playlist's tracks, ranked 1..n."""
        ...

    def fetch_meta(self, entry: CatalogEntry) -> PlaylistMeta:
        """The playlist's name, cover and description."""
        ...


@dataclass
class Providers:
    """Every provider client of one run, sharing one call ledger; close it when done."""

    spotify: SpotifyClient
    apple_music: AppleMusicClient
    soundcloud: SoundCloudClient
    youtube: YouTubeClient
    ledger: CallLedger
    sample: bool
    """True when the offline sample world answers instead of the real APIs."""

    def playlist_client(self, service: Service) -> PlaylistClient:
        """The client that reads `service`'s playlists."""
        clients: dict[Service, PlaylistClient] = {
            Service.SPOTIFY: self.spotify,
            Service.APPLE_MUSIC: self.apple_music,
            Service.SOUNDCLOUD: self.soundcloud,
        }
        return clients[service]

    def close(self) -> None:
        """Close every provider's session."""
        for client in (self.spotify, self.apple_music, self.soundcloud, self.youtube):
            client.http.close()

    def __enter__(self) -> Providers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _secret(value: SecretStr | str | None) -> str:
    """A credential's plain value, or the sample placeholder when it is not set."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    return text.strip() if text and text.strip() else SAMPLE_CREDENTIAL


def open_providers(
    settings: Settings,
    *,
    as_of: datetime.date,
    ledger: CallLedger | None = None,
    on_call: CallObserver | None = None,
) -> Providers:
    """Build the four clients, on the real APIs or (sample mode, or no keys) the sample world.

    Live use with any credential missing raises ConfigError naming every missing setting;
    in the sample world `as_of` is the simulated day.
    """
    config = settings.providers
    ledger = ledger if ledger is not None else CallLedger()
    sample = config.uses_sample
    adapter = None
    if sample:
        from tunemeld.services.sandbox import SampleWorld, SandboxAdapter

        adapter = SandboxAdapter(SampleWorld(seed=config.sample_seed), as_of=as_of)
        log.info(
            "sample_world_mounted",
            mode=config.mode,
            seed=config.sample_seed,
            as_of=as_of.isoformat(),
            reason="mode=sample" if config.mode == "sample" else "no provider keys configured",
        )
    else:
        missing = config.missing_live_keys()
        if missing:
            raise ConfigError(
                f"Live provider calls need {', '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not set.",
                hint="Set them in the environment or .env (see .env.example), or use the "
                "offline sample world with TUNEMELD_PROVIDERS__MODE=sample.",
            )

    def http(provider: str) -> HttpClient:
        return HttpClient(provider, build_session(adapter), config, ledger, on_call=on_call)

    rapidapi_key = _secret(config.rapidapi_key)
    return Providers(
        spotify=SpotifyClient(
            http("Spotify"),
            rapidapi_key=rapidapi_key,
            client_id=_secret(config.spotify_client_id),
            client_secret=_secret(config.spotify_client_secret),
            costs=DEFAULT_COSTS,
        ),
        apple_music=AppleMusicClient(
            http("AppleMusic"), rapidapi_key=rapidapi_key, costs=DEFAULT_COSTS
        ),
        soundcloud=SoundCloudClient(
            http("SoundCloud"), rapidapi_key=rapidapi_key, costs=DEFAULT_COSTS
        ),
        youtube=YouTubeClient(
            http("YouTube"), api_key=_secret(config.youtube_api_key), costs=DEFAULT_COSTS
        ),
        ledger=ledger,
        sample=sample,
    )
