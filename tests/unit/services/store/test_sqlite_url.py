"""SQLiteStore without a database: URL parsing, construction, and argument checks before any I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tunemeld.exceptions import ConfigError
from tunemeld.models import Service, ServiceTrack, Track, ViewSample, ViewSource
from tunemeld.services.store import SQLiteStore
from tunemeld.services.store.sqlite import parse_sqlite_url

NAIVE = datetime(2025, 1, 1, 12)


class TestParseSqliteUrl:
    """`sqlite:///x` names a file relative to the working folder, `sqlite:////x` an absolute one."""

    def test_parse_when_three_slashes_returns_a_relative_path(self) -> None:
        """The default URL names a file under the working folder."""
        assert parse_sqlite_url("sqlite:///.tunemeld/tunemeld.db") == Path(".tunemeld/tunemeld.db")

    def test_parse_when_four_slashes_returns_an_absolute_path(self) -> None:
        """The fourth slash starts an absolute path."""
        path = parse_sqlite_url("sqlite:////var/lib/tunemeld/db.sqlite")

        assert path == Path("/var/lib/tunemeld/db.sqlite")
        assert path.is_absolute()

    @given(st.from_regex(r"[A-Za-z0-9_.-]{1,20}(/[A-Za-z0-9_.-]{1,20}){0,3}", fullmatch=True))
    def test_parse_when_plain_relative_path_returns_it_unchanged(self, rest: str) -> None:
        """Whatever follows the prefix is the path, character for character."""
        assert parse_sqlite_url("sqlite:///" + rest) == Path(rest)

    @pytest.mark.parametrize(
        "url", ["sqlite:///:memory:", "sqlite:///:memory:?cache=shared", "sqlite:///x?mode=memory"]
    )
    def test_parse_when_in_memory_raises_config_error_explaining_why(self, url: str) -> None:
        """An in-memory store would vanish with the process."""
        with pytest.raises(ConfigError, match="in-memory") as caught:
            parse_sqlite_url(url)

        assert caught.value.hint is not None
        assert "sqlite:///" in caught.value.hint

    @pytest.mark.parametrize(
        ("url", "problem"),
        [
            ("mongodb://localhost/tunemeld", "not a SQLite URL"),
            ("sqlite://relative.db", "not a SQLite URL"),
            ("postgres:///x.db", "not a SQLite URL"),
            ("sqlite:///", "names no file"),
            ("sqlite:///data/", "names a folder"),
            ("sqlite:///x.db?timeout=5", "has options"),
            ("sqlite:///x.db#frag", "has options"),
            ("sqlite:///file:x.db", "SQLite URI"),
        ],
    )
    def test_parse_when_url_is_unusable_raises_config_error_with_hint(
        self, url: str, problem: str
    ) -> None:
        """Each refusal says what is wrong and shows the accepted forms."""
        with pytest.raises(ConfigError, match=problem) as caught:
            parse_sqlite_url(url)

        assert caught.value.hint is not None
        assert "sqlite:////absolute/path.db" in caught.value.hint

    def test_config_error_when_raised_is_also_a_value_error(self) -> None:
        """Callers that validate input can catch ValueError."""
        with pytest.raises(ValueError, match="SQLite"):
            parse_sqlite_url("redis://x")


class TestSQLiteStoreConstruction:
    """Building a store is cheap and validates its arguments; the file is opened on first use."""

    def test_from_url_when_relative_resolves_against_the_working_folder(self) -> None:
        """A relative URL is anchored at the current directory when the store is built."""
        store = SQLiteStore.from_url("sqlite:///data/t.db")

        assert store.path == Path.cwd() / "data" / "t.db"
        assert store.url == "sqlite:///" + (Path.cwd() / "data" / "t.db").as_posix()

    def test_from_url_when_absolute_keeps_the_path(self, tmp_path: Path) -> None:
        """An absolute URL is used as is, and `url` gives it back."""
        url = f"sqlite:///{tmp_path / 'abs.db'}"

        store = SQLiteStore.from_url(url)

        assert store.path == tmp_path / "abs.db"
        assert store.url == url

    def test_from_url_when_url_of_a_store_given_opens_the_same_file(self, tmp_path: Path) -> None:
        """`url` round-trips through from_url."""
        store = SQLiteStore(tmp_path / "a" / "b.db")

        assert SQLiteStore.from_url(store.url).path == store.path

    def test_url_when_printed_in_repr_shows_the_file(self, tmp_path: Path) -> None:
        """The repr names the file, which is all a SQLite URL holds (no password)."""
        store = SQLiteStore(tmp_path / "r.db")

        assert repr(store) == f"SQLiteStore('{store.url}')"

    def test_constructor_when_building_touches_no_disk(self, tmp_path: Path) -> None:
        """No folder or file appears until the store is used."""
        SQLiteStore(tmp_path / "later" / "t.db", timeout_ms=250)

        assert not (tmp_path / "later").exists()

    def test_init_when_parent_folder_is_missing_creates_it(self, tmp_path: Path) -> None:
        """The folders of the database path are created on first use."""
        store = SQLiteStore.from_url("sqlite:///nested/deeper/t.db")

        store.init()
        store.close()

        assert (Path.cwd() / "nested" / "deeper" / "t.db").is_file()
        assert Path.cwd().is_relative_to(tmp_path)

    def test_constructor_when_path_is_memory_raises_config_error(self) -> None:
        """The constructor refuses `:memory:` too, not only from_url."""
        with pytest.raises(ConfigError, match="in-memory"):
            SQLiteStore(Path(":memory:"))

    def test_constructor_when_timeout_is_negative_raises_value_error(self, tmp_path: Path) -> None:
        """A negative busy timeout is a programming error."""
        with pytest.raises(ValueError, match="timeout_ms"):
            SQLiteStore(tmp_path / "t.db", timeout_ms=-1)


class TestArgumentChecks:
    """Bad arguments fail before the database file is touched."""

    def test_upsert_tracks_when_datetime_is_naive_raises_before_any_io(
        self, tmp_path: Path
    ) -> None:
        """A naive datetime names its field, and no file is created."""
        store = SQLiteStore(tmp_path / "none.db")
        track = Track(
            isrc="USABC2500001",
            title="t",
            artist="a",
            services={Service.SPOTIFY: ServiceTrack(title="t", artist="a")},
            updated_at=NAIVE,
        )

        with pytest.raises(ValueError, match=r"USABC2500001\.updated_at is a naive datetime"):
            store.upsert_tracks([track])

        assert not (tmp_path / "none.db").exists()

    def test_save_view_samples_when_timestamp_is_naive_raises_value_error(
        self, tmp_path: Path
    ) -> None:
        """Samples are checked like every other model."""
        store = SQLiteStore(tmp_path / "none.db")
        sample = ViewSample(
            isrc="USABC2500001",
            source=ViewSource.YOUTUBE,
            day=date(2025, 1, 1),
            timestamp=NAIVE,
            total=1,
            delta=0,
            run_id="r",
        )

        with pytest.raises(ValueError, match="naive"):
            store.save_view_samples([sample])

        assert not (tmp_path / "none.db").exists()

    def test_list_runs_when_limit_is_negative_raises_value_error(self, tmp_path: Path) -> None:
        """A negative limit is a programming error, not "no limit"."""
        with pytest.raises(ValueError, match="limit"):
            SQLiteStore(tmp_path / "none.db").list_runs(limit=-1)

    def test_writes_when_given_aware_non_utc_datetimes_are_accepted(self, tmp_path: Path) -> None:
        """Only naive datetimes are refused; any offset is fine."""
        store = SQLiteStore(tmp_path / "t.db")
        store.init()
        aware = datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5)))
        track = Track(isrc="USABC2500001", title="t", artist="a", updated_at=aware)

        assert store.upsert_tracks([track]) == 1
        store.close()
