"""The MongoDB store: the URL and client, the repository (MongoStore), and error translation."""

from __future__ import annotations

from tunemeld.services.store.mongo.client import MongoTarget, build_client, parse_mongo_url
from tunemeld.services.store.mongo.repository import MongoStore

__all__ = ["MongoStore", "MongoTarget", "build_client", "parse_mongo_url"]
