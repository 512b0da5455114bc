"""`GET /openapi.json` is valid OpenAPI 3.1, and every route's real answers validate against it.

Answers come from the in-process app over a store filled by one sample-world run (and over an
empty store, for the "no data yet" errors); each body is checked with jsonschema against the
schema the document gives for that path, method, status and content type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.catalog import GENRES
from tests.integration.api_calls import ApiCaller, api_for
from tests.sample import sample_settings
from tunemeld import etl
from tunemeld.api.check import route_paths
from tunemeld.api.routes import ROUTES
from tunemeld.models import Genre
from tunemeld.services.store import SQLiteStore

ERROR_PATHS = [
    "/graph-data/jazz",
    "/playlist-data/" + "x" * 65,
    "/service-playlist/pop/Tidal",
    "/service-playlist/jazz/Spotify",
    "/api/main-playlist",
    "/api/service-playlist?genre=pop",
    "/api/service-playlist?genre=pop&service=Tidal",
    "/api/last-updated?genre=jazz",
    "/api/header-art?genre=" + "y" * 65,
    "/track/XX",
    "/track/USAAA2600000",
    "/track/" + "z" * 70,
]
"""Answers 400 or 404: each must be a documented status with a body in the error schema."""


@pytest.fixture(scope="module", name="filled")
def _filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiCaller]:
    settings = sample_settings(tmp_path_factory.mktemp("openapi") / "tunemeld.db")
    assert etl.run(settings, as_of=date(2026, 11, 24)).ok
    store = SQLiteStore.from_url(settings.database.url)
    try:
        with api_for(settings, store) as call:
            yield call
    finally:
        store.close()


@pytest.fixture(name="empty")
def _empty(tmp_path: Path) -> Iterator[ApiCaller]:
    settings = sample_settings(tmp_path / "empty.db")
    store = SQLiteStore.from_url(settings.database.url)
    store.init()
    try:
        with api_for(settings, store) as call:
            yield call
    finally:
        store.close()


@pytest.fixture(scope="module", name="document")
def _document(filled: ApiCaller) -> dict[str, Any]:
    status, body = filled("/openapi.json")
    assert status == 200
    document: dict[str, Any] = json.loads(body)
    return document


def _operation(document: dict[str, Any], path: str) -> dict[str, Any]:
    """The GET operation whose templated path matches `path` (query string ignored)."""
    parts = path.partition("?")[0].split("/")
    for template, item in document["paths"].items():
        pattern = template.split("/")
        if len(pattern) == len(parts) and all(
            p == q or (p.startswith("{") and q) for p, q in zip(pattern, parts, strict=True)
        ):
            operation: dict[str, Any] = item["get"]
            return operation
    raise AssertionError(f"{path} is not documented")


def _check(document: dict[str, Any], path: str, status: int, body: bytes) -> None:
    """The answer's status is documented for the path and its body fits the schema."""
    responses = _operation(document, path)["responses"]
    assert str(status) in responses, (path, status, sorted(responses))
    response = responses[str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    schema = response["content"]["application/json"]["schema"]
    # Refs are `#/components/...`: give the schema the document's components as its root.
    jsonschema.validate(json.loads(body), {**schema, "components": document["components"]})


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on an invalid document


def test_document_has_every_route_of_the_table_and_no_other(document: dict[str, Any]) -> None:
    documented = set(document["paths"])
    assert documented == {r.rule.replace("<", "{").replace(">", "}") for r in ROUTES}
    for item in document["paths"].values():
        responses = item["get"]["responses"]
        assert "500" in responses
        assert set(item) == {"get", "options"}


@pytest.mark.parametrize("path", [*route_paths(list(GENRES)), "/", "/openapi.json"])
def test_every_real_success_answer_fits_the_schema(
    filled: ApiCaller, document: dict[str, Any], path: str
) -> None:
    status, body = filled(path)
    assert status == 200, body[:300]
    _check(document, path, status, body)


def test_track_answers_of_real_recordings_fit_the_schema(
    filled: ApiCaller, document: dict[str, Any]
) -> None:
    """`/track/<isrc>` of every pop aggregate track (dashes and lower case forgiven)."""
    status, body = filled("/playlist-data/pop")
    isrcs = [track["isrc"] for track in json.loads(body)["data"][0]["tracks"]]
    assert isrcs
    for isrc in isrcs:
        for spelled in (isrc, f"{isrc[:2]}-{isrc[2:5]}-{isrc[5:]}".lower()):
            status, body = filled(f"/track/{spelled}")
            assert status == 200, body[:300]
            _check(document, f"/track/{spelled}", status, body)
            assert json.loads(body)["data"]["isrc"] == isrc


@pytest.mark.parametrize("path", ERROR_PATHS)
def test_every_error_answer_is_documented_and_fits_the_schema(
    filled: ApiCaller, document: dict[str, Any], path: str
) -> None:
    status, body = filled(path)
    assert status in (400, 404), body[:300]
    _check(document, path, status, body)


@pytest.mark.parametrize("path", route_paths([Genre("pop")])[1:])
def test_no_data_yet_answers_fit_the_schema(
    empty: ApiCaller, document: dict[str, Any], path: str
) -> None:
    status, body = empty(path)
    assert status == 404, body[:300]
    assert "inv etl.run" in json.loads(body)["message"]
    _check(document, path, status, body)


def test_a_renamed_field_would_not_fit(filled: ApiCaller, document: dict[str, Any]) -> None:
    """The schemas are strict: a served field under another name is caught, not ignored."""
    status, body = filled("/playlist-data/pop")
    data = json.loads(body)
    row = data["data"][0]["tracks"][0]
    row["trackName"] = row.pop("track_name")
    with pytest.raises(jsonschema.ValidationError, match="track_name"):
        _check(document, "/playlist-data/pop", status, json.dumps(data).encode())
