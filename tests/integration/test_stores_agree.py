"""The full pipeline on the sample world, run on both stores on two consecutive days, gives
the same data and byte-identical API answers.

Both runs use the same fixed clock and the same sample world, so the stores receive the same
writes; only the run ids (random per run) differ, and they never reach an API answer. The
routes compared are the data routes and the index; /health and /metrics describe the process
and the store themselves (URL, latency, counters), so they differ by design.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

import pytest

from tests.integration.api_calls import DATA_ROUTES, api_for
from tests.mongo_server import MongoServer
from tunemeld import etl
from tunemeld.config import Settings
from tunemeld.models import RunStatus
from tunemeld.services.store import EXPORTED, Store, open_store

DAYS = (date(2026, 11, 24), date(2026, 11, 25))

Filled = dict[str, tuple[Settings, Store]]


def _settings(url: str) -> Settings:
    return Settings(
        _env_file=None,
        env="testing",
        database={"url": url},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
    )


LATER = datetime(2026, 11, 27, 6, tzinfo=timezone.utc)
"""The runs' clock: after both days, so each day's samples get its fixed stamp (noon UTC)."""


def _fill(settings: Settings) -> None:
    for day in DAYS:
        report = etl.run(settings, as_of=day, clock=lambda: LATER)
        assert report.status is RunStatus.OK, [u.error for u in report.failed_units]


@pytest.fixture(scope="module", name="filled")
def _filled(
    tmp_path_factory: pytest.TempPathFactory, mongo_server: MongoServer
) -> Iterator[Filled]:
    """Both stores after full runs on two consecutive days (module-scoped: the runs are slow)."""
    path = tmp_path_factory.mktemp("agree") / "tunemeld.db"
    database = mongo_server.fresh_database()
    urls = {"sqlite": f"sqlite:///{path}", "mongo": mongo_server.database_url(database)}
    opened: Filled = {}
    try:
        for name, url in urls.items():
            settings = _settings(url)
            _fill(settings)
            opened[name] = (settings, open_store(settings))
        yield opened
    finally:
        for _, store in opened.values():
            store.close()
        mongo_server.drop_database(database)


def _comparable(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record without what differs per run: its run id, and the wall-clock time of a spend."""
    drop = {"run_id", "updated_at"} if name == "quota_usage" else {"run_id"}
    return {k: v for k, v in record.items() if k not in drop}


def test_api_when_both_stores_ran_the_pipeline_answers_every_route_identically(
    filled: Filled,
) -> None:
    """Every data route, known or unknown, gives the same status and the same bytes."""
    (sqlite_settings, sqlite_store), (mongo_settings, mongo_store) = (
        filled["sqlite"],
        filled["mongo"],
    )
    with (
        api_for(sqlite_settings, sqlite_store) as on_sqlite,
        api_for(mongo_settings, mongo_store) as on_mongo,
    ):
        answers = {path: (on_sqlite(path), on_mongo(path)) for path in DATA_ROUTES}

    for path, (from_sqlite, from_mongo) in answers.items():
        assert from_sqlite == from_mongo, path
    statuses = [status for (status, _body), _ in answers.values()]
    assert statuses.count(200) == len(DATA_ROUTES) - 2
    graph = json.loads(answers["/graph-data/pop"][0][1])["data"]
    assert graph, "the pipeline produced no graph data"


def test_stores_when_both_ran_the_pipeline_hold_the_same_records(filled: Filled) -> None:
    """Record for record, in the same order, apart from run ids and spending times."""
    _, sqlite_store = filled["sqlite"]
    _, mongo_store = filled["mongo"]
    for name in EXPORTED:
        if name == "runs":
            continue
        from_sqlite = [_comparable(name, r) for r in sqlite_store.export_records(name)]
        from_mongo = [_comparable(name, r) for r in mongo_store.export_records(name)]
        assert from_sqlite == from_mongo, name
        assert from_sqlite or name == "quota_usage", f"{name} is empty"
    sqlite_runs = sorted(sqlite_store.list_runs(), key=lambda r: r.as_of)
    mongo_runs = sorted(mongo_store.list_runs(), key=lambda r: r.as_of)
    assert [r.as_of for r in sqlite_runs] == [r.as_of for r in mongo_runs] == list(DAYS)
    assert [r.calls for r in sqlite_runs] == [r.calls for r in mongo_runs]
