"""Re-running a day changes no sample, and an empty playlist never replaces the last good one.

Both through `etl.run` on the sample world into real SQLite files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tunemeld import etl
from tunemeld.config import Settings
from tunemeld.models import AGGREGATE, Genre, Service, Stage, UnitStatus
from tunemeld.models.view import GRAPH_DATA, PLAYLIST_DATA
from tunemeld.services.providers import apple_music
from tunemeld.services.store import SQLiteStore

DAY1 = date(2026, 11, 24)
DAY2 = date(2026, 11, 25)
Sample = tuple[str, str, date, int, int]


def _settings(path: Path) -> Settings:
    return Settings(
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


def _samples(store: SQLiteStore) -> list[Sample]:
    return sorted(
        (s.isrc, s.source.value, s.day, s.total, s.delta) for s in store.iter_view_samples()
    )


@pytest.fixture(name="open_db")
def _open_db() -> Iterator[list[SQLiteStore]]:
    opened: list[SQLiteStore] = []
    yield opened
    for store in opened:
        store.close()


def _run_days(
    tmp_path: Path, name: str, days: list[date], opened: list[SQLiteStore]
) -> SQLiteStore:
    settings = _settings(tmp_path / f"{name}.db")
    store = SQLiteStore.from_url(settings.database.url)
    store.init()
    opened.append(store)
    for day in days:
        report = etl.run(settings, genres=["rap"], as_of=day, store=store)
        assert report.ok, report.failed_units
    return store


def test_rerunning_a_day_leaves_totals_and_deltas_as_one_run_made_them(
    tmp_path: Path, open_db: list[SQLiteStore]
) -> None:
    once = _run_days(tmp_path, "once", [DAY1, DAY2], open_db)
    twice = _run_days(tmp_path, "twice", [DAY1, DAY2, DAY2], open_db)

    expected = _samples(once)
    day2 = [s for s in expected if s[2] == DAY2]
    assert day2, "the second day recorded no samples"
    assert any(delta > 0 for *_, delta in day2)  # growth since DAY1 is what a re-run could lose
    assert _samples(twice) == expected
    for view in (GRAPH_DATA.name, PLAYLIST_DATA.name):
        first, second = once.get_view(Genre("rap"), view), twice.get_view(Genre("rap"), view)
        assert first is not None
        assert second is not None
        assert second.data == first.data


def test_empty_playlist_answer_keeps_the_last_good_playlist(
    tmp_path: Path, open_db: list[SQLiteStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _run_days(tmp_path, "empty", [DAY1], open_db)
    good = store.get_playlist(Genre("rap"), Service.APPLE_MUSIC.value)
    good_raw = store.latest_raw_playlist(Service.APPLE_MUSIC, Genre("rap"))
    assert good is not None
    assert good.tracks
    assert good_raw is not None

    parse = apple_music.parse_playlist
    # The provider's documented shape with no tracks in it: what an emptied playlist answers.
    monkeypatch.setattr(apple_music, "parse_playlist", lambda _: parse({"album_details": {}}))
    report = etl.run(_settings(tmp_path / "empty.db"), genres=["rap"], as_of=DAY2, store=store)

    extract = next(
        u for u in report.units if u.stage is Stage.EXTRACT and u.service is Service.APPLE_MUSIC
    )
    assert extract.status is UnitStatus.FAILED
    assert "empty" in (extract.error or "")
    assert store.get_playlist(Genre("rap"), Service.APPLE_MUSIC.value) == good
    assert store.latest_raw_playlist(Service.APPLE_MUSIC, Genre("rap")) == good_raw
    aggregate = store.get_playlist(Genre("rap"), AGGREGATE)
    assert aggregate is not None
    assert aggregate.run_id == report.run_id
    assert set(good.isrcs) & set(aggregate.isrcs)  # the last good Apple playlist still counts
