"""One sandbox exchange: the request and response types, and the answer helpers endpoints share.

Transport-independent: both `SandboxAdapter` and the HTTP simulator build a `SandboxRequest`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tunemeld.services.sandbox._pool import Recording
    from tunemeld.services.sandbox.world import SampleWorld

__all__ = [
    "Call",
    "Endpoint",
    "EndpointModule",
    "JsonObject",
    "PlaylistEndpointModule",
    "SandboxRequest",
    "SandboxResponse",
    "html_answer",
    "int_param",
    "json_answer",
    "rapidapi",
]

JsonObject = dict[str, object]

_RAPIDAPI_KEY_MESSAGE = "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."


@dataclass(frozen=True)
class SandboxRequest:
    """An HTTP request as the sample world sees it: method, full URL with query, headers, body."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class SandboxResponse:
    """The sample world's answer: status, headers and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def reason(self) -> str:
        """The standard reason phrase for the status (`OK`, `Not Found`...)."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"

    def json(self) -> object:
        """The body parsed as JSON (for tests and tools)."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Call:
    """A parsed request: lower-case host and headers, path without trailing slash, first values."""

    method: str
    url: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    as_of: datetime.date


Endpoint = Callable[["SampleWorld", Call], SandboxResponse]
"""What answers one host's requests: a function of the world and the parsed call."""


class EndpointModule(Protocol):
    """A provider's sandbox module (`sandbox/spotify.py`): its hosts and their endpoint names."""

    HOSTS: Mapping[str, Endpoint]
    """The hosts the module answers for, and the endpoint answering each."""

    def endpoint_name(self, host: str, path: str) -> str:
        """The client ledger's name of the endpoint a request to one of `HOSTS` calls."""
        ...


class PlaylistEndpointModule(EndpointModule, Protocol):
    """A playlist service's sandbox module: also says which recordings its playlists may list."""

    def carries(self, rec: Recording) -> bool:
        """Whether the service has the recording (only those enter its sample playlists)."""
        ...


def json_answer(status: int, payload: object) -> SandboxResponse:
    """A compact UTF-8 JSON answer, as the providers send them."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return SandboxResponse(status, {"Content-Type": "application/json; charset=utf-8"}, body)


def html_answer(status: int, text: str) -> SandboxResponse:
    return SandboxResponse(status, {"Content-Type": "text/html; charset=utf-8"}, text.encode())


def int_param(query: Mapping[str, str], name: str, default: int) -> int | None:
    """An integer query parameter, the default when absent, None when not an integer."""
    raw = query.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def rapidapi(path: str, handler: Endpoint) -> Endpoint:
    """A scraper's host behind RapidAPI's gateway: key check, its one path, GET only."""

    def gateway(world: SampleWorld, call: Call) -> SandboxResponse:
        if not call.headers.get("x-rapidapi-key", "").strip():
            return json_answer(401, {"message": _RAPIDAPI_KEY_MESSAGE})
        if call.path != path:
            return json_answer(404, {"message": f"Endpoint '{call.path}' does not exist"})
        if call.method != "GET":
            return json_answer(405, {"message": f"Method {call.method} not allowed"})
        return handler(world, call)

    return gateway
