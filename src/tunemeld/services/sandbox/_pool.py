"""The sample world's recordings: one fixed pool per genre, a pure function of the seed.

The date-dependent parts (ranks, counts) are computed by `world.py`.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import random
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tunemeld.models import Genre
from tunemeld.services.sandbox import _words

__all__ = [
    "COUNT_EPOCH",
    "POOL_SIZE",
    "Recording",
    "Video",
    "build_pool",
    "build_unrelated_videos",
    "official_video",
]

POOL_SIZE = 160
"""Recordings per genre: enough for three playlists of 50-100 with partial overlap."""

COUNT_EPOCH = datetime.date(2000, 1, 1).toordinal()
"""Play and view counts grow linearly from this day (as a proleptic Gregorian ordinal)."""

_BASE62 = string.digits + string.ascii_letters
_YOUTUBE_ALPHABET = string.ascii_letters + string.digits + "-_"
_COUNTRIES = ("US", "US", "US", "US", "GB", "QZ", "QM", "CA", "SE", "DE", "AU", "NL")
_NOT_ON_SPOTIFY = 5
_APPLE_UNRESOLVABLE = 13
_SOUNDCLOUD_WITHOUT_ISRC = 40
_WITHOUT_VIDEO = 8
_ROSTER_SIZE = 60
_MAX_MISSES = 40
"""Draws in a row that hit taken names before a name gets a number to make it unique."""


@dataclass(frozen=True)
class Recording:
    """One fictional recording and everything each simulated service knows about it."""

    genre: Genre
    isrc: str
    title: str
    artists: tuple[str, ...]
    album: str
    album_type: str
    release_date: str
    duration_ms: int
    explicit: bool
    label: str
    # Spotify
    spotify_track_id: str
    spotify_album_id: str
    spotify_artist_ids: tuple[str, ...]
    cover_hash: str
    # Apple Music
    apple_album_id: str
    apple_track_id: str
    apple_slug: str
    apple_album: str
    apple_title: str
    apple_artist: str
    # SoundCloud
    soundcloud_track_id: int
    soundcloud_user_id: int
    soundcloud_user: str
    soundcloud_slug: str
    soundcloud_artwork_id: str
    soundcloud_title: str
    soundcloud_publisher_artist: str | None
    soundcloud_has_publisher: bool
    # YouTube
    youtube_video_id: str | None
    # Popularity: shared base, slow drift, and a bias per service (indexed by Service.priority).
    popularity: float
    drift_amplitude: float
    drift_period: float
    drift_phase: float
    service_bias: tuple[float, float, float]
    # Counts: total = base + daily * (days since 2000-01-01) + noise in [0, daily // 2).
    spotify_base_plays: int
    spotify_daily_plays: int
    youtube_base_views: int
    youtube_daily_views: int
    soundcloud_base_plays: int
    soundcloud_daily_plays: int
    # Flags
    on_spotify: bool
    apple_unresolvable: bool
    soundcloud_isrc: bool

    @property
    def artist(self) -> str:
        """The artist credit as Spotify joins it: "A, B"."""
        return ", ".join(self.artists)

    @property
    def spotify_url(self) -> str:
        """The public Spotify track page."""
        return f"https://open.spotify.com/track/{self.spotify_track_id}"

    @property
    def spotify_cover_urls(self) -> tuple[str, str, str]:
        """The album art at 640, 300 and 64 pixels, widest first, as Spotify lists it."""
        return (
            f"https://i.scdn.co/image/ab67616d0000b273{self.cover_hash}",
            f"https://i.scdn.co/image/ab67616d00001e02{self.cover_hash}",
            f"https://i.scdn.co/image/ab67616d00004851{self.cover_hash}",
        )

    @property
    def apple_url(self) -> str:
        """The Apple Music track link: the album page with `?i=<track id>`."""
        return (
            f"https://music.apple.com/us/album/{self.apple_slug}/{self.apple_album_id}"
            f"?i={self.apple_track_id}"
        )

    @property
    def apple_cover_url(self) -> str:
        """The album art on Apple's image CDN (600 x 600)."""
        h = self.cover_hash
        return (
            f"https://is1-ssl.mzstatic.com/image/thumb/Music126/v4/{h[0:2]}/{h[2:4]}/{h[4:6]}/"
            f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:24]}{h[:8]}/"
            f"{self.apple_album_id}.jpg/600x600bb.jpg"
        )

    @property
    def soundcloud_url(self) -> str:
        """The SoundCloud track permalink."""
        return f"https://soundcloud.com/{self.soundcloud_user}/{self.soundcloud_slug}"

    @property
    def soundcloud_artwork_url(self) -> str:
        """The SoundCloud artwork in its `large` (100 x 100) size."""
        return f"https://i1.sndcdn.com/artworks-{self.soundcloud_artwork_id}-large.jpg"

    @property
    def youtube_url(self) -> str | None:
        """The YouTube watch page, when the recording has a video."""
        if self.youtube_video_id is None:
            return None
        return f"https://www.youtube.com/watch?v={self.youtube_video_id}"

    def strength(self, day: int) -> float:
        """Shared popularity on a day (days since 2000-01-01): base plus a slow seasonal drift."""
        angle = 2 * math.pi * day / self.drift_period + self.drift_phase
        return self.popularity + self.drift_amplitude * math.sin(angle)


def random_id(rng: random.Random, alphabet: str, length: int) -> str:
    """A random string over `alphabet` (ids, hashes)."""
    return "".join(rng.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class _Act:
    """An artist with the ids each service gives it."""

    name: str
    spotify_id: str
    soundcloud_id: int


class _Registry:
    """Values already handed out, per kind, shared by every genre so ids never collide."""

    def __init__(self) -> None:
        self._seen: dict[str, set[object]] = {}

    def take(self, kind: str, value: object) -> bool:
        """Claim `value`; False when it was taken before."""
        seen = self._seen.setdefault(kind, set())
        if value in seen:
            return False
        seen.add(value)
        return True

    def draw(self, kind: str, make: Callable[[], str]) -> str:
        """Call `make` until it yields an unclaimed value, and claim it."""
        while True:
            value = make()
            if self.take(kind, value):
                return value


def _isrc(rng: random.Random, year: int) -> str:
    registrant = random_id(rng, string.ascii_uppercase + string.digits, 3)
    return f"{rng.choice(_COUNTRIES)}{registrant}{year % 100:02d}{rng.randrange(100000):05d}"


def _roster(rng: random.Random, genre: Genre, registry: _Registry) -> list[_Act]:
    acts: list[_Act] = []
    misses = 0
    while len(acts) < _ROSTER_SIZE:
        name = _words.artist_name(rng, genre)
        if misses >= _MAX_MISSES:  # the vocabulary is crowded (many genres): number the act
            name = f"{name} {misses}"
        if _words.tokens(name) in [_words.tokens(a.name) for a in acts] or not registry.take(
            "artist", _words.slugify(name)
        ):
            misses += 1
            continue
        misses = 0
        spotify_id = registry.draw("id", lambda: random_id(rng, _BASE62, 22))
        soundcloud_id = registry.draw("id", lambda: random_id(rng, string.digits[1:], 9))
        acts.append(_Act(name, spotify_id, int(soundcloud_id)))
    return acts


def _recording(
    rng: random.Random, genre: Genre, roster: list[_Act], registry: _Registry
) -> Recording:
    weights = [1.0 / (rank + 1) ** 0.6 for rank in range(len(roster))]
    lead = rng.choices(roster, weights)[0]
    guest = rng.choice([act for act in roster if act is not lead])
    base_title = _words.track_title(rng, genre)
    misses = 0
    while not registry.take("title", _words.tokens(base_title)):
        misses += 1
        base_title = _words.track_title(rng, genre)
        if misses >= _MAX_MISSES:  # the vocabulary is crowded (many genres): number the part
            base_title = f"{base_title} Pt. {misses}"
    roll = rng.random()
    acts: tuple[_Act, ...]
    if roll < 0.15:
        title, acts = f"{base_title} (feat. {guest.name})", (lead, guest)
    elif roll < 0.25:
        title, acts = base_title, (lead, guest)
    elif roll < 0.31:
        title, acts = f"{base_title} (Remix)", (lead,)
    else:
        title, acts = base_title, (lead,)
    artists = tuple(act.name for act in acts)
    single = rng.random() < 0.7
    album = title if single else _words.album_name(rng, base_title)
    apple_album = f"{album} - Single" if single else album
    year = rng.choice((2024, 2025, 2025))
    popularity = rng.gauss(0.0, 1.0)
    dash_title = rng.random() < 0.3
    credit = lead.name if "(feat." in title else " & ".join(artists)
    new_id = registry.draw
    return Recording(
        genre=genre,
        isrc=new_id("isrc", lambda: _isrc(rng, year)),
        title=title,
        artists=artists,
        album=album,
        album_type="single" if single else "album",
        release_date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        duration_ms=rng.randint(135_000, 260_000),
        explicit=_words.style_of(genre).explicit and rng.random() < 0.7,
        label=rng.choice(_words.LABELS),
        spotify_track_id=new_id("id", lambda: random_id(rng, _BASE62, 22)),
        spotify_album_id=new_id("id", lambda: random_id(rng, _BASE62, 22)),
        spotify_artist_ids=tuple(act.spotify_id for act in acts),
        cover_hash=new_id("id", lambda: random_id(rng, "0123456789abcdef", 24)),
        apple_album_id=new_id("id", lambda: "1" + random_id(rng, string.digits, 9)),
        apple_track_id=new_id("id", lambda: "1" + random_id(rng, string.digits, 9)),
        apple_slug=_words.slugify(apple_album),
        apple_album=apple_album,
        apple_title=title,
        apple_artist=credit,
        soundcloud_track_id=int(new_id("id", lambda: "1" + random_id(rng, string.digits, 9))),
        soundcloud_user_id=lead.soundcloud_id,
        soundcloud_user=_words.slugify(lead.name),
        soundcloud_slug=_words.slugify(title),
        soundcloud_artwork_id=(
            f"000{random_id(rng, string.digits, 9)}-"
            f"{random_id(rng, string.ascii_lowercase + string.digits, 6)}"
        ),
        soundcloud_title=f"{credit} - {title}" if dash_title else title,
        soundcloud_publisher_artist=None if dash_title else ", ".join(artists),
        soundcloud_has_publisher=True,
        youtube_video_id=new_id("id", lambda: random_id(rng, _YOUTUBE_ALPHABET, 11)),
        popularity=popularity,
        drift_amplitude=rng.uniform(0.3, 0.8),
        drift_period=rng.uniform(60.0, 200.0),
        drift_phase=rng.uniform(0.0, 2 * math.pi),
        service_bias=(rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)),
        spotify_base_plays=rng.randrange(1_000_000, 50_000_000),
        spotify_daily_plays=max(2, int(10 ** rng.uniform(3.0, 4.6) * math.exp(0.6 * popularity))),
        youtube_base_views=rng.randrange(100_000, 20_000_000),
        youtube_daily_views=max(2, int(10 ** rng.uniform(2.6, 4.2) * math.exp(0.5 * popularity))),
        soundcloud_base_plays=rng.randrange(1_000, 500_000),
        soundcloud_daily_plays=max(
            1, int(10 ** rng.uniform(1.5, 3.0) * math.exp(0.5 * popularity))
        ),
        on_spotify=True,
        apple_unresolvable=False,
        soundcloud_isrc=True,
    )


def _with_flags(rng: random.Random, pool: list[Recording], registry: _Registry) -> list[Recording]:
    """Mark the recordings that make matching hard, in exact numbers so every seed has some."""
    indices = range(len(pool))
    not_on_spotify = set(rng.sample(indices, _NOT_ON_SPOTIFY))
    unresolvable = set(
        rng.sample([i for i in indices if i not in not_on_spotify], _APPLE_UNRESOLVABLE)
    )
    without_isrc = set(rng.sample(indices, _SOUNDCLOUD_WITHOUT_ISRC))
    without_video = set(rng.sample(indices, _WITHOUT_VIDEO))
    flagged: list[Recording] = []
    for i, rec in enumerate(pool):
        changes: dict[str, object] = {}
        if i in not_on_spotify:
            changes["on_spotify"] = False
        if i in unresolvable:
            apple_title = _words.respell(rec.title)
            if registry.take("title", _words.tokens(apple_title)):
                lead, _, rest = rec.apple_artist.partition(" & ")
                changes["apple_unresolvable"] = True
                changes["apple_title"] = apple_title
                changes["apple_artist"] = _words.alias(lead) + (f" & {rest}" if rest else "")
        if i in without_isrc:
            changes["soundcloud_isrc"] = False
            changes["soundcloud_has_publisher"] = rng.random() < 0.5
        if i in without_video:
            changes["youtube_video_id"] = None
        flagged.append(dataclasses.replace(rec, **changes) if changes else rec)  # type: ignore[arg-type]
    return flagged


def build_pool(seed: int, genres: Iterable[Genre]) -> dict[Genre, tuple[Recording, ...]]:
    """Each genre's recordings, in a fixed order; ids, ISRCs and titles unique across genres.

    Earlier genres claim names and ids first, so appending genres leaves earlier pools unchanged.
    """
    registry = _Registry()
    pools: dict[Genre, tuple[Recording, ...]] = {}
    for genre in genres:
        rng = random.Random(f"{seed}:pool:{genre.value}")
        roster = _roster(rng, genre, registry)
        pool = [_recording(rng, genre, roster, registry) for _ in range(POOL_SIZE)]
        pools[genre] = tuple(_with_flags(rng, pool, registry))
    return pools


@dataclass(frozen=True)
class Video:
    """A YouTube video: a recording's official video or an unrelated one search also returns."""

    video_id: str
    title: str
    channel_title: str
    channel_id: str
    published_at: str
    description: str
    base_views: int
    daily_views: int


_UNRELATED_TITLES = (
    "lofi beats to relax and study to - 24/7 radio",
    "10 Hours of Thunderstorm Sounds for Sleeping",
    "How to Restring an Acoustic Guitar (Beginner Guide)",
    "Top 10 Goals of the Season | Highlights",
    "Street Food Tour in Bangkok, Thailand",
    "The Perfect Omelette in 5 Minutes",
    "Reacting to My First Ever Video",
    "Unboxing the New Phone - First Impressions",
    "Learn Spanish While You Sleep - 8 Hours",
    "Cat Compilation: Try Not to Laugh",
    "Home Workout - 20 Minute Full Body",
    "Building a Tiny Cabin in the Woods",
    "Piano Tutorial for Absolute Beginners",
    "Vinyl Collection Tour 2026",
    "Why Do Birds Migrate? Explained",
    "Speedrun World Record Attempt (Any%)",
    "Making Sourdough From Scratch",
    "Drum Cover Compilation Vol. 3",
    "Car Detailing ASMR",
    "History of the Electric Bass",
    "Camping in the Desert for 48 Hours",
    "Guitar Pedalboard Rundown",
    "Studio Vlog #12 - Mixing Day",
    "Karaoke Night Fails Compilation",
)


def build_unrelated_videos(seed: int) -> tuple[Video, ...]:
    """Videos unrelated to any recording, returned after (or instead of) a search's real hit."""
    rng = random.Random(f"{seed}:unrelated-videos")
    videos = []
    for title in _UNRELATED_TITLES:
        channel = f"{rng.choice(('Daily', 'The', 'Just', 'Simply'))} {title.split()[0].title()} TV"
        videos.append(
            Video(
                video_id="u" + random_id(rng, _YOUTUBE_ALPHABET, 10),
                title=title,
                channel_title=channel,
                channel_id="UC" + random_id(rng, _YOUTUBE_ALPHABET, 22),
                published_at=f"20{rng.randint(18, 25)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
                description=f"{title}. Subscribe for more videos every week!",
                base_views=rng.randrange(10_000, 5_000_000),
                daily_views=rng.randrange(2, 5_000),
            )
        )
    return tuple(videos)


def official_video(rec: Recording) -> Video | None:
    """The recording's official video on its lead artist's channel, if it has one."""
    if rec.youtube_video_id is None:
        return None
    lead = rec.artists[0]
    return Video(
        video_id=rec.youtube_video_id,
        title=f"{lead} - {rec.title} (Official Video)",
        channel_title=f"{lead.replace(' ', '')}VEVO",
        channel_id="UC" + rec.cover_hash[:12] + rec.spotify_album_id[:10],
        published_at=f"{rec.release_date}T16:00:00Z",
        description=f'Official video for "{rec.title}" by {rec.artist}. Out now on {rec.label}.',
        base_views=rec.youtube_base_views,
        daily_views=rec.youtube_daily_views,
    )
