"""The operations interface: the Invoke collection behind `inv` (tasks.py) and `tunemeld`.

Each task parses flags, calls one library function, prints, and maps errors to exit codes:
0 ok, 1 failed or partial work, 2 configuration or usage error (never a traceback for those).
One module per task group; each exposes `collection()`.
"""

from __future__ import annotations

from invoke.collection import Collection
from invoke.program import Program

from tunemeld import __version__
from tunemeld.cli import api, cache, config, db, etl, sandbox, system
from tunemeld.cli._common import errors_to_exit
from tunemeld.cli.setup import setup

__all__ = ["build_namespace", "errors_to_exit", "ns", "program"]

_GROUPS = (etl, api, db, config, system, cache, sandbox)


def build_namespace() -> Collection:
    """A fresh collection of every operations task (tasks.py adds the repo-only `dev` tasks)."""
    namespace = Collection(setup)
    for module in _GROUPS:
        group = module.collection()
        if group.tasks:
            namespace.add_collection(group)
    return namespace


ns = build_namespace()
program = Program(namespace=ns, version=__version__, name="TuneMeld", binary="tunemeld")
