"""The built-in catalog's genres, and user catalogs that add genres (derived, never hard-coded)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from tunemeld.config import load_catalog

__all__ = ["GENRES", "catalog_adding", "playlist_line"]

GENRES = load_catalog().genres
"""Every genre of the built-in catalog, in catalog order."""

_SECTIONS = ("spotify", "apple_music", "soundcloud")


def playlist_line(section: str, genre: str) -> str:
    """A well-formed catalog line for a made-up playlist of `genre` on one service's table."""
    digest = hashlib.sha256(f"{section}:{genre}".encode()).hexdigest()
    if section == "spotify":
        playlist_id = "37i9dQZF1D" + digest[:12]
        url = f"https://open.spotify.com/playlist/{playlist_id}"
    elif section == "apple_music":
        playlist_id = "pl." + digest[:32]
        url = f"https://music.apple.com/us/playlist/{genre}/{playlist_id}"
    else:
        playlist_id = f"tunemeld-tests/sets/{genre}-now"
        url = f"https://soundcloud.com/{playlist_id}"
    return f'"{genre}" = {{ id = "{playlist_id}", url = "{url}" }}'


def catalog_adding(path: Path, genres: Sequence[str]) -> Path:
    """Write the built-in catalog plus one playlist per service for each of `genres` to `path`."""
    text = resources.files("tunemeld.config").joinpath("catalog.toml").read_text("utf-8")
    for section in _SECTIONS:
        header = f"[{section}]\n"
        added = "".join(playlist_line(section, genre) + "\n" for genre in genres)
        start = text.index(header) + len(header)
        end = text.find("\n[", start)
        end = len(text) if end == -1 else end + 1
        gap = "\n" if end < len(text) else ""
        text = text[:end].rstrip("\n") + "\n" + added + gap + text[end:]
    path.write_text(text, "utf-8")
    return path
