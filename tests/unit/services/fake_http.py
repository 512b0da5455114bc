"""A requests transport adapter for unit tests: canned replies, every request recorded, no sockets.

Mounted with `build_session(adapter)`, exactly like the offline sample world, so clients are
tested through the real HttpClient (timeouts, retries, ledger) without touching the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tunemeld.config import ProvidersSettings
from tunemeld.services.http import CallLedger, HttpClient, build_session

FIXTURES = Path(__file__).parents[2] / "fixtures"


def fixture_json(service: str, name: str) -> object:
    """A provider payload from tests/fixtures/<service>/<name>.json."""
    return json.loads((FIXTURES / service / f"{name}.json").read_text("utf-8"))


def fixture_text(service: str, name: str) -> str:
    """A saved page from tests/fixtures/<service>/<name>."""
    return (FIXTURES / service / name).read_text("utf-8")


@dataclass
class Reply:
    """One canned answer; `body` is JSON-encoded unless it is already str or bytes."""

    body: object = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


Answer = Reply | BaseException
Handler = Callable[[requests.PreparedRequest], Answer]


class FakeAdapter(BaseAdapter):
    """Answers from a queue of replies (or per `host/path` queues) and records every request.

    A BaseException in a queue is raised instead of answering (ConnectionError, Timeout, ...);
    the last reply of a route repeats, an exhausted plain queue fails the test.
    """

    def __init__(
        self,
        *replies: Answer,
        routes: Mapping[str, list[Answer]] | None = None,
        handler: Handler | None = None,
    ) -> None:
        super().__init__()
        self.replies = list(replies)
        self.routes = {key: list(value) for key, value in (routes or {}).items()}
        self.handler = handler
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[object] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: object = None,
    ) -> requests.Response:
        self.requests.append(request)
        self.timeouts.append(timeout)
        answer = self._next(request)
        if isinstance(answer, BaseException):
            raise answer
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.content()
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if answer.status < 400 else "Error"
        return response

    def close(self) -> None:
        pass

    def _next(self, request: requests.PreparedRequest) -> Answer:
        if self.handler is not None:
            return self.handler(request)
        parts = urlsplit(request.url or "")
        key = f"{parts.netloc}{parts.path}"
        if self.routes:
            queue = self.routes.get(key)
            assert queue, f"unexpected request to {key}"
            return queue.pop(0) if len(queue) > 1 else queue[0]
        assert self.replies, f"unexpected request to {key}: no replies left"
        return self.replies.pop(0)

    def params(self, index: int = -1) -> dict[str, str]:
        """The query parameters of one recorded request (last by default), one value each."""
        query = urlsplit(self.requests[index].url or "").query
        return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def paths(self) -> list[str]:
        """`host/path` of every recorded request, in order."""
        return [
            f"{urlsplit(r.url or '').netloc}{urlsplit(r.url or '').path}" for r in self.requests
        ]


def quick_settings(**overrides: object) -> ProvidersSettings:
    """Provider settings without waits, for tests (sleep is injected anyway)."""
    values: dict[str, object] = {
        "mode": "sample",
        "backoff_initial": 0.0,
        "backoff_max": 0.0,
        "max_attempts": 4,
    }
    values.update(overrides)
    return ProvidersSettings.model_validate(values)


def make_http(
    adapter: FakeAdapter,
    provider: str = "Spotify",
    *,
    settings: ProvidersSettings | None = None,
    ledger: CallLedger | None = None,
    sleeps: list[float] | None = None,
) -> HttpClient:
    """An HttpClient on the fake adapter; the waits it would sleep are appended to `sleeps`."""
    recorded = sleeps if sleeps is not None else []
    return HttpClient(
        provider,
        build_session(adapter),
        settings or quick_settings(),
        ledger or CallLedger(),
        sleep=recorded.append,
    )
