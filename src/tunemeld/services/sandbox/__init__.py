"""The offline sample world: simulated providers answering with the real APIs' JSON shapes.

`SampleWorld` holds the deterministic simulation and routes requests; `SandboxAdapter` mounts it
into a `requests.Session` so the provider clients run unchanged without network or keys.
"""

from __future__ import annotations

from tunemeld.services.sandbox.adapter import SandboxAdapter
from tunemeld.services.sandbox.world import (
    PLAYLIST_SIZES,
    SOUNDCLOUD_PAGE_SIZE,
    Recording,
    SampleWorld,
    SandboxRequest,
    SandboxResponse,
)

__all__ = [
    "PLAYLIST_SIZES",
    "SOUNDCLOUD_PAGE_SIZE",
    "Recording",
    "SampleWorld",
    "SandboxAdapter",
    "SandboxRequest",
    "SandboxResponse",
]
