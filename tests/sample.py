"""Settings for a store that sample-world ETL runs fill, shared by the API contract checks."""

from __future__ import annotations

from pathlib import Path

from tunemeld.config import Settings

__all__ = ["sample_settings"]


def sample_settings(database: Path) -> Settings:
    """The sample world into a SQLite file at `database`, no retry pauses, never the user's .env.

    The YouTube search bucket is raised so every aggregate track gets its video on the first day.
    """
    return Settings(
        _env_file=None,
        env="testing",
        database={"url": f"sqlite:///{database}"},
        providers={
            "mode": "sample",
            "backoff_initial": 0.0,
            "backoff_max": 0.0,
            "buckets": {"youtube_search": {"limit": 10_000}},
        },
        logging={"level": "WARNING"},
    )
