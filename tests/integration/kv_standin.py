"""A local stand-in of the Cloudflare Workers KV REST API, on a real HTTP server (127.0.0.1).

It follows the documented shapes: Bearer auth, raw bytes for "read value", the JSON envelope
`{"success", "errors", "messages", "result"}` everywhere else, `expiration_ttl` >= 60, keys at
most 512 bytes, list with prefix / limit / cursor, bulk delete. `mode` switches it to answering
429 (with Retry-After), 500, slowly, or the auth error; `close()` makes it a dead port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import bottle

from tunemeld.api.server import RunningServer, start_background_server

ACCOUNT = "acc0123456789"
NAMESPACE = "ns0123456789"
TOKEN = "kv-token-standin-7f3e9a"


def _envelope(
    success: bool, result: object = None, errors: Iterable[tuple[int, str]] = (), **extra: object
) -> bytes:
    body = {
        "success": success,
        "errors": [{"code": code, "message": message} for code, message in errors],
        "messages": [],
        "result": result,
        **extra,
    }
    return json.dumps(body).encode()


class KVStandIn:
    """The stand-in's state (values, expirations, request log) and its bottle app."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.values: dict[str, bytes] = {}
        self.expirations: dict[str, int] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.authorizations: list[str] = []
        self.mode = "ok"  # ok | 429 | 500 | slow | auth
        self.slow_seconds = 1.0
        self.fail_next = 0  # answer this many requests with `fail_status`, then recover
        self.fail_status = 500
        self.clock = clock
        self._lock = threading.Lock()
        self.app = self._build()

    # -- helpers ----------------------------------------------------------------------------

    def _answer(self, status: int, body: bytes, content_type: str) -> bottle.HTTPResponse:
        return bottle.HTTPResponse(body=body, status=status, headers={"Content-Type": content_type})

    def _json(self, status: int, body: bytes) -> bottle.HTTPResponse:
        return self._answer(status, body, "application/json")

    def _gate(self) -> bottle.HTTPResponse | None:
        request = bottle.request
        with self._lock:
            self.requests.append(
                (request.method, request.path, dict(request.query.decode().allitems()))
            )
            self.authorizations.append(request.get_header("Authorization", ""))
            forced = self.fail_next > 0
            if forced:
                self.fail_next -= 1
        if request.get_header("Authorization") != f"Bearer {TOKEN}" or self.mode == "auth":
            return self._json(403, _envelope(False, errors=[(10000, "Authentication error")]))
        if forced:
            status = self.fail_status
        elif self.mode == "429":
            status = 429
        elif self.mode == "500":
            status = 500
        else:
            status = 0
        if status == 429:
            response = self._json(429, _envelope(False, errors=[(10013, "Too many requests")]))
            response.set_header("Retry-After", "0")
            return response
        if status >= 500:
            return self._json(status, _envelope(False, errors=[(10001, "Internal error")]))
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        return None

    def _live(self, key: str) -> bool:
        expires = self.expirations.get(key)
        if expires is not None and expires <= self.clock():
            self.values.pop(key, None)
            self.expirations.pop(key, None)
        return key in self.values

    # -- routes -----------------------------------------------------------------------------

    def _build(self) -> bottle.Bottle:
        app = bottle.Bottle()
        base = f"/client/v4/accounts/{ACCOUNT}/storage/kv/namespaces/{NAMESPACE}"
        value = base + r"/values/<key:re:[\s\S]+>"  # any character, newlines included
        app.route(value, "GET", self.read)
        app.route(value, "PUT", self.write)
        app.route(value, "DELETE", self.delete)
        app.route(base + "/keys", "GET", self.list_keys)
        app.route(base + "/bulk/delete", "POST", self.bulk_delete)
        return app

    def _key(self, raw: str) -> str | bottle.HTTPResponse:
        key = raw  # the server and bottle have already percent-decoded the path (as UTF-8)
        if len(key.encode()) > 512:
            return self._json(414, _envelope(False, errors=[(10025, "key too long")]))
        return key

    def read(self, key: str) -> Any:
        gate = self._gate()
        if gate is not None:
            return gate
        name = self._key(key)
        if isinstance(name, bottle.HTTPResponse):
            return name
        with self._lock:
            if not self._live(name):
                return self._json(404, _envelope(False, errors=[(10009, "key not found")]))
            return self._answer(200, self.values[name], "application/octet-stream")

    def write(self, key: str) -> Any:
        gate = self._gate()
        if gate is not None:
            return gate
        name = self._key(key)
        if isinstance(name, bottle.HTTPResponse):
            return name
        ttl_text = bottle.request.query.get("expiration_ttl")
        if ttl_text is not None and int(ttl_text) < 60:
            return self._json(
                400, _envelope(False, errors=[(10019, "expiration_ttl must be at least 60")])
            )
        body = bottle.request.body.read()
        with self._lock:
            self.values[name] = body
            if ttl_text is not None:
                self.expirations[name] = int(self.clock()) + int(ttl_text)
            else:
                self.expirations.pop(name, None)
        return self._json(200, _envelope(True, {}))

    def delete(self, key: str) -> Any:
        gate = self._gate()
        if gate is not None:
            return gate
        name = self._key(key)
        if isinstance(name, bottle.HTTPResponse):
            return name
        with self._lock:
            self.values.pop(name, None)
            self.expirations.pop(name, None)
        return self._json(200, _envelope(True, {}))

    def list_keys(self) -> Any:
        gate = self._gate()
        if gate is not None:
            return gate
        prefix = bottle.request.query.get("prefix", "")
        limit = int(bottle.request.query.get("limit", "1000"))
        cursor = int(bottle.request.query.get("cursor") or 0)
        with self._lock:
            names = sorted(k for k in list(self.values) if k.startswith(prefix) and self._live(k))
        page = names[cursor : cursor + limit]
        following = cursor + limit
        next_cursor = str(following) if following < len(names) else ""
        return self._json(
            200,
            _envelope(
                True,
                [{"name": name} for name in page],
                result_info={"count": len(page), "cursor": next_cursor},
            ),
        )

    def bulk_delete(self) -> Any:
        gate = self._gate()
        if gate is not None:
            return gate
        names = json.loads(bottle.request.body.read())
        with self._lock:
            for name in names:
                self.values.pop(name, None)
                self.expirations.pop(name, None)
        result = {"successful_key_count": len(names), "unsuccessful_keys": []}
        return self._json(200, _envelope(True, result))

    # -- serving ----------------------------------------------------------------------------

    def serve(self) -> RunningServer:
        """Start it on a free port of 127.0.0.1; close the returned server to stop it."""
        return start_background_server(self.app, "127.0.0.1", 0, threads=4)


def base_url(server: RunningServer) -> str:
    """The `cloudflare_base_url` setting that points at a running stand-in."""
    return f"{server.url}/client/v4"
