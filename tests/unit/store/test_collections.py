"""The collection specs: one description per collection that the stores and transfers read."""

from __future__ import annotations

from datetime import datetime

import pytest

from tunemeld.services.store import COLLECTIONS, EXPORT_KEYS, EXPORTED, SPECS, CollectionSpec
from tunemeld.services.store.collections import spec_for


def _fields(spec: CollectionSpec) -> set[str]:
    return set(spec.model.model_fields)


class TestCollectionSpecs:
    """Every name, key and index a spec gives is real, and the derived tables agree with it."""

    def test_specs_when_listed_name_the_ten_collections_in_status_order(self) -> None:
        """The logical collections of DESIGN.md §3, in the order `db.status` shows them."""
        assert COLLECTIONS == (
            "raw_playlists",
            "tracks",
            "playlists",
            "rankings",
            "view_counts",
            "lookups",
            "runs",
            "views",
            "quota_usage",
            "leases",
        )

    def test_exported_when_derived_leaves_out_only_the_leases(self) -> None:
        """A lease is a live process's claim on one store: never exported nor reset."""
        assert tuple(name for name in COLLECTIONS if name != "leases") == EXPORTED
        assert list(EXPORT_KEYS) == list(EXPORTED)
        assert EXPORT_KEYS["view_counts"] == ("isrc", "source", "day")

    def test_keys_when_read_are_the_natural_keys_existing_stores_are_indexed_on(self) -> None:
        """The unique indexes of stores already in use: changing one needs a migration."""
        assert {spec.name: spec.key for spec in SPECS} == {
            "raw_playlists": ("service", "genre", "fetched_at"),
            "tracks": ("isrc",),
            "playlists": ("genre", "service_name"),
            "rankings": ("genre", "playlist", "day", "isrc"),
            "view_counts": ("isrc", "source", "day"),
            "lookups": ("kind", "key"),
            "runs": ("run_id",),
            "views": ("genre", "name"),
            "quota_usage": ("day", "bucket"),
            "leases": ("name",),
        }

    @pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
    def test_spec_when_read_names_fields_its_model_has(self, spec: CollectionSpec) -> None:
        """Keys, the newest field and index fields are all fields of the collection's model."""
        indexed = {field.lstrip("-") for fields in spec.indexes for field in fields}

        assert set(spec.key) <= _fields(spec)
        assert indexed <= _fields(spec)
        assert spec.model.model_fields[spec.newest].annotation is datetime

    @pytest.mark.parametrize(("name", "exported"), [("nope", False), ("leases", True)])
    def test_spec_for_when_unknown_raises_value_error_naming_the_choices(
        self, name: str, exported: bool
    ) -> None:
        """An unknown (or, for a transfer, an unexported) collection is refused by name."""
        with pytest.raises(ValueError, match=f"unknown collection '{name}'") as caught:
            spec_for(name, exported=exported)

        assert "raw_playlists" in str(caught.value)
