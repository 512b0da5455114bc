"""The sample world over real HTTP (bottle on waitress), with faults injected on purpose.

`TUNEMELD_PROVIDERS__BASE_URL` sends calls here with the original host in the `Host` header, so
it routes by host as the internet does (`/<host>/<path>` also works, for curl). Faults are drawn
from `(seed, request key, times that key was seen)`, never from time or arrival order, so the
same seed meets the same faults even with concurrent clients. Control routes (never faulted):
`/__stats` (GET; DELETE resets) and `/__date` (GET; `POST ?date=YYYY-MM-DD` sets the day).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import bottle
import structlog

from tunemeld.exceptions import ConfigError
from tunemeld.services.providers.registry import PROVIDERS
from tunemeld.services.sandbox.exchange import SandboxRequest, SandboxResponse
from tunemeld.services.sandbox.world import SampleWorld

if TYPE_CHECKING:
    from tunemeld.api.server import RunningServer

__all__ = [
    "FAULT_KINDS",
    "FaultPlan",
    "Latency",
    "Simulator",
    "SimulatorServer",
    "endpoint_label",
    "parse_duration",
    "start_simulator",
]

log = structlog.get_logger()

FAULT_KINDS = ("429", "500", "502", "503", "504", "timeout", "malformed", "truncated", "drift")
"""What `--faults` may name: an HTTP status, a hang, or a broken 200 body."""

_CONTROL = "/__"
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*$")
_DRIFT_SUFFIX = "_v2"


def endpoint_label(host: str, path: str) -> str:
    """`Provider endpoint` for a request, named like the client's ledger (`YouTube search`)."""
    for spec in PROVIDERS:
        if host in spec.sandbox.HOSTS:
            return f"{spec.name} {spec.sandbox.endpoint_name(host, path)}"
    return f"unknown {host}"


def parse_duration(text: str) -> float:
    """Seconds from `50ms`, `1.5s` or `2` (seconds); a ConfigError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ConfigError(
            f"{text!r} is not a duration.", hint="Use milliseconds or seconds: 50ms, 1.5s, 2."
        )
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


@dataclass(frozen=True)
class Latency:
    """Added delay per request: `mean` plus or minus up to `jitter` seconds, uniformly."""

    mean: float = 0.0
    jitter: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Latency:
        """`50ms±20ms`, `50ms+-20ms`, `50ms` or `0`."""
        if not text.strip():
            return cls()
        mean, _, jitter = text.replace("+-", "±").partition("±")
        return cls(parse_duration(mean), parse_duration(jitter) if jitter.strip() else 0.0)

    def draw(self, rng: random.Random) -> float:
        """One delay in seconds, never negative."""
        if self.jitter <= 0:
            return max(0.0, self.mean)
        return max(0.0, self.mean + rng.uniform(-self.jitter, self.jitter))

    def __str__(self) -> str:
        return f"{self.mean * 1000:.0f}ms±{self.jitter * 1000:.0f}ms"


@dataclass(frozen=True)
class FaultPlan:
    """Fault kinds and their rates (each 0..1, together at most 1), in `--faults` order."""

    rates: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """`429=0.1,500=0.05,timeout=0.02,...`; an empty text means no faults."""
        rates: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            kind, sep, raw = part.partition("=")
            kind = kind.strip().lower()
            if not sep or kind not in FAULT_KINDS:
                raise ConfigError(
                    f"--faults: {part!r} is not KIND=RATE with a known kind.",
                    hint=f"Kinds: {', '.join(FAULT_KINDS)}; e.g. 429=0.1,timeout=0.02.",
                )
            try:
                rate = float(raw)
            except ValueError:
                rate = -1.0
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(
                    f"--faults: the rate of {kind} must be a number from 0 to 1, not {raw!r}.",
                    hint="Rates are probabilities per request, e.g. 429=0.1.",
                )
            rates[kind] = rates.get(kind, 0.0) + rate
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ConfigError(
                f"--faults: the rates add up to {sum(rates.values()):.3f}, more than 1.",
                hint="Each request meets at most one fault; lower some rates.",
            )
        return cls(tuple(rates.items()))

    def pick(self, rng: random.Random) -> str | None:
        """The fault for one request (None: answer normally); one draw from `rng`."""
        roll = rng.random()
        edge = 0.0
        for kind, rate in self.rates:
            edge += rate
            if roll < edge:
                return kind
        return None

    def __str__(self) -> str:
        return ",".join(f"{kind}={rate:g}" for kind, rate in self.rates) or "none"


class _Stats:
    """Thread-safe counts: endpoint label -> outcome (status or fault) -> requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._seen: dict[str, int] = defaultdict(int)

    def next_index(self, key: str) -> int:
        """How many times `key` was requested before this request."""
        with self._lock:
            index = self._seen[key]
            self._seen[key] += 1
            return index

    def count(self, label: str, outcome: str) -> None:
        with self._lock:
            self._counts[label][outcome] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {label: dict(sorted(o.items())) for label, o in sorted(self._counts.items())}

    def reset(self, *, sequence: bool = False) -> None:
        """Forget the counts; `sequence=True` also forgets how often each request was seen.

        Keeping it (the default) keeps one seeded fault stream across resets.
        """
        with self._lock:
            self._counts.clear()
            if sequence:
                self._seen.clear()


def _error_body(host: str, status: int, message: str) -> tuple[bytes, str]:
    """A provider-shaped error body (providers.md §1.5, §2, §3.3) and its content type."""
    payload: object
    if host in ("www.googleapis.com", "youtube.googleapis.com"):
        reason = "rateLimitExceeded" if status == 429 else "backendError"
        payload = {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
            }
        }
    elif host == "api.spotify.com":
        payload = {"error": {"status": status, "message": message}}
    elif host == "accounts.spotify.com":
        payload = {"error": "server_error", "error_description": message}
    elif host.endswith(".p.rapidapi.com"):
        payload = {"message": message}
    else:
        page = f"<!DOCTYPE html><html><head><title>{status}</title></head><body>{message}</body>"
        return page.encode(), "text/html; charset=utf-8"
    return json.dumps(payload).encode(), "application/json; charset=utf-8"


def _drift(body: bytes, rng: random.Random) -> bytes | None:
    """The JSON body with one field removed or renamed (None when the body has no field)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    holders: list[dict[str, Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node:
                holders.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    if not holders:
        return None
    holder = holders[rng.randrange(len(holders))]
    name = sorted(holder)[rng.randrange(len(holder))]
    value = holder.pop(name)
    if rng.random() < 0.5:
        holder[name + _DRIFT_SUFFIX] = value
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass
class Simulator:
    """The WSGI side: routes to `SampleWorld.handle`, injects faults, logs and counts requests.

    `hang` is how long a `timeout` fault sleeps: set it above the client's read timeout.
    """

    world: SampleWorld
    faults: FaultPlan = field(default_factory=FaultPlan)
    latency: Latency = field(default_factory=Latency)
    seed: int = 2026
    as_of: date | None = None
    hang: float = 35.0
    retry_after: float = 1.0
    quiet: bool = False
    stopping: threading.Event = field(default_factory=threading.Event)
    stats: _Stats = field(default_factory=_Stats)

    def __post_init__(self) -> None:
        self.app = bottle.Bottle()
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
        self.app.route("/", method=methods, callback=self._serve)
        self.app.route("/<path:path>", method=methods, callback=self._serve)

    def __call__(
        self, environ: dict[str, object], start_response: Callable[..., object]
    ) -> Iterable[bytes]:
        result: Iterable[bytes] = self.app(environ, start_response)
        return result

    def today(self) -> date:
        """The simulated day every answer is computed for."""
        return self.as_of or datetime.now(timezone.utc).date()

    def reset(self) -> None:
        """Start over as a fresh server would: no counts, every request key unseen."""
        self.stats.reset(sequence=True)

    def counts(self) -> dict[str, dict[str, int]]:
        """Endpoint label -> outcome (HTTP status or fault) -> requests served."""
        return self.stats.snapshot()

    # --- WSGI -----------------------------------------------------------------------------

    def _serve(self, path: str = "") -> bottle.HTTPResponse:
        environ: Mapping[str, Any] = bottle.request.environ
        raw_path = str(environ.get("PATH_INFO", "/") or "/")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        query = str(environ.get("QUERY_STRING", ""))
        if raw_path.startswith(_CONTROL):
            return self._control(method, raw_path, query)
        host = str(environ.get("HTTP_HOST", "")).lower()
        if host not in self.world.hosts:
            first, _, rest = raw_path.lstrip("/").partition("/")
            if first.lower() not in self.world.hosts:
                message = (
                    f"No provider host {host!r}: send the original host in the Host header or "
                    "as the first path segment (/<host>/<path>)."
                )
                return self._json(404, {"message": message})
            host, raw_path = first.lower(), "/" + rest
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        body = bottle.request.body.read() if method in ("POST", "PUT", "PATCH") else b""
        url = f"https://{host}{raw_path}" + (f"?{query}" if query else "")
        return self._handle(method, host, raw_path, query, url, headers, body)

    def _handle(
        self,
        method: str,
        host: str,
        path: str,
        query: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
    ) -> bottle.HTTPResponse:
        started = time.perf_counter()
        params = sorted((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "key")
        key = f"{method} {host}{path}?{urlencode(params)}"
        index = self.stats.next_index(key)
        rng = random.Random(f"{self.seed}:{key}:{index}")
        fault = self.faults.pick(rng)
        delay = self.latency.draw(rng)
        label = endpoint_label(host, path)
        if delay:
            self.stopping.wait(delay)
        if fault == "timeout":
            self.stats.count(label, fault)  # counted now: the client gives up before the answer
            self.stopping.wait(self.hang)
        status, out_headers, out = self._inject(
            fault,
            host,
            rng,
            self.world.handle(SandboxRequest(method, url, headers, body), self.today()),
        )
        if fault != "timeout":
            outcome = fault if fault in ("malformed", "truncated", "drift") else str(status)
            self.stats.count(label, outcome)
        if not self.quiet:
            log.info(
                "sandbox_request",
                method=method,
                host=host,
                path=path,
                status=status,
                fault=fault,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        response = bottle.HTTPResponse(body=out, status=status)
        for name, value in out_headers.items():
            response.set_header(name, value)
        return response

    def _inject(
        self, fault: str | None, host: str, rng: random.Random, answer: SandboxResponse
    ) -> tuple[int, dict[str, str], bytes]:
        """Apply one fault to the world's answer: (status, headers, body bytes to send)."""
        headers = dict(answer.headers)
        body = answer.body
        if fault is not None and fault.isdigit():
            status = int(fault)
            message = "Too many requests" if status == 429 else "Internal error, try again"
            body, content_type = _error_body(host, status, message)
            headers = {"Content-Type": content_type}
            if status == 429:
                seconds = self.retry_after
                headers["Retry-After"] = f"{seconds:g}"
            return status, headers, body
        if answer.status >= 400:
            return answer.status, headers, body
        if fault == "malformed" and body:
            middle = len(body) // 2
            # NUL is invalid inside and outside JSON strings: never accidentally valid.
            body = body[:middle] + b'\x00"}<<upstream hiccup>>' + body[middle:]
        elif fault == "drift":
            body = _drift(body, rng) or body
        elif fault == "truncated" and len(body) > 1:
            headers["Content-Length"] = str(len(body))  # promise all of it, send a part
            body = body[: rng.randrange(1, len(body))]
        return answer.status, headers, body

    def _json(self, status: int, payload: object) -> bottle.HTTPResponse:
        response = bottle.HTTPResponse(body=json.dumps(payload).encode(), status=status)
        response.set_header("Content-Type", "application/json")
        return response

    def _control(self, method: str, path: str, query: str) -> bottle.HTTPResponse:
        params = dict(parse_qsl(query))
        if path == "/__stats" and method in ("GET", "DELETE"):
            snapshot = self.counts()
            if method == "DELETE":
                self.stats.reset()
            body = {
                "as_of": self.today().isoformat(),
                "seed": self.seed,
                "faults": str(self.faults),
                "latency": str(self.latency),
                "total": sum(sum(o.values()) for o in snapshot.values()),
                "endpoints": snapshot,
            }
            return self._json(200, body)
        if path == "/__date" and method in ("GET", "POST", "PUT"):
            if method != "GET":
                try:
                    self.as_of = date.fromisoformat(params.get("date", ""))
                except ValueError:
                    return self._json(400, {"message": "date must be YYYY-MM-DD"})
            return self._json(200, {"as_of": self.today().isoformat()})
        return self._json(404, {"message": "unknown control route"})


class SimulatorServer:
    """A simulator answering on 127.0.0.1 in background threads; `close()` stops it cleanly."""

    def __init__(self, simulator: Simulator, running: RunningServer) -> None:
        self.simulator = simulator
        self._running = running
        self.url = running.url
        self.port = running.port

    def close(self) -> None:
        """Wake sleeping requests, stop listening and end the worker threads; safe to repeat."""
        self.simulator.stopping.set()
        self._running.close()

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_simulator(
    simulator: Simulator, *, host: str = "127.0.0.1", port: int = 0, threads: int = 16
) -> SimulatorServer:
    """Serve `simulator` with waitress in a daemon thread (port 0: a free one); returns at once."""
    from tunemeld.api.server import start_background_server

    running = start_background_server(simulator, host, port, threads=threads)
    return SimulatorServer(simulator, running)
