"""The page at `GET /`: static assets shipped in the package, content negotiation and the CSP.

The page (`tunemeld/api/static/`: no CDN, no build step) reads the same public JSON routes as any
client. A browser asking `/` gets the page; any other client keeps getting the route index.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import bottle

from tunemeld.exceptions import NotFound

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PAGE_FILE",
    "STATIC_PREFIX",
    "Asset",
    "PageAssets",
    "asset_response",
    "load_assets",
    "wants_html",
]

STATIC_PREFIX = "/static/"
PAGE_FILE = "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        # Covers live on the services' CDNs; the page shows a placeholder when one fails.
        "img-src 'self' https: http:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""Scripts, styles and API calls from this server only; no inline script, no plugins, no frames."""

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    """One shipped file: its bytes, content type and a strong ETag of its content."""

    name: str
    body: bytes
    content_type: str
    etag: str


def _content_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class PageAssets:
    """Every file of the page, by name."""

    files: Mapping[str, Asset]

    @property
    def total_bytes(self) -> int:
        """The page's weight without covers: every shipped file, as served."""
        return sum(len(asset.body) for asset in self.files.values())

    def get(self, name: str) -> Asset:
        """The asset called `name`; NotFound for anything else (no paths, no directory walk)."""
        asset = self.files.get(name)
        if asset is None:
            raise NotFound(f"No page asset named {name[:64]!r}.", hint="GET / loads the page.")
        return asset


def asset_response(asset: Asset, *, not_modified: bool) -> bottle.HTTPResponse:
    """One asset with its ETag and the CSP; 304 without a body when the client's copy is current."""
    headers = {
        "Content-Type": asset.content_type,
        "ETag": asset.etag,
        # The page shares its URL with the JSON index: never cached; assets revalidate.
        "Cache-Control": "no-store" if asset.name == PAGE_FILE else "no-cache",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Referrer-Policy": "no-referrer",
    }
    if not_modified:
        return bottle.HTTPResponse(status=304, headers=headers)
    return bottle.HTTPResponse(body=asset.body, status=200, headers=headers)


def load_assets() -> PageAssets:
    """Read every file of `tunemeld/api/static/` (package data) into memory."""
    root = resources.files("tunemeld.api") / "static"
    files: dict[str, Asset] = {}
    for entry in root.iterdir():
        if not entry.is_file() or entry.name.startswith("."):
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        files[entry.name] = Asset(entry.name, body, _content_type(entry.name), etag)
    if PAGE_FILE not in files:  # pragma: no cover - a broken install, not a runtime state
        raise NotFound(
            "The page's files are missing from the installed package.",
            hint="Reinstall tunemeld (`pip install -e .`).",
        )
    return PageAssets(files)


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def wants_html(accept: str | None) -> bool:
    """True when an Accept header prefers HTML over JSON (a browser names `text/html`).

    No header, `*/*` or a tie keeps JSON, so scripts and existing clients see no change.
    """
    if not accept:
        return False
    html = json = 0.0
    for part in accept.split(","):
        kind, *params = part.split(";")
        media = kind.strip().lower()
        q = _quality(params)
        if media in ("text/html", "application/xhtml+xml", "text/*"):
            html = max(html, q)
        elif media in ("application/json", "*/*", "application/*"):
            json = max(json, q)
    return html > json
