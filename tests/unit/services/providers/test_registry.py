"""The service registry: one entry per service, and the tables derived from it agree with it."""

from __future__ import annotations

import ast
import dataclasses
import datetime
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

import tunemeld
from tunemeld.config import ProvidersSettings, load_catalog
from tunemeld.etl.extract import planned_calls
from tunemeld.exceptions import ConfigError
from tunemeld.models import Service
from tunemeld.models.contract import AggregateTrack
from tunemeld.services.providers import call_costs
from tunemeld.services.providers.registry import (
    PROVIDERS,
    SERVICES,
    ServiceSpec,
    register,
    service_spec,
)
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
                assert ProvidersSettings().bucket(cost.bucket).limit == cost.limit
        assert ProvidersSettings().bucket("youtube_search").limit == 100  # (§3.1)

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


def _code_words(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every identifier and string constant of a module, docstrings left out."""
    tree = ast.parse(path.read_text("utf-8"))
    prose = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in prose:
                yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.lineno, node.name
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, " ".join([node.module or "", *(a.name for a in node.names)])


SOURCE = Path(tunemeld.__file__).parent

STILL_NAMING_SERVICES = {
    "models/genre.py": "declares Service.APPLE_MUSIC, ... for type checkers (registry-backed)",
    "services/sandbox/_pool.py": "the sample world's recordings carry each provider's ids",
}
"""Modules outside the registry and a service's own modules that still name a playlist service
(by its name or catalog table in code, not in docstrings), and why. Shrink it, never grow it."""


def _own_modules(spec: ServiceSpec) -> set[str]:
    return {
        "services/providers/registry.py",
        f"services/providers/{spec.table}.py",
        f"services/sandbox/{spec.table}.py",
    }


class TestOneHome:
    def test_a_service_constant_is_used_only_by_the_registry_and_its_own_modules(self) -> None:
        for spec in SERVICES:
            constant = f"{spec.table.upper()}"
            for path in SOURCE.rglob("*.py"):
                where = path.relative_to(SOURCE).as_posix()
                if where in _own_modules(spec) | {"models/genre.py"}:
                    continue
                tree = ast.parse(path.read_text("utf-8"))
                uses = [
                    node.lineno
                    for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute)
                    and node.attr == constant
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "Service"
                ]
                assert uses == [], f"{where} uses Service.{constant} on lines {uses}"

    @pytest.mark.parametrize("name", ["AppleMusic", "SoundCloud"])
    def test_a_playlist_service_is_named_only_by_the_registry_its_modules_and_data(
        self, name: str
    ) -> None:
        # Spotify is also the ISRC search and play-count source (ViewSource.SPOTIFY,
        # SpotifyClient), so its name is that role's too; the others are playlist services only.
        spec = service_spec(Service(name))
        word = re.compile(re.escape(spec.table.replace("_", "")), re.IGNORECASE)
        naming = set()
        for path in SOURCE.rglob("*.py"):
            where = path.relative_to(SOURCE).as_posix()
            if where in _own_modules(spec):
                continue
            for _, text in _code_words(path):
                if word.search(text.replace("_", "").replace(" ", "")):
                    naming.add(where)
        assert naming <= set(STILL_NAMING_SERVICES), naming - set(STILL_NAMING_SERVICES)


class TestRegister:
    def test_a_service_clashing_with_a_registered_one_is_refused_and_nothing_changes(
        self,
    ) -> None:
        before = list(SERVICES), list(PROVIDERS)
        spotify = service_spec(Service.SPOTIFY)
        twin = dataclasses.replace(spotify, name="Twin", table="twin", url_field="twin_url")
        with pytest.raises(ValueError, match="Twin clashes with Spotify on hosts, priority"):
            register(twin)
        assert (list(SERVICES), list(PROVIDERS)) == before
        with pytest.raises(ValueError, match="not a registered playlist service"):
            Service("Twin")
