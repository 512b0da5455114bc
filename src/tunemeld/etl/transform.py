"""Stage 2: normalise a raw snapshot into `tracks` and the service's ranked playlist.

Spotify lists ISRCs; SoundCloud sometimes does; Apple Music never does, so its tracks are resolved
by a Spotify search on title and artist. Every search is answered from `lookups` when it can be,
and each answer (a miss included) is remembered, so no search runs twice.
"""

from __future__ import annotations

import json

import structlog

from tunemeld.etl._context import RunContext
from tunemeld.exceptions import NotFound, ProviderAuthError, ProviderError, QuotaExhausted
from tunemeld.models import Genre, Playlist, RawTrack, Service, ServiceTrack, Track, TrackRank
from tunemeld.services.providers import SpotifyMatch

__all__ = ["normalize_query", "transform_playlist"]

log = structlog.get_logger()

SPOTIFY_SEARCH = "spotify_search"
SPOTIFY_ISRC = "spotify_isrc"
YOUTUBE_VIDEO = "youtube_video"


def normalize_query(title: str, artist: str) -> str:
    """The lookup key of a title/artist search: case- and space-insensitive."""
    return " ".join(f"{title}\x1f{artist}".lower().split())


def _encode(match: SpotifyMatch | None) -> str | None:
    if match is None:
        return None
    return json.dumps(
        {
            "isrc": match.isrc,
            "track_id": match.track_id,
            "url": match.url,
            "title": match.title,
            "artist": match.artist,
            "cover_url": match.cover_url,
        }
    )


def _decode(value: str | None) -> SpotifyMatch | None:
    if value is None:
        return None
    data = json.loads(value)
    return SpotifyMatch(**data)


def _search_by_title(ctx: RunContext, title: str, artist: str) -> SpotifyMatch | None:
    key = normalize_query(title, artist)
    found, value = ctx.cached_lookup(SPOTIFY_SEARCH, key)
    if found:
        return _decode(value)
    match = ctx.providers.spotify.search_track(title, artist)
    ctx.remember(SPOTIFY_SEARCH, key, _encode(match))
    return match


def _search_by_isrc(ctx: RunContext, isrc: str) -> SpotifyMatch | None:
    found, value = ctx.cached_lookup(SPOTIFY_ISRC, isrc)
    if found:
        return _decode(value)
    match = ctx.providers.spotify.find_by_isrc(isrc)
    ctx.remember(SPOTIFY_ISRC, isrc, _encode(match))
    return match


def _youtube_id(ctx: RunContext, isrc: str, title: str, artist: str) -> str | None:
    found, value = ctx.cached_lookup(YOUTUBE_VIDEO, isrc)
    if found:
        return value
    try:
        video = ctx.providers.youtube.search_video(title, artist)
    except (QuotaExhausted, ProviderAuthError):
        raise
    except ProviderError as exc:
        # One track without a video is not worth failing the playlist; try again next run.
        log.warning("video_search_failed", isrc=isrc, error=exc.message)
        return None
    ctx.remember(YOUTUBE_VIDEO, isrc, video)
    return video


def _resolve(
    ctx: RunContext, raw: RawTrack, known: dict[str, Track]
) -> tuple[str, str | None] | None:
    """(ISRC, Spotify track id) for one listing, or None when it cannot be matched."""
    if raw.service is Service.SPOTIFY and raw.isrc:
        return raw.isrc, raw.service_id
    if raw.isrc:
        stored = known.get(raw.isrc)
        if stored and stored.spotify_id:
            return raw.isrc, stored.spotify_id
        match = _search_by_isrc(ctx, raw.isrc)
        return raw.isrc, match.track_id if match else None
    match = _search_by_title(ctx, raw.title, raw.artist)
    if match is None or match.isrc is None:
        return None
    return match.isrc, match.track_id


def transform_playlist(ctx: RunContext, service: Service, genre: Genre) -> dict[str, int]:
    """Resolve the newest snapshot of one playlist and store its tracks and ranking atomically."""
    raw = ctx.store.latest_raw_playlist(service, genre)
    if raw is None:
        raise NotFound(
            f"No raw {service.value} {genre.value} snapshot to transform.",
            hint=f"Run `inv etl.run --stage extract --service {service.value} "
            f"--genre {genre.value}` first.",
        )
    known = ctx.store.get_tracks(t.isrc for t in raw.tracks if t.isrc)
    tracks: dict[str, Track] = {}
    ranks: dict[str, TrackRank] = {}
    unresolved = 0
    for item in sorted(raw.tracks, key=lambda t: t.rank):
        resolved = _resolve(ctx, item, known)
        if resolved is None:
            unresolved += 1
            log.debug("track_unresolved", title=item.title, artist=item.artist)
            continue
        isrc, spotify_id = resolved
        if isrc in ranks:  # the same recording listed twice: keep its best rank
            continue
        stored = known.get(isrc)
        youtube_id = stored.youtube_id if stored and stored.youtube_id else None
        if youtube_id is None:
            youtube_id = _youtube_id(ctx, isrc, item.title, item.artist)
        tracks[isrc] = Track(
            isrc=isrc,
            title=item.title,
            artist=item.artist,
            services={
                service: ServiceTrack(
                    title=item.title,
                    artist=item.artist,
                    url=item.url,
                    cover_url=item.cover_url,
                    service_id=item.service_id,
                )
            },
            spotify_id=spotify_id,
            youtube_id=youtube_id,
            updated_at=ctx.now,
        )
        ranks[isrc] = TrackRank(isrc=isrc, rank=item.rank, sources={service: item.rank})
    playlist = Playlist(
        genre=genre,
        service_name=service.value,
        tracks=sorted(ranks.values(), key=lambda r: r.rank),
        updated_at=ctx.now,
        run_id=ctx.run_id,
    )
    with ctx.store.unit():
        ctx.store.upsert_tracks(tracks.values())
        ctx.store.save_playlist(playlist)
    log.info("playlist_transformed", tracks=len(ranks), unresolved=unresolved)
    return {"tracks": len(ranks), "unresolved": unresolved}
