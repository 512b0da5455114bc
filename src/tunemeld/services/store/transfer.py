"""Moving data between stores: export to files, import from them, and copy store to store.

An export is a folder: one JSON-lines file per collection (`<collection>.jsonl`, the models'
JSON in natural-key order, so every value round-trips exactly) and `manifest.json` (format
version, counts, a SHA-256 per file), written last, so a folder without it is no export.

Import and copy write only into an empty target (`replace=True` empties it first), and an import
validates the whole export first (checksums, counts, models, unique keys), so a bad file is
reported with its name and line and nothing is loaded. What moves and how is written come from
`store.collections.SPECS`; `leases` does not move: a lease names a live process of the source's
deployment, so on the target it would only block runs until it expired.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tunemeld.exceptions import ConfigError, StoreError
from tunemeld.services.store.base import Store
from tunemeld.services.store.collections import EXPORTED, spec_for

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "Progress",
    "copy_store",
    "export_store",
    "import_store",
]

FORMAT = "tunemeld-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 500

Progress = Callable[[str, int, int], None]
"""`progress(collection, records_done, records_total)`, called after each batch."""


def _no_progress(collection: str, done: int, total: int) -> None:
    """The default: report nothing."""


def export_store(
    store: Store, folder: Path, *, progress: Progress = _no_progress
) -> dict[str, int]:
    """Write every collection of `store` to `folder` (new or empty); return the counts."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(
            f"{folder} already exists and is not an empty folder.",
            hint="Export into a new folder; an export never overwrites files.",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the export folder {folder}: {exc.strerror or exc}.",
            hint="Choose a folder this user may create and write.",
        ) from exc
    totals = {status.name: status.count for status in store.status()}
    collections: dict[str, dict[str, Any]] = {}
    for name in EXPORTED:
        path = folder / f"{name}.jsonl"
        digest = hashlib.sha256()
        count = 0
        total = totals.get(name, 0)
        progress(name, 0, total)
        try:
            with path.open("w", encoding="utf-8", newline="\n") as out:
                for record in store.export_records(name):
                    line = _dumps(record) + "\n"
                    out.write(line)
                    digest.update(line.encode("utf-8"))
                    count += 1
                    if count % BATCH == 0:
                        progress(name, count, max(total, count))
        except OSError as exc:
            raise ConfigError(
                f"Cannot write {path}: {exc.strerror or exc}.",
                hint="Check the free space and permissions of the export folder.",
            ) from exc
        progress(name, count, count)
        collections[name] = {"file": path.name, "count": count, "sha256": digest.hexdigest()}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tunemeld_version": _version(),
        "created_at": datetime.now(timezone.utc).isoformat(),
        "source": store.url,
        "collections": collections,
    }
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / MANIFEST)  # last, and atomically: its presence means complete
    return {name: info["count"] for name, info in collections.items()}


def import_store(
    store: Store,
    folder: Path,
    *,
    replace: bool = False,
    progress: Progress = _no_progress,
    batch: int = BATCH,
) -> dict[str, int]:
    """Validate the export in `folder` completely, then load it into `store`; the counts.
    ConfigError (naming file and line) for a bad export, or a non-empty store unless `replace`."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    counts = {name: int(manifest["collections"][name]["count"]) for name in EXPORTED}
    for name in EXPORTED:  # first pass: check everything, write nothing
        _check_file(folder, name, manifest["collections"][name])
    _prepare_target(store, replace=replace, source=str(folder))
    for name in EXPORTED:
        records = (record for _line, record in _read_records(folder / f"{name}.jsonl", name))
        _load(store, name, records, total=counts[name], progress=progress, batch=batch)
    _verify_counts(store, counts)
    return counts


def copy_store(
    source: Store,
    target: Store,
    *,
    replace: bool = False,
    progress: Progress = _no_progress,
    batch: int = BATCH,
) -> dict[str, int]:
    """Copy every record of `source` into `target` (empty, or emptied with `replace`)."""
    if source.url == target.url:
        raise ConfigError(
            f"The source and the target are the same store ({source.url}).",
            hint="Name another store with --to.",
        )
    _prepare_target(target, replace=replace, source=source.url)
    totals = {status.name: status.count for status in source.status()}
    counts: dict[str, int] = {}
    for name in EXPORTED:
        model = spec_for(name).model
        records = (
            _validated(model, r, f"{source.url} {name}") for r in source.export_records(name)
        )
        counts[name] = _load(
            target, name, records, total=totals.get(name, 0), progress=progress, batch=batch
        )
    _verify_counts(target, counts)
    return counts


# -- loading -----------------------------------------------------------------------------------


def _prepare_target(store: Store, *, replace: bool, source: str) -> None:
    filled = {s.name: s.count for s in store.status() if s.count and s.name in EXPORTED}
    if not filled:
        return
    if not replace:
        summary = ", ".join(f"{name} {count}" for name, count in filled.items())
        raise ConfigError(
            f"The store {store.url} is not empty ({summary}); refusing to mix {source} into it.",
            hint="Pass --replace to delete everything in it first, or choose an empty store.",
        )
    store.reset()


def _load(
    store: Store,
    name: str,
    records: Iterable[Any],
    *,
    total: int,
    progress: Progress,
    batch: int,
) -> int:
    """Write the validated records of one collection, `batch` per unit; return how many."""
    done = 0
    progress(name, 0, total)
    load = spec_for(name, exported=True).load
    assert load is not None  # every exported collection has a loader
    for chunk in _batches(records, batch):
        with store.unit():
            load(store, chunk, max(total, 1))  # the target is empty: the writes just insert
        done += len(chunk)
        progress(name, done, max(total, done))
    return done


def _verify_counts(store: Store, expected: dict[str, int]) -> None:
    found = {status.name: status.count for status in store.status()}
    wrong = {name: (count, found.get(name, 0)) for name, count in expected.items()}
    wrong = {name: pair for name, pair in wrong.items() if pair[0] != pair[1]}
    if wrong:
        summary = ", ".join(f"{n}: expected {a}, found {b}" for n, (a, b) in wrong.items())
        raise StoreError(
            f"The store {store.url} does not hold what was loaded ({summary}).",
            hint="Another process may have written to it meanwhile; repeat with --replace.",
        )


# -- reading and validating an export ------------------------------------------------------


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    hint = f"Point at a folder written by `tunemeld db.export` (it holds {MANIFEST})."
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder.", hint=hint)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{folder} holds no {MANIFEST}: not a complete export.", hint=hint
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not readable JSON ({exc}).", hint=hint) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a TuneMeld export manifest.", hint=hint)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ConfigError(
            f"{path} has export format version {version!r}; this tunemeld reads version "
            f"{FORMAT_VERSION} at most.",
            hint="Upgrade tunemeld, or export again with this version.",
        )
    collections = manifest.get("collections")
    if not isinstance(collections, dict) or set(collections) != set(EXPORTED):
        raise ConfigError(
            f"{path} does not list exactly the collections {', '.join(EXPORTED)}.",
            hint=hint,
        )
    for name, info in collections.items():
        if not (
            isinstance(info, dict)
            and info.get("file") == f"{name}.jsonl"
            and isinstance(info.get("count"), int)
            and isinstance(info.get("sha256"), str)
        ):
            raise ConfigError(f"{path}: the entry for {name} is malformed.", hint=hint)
    return manifest


def _check_file(folder: Path, name: str, info: dict[str, Any]) -> None:
    """Checksum, count, model and key uniqueness of one collection file."""
    path = folder / info["file"]
    digest = hashlib.sha256()
    try:
        with path.open("rb") as raw:
            for block in iter(lambda: raw.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {path}: {exc.strerror or exc}.",
            hint="The export is incomplete; export again.",
        ) from exc
    if digest.hexdigest() != info["sha256"]:
        raise ConfigError(
            f"{path} does not match the checksum in {MANIFEST}: it was changed or truncated.",
            hint="Export again; never edit export files by hand.",
        )
    keys: set[tuple[Any, ...]] = set()
    count = 0
    for line, record in _read_records(path, name):
        key = tuple(getattr(record, field) for field in spec_for(name).key)
        if key in keys:
            raise ConfigError(
                f"{path}:{line}: a second record with the key {key}.",
                hint="Export again; each record's key appears once in an export.",
            )
        keys.add(key)
        count += 1
    if count != info["count"]:
        raise ConfigError(
            f"{path} holds {count} records; {MANIFEST} says {info['count']}.",
            hint="Export again.",
        )


def _read_records(path: Path, name: str) -> Iterator[tuple[int, Any]]:
    """(line number, validated model) for every line of a collection file."""
    model = spec_for(name).model
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{where} is not a JSON record ({exc.msg}).",
                    hint="Export again; each line of an export file is one JSON object.",
                ) from exc
            yield number, _validated(model, data, where)


def _validated(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(record)"
        raise ConfigError(
            f"{where}: not a valid {model.__name__}: {field}: {first['msg']}.",
            hint="Export again with this tunemeld version.",
        ) from None


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, max(1, size))):
        yield chunk


def _dumps(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _version() -> str:
    from tunemeld import __version__  # late: tunemeld imports this package

    return __version__
