"""The `tunemeld db.*` tasks run as a user would: MongoDB errors, export, import and copy."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.e2e.test_cli import tunemeld
from tests.integration.conftest import _mongo_server, _mongo_url  # noqa: F401 (fixtures)
from tunemeld.services.store import COLLECTIONS, EXPORTED, RUN_LEASE, Lease, SQLiteStore

DAY = "2026-03-01"


def _sqlite_env(path: Path) -> dict[str, str]:
    return {"TUNEMELD_DATABASE__URL": f"sqlite:///{path}", "TUNEMELD_PROVIDERS__MODE": "sample"}


@pytest.fixture(scope="module", name="filled_sqlite")
def _filled_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store after one full run on the sample world."""
    folder = tmp_path_factory.mktemp("cli_db")
    path = folder / "filled.db"
    result = tunemeld(folder, "etl.run", "--stage", "full", "--date", DAY, env=_sqlite_env(path))
    assert result.returncode == 0, result.stderr[-3000:]
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / f"{name}.jsonl").read_bytes() for name in EXPORTED}


class TestUnreachableMongo:
    """A wrong MongoDB URL fails fast, in words, without the password."""

    @pytest.mark.parametrize("task", ["db.status", "db.init", "etl.status"])
    def test_task_when_server_is_unreachable_exits_2_naming_the_host_not_the_password(
        self, tmp_path: Path, task: str
    ) -> None:
        env = {
            "MONGODB_URL": "mongodb://user:hunter2@127.0.0.1:1/x",
            "TUNEMELD_DATABASE__SERVER_SELECTION_TIMEOUT_MS": "300",
        }

        result = tunemeld(tmp_path, task, env=env, timeout=60)

        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "127.0.0.1:1" in result.stderr
        assert "hunter2" not in output
        assert "Traceback" not in output
        assert "Hint:" in result.stderr

    def test_db_status_when_srv_name_does_not_resolve_exits_2_with_a_dns_hint(
        self, tmp_path: Path
    ) -> None:
        env = {"MONGODB_URL": "mongodb+srv://user:hunter2@cluster0.nonexistent.invalid/x"}

        result = tunemeld(tmp_path, "db.status", env=env, timeout=60)

        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "cluster0.nonexistent.invalid" in result.stderr
        assert "DNS" in result.stderr
        assert "hunter2" not in output


class TestOnMongo:
    """db.init / db.status on a MongoDB database."""

    def test_db_init_when_run_twice_succeeds_and_status_lists_every_collection(
        self, tmp_path: Path, mongo_url: str
    ) -> None:
        env = {"MONGODB_URL": mongo_url}

        first = tunemeld(tmp_path, "db.init", env=env)
        second = tunemeld(tmp_path, "db.init", env=env)
        status = tunemeld(tmp_path, "db.status", env=env)

        assert first.returncode == second.returncode == status.returncode == 0, status.stderr
        assert mongo_url in "".join(status.stdout.split())  # the table title may wrap it
        for name in COLLECTIONS:
            assert name in status.stdout


class TestTransferTasks:
    """db.copy, db.export and db.import between a SQLite file and MongoDB."""

    def test_db_copy_when_sqlite_to_mongo_then_both_export_the_same_files(
        self, filled_sqlite: Path, mongo_url: str, tmp_path: Path
    ) -> None:
        copied = tunemeld(tmp_path, "db.copy", "--to", mongo_url, env=_sqlite_env(filled_sqlite))
        assert copied.returncode == 0, copied.stderr
        assert "Copied" in copied.stdout

        from_sqlite = tunemeld(tmp_path, "db.export", "s", env=_sqlite_env(filled_sqlite))
        from_mongo = tunemeld(tmp_path, "db.export", "m", env={"MONGODB_URL": mongo_url})

        assert from_sqlite.returncode == from_mongo.returncode == 0, from_mongo.stderr
        assert _files(tmp_path / "s") == _files(tmp_path / "m")
        manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
        assert manifest["collections"]["tracks"]["count"] > 100

    def test_db_copy_when_target_not_empty_exits_2_and_replace_overwrites(
        self, filled_sqlite: Path, tmp_path: Path
    ) -> None:
        target = tmp_path / "target.db"
        env = _sqlite_env(filled_sqlite)
        assert tunemeld(tmp_path, "db.copy", "--to", f"sqlite:///{target}", env=env).returncode == 0

        again = tunemeld(tmp_path, "db.copy", "--to", f"sqlite:///{target}", env=env)
        replaced = tunemeld(
            tmp_path, "db.copy", "--to", f"sqlite:///{target}", "--replace", env=env
        )

        assert again.returncode == 2
        assert "not empty" in again.stderr
        assert "--replace" in again.stderr
        assert replaced.returncode == 0, replaced.stderr

    def test_db_import_when_export_round_trips_into_a_new_store_every_record_matches(
        self, filled_sqlite: Path, tmp_path: Path
    ) -> None:
        exported = tunemeld(tmp_path, "db.export", "out", env=_sqlite_env(filled_sqlite))
        assert exported.returncode == 0, exported.stderr
        fresh = tmp_path / "fresh.db"

        imported = tunemeld(tmp_path, "db.import", "out", env=_sqlite_env(fresh))
        again = tunemeld(tmp_path, "db.export", "again", env=_sqlite_env(fresh))

        assert imported.returncode == 0, imported.stderr
        assert again.returncode == 0, again.stderr
        assert _files(tmp_path / "out") == _files(tmp_path / "again")
        with sqlite3.connect(fresh) as conn:
            (count,) = conn.execute("SELECT count(*) FROM view_counts").fetchone()
        conn.close()
        assert count > 100

    def test_db_import_when_folder_is_not_an_export_exits_2_with_a_hint(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "nothing").mkdir()

        result = tunemeld(tmp_path, "db.import", "nothing", env=_sqlite_env(tmp_path / "x.db"))

        assert result.returncode == 2
        assert "not a complete export" in result.stderr
        assert "Traceback" not in result.stderr


class TestWritersTakeTheLease:
    """db.reset and db.import write the whole store: not while a run holds its lease."""

    @pytest.mark.parametrize("task", [("db.reset", "--yes"), ("db.import", "--replace", "x")])
    def test_task_when_a_run_is_writing_exits_2_naming_it_and_changes_nothing(
        self, filled_sqlite: Path, tmp_path: Path, task: tuple[str, ...]
    ) -> None:
        copy = tmp_path / "copy.db"
        copy.write_bytes(filled_sqlite.read_bytes())
        assert tunemeld(tmp_path, "db.export", "x", env=_sqlite_env(filled_sqlite)).returncode == 0
        store = SQLiteStore(copy)
        now = datetime.now(timezone.utc)
        lease = Lease(
            name=RUN_LEASE,
            token="t1",
            run_id="busyrun12345",
            host="etl-box",
            pid=777,
            started_at=now,
            renewed_at=now,
            expires_at=now + timedelta(hours=1),
        )
        try:
            assert store.swap_lease(lease, expected=None)
            before = {s.name: s.count for s in store.status()}

            result = tunemeld(tmp_path, *task, env=_sqlite_env(copy))

            assert result.returncode == 2, result.stderr
            said = " ".join(result.stderr.split())
            assert "run busyrun12345" in said
            assert "on etl-box, pid 777" in said
            assert "Traceback" not in said
            assert {s.name: s.count for s in store.status()} == before
            assert store.get_lease(RUN_LEASE) == lease
        finally:
            store.close()
