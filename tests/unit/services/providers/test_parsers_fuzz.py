"""Every provider parser, fed arbitrary JSON and mutated fixtures: only the typed error escapes.

The typed error is ProviderPayloadError, naming the provider,
the endpoint and what was wrong; drift (renamed or removed fields) is one of the mutations.

When a parser does return, its output must be valid (ranks 1..n, counts non-negative, ...).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.services.fake_http import fixture_json, fixture_text
from tunemeld.config import CatalogEntry
from tunemeld.exceptions import ProviderPayloadError
from tunemeld.models import ISRC_PATTERN, Genre, PlaylistMeta, RawTrack, Service
from tunemeld.services.providers import apple_music, soundcloud, spotify, youtube

KEYS = [
    "items", "track", "id", "name", "artists", "album", "images", "url", "external_ids", "isrc",
    "external_urls", "spotify", "next", "tracks", "album_details", "0", "1", "2", "artist",
    "link", "nextOffset", "title", "publisher", "user", "permalink", "artworkUrl", "status",
    "snippet", "videoId", "statistics", "viewCount", "access_token", "expires_in", "result",
    "streams", "errorId",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16)
    | st.sampled_from(["USUM72401994", "usum7-24-01994", "12", "-1", "٣", "https://x.test/?i=5"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw: st.DrawFn, value: object) -> object:
    """A copy of `value` with some nodes replaced by arbitrary JSON, keys dropped or renamed
    (the simulator's `drift`), and items dropped."""

    def key(name: str) -> str:
        return name + "_v2" if draw(st.integers(0, 19)) == 0 else name

    def walk(node: object) -> object:
        if draw(st.integers(0, 24)) == 0:
            return draw(json_values)
        if isinstance(node, dict):
            return {key(k): walk(v) for k, v in node.items() if draw(st.integers(0, 19)) != 0}
        if isinstance(node, list):
            return [walk(v) for v in node if draw(st.integers(0, 19)) != 0]
        return node

    return walk(copy.deepcopy(value))


def attempt(parse: Callable[[], object]) -> object | None:
    """The parser's result, or None when it raised ProviderPayloadError (anything else fails)."""
    try:
        return parse()
    except ProviderPayloadError as exc:
        error = exc
    assert error.provider in {"Spotify", "AppleMusic", "SoundCloud", "YouTube"}
    assert error.endpoint
    assert error.problem
    assert error.hint
    return None


def check_ranked(tracks: object, service: Service, first: int = 1) -> None:
    assert isinstance(tracks, list)
    assert all(isinstance(t, RawTrack) and t.service is service for t in tracks)
    assert [t.rank for t in tracks] == list(range(first, first + len(tracks)))
    for track in tracks:
        assert track.title
        assert track.isrc is None or ISRC_PATTERN.fullmatch(track.isrc)


def check_spotify_page(payload: object) -> None:
    result = attempt(lambda: spotify.parse_playlist_tracks(payload, first_rank=3))
    if result is not None:
        assert isinstance(result, tuple)
        tracks, has_next = result
        check_ranked(tracks, Service.SPOTIFY, first=3)
        assert isinstance(has_next, bool)


def check_spotify_search(payload: object) -> None:
    match = attempt(lambda: spotify.parse_search(payload))
    if match is not None:
        assert isinstance(match, spotify.SpotifyMatch)
        assert match.track_id
        assert match.title
        assert match.url
        assert match.isrc is None or ISRC_PATTERN.fullmatch(match.isrc)


def check_spotify_small(payload: object) -> None:
    token = attempt(lambda: spotify.parse_token(payload))
    if token is not None:
        assert isinstance(token, tuple)
        assert isinstance(token[0], str)
        assert token[0]
        assert isinstance(token[1], int)
        assert token[1] >= 0
    count = attempt(lambda: spotify.parse_play_count(payload))
    if count is not None:
        assert type(count) is int
        assert count >= 0


def check_apple(payload: object) -> None:
    tracks = attempt(lambda: apple_music.parse_playlist(payload))
    if tracks is not None:
        assert isinstance(tracks, list)
        assert all(isinstance(t, RawTrack) and t.service is Service.APPLE_MUSIC for t in tracks)
        ranks = [t.rank for t in tracks]
        assert ranks == sorted(ranks)
        assert all(t.isrc is None and t.title for t in tracks)


def check_soundcloud(payload: object) -> None:
    result = attempt(lambda: soundcloud.parse_playlist_tracks(payload))
    if result is not None:
        assert isinstance(result, tuple)
        tracks, next_offset = result
        check_ranked(tracks, Service.SOUNDCLOUD)
        assert next_offset is None or (isinstance(next_offset, int) and next_offset >= 0)


def check_youtube(payload: object, title: str = "Espresso", artist: str = "Sabrina") -> None:
    video_id = attempt(lambda: youtube.parse_search(payload, title, artist))
    assert video_id is None or (isinstance(video_id, str) and video_id)
    counts = attempt(lambda: youtube.parse_videos(payload))
    if counts is not None:
        assert isinstance(counts, dict)
        assert all(isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in counts.items())


def check_all(payload: object) -> None:
    check_spotify_page(payload)
    check_spotify_search(payload)
    check_spotify_small(payload)
    check_apple(payload)
    check_soundcloud(payload)
    check_youtube(payload)


class TestArbitraryJson:
    """Any JSON value at all."""

    @FUZZ
    @given(json_values)
    def test_every_parser_when_fed_arbitrary_json_raises_only_payload_error(
        self, payload: object
    ) -> None:
        check_all(payload)

    @FUZZ
    @given(json_values, st.text(max_size=12), st.text(max_size=12))
    def test_youtube_search_when_names_are_arbitrary_raises_only_payload_error(
        self, payload: object, title: str, artist: str
    ) -> None:
        check_youtube({"items": [payload]}, title, artist)


class TestMutatedFixtures:
    """The documented fixtures with parts replaced or removed."""

    @FUZZ
    @given(
        st.sampled_from(["playlist_tracks_page1", "playlist_tracks_page2"]).flatmap(
            lambda name: mutated(fixture_json("spotify", name))
        )
    )
    def test_spotify_playlist_parser_when_fixture_is_mutated(self, payload: object) -> None:
        check_spotify_page(payload)

    @FUZZ
    @given(
        st.sampled_from(["search", "token", "play_count"]).flatmap(
            lambda name: mutated(fixture_json("spotify", name))
        )
    )
    def test_spotify_small_parsers_when_fixture_is_mutated(self, payload: object) -> None:
        check_spotify_search(payload)
        check_spotify_small(payload)

    @FUZZ
    @given(mutated(fixture_json("apple_music", "playlist1")))
    def test_apple_music_parser_when_fixture_is_mutated(self, payload: object) -> None:
        check_apple(payload)

    @FUZZ
    @given(
        st.sampled_from(["playlist_tracks_page1", "playlist_tracks_page2"]).flatmap(
            lambda name: mutated(fixture_json("soundcloud", name))
        )
    )
    def test_soundcloud_parser_when_fixture_is_mutated(self, payload: object) -> None:
        check_soundcloud(payload)

    @FUZZ
    @given(
        st.sampled_from(["search", "videos"]).flatmap(
            lambda name: mutated(fixture_json("youtube", name))
        )
    )
    def test_youtube_parsers_when_fixture_is_mutated(self, payload: object) -> None:
        check_youtube(payload)


ENTRIES = {
    "spotify": (
        spotify.parse_meta,
        CatalogEntry(Service.SPOTIFY, Genre("pop"), "pid", "https://open.spotify.com/playlist/pid"),
    ),
    "apple_music": (
        apple_music.parse_meta,
        CatalogEntry(Service.APPLE_MUSIC, Genre("pop"), "pl.x", "https://music.apple.com/p/pl.x"),
    ),
    "soundcloud": (
        soundcloud.parse_meta,
        CatalogEntry(
            Service.SOUNDCLOUD, Genre("pop"), "u/sets/s", "https://soundcloud.com/u/sets/s"
        ),
    ),
}
FRAGMENTS = st.sampled_from(
    ["<", ">", "</h1>", "<h1>", "<p data-testid='truncate-text'>", "</p>", "<![CDATA[", "<!--",
     '<meta property="og:title" content="', '"', "&amp;", "&#", "<script>", "\x00"]
) | st.text(max_size=6)  # fmt: skip


@st.composite
def mangled_pages(draw: st.DrawFn) -> tuple[str, str]:
    """A saved page with fragments spliced in at random places, or cut short."""
    service = draw(st.sampled_from(sorted(ENTRIES)))
    page = fixture_text(service, "playlist_page.html")
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(page)))
        page = page[:at] + draw(FRAGMENTS) + page[at:]
    if draw(st.booleans()):
        page = page[: draw(st.integers(0, len(page)))]
    return service, page


class TestPages:
    """The playlist-page parsers on broken HTML."""

    @FUZZ
    @given(st.sampled_from(sorted(ENTRIES)), st.lists(FRAGMENTS, max_size=30).map("".join))
    def test_meta_parsers_when_fed_arbitrary_markup_raise_only_payload_error(
        self, service: str, page: str
    ) -> None:
        parse, entry = ENTRIES[service]
        meta = attempt(lambda: parse(page, entry))
        if meta is not None:
            assert isinstance(meta, PlaylistMeta)
            assert meta.name.strip()
            assert meta.url == entry.url

    @FUZZ
    @given(mangled_pages())
    def test_meta_parsers_when_fixture_page_is_mangled_raise_only_payload_error(
        self, case: tuple[str, str]
    ) -> None:
        service, page = case
        parse, entry = ENTRIES[service]
        meta = attempt(lambda: parse(page, entry))
        assert meta is None or isinstance(meta, PlaylistMeta)
