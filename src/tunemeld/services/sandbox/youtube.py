"""YouTube's fake endpoints: the Data API v3 `search` and `videos` lists (providers.md §3).

Google's error envelope answers a missing or empty key, an unknown path and a bad parameter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from tunemeld.services.sandbox._pool import Video
from tunemeld.services.sandbox.exchange import (
    Call,
    Endpoint,
    JsonObject,
    SandboxResponse,
    int_param,
    json_answer,
)

if TYPE_CHECKING:
    from tunemeld.services.sandbox.world import SampleWorld

__all__ = ["HOSTS", "endpoint_name"]

_MAX_IDS = 50


def _etag(*parts: object) -> str:
    """A stable opaque ETag-like string for a response (YouTube puts one on every resource)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:27]


def _thumbnails(video_id: str) -> JsonObject:
    base = f"https://i.ytimg.com/vi/{video_id}"
    return {
        "default": {"url": f"{base}/default.jpg", "width": 120, "height": 90},
        "medium": {"url": f"{base}/mqdefault.jpg", "width": 320, "height": 180},
        "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360},
    }


def _snippet(video: Video) -> JsonObject:
    return {
        "publishedAt": video.published_at,
        "channelId": video.channel_id,
        "title": video.title,
        "description": video.description,
        "thumbnails": _thumbnails(video.video_id),
        "channelTitle": video.channel_title,
        "liveBroadcastContent": "none",
        "publishTime": video.published_at,
    }


def _search_item(video: Video) -> JsonObject:
    """One `youtube#searchResult` (§3.1)."""
    return {
        "kind": "youtube#searchResult",
        "etag": _etag("search-item", video.video_id),
        "id": {"kind": "youtube#video", "videoId": video.video_id},
        "snippet": _snippet(video),
    }


def _video_item(video: Video, views: int, parts: Sequence[str]) -> JsonObject:
    """One `youtube#video` of videos.list (§3.2); counts are JSON strings as YouTube sends them."""
    item: JsonObject = {
        "kind": "youtube#video",
        "etag": _etag("video", video.video_id, views),
        "id": video.video_id,
    }
    if "snippet" in parts:
        item["snippet"] = _snippet(video)
    if "statistics" in parts:
        item["statistics"] = {
            "viewCount": str(views),
            "likeCount": str(views // 85),
            "favoriteCount": "0",
            "commentCount": str(views // 4100),
        }
    return item


_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}


def _error(code: int, message: str, reason: str, domain: str = "global") -> SandboxResponse:
    """A Google API error answer, in its envelope (§3.3)."""
    errors = [{"message": message, "domain": domain, "reason": reason}]
    status = _GOOGLE_STATUS.get(code, "UNKNOWN")
    body = {"error": {"code": code, "message": message, "errors": errors, "status": status}}
    return json_answer(code, body)


def _data_api(world: SampleWorld, call: Call) -> SandboxResponse:
    if "key" not in call.query:
        return _error(403, "The request is missing a valid API key.", "forbidden")
    if not call.query["key"].strip():
        return _error(
            400, "API key not valid. Please pass a valid API key.", "keyInvalid", "global"
        )
    routes = {"/youtube/v3/search": _search, "/youtube/v3/videos": _videos}
    handler = routes.get(call.path)
    if handler is None:
        return _error(404, "Not Found", "notFound")
    if call.method != "GET":
        return _error(405, "Method not allowed", "methodNotAllowed")
    if not call.query.get("part", "").strip():
        return _error(400, "Required parameter: part", "required", "global")
    return handler(world, call)


def _search(world: SampleWorld, call: Call) -> SandboxResponse:
    limit = int_param(call.query, "maxResults", 5)
    if limit is None or not 0 <= limit <= 50:
        return _error(
            400,
            "Invalid value for maxResults: must be between 0 and 50.",
            "invalidParameter",
        )
    query = call.query.get("q", "")
    videos = world.search_youtube(query)[:limit]
    return json_answer(
        200,
        {
            "kind": "youtube#searchListResponse",
            "etag": _etag("search", query, limit),
            "nextPageToken": "CAUQAA",
            "regionCode": "US",
            "pageInfo": {"totalResults": 1000 + len(query) * 37, "resultsPerPage": limit},
            "items": [_search_item(video) for video in videos],
        },
    )


def _videos(world: SampleWorld, call: Call) -> SandboxResponse:
    raw_ids = call.query.get("id")
    if raw_ids is None:
        return _error(
            400,
            "No filter selected. Expected one of: id, chart, myRated.",
            "missingRequiredParameter",
            "youtube.parameter",
        )
    ids = list(dict.fromkeys(i.strip() for i in raw_ids.split(",") if i.strip()))
    if len(ids) > _MAX_IDS:
        return _error(
            400,
            f"The request names {len(ids)} video ids; the maximum is {_MAX_IDS}.",
            "invalidFilters",
            "youtube.parameter",
        )
    parts = [p.strip() for p in call.query["part"].split(",")]
    items = []
    for video_id in ids:
        video = world.video(video_id)
        if video is not None:
            views = world.video_view_count(video, call.as_of)
            items.append(_video_item(video, views, parts))
    return json_answer(
        200,
        {
            "kind": "youtube#videoListResponse",
            "etag": _etag("videos", ",".join(ids), call.as_of.isoformat()),
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        },
    )


HOSTS: Mapping[str, Endpoint] = {
    "www.googleapis.com": _data_api,
    "youtube.googleapis.com": _data_api,
}


def endpoint_name(host: str, path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or "?"
