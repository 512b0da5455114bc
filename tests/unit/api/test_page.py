"""The page at `/`: content negotiation, the shipped assets, their headers, weight and colours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.catalog import GENRES
from tests.unit.api.test_app import WsgiClient
from tunemeld.api import create_app
from tunemeld.api.page import CONTENT_SECURITY_POLICY, load_assets, wants_html
from tunemeld.config import Settings
from tunemeld.models import Service, ViewSource
from tunemeld.services.cache import NullCache
from tunemeld.services.store import SQLiteStore

STATIC = Path(__file__).parents[3] / "src" / "tunemeld" / "api" / "static"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MAX_PAGE_BYTES = 300 * 1024


@pytest.fixture(name="client")
def _client(settings: Settings, store: SQLiteStore) -> WsgiClient:
    return WsgiClient(create_app(settings, store, NullCache()))


class TestWantsHtml:
    """Only a client that ranks HTML above JSON gets the page."""

    @pytest.mark.parametrize(
        "accept",
        [BROWSER_ACCEPT, "text/html", "application/json;q=0.5, text/html", "text/*"],
    )
    def test_browser_like_accept_headers_get_html(self, accept: str) -> None:
        """Browsers name text/html first and rank */* lower."""
        assert wants_html(accept)

    @pytest.mark.parametrize(
        "accept",
        [
            None,
            "",
            "*/*",
            "application/json",
            "application/json, text/html",
            "text/html;q=0.5, application/json",
            "text/html;q=0",
            "text/html;q=nonsense",
        ],
    )
    def test_json_clients_and_ties_keep_the_json_index(self, accept: str | None) -> None:
        """No header, a wildcard, JSON first or a tie: the route index, as before."""
        assert not wants_html(accept)


class TestIndexNegotiation:
    """`GET /` answers a browser with the page and everyone else with the JSON index."""

    def test_browser_gets_the_page_with_its_content_security_policy(
        self, client: WsgiClient
    ) -> None:
        """HTML, the CSP allowing only this origin's scripts and styles, never cached."""
        reply = client.get("/", {"Accept": BROWSER_ACCEPT})
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
        assert reply.headers["Cache-Control"] == "no-store"
        csp = reply.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "style-src 'self'" in csp
        assert "default-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert b'<script type="module" src="/static/app.js"></script>' in reply.body

    @pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
    def test_json_client_gets_the_index_with_genres_and_services(
        self, client: WsgiClient, accept: str | None
    ) -> None:
        """The page reads its genres and services from here, not from its own code."""
        reply = client.get("/", {"Accept": accept} if accept else None)
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        data = reply.json()["data"]
        assert data["genres"] == ["country", "dance", "pop", "rap"]
        assert data["services"] == ["AppleMusic", "SoundCloud", "Spotify"]
        assert data["genres"] == [genre.value for genre in GENRES]
        assert data["services"] == [service.value for service in Service]

    @pytest.mark.parametrize(
        ("name", "content_type"),
        [
            ("app.js", "text/javascript; charset=utf-8"),
            ("app.css", "text/css; charset=utf-8"),
            ("cover.svg", "image/svg+xml"),
            ("icon.svg", "image/svg+xml"),
        ],
    )
    def test_asset_is_served_with_its_type_csp_and_etag(
        self, client: WsgiClient, name: str, content_type: str
    ) -> None:
        """Every asset carries the CSP too, and revalidates to 304 with its ETag."""
        reply = client.get(f"/static/{name}")
        assert reply.status == 200
        assert reply.headers["Content-Type"] == content_type
        assert reply.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert reply.body == (STATIC / name).read_bytes()
        again = client.get(f"/static/{name}", {"If-None-Match": reply.headers["ETag"]})
        assert again.status == 304
        assert again.body == b""

    @pytest.mark.parametrize("path", ["/static/nope.js", "/static/..%2Fpage.py", "/static/"])
    def test_unknown_asset_is_a_json_404(self, client: WsgiClient, path: str) -> None:
        """Only the shipped files are served; nothing else under the package is reachable."""
        reply = client.get(path)
        assert reply.status == 404
        assert reply.json()["status"] == "error"


class TestShippedAssets:
    """What the package ships for the page: small, self-contained, no HTML built from data."""

    def test_page_weight_without_covers_is_at_most_300_kb(self) -> None:
        """Every shipped file summed, as the server holds them."""
        on_disk = sum(path.stat().st_size for path in STATIC.iterdir() if path.is_file())
        assert load_assets().total_bytes == on_disk
        assert on_disk <= MAX_PAGE_BYTES

    def test_every_asset_the_page_names_is_shipped(self) -> None:
        """index.html and app.js only reference files the server has."""
        names = set(load_assets().files)
        html = (STATIC / "index.html").read_text()
        script = (STATIC / "app.js").read_text()
        referenced = set(re.findall(r"/static/([\w.-]+)", html + script))
        assert referenced
        assert referenced <= names

    @pytest.mark.parametrize("name", ["index.html", "app.js", "app.css", "cover.svg", "icon.svg"])
    def test_asset_loads_nothing_from_another_origin(self, name: str) -> None:
        """No CDN and no web fonts: the only absolute URL is the SVG namespace."""
        content = (STATIC / name).read_text()
        urls = set(re.findall(r"\w+://[^\s\"'`)]+", content))
        assert urls <= {"http://www.w3.org/2000/svg"}
        assert "@import" not in content
        assert "@font-face" not in content

    def test_script_never_parses_strings_as_html(self) -> None:
        """Provider text goes in as text: none of the HTML-parsing DOM APIs appear."""
        script = (STATIC / "app.js").read_text()
        for api in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert api not in script

    def test_page_names_no_genre_or_service_itself(self) -> None:
        """Genres and services come from the API's index: adding one needs no JS change.

        Spotify and YouTube do appear, as the sources of the play and view counts.
        """
        shipped = (STATIC / "app.js").read_text() + (STATIC / "index.html").read_text()
        sources = {source.value for source in ViewSource}
        services = [service.value for service in Service if service.value not in sources]
        assert services
        for name in [genre.value for genre in GENRES] + services:
            assert f'"{name}"' not in shipped
            assert f">{name}<" not in shipped


def _blocks(css: str) -> dict[str, dict[str, str]]:
    """The custom properties of each rule in the stylesheet, by selector."""
    blocks: dict[str, dict[str, str]] = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*--[^{}]*)\}", css):
        props = dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", body))
        blocks[selector.strip().split("\n")[-1].strip()] = props
    return blocks


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


TEXT_PAIRS = [
    ("--text", "--bg"),
    ("--text", "--surface"),
    ("--text", "--row-hover"),
    ("--muted", "--bg"),
    ("--muted", "--surface"),
    ("--link", "--surface"),
    ("--link", "--bg"),
    ("--link", "--row-hover"),
    ("--accent-text", "--accent"),
    ("--error-text", "--error-bg"),
    ("--empty-text", "--empty-bg"),
    ("--up", "--surface"),
    ("--up", "--row-hover"),
    ("--down", "--surface"),
    ("--down", "--row-hover"),
    ("--new-text", "--new-bg"),
    ("--re-text", "--re-bg"),
]
GRAPHIC_PAIRS = [
    ("--spotify", "--surface"),
    ("--youtube", "--surface"),
    ("--focus", "--bg"),
    ("--accent", "--surface"),
    ("--series-1", "--surface"),
    ("--series-2", "--surface"),
    ("--series-3", "--surface"),
]


class TestColours:
    """Both themes meet WCAG AA: 4.5:1 for text (movement marks and badges too), 3:1 for chart
    lines (the rank history's series) and the focus ring."""

    def test_contrast_ratio_matches_the_wcag_examples(self) -> None:
        """Black on white is 21:1; the same colour is 1:1."""
        assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
        assert contrast("#777777", "#777777") == pytest.approx(1.0)

    @pytest.mark.parametrize("theme", [":root", ':root[data-theme="dark"]'])
    def test_theme_pairs_meet_aa(self, theme: str) -> None:
        """Text pairs at least 4.5:1, graphics at least 3:1."""
        colours = _blocks((STATIC / "app.css").read_text())[theme]
        low = [
            (fg, bg, round(contrast(colours[fg], colours[bg]), 2))
            for pairs, minimum in ((TEXT_PAIRS, 4.5), (GRAPHIC_PAIRS, 3.0))
            for fg, bg in pairs
            if contrast(colours[fg], colours[bg]) < minimum
        ]
        assert low == []

    def test_system_dark_theme_equals_the_toggled_dark_theme(self) -> None:
        """The media query and the toggle set the same colours."""
        blocks = _blocks((STATIC / "app.css").read_text())
        assert blocks[':root:not([data-theme="light"])'] == blocks[':root[data-theme="dark"]']
        assert len(blocks[":root"]) == len(blocks[':root[data-theme="dark"]']) >= 24
