"""Nimbus, a made-up fourth playlist service: its provider client, its sample-world endpoints
and its registry entry, as a real service would have them (`services/providers/<name>.py`,
`services/sandbox/<name>.py`, one `ServiceSpec`). `tests/integration/test_fourth_service.py`
registers it and runs the pipeline and the API with it.
"""

from __future__ import annotations

import re

from tests.nimbus import provider, sandbox
from tunemeld.config import Catalog
from tunemeld.models import Service
from tunemeld.services.providers import Providers
from tunemeld.services.providers.registry import Cost, ServiceSpec

__all__ = ["SPEC", "catalog_line"]


def _probe(providers: Providers, catalog: Catalog) -> object:
    """The health probe: the header of the catalog's first genre's playlist."""
    service = Service(provider.PROVIDER)
    return providers.playlist_client(service).fetch_meta(catalog.entry(service, catalog.genres[0]))


SPEC: ServiceSpec = ServiceSpec(
    name=provider.PROVIDER,
    table="nimbus",
    endpoints={"playlist": Cost(1, "nimbus")},
    credentials=("RAPIDAPI_KEY",),
    probe=_probe,
    sandbox=sandbox,
    priority=3,
    url_field="nimbus_url",
    playlist_id=re.compile(r"nb-[0-9a-f]{12}"),
    example_id="nb-0123456789ab",
    planned_call="GET nimbus playlists/<id> (one page)",
    sample_playlist_size=40,
    client=lambda parts: provider.NimbusClient(parts.http, costs=parts.costs),
)
"""Nimbus's registry entry: the lowest aggregate priority, after Spotify."""


def catalog_line(genre: str) -> str:
    """Nimbus's catalog line for a genre (a made-up playlist id derived from the name)."""
    playlist_id = "nb-" + genre.encode().hex()[:12].ljust(12, "0")
    url = f"https://nimbus.test/playlist/{playlist_id}"
    return f'"{genre}" = {{ id = "{playlist_id}", url = "{url}" }}'
