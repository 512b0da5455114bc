"""Stage 1: fetch one (service, genre) playlist and its header metadata; store a raw snapshot."""

from __future__ import annotations

import structlog

from tunemeld.etl._context import RunContext
from tunemeld.exceptions import ProviderPayloadError
from tunemeld.models import Genre, RawPlaylist, Service
from tunemeld.services.providers.registry import service_spec

__all__ = ["extract_playlist", "planned_calls"]

log = structlog.get_logger()


def extract_playlist(ctx: RunContext, service: Service, genre: Genre) -> dict[str, int]:
    """Fetch and store one snapshot; nothing is written unless both fetches succeed."""
    entry = ctx.catalog.entry(service, genre)
    client = ctx.providers.playlist_client(service)
    tracks = client.fetch_playlist(entry)
    if not tracks:
        raise ProviderPayloadError(
            f"{service.value} returned an empty {genre.value} playlist; "
            "keeping the last good snapshot.",
            service=service.value,
            endpoint="playlist_tracks",
            hint="Check the playlist id in the catalog; the provider may have changed it.",
        )
    meta = client.fetch_meta(entry)
    raw = RawPlaylist(
        service=service,
        genre=genre,
        meta=meta,
        tracks=tracks,
        fetched_at=ctx.now,
        run_id=ctx.run_id,
    )
    with ctx.store.unit():
        ctx.store.save_raw_playlist(raw, keep=ctx.settings.etl.raw_snapshots_kept)
    log.info("playlist_fetched", tracks=len(tracks), playlist=meta.name)
    return {"tracks": len(tracks)}


def planned_calls(service: Service, genre: Genre, url: str) -> list[str]:
    """The calls `extract_playlist` makes, for a dry run."""
    return [service_spec(service).planned_call, f"GET {url} (header metadata)"]
