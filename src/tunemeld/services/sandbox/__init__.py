"""The offline sample world: simulated providers answering with the real APIs' JSON shapes.

`SandboxAdapter` mounts `SampleWorld` into a requests session: the clients run without network.
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
