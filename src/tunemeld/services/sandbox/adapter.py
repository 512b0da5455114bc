"""A requests transport adapter that sends every call to the sample world instead of the network.

Mounted on a session, it lets the real provider clients, retries and ledger run unchanged offline.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse

from tunemeld.services.sandbox.exchange import SandboxRequest
from tunemeld.services.sandbox.world import SampleWorld

__all__ = ["SandboxAdapter"]


class SandboxAdapter(BaseAdapter):
    """Answer requests from a `SampleWorld` as it stands on one date; never opens a socket."""

    def __init__(self, world: SampleWorld, as_of: datetime.date) -> None:
        super().__init__()
        self.world = world
        self.as_of = as_of

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Pass the prepared request to the world and wrap its answer in a real Response."""
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        url = request.url or ""
        host = request.headers.get("Host")
        if host:  # providers.base_url moved the request: the Host header names the original
            parts = urlsplit(url)
            url = urlunsplit(("https", host, parts.path, parts.query, ""))
        answer = self.world.handle(
            SandboxRequest(
                method=request.method or "GET",
                url=url,
                headers=dict(request.headers),
                body=body,
            ),
            self.as_of,
        )
        response = Response()
        response.status_code = answer.status
        response.reason = answer.reason
        response.headers = CaseInsensitiveDict(answer.headers)
        response.headers["Content-Length"] = str(len(answer.body))
        response.raw = HTTPResponse(
            body=io.BytesIO(answer.body),
            headers=dict(response.headers),
            status=answer.status,
            reason=answer.reason,
            preload_content=False,
            decode_content=False,
        )
        response._content = answer.body
        response._content_consumed = True  # type: ignore[attr-defined]
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release: no connections are ever opened."""
