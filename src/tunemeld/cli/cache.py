"""`inv cache.*`."""

from __future__ import annotations

from invoke.collection import Collection

__all__ = ["collection"]


def collection() -> Collection:
    """The `cache` tasks."""
    return Collection("cache")
