"""Stage 2: normalise a raw snapshot into `tracks` and the service's ranked playlist.

A track listed without an ISRC is resolved by a Spotify search on title and artist; each answer
(a miss included) is remembered in `lookups`, so no search runs twice. YouTube searches are
scarce (a small bucket of their own), so transform only reads known video ids; `resolve_videos`,
called by aggregate and view_count, searches for the rest. A lookup a spent bucket cannot make
is deferred (never cached as a miss), and a failed search leaves only its track unresolved.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Sequence

import structlog

from tunemeld.etl._context import RunContext
from tunemeld.etl._rankings import day_end, is_newest_day, record_playlist
from tunemeld.exceptions import (
    LookupsDeferred,
    NotFound,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    QuotaExhausted,
)
from tunemeld.models import Genre, Playlist, RawTrack, Service, ServiceTrack, Track, TrackRank
from tunemeld.services.providers import SpotifyMatch

__all__ = ["MAX_UNRESOLVED_SHARE", "normalize_query", "resolve_videos", "transform_playlist"]

log = structlog.get_logger()

MAX_UNRESOLVED_SHARE = 0.2
"""A playlist with more of its lookups failed or deferred than this keeps its last good version."""

SPOTIFY_SEARCH = "spotify_search"
SPOTIFY_ISRC = "spotify_isrc"
YOUTUBE_VIDEO = "youtube_video"

SearchCall = Callable[[], "SpotifyMatch | None"]


def normalize_query(title: str, artist: str) -> str:
    """The lookup key of a title/artist search: case- and space-insensitive."""
    return " ".join(f"{title}\x1f{artist}".lower().split())


def _encode(match: SpotifyMatch | None) -> str | None:
    return None if match is None else json.dumps(dataclasses.asdict(match))


def _decode(value: str | None) -> SpotifyMatch | None:
    return None if value is None else SpotifyMatch(**json.loads(value))


class _Deferred(Exception):
    """Internal: a lookup its spent quota bucket could not pay for (noted in the context)."""

    def __init__(self, ctx: RunContext, bucket: str, key: str) -> None:
        super().__init__(bucket)
        self.bucket = bucket
        ctx.defer(bucket, key)


class _Failed(Exception):
    """Internal: a lookup whose search failed this run."""


def _spotify_search(ctx: RunContext, kind: str, key: str, search: SearchCall) -> str | None:
    """A Spotify search answer through the run's lookup memo; raises _Deferred or _Failed."""
    found, value = ctx.cached_lookup(kind, key)
    if found:
        return value
    if not ctx.can_spend("Spotify", "search"):
        raise _Deferred(ctx, ctx.bucket_of("Spotify", "search"), f"{kind}:{key}")
    try:
        return ctx.search_once(kind, key, lambda: _encode(search()))
    except QuotaExhausted as exc:
        bucket = exc.bucket or ctx.bucket_of("Spotify", "search")
        raise _Deferred(ctx, bucket, f"{kind}:{key}") from exc
    except ProviderAuthError:
        raise
    except ProviderError as exc:
        ctx.failed_lookup(kind)
        log.warning("track_search_failed", kind=kind, error=exc.message)
        raise _Failed(exc.message) from exc


def _search_by_title(ctx: RunContext, title: str, artist: str) -> SpotifyMatch | None:
    key = normalize_query(title, artist)
    spotify = ctx.providers.spotify
    return _decode(
        _spotify_search(ctx, SPOTIFY_SEARCH, key, lambda: spotify.search_track(title, artist))
    )


def _search_by_isrc(ctx: RunContext, isrc: str) -> SpotifyMatch | None:
    spotify = ctx.providers.spotify
    return _decode(_spotify_search(ctx, SPOTIFY_ISRC, isrc, lambda: spotify.find_by_isrc(isrc)))


def _known_video(ctx: RunContext, isrc: str, stored: Track | None) -> str | None:
    """A video id already known (stored track or a fresh lookup); never searches."""
    if stored is not None and stored.youtube_id:
        return stored.youtube_id
    found, value = ctx.memo_get(YOUTUBE_VIDEO, isrc)
    if found:
        return value
    lookup = ctx.store.get_lookup(YOUTUBE_VIDEO, isrc)
    return lookup.value if lookup is not None and lookup.is_fresh(ctx.now) else None


def _resolve(
    ctx: RunContext, raw: RawTrack, known: dict[str, Track]
) -> tuple[str, str | None] | None:
    """(ISRC, Spotify track id) for one listing, or None when it cannot be matched.

    Raises _Deferred when the search bucket is spent and _Failed when the search failed.
    """
    if raw.isrc and raw.service is ctx.providers.spotify.service:  # the search source's own id
        return raw.isrc, raw.service_id
    if raw.isrc:
        stored = known.get(raw.isrc)
        if stored and stored.spotify_id:
            return raw.isrc, stored.spotify_id
        try:
            match = _search_by_isrc(ctx, raw.isrc)
        except (_Deferred, _Failed):
            return raw.isrc, None  # the ISRC is known: list it now, find the Spotify id later
        return raw.isrc, match.track_id if match else None
    match = _search_by_title(ctx, raw.title, raw.artist)
    if match is None or match.isrc is None:
        return None
    return match.isrc, match.track_id


def transform_playlist(ctx: RunContext, service: Service, genre: Genre) -> dict[str, int]:
    """Resolve the newest snapshot of one playlist and store its tracks and ranking atomically."""
    raw = ctx.store.latest_raw_playlist(service, genre, until=day_end(ctx.as_of))
    if raw is None:
        raise NotFound(
            f"No raw {service.value} {genre.value} snapshot to transform.",
            hint=f"Run `inv etl.run --stage extract --service {service.value} "
            f"--genre {genre.value}` first.",
        )
    known = ctx.store.get_tracks(t.isrc for t in raw.tracks if t.isrc)
    tracks: dict[str, Track] = {}
    ranks: dict[str, TrackRank] = {}
    unresolved = failed = 0
    deferred: dict[str, int] = {}
    listed = sorted(raw.tracks, key=lambda t: t.rank)
    outcomes = ctx.each(lambda item: _resolve(ctx, item, known), listed)
    for item, resolved in zip(listed, outcomes, strict=True):
        if isinstance(resolved, _Deferred):
            deferred[resolved.bucket] = deferred.get(resolved.bucket, 0) + 1
            continue
        if isinstance(resolved, _Failed):
            failed += 1
            continue
        if isinstance(resolved, Exception):
            raise resolved
        if resolved is None:
            unresolved += 1
            log.debug("track_unresolved", title=item.title, artist=item.artist)
            continue
        isrc, spotify_id = resolved
        if isrc in ranks:  # the same recording listed twice: keep its best rank
            continue
        youtube_id = _known_video(ctx, isrc, known.get(isrc))
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
    _check_coverage(ctx, service, genre, len(raw.tracks), failed, deferred)
    if not is_newest_day(ctx, genre, service.value):
        # A backfill: what the stored tracks say (the newest day's titles and links) wins.
        stored = ctx.store.get_tracks(tracks)
        tracks = {
            isrc: track.merged(stored[isrc]) if isrc in stored else track
            for isrc, track in tracks.items()
        }
    playlist = Playlist(
        genre=genre,
        service_name=service.value,
        tracks=sorted(ranks.values(), key=lambda r: r.rank),
        updated_at=ctx.now,
        run_id=ctx.run_id,
    )
    with ctx.store.unit():
        ctx.store.upsert_tracks(tracks.values())
        record_playlist(ctx, playlist)
    counts = {
        "tracks": len(ranks),
        "unresolved": unresolved,
        "lookup_failures": failed,
        "deferred": sum(deferred.values()),
    }
    log.info("playlist_transformed", **counts)
    return counts


def _check_coverage(
    ctx: RunContext,
    service: Service,
    genre: Genre,
    listed: int,
    failed: int,
    deferred: dict[str, int],
) -> None:
    """Keep the last good playlist (raise) when too many of its lookups failed or were deferred.

    A few gaps are fine (the next run fills them); a playlist missing a fifth of its tracks
    would distort the aggregate.
    """
    missing = failed + sum(deferred.values())
    if missing <= MAX_UNRESOLVED_SHARE * listed:
        return
    where = f"{service.value} {genre.value}"
    if sum(deferred.values()) >= failed:
        bucket = max(deferred, key=lambda b: deferred[b])
        raise LookupsDeferred(
            f"{sum(deferred.values())} of {listed} {where} track lookups were deferred "
            f"(quota bucket {bucket} spent); keeping the last good playlist.",
            bucket=bucket,
            deferred=sum(deferred.values()),
            hint="The next run (after the bucket refills) resolves them; raise the bucket's "
            f"limit with TUNEMELD_PROVIDERS__BUCKETS__{bucket.upper()}__LIMIT.",
        )
    raise ProviderUnavailable(
        f"{failed} of {listed} {where} track searches failed; keeping the last good playlist.",
        service="Spotify",
        endpoint="search",
        hint="Spotify search was unreliable during this run; the next run retries.",
    )


def resolve_videos(
    ctx: RunContext, isrcs: Sequence[str], *, max_searches: int | None = None
) -> dict[str, int]:
    """Find YouTube videos for the stored tracks among `isrcs` that have none, in that order.

    Callers pass the most visible tracks first: with a spent search bucket (or past
    `max_searches`), the rest are deferred and served without a YouTube link until later.
    """
    tracks = ctx.store.get_tracks(isrcs)
    found: list[Track] = []
    deferred = failed = searched = 0
    youtube = ctx.providers.youtube
    for isrc in dict.fromkeys(isrcs):
        track = tracks.get(isrc)
        if track is None or track.youtube_id:
            continue
        hit, video = ctx.cached_lookup(YOUTUBE_VIDEO, isrc)
        if not hit:
            if max_searches is not None and searched + failed >= max_searches:
                continue  # this caller's share is used: a later stage spends what is left
            if not ctx.can_spend("YouTube", "search"):
                deferred += 1
                ctx.defer(ctx.bucket_of("YouTube", "search"), f"{YOUTUBE_VIDEO}:{isrc}")
                continue
            search = functools.partial(youtube.search_video, track.title, track.artist)
            try:
                video = ctx.search_once(YOUTUBE_VIDEO, isrc, search)
                searched += 1
            except QuotaExhausted as exc:
                deferred += 1
                bucket = exc.bucket or ctx.bucket_of("YouTube", "search")
                ctx.defer(bucket, f"{YOUTUBE_VIDEO}:{isrc}")
                continue
            except ProviderAuthError:
                raise
            except ProviderError as exc:
                failed += 1
                ctx.failed_lookup(YOUTUBE_VIDEO)
                log.warning("video_search_failed", isrc=isrc, error=exc.message)
                continue
        if video is not None:
            found.append(track.model_copy(update={"youtube_id": video, "updated_at": ctx.now}))
    if found:
        with ctx.store.unit():
            ctx.store.upsert_tracks(found)
    return {
        "videos_found": len(found),
        "video_searches": searched,
        "video_searches_deferred": deferred,
        "video_search_failures": failed,
    }
