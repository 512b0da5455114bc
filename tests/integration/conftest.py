"""Integration fixtures: one MongoDB server per session, and a fresh database per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.mongo_server import (
    EXTERNAL_URL_VARIABLE,
    MongoServer,
    MongoServerError,
    running_mongo_server,
)

# Read at import: the autouse `_isolated_env` fixture hides TUNEMELD_* variables from tests.
_EXTERNAL_URL = os.environ.get(EXTERNAL_URL_VARIABLE)
_IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session", name="mongo_server")
def _mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    """A MongoDB server for the whole session; in CI a server that cannot start fails the run."""
    workdir = tmp_path_factory.mktemp("mongo")
    try:
        with running_mongo_server(workdir, _EXTERNAL_URL) as server:
            yield server
            return
    except MongoServerError as exc:
        if _IN_CI:
            pytest.fail(f"No MongoDB server for the MongoDB side of the suite: {exc}")
        pytest.skip(f"No MongoDB server (install nx-27017 or mongod): {exc}")


@pytest.fixture(name="mongo_url")
def _mongo_url(mongo_server: MongoServer) -> Iterator[str]:
    """The URL of a fresh database on the session's server, dropped after the test."""
    database = mongo_server.fresh_database()
    yield mongo_server.database_url(database)
    mongo_server.drop_database(database)
