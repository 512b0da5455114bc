"""Shared fixtures: isolated environment and settings, a real SQLite store, folder-based marks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tunemeld.config import Settings
from tunemeld.config.settings import FLAT_NAMES, LEGACY_NAMES
from tunemeld.services.store import SQLiteStore

hypothesis_settings.register_profile("dev", max_examples=50, deadline=None)
hypothesis_settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

_ENV_PREFIXES = ("TUNEMELD_",)
_ENV_NAMES = frozenset(FLAT_NAMES) | frozenset(LEGACY_NAMES)
"""Every unprefixed name settings read: a developer's shell must not leak into tests."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its folder; unit tests may not open sockets."""
    root = Path(__file__).parent
    for item in items:
        parts = Path(str(item.fspath)).relative_to(root).parts
        kind = parts[0] if parts else ""
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, kind))
        if kind == "unit":
            item.add_marker(pytest.mark.disable_socket)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's settings, and each runs in its own working directory."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture(name="settings")
def _settings(tmp_path: Path) -> Settings:
    """Settings for the sample world and a SQLite file under tmp_path, never the user's .env."""
    return Settings(
        _env_file=None,
        env="testing",
        database={"url": f"sqlite:///{tmp_path / 'tunemeld.db'}"},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
    )


@pytest.fixture(name="store")
def _store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A real SQLite store in a temporary file, initialised."""
    store = SQLiteStore.from_url(f"sqlite:///{tmp_path / 'store.db'}")
    store.init()
    yield store
    store.close()
