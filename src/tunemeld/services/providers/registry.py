"""The service registry: each provider described once, and everything else derived from it.

Adding a service is its provider module, its sandbox module and one entry here (or a call of
`register`). Everything that knows services reads the registry when it needs it, so nothing
holds a copy taken at import time and a service registered later is part of all of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tunemeld.models import PlaylistMeta, RawTrack, Service
from tunemeld.models.genre import forget_service
from tunemeld.services.providers import apple_music, soundcloud, spotify
from tunemeld.services.sandbox import apple_music as apple_music_sandbox
from tunemeld.services.sandbox import soundcloud as soundcloud_sandbox
from tunemeld.services.sandbox import spotify as spotify_sandbox
from tunemeld.services.sandbox import youtube as youtube_sandbox

if TYPE_CHECKING:
    from tunemeld.config import Catalog, CatalogEntry
    from tunemeld.services.http import HttpClient
    from tunemeld.services.providers import Providers
    from tunemeld.services.sandbox.exchange import EndpointModule, PlaylistEndpointModule

__all__ = [
    "PROBE_ISRC",
    "PROBE_VIDEO",
    "PROVIDERS",
    "SERVICES",
    "ClientParts",
    "Cost",
    "PlaylistClient",
    "ProviderSpec",
    "ServiceSpec",
    "default_buckets",
    "default_costs",
    "register",
    "service_spec",
    "spec_named",
    "unregister",
]

PROBE_ISRC = "USUM71703861"
"""The recording the Spotify health probe looks up (one search call)."""

PROBE_VIDEO = "dQw4w9WgXcQ"
"""The video the YouTube health probe reads (one videos.list unit)."""


class PlaylistClient(Protocol):
    """What extract needs from a streaming service: its playlist's tracks and header."""

    http: HttpClient

    @property
    def service(self) -> Service:
        """The service whose playlists it reads."""
        ...

    def fetch_playlist(self, entry: CatalogEntry) -> list[RawTrack]:
        """The playlist's tracks, ranked 1..n."""
        ...

    def fetch_meta(self, entry: CatalogEntry) -> PlaylistMeta:
        """The playlist's name, cover and description."""
        ...


@dataclass(frozen=True)
class Cost:
    """One call's default price: quota units and the bucket they are drawn from (§7, 2026).

    `limit` is the bucket's default daily limit (None: unlimited, only counted); RapidAPI plan
    quotas are unconfirmed (§2, §4): set your plan's, e.g. `{"limit": 1000, "period": "month"}`.
    """

    units: int
    bucket: str
    limit: int | None = None


@dataclass(frozen=True)
class ClientParts:
    """What a client factory gets: its HTTP client, credentials by flat name, call costs."""

    http: HttpClient
    credentials: Mapping[str, str]
    costs: Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the ledger, the costs, health and the sample world know it."""

    name: str
    """The ledger, log and metrics name (`Spotify`, `YouTube`)."""
    endpoints: Mapping[str, Cost]
    """Every endpoint its client calls, with its default cost (the `<name>_<endpoint>` setting)."""
    credentials: tuple[str, ...]
    """Flat names of the settings live calls need (`RAPIDAPI_KEY`)."""
    probe: Callable[[Providers, Catalog], object]
    """The one cheap real call `inv health --live` makes."""
    sandbox: EndpointModule
    """Its sample-world module: the hosts it answers, the endpoint answering each, their names."""


@dataclass(frozen=True)
class ServiceSpec(ProviderSpec):
    """A playlist service: a provider whose genre playlists are read, ranked and aggregated."""

    sandbox: PlaylistEndpointModule
    """Its sample-world module: hosts, endpoints, and which recordings its playlists list."""
    table: str
    """Its table in the playlist catalog (`apple_music`); upper-cased, its `Service` constant."""
    priority: int
    """Aggregate priority, 0 the highest: whose rank a track shared by services takes."""
    url_field: str
    """The aggregate row field holding the track's URL on this service (`spotify_url`)."""
    playlist_id: re.Pattern[str]
    """What a well-formed playlist id looks like (providers.md); the catalog URL holds it."""
    example_id: str
    """A well-formed playlist id, for the catalog's error messages."""
    planned_call: str
    """The dry run's description of the playlist call."""
    sample_playlist_size: int
    """Tracks in the sample world's flagship playlist on every date."""
    client: Callable[[ClientParts], PlaylistClient]

    @property
    def service(self) -> Service:
        """The service's value (its provider name, checked against the registry)."""
        return Service(self.name)


def _first_entry(catalog: Catalog, service: Service) -> CatalogEntry:
    return catalog.entry(service, catalog.genres[0])


_YOUTUBE = ProviderSpec(
    name="YouTube",
    endpoints={
        "search": Cost(1, "youtube_search", limit=100),  # its own bucket since 2026-06-01 (§3.1)
        "videos": Cost(1, "youtube", limit=10_000),  # the Data API's daily pool (§3.2)
    },
    credentials=("YOUTUBE_API_KEY",),
    probe=lambda providers, _catalog: providers.youtube.view_counts([PROBE_VIDEO]),
    sandbox=youtube_sandbox,
)

_SPOTIFY = ServiceSpec(
    name=spotify.PROVIDER,
    table="spotify",
    endpoints={
        "playlist_tracks": Cost(1, "rapidapi_spotify23"),
        "token": Cost(0, "spotify_web"),  # a rolling 30 s rate limit, number unpublished (§1.5)
        "search": Cost(1, "spotify_web"),
        "play_count": Cost(1, "rapidapi_spotify81"),
        "playlist_page": Cost(0, "pages"),
    },
    credentials=("RAPIDAPI_KEY", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET"),
    probe=lambda providers, _catalog: providers.spotify.find_by_isrc(PROBE_ISRC),
    sandbox=spotify_sandbox,
    priority=2,
    url_field="spotify_url",
    playlist_id=re.compile(r"[0-9A-Za-z]{22}"),
    example_id="37i9dQZF1DXcBWIGoYBM5M",
    planned_call="GET spotify23 playlist_tracks (100 per page, follows next)",
    sample_playlist_size=50,
    client=lambda parts: spotify.SpotifyClient(
        parts.http,
        rapidapi_key=parts.credentials["RAPIDAPI_KEY"],
        client_id=parts.credentials["SPOTIFY_CLIENT_ID"],
        client_secret=parts.credentials["SPOTIFY_CLIENT_SECRET"],
        costs=parts.costs,
    ),
)

_APPLE_MUSIC = ServiceSpec(
    name=apple_music.PROVIDER,
    table="apple_music",
    endpoints={"playlist": Cost(1, "rapidapi_apple_music24"), "playlist_page": Cost(0, "pages")},
    credentials=("RAPIDAPI_KEY",),
    probe=lambda providers, catalog: providers.playlist_client(Service.APPLE_MUSIC).fetch_playlist(
        _first_entry(catalog, Service.APPLE_MUSIC)
    ),
    sandbox=apple_music_sandbox,
    priority=0,
    url_field="apple_music_url",
    playlist_id=re.compile(r"pl\.[0-9a-z]{32}"),
    example_id="pl.5ee8333dbe944d9f9151e97d92d1ead9",
    planned_call="GET apple-music24 playlist1 (one page)",
    sample_playlist_size=100,
    client=lambda parts: apple_music.AppleMusicClient(
        parts.http, rapidapi_key=parts.credentials["RAPIDAPI_KEY"], costs=parts.costs
    ),
)

_SOUNDCLOUD = ServiceSpec(
    name=soundcloud.PROVIDER,
    table="soundcloud",
    endpoints={
        "playlist_tracks": Cost(1, "rapidapi_soundcloud_scraper"),
        "playlist_page": Cost(0, "pages"),
    },
    credentials=("RAPIDAPI_KEY",),
    probe=lambda providers, catalog: providers.playlist_client(Service.SOUNDCLOUD).fetch_meta(
        _first_entry(catalog, Service.SOUNDCLOUD)
    ),
    sandbox=soundcloud_sandbox,
    priority=1,
    url_field="soundcloud_url",
    playlist_id=re.compile(r"[a-z0-9_-]+/sets/[a-z0-9_-]+"),
    example_id="soundcloud-shine/sets/ear-candy-fresh-pop-picks",
    planned_call="GET soundcloud-scraper playlist/tracks (50 a page, by nextOffset)",
    sample_playlist_size=60,
    client=lambda parts: soundcloud.SoundCloudClient(
        parts.http, rapidapi_key=parts.credentials["RAPIDAPI_KEY"], costs=parts.costs
    ),
)

_providers: list[ProviderSpec] = [_SPOTIFY, _APPLE_MUSIC, _SOUNDCLOUD, _YOUTUBE]
_services: list[ServiceSpec] = sorted(
    (spec for spec in _providers if isinstance(spec, ServiceSpec)), key=lambda spec: spec.priority
)

SERVICES: Sequence[ServiceSpec] = _services
"""Every playlist service, highest aggregate priority first (kept current by `register`)."""

PROVIDERS: Sequence[ProviderSpec] = _providers
"""Every provider the clients call: the playlist services in declaration order, then YouTube."""


def _clashes(spec: ServiceSpec, other: ProviderSpec) -> list[str]:
    """What `spec` shares with a registered provider that must be its own."""
    found = ["name"] if spec.name.lower() == other.name.lower() else []
    if set(spec.sandbox.HOSTS) & set(other.sandbox.HOSTS):
        found.append("hosts")
    if isinstance(other, ServiceSpec):
        unique = ("table", "priority", "url_field")
        found += [field for field in unique if getattr(spec, field) == getattr(other, field)]
    return found


def register(spec: ServiceSpec) -> None:
    """Add a playlist service; ValueError when its name, table, priority, URL field or hosts clash.

    It is part of the settings, catalog, world and app built after it; `unregister` undoes it.
    """
    for other in _providers:
        clashes = _clashes(spec, other)
        if clashes:
            raise ValueError(f"{spec.name} clashes with {other.name} on {', '.join(clashes)}")
    _providers.insert(len(_services), spec)  # after the playlist services, before YouTube
    _services.append(spec)
    _services.sort(key=lambda entry: entry.priority)


def unregister(spec: ServiceSpec) -> None:
    """Remove a service `register` added (ValueError when it is not registered)."""
    _services.remove(spec)
    _providers.remove(spec)
    forget_service(spec.name)


def default_costs() -> dict[str, dict[str, object]]:
    """`<provider>_<endpoint>` (lower case) -> default units and bucket: the settings' defaults."""
    return {
        f"{spec.name}_{endpoint}".lower(): {"units": cost.units, "bucket": cost.bucket}
        for spec in PROVIDERS
        for endpoint, cost in spec.endpoints.items()
    }


def default_buckets() -> dict[str, dict[str, object]]:
    """Every bucket an endpoint draws from -> its default limit: the settings' defaults."""
    buckets: dict[str, dict[str, object]] = {}
    for spec in PROVIDERS:
        for cost in spec.endpoints.values():
            buckets.setdefault(cost.bucket, {"limit": cost.limit})
    return buckets


def spec_named(name: str) -> ServiceSpec | None:
    """The playlist service registered under exactly this name, or None."""
    return next((spec for spec in _services if spec.name == name), None)


def service_spec(service: Service) -> ServiceSpec:
    """The registry entry of a playlist service."""
    spec = spec_named(service)
    if spec is None:
        raise KeyError(service)
    return spec
