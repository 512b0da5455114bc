"""MongoStore without a server: URL parsing and masking, and how driver errors are reported."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pymongo import MongoClient
from pymongo.errors import (
    AutoReconnect,
    ConfigurationError,
    DuplicateKeyError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from tunemeld.config import Settings, mask_url
from tunemeld.config._url import REDACTED
from tunemeld.exceptions import ConfigError, StoreError, StoreUnavailable, Transient
from tunemeld.services.store import MongoStore, open_store
from tunemeld.services.store.mongo import MongoTarget, parse_mongo_url

URL = "mongodb://app:s3cr%40t@db1.example.net:27017,db2.example.net:27018/charts?replicaSet=rs0"


class _FailingDatabase:
    """Stands in for a pymongo Database whose every command raises `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def command(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    def __getitem__(self, name: str) -> Any:
        return self


class _FakeClient:
    def __init__(self, error: Exception) -> None:
        self.database = _FailingDatabase(error)
        self.closed = False

    def get_database(self, name: str, **kwargs: Any) -> _FailingDatabase:
        return self.database

    def close(self) -> None:
        self.closed = True


def _store_failing_with(error: Exception, url: str = URL) -> MongoStore:
    def factory(target: MongoTarget) -> MongoClient[dict[str, Any]]:
        return cast("MongoClient[dict[str, Any]]", _FakeClient(error))

    return MongoStore.from_url(url, client_factory=factory, server_selection_timeout_ms=1500)


class TestParseMongoUrl:
    """Hosts, database and password, read without DNS or the driver."""

    def test_parse_when_several_hosts_and_a_path_returns_them_and_the_password(self) -> None:
        hosts, database, password = parse_mongo_url(URL, default_database="tunemeld")

        assert hosts == "db1.example.net:27017,db2.example.net:27018"
        assert database == "charts"
        assert password == "s3cr@t"

    @pytest.mark.parametrize(
        "url",
        [
            "mongodb://h:27017",
            "mongodb://h:27017/",
            "mongodb://h:27017/?w=majority",
            "mongodb://h?w=1",
        ],
    )
    def test_parse_when_no_database_in_path_uses_the_default(self, url: str) -> None:
        _hosts, database, password = parse_mongo_url(url, default_database="tunemeld")

        assert database == "tunemeld"
        assert password is None

    def test_parse_when_srv_marks_the_name_as_srv(self) -> None:
        hosts, database, _ = parse_mongo_url(
            "mongodb+srv://u:p@cluster0.abc.mongodb.net/prod", default_database="tunemeld"
        )

        assert hosts == "cluster0.abc.mongodb.net (SRV)"
        assert database == "prod"

    @pytest.mark.parametrize("url", ["postgres://h/db", "mongodb:///db", "mongodb://u:p@/db"])
    def test_parse_when_not_a_usable_mongodb_url_raises_config_error(self, url: str) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_mongo_url(url, default_database="tunemeld")

        assert caught.value.hint is not None
        assert "mongodb://" in caught.value.hint


class TestMaskMongoUrl:
    """Printable URLs: password and secret options hidden, everything else kept."""

    def test_mask_when_password_in_url_replaces_it_and_keeps_hosts(self) -> None:
        masked = mask_url(URL)

        assert "s3cr" not in masked
        assert masked == (
            "mongodb://app:**********@db1.example.net:27017,db2.example.net:27018/charts?replicaSet=rs0"
        )

    def test_mask_when_secret_option_hides_its_value(self) -> None:
        masked = mask_url(
            "mongodb+srv://c.example.net/?tlsCertificateKeyFilePassword=pw1&appName=x"
        )

        assert "pw1" not in masked
        assert masked.endswith("?tlsCertificateKeyFilePassword=**********&appName=x")

    def test_mask_when_no_password_returns_the_url_unchanged(self) -> None:
        assert mask_url("mongodb://h:1/db") == "mongodb://h:1/db"

    def test_target_repr_when_password_given_leaves_it_out(self) -> None:
        target = MongoTarget(url=URL, database="charts", hosts="h", password="s3cr@t")

        assert "s3cr" not in repr(target)

    def test_store_url_when_password_given_is_masked(self) -> None:
        store = _store_failing_with(AutoReconnect("x"))

        assert "s3cr" not in store.url
        assert "app:**********@" in store.url
        assert "s3cr" not in repr(store)


class TestErrorTranslation:
    """Every driver error becomes a TuneMeld error that names the hosts and never the password."""

    @pytest.mark.parametrize(
        ("error", "kind", "words"),
        [
            pytest.param(
                ServerSelectionTimeoutError(
                    "db1.example.net:27017: [Errno 111] Connection refused (configured timeouts: "
                    "socketTimeoutMS: 30000.0ms), Timeout: 1.5s, Topology Description: <...>"
                ),
                StoreUnavailable,
                "Cannot reach MongoDB at db1.example.net:27017,db2.example.net:27018",
                id="unreachable",
            ),
            pytest.param(
                OperationFailure("Authentication failed.", code=18),
                StoreUnavailable,
                "refused the credentials",
                id="bad-credentials",
            ),
            pytest.param(
                OperationFailure("not authorized on charts to execute command", code=13),
                StoreUnavailable,
                "lacks the privilege",
                id="unauthorized",
            ),
            pytest.param(
                OperationFailure(
                    "Transaction numbers are only allowed on a replica set member or mongos",
                    code=20,
                ),
                ConfigError,
                "standalone server",
                id="standalone",
            ),
            pytest.param(
                OperationFailure("WriteConflict", code=112),
                StoreUnavailable,
                "another writer",
                id="write-conflict",
            ),
            pytest.param(
                DuplicateKeyError("E11000 duplicate key"),
                StoreError,
                "duplicate key",
                id="duplicate",
            ),
            pytest.param(
                ConfigurationError("Unknown option fooBar"),
                ConfigError,
                "not valid",
                id="bad-option",
            ),
            pytest.param(
                ConfigurationError("The DNS query name does not exist: _mongodb._tcp.x."),
                StoreUnavailable,
                "Cannot resolve",
                id="dns",
            ),
            pytest.param(
                AutoReconnect("connection closed by s3cr@t"),
                StoreUnavailable,
                "Lost the connection",
                id="connection-lost",
            ),
        ],
    )
    def test_ping_when_driver_raises_translates_with_hosts_and_hint(
        self, error: Exception, kind: type[Exception], words: str
    ) -> None:
        store = _store_failing_with(error)

        with pytest.raises(kind) as caught:
            store.ping()

        text = str(caught.value)
        assert words in text
        assert "s3cr@t" not in text
        assert "s3cr%40t" not in text
        assert isinstance(caught.value, (StoreError, ConfigError))
        assert caught.value.hint
        assert caught.value.__cause__ is None  # the driver's own text stays out of tracebacks

    def test_ping_when_driver_text_quotes_the_password_shows_it_redacted(self) -> None:
        """The password, as written or percent-encoded, becomes the one REDACTED marker."""
        store = _store_failing_with(AutoReconnect("closed by s3cr@t, then s3cr%40t"))

        with pytest.raises(StoreUnavailable) as caught:
            store.ping()

        assert f"closed by {REDACTED}, then {REDACTED}" in caught.value.message

    def test_ping_when_the_error_is_not_the_drivers_lets_it_through_unchanged(self) -> None:
        """Only driver errors are translated (by their type, never by their traceback)."""
        error = RuntimeError("a bug, not a store failure")
        store = _store_failing_with(error)

        with pytest.raises(RuntimeError) as caught:
            store.ping()

        assert caught.value is error

    def test_ping_when_server_unreachable_says_how_long_it_waited_and_is_transient(self) -> None:
        store = _store_failing_with(ServerSelectionTimeoutError("h:1: timed out, Timeout: 1.5s"))

        with pytest.raises(StoreUnavailable) as caught:
            store.ping()

        assert "1500 ms" in caught.value.message
        assert isinstance(caught.value, Transient)
        assert caught.value.hint is not None
        assert "SERVER_SELECTION_TIMEOUT_MS" in caught.value.hint

    def test_standalone_error_when_raised_says_how_to_start_a_replica_set(self) -> None:
        store = _store_failing_with(
            OperationFailure("Transaction numbers are only allowed on a replica set", code=20)
        )

        with pytest.raises(ConfigError) as caught:
            store.ping()

        assert caught.value.hint is not None
        assert "--replSet" in caught.value.hint

    def test_store_when_closed_refuses_work_and_closes_the_client(self) -> None:
        client = _FakeClient(AutoReconnect("x"))
        store = MongoStore.from_url(
            "mongodb://h/db", client_factory=lambda target: cast("MongoClient[Any]", client)
        )

        store.close()

        assert client.closed
        with pytest.raises(StoreError, match="closed"):
            store.get_run("r")
        with pytest.raises(StoreError, match="closed"), store.unit():
            pass


class TestOpenStore:
    """open_store picks MongoStore for mongodb URLs and uses the settings' timeouts."""

    def test_open_store_when_url_is_unusable_raises_config_error_without_password(self) -> None:
        settings = Settings(_env_file=None, database={"url": "mongodb://u:hunter2@/db"})

        with pytest.raises(ConfigError) as caught:
            open_store(settings)

        assert "hunter2" not in str(caught.value)

    def test_from_url_when_given_timeouts_passes_them_to_the_client_factory(self) -> None:
        seen: list[MongoTarget] = []

        def factory(target: MongoTarget) -> MongoClient[dict[str, Any]]:
            seen.append(target)
            return cast("MongoClient[dict[str, Any]]", _FakeClient(AutoReconnect("x")))

        store = MongoStore.from_url(
            "mongodb://h:1",
            default_database="fallback",
            connect_timeout_ms=111,
            server_selection_timeout_ms=222,
            socket_timeout_ms=333,
            client_factory=factory,
        )

        assert store.database_name == "fallback"
        assert (
            seen[0].connect_timeout_ms,
            seen[0].server_selection_timeout_ms,
            seen[0].socket_timeout_ms,
        ) == (111, 222, 333)
