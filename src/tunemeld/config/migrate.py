"""`inv config.migrate-env`: rewrite an old env file to the current setting names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tunemeld.config.settings import LEGACY_NAMES
from tunemeld.exceptions import ConfigError

__all__ = ["MigrationResult", "migrate_env_file"]

_ASSIGNMENT = re.compile(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=.*)$")


@dataclass
class MigrationResult:
    """What a migration renamed and dropped, and where it wrote."""

    source: Path
    target: Path
    renamed: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    backup: Path | None = None


def migrate_env_file(
    source: Path, target: Path, *, overwrite: bool = False, dry_run: bool = False
) -> MigrationResult:
    """Copy `source` to `target` with legacy names renamed; keep comments and unknown lines.

    A legacy name whose new name is also set is dropped. An existing `target` is only replaced
    with `overwrite`, after a `.bak` copy, so nothing is lost.
    """
    if not source.is_file():
        raise ConfigError(
            f"{source} does not exist.",
            hint="Pass the old file with --source (for example --source .env.dev).",
        )
    lines = source.read_text("utf-8").splitlines()
    present = {m.group(2) for line in lines if (m := _ASSIGNMENT.match(line))}
    result = MigrationResult(source=source, target=target)
    out: list[str] = []
    for line in lines:
        match = _ASSIGNMENT.match(line)
        if match and match.group(2) in LEGACY_NAMES:
            old = match.group(2)
            new = LEGACY_NAMES[old]
            if new in present or any(n == new for _, n in result.renamed):
                result.dropped.append(old)
                out.append(f"# {old} removed by migrate-env: {new} is set")
                continue
            result.renamed.append((old, new))
            out.append(f"{match.group(1)}{new}{match.group(3)}")
        else:
            out.append(line)
    if dry_run:
        return result
    if target.exists() and target.resolve() != source.resolve() and not overwrite:
        raise ConfigError(
            f"{target} already exists.",
            hint="Pass --overwrite to replace it (a .bak copy is kept) or choose --target.",
        )
    if target.exists():
        backup = target.with_name(target.name + ".bak")
        backup.write_bytes(target.read_bytes())
        result.backup = backup
    target.write_text("\n".join(out) + "\n", "utf-8")
    return result
