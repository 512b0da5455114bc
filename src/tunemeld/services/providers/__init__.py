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

from tunemeld.config import CatalogEntry, ProvidersSettings, Settings
from tunemeld.exceptions import ConfigError
from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.services.http import (
    CallLedger,
    CallObserver,
    HttpClient,
    QuotaBudget,
    build_session,
)
from tunemeld.services.providers.apple_music import AppleMusicClient
from tunemeld.services.providers.soundcloud import SoundCloudClient
from tunemeld.services.providers.spotify import SpotifyClient, SpotifyMatch
from tunemeld.services.providers.youtube import YouTubeClient

__all__ = [
    "DEFAULT_COSTS",
    "ENDPOINTS",
    "PROVIDER_NAMES",
    "SAMPLE_CREDENTIAL",
    "AppleMusicClient",
    "PlaylistClient",
    "Providers",
    "SoundCloudClient",
    "SpotifyClient",
    "SpotifyMatch",
    "YouTubeClient",
    "call_costs",
    "open_providers",
]

log = structlog.get_logger()

PROVIDER_NAMES = ("Spotify", "AppleMusic", "SoundCloud", "YouTube")
"""Provider names used by the ledger, logs and metrics: the Service values, plus YouTube."""

SAMPLE_CREDENTIAL = "sample"
"""What stands in for a missing credential when the sample world answers."""

ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("Spotify", "playlist_tracks"),  # RapidAPI spotify23: one request of plan quota
    ("Spotify", "token"),
    ("Spotify", "search"),
    ("Spotify", "play_count"),  # RapidAPI spotify81
    ("Spotify", "playlist_page"),
    ("AppleMusic", "playlist"),  # RapidAPI apple-music24
    ("AppleMusic", "playlist_page"),
    ("SoundCloud", "playlist_tracks"),  # RapidAPI soundcloud-scraper, per page
    ("SoundCloud", "playlist_page"),
    ("YouTube", "search"),  # its own bucket since 2026-06-01 (providers.md §3.1)
    ("YouTube", "videos"),
)
"""Every (provider, endpoint) the clients call: the ledger's, budget's and settings' names."""


def call_costs(settings: ProvidersSettings) -> dict[tuple[str, str], int]:
    """Quota units per call by (provider, endpoint), from `providers.costs` settings."""
    return {(p, e): settings.cost(p, e).units for p, e in ENDPOINTS}


DEFAULT_COSTS: dict[tuple[str, str], int] = call_costs(ProvidersSettings())
"""The default units per call (providers.md §7); the run uses `call_costs(settings)`."""


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
    budget: QuotaBudget | None = None,
) -> Providers:
    """Build the four clients, on the real APIs or (sample mode, or no keys) the sample world.

    Live use with any credential missing raises ConfigError naming every missing setting;
    in the sample world `as_of` is the simulated day. `budget` (shared by the four clients)
    refuses calls whose quota bucket is spent; `providers.base_url` redirects live calls.
    """
    config = settings.providers
    ledger = ledger if ledger is not None else CallLedger()
    costs = call_costs(config)
    sample = config.uses_sample
    adapter = None
    if sample:
        from tunemeld.config import load_catalog
        from tunemeld.services.sandbox import SampleWorld, SandboxAdapter

        catalog = load_catalog(settings.etl.catalog_path)
        world = SampleWorld(seed=config.sample_seed, catalog=catalog)
        adapter = SandboxAdapter(world, as_of=as_of)
        log.info(
            "sample_world_mounted",
            mode=config.mode,
            seed=config.sample_seed,
            as_of=as_of.isoformat(),
            reason="mode=sample" if config.mode == "sample" else "no provider keys configured",
        )
    else:
        if config.base_url or config.base_urls:
            log.info("provider_base_url", base_url=config.base_url, hosts=sorted(config.base_urls))
        missing = config.missing_live_keys()
        if missing:
            raise ConfigError(
                f"Live provider calls need {', '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not set.",
                hint="Set them in the environment or .env (see .env.example), or use the "
                "offline sample world with TUNEMELD_PROVIDERS__MODE=sample.",
            )

    def http(provider: str) -> HttpClient:
        return HttpClient(
            provider, build_session(adapter), config, ledger, on_call=on_call, budget=budget
        )

    rapidapi_key = _secret(config.rapidapi_key)
    return Providers(
        spotify=SpotifyClient(
            http("Spotify"),
            rapidapi_key=rapidapi_key,
            client_id=_secret(config.spotify_client_id),
            client_secret=_secret(config.spotify_client_secret),
            costs=costs,
        ),
        apple_music=AppleMusicClient(http("AppleMusic"), rapidapi_key=rapidapi_key, costs=costs),
        soundcloud=SoundCloudClient(http("SoundCloud"), rapidapi_key=rapidapi_key, costs=costs),
        youtube=YouTubeClient(
            http("YouTube"), api_key=_secret(config.youtube_api_key), costs=costs
        ),
        ledger=ledger,
        sample=sample,
    )
