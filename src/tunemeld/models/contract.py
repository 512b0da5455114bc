"""The shapes of the API's data: what the ETL precomputes and what /openapi.json documents.

The one home of the contract the old front end reads plus TuneMeld's own fields, so the served
data and its documentation cannot drift apart. Legacy blocks say 0 for a count not known yet
(the old client cannot render a missing one); TuneMeld's own fields say `null`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from tunemeld.models.genre import AGGREGATE, Genre, Service, ViewSource

__all__ = [
    "LEGACY_YOUTUBE",
    "AggregateTrack",
    "CurrentCount",
    "Gain",
    "GraphSeries",
    "GraphTrack",
    "HeaderArt",
    "HeaderEntry",
    "InitialCount",
    "LastUpdated",
    "LegacyCount",
    "LegacyCounts",
    "Movement",
    "MovementKind",
    "PlaylistDocument",
    "RisingTrack",
    "RouteIndex",
    "ServicePlaylistDocument",
    "ServicePlaylistTrack",
    "SourceCount",
    "SourceCounts",
    "TrackHistory",
    "TrackPlaylistHistory",
    "TrackViewCounts",
    "WorkerLastUpdated",
]

LEGACY_YOUTUBE = "Youtube"
"""The key the old pipeline wrote for YouTube series and counts (our own fields say YouTube)."""


class _Shape(BaseModel):
    """A served JSON object: no unknown keys; aliased keys are dumped under their alias."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def dump(self) -> dict[str, object]:
        """The JSON-ready dict the API serves (aliases as keys)."""
        return self.model_dump(mode="json", by_alias=True)


class _PerService(_Shape):
    """A shape with one key per registered playlist service, read from the registry when used.

    The keys are typed extras, so a service registered after import has its key too; `_keys`
    names them, dumped and documented right after the field `_after`.
    """

    model_config = ConfigDict(extra="allow")
    _after: ClassVar[str]
    """The declared field the service keys follow."""
    _required: ClassVar[bool]
    """Every service's key must be given (else each may be left out)."""

    @classmethod
    def _keys(cls) -> list[str]:
        raise NotImplementedError

    @classmethod
    def _key_schema(cls, key: str, value: JsonSchemaValue) -> JsonSchemaValue:
        """A key's property, as pydantic writes a declared field's (titled, or defaulted)."""
        if cls._required:
            return {**value, "title": key.replace("_", " ").title()}
        return {**value, "default": None}

    @model_validator(mode="after")
    def _service_keys_only(self) -> _PerService:
        given, keys = set(self.__pydantic_extra__ or {}), self._keys()
        unknown, missing = given - set(keys), (set(keys) - given if self._required else set())
        if unknown or missing:
            raise ValueError(
                f"unknown keys {sorted(unknown)}, missing keys {sorted(missing)} "
                f"(one per registered service: {', '.join(keys)})"
            )
        return self

    @model_serializer(mode="wrap")
    def _keys_in_place(self, handler: SerializerFunctionWrapHandler) -> Any:
        data, keys = handler(self), self._keys()
        ordered: dict[str, Any] = {}
        for name, value in data.items():
            if name not in keys:
                ordered[name] = value
            if name == self._after:
                ordered.update((key, data[key]) for key in keys if key in data)
        return ordered

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The model's fields, not the key-ordering serializer (which says nothing of keys).
        model: Any = schema
        while model["type"] != "model":  # under the validator's wrapping
            model = model["schema"]
        fields = {key: value for key, value in model.items() if key != "serialization"}
        found = handler.resolve_ref_schema(handler(fields))
        value = found.pop("additionalProperties", {})
        found["additionalProperties"] = False
        properties: dict[str, Any] = {}
        for name, item in found["properties"].items():
            properties[name] = item
            if name == cls._after:
                properties.update((key, cls._key_schema(key, value)) for key in cls._keys())
        found["properties"] = properties
        if cls._required:
            at = found["required"].index(cls._after) + 1
            found["required"][at:at] = cls._keys()
        return found


class InitialCount(_Shape):
    """The first count inside the last 7 days (legacy: 0 when not known yet)."""

    initial_timestamp: int | None = Field(description="Epoch milliseconds, null when unknown.")
    initial_view_count: int = Field(ge=0)


class CurrentCount(_Shape):
    """The newest count (legacy: 0 when not known yet)."""

    current_timestamp: int | None = Field(description="Epoch milliseconds, null when unknown.")
    current_view_count: int = Field(ge=0)


class LegacyCount(_Shape):
    """One source's counts as the old front end reads them: weekly = current - initial."""

    initial_count_json: InitialCount
    current_count_json: CurrentCount


class LegacyCounts(_Shape):
    """`view_count_data_json`: both keys always present."""

    spotify: LegacyCount = Field(alias=ViewSource.SPOTIFY.value)
    youtube: LegacyCount = Field(alias=LEGACY_YOUTUBE)


class SourceCount(_Shape):
    """TuneMeld's own count of one source: null means not known yet (never 0)."""

    total: int | None = Field(ge=0, description="The newest total, null when not known yet.")
    weekly: int | None = Field(
        description="Newest total minus the first total inside the last 7 days."
    )
    timestamp: int | None = Field(description="Epoch milliseconds of the newest total.")


class SourceCounts(_Shape):
    """TuneMeld's own counts per source (Spotify plays, YouTube views)."""

    spotify: SourceCount = Field(alias=ViewSource.SPOTIFY.value)
    youtube: SourceCount = Field(alias=ViewSource.YOUTUBE.value)


MovementKind = Literal["new", "re-entry", "up", "down", "same"]
"""How a row moved since the playlist's previous ranking day (see `Movement`)."""


class Movement(_Shape):
    """A row's move since the previous ranking day of its playlist.

    `new`: never listed on an earlier day; `re-entry`: listed on an earlier day but not on the
    previous one; `up` / `down`: by `places`; `same`: the same rank. `places` is 0 unless
    up or down.
    """

    kind: MovementKind
    places: int = Field(ge=0)


PreviousRank = Annotated[
    int | None,
    Field(ge=1, description="The rank on the playlist's previous ranking day; null if not there."),
]
PeakRank = Annotated[int, Field(ge=1, description="The best rank over every ranking day so far.")]
DaysOnChart = Annotated[
    int, Field(ge=1, description="How many ranking days so far listed the track.")
]
FirstSeen = Annotated[date, Field(description="The first ranking day that listed the track.")]


class AggregateTrack(_PerService):
    """One row of the aggregate playlist (tracks at least two services list)."""

    rank: int = Field(ge=1)
    isrc: str
    track_name: str | None
    artist_name: str | None
    album_cover_url: str | None
    youtube_url: str | None
    track_url: str | None = Field(description="The URL on the service the row was taken from.")
    source_name: str | None = Field(description="The service the row was taken from.")
    additional_sources: dict[str, str | None] = Field(
        description="Every service listing the track -> its URL there."
    )
    sources: dict[str, int] = Field(description="Every service listing the track -> its rank.")
    raw_aggregate_rank: int | None
    aggregate_service_name: str | None
    # Then each service's `url_field` (`spotify_url`: the track's URL there, or null).
    view_count_data_json: LegacyCounts
    counts: SourceCounts
    previous_rank: PreviousRank
    movement: Movement
    peak_rank: PeakRank
    days_on_chart: DaysOnChart
    first_seen: FirstSeen

    __pydantic_extra__: dict[str, str | None] = Field(init=False)
    _after: ClassVar[str] = "aggregate_service_name"
    _required: ClassVar[bool] = True

    def listing(self) -> dict[str, Any]:
        """The fields a graph or rising row repeats: rank, ISRC, names, cover and video."""
        listed = {"rank", "isrc", "track_name", "artist_name", "album_cover_url", "youtube_url"}
        return self.model_dump(include=listed)

    @classmethod
    def _keys(cls) -> list[str]:
        """Each service's `url_field`, in registry declaration order (`spotify_url` first)."""
        from tunemeld.services.providers.registry import PROVIDERS, ServiceSpec  # (above models)

        return [spec.url_field for spec in PROVIDERS if isinstance(spec, ServiceSpec)]


class PlaylistDocument(_Shape):
    """The aggregate playlist of one genre."""

    genre: Genre
    genre_name: str
    service_name: str = Field(description=f"Always {AGGREGATE!r}.")
    tracks: list[AggregateTrack]


class ServicePlaylistTrack(_Shape):
    """One row of a service's own playlist."""

    rank: int = Field(ge=1)
    isrc: str
    track_name: str | None
    artist_name: str | None
    url: str | None = Field(description="The track on this service (same as track_url).")
    track_url: str | None
    album_cover_url: str | None
    youtube_url: str | None
    source_name: Service
    genre_name: str
    previous_rank: PreviousRank
    movement: Movement
    peak_rank: PeakRank
    days_on_chart: DaysOnChart
    first_seen: FirstSeen


class ServicePlaylistDocument(_Shape):
    """One service's ranked playlist of one genre."""

    genre: Genre
    genre_name: str
    service_name: Service
    playlist_url: str | None
    tracks: list[ServicePlaylistTrack]


class GraphSeries(_Shape):
    """`[epoch ms, daily change]` pairs per source, oldest first; every key always present."""

    spotify: list[tuple[int, int]] = Field(alias=ViewSource.SPOTIFY.value)
    youtube_legacy: list[tuple[int, int]] = Field(alias=LEGACY_YOUTUBE)
    youtube: list[tuple[int, int]] = Field(alias=ViewSource.YOUTUBE.value)


class GraphTrack(_Shape):
    """One aggregate track's play and view history."""

    isrc: str
    rank: int = Field(ge=1)
    track_name: str | None
    artist_name: str | None
    album_cover_url: str | None
    youtube_url: str | None
    view_counts: GraphSeries


class TrackPlaylistHistory(_Shape):
    """One playlist a recording has been on: its rank per ranking day, oldest first."""

    genre_name: str
    service_name: str = Field(description=f"A playlist service or {AGGREGATE!r}.")
    ranks: list[tuple[date, int]] = Field(description="`[day, rank]` pairs, oldest first.")
    peak_rank: PeakRank
    days_on_chart: DaysOnChart
    first_seen: FirstSeen


class TrackViewCounts(_Shape):
    """`[epoch ms, total, daily change]` per source, oldest first; both keys always present."""

    spotify: list[tuple[int, int, int]] = Field(alias=ViewSource.SPOTIFY.value)
    youtube: list[tuple[int, int, int]] = Field(alias=ViewSource.YOUTUBE.value)


class TrackHistory(_Shape):
    """`/track/<isrc>`: everything known about one recording, every playlist it has been on."""

    isrc: str
    track_name: str | None
    artist_name: str | None
    album_cover_url: str | None
    youtube_url: str | None
    links: dict[str, str | None] = Field(description="Every playlist service -> its URL there.")
    playlists: list[TrackPlaylistHistory] = Field(
        description="By genre (catalog order), then the Aggregate, then services by priority."
    )
    view_counts: TrackViewCounts


class Gain(_Shape):
    """A track's 7-day gain per source (the aggregate row's `counts.<source>.weekly`)."""

    spotify: int | None = Field(alias=ViewSource.SPOTIFY.value)
    youtube: int | None = Field(alias=ViewSource.YOUTUBE.value)
    total: int = Field(description="The sum of the known gains.")


class RisingTrack(_Shape):
    """One row of `/rising/<genre>`: an aggregate track with its 7-day gain and rank movement."""

    rank: int = Field(ge=1)
    isrc: str
    track_name: str | None
    artist_name: str | None
    album_cover_url: str | None
    youtube_url: str | None
    gain: Gain
    previous_rank: PreviousRank
    movement: Movement


class HeaderEntry(_Shape):
    """One service's playlist header; legacy text fields are "" rather than null."""

    service_name: Service
    genre_name: str
    playlist_name: str
    playlist_url: str
    playlist_cover_url: str = Field(
        description="The editorial video stream (.m3u8) when the playlist's page has one; "
        'else the cover image; "" when neither is known.'
    )
    playlist_cover_image_url: str | None = Field(description="The still cover image.")
    playlist_stream_url: str | None = Field(description="The editorial video stream (.m3u8).")
    playlist_cover_description_text: str


class HeaderArt(_PerService):
    """Every service's playlist header of one genre; a service not fetched yet has no key."""

    genre_name: str
    # Then `<Service>: HeaderEntry` per service fetched: dump with `exclude_unset`.

    __pydantic_extra__: dict[str, HeaderEntry | None] = Field(init=False)
    _after: ClassVar[str] = "genre_name"
    _required: ClassVar[bool] = False

    @classmethod
    def _keys(cls) -> list[str]:
        """Each service's name, highest aggregate priority first."""
        return [service.value for service in Service]


class LastUpdated(_Shape):
    """When the genre's views were last rebuilt."""

    last_updated: str = Field(description="ISO 8601 with offset.")


class WorkerLastUpdated(_Shape):
    """`/api/last-updated`: the old Cloudflare worker's shape."""

    last_updated: str = Field(alias="lastUpdated", description="ISO 8601 with offset.")


class RouteIndex(_Shape):
    """`GET /` for a JSON client: the API's name, every route rule, the genres and services."""

    name: str
    routes: list[str]
    genres: list[Genre] = Field(description="Every genre, in order (the page's switcher).")
    services: list[Service] = Field(description="Every playlist service, in aggregate priority.")
