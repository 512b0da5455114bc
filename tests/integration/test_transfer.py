"""Export, import and copy between real stores: exact round trips and clear refusals."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.mongo_server import MongoServer
from tunemeld.exceptions import ConfigError
from tunemeld.models import (
    AGGREGATE,
    Genre,
    Playlist,
    PlaylistMeta,
    Ranking,
    RawPlaylist,
    RawTrack,
    RunReport,
    Service,
    ServiceTrack,
    Stage,
    Track,
    TrackRank,
    ViewDoc,
    ViewSample,
    ViewSource,
    view_version,
)
from tunemeld.services.store import EXPORTED, Lookup, MongoStore, SQLiteStore, Store
from tunemeld.services.store.transfer import MANIFEST, copy_store, export_store, import_store

PLUS_TWO = timezone(timedelta(hours=2))
T0 = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=PLUS_TWO)
DAY = date(2025, 6, 1)

Opener = Callable[[], Store]


@pytest.fixture(name="open_sqlite")
def _open_sqlite(tmp_path: Path) -> Iterator[Callable[[str], Store]]:
    """Opens initialised SQLite stores by file name under tmp_path; closes them afterwards."""
    opened: list[Store] = []

    def open_one(name: str) -> Store:
        store = SQLiteStore(tmp_path / f"{name}.db")
        store.init()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture(name="open_mongo")
def _open_mongo(mongo_server: MongoServer) -> Iterator[Callable[[], Store]]:
    """Opens initialised MongoDB stores, each on a fresh database dropped afterwards."""
    opened: list[tuple[Store, str]] = []

    def open_one() -> Store:
        database = mongo_server.fresh_database()
        store = MongoStore.from_url(mongo_server.database_url(database))
        store.init()
        opened.append((store, database))
        return store

    yield open_one
    for store, database in opened:
        store.close()
        mongo_server.drop_database(database)


def _isrc(n: int) -> str:
    return f"USABC{n:07d}"


def _fill(store: Store, *, samples: int = 1200) -> None:
    """Every collection, with offsets, microseconds, None values, unicode and > 1 page."""
    meta = PlaylistMeta(
        service=Service.SPOTIFY,
        genre=Genre("pop"),
        playlist_id="pl1",
        name="Hits ✨",
        url="https://x.test/pl1",
    )
    for n in range(3):
        store.save_raw_playlist(
            RawPlaylist(
                service=Service.SPOTIFY,
                genre=Genre("pop"),
                meta=meta,
                tracks=[
                    RawTrack(
                        service=Service.SPOTIFY, rank=1, title="Ça va", artist="Zoë", isrc=None
                    )
                ],
                fetched_at=T0 + timedelta(hours=n),
                run_id=f"r{n}",
            ),
            keep=5,
        )
    store.upsert_tracks(
        Track(
            isrc=_isrc(n),
            title=f"Song {n} — ünïcode",
            artist="Artist",
            services={
                Service.SPOTIFY: ServiceTrack(title="S", artist="A", url="https://s.test/t"),
                Service.SOUNDCLOUD: ServiceTrack(title="S", artist="A", url="https://c.test/t"),
            },
            spotify_id=None if n % 2 else f"{n:022d}",
            updated_at=T0 + timedelta(microseconds=n),
        )
        for n in range(1100)
    )
    store.save_playlist(
        Playlist(
            genre=Genre("pop"),
            service_name=AGGREGATE,
            tracks=[TrackRank(isrc=_isrc(1), rank=1, sources={Service.SPOTIFY: 3})],
            updated_at=T0,
            run_id="r",
        )
    )
    for day in range(3):  # 150 records a day: one is split across import batches of 250
        for name in (AGGREGATE, Service.SPOTIFY.value):
            store.save_rankings(
                Genre("pop"),
                name,
                DAY + timedelta(days=day),
                [
                    Ranking(
                        genre=Genre("pop"),
                        playlist=name,
                        day=DAY + timedelta(days=day),
                        isrc=_isrc((n * 7 + day) % 1100),
                        rank=n + 1,
                        run_id=f"r{day}",
                        recorded_at=T0 + timedelta(days=day, microseconds=n),
                    )
                    for n in range(150)
                ],
            )
    store.save_view_samples(
        ViewSample(
            isrc=_isrc(n % 400),
            source=ViewSource.YOUTUBE if n % 2 else ViewSource.SPOTIFY,
            day=DAY + timedelta(days=n // 400),
            timestamp=T0 + timedelta(days=n // 400),
            total=10**12 + n,
            delta=-n,
            run_id="r",
        )
        for n in range(samples)
    )
    store.put_lookup(
        Lookup(kind="youtube_id", key=_isrc(1), value=None, expires_at=T0, updated_at=T0)
    )
    store.put_lookup(Lookup(kind="cover", key="k|ü", value="v", expires_at=T0, updated_at=T0))
    store.save_run(
        RunReport(
            run_id="run-1",
            as_of=DAY,
            started_at=T0,
            finished_at=T0 + timedelta(seconds=1.5),
            stages=[Stage.EXTRACT],
            genres=[Genre("pop")],
            services=[Service.SPOTIFY],
            calls={"Spotify": {"playlist": 1}},
        )
    )
    data = {"tracks": [{"isrc": _isrc(1), "ratio": 0.25, "none": None, "nested": [1, [2]]}]}
    store.save_views(
        [
            ViewDoc(
                genre=Genre("pop"), name="x", data=data, version=view_version(data), updated_at=T0
            )
        ]
    )
    store.add_quota_usage(DAY, "youtube_search", 100, at=T0)
    store.add_quota_usage(DAY, "youtube_search", 7, at=T0 + timedelta(seconds=1))


def _export_bytes(store: Store, folder: Path) -> dict[str, bytes]:
    export_store(store, folder)
    return {name: (folder / f"{name}.jsonl").read_bytes() for name in EXPORTED}


def _records(store: Store) -> dict[str, list[object]]:
    return {name: list(store.export_records(name)) for name in EXPORTED}


class TestRoundTrip:
    """Every record comes back exactly, whichever store it leaves and enters."""

    @pytest.mark.parametrize("direction", ["sqlite_to_mongo", "mongo_to_sqlite"])
    def test_import_when_export_came_from_the_other_store_round_trips_every_record(
        self,
        direction: str,
        open_sqlite: Callable[[str], Store],
        open_mongo: Callable[[], Store],
        tmp_path: Path,
    ) -> None:
        """Export, import elsewhere, export again: identical files, equal models."""
        source, target = (
            (open_sqlite("a"), open_mongo())
            if direction == "sqlite_to_mongo"
            else (open_mongo(), open_sqlite("b"))
        )
        _fill(source)
        first = _export_bytes(source, tmp_path / "first")

        counts = import_store(target, tmp_path / "first", batch=250)

        assert _export_bytes(target, tmp_path / "second") == first
        assert counts == {s.name: s.count for s in source.status() if s.name in EXPORTED}
        assert counts["view_counts"] == 1200
        assert counts["rankings"] == 900
        assert target.track_rankings(_isrc(7)) == source.track_rankings(_isrc(7))
        assert target.get_tracks([_isrc(2)]) == source.get_tracks([_isrc(2)])
        stored = target.get_tracks([_isrc(2)])[_isrc(2)]
        assert stored.updated_at.utcoffset() == timedelta(hours=2)
        assert stored.updated_at.microsecond == 123456 + 2
        assert target.quota_usage(DAY) == {"youtube_search": 107}
        assert target.list_runs() == source.list_runs()

    def test_export_when_written_has_a_manifest_with_counts_and_version(
        self, open_sqlite: Callable[[str], Store], tmp_path: Path
    ) -> None:
        """The manifest names the format, this tunemeld and each file's count."""
        store = open_sqlite("a")
        _fill(store, samples=3)

        export_store(store, tmp_path / "out")

        manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
        assert manifest["format"] == "tunemeld-export"
        assert manifest["format_version"] == 1
        assert manifest["collections"]["view_counts"]["count"] == 3
        assert manifest["collections"]["tracks"]["count"] == 1100
        lines = (tmp_path / "out" / "view_counts.jsonl").read_text().splitlines()
        assert json.loads(lines[0])["timestamp"].endswith("Z")  # stored in UTC by contract


class TestCopy:
    """Copy streams one store into another, with progress."""

    def test_copy_when_sqlite_to_mongo_leaves_identical_stores(
        self,
        open_sqlite: Callable[[str], Store],
        open_mongo: Callable[[], Store],
        tmp_path: Path,
    ) -> None:
        """Both stores export the same bytes afterwards; progress reaches every total."""
        source, target = open_sqlite("a"), open_mongo()
        _fill(source)
        seen: dict[str, tuple[int, int]] = {}

        counts = copy_store(
            source, target, progress=lambda name, done, total: seen.update({name: (done, total)})
        )

        assert _export_bytes(target, tmp_path / "t") == _export_bytes(source, tmp_path / "s")
        assert seen == {name: (counts[name], counts[name]) for name in EXPORTED}

    def test_copy_when_target_has_data_refuses_unless_replace(
        self, open_sqlite: Callable[[str], Store], open_mongo: Callable[[], Store]
    ) -> None:
        """A non-empty target is left alone; --replace empties it first."""
        source, target = open_sqlite("a"), open_mongo()
        _fill(source, samples=5)
        target.put_lookup(Lookup(kind="old", key="k", value="v", expires_at=T0, updated_at=T0))

        with pytest.raises(ConfigError, match="not empty") as caught:
            copy_store(source, target)
        assert caught.value.hint is not None
        assert "--replace" in caught.value.hint
        assert target.get_lookup("old", "k") is not None

        copy_store(source, target, replace=True)

        assert target.get_lookup("old", "k") is None
        assert _records(target) == _records(source)

    def test_copy_when_target_is_the_source_refuses(
        self, open_sqlite: Callable[[str], Store]
    ) -> None:
        """Copying a store onto itself would empty it with --replace: refused."""
        store = open_sqlite("a")

        with pytest.raises(ConfigError, match="same store"):
            copy_store(store, store, replace=True)


class TestImportRefusals:
    """A bad export is reported with its file and line, and nothing is loaded."""

    @pytest.fixture(name="exported")
    def _exported(self, open_sqlite: Callable[[str], Store], tmp_path: Path) -> Path:
        store = open_sqlite("a")
        _fill(store, samples=10)
        folder = tmp_path / "export"
        export_store(store, folder)
        return folder

    def _rewrite(self, folder: Path, name: str, text: str) -> None:
        """Replace a collection file and fix its manifest entry, so only the content is wrong."""
        path = folder / f"{name}.jsonl"
        path.write_text(text, encoding="utf-8")
        manifest = json.loads((folder / MANIFEST).read_text())
        manifest["collections"][name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest["collections"][name]["count"] = len(text.splitlines())
        (folder / MANIFEST).write_text(json.dumps(manifest))

    def _assert_empty(self, store: Store) -> None:
        assert {s.count for s in store.status()} == {0}

    def test_import_when_a_file_was_changed_refuses_by_checksum(
        self, exported: Path, open_sqlite: Callable[[str], Store]
    ) -> None:
        target = open_sqlite("b")
        path = exported / "lookups.jsonl"
        path.write_text(path.read_text().replace("cover", "cover2"))

        with pytest.raises(ConfigError, match="checksum") as caught:
            import_store(target, exported)

        assert "lookups.jsonl" in caught.value.message
        self._assert_empty(target)

    def test_import_when_a_record_is_invalid_names_file_and_line(
        self, exported: Path, open_sqlite: Callable[[str], Store]
    ) -> None:
        target = open_sqlite("b")
        lines = (exported / "view_counts.jsonl").read_text().splitlines()
        bad = json.loads(lines[2])
        bad["total"] = -5
        lines[2] = json.dumps(bad)
        self._rewrite(exported, "view_counts", "\n".join(lines) + "\n")

        with pytest.raises(ConfigError, match=r"view_counts\.jsonl:3: not a valid ViewSample"):
            import_store(target, exported)

        self._assert_empty(target)

    def test_import_when_a_line_is_not_json_names_file_and_line(
        self, exported: Path, open_sqlite: Callable[[str], Store]
    ) -> None:
        target = open_sqlite("b")
        text = (exported / "runs.jsonl").read_text()
        self._rewrite(exported, "runs", text + '{"run_id": \n')

        with pytest.raises(ConfigError, match=r"runs\.jsonl:2 is not a JSON record"):
            import_store(target, exported)

        self._assert_empty(target)

    def test_import_when_a_key_repeats_refuses(
        self, exported: Path, open_sqlite: Callable[[str], Store]
    ) -> None:
        target = open_sqlite("b")
        text = (exported / "lookups.jsonl").read_text()
        first = text.splitlines()[0]
        self._rewrite(exported, "lookups", text + first + "\n")

        with pytest.raises(ConfigError, match="second record with the key"):
            import_store(target, exported)

        self._assert_empty(target)

    def test_import_when_no_manifest_says_it_is_no_complete_export(
        self, exported: Path, open_sqlite: Callable[[str], Store]
    ) -> None:
        target = open_sqlite("b")
        (exported / MANIFEST).unlink()

        with pytest.raises(ConfigError, match="not a complete export") as caught:
            import_store(target, exported)

        assert caught.value.hint is not None
        assert "db.export" in caught.value.hint

    def test_import_when_format_is_newer_refuses(
        self, exported: Path, open_sqlite: Callable[[str], Store]
    ) -> None:
        manifest = json.loads((exported / MANIFEST).read_text())
        manifest["format_version"] = 99
        (exported / MANIFEST).write_text(json.dumps(manifest))

        with pytest.raises(ConfigError, match="format version 99"):
            import_store(open_sqlite("b"), exported)

    def test_import_when_store_has_data_refuses_unless_replace(
        self, exported: Path, open_sqlite: Callable[[str], Store]
    ) -> None:
        target = open_sqlite("b")
        target.put_lookup(Lookup(kind="old", key="k", value="v", expires_at=T0, updated_at=T0))

        with pytest.raises(ConfigError, match="not empty"):
            import_store(target, exported)
        assert target.get_lookup("old", "k") is not None

        import_store(target, exported, replace=True)

        assert target.get_lookup("old", "k") is None
        assert target.get_lookup("cover", "k|ü") is not None

    def test_export_when_folder_has_files_refuses(
        self, open_sqlite: Callable[[str], Store], tmp_path: Path
    ) -> None:
        folder = tmp_path / "busy"
        folder.mkdir()
        (folder / "notes.txt").write_text("mine")

        with pytest.raises(ConfigError, match="not an empty folder"):
            export_store(open_sqlite("a"), folder)

        assert [p.name for p in folder.iterdir()] == ["notes.txt"]
