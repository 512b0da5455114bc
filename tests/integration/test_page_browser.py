"""The page in a real browser: Debian's chromium driven by Playwright against a real server.

The server is waitress on 127.0.0.1 over a SQLite file filled by two days (or, for the chart
history, six days) of the sample ETL; the browser may reach nothing else (covers from the
services' CDNs are refused, so they show the placeholder). Without chromium the tests skip
locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest

from tests.catalog import GENRES, catalog_adding
from tunemeld import etl
from tunemeld.api import RunningServer, create_app, start_background_server
from tunemeld.config import Settings
from tunemeld.exceptions import StoreUnavailable
from tunemeld.models import AGGREGATE, Genre, Service, ViewDoc, ViewSource, view_version
from tunemeld.models.view import LAST_UPDATED, PLAYLIST_DATA, RISING, service_playlist_view
from tunemeld.services.cache import MemoryCache
from tunemeld.services.store import SQLiteStore

pytestmark = pytest.mark.slow

try:
    from playwright import sync_api as playwright_api
except ImportError:  # pragma: no cover - the test group installs it
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed: pip install -e '.[dev]'", allow_module_level=True)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DAY1 = date(2026, 11, 24)
DAY2 = date(2026, 11, 25)
HISTORY_DAYS = tuple(DAY2 - timedelta(days=n) for n in range(5, -1, -1))
"""Six consecutive days ending on DAY2: enough ranking days for every kind of movement."""
RISING_SHOWN = 10
READER_ZONE = "Asia/Tokyo"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_URL = "javascript:alert(document.domain)"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module", name="browser")
def _browser() -> Iterator[Any]:
    """One headless chromium for the module; skipped (failed in CI) when it is not installed."""
    if not Path(CHROMIUM).is_file():
        reason = f"chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _fill(path: Path, days: tuple[date, ...]) -> Path:
    """A SQLite file after a full sample run on each of `days`, in order."""
    settings = Settings(
        _env_file=None,
        env="testing",
        database={"url": f"sqlite:///{path}"},
        providers={
            "mode": "sample",
            "backoff_initial": 0.0,
            "backoff_max": 0.0,
            "buckets": {"youtube_search": {"limit": 10_000}},
        },
    )
    for day in days:  # a past day's samples are stamped at its noon: the real date plays no part
        assert etl.run(settings, as_of=day).ok
    return path


@pytest.fixture(scope="module", name="sample_db")
def _sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file after a full sample run on two consecutive days (the slow part, shared)."""
    return _fill(tmp_path_factory.mktemp("page") / "tunemeld.db", (DAY1, DAY2))


@pytest.fixture(scope="module", name="history_db")
def _history_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file after a full sample run on six consecutive days: rankings to compare."""
    return _fill(tmp_path_factory.mktemp("history") / "tunemeld.db", HISTORY_DAYS)


def _copy(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite file (its WAL included), for a test that changes it."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.fixture(name="open_server")
def _open_server(settings: Settings) -> Iterator[Any]:
    """Start API servers over SQLite files; every one is stopped at teardown."""
    opened: list[tuple[RunningServer, SQLiteStore]] = []

    def start(path: Path) -> tuple[RunningServer, SQLiteStore]:
        store = SQLiteStore.from_url(f"sqlite:///{path}")
        store.init()
        cache = MemoryCache(max_entries=256, ttl_seconds=60)
        server = start_background_server(create_app(settings, store, cache))
        opened.append((server, store))
        return server, store

    yield start
    for server, store in opened:
        server.close()
        store.close()
        assert not server.running


@dataclass
class Watched:
    """A page plus everything it reported: console errors, uncaught errors, dialogs."""

    page: Any
    base: str
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def open(self, query: str = "") -> None:
        """Load the page and wait until it has rendered something."""
        self.page.goto(self.base + "/" + query)
        self.page.wait_for_function(
            "() => !document.querySelector('#aggregate-section').hidden"
            " || !document.querySelector('#message').hidden",
            timeout=TIMEOUT_MS,
        )

    def titles(self) -> list[str]:
        """The aggregate table's track titles, top to bottom."""
        return list(self.page.locator("#aggregate tbody .track-name").all_inner_texts())


@pytest.fixture(name="watch")
def _watch(browser: Any) -> Iterator[Any]:
    """Open a page on a server in a fresh context that can reach 127.0.0.1 only."""
    contexts: list[Any] = []

    def watch(server: RunningServer) -> Watched:
        context = browser.new_context(
            locale="en-US", timezone_id=READER_ZONE, viewport={"width": 1300, "height": 900}
        )
        contexts.append(context)

        def only_loopback(route: Any) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                route.abort()

        context.route("**/*", only_loopback)
        watched = Watched(context.new_page(), server.url)

        def on_console(message: Any) -> None:
            # Covers refused by the loopback-only rule are expected; anything else is a bug.
            where = urlsplit(message.location.get("url") or server.url).hostname
            if message.type == "error" and where == "127.0.0.1":
                watched.console_errors.append(message.text)

        def on_dialog(dialog: Any) -> None:
            watched.dialogs.append(dialog.message)
            dialog.dismiss()

        watched.page.on("console", on_console)
        watched.page.on("pageerror", lambda error: watched.console_errors.append(str(error)))
        watched.page.on("dialog", on_dialog)
        return watched

    yield watch
    for context in contexts:
        context.close()


def _aggregate_titles(store: SQLiteStore, genre: Genre) -> list[str]:
    """The stored aggregate's titles in rank order, read from the store's own records."""
    playlist = store.get_playlist(genre, AGGREGATE)
    assert playlist is not None
    tracks = store.get_tracks(playlist.isrcs)
    return [tracks[rank.isrc].title for rank in sorted(playlist.tracks, key=lambda r: r.rank)]


def _digits(text: str) -> int | None:
    """The integer a count cell shows ("+2,550" -> 2550), None for the dash."""
    if text.strip() == "\u2014":
        return None
    return int(re.sub(r"[^\d-]", "", text))


def _api(server: RunningServer, path: str) -> Any:
    """The `data` of one JSON route, read over HTTP as any client would."""
    request = Request(server.url + path, headers={"Accept": "application/json"})
    with urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())["data"]


def _signed(n: int) -> str:
    """A change as the page writes it in en-US: "+4,740", "-12", "0"."""
    return "0" if n == 0 else f"{n:+,}"


def _mark(row: dict[str, Any]) -> tuple[str, str]:
    """What the movement mark of an API row must show, and what it must say to a screen reader."""
    kind, n, was = row["movement"]["kind"], row["movement"]["places"], row["previous_rank"]
    unit = "place" if n == 1 else "places"
    if kind == "up":
        assert was - row["rank"] == n
        return f"\u25b2{n}", f"up {n} {unit}, was {was}"
    if kind == "down":
        assert row["rank"] - was == n
        return f"\u25bc{n}", f"down {n} {unit}, was {was}"
    if kind == "same":
        assert was == row["rank"]
        return "=", f"no change, was {was}"
    assert kind in ("new", "re-entry")
    return ("NEW", "new this day") if kind == "new" else ("RE", "back on the chart (re-entry)")


_SHOWN_ROWS = """rows => rows.map(r => ({
  isrc: r.dataset.isrc,
  shown: r.querySelector('.move [aria-hidden]').textContent,
  said: r.querySelector('.move .sr-only').textContent,
  peak: r.querySelector('td[data-col=peak]')?.textContent ?? null,
  days: r.querySelector('td[data-col=days]')?.textContent ?? null,
}))"""


class TestPageWithTwoDaysOfData:
    """A reader's tour of the page after two days of `inv etl.run --stage full`."""

    def test_every_aggregate_track_of_each_genre_is_shown_without_console_errors(
        self, sample_db: Path, open_server: Any, watch: Any, tmp_path: Path
    ) -> None:
        """Each genre's table lists the stored aggregate exactly, with headers and playlists."""
        server, store = open_server(sample_db)
        page = watch(server)
        for genre in GENRES:
            page.open(f"?genre={genre.value}")
            expected = _aggregate_titles(store, genre)
            page.page.wait_for_function(
                "n => document.querySelectorAll('#aggregate tbody tr').length === n",
                arg=len(expected),
                timeout=TIMEOUT_MS,
            )
            assert page.titles() == expected
            assert page.page.locator("#playlists .header-card").count() == len(Service)
            for service in Service:
                stored = store.get_playlist(genre, service.value)
                assert stored is not None
                rows = page.page.locator(f'[data-service="{service.value}"] tbody tr')
                assert rows.count() == len(stored.tracks)
            body = page.page.locator("body").inner_text()
            for bad in ("NaN", "undefined", "null", "[object"):
                assert bad not in body
        page.page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        assert (tmp_path / "page.png").stat().st_size > 10_000
        assert page.console_errors == []

    def test_last_updated_is_shown_in_the_readers_time_zone(
        self, sample_db: Path, open_server: Any, watch: Any
    ) -> None:
        """The stored UTC instant, written in the browser's own zone (Tokyo here)."""
        server, store = open_server(sample_db)
        page = watch(server)
        page.open("?genre=pop")
        doc = store.get_view(Genre("pop"), LAST_UPDATED.name)
        assert doc is not None
        moment = datetime.fromisoformat(doc.data["last_updated"]).astimezone(ZoneInfo(READER_ZONE))
        shown = page.page.locator("#updated time").inner_text()
        assert moment.strftime("%I:%M %p") in shown
        assert moment.strftime("%b") in shown
        assert str(moment.day) in shown

    def test_genre_switch_changes_the_table_and_the_url_and_survives_a_reload(
        self, sample_db: Path, open_server: Any, watch: Any
    ) -> None:
        """Clicking a genre swaps the chart in place; the URL keeps it for a reload or a link."""
        server, store = open_server(sample_db)
        page = watch(server)
        page.open("?genre=pop")
        assert page.titles() == _aggregate_titles(store, Genre("pop"))
        page.page.get_by_role("link", name="dance").click()
        dance = _aggregate_titles(store, Genre("dance"))
        page.page.wait_for_function(
            "title => document.querySelector('#aggregate tbody .track-name')?.textContent"
            " === title",
            arg=dance[0],
            timeout=TIMEOUT_MS,
        )
        assert page.titles() == dance
        assert page.page.url.endswith("?genre=dance")
        current = page.page.locator('#genres a[aria-current="page"]')
        assert current.inner_text().lower() == "dance"
        page.page.reload()
        page.page.wait_for_function(
            "n => document.querySelectorAll('#aggregate tbody tr').length === n",
            arg=len(dance),
            timeout=TIMEOUT_MS,
        )
        assert page.titles() == dance
        page.page.go_back()
        page.page.wait_for_function(
            "title => document.querySelector('#aggregate tbody .track-name')?.textContent"
            " === title",
            arg=_aggregate_titles(store, Genre("pop"))[0],
            timeout=TIMEOUT_MS,
        )
        assert page.console_errors == []

    @pytest.mark.parametrize(
        ("period", "column", "source", "genre"),
        [
            ("Total", "plays", ViewSource.SPOTIFY, Genre("rap")),
            ("Last 7 days", "plays", ViewSource.SPOTIFY, Genre("country")),
            ("Total", "views", ViewSource.YOUTUBE, Genre("pop")),
        ],
    )
    def test_sort_by_a_count_puts_the_biggest_first_and_unknown_counts_last(
        self,
        sample_db: Path,
        open_server: Any,
        watch: Any,
        period: str,
        column: str,
        source: ViewSource,
        genre: Genre,
    ) -> None:
        """Each row shows the stored count (total, or the change over both days); sorted down."""
        server, store = open_server(sample_db)
        page = watch(server)
        page.open(f"?genre={genre.value}")
        page.page.get_by_label(period, exact=True).check()
        label = "Spotify plays" if source is ViewSource.SPOTIFY else "YouTube views"
        page.page.get_by_role("button", name=label, exact=True).click()
        header = page.page.locator(f'#aggregate th[data-sort="{column}"]')
        assert header.get_attribute("aria-sort") == "descending"
        shown = page.page.eval_on_selector_all(
            "#aggregate tbody tr",
            f"rows => rows.map(r => [r.dataset.isrc,"
            f" r.querySelector('td[data-count={column}]').textContent])",
        )
        playlist = store.get_playlist(genre, AGGREGATE)
        assert playlist is not None
        history = store.view_history(playlist.isrcs, source)
        expected: dict[str, int | None] = {}
        for isrc in playlist.isrcs:
            samples = history.get(isrc, [])
            if not samples:
                expected[isrc] = None
            elif period == "Total":
                expected[isrc] = samples[-1].total
            else:  # both days lie inside the last 7 days
                expected[isrc] = samples[-1].total - samples[0].total
        assert {isrc: _digits(text) for isrc, text in shown} == expected
        values = [_digits(text) for _, text in shown]
        known = [value for value in values if value is not None]
        assert values == known + [None] * (len(values) - len(known))
        assert known == sorted(known, reverse=True)
        assert page.titles() != _aggregate_titles(store, genre)
        assert page.console_errors == []

    def test_choosing_a_track_opens_its_chart_of_plays_and_views(
        self, sample_db: Path, open_server: Any, watch: Any
    ) -> None:
        """The chart shows both series as SVG plus a table of the daily changes."""
        server, store = open_server(sample_db)
        page = watch(server)
        page.open("?genre=country")
        first = page.page.locator("#aggregate tbody tr").first
        title = first.locator(".track-name").inner_text()
        first.get_by_role("button", name=f"Chart of {title}").click()
        chart = page.page.locator("#chart")
        chart.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert title in page.page.locator("#chart-title").inner_text()
        assert chart.locator("#chart-plots svg").count() == 2
        isrc = first.get_attribute("data-isrc")
        history = store.view_history([isrc])[isrc]
        cells = chart.locator("#chart-table tbody tr").first.locator("td").all_inner_texts()
        by_source = {sample.source: sample for sample in history if sample.day == DAY2}
        assert _digits(cells[1]) == by_source[ViewSource.SPOTIFY].delta
        assert _digits(cells[2]) == by_source[ViewSource.YOUTUBE].delta
        chart.get_by_label("Running total").check()
        rows = chart.locator("#chart-table tbody tr")
        rows.nth(1).wait_for(timeout=TIMEOUT_MS)
        for day, row in zip((DAY1, DAY2), rows.all(), strict=True):
            cells = row.locator("td").all_inner_texts()
            totals = {sample.source: sample.total for sample in history if sample.day == day}
            assert _digits(cells[1]) == totals[ViewSource.SPOTIFY]
            assert _digits(cells[2]) == totals[ViewSource.YOUTUBE]
        assert page.console_errors == []

    def test_theme_toggle_switches_between_light_and_dark(
        self, sample_db: Path, open_server: Any, watch: Any
    ) -> None:
        """The toggle overrides the system setting and says whether dark is on."""
        server, _ = open_server(sample_db)
        page = watch(server)
        page.open("?genre=pop")
        toggle = page.page.locator("#theme")
        background = "() => getComputedStyle(document.body).backgroundColor"
        light = page.page.evaluate(background)
        assert toggle.get_attribute("aria-pressed") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true"
        assert page.page.evaluate(background) != light
        page.page.reload()
        page.page.locator("#theme[aria-pressed=true]").wait_for(timeout=TIMEOUT_MS)
        assert page.console_errors == []

    def test_keyboard_alone_switches_genre_sorts_and_opens_and_closes_a_chart(
        self, sample_db: Path, open_server: Any, watch: Any
    ) -> None:
        """Links, sort headers and chart buttons are real controls: Enter works on each."""
        server, store = open_server(sample_db)
        page = watch(server)
        page.open("?genre=pop")
        keys = page.page.keyboard
        keys.press("Tab")
        assert page.page.evaluate("document.activeElement.textContent") == "Skip to the chart"
        page.page.locator('#genres a[data-genre="rap"]').focus()
        keys.press("Enter")
        rap = _aggregate_titles(store, Genre("rap"))
        page.page.wait_for_function(
            "title => document.querySelector('#aggregate tbody .track-name')?.textContent"
            " === title",
            arg=rap[0],
            timeout=TIMEOUT_MS,
        )
        page.page.locator('#aggregate th[data-sort="rank"] button').focus()
        keys.press("Enter")
        assert page.titles() == rap[::-1]
        chart_button = page.page.locator("#aggregate tbody tr").first.locator("button")
        chart_button.focus()
        keys.press("Enter")
        page.page.locator("#chart").wait_for(state="visible", timeout=TIMEOUT_MS)
        assert page.page.evaluate("document.activeElement.id") == "chart-title"
        page.page.locator("#chart-close").focus()
        keys.press("Enter")
        assert page.page.locator("#chart").is_hidden()
        focused = page.page.evaluate("document.activeElement.getAttribute('aria-label')")
        assert focused == f"Chart of {rap[-1]}"
        assert page.console_errors == []


class TestPageWithSixDaysOfHistory:
    """Movement, peak, days on chart, this week's climbers and a track's rank history."""

    def test_every_rows_movement_peak_and_days_match_the_api(
        self, history_db: Path, open_server: Any, watch: Any
    ) -> None:
        """Each aggregate and service-playlist row shows the API's movement, peak and days."""
        server, _ = open_server(history_db)
        page = watch(server)
        kinds: set[str] = set()
        for genre in GENRES:
            page.open(f"?genre={genre.value}")
            rows = _api(server, f"/playlist-data/{genre.value}")[0]["tracks"]
            page.page.wait_for_function(
                "n => document.querySelectorAll('#aggregate tbody tr').length === n",
                arg=len(rows),
                timeout=TIMEOUT_MS,
            )
            shown = page.page.eval_on_selector_all("#aggregate tbody tr", _SHOWN_ROWS)
            expected = [
                {
                    "isrc": row["isrc"],
                    "shown": _mark(row)[0],
                    "said": _mark(row)[1],
                    "peak": str(row["peak_rank"]),
                    "days": str(row["days_on_chart"]),
                }
                for row in rows
            ]
            assert shown == expected
            kinds |= {row["movement"]["kind"] for row in rows}
            assert all(row["days_on_chart"] <= len(HISTORY_DAYS) for row in rows)
            for service in Service:
                tracks = _api(server, f"/service-playlist/{genre.value}/{service.value}")[0]
                selector = f'[data-service="{service.value}"] tbody tr'
                listed = page.page.eval_on_selector_all(selector, _SHOWN_ROWS)
                assert [(r["isrc"], r["shown"], r["said"]) for r in listed] == [
                    (row["isrc"], *_mark(row)) for row in tracks["tracks"]
                ]
                kinds |= {row["movement"]["kind"] for row in tracks["tracks"]}
        # Six days of the sample world move tracks every way: each mark was really compared.
        assert kinds >= {"up", "down", "same", "new"}
        assert page.console_errors == []

    @pytest.mark.parametrize(
        ("label", "column", "first"),
        [("Peak", "peak", "ascending"), ("Days on chart", "days", "descending")],
    )
    def test_sort_by_peak_or_days_on_chart(
        self, history_db: Path, open_server: Any, watch: Any, label: str, column: str, first: str
    ) -> None:
        """Best peak first, or longest on the chart first; ties keep the rank order."""
        server, _ = open_server(history_db)
        page = watch(server)
        page.open("?genre=pop")
        page.page.get_by_role("button", name=label, exact=True).click()
        header = page.page.locator(f'#aggregate th[data-sort="{column}"]')
        assert header.get_attribute("aria-sort") == first
        shown = page.page.eval_on_selector_all(
            "#aggregate tbody tr",
            f"rows => rows.map(r => [Number(r.querySelector('td[data-col={column}]')"
            ".textContent), Number(r.querySelector('td.rank').textContent)])",
        )
        keys = [(value if first == "ascending" else -value, rank) for value, rank in shown]
        assert keys == sorted(keys)
        assert len({value for value, _ in shown}) > 1
        assert page.console_errors == []

    def test_sort_by_movement_puts_the_biggest_climb_first(
        self, history_db: Path, open_server: Any, watch: Any
    ) -> None:
        """Places gained, most first; falls are negative; NEW and RE entries come last."""
        server, _ = open_server(history_db)
        page = watch(server)
        page.open("?genre=dance")
        page.page.get_by_role("button", name="Movement", exact=True).click()
        rows = {row["isrc"]: row for row in _api(server, "/playlist-data/dance")[0]["tracks"]}
        order = page.page.eval_on_selector_all(
            "#aggregate tbody tr", "rows => rows.map(r => r.dataset.isrc)"
        )
        signs = {"up": 1, "down": -1, "same": 0}
        values = [
            signs[m["kind"]] * m["places"] if m["kind"] in signs else None
            for m in (rows[isrc]["movement"] for isrc in order)
        ]
        known = [value for value in values if value is not None]
        assert values == known + [None] * (len(values) - len(known))
        assert known == sorted(known, reverse=True)
        assert page.console_errors == []

    def test_rising_panel_lists_the_apis_top_ten_in_order(
        self, history_db: Path, open_server: Any, watch: Any
    ) -> None:
        """Position, gain (total and per source), rank and movement of the first ten climbers."""
        server, _ = open_server(history_db)
        page = watch(server)
        for genre in GENRES:
            page.open(f"?genre={genre.value}")
            rising = _api(server, f"/rising/{genre.value}")[:RISING_SHOWN]
            assert len(rising) == RISING_SHOWN
            page.page.wait_for_function(
                "isrc => document.querySelector('#rising tbody tr')?.dataset.isrc === isrc",
                arg=rising[0]["isrc"],
                timeout=TIMEOUT_MS,
            )
            shown = page.page.eval_on_selector_all(
                "#rising tbody tr",
                "rows => rows.map(r => [...[...r.querySelectorAll('td')].slice(0, 5)"
                ".map(td => td.innerText), r.querySelector('.move [aria-hidden]').textContent])",
            )
            expected = []
            for position, entry in enumerate(rising, start=1):
                split = " \u00b7 ".join(
                    f"{source} {_signed(entry['gain'][source])}"
                    for source in ("Spotify", "YouTube")
                    if entry["gain"][source] is not None
                )
                total = _signed(entry["gain"]["total"])
                expected.append(
                    [
                        str(position),
                        "",
                        f"{entry['track_name']}\n{entry['artist_name']}",
                        f"{total}\n{split}",
                        f"#{entry['rank']}",
                        _mark(entry)[0],
                    ]
                )
            assert shown == expected
            assert page.page.locator("#rising-message").is_hidden()
        assert page.console_errors == []

    def test_keyboard_opens_a_climbers_chart_and_returns_to_it(
        self, history_db: Path, open_server: Any, watch: Any
    ) -> None:
        """Enter on a climber's Chart button opens the chart; closing it refocuses that button."""
        server, _ = open_server(history_db)
        page = watch(server)
        page.open("?genre=country")
        first = _api(server, "/rising/country")[0]
        button = page.page.locator(f'#rising tr[data-isrc="{first["isrc"]}"] button')
        button.focus()
        page.page.keyboard.press("Enter")
        page.page.locator("#chart-ranks svg[role=img]").wait_for(timeout=TIMEOUT_MS)
        assert page.page.evaluate("document.activeElement.id") == "chart-title"
        assert first["track_name"] in page.page.locator("#chart-title").inner_text()
        page.page.locator("#chart-close").focus()
        page.page.keyboard.press("Enter")
        assert page.page.locator("#chart").is_hidden()
        focused = page.page.evaluate(
            "() => [document.activeElement.closest('table')?.id,"
            " document.activeElement.getAttribute('aria-label')]"
        )
        assert focused == ["rising", f"Chart of {first['track_name']}"]
        assert page.console_errors == []

    def test_opening_a_track_shows_its_rank_history(
        self, history_db: Path, open_server: Any, watch: Any, tmp_path: Path
    ) -> None:
        """One line per playlist of the genre, rank 1 at the top; the same numbers as a table."""
        server, _ = open_server(history_db)
        page = watch(server)
        page.open("?genre=rap")
        rows = _api(server, "/playlist-data/rap")[0]["tracks"]
        row = max(rows, key=lambda r: (r["days_on_chart"], r["rank"]))  # a long run, low down
        assert row["days_on_chart"] >= 3
        track = _api(server, f"/track/{quote(row['isrc'])}")
        lines = [p for p in track["playlists"] if p["genre_name"] == "rap"]
        assert len(lines) >= 2
        button = page.page.locator(f'#aggregate tr[data-isrc="{row["isrc"]}"] button')
        button.click()
        ranks = page.page.locator("#chart-ranks")
        ranks.locator("svg[role=img]").wait_for(timeout=TIMEOUT_MS)
        assert row["track_name"] in ranks.locator("figcaption").inner_text()

        def day_label(day: str) -> str:
            moment = date.fromisoformat(day)
            return f"{moment:%b} {moment.day}"

        legend = ranks.locator(".legend li").all_inner_texts()
        assert len(legend) == len(lines)
        for text, line in zip(legend, lines, strict=True):
            days = line["days_on_chart"]
            assert text.startswith(line["service_name"])
            assert f"peak #{line['peak_rank']}" in text
            assert f"{days} {'day' if days == 1 else 'days'}" in text
        dots = page.page.eval_on_selector_all(
            "#chart-ranks svg[role=img] circle",
            "cs => cs.map(c => [c.textContent, Number(c.getAttribute('cy'))])",
        )
        assert sorted(title for title, _ in dots) == sorted(
            f"{line['service_name']}: #{rank} on {day_label(day)}"
            for line in lines
            for day, rank in line["ranks"]
        )
        by_rank = sorted((int(re.search(r"#(\d+)", t)[1]), cy) for t, cy in dots)  # type: ignore[index]
        heights = [cy for _, cy in by_rank]
        assert heights == sorted(heights)  # a better rank is drawn higher: #1 at the top
        assert heights[0] < heights[-1]
        table = ranks.locator("#rank-table")
        assert table.locator("thead th").all_text_contents() == [
            "Day",
            *[line["service_name"] for line in lines],
        ]
        all_days = sorted({day for line in lines for day, _ in line["ranks"]})
        expected_rows = [
            [
                day_label(day),
                *[
                    next((f"#{rank}" for d, rank in line["ranks"] if d == day), "\u2014")
                    for line in lines
                ],
            ]
            for day in all_days
        ]
        shown_rows = [tr.locator("td").all_inner_texts() for tr in table.locator("tbody tr").all()]
        assert shown_rows == expected_rows
        page.page.screenshot(path=str(tmp_path / "history-light.png"), full_page=True)
        page.page.locator("#theme").click()
        page.page.locator("#theme[aria-pressed=true]").wait_for(timeout=TIMEOUT_MS)
        page.page.screenshot(path=str(tmp_path / "history-dark.png"), full_page=True)
        for name in ("history-light.png", "history-dark.png"):
            assert (tmp_path / name).stat().st_size > 10_000
        assert page.console_errors == []


class _RisingStore(SQLiteStore):
    """A store whose `rising` view is empty, missing or unreadable (set `rising` before use)."""

    rising: str = "empty"

    def get_view(self, genre: Genre, name: str) -> ViewDoc | None:
        doc = super().get_view(genre, name)
        if name != RISING.name or doc is None:
            return doc
        if self.rising == "missing":
            return None
        if self.rising == "down":
            raise StoreUnavailable(
                "The store did not answer.", hint="Check TUNEMELD_DATABASE__URL."
            )
        return doc.model_copy(update={"data": [], "version": view_version([])})


class TestRisingPanelWithoutClimbers:
    """No climbers, no rising view, or an error: a short message, the rest of the page stands."""

    @pytest.mark.parametrize(
        ("rising", "message"),
        [
            ("empty", "No track has gained plays or views in the last 7 days yet."),
            ("missing", "No climbers known yet: they need plays or views counted on two days."),
            (
                "down",
                "Could not load this week's climbers: The store did not answer."
                " Check TUNEMELD_DATABASE__URL.",
            ),
        ],
    )
    def test_rising_panel_says_why_it_is_empty(
        self,
        sample_db: Path,
        tmp_path: Path,
        settings: Settings,
        watch: Any,
        rising: str,
        message: str,
    ) -> None:
        store = _RisingStore.from_url(f"sqlite:///{_copy(sample_db, tmp_path / 'r.db')}")
        assert isinstance(store, _RisingStore)
        store.rising = rising
        app = create_app(settings, store, MemoryCache(max_entries=16, ttl_seconds=60))
        try:
            with start_background_server(app) as server:
                page = watch(server)
                page.open("?genre=pop")
                note = page.page.locator("#rising-message")
                note.wait_for(timeout=TIMEOUT_MS)
                assert note.inner_text() == message
                assert page.page.locator("#rising").is_hidden()
                assert page.page.locator("#aggregate-section").is_visible()
                assert page.page.locator("#message").is_hidden()
                assert page.titles() == _aggregate_titles(store, Genre("pop"))
        finally:
            store.close()


class _DownStore(SQLiteStore):
    """A store whose views cannot be read: the API answers 503 with a message."""

    def get_view(self, genre: Genre, name: str) -> ViewDoc | None:
        raise StoreUnavailable("The store did not answer.", hint="Check TUNEMELD_DATABASE__URL.")


class TestPageEdgeCases:
    """An empty store, and a store holding hostile provider text."""

    def test_empty_store_says_how_to_get_data(
        self, tmp_path: Path, open_server: Any, watch: Any
    ) -> None:
        """No views yet: the page names the command that fills the store."""
        server, _ = open_server(tmp_path / "empty.db")
        page = watch(server)
        page.open()
        message = page.page.locator("#message")
        assert "No data for country yet" in message.inner_text()
        assert "inv etl.run --stage full" in message.inner_text()
        assert page.page.locator("#aggregate-section").is_hidden()

    def test_api_error_shows_the_servers_message(
        self, tmp_path: Path, settings: Settings, watch: Any
    ) -> None:
        """A 503 from the data routes becomes a visible message, not an empty page."""
        store = _DownStore.from_url(f"sqlite:///{tmp_path / 'down.db'}")
        store.init()
        app = create_app(settings, store, MemoryCache(max_entries=16, ttl_seconds=60))
        with start_background_server(app) as server:
            page = watch(server)
            page.open("?genre=rap")
            message = page.page.locator("#message").inner_text()
        store.close()
        assert "Could not load the chart." in message
        assert "The store did not answer. Check TUNEMELD_DATABASE__URL." in message
        assert page.page.locator("#aggregate-section").is_hidden()

    def test_hostile_names_and_urls_render_as_inert_text(
        self, sample_db: Path, tmp_path: Path, open_server: Any, watch: Any
    ) -> None:
        """Markup in a name stays text; `javascript:` URLs never become links; no dialog.

        The name reaches the aggregate and Spotify tables, a header, the rising panel and the
        rank history (read from the stored track by `/track/<isrc>`).
        """
        path = _copy(sample_db, tmp_path / "hostile.db")
        server, store = open_server(path)
        docs = []
        for name in (PLAYLIST_DATA.name, service_playlist_view(Service.SPOTIFY)):
            doc = store.get_view(Genre("pop"), name)
            assert doc is not None
            data = doc.data
            playlist = data[0] if isinstance(data, list) else data  # the legacy one-item list
            track = playlist["tracks"][0]
            track.update(track_name=HOSTILE_NAME, artist_name=HOSTILE_NAME)
            for key in ("youtube_url", "spotify_url", "url", "track_url", "album_cover_url"):
                track[key] = HOSTILE_URL
            track["additional_sources"] = dict.fromkeys(track.get("sources", {}), HOSTILE_URL)
            docs.append(doc.model_copy(update={"data": data, "version": view_version(data)}))
        rising = store.get_view(Genre("pop"), RISING.name)
        assert rising is not None
        climbers = rising.data
        climbers[0].update(track_name=HOSTILE_NAME, artist_name=HOSTILE_NAME)
        climbers[0].update(album_cover_url=HOSTILE_URL, youtube_url=HOSTILE_URL)
        docs.append(rising.model_copy(update={"data": climbers, "version": view_version(climbers)}))
        first = docs[0].data[0]["tracks"][0]["isrc"]  # the aggregate's first row, renamed above
        stored = store.get_tracks([first])[first]
        store.upsert_tracks([stored.model_copy(update={"title": HOSTILE_NAME})])
        header = store.get_view(Genre("pop"), "header-art")
        assert header is not None
        art = header.data
        art["Spotify"].update(playlist_name=HOSTILE_NAME, playlist_url=HOSTILE_URL)
        art["Spotify"].update(playlist_cover_url=HOSTILE_URL, playlist_cover_image_url=HOSTILE_URL)
        art["Spotify"]["playlist_cover_description_text"] = HOSTILE_NAME
        docs.append(header.model_copy(update={"data": art, "version": view_version(art)}))
        store.save_views([ViewDoc.model_validate(doc.model_dump()) for doc in docs])

        page = watch(server)
        page.open("?genre=pop")
        assert page.titles()[0] == HOSTILE_NAME
        spotify_rows = page.page.locator('[data-service="Spotify"] tbody tr')
        assert spotify_rows.first.inner_text().count(HOSTILE_NAME) == 2
        assert HOSTILE_NAME in page.page.locator("#playlists").inner_text()
        rising_first = page.page.locator("#rising tbody tr").first
        assert rising_first.locator(".track-name").inner_text() == HOSTILE_NAME
        assert rising_first.locator(".artist").inner_text() == HOSTILE_NAME
        page.page.locator("#aggregate tbody tr").first.get_by_role("button").click()
        caption = page.page.locator("#chart-ranks figcaption")
        caption.wait_for(timeout=TIMEOUT_MS)
        assert caption.inner_text().startswith(HOSTILE_NAME)
        label = page.page.locator("#chart-ranks svg[role=img]").get_attribute("aria-label")
        assert label == f"Rank history of {HOSTILE_NAME}"
        injected = page.page.evaluate(
            "() => ({"
            " images: document.querySelectorAll('img[src=\"x\"], img[onerror]').length,"
            " links: [...document.querySelectorAll('a')]"
            "   .filter(a => !/^https?:/.test(a.href)).length,"
            " sources: [...document.querySelectorAll('img')]"
            "   .filter(i => !/^https?:/.test(i.src)).length })"
        )
        assert injected == {"images": 0, "links": 0, "sources": 0}
        assert page.dialogs == []
        assert page.console_errors == []


class TestPageWithAUserCatalog:
    """Genres are catalog data: the page's tabs follow a catalog that adds two genres."""

    def test_added_genres_have_tabs_and_their_aggregate_is_shown(
        self, tmp_path: Path, watch: Any
    ) -> None:
        added = ("latin", "k-pop")
        settings = Settings(
            _env_file=None,
            env="testing",
            database={"url": f"sqlite:///{tmp_path / 'tunemeld.db'}"},
            providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
            etl={"catalog_path": str(catalog_adding(tmp_path / "catalog.toml", added))},
        )
        assert etl.run(settings, as_of=DAY1).ok
        store = SQLiteStore.from_url(settings.database.url)
        server = start_background_server(create_app(settings, store, MemoryCache()))
        try:
            page = watch(server)
            page.open()
            tabs = page.page.eval_on_selector_all(
                "#genres a", "els => els.map(e => e.dataset.genre)"
            )
            assert tabs == [*(g.value for g in GENRES), *added]
            page.page.locator('#genres a[data-genre="k-pop"]').click()
            expected = _aggregate_titles(store, Genre("k-pop"))
            page.page.wait_for_function(
                "n => document.querySelectorAll('#aggregate tbody tr').length === n",
                arg=len(expected),
                timeout=TIMEOUT_MS,
            )
            assert page.titles() == expected
            assert page.console_errors == []
        finally:
            server.close()
            store.close()
