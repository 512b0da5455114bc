"""View-count samples and the precomputed documents the API serves."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tunemeld.models.genre import Genre, ViewSource
from tunemeld.models.track import Isrc

__all__ = ["ViewDoc", "ViewSample", "view_version"]


class ViewSample(BaseModel):
    """One reading of a track's total plays or views; `delta` is against the previous day's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    isrc: Isrc
    source: ViewSource
    day: date
    timestamp: datetime
    total: int = Field(ge=0)
    delta: int
    run_id: str


def view_version(data: Any) -> str:
    """A stable content hash of a JSON-ready value; the API uses it as the ETag."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


class ViewDoc(BaseModel):
    """A per-genre JSON document built by the ETL so API requests are a single read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    genre: Genre
    name: str
    data: Any
    version: str
    updated_at: datetime
