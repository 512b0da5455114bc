"""The operations interface: the Invoke collection behind `inv` (tasks.py) and `tunemeld`.

Each task parses flags, calls one library function, prints, and maps errors to exit codes:
0 ok, 1 failed or partial work, 2 configuration or usage error (never a traceback for those).
One module per task group: its tasks are the group (`Collection.from_module`), and its docstring's
first line (after "`inv group.*`: ") is the group's line in `tunemeld --help`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

from invoke.collection import Collection
from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.program import Program

from tunemeld import __version__
from tunemeld.cli import api, cache, config, db, etl, sandbox, system
from tunemeld.cli._common import USAGE, errors_to_exit, print_error
from tunemeld.cli.setup import setup
from tunemeld.config import Environment
from tunemeld.exceptions import ConfigError

__all__ = ["TunemeldProgram", "build_namespace", "errors_to_exit", "ns", "program"]

_GROUPS = (etl, api, db, config, system, cache, sandbox)
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_INVOKE_FLAGS = ("help", "version", "list", "list-depth", "list-format", "complete")
"""Invoke's own core flags the `tunemeld` program keeps (plus print-completion-script)."""


def group_help(module: ModuleType) -> str:
    """A task module's one line: its docstring's first line without the "`inv x.*`: " prefix."""
    line = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
    head, sep, rest = line.partition(": ")
    text = rest if sep and head.startswith("`") else line
    return text[:1].upper() + text[1:]


def build_namespace() -> Collection:
    """A fresh collection of every operations task (tasks.py adds the repo-only `dev` tasks)."""
    namespace = Collection(setup)
    for module in _GROUPS:
        group = Collection.from_module(module)
        if group.tasks:
            group.__doc__ = group_help(module)  # what `--list --list-format nested` shows too
            namespace.add_collection(group)
    return namespace


class TunemeldProgram(Program):
    """`tunemeld`: TuneMeld's global options and task groups; Invoke's internals stay in `inv`.

    `--env`, `--log-level` and `-v/--verbose` set TUNEMELD_ENV and TUNEMELD_LOGGING__LEVEL for
    this process before any task runs, so every task reads them through `load_settings`.
    """

    def core_args(self) -> list[Argument]:
        kept = [arg for arg in super().core_args() if arg.name in _INVOKE_FLAGS]
        completion = next(a for a in super().core_args() if a.name == "print-completion-script")
        completion.help = "Print the tab-completion script for bash, zsh or fish."
        return [
            Argument(
                names=("env",),
                help="The profile to run with: development, testing or production "
                "(default: TUNEMELD_ENV, else development).",
            ),
            Argument(
                names=("log-level",),
                help="Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (default: LOG_LEVEL, "
                "else INFO).",
            ),
            Argument(
                names=("verbose", "v"),
                kind=bool,
                default=False,
                help="Log at DEBUG level (same as --log-level DEBUG).",
            ),
            *kept,
            completion,
        ]

    def parse_core(self, argv: list[str] | None) -> None:
        """Invoke's core parsing minus the flags `tunemeld` drops, plus TuneMeld's own."""
        self.normalize_argv(argv)
        self.parse_core_args()
        sys.dont_write_bytecode = True
        if self.args.version.value:
            self.print_version()
            raise Exit
        shell = self.args["print-completion-script"].value
        if shell:
            from invoke.completion.complete import print_completion_script

            print_completion_script(shell=shell, names=self.binary_names)
            raise Exit
        try:
            self._apply_global_options()
        except ConfigError as exc:
            print_error(exc)
            raise Exit(code=USAGE) from None

    def _apply_global_options(self) -> None:
        env = self.args.env.value
        if env:
            os.environ["TUNEMELD_ENV"] = Environment.parse(env).value
        level = self.args["log-level"].value
        if level:
            if level.upper() not in _LOG_LEVELS:
                raise ConfigError(
                    f"--log-level {level!r} is not a log level.",
                    hint=f"Use one of: {', '.join(_LOG_LEVELS)}.",
                )
            os.environ["TUNEMELD_LOGGING__LEVEL"] = level.upper()
        elif self.args.verbose.value:
            os.environ["TUNEMELD_LOGGING__LEVEL"] = "DEBUG"

    def update_config(self, merge: bool = True) -> None:
        """No run()/sudo/timeout flags to carry over: only Invoke's runtime config file."""
        runtime = os.environ.get("INVOKE_RUNTIME_CONFIG")
        self.config.set_runtime_path(Path(runtime) if runtime else None)
        self.config.load_runtime(merge=False)
        if merge:
            self.config.merge()

    def print_help(self) -> None:
        """Usage, TuneMeld's global options, then one line per task group."""
        print(f"Usage: {self.binary} [--global-options] <task> [--task-options] ...")
        print("")
        print("TuneMeld: cross-service music charts, run offline on the sample world or live.")
        print("")
        print("Global options:")
        print("")
        context = self.initial_context
        self.print_columns([context.help_for(f"--{arg.name}") for arg in self.core_args()])
        print("Task groups:")
        print("")
        rows: list[tuple[str, str | None]] = []
        for name, task in sorted(self.collection.tasks.items()):
            rows.append((name, (task.__doc__ or "").strip().splitlines()[0] or None))
        for name, group in sorted(self.collection.collections.items()):
            rows.append((f"{name}.*", group.__doc__))
        self.print_columns(rows)
        print(f"`{self.binary} --list` lists every task; `{self.binary} --help <task>` shows one")
        print("task's options. Exit codes: 0 ok, 1 failed or partial work, 2 usage or settings.")


ns = build_namespace()
program = TunemeldProgram(namespace=ns, version=__version__, name="TuneMeld", binary="tunemeld")
