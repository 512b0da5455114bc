"""The built-in catalog's genres, for tests that cover every genre (derived, never hard-coded)."""

from __future__ import annotations

from tunemeld.config import load_catalog

__all__ = ["GENRES"]

GENRES = load_catalog().genres
"""Every genre of the built-in catalog, in catalog order."""
