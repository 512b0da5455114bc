"""YouTube Data API v3: find a track's video (search.list) and read view counts (videos.list).

Search is the scarce call (a small daily bucket), so callers cache what it finds (§3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tunemeld.services.http import HttpClient
from tunemeld.services.providers._payload import Reader, unescape

__all__ = [
    "BATCH_SIZE",
    "PROVIDER",
    "SEARCH_URL",
    "VIDEOS_URL",
    "YouTubeClient",
    "parse_search",
    "parse_videos",
]

PROVIDER = "YouTube"
SEARCH_URL = "https://www.googleapis.com/youtube/v3/search"
VIDEOS_URL = "https://www.googleapis.com/youtube/v3/videos"
BATCH_SIZE = 50
SEARCH_RESULTS = 5


def _accepts(video_title: str, title: str, artist: str) -> bool:
    """True when the video's title names the track or one of its comma-separated artists."""
    haystack = video_title.casefold()
    needles = [title, *artist.split(",")]
    return any(n.strip() and n.strip().casefold() in haystack for n in needles)


def parse_search(payload: object, title: str, artist: str) -> str | None:
    """The id of the first result whose title names the track or an artist, or None."""
    reader = Reader(PROVIDER, "search")
    body = reader.mapping(payload, "response")
    items = reader.array(body.get("items", []), "items")
    for i, value in enumerate(items):
        path = f"items[{i}]"
        item = reader.mapping(value, path)
        ident = reader.mapping(item.get("id"), f"{path}.id")
        video_id = reader.optional_text(ident.get("videoId"), f"{path}.id.videoId")
        if video_id is None:  # a channel or playlist result
            continue
        snippet = reader.mapping(item.get("snippet"), f"{path}.snippet")
        video_title = unescape(
            reader.text(snippet.get("title"), f"{path}.snippet.title", empty=True)
        )
        if _accepts(video_title, title, artist):
            return video_id
    return None


def parse_videos(payload: object) -> dict[str, int]:
    """video id -> view count (sent as a JSON string) for each item of a videos.list answer."""
    reader = Reader(PROVIDER, "videos")
    body = reader.mapping(payload, "response")
    items = reader.array(body.get("items", []), "items")
    counts: dict[str, int] = {}
    for i, value in enumerate(items):
        path = f"items[{i}]"
        item = reader.mapping(value, path)
        video_id = reader.text(item.get("id"), f"{path}.id")
        statistics = reader.mapping(item.get("statistics"), f"{path}.statistics")
        counts[video_id] = reader.count(statistics.get("viewCount"), f"{path}.statistics.viewCount")
    return counts


class YouTubeClient:
    """Searches videos and reads view counts with an API key (sent as the `key` query parameter)."""

    provider = PROVIDER

    def __init__(
        self, http: HttpClient, *, api_key: str, costs: Mapping[tuple[str, str], int]
    ) -> None:
        self.http = http
        self._api_key = api_key
        self._costs = costs

    def _units(self, endpoint: str) -> int:
        return self._costs.get((PROVIDER, endpoint), 0)

    def search_video(self, title: str, artist: str) -> str | None:
        """The video id of the track's first plausible search result, or None."""
        payload = self.http.get_json(
            "search",
            SEARCH_URL,
            params={
                "part": "snippet",
                "q": f'"{title}" "{artist}"',
                "type": "video",
                "maxResults": SEARCH_RESULTS,
                "key": self._api_key,
            },
            units=self._units("search"),
        )
        return parse_search(payload, title, artist)

    def view_counts(self, video_ids: Sequence[str]) -> dict[str, int]:
        """View counts of the given videos, 50 ids a call; unknown or private ids are absent."""
        unique = list(dict.fromkeys(v for v in video_ids if v))
        counts: dict[str, int] = {}
        for start in range(0, len(unique), BATCH_SIZE):
            batch = unique[start : start + BATCH_SIZE]
            payload = self.http.get_json(
                "videos",
                VIDEOS_URL,
                params={"part": "statistics", "id": ",".join(batch), "key": self._api_key},
                units=self._units("videos"),
            )
            wanted = set(batch)
            counts.update((k, v) for k, v in parse_videos(payload).items() if k in wanted)
        return counts
