"""Provider clients: documented API JSON -> domain objects, one HttpClient (and Session) each.

`open_providers` builds them all from the service registry, against the real APIs or, without
keys, the offline sample world (DESIGN.md §4).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import structlog
from pydantic import SecretStr

from tunemeld.config import ProvidersSettings, Settings
from tunemeld.models import Service
from tunemeld.services.http import (
    CallLedger,
    CallObserver,
    HttpClient,
    QuotaBudget,
    build_session,
)
from tunemeld.services.providers.registry import (
    PROVIDERS,
    SERVICES,
    ClientParts,
    PlaylistClient,
)
from tunemeld.services.providers.spotify import SpotifyClient, SpotifyMatch
from tunemeld.services.providers.youtube import YouTubeClient

__all__ = [
    "SAMPLE_CREDENTIAL",
    "PlaylistClient",
    "Providers",
    "SpotifyClient",
    "SpotifyMatch",
    "YouTubeClient",
    "call_costs",
    "open_providers",
]

log = structlog.get_logger()

SAMPLE_CREDENTIAL = "sample"
"""What stands in for a missing credential when the sample world answers."""


def call_costs(settings: ProvidersSettings) -> dict[tuple[str, str], int]:
    """Quota units per call of every registered (provider, endpoint), from `providers.costs`."""
    return {
        (spec.name, endpoint): settings.cost(spec.name, endpoint).units
        for spec in PROVIDERS
        for endpoint in spec.endpoints
    }


@dataclass
class Providers:
    """Every provider client of one run, sharing one call ledger; close it when done."""

    playlists: dict[Service, PlaylistClient]
    """Each playlist service's client, by the registry."""
    spotify: SpotifyClient
    """Spotify's client again, as the ISRC search and play-count source."""
    youtube: YouTubeClient
    ledger: CallLedger
    sample: bool
    """True when the offline sample world answers instead of the real APIs."""

    def playlist_client(self, service: Service) -> PlaylistClient:
        return self.playlists[service]

    def close(self) -> None:
        for client in self.playlists.values():
            client.http.close()
        self.youtube.http.close()

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

    Live use with a credential missing raises ConfigError naming every missing setting; in the
    sample world `as_of` is the simulated day. `budget` refuses calls whose bucket is spent.
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
        config.require_live_keys()

    def http(provider: str) -> HttpClient:
        return HttpClient(
            provider, build_session(adapter), config, ledger, on_call=on_call, budget=budget
        )

    credentials = {name: _secret(value) for name, value in config.credentials().items()}
    playlists = {
        spec.service: spec.client(ClientParts(http(spec.name), credentials, costs))
        for spec in SERVICES
    }
    spotify = next((c for c in playlists.values() if isinstance(c, SpotifyClient)), None)
    if spotify is None:  # the search and play-count source
        raise TypeError("No registered playlist service builds a SpotifyClient.")
    return Providers(
        playlists=playlists,
        spotify=spotify,
        youtube=YouTubeClient(http("YouTube"), api_key=credentials["YOUTUBE_API_KEY"], costs=costs),
        ledger=ledger,
        sample=sample,
    )
