"""The MongoDB URL and client: what a URL names (read without DNS or the driver), and the client.

Parsed by hand, not by pymongo: pymongo's parser resolves `mongodb+srv://` names over DNS and
its errors may quote the URL. Printing goes through the one URL masker (`config.mask_url`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any
from urllib.parse import unquote

from bson.codec_options import CodecOptions
from pymongo import MongoClient

from tunemeld.config import mask_url
from tunemeld.exceptions import ConfigError

__all__ = [
    "CODEC_OPTIONS",
    "ClientFactory",
    "Document",
    "MongoTarget",
    "build_client",
    "parse_mongo_url",
]

Document = dict[str, Any]
ClientFactory = Callable[["MongoTarget"], "MongoClient[Document]"]

_UTC = timezone.utc
CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(
    document_class=dict, tz_aware=True, tzinfo=_UTC
)
"""Documents are dicts; datetimes come out timezone-aware (UTC)."""


@dataclass(frozen=True)
class MongoTarget:
    """What a MongoDB URL names, and the timeouts to reach it with."""

    url: str = field(repr=False)  # holds the password: never in a repr
    database: str
    hosts: str
    password: str | None = field(repr=False)
    connect_timeout_ms: int = 5000
    server_selection_timeout_ms: int = 3000
    socket_timeout_ms: int = 30000

    @property
    def where(self) -> str:
        """`MongoDB at hosts (database 'name')`, for messages: never the password."""
        return f"MongoDB at {self.hosts} (database {self.database!r})"

    @property
    def masked_url(self) -> str:
        """The URL with the password (and secret options) masked: safe to print."""
        return mask_url(self.url)


def parse_mongo_url(url: str, *, default_database: str) -> tuple[str, str, str | None]:
    """The host list (as written, `name (SRV)` for +srv), the database (the URL's path, else
    `default_database`) and the password; by hand, without DNS (see the module docstring)."""
    for scheme in ("mongodb://", "mongodb+srv://"):
        if url.startswith(scheme):
            rest = url[len(scheme) :]
            break
    else:
        raise ConfigError(
            f"{mask_url(url)!r} is not a MongoDB URL.",
            hint="Use mongodb://host:27017/tunemeld or mongodb+srv://cluster.example.net/tunemeld.",
        )
    authority, _, tail = rest.partition("/")
    if "?" in authority:  # mongodb://host?opts without a slash
        authority, _, _query = authority.partition("?")
        tail = ""
    userinfo, at, hosts = authority.rpartition("@")
    password: str | None = None
    if at and ":" in userinfo:
        password = unquote(userinfo.split(":", 1)[1]) or None
    if not hosts:
        raise ConfigError(
            f"The MongoDB URL {mask_url(url)!r} names no host.",
            hint="Use mongodb://host:27017/tunemeld (user:password@ before the host if needed).",
        )
    if scheme == "mongodb+srv://":
        hosts = f"{hosts} (SRV)"
    path = unquote(tail.partition("?")[0])
    return hosts, path or default_database, password


def build_client(target: MongoTarget) -> MongoClient[Document]:
    """The process's MongoClient for `target`: timezone-aware, with the configured timeouts."""
    return MongoClient(
        target.url,
        document_class=dict,
        tz_aware=True,
        tzinfo=_UTC,
        connectTimeoutMS=target.connect_timeout_ms,
        serverSelectionTimeoutMS=target.server_selection_timeout_ms,
        socketTimeoutMS=target.socket_timeout_ms,
        appname="tunemeld",
    )
