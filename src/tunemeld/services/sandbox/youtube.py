"""YouTube's fake endpoints: the Data API v3 `search` and `videos` lists.

Answers from the `SampleWorld` in the shapes of reference/providers.md (§3), with Google's
error envelope for a missing or empty key, an unknown path and a bad parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tunemeld.services.sandbox import _render
from tunemeld.services.sandbox.exchange import (
    Call,
    Endpoint,
    SandboxResponse,
    int_param,
    json_answer,
)

if TYPE_CHECKING:
    from tunemeld.services.sandbox.world import SampleWorld

__all__ = ["HOSTS", "endpoint_name"]

_MAX_IDS = 50


def _data_api(world: SampleWorld, call: Call) -> SandboxResponse:
    if "key" not in call.query:
        return json_answer(
            403,
            _render.youtube_error(403, "The request is missing a valid API key.", "forbidden"),
        )
    if not call.query["key"].strip():
        return json_answer(
            400,
            _render.youtube_error(
                400, "API key not valid. Please pass a valid API key.", "keyInvalid", "global"
            ),
        )
    routes = {"/youtube/v3/search": _search, "/youtube/v3/videos": _videos}
    handler = routes.get(call.path)
    if handler is None:
        return json_answer(404, _render.youtube_error(404, "Not Found", "notFound"))
    if call.method != "GET":
        return json_answer(
            405, _render.youtube_error(405, "Method not allowed", "methodNotAllowed")
        )
    if not call.query.get("part", "").strip():
        return json_answer(
            400,
            _render.youtube_error(400, "Required parameter: part", "required", "global"),
        )
    return handler(world, call)


def _search(world: SampleWorld, call: Call) -> SandboxResponse:
    limit = int_param(call.query, "maxResults", 5)
    if limit is None or not 0 <= limit <= 50:
        return json_answer(
            400,
            _render.youtube_error(
                400,
                "Invalid value for maxResults: must be between 0 and 50.",
                "invalidParameter",
            ),
        )
    query = call.query.get("q", "")
    videos = world.search_youtube(query)[:limit]
    return json_answer(
        200,
        {
            "kind": "youtube#searchListResponse",
            "etag": _render.etag("search", query, limit),
            "nextPageToken": "CAUQAA",
            "regionCode": "US",
            "pageInfo": {"totalResults": 1000 + len(query) * 37, "resultsPerPage": limit},
            "items": [_render.youtube_search_item(video) for video in videos],
        },
    )


def _videos(world: SampleWorld, call: Call) -> SandboxResponse:
    raw_ids = call.query.get("id")
    if raw_ids is None:
        return json_answer(
            400,
            _render.youtube_error(
                400,
                "No filter selected. Expected one of: id, chart, myRated.",
                "missingRequiredParameter",
                "youtube.parameter",
            ),
        )
    ids = list(dict.fromkeys(i.strip() for i in raw_ids.split(",") if i.strip()))
    if len(ids) > _MAX_IDS:
        return json_answer(
            400,
            _render.youtube_error(
                400,
                f"The request names {len(ids)} video ids; the maximum is {_MAX_IDS}.",
                "invalidFilters",
                "youtube.parameter",
            ),
        )
    parts = [p.strip() for p in call.query["part"].split(",")]
    items = []
    for video_id in ids:
        video = world.video(video_id)
        if video is not None:
            views = world.video_view_count(video, call.as_of)
            items.append(_render.youtube_video_item(video, views, parts))
    return json_answer(
        200,
        {
            "kind": "youtube#videoListResponse",
            "etag": _render.etag("videos", ",".join(ids), call.as_of.isoformat()),
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        },
    )


HOSTS: Mapping[str, Endpoint] = {
    "www.googleapis.com": _data_api,
    "youtube.googleapis.com": _data_api,
}
"""The hosts this module answers for, and the endpoint of each."""


def endpoint_name(host: str, path: str) -> str:
    """The client ledger's name for a request's endpoint: the Data API list (`search`, `videos`)."""
    return path.rstrip("/").rsplit("/", 1)[-1] or "?"
