"""The sample world: a deterministic simulation of the streaming providers, for offline runs.

Everything is a pure function of (seed, date): playlists churn a little from day to day and
counts grow, so consecutive runs see realistic deltas. `handle` routes a request by host (the
registry names each provider's hosts) to the provider's endpoint module, which answers in the
documented JSON shapes; both `SandboxAdapter` and the HTTP simulator reuse that routing.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import random
import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

from tunemeld.config.catalog import Catalog, CatalogEntry, load_catalog
from tunemeld.models import Genre, Service
from tunemeld.services.sandbox import _render, _words
from tunemeld.services.sandbox._pool import (
    COUNT_EPOCH,
    Recording,
    Video,
    build_pool,
    build_unrelated_videos,
    official_video,
    random_id,
)
from tunemeld.services.sandbox.exchange import (
    Call,
    Endpoint,
    SandboxRequest,
    SandboxResponse,
    html_answer,
)

__all__ = ["Recording", "SampleWorld"]

_DAILY_NOISE = 0.08
_FIELD = re.compile(r"\b(track|artist|album|isrc|year|genre):", re.IGNORECASE)


def _parse_search(query: str) -> tuple[dict[str, str], str]:
    """Split a Spotify `q` into field filters (`track:`, `artist:`, ...) and free text."""
    matches = list(_FIELD.finditer(query))
    free = query[: matches[0].start()] if matches else query
    filters: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(query)
        filters[match.group(1).lower()] = query[match.end() : end].strip().strip("\"'")
    return filters, free.strip()


class SampleWorld:
    """The simulation: a service's playlist on a date is the top of a genre's pool by a score
    shared across services, plus a per-service bias and a little daily noise.
    """

    def __init__(self, seed: int = 2026, catalog: Catalog | None = None) -> None:
        self.seed = seed
        self.catalog = catalog if catalog is not None else load_catalog()
        self._pools = build_pool(seed, self.catalog.genres)
        everything = [rec for pool in self._pools.values() for rec in pool]
        self._by_isrc = {rec.isrc: rec for rec in everything}
        self._by_spotify_id = {rec.spotify_track_id: rec for rec in everything if rec.on_spotify}
        self._by_apple_album = {rec.apple_album_id: rec for rec in everything}
        self._unrelated = build_unrelated_videos(seed)
        self._videos: dict[str, Video] = {video.video_id: video for video in self._unrelated}
        self._official: dict[str, Video] = {}
        for rec in everything:
            video = official_video(rec)
            if video is not None:
                self._videos[video.video_id] = video
                self._official[rec.isrc] = video
        self._title_tokens = {rec.isrc: _words.tokens(rec.title) for rec in everything}
        self._artist_tokens = {
            rec.isrc: tuple(_words.tokens(name) for name in rec.artists) for rec in everything
        }
        self._by_title: dict[tuple[str, ...], list[Recording]] = {}
        self._by_artist: dict[tuple[str, ...], list[Recording]] = {}
        for rec in everything:
            self._by_title.setdefault(self._title_tokens[rec.isrc], []).append(rec)
            for words in self._artist_tokens[rec.isrc]:
                self._by_artist.setdefault(words, []).append(rec)
        self._playlists = {(e.service, e.playlist_id): e for e in self.catalog.entries.values()}
        # The registry imports the endpoint modules of this package: read it once built.
        from tunemeld.services.providers.registry import PROVIDERS, SERVICES

        self.hosts: Mapping[str, Endpoint] = {
            host: endpoint for spec in PROVIDERS for host, endpoint in spec.sandbox.HOSTS.items()
        }
        """Every host the world answers for, and the provider endpoint that answers it."""
        self.playlist_sizes = {spec.service: spec.sample_playlist_size for spec in SERVICES}
        """Tracks in each service's flagship playlist, on every date."""
        self._carries = {spec.service: spec.sandbox.carries for spec in SERVICES}
        self._ranked: Callable[[Service, Genre, datetime.date], tuple[Recording, ...]]
        self._ranked = functools.lru_cache(maxsize=256)(self._rank)

    # --- inspection ------------------------------------------------------------------------

    def recordings(self, genre: Genre) -> tuple[Recording, ...]:
        """Every recording of a genre's pool, in a fixed order."""
        return self._pools[genre]

    def recording(self, isrc: str) -> Recording | None:
        """The recording with this ISRC, if the world has one."""
        return self._by_isrc.get(isrc)

    def playlist(self, service: Service, genre: Genre, as_of: datetime.date) -> list[Recording]:
        """A service's flagship playlist for a genre on a date, in rank order."""
        return list(self._ranked(service, genre, as_of))

    def recording_by_spotify_id(self, track_id: str) -> Recording | None:
        """The recording with this Spotify track id, if it is on Spotify."""
        return self._by_spotify_id.get(track_id)

    def recording_by_apple_album(self, album_id: str) -> Recording | None:
        """The recording whose Apple Music album has this id, if the world has one."""
        return self._by_apple_album.get(album_id)

    def video(self, video_id: str) -> Video | None:
        """The video with this id (official or unrelated), if the world has one."""
        return self._videos.get(video_id)

    def spotify_play_count(self, rec: Recording, as_of: datetime.date) -> int:
        """The Spotify play count on a date; strictly increasing from one day to the next."""
        return self._count(rec.spotify_base_plays, rec.spotify_daily_plays, rec.isrc, as_of)

    def youtube_view_count(self, rec: Recording, as_of: datetime.date) -> int | None:
        """The view count of the recording's official video on a date, None without a video."""
        video = self._official.get(rec.isrc)
        return None if video is None else self.video_view_count(video, as_of)

    def spotify_popularity(self, rec: Recording, as_of: datetime.date) -> int:
        """Spotify's 0-100 popularity on a date, from the shared strength."""
        day = as_of.toordinal() - COUNT_EPOCH
        return max(0, min(100, round(52 + 14 * rec.strength(day))))

    def search_spotify(self, query: str) -> list[Recording]:
        """What Spotify search finds for a `q`: `isrc:X`, `track:T artist:A` or free text."""
        filters, free = _parse_search(query)
        if "isrc" in filters:
            found = [r for r in [self._by_isrc.get(filters["isrc"].strip().upper())] if r]
        elif "track" in filters:
            found = list(self._by_title.get(_words.tokens(filters["track"]), []))
            if "artist" in filters:
                found = [r for r in found if self._artist_matches(r, filters["artist"])]
            if free:
                found = [r for r in found if set(_words.tokens(free)) <= self._words_of(r)]
        else:
            words = _words.tokens(f"{free} {filters.get('artist', '')}")
            found = self._match_text(words) or self._match_words(words)
        return [rec for rec in found if rec.on_spotify]

    def search_youtube(self, query: str) -> list[Video]:
        """What YouTube search returns: the official video first when one matches, then others."""
        words = _words.tokens(query.replace('"', " "))
        found = self._match_text(words)
        results: list[Video] = []
        banned = {word for word in words if len(word) >= 3}
        if found:
            rec = found[0]
            video = self._official.get(rec.isrc)
            if video is not None:
                results.append(video)
            banned.add(" ".join(self._title_tokens[rec.isrc]))
            banned.update(" ".join(artist) for artist in self._artist_tokens[rec.isrc])
        wanted = len(results) + 2
        start = int(hashlib.sha256(query.encode()).hexdigest()[:8], 16)
        pool = self._unrelated
        for i in range(len(pool)):
            candidate = pool[(start + i) % len(pool)]
            title = " ".join(_words.tokens(candidate.title))
            if not any(term in title for term in banned):
                results.append(candidate)
                if len(results) >= wanted:
                    break
        return results

    # --- simulation ------------------------------------------------------------------------

    def _rank(self, service: Service, genre: Genre, as_of: datetime.date) -> tuple[Recording, ...]:
        day = as_of.toordinal() - COUNT_EPOCH
        rng = random.Random(f"{self.seed}:rank:{service.value}:{genre.value}:{as_of.isoformat()}")
        scored: list[tuple[float, int]] = []
        pool = self._pools[genre]
        priority, carries = service.priority, self._carries[service]
        for index, rec in enumerate(pool):
            noise = rng.gauss(0.0, _DAILY_NOISE)
            if not carries(rec):
                continue
            scored.append((rec.strength(day) + self._bias(rec, service, priority) + noise, index))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return tuple(pool[index] for _, index in scored[: self.playlist_sizes[service]])

    def _bias(self, rec: Recording, service: Service, priority: int) -> float:
        """A recording's standing on a service: drawn with it for the first services by priority,
        from the seed, ISRC and service name for any other (a service registered later)."""
        if priority < len(rec.service_bias):
            return rec.service_bias[priority]
        return random.Random(f"{self.seed}:bias:{service.value}:{rec.isrc}").gauss(0.0, 1.0)

    def _count(self, base: int, daily: int, key: str, as_of: datetime.date) -> int:
        day = as_of.toordinal() - COUNT_EPOCH
        noise = random.Random(f"{self.seed}:count:{key}:{as_of.isoformat()}").randrange(daily // 2)
        return max(0, base + daily * day + noise)

    def video_view_count(self, video: Video, as_of: datetime.date) -> int:
        return self._count(video.base_views, video.daily_views, video.video_id, as_of)

    def _words_of(self, rec: Recording) -> set[str]:
        words = set(self._title_tokens[rec.isrc])
        for artist in self._artist_tokens[rec.isrc]:
            words.update(artist)
        return words

    def _artist_matches(self, rec: Recording, credit: str) -> bool:
        wanted = {_words.tokens(credit), _words.tokens(_words.first_artist(credit))}
        return any(words in wanted for words in self._artist_tokens[rec.isrc])

    def _match_words(self, words: tuple[str, ...]) -> list[Recording]:
        """The loose fallback: recordings whose title and artists hold every word, by strength."""
        if not words:
            return []
        wanted = set(words)
        found = [rec for rec in self._by_isrc.values() if wanted <= self._words_of(rec)]
        return sorted(found, key=lambda rec: (-rec.popularity, rec.isrc))

    def _match_text(self, words: tuple[str, ...]) -> list[Recording]:
        """Recordings whose title and an artist make up the text ("<title> <artist>" or reverse).

        Extra words may follow ("... official video"); a title alone matches last.
        """
        with_artist: list[Recording] = []
        title_only: list[Recording] = []
        for cut in range(1, len(words) + 1):
            head, rest = words[:cut], words[cut:]
            for rec in self._by_title.get(head, ()):
                if not rest:
                    title_only.append(rec)
                elif any(rest[: len(a)] == a for a in self._artist_tokens[rec.isrc]):
                    with_artist.append(rec)
            for rec in self._by_artist.get(head, ()):
                title = self._title_tokens[rec.isrc]
                if rest and rest[: len(title)] == title:
                    with_artist.append(rec)
        unique: dict[str, Recording] = {}
        for rec in [*with_artist, *title_only]:
            unique.setdefault(rec.isrc, rec)
        return list(unique.values())

    # --- routing ---------------------------------------------------------------------------

    def handle(self, request: SandboxRequest, as_of: datetime.date) -> SandboxResponse:
        """Answer one request as the real provider would on `as_of`; unknown routes get 404."""
        parts = urlsplit(request.url)
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, value)
        call = Call(
            method=request.method.upper(),
            url=request.url,
            host=(parts.hostname or "").lower(),
            path=parts.path.rstrip("/") or "/",
            query=query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.body or b"",
            as_of=as_of,
        )
        endpoint = self.hosts.get(call.host)
        if endpoint is None:
            return html_answer(404, _render.not_found_html(request.url))
        return endpoint(self, call)

    def entry(self, service: Service, text: str) -> CatalogEntry | None:
        """The catalog entry a playlist id or URL names on a service, None for an unknown one.

        The id is the whole path (an id with slashes) or its last part; the endpoint module
        normalises what its service treats as equal (SoundCloud's paths ignore case).
        """
        path = urlsplit(text).path.strip("/") if "://" in text else text.strip("/")
        found = self._playlists.get((service, path))
        return found or self._playlists.get((service, path.rsplit("/", 1)[-1]))

    def cover_hex(self, entry: CatalogEntry, length: int) -> str:
        """A playlist's stable hex cover id, `length` digits long."""
        rng = random.Random(f"{self.seed}:cover:{entry.service.value}:{entry.genre.value}")
        return random_id(rng, "0123456789abcdef", length)
