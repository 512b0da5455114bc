"""`.env.example` documents every setting, under a name the settings actually read."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from tunemeld.config import Settings
from tunemeld.config.settings import FLAT_NAMES

ENV_EXAMPLE = Path(__file__).resolve().parents[3] / ".env.example"


def _setting_names() -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    for group, field in Settings.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names.extend((group, name) for name in model.model_fields)
    return names


def test_env_example_when_read_mentions_every_grouped_setting() -> None:
    """Each group field appears as TUNEMELD_<GROUP>__<FIELD> or as its flat name."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    flat = {path: name for name, path in FLAT_NAMES.items()}
    missing = [
        f"TUNEMELD_{group.upper()}__{name.upper()}"
        for group, name in _setting_names()
        if f"TUNEMELD_{group.upper()}__{name.upper()}" not in text
        and flat.get((group, name), "\0") not in text
    ]
    assert _setting_names(), "no grouped settings found: the test would pass vacuously"
    assert missing == []
