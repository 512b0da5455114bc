"""The offline sample world: simulated providers answering with the real APIs' JSON shapes.

`SampleWorld` holds the deterministic simulation and routes requests by host to each provider's
endpoint module (`spotify`, `apple_music`, `soundcloud`, `youtube`); `SandboxAdapter` mounts it
into a `requests.Session` so the provider clients run unchanged without network or keys.
"""

from __future__ import annotations

from tunemeld.services.sandbox.adapter import SandboxAdapter
from tunemeld.services.sandbox.exchange import SandboxRequest, SandboxResponse
from tunemeld.services.sandbox.world import Recording, SampleWorld

__all__ = [
    "Recording",
    "SampleWorld",
    "SandboxAdapter",
    "SandboxRequest",
    "SandboxResponse",
]
