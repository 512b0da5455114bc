"""The sample world's simulation: determinism, catalogue invariants, churn, growth and search."""

from __future__ import annotations

import datetime
import html
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import strategies as st_
from tests.catalog import GENRES, catalog_adding
from tunemeld.config.catalog import load_catalog
from tunemeld.models import ISRC_PATTERN, Genre, Service
from tunemeld.services.sandbox import (
    Recording,
    SampleWorld,
    SandboxRequest,
    SandboxResponse,
    _pool,
)

DAY = datetime.date(2026, 3, 1)
RAPIDAPI = {"X-RapidAPI-Key": "test-key"}
CATALOG = load_catalog()

SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
SPOTIFY_TRACK_URL = re.compile(r"https://open\.spotify\.com/track/[0-9A-Za-z]{22}")
SPOTIFY_IMAGE = re.compile(r"https://i\.scdn\.co/image/ab67616d0000(b273|1e02|4851)[0-9a-f]{24}")
APPLE_LINK = re.compile(r"https://music\.apple\.com/us/album/[a-z0-9-]+/[0-9]+\?i=[0-9]+")
SOUNDCLOUD_URL = re.compile(r"https://soundcloud\.com/[a-z0-9-]+/[a-z0-9-]+")
SOUNDCLOUD_ART = re.compile(r"https://i1\.sndcdn\.com/artworks-[A-Za-z0-9]+-[a-z0-9]{6}-large\.jpg")
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")


@pytest.fixture(scope="module", name="world")
def _world() -> SampleWorld:
    """One world for the module: building it is pure, so sharing it is safe."""
    return SampleWorld()


def _all(world: SampleWorld) -> list[Recording]:
    return [rec for genre in GENRES for rec in world.recordings(genre)]


def _get(world: SampleWorld, url: str, as_of: datetime.date = DAY) -> SandboxResponse:
    return world.handle(SandboxRequest("GET", url, RAPIDAPI, None), as_of)


def _every_endpoint(world: SampleWorld) -> list[SandboxRequest]:
    """One request per endpoint, with arguments valid in any world built from the catalogue."""
    spotify = CATALOG.entry(Service.SPOTIFY, Genre("pop"))
    apple = CATALOG.entry(Service.APPLE_MUSIC, Genre("pop"))
    soundcloud = CATALOG.entry(Service.SOUNDCLOUD, Genre("pop"))
    bearer = {"Authorization": "Bearer token"}
    apple_api = f"https://music.apple.com/us/playlist/playlist/{apple.playlist_id}"
    return [
        SandboxRequest(
            "GET",
            f"https://spotify23.p.rapidapi.com/playlist_tracks/?id={spotify.playlist_id}",
            RAPIDAPI,
        ),
        SandboxRequest(
            "GET", f"https://apple-music24.p.rapidapi.com/playlist1/?url={apple_api}", RAPIDAPI
        ),
        SandboxRequest(
            "GET",
            f"https://soundcloud-scraper.p.rapidapi.com/v1/playlist/tracks?playlist={soundcloud.url}",
            RAPIDAPI,
        ),
        SandboxRequest(
            "POST",
            "https://accounts.spotify.com/api/token",
            {"Authorization": "Basic aWQ6c2VjcmV0"},
            b"grant_type=client_credentials",
        ),
        SandboxRequest(
            "GET", "https://api.spotify.com/v1/search?q=golden&type=track&limit=10", bearer
        ),
        SandboxRequest(
            "GET", "https://www.googleapis.com/youtube/v3/search?part=snippet&q=golden&key=k", {}
        ),
        SandboxRequest("GET", spotify.url, {}),
        SandboxRequest("GET", apple.url, {}),
        SandboxRequest("GET", soundcloud.url, {}),
    ]


class TestDeterminism:
    """Everything is a pure function of (seed, date)."""

    def test_same_seed_and_date_give_identical_bytes(self, world: SampleWorld) -> None:
        twin = SampleWorld(seed=2026)
        for request in _every_endpoint(world):
            assert world.handle(request, DAY).body == twin.handle(request, DAY).body, request.url

    def test_other_seed_gives_different_bytes(self, world: SampleWorld) -> None:
        other = SampleWorld(seed=7)
        for request in _every_endpoint(world)[:6]:
            assert world.handle(request, DAY).body != other.handle(request, DAY).body, request.url

    def test_other_date_gives_different_playlist(self, world: SampleWorld) -> None:
        request = _every_endpoint(world)[0]
        later = DAY + datetime.timedelta(days=1)
        assert world.handle(request, DAY).body != world.handle(request, later).body

    def test_same_seed_builds_identical_recordings(self, world: SampleWorld) -> None:
        assert _all(SampleWorld(seed=2026)) == _all(world)


class TestRecordings:
    """The pools: valid unique identifiers, realistic names and the awkward cases."""

    def test_each_genre_has_about_160_recordings(self, world: SampleWorld) -> None:
        assert all(140 <= len(world.recordings(genre)) <= 180 for genre in GENRES)

    def test_isrcs_are_valid_and_unique_across_genres(self, world: SampleWorld) -> None:
        isrcs = [rec.isrc for rec in _all(world)]
        assert all(ISRC_PATTERN.fullmatch(isrc) for isrc in isrcs)
        assert len(set(isrcs)) == len(isrcs)

    def test_service_ids_are_unique(self, world: SampleWorld) -> None:
        recs = _all(world)
        for ids in (
            [r.spotify_track_id for r in recs],
            [r.apple_track_id for r in recs],
            [r.apple_album_id for r in recs],
            [r.soundcloud_track_id for r in recs],
            [r.soundcloud_url for r in recs],
            [r.youtube_video_id for r in recs if r.youtube_video_id],
        ):
            assert len(set(ids)) == len(ids)

    def test_urls_follow_each_service_format(self, world: SampleWorld) -> None:
        for rec in _all(world):
            assert SPOTIFY_ID.fullmatch(rec.spotify_track_id)
            assert SPOTIFY_TRACK_URL.fullmatch(rec.spotify_url)
            assert all(SPOTIFY_IMAGE.fullmatch(url) for url in rec.spotify_cover_urls)
            assert APPLE_LINK.fullmatch(rec.apple_url)
            assert SOUNDCLOUD_URL.fullmatch(rec.soundcloud_url)
            assert SOUNDCLOUD_ART.fullmatch(rec.soundcloud_artwork_url)
            assert rec.youtube_video_id is None or YOUTUBE_ID.fullmatch(rec.youtube_video_id)

    def test_titles_and_artists_are_readable(self, world: SampleWorld) -> None:
        recs = _all(world)
        assert all(re.fullmatch(r"[\w' ().&-]+", rec.title) for rec in recs)
        assert all(1 <= len(rec.artists) <= 2 for rec in recs)
        assert any("(feat. " in rec.title for rec in recs)
        assert any("(Remix)" in rec.title for rec in recs)
        assert any(", " in rec.artist for rec in recs)

    def test_every_genre_has_each_awkward_case(self, world: SampleWorld) -> None:
        for genre in GENRES:
            recs = world.recordings(genre)
            assert 0 < sum(not r.on_spotify for r in recs) <= 0.05 * len(recs)
            assert 0 < sum(r.apple_unresolvable for r in recs) <= 0.12 * len(recs)
            assert 0.15 * len(recs) <= sum(not r.soundcloud_isrc for r in recs) <= 0.35 * len(recs)
            assert 0 < sum(r.youtube_video_id is None for r in recs) <= 0.1 * len(recs)

    def test_apple_names_differ_exactly_for_unresolvable_recordings(
        self, world: SampleWorld
    ) -> None:
        for rec in _all(world):
            same = (rec.apple_title, _lead(rec.apple_artist)) == (rec.title, rec.artists[0])
            assert same is not rec.apple_unresolvable


def _lead(credit: str) -> str:
    return re.split(r",|&", credit)[0].strip()


def _aggregate_size(world: SampleWorld, genre: Genre, day: datetime.date) -> int:
    """The aggregate rule: >= 2 services list an ISRC; Apple and SoundCloud need it resolvable."""
    spotify = {r.isrc for r in world.playlist(Service.SPOTIFY, genre, day)}
    apple = {
        r.isrc
        for r in world.playlist(Service.APPLE_MUSIC, genre, day)
        if r.on_spotify and not r.apple_unresolvable
    }
    soundcloud = {
        r.isrc
        for r in world.playlist(Service.SOUNDCLOUD, genre, day)
        if r.soundcloud_isrc or r.on_spotify
    }
    counts = Counter([*spotify, *apple, *soundcloud])
    return sum(1 for n in counts.values() if n >= 2)


class TestPlaylists:
    """Playlists: fixed sizes, enough agreement for an aggregate, and a little daily churn."""

    @pytest.mark.parametrize("service", list(Service))
    def test_sizes_are_fixed_per_service_between_50_and_100(
        self, world: SampleWorld, service: Service
    ) -> None:
        assert 50 <= world.playlist_sizes[service] <= 100
        for genre in GENRES:
            tracks = world.playlist(service, genre, DAY)
            assert len(tracks) == world.playlist_sizes[service]
            assert len({r.isrc for r in tracks}) == len(tracks)

    def test_spotify_never_lists_a_recording_missing_from_spotify(self, world: SampleWorld) -> None:
        for offset in range(0, 365, 7):
            day = DAY + datetime.timedelta(days=offset)
            for genre in GENRES:
                assert all(r.on_spotify for r in world.playlist(Service.SPOTIFY, genre, day))

    def test_aggregate_has_at_least_15_tracks_on_every_day_of_a_year(
        self, world: SampleWorld
    ) -> None:
        start = datetime.date(2026, 1, 1)
        for genre in GENRES:
            sizes = [
                _aggregate_size(world, genre, start + datetime.timedelta(days=n))
                for n in range(365)
            ]
            assert min(sizes) >= 15, genre

    def test_consecutive_days_differ_but_overlap_above_80_percent(self, world: SampleWorld) -> None:
        changed = 0
        for offset in range(60):
            day = DAY + datetime.timedelta(days=offset)
            for service in Service:
                for genre in GENRES:
                    today = world.playlist(service, genre, day)
                    tomorrow = world.playlist(service, genre, day + datetime.timedelta(days=1))
                    shared = {r.isrc for r in today} & {r.isrc for r in tomorrow}
                    assert today != tomorrow
                    assert len(shared) > 0.8 * len(today)
                    changed += len(shared) < len(today)
        assert changed > 0.5 * 60 * len(Service) * len(GENRES)

    def test_playlists_drift_over_months(self, world: SampleWorld) -> None:
        now = {r.isrc for r in world.playlist(Service.SPOTIFY, Genre("pop"), DAY)}
        later = DAY + datetime.timedelta(days=120)
        then = {r.isrc for r in world.playlist(Service.SPOTIFY, Genre("pop"), later)}
        assert len(now & then) < 0.9 * len(now)

    def test_services_disagree_on_order(self, world: SampleWorld) -> None:
        spotify = world.playlist(Service.SPOTIFY, Genre("rap"), DAY)[:10]
        apple = world.playlist(Service.APPLE_MUSIC, Genre("rap"), DAY)[:10]
        assert spotify != apple


class TestCounts:
    """Play and view counts grow every day, so a next-day run sees positive deltas."""

    def test_spotify_play_counts_strictly_increase_day_to_day(self, world: SampleWorld) -> None:
        for rec in _all(world)[::9]:
            counts = [
                world.spotify_play_count(rec, DAY + datetime.timedelta(days=n)) for n in range(365)
            ]
            assert all(b > a for a, b in itertools.pairwise(counts))

    def test_youtube_view_counts_strictly_increase_day_to_day(self, world: SampleWorld) -> None:
        for rec in [r for r in _all(world) if r.youtube_video_id][::9]:
            views = [
                world.youtube_view_count(rec, DAY + datetime.timedelta(days=n)) for n in range(365)
            ]
            assert all(b > a for a, b in itertools.pairwise(views))  # type: ignore[operator]

    @given(day=st_.days, genre=st_.genres, index=st.integers(0, 139))
    def test_any_day_counts_grow_and_playlists_keep_their_size(
        self, world: SampleWorld, day: datetime.date, genre: Genre, index: int
    ) -> None:
        rec = world.recordings(genre)[index]
        tomorrow = day + datetime.timedelta(days=1)
        assert world.spotify_play_count(rec, tomorrow) > world.spotify_play_count(rec, day) > 0
        assert [len(world.playlist(s, genre, day)) for s in Service] == [
            world.playlist_sizes[s] for s in Service
        ]

    def test_recording_without_video_has_no_view_count(self, world: SampleWorld) -> None:
        rec = next(r for r in _all(world) if r.youtube_video_id is None)
        assert world.youtube_view_count(rec, DAY) is None

    def test_counts_are_plausible_magnitudes(self, world: SampleWorld) -> None:
        plays = [world.spotify_play_count(rec, DAY) for rec in _all(world)]
        assert min(plays) > 100_000
        assert max(plays) < 10_000_000_000


def _soundcloud_artist(item: dict[str, object]) -> str:
    """The artist a client reads from a SoundCloud item (providers.md §2.3)."""
    publisher = item["publisher"]
    if isinstance(publisher, dict) and publisher.get("artist"):
        return str(publisher["artist"])
    title = str(item["title"])
    if " - " in title:
        return title.split(" - ", 1)[0]
    user = item["user"]
    assert isinstance(user, dict)
    return str(user["name"])


def _soundcloud_title(item: dict[str, object]) -> str:
    title = str(item["title"])
    publisher = item["publisher"]
    has_artist = isinstance(publisher, dict) and publisher.get("artist")
    return title.split(" - ", 1)[1] if " - " in title and not has_artist else title


class TestResolution:
    """Spotify search resolves exactly the listings the aggregate rule counts."""

    @pytest.mark.parametrize("genre", list(GENRES))
    def test_apple_listings_resolve_unless_unresolvable(
        self, world: SampleWorld, genre: Genre
    ) -> None:
        entry = CATALOG.entry(Service.APPLE_MUSIC, genre)
        url = f"https://apple-music24.p.rapidapi.com/playlist1/?url={entry.url}"
        details = json.loads(_get(world, url).body)["album_details"]
        for rec, item in zip(
            world.playlist(Service.APPLE_MUSIC, genre, DAY), details.values(), strict=True
        ):
            artist = html.unescape(item["artist"])
            for query in (f"track:{item['name']} artist:{artist}", f"{item['name']} {artist}"):
                found = [r.isrc for r in world.search_spotify(query)]
                resolvable = rec.on_spotify and not rec.apple_unresolvable
                assert found[:1] == ([rec.isrc] if resolvable else []), query

    def test_unresolvable_recordings_are_found_by_their_spotify_names(
        self, world: SampleWorld
    ) -> None:
        for rec in [r for r in _all(world) if r.apple_unresolvable]:
            assert world.search_spotify(f"track:{rec.title} artist:{rec.artists[0]}")[0] is rec

    @pytest.mark.parametrize("genre", list(GENRES))
    def test_soundcloud_listings_resolve_by_isrc_or_search(
        self, world: SampleWorld, genre: Genre
    ) -> None:
        entry = CATALOG.entry(Service.SOUNDCLOUD, genre)
        base = f"https://soundcloud-scraper.p.rapidapi.com/v1/playlist/tracks?playlist={entry.url}"
        items = [
            *json.loads(_get(world, base).body)["tracks"]["items"],
            *json.loads(_get(world, f"{base}&offset=50").body)["tracks"]["items"],
        ]
        for rec, item in zip(world.playlist(Service.SOUNDCLOUD, genre, DAY), items, strict=True):
            publisher = item["publisher"]
            isrc = publisher.get("isrc") if publisher else None
            assert (isrc is not None) is rec.soundcloud_isrc
            found = world.search_spotify(f"{_soundcloud_title(item)} {_soundcloud_artist(item)}")
            assert found[:1] == ([rec] if rec.on_spotify else [])

    def test_recordings_missing_from_spotify_are_never_found(self, world: SampleWorld) -> None:
        for rec in [r for r in _all(world) if not r.on_spotify]:
            assert world.search_spotify(f"isrc:{rec.isrc}") == []
            assert world.search_spotify(f"{rec.title} {rec.artists[0]}") == []

    def test_search_ignores_case_brackets_and_entities(self, world: SampleWorld) -> None:
        rec = next(r for r in _all(world) if "(feat. " in r.title and r.on_spotify)
        bare = rec.title.split(" (")[0].upper()
        assert world.search_spotify(f"track:{bare} artist:{rec.artists[0].lower()}")[0] is rec
        duo = next(
            r for r in _all(world) if len(r.artists) == 2 and "(" not in r.title and r.on_spotify
        )
        credit = html.escape(" & ".join(duo.artists))
        assert world.search_spotify(f"{duo.title} {credit}")[0] is duo

    def test_unknown_text_finds_nothing(self, world: SampleWorld) -> None:
        assert world.search_spotify("track:Completely Unknown Song artist:Nobody") == []
        assert world.search_spotify("zzzz qqqq") == []


class TestExports:
    """The package's public names are unique and importable."""

    def test_all_names_exist_once(self) -> None:
        import tunemeld.services.sandbox as sandbox

        assert len(set(sandbox.__all__)) == len(sandbox.__all__)
        assert all(hasattr(sandbox, name) for name in sandbox.__all__)


def _world_with(tmp_path: Path, names: list[str], seed: int = 2026) -> SampleWorld:
    return SampleWorld(seed, load_catalog(catalog_adding(tmp_path / "catalog.toml", names)))


class TestAnyGenre:
    """The world invents a deterministic pool for any genre a catalog names."""

    def test_added_genre_has_a_full_pool_and_the_built_in_genres_keep_theirs(
        self, world: SampleWorld, tmp_path: Path
    ) -> None:
        wider = _world_with(tmp_path, ["latin", "k-pop"])
        for genre in GENRES:
            assert wider.recordings(genre) == world.recordings(genre)
        for name in ("latin", "k-pop"):
            assert 140 <= len(wider.recordings(Genre(name))) <= 180
            for service, size in world.playlist_sizes.items():
                assert len(wider.playlist(service, Genre(name), DAY)) == size

    def test_added_genre_pool_is_a_pure_function_of_seed_and_name(self, tmp_path: Path) -> None:
        first = _world_with(tmp_path, ["latin"]).recordings(Genre("latin"))
        again = _world_with(tmp_path, ["latin"]).recordings(Genre("latin"))
        other_seed = _world_with(tmp_path, ["latin"], seed=7).recordings(Genre("latin"))
        assert first == again
        assert [r.isrc for r in first] != [r.isrc for r in other_seed]

    def test_many_genres_get_unique_isrcs_and_titles(self, tmp_path: Path) -> None:
        names = [f"genre-{n}" for n in range(12)]
        wider = _world_with(tmp_path, names)
        pools = [wider.recordings(Genre(name)) for name in (*GENRES, *names)]
        everything = [rec for pool in pools for rec in pool]
        assert len({rec.isrc for rec in everything}) == len(everything)
        assert len({rec.title for rec in everything if "(" not in rec.title}) == len(
            [rec for rec in everything if "(" not in rec.title]
        )
        assert all(len(pool) >= 140 for pool in pools)

    def test_crowded_vocabulary_numbers_names_instead_of_drawing_forever(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With few draws allowed before numbering, names still come out unique."""
        monkeypatch.setattr(_pool, "_MAX_MISSES", 1)
        pools = _pool.build_pool(2026, [Genre("pop"), Genre("latin")])
        everything = [rec for pool in pools.values() for rec in pool]
        numbered = [rec for rec in everything if " Pt. " in rec.title]
        assert numbered
        titles = [rec.title for rec in everything if "(" not in rec.title]
        assert len(set(titles)) == len(titles)
