"""A MongoDB server for the tests: an external one, a local `mongod`, or the nx-27017 server.

Order of preference (see tests/README.md, "MongoDB test server"):
1. `TUNEMELD_TEST_MONGODB_URL` names a server to use as is (a replica set, for transactions);
2. `mongod` on PATH: started on a free loopback port with a temporary dbpath, as a one-node
   replica set (MongoStore units need transactions);
3. the nx-27017 MongoDB wire-protocol server (PyPI), started the same way.

Each test gets a database of its own (`MongoServer.database_url`), dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

__all__ = [
    "EXTERNAL_URL_VARIABLE",
    "NX_NO_ISOLATION",
    "MongoServer",
    "MongoServerError",
    "running_mongo_server",
]

EXTERNAL_URL_VARIABLE = "TUNEMELD_TEST_MONGODB_URL"
NX_NO_ISOLATION = (
    "nx-27017 runs transactions without isolation: other connections read a transaction's "
    "writes before it commits (MongoDB hides them until commit); see tests/README.md"
)
_START_TIMEOUT = 30.0
_NX_MAIN = "import sys; from nx_27017.nx_27017 import main; sys.exit(main())"


class MongoServerError(RuntimeError):
    """No MongoDB server could be used or started."""


@dataclass
class MongoServer:
    """A running server: `kind` is "external", "mongod" or "nx-27017"."""

    kind: str
    hosts: str
    options: str = ""
    process: subprocess.Popen[bytes] | None = None
    _client: MongoClient[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def is_nx(self) -> bool:
        """True for the nx-27017 wire-protocol server (not a real MongoDB)."""
        return self.kind == "nx-27017"

    def database_url(self, database: str) -> str:
        """A URL naming `database` on this server."""
        query = f"?{self.options}" if self.options else ""
        return f"mongodb://{self.hosts}/{database}{query}"

    def fresh_database(self) -> str:
        """A database name no other test uses."""
        return f"tunemeld_test_{uuid.uuid4().hex[:12]}"

    def drop_database(self, database: str) -> None:
        """Drop one test's database."""
        self.client().drop_database(database)

    def client(self) -> MongoClient[dict[str, Any]]:
        """An administrative client, shared by the session."""
        if self._client is None:
            self._client = MongoClient(
                self.database_url("admin"), serverSelectionTimeoutMS=5000, tz_aware=True
            )
        return self._client

    def wait_for_abandoned_transactions(self, timeout: float = 90.0) -> None:
        """Wait until the server has expired the open transactions of killed clients.

        MongoDB keeps a dead client's transaction (and its write locks) until
        transactionLifetimeLimitSeconds pass; nx-27017 has no such state.
        """
        if self.is_nx:
            return
        deadline = time.monotonic() + timeout
        pipeline: list[dict[str, Any]] = [
            {"$currentOp": {"idleSessions": True, "allUsers": True}},
            {"$match": {"transaction": {"$exists": True}}},
        ]
        while time.monotonic() < deadline:
            if not list(self.client().admin.aggregate(pipeline)):
                return
            time.sleep(0.2)
        raise MongoServerError(f"transactions still open on {self.hosts} after {timeout} s")

    def close(self) -> None:
        """Close the administrative client."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _hosts_and_options(url: str) -> tuple[str, str]:
    """The host list and options of an external URL (its own database is ignored)."""
    rest = url.split("://", 1)[1]
    authority, _, tail = rest.partition("/")
    _path, _, options = tail.partition("?")
    return authority, options


def _wait_until_ready(server: MongoServer, log: Path | None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            break
        client: MongoClient[dict[str, Any]] = MongoClient(
            server.database_url("admin"), serverSelectionTimeoutMS=500, directConnection=True
        )
        try:
            client.admin.command("ping")
            return
        except PyMongoError as exc:
            last = exc
        finally:
            client.close()
        time.sleep(0.1)
    detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise MongoServerError(f"{server.kind} did not answer on {server.hosts}: {last}\n{detail}")


def _initiate_replica_set(port: int) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://127.0.0.1:{port}/", directConnection=True, serverSelectionTimeoutMS=5000
    )
    try:
        client.admin.command(
            "replSetInitiate",
            {"_id": "rs0", "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]},
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if client.admin.command("hello").get("isWritablePrimary"):
                return
            time.sleep(0.1)
    finally:
        client.close()
    raise MongoServerError(f"mongod on port {port} did not become a replica-set primary")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _nx_command(data_dir: Path, port: int, log: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        _NX_MAIN,
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-file",
        str(log),
        "--pid-file",
        str(data_dir.parent / "nx.pid"),
    ]


def _mongod_command(mongod: str, data_dir: Path, port: int, log: Path) -> list[str]:
    return [
        mongod,
        "--dbpath",
        str(data_dir),
        "--port",
        str(port),
        "--bind_ip",
        "127.0.0.1",
        "--replSet",
        "rs0",
        # A SIGKILLed writer's open transaction holds its documents until the server expires
        # it (60 s by default); the crash-safety test waits for that, so keep it short.
        "--setParameter",
        "transactionLifetimeLimitSeconds=3",
        "--logpath",
        str(log),
        "--quiet",
    ]


@contextmanager
def running_mongo_server(workdir: Path, external_url: str | None = None) -> Iterator[MongoServer]:
    """Use `external_url`, or start mongod / nx-27017 under `workdir`; stop it afterwards."""
    if external_url:
        hosts, options = _hosts_and_options(external_url)
        server = MongoServer(kind="external", hosts=hosts, options=options)
        try:
            _wait_until_ready(server, None)
            yield server
        finally:
            server.close()
        return
    mongod = shutil.which("mongod")
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    log = workdir / "server.log"
    port = _free_port()
    if mongod:
        command = _mongod_command(mongod, data_dir, port, log)
        server = MongoServer(kind="mongod", hosts=f"127.0.0.1:{port}", options="replicaSet=rs0")
    else:
        command = _nx_command(data_dir, port, log)
        server = MongoServer(kind="nx-27017", hosts=f"127.0.0.1:{port}")
    output = (workdir / "server.out").open("wb")
    try:
        server.process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=workdir, env=_server_env()
        )
        try:
            if server.kind == "mongod":
                plain = MongoServer(kind="mongod", hosts=server.hosts, process=server.process)
                _wait_until_ready(plain, log)
                _initiate_replica_set(port)
            _wait_until_ready(server, workdir / "server.out")
            yield server
        finally:
            server.close()
            _stop(server.process)
    finally:
        output.close()


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    with suppress(KeyError):
        del env[EXTERNAL_URL_VARIABLE]
    return env
