"""The service registry: one entry per service, and the tables derived from it agree with it."""

from __future__ import annotations

import datetime
import re
from importlib import resources
from pathlib import Path

import pytest

from tunemeld.config import ProvidersSettings, load_catalog
from tunemeld.etl.extract import planned_calls
from tunemeld.exceptions import ConfigError
from tunemeld.models import Service
from tunemeld.models.contract import AggregateTrack
from tunemeld.services.providers import call_costs
from tunemeld.services.providers.registry import PROVIDERS, SERVICES, service_spec
from tunemeld.services.sandbox import SampleWorld, SandboxRequest

DAY = datetime.date(2026, 3, 1)
GENRE = next(iter(load_catalog().entries))[1]
"""A genre the catalog lists (any will do)."""


class TestEntries:
    def test_every_service_has_one_entry(self) -> None:
        assert sorted(spec.service for spec in SERVICES) == sorted(Service)
        assert len({spec.name for spec in PROVIDERS}) == len(PROVIDERS)

    def test_priority_is_explicit_apple_music_then_soundcloud_then_spotify(self) -> None:
        # DESIGN.md §5: Apple Music > SoundCloud > Spotify.
        assert service_spec(Service.APPLE_MUSIC).priority == 0
        assert service_spec(Service.SOUNDCLOUD).priority == 1
        assert service_spec(Service.SPOTIFY).priority == 2
        assert [spec.service for spec in SERVICES] == [
            Service.APPLE_MUSIC,
            Service.SOUNDCLOUD,
            Service.SPOTIFY,
        ]

    def test_credentials_are_settings_the_providers_group_knows(self) -> None:
        known = set(ProvidersSettings().credentials())
        for spec in PROVIDERS:
            assert spec.credentials
            assert set(spec.credentials) <= known

    def test_url_fields_are_fields_of_the_aggregate_row(self) -> None:
        schema = AggregateTrack.model_json_schema(mode="serialization")
        for spec in SERVICES:
            assert spec.url_field in schema["properties"]
            assert spec.url_field in schema["required"]


class TestDerived:
    def test_endpoints_and_costs_come_from_the_entries(self) -> None:
        expected = [(spec.name, endpoint) for spec in PROVIDERS for endpoint in spec.endpoints]
        assert list(call_costs(ProvidersSettings())) == expected
        costs = call_costs(ProvidersSettings())
        for spec in PROVIDERS:
            for endpoint, cost in spec.endpoints.items():
                assert costs[(spec.name, endpoint)] == cost.units
                setting = ProvidersSettings().cost(spec.name, endpoint)
                assert setting.bucket == cost.bucket

    def test_the_catalog_and_the_dry_run_read_the_entries(self, tmp_path: Path) -> None:
        built_in = resources.files("tunemeld.config").joinpath("catalog.toml").read_text("utf-8")
        for spec in SERVICES:
            assert planned_calls(spec.service, GENRE, "u")[0] == spec.planned_call
            # The catalog checks ids with the entry's pattern and names the entry's example.
            entry = load_catalog().entry(spec.service, GENRE)
            bad = tmp_path / f"{spec.table}.toml"
            bad.write_text(built_in.replace(f'"{entry.playlist_id}"', '"x"', 1), "utf-8")
            with pytest.raises(ConfigError, match=re.escape(repr(spec.example_id))):
                load_catalog(bad)
            assert spec.playlist_id.fullmatch(spec.example_id)

    def test_the_catalog_ids_match_each_service_pattern(self) -> None:
        for entry in load_catalog().entries.values():
            text = entry.url if entry.service is Service.SOUNDCLOUD else entry.playlist_id
            assert service_spec(entry.service).playlist_id.search(text), entry


@pytest.fixture(scope="module")
def world() -> SampleWorld:
    return SampleWorld()


class TestSandbox:
    def test_the_world_answers_every_registered_host_and_no_other(self, world: SampleWorld) -> None:
        hosts = {host for spec in PROVIDERS for host in spec.sandbox.HOSTS}
        assert set(world.hosts) == hosts
        unknown = world.handle(SandboxRequest("GET", "https://example.invalid/x"), DAY)
        assert unknown.status == 404

    def test_each_service_playlist_has_its_registered_size(self, world: SampleWorld) -> None:
        for spec in SERVICES:
            assert len(world.playlist(spec.service, GENRE, DAY)) == spec.sample_playlist_size
