"""Domain models: parsing of names, ISRC validation, JSON round trips."""

from __future__ import annotations

import pytest
from hypothesis import given

from tests import strategies as st_
from tests.catalog import GENRES
from tunemeld.exceptions import NotFound
from tunemeld.models import Genre, Service, Stage, Track, ViewSample, normalize_isrc


class TestNames:
    """Genre, service and stage names are read loosely and rejected clearly."""

    @pytest.mark.parametrize("text", ["pop", "POP", " Pop"])
    def test_genre_parse_ignores_case(self, text: str) -> None:
        assert Genre.parse(text, GENRES) is Genre("pop")

    @pytest.mark.parametrize("text", ["AppleMusic", "apple_music", "Apple Music", "apple-music"])
    def test_service_parse_accepts_common_spellings(self, text: str) -> None:
        assert Service.parse(text) is Service.APPLE_MUSIC

    def test_unknown_genre_lists_valid_ones(self) -> None:
        with pytest.raises(NotFound) as caught:
            Genre.parse("jazz", GENRES)
        assert caught.value.hint == "Use one of: country, dance, pop, rap."

    def test_full_expands_to_every_stage_in_order(self) -> None:
        assert Stage.parse_many(["view_count", "full"]) == list(Stage)

    def test_stage_list_keeps_pipeline_order(self) -> None:
        assert Stage.parse_many(["aggregate", "extract"]) == [Stage.EXTRACT, Stage.AGGREGATE]

    def test_unknown_stage_is_not_found(self) -> None:
        with pytest.raises(NotFound, match="Unknown stage"):
            Stage.parse_many(["load"])

    def test_service_priority_is_apple_soundcloud_spotify(self) -> None:
        assert sorted(Service, key=lambda s: s.priority) == [
            Service.APPLE_MUSIC,
            Service.SOUNDCLOUD,
            Service.SPOTIFY,
        ]


class TestIsrc:
    """ISRCs are normalised and validated."""

    def test_dashes_and_case_are_normalised(self) -> None:
        assert normalize_isrc("us-ug1-25-03301") == "USUG12503301"

    @pytest.mark.parametrize(
        "bad", ["", "USUG1250330", "USUG125033011", "1SUG12503301", "USUG12A03301"]
    )
    def test_malformed_isrc_is_rejected(self, bad: str) -> None:
        with pytest.raises(ValueError, match="not an ISRC"):
            normalize_isrc(bad)


class TestRoundTrips:
    """Models survive JSON unchanged (what the stores rely on)."""

    @given(st_.tracks())
    def test_track_round_trips_json(self, track: Track) -> None:
        assert Track.model_validate_json(track.model_dump_json()) == track

    @given(st_.view_samples())
    def test_view_sample_round_trips_json(self, sample: ViewSample) -> None:
        assert ViewSample.model_validate_json(sample.model_dump_json()) == sample

    @given(st_.tracks(), st_.tracks())
    def test_merge_keeps_every_service_and_newest_time(self, first: Track, second: Track) -> None:
        other = second.model_copy(update={"isrc": first.isrc})
        merged = first.merged(other)
        assert set(merged.services) == set(first.services) | set(other.services)
        assert merged.updated_at == max(first.updated_at, other.updated_at)
        for service, data in other.services.items():
            assert merged.services[service] == data


class TestGenreValue:
    """A genre is a catalog name, not an enum member: any well-spelled name is one."""

    @pytest.mark.parametrize("text", ["hip-hop", "Hip-Hop", "HIP HOP", "hiphop", " hip_hop "])
    def test_parse_normalises_both_sides_so_a_dashed_name_parses(self, text: str) -> None:
        assert Genre.parse(text, [Genre("pop"), Genre("hip-hop")]) is Genre("hip-hop")

    @pytest.mark.parametrize("text", ["Pop", "hip hop", "-pop", "pop-", "k--pop", "", "pop!"])
    def test_badly_spelled_name_is_not_a_genre(self, text: str) -> None:
        with pytest.raises(ValueError, match="is not a genre name"):
            Genre(text)

    def test_genre_is_its_name_and_one_instance_per_name(self) -> None:
        genre = Genre("k-pop")
        assert (genre, genre.value, f"{genre}") == ("k-pop", "k-pop", "k-pop")
        assert Genre("k-pop") is genre

    def test_genre_field_in_a_model_is_read_from_text_and_written_as_text(self) -> None:
        from tunemeld.models import Playlist

        playlist = Playlist.model_validate(
            {
                "genre": "k-pop",
                "service_name": "Aggregate",
                "tracks": [],
                "updated_at": "2026-11-24T13:00:00Z",
                "run_id": "run-1",
            }
        )
        assert playlist.genre is Genre("k-pop")
        assert playlist.model_dump(mode="json")["genre"] == "k-pop"


class TestServiceValue:
    """A service is a name the service registry holds, not an enum member."""

    def test_a_registered_name_is_one_instance_and_its_text(self) -> None:
        service = Service("SoundCloud")
        assert service is Service.SOUNDCLOUD
        assert (service, service.value, f"{service}") == ("SoundCloud", "SoundCloud", "SoundCloud")
        assert repr(service) == "Service('SoundCloud')"

    def test_a_name_the_registry_does_not_hold_is_refused_naming_the_registered(self) -> None:
        with pytest.raises(ValueError, match="AppleMusic, SoundCloud, Spotify"):
            Service("Deezer")
        with pytest.raises(AttributeError, match="DEEZER"):
            _ = Service.DEEZER  # type: ignore[attr-defined]

    def test_service_field_in_a_model_is_checked_and_written_as_text(self) -> None:
        from pydantic import ValidationError

        from tunemeld.models import TrackRank

        rank = TrackRank.model_validate(
            {"isrc": "USUM71703861", "rank": 1, "sources": {"Spotify": 3}}
        )
        assert next(iter(rank.sources)) is Service.SPOTIFY
        assert rank.model_dump(mode="json")["sources"] == {"Spotify": 3}
        with pytest.raises(ValidationError, match="not a registered playlist service"):
            TrackRank.model_validate({"isrc": "USUM71703861", "rank": 1, "sources": {"Tidal": 1}})


class TestPerServiceKeys:
    """The header art's and aggregate rows' per-service keys are the registered services'."""

    def test_header_art_refuses_a_key_no_service_has_and_dumps_in_priority_order(self) -> None:
        from pydantic import ValidationError

        from tunemeld.models.contract import HeaderArt

        with pytest.raises(ValidationError, match=r"unknown keys \['Tidal'\]"):
            HeaderArt.model_validate({"genre_name": "pop", "Tidal": None})
        art = HeaderArt.model_validate({"Spotify": None, "genre_name": "pop", "AppleMusic": None})
        dumped = art.model_dump(mode="json", exclude_unset=True)
        assert list(dumped) == ["genre_name", "AppleMusic", "Spotify"]

    def test_an_aggregate_row_needs_every_service_url_field(self) -> None:
        from pydantic import ValidationError

        from tunemeld.models.contract import AggregateTrack

        with pytest.raises(ValidationError, match=r"missing keys \['soundcloud_url'\]"):
            AggregateTrack.model_validate(
                {
                    "rank": 1,
                    "isrc": "USUM71703861",
                    "track_name": None,
                    "artist_name": None,
                    "album_cover_url": None,
                    "youtube_url": None,
                    "track_url": None,
                    "source_name": None,
                    "additional_sources": {},
                    "sources": {},
                    "raw_aggregate_rank": None,
                    "aggregate_service_name": None,
                    "spotify_url": None,
                    "apple_music_url": None,
                    "view_count_data_json": {
                        source: {
                            "initial_count_json": {
                                "initial_timestamp": None,
                                "initial_view_count": 0,
                            },
                            "current_count_json": {
                                "current_timestamp": None,
                                "current_view_count": 0,
                            },
                        }
                        for source in ("Spotify", "Youtube")
                    },
                    "counts": {
                        source: {"total": None, "weekly": None, "timestamp": None}
                        for source in ("Spotify", "YouTube")
                    },
                    "previous_rank": None,
                    "movement": {"kind": "new", "places": 0},
                    "peak_rank": 1,
                    "days_on_chart": 1,
                    "first_seen": "2026-12-01",
                }
            )
