"""Every configured secret, actually emitted into logs, errors, health and metrics, never shows.

Each test is run once per secret and puts only that secret's value where a careless message
would: a log field, an exception, a stdlib record, an error report, a failing health row, a
metrics label. Dropping any one secret from `Settings.secret_values()` (the redactor's list)
fails that secret's tests; `test_table_names_every_secret_setting` keeps the table complete.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
import structlog
from pydantic import BaseModel, SecretStr

from tests.unit.api.test_app import WsgiClient
from tunemeld.api import create_app
from tunemeld.config import Settings
from tunemeld.config._url import REDACTED
from tunemeld.exceptions import TunemeldError
from tunemeld.services.cache import NullCache
from tunemeld.services.health import DiskUsage, run_health
from tunemeld.services.logging import close_log_file, configure_logging, debug_context
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import SQLiteStore, Store

DB_PASSWORD = "db-redact-p@ss/w0rd"
SECRETS = {
    "providers.rapidapi_key": "rk-redact-1a2b3c4d",
    "providers.spotify_client_id": "spid-redact-5e6f7a8b",
    "providers.spotify_client_secret": "spsec-redact-9c0d1e2f",
    "providers.youtube_api_key": "yt-redact-3a4b5c6d",
    "cache.cloudflare_api_token": "cf-redact-7e8f9a0b",
    "database.password": DB_PASSWORD,
}
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _forms(secret: str) -> set[str]:
    """How a secret may be written: as is and percent-encoded (a URL's password)."""
    return {secret, quote(secret, safe="")}


def _assert_absent(secret: str, text: str) -> None:
    for form in _forms(secret):
        assert form not in text


@pytest.fixture(autouse=True)
def _close_file() -> Iterator[None]:
    yield
    close_log_file()


@pytest.fixture(name="settings")
def _settings(tmp_path: Path) -> Settings:
    encoded = quote(DB_PASSWORD, safe="")
    return Settings(
        _env_file=None,
        providers={
            "mode": "live",
            **{k.split(".")[1]: v for k, v in SECRETS.items() if k.startswith("providers.")},
        },
        cache={
            "backend": "memory",
            "cloudflare_account_id": "acct",
            "cloudflare_namespace_id": "ns",
            "cloudflare_api_token": SECRETS["cache.cloudflare_api_token"],
        },
        database={"url": f"mongodb://app:{encoded}@db1:27017,db2:27017/tunemeld?replicaSet=rs0"},
        logging={"format": "json", "file": tmp_path / "api.log", "repeat_seconds": 0},
    )


@pytest.fixture(name="store")
def _store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "redact.db")
    yield store
    store.close()


def test_table_names_every_secret_setting(settings: Settings) -> None:
    found = set()

    def walk(model: BaseModel, prefix: str) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr):
                found.add(f"{prefix}{name}")
            elif isinstance(value, BaseModel):
                walk(value, f"{prefix}{name}.")

    walk(settings, "")
    assert found | {"database.password"} == set(SECRETS)
    for secret in SECRETS.values():
        assert secret in settings.secret_values()


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_logs_when_a_secret_is_logged_every_way_never_show_it(
    settings: Settings, secret: str, tmp_path: Path
) -> None:
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    log = structlog.get_logger()

    for form in _forms(secret):
        log.warning("provider_call_failed", url=f"https://api.test/v1?key={form}", nested=[form])
        try:
            raise ValueError(f"rejected credential {form}")
        except ValueError:
            log.exception("unexpected_error")
        logging.getLogger("waitress").warning("client sent %s", form)
        logging.getLogger("urllib3").warning("retrying %s", form)
    close_log_file()

    console, file = stream.getvalue(), (tmp_path / "api.log").read_text()
    assert console.count(REDACTED) >= 8  # every line was written, with the secret masked
    assert file.count(REDACTED) >= 8
    _assert_absent(secret, console)
    _assert_absent(secret, file)


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_errors_when_they_quote_a_secret_never_show_it(
    settings: Settings, secret: str, store: SQLiteStore
) -> None:
    report = json.dumps(debug_context(settings, error=f"KV said: bad token {secret}"))
    assert REDACTED in report
    _assert_absent(secret, report)

    class BrokenStore:
        def __getattr__(self, name: str) -> Any:
            if name in ("url", "close"):
                return getattr(store, name)
            raise RuntimeError(f"driver failed with {secret}")

    stream = io.StringIO()
    app = create_app(settings, cast(Store, BrokenStore()), NullCache())
    configure_logging(settings, stream=stream)
    answer = WsgiClient(app).get("/playlist-data/pop")

    assert answer.status == 500
    assert REDACTED in stream.getvalue()  # the error's log line was written, masked
    _assert_absent(secret, answer.body.decode() + answer.errors + stream.getvalue())


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_health_when_a_check_fails_quoting_a_secret_never_shows_it(
    settings: Settings, secret: str, store: SQLiteStore
) -> None:
    def opener(*_: object, **__: object) -> object:
        raise TunemeldError(f"login refused for {secret}", hint=f"check {secret}")

    report = run_health(
        settings,
        store=store,
        cache=NullCache(),
        live=True,
        disk_usage=lambda _: DiskUsage(10**12, 0, 10**12),
        now=NOW,
        provider_opener=opener,
    )

    text = report.model_dump_json()
    failed = [check for check in report.checks if check.group == "provider"]
    assert failed
    assert all(check.summary == f"login refused for {REDACTED}" for check in failed)
    _assert_absent(secret, text)


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_metrics_when_a_label_carries_a_secret_never_show_it(
    settings: Settings, secret: str, store: SQLiteStore
) -> None:
    metrics = Metrics()
    app = create_app(settings, store, NullCache(), metrics=metrics)
    for form in _forms(secret):
        metrics.record_provider_call("YouTube", f"videos?key={form}", 403, 1)

    answer = WsgiClient(app).get("/metrics")

    body = answer.body.decode()
    assert answer.status == 200
    assert f'endpoint="videos?key={REDACTED}"' in body
    _assert_absent(secret, body)
