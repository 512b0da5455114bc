"""What every task module shares: settings loading, the sample-world notice, errors to exit codes.

Exit codes: 0 ok, 1 failed or partial work, 2 configuration or usage error (never a traceback).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TextIO

from invoke.exceptions import Exit

from tunemeld._console import LiveStderr, err_console
from tunemeld.config import Settings, TunemeldDeprecationWarning, load_settings
from tunemeld.exceptions import ConfigError, NotFound, StoreUnavailable, TunemeldError
from tunemeld.services.logging import configure_logging

__all__ = [
    "FAILED",
    "USAGE",
    "errors_to_exit",
    "load_cli_settings",
    "parse_date",
    "print_error",
    "sample_notice",
]

USAGE = 2
FAILED = 1


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    err_console().print(f"[yellow]Deprecated:[/yellow] {message}", highlight=False)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """ConfigError, bad names and an unreachable store exit 2; other TuneMeld errors exit 1."""
    try:
        yield
    except (ConfigError, NotFound, StoreUnavailable) as exc:
        print_error(exc)
        raise Exit(code=USAGE) from None
    except TunemeldError as exc:
        print_error(exc)
        raise Exit(code=FAILED) from None


def print_error(exc: TunemeldError) -> None:
    console = err_console()
    console.print(f"[red]Error:[/red] {exc.message}", highlight=False)
    if exc.hint:
        console.print(f"[bold]Hint:[/bold] {exc.hint}", highlight=False)


def load_cli_settings(*, logs: bool = True, **overrides: Any) -> Settings:
    """Load settings (deprecations shown once, briefly) and set up logging.

    `overrides` go to `load_settings`, e.g. `env=...` for another profile.
    """
    warnings.showwarning = _show_warning
    with warnings.catch_warnings():
        warnings.simplefilter("always", TunemeldDeprecationWarning)
        settings = load_settings(**overrides)
    if logs:
        configure_logging(settings, stream=LiveStderr())  # type: ignore[arg-type]
    return settings


def sample_notice(settings: Settings) -> None:
    if settings.providers.uses_sample:
        reason = (
            "providers.mode is sample"
            if settings.providers.mode == "sample"
            else "no API keys are set"
        )
        err_console().print(
            f"[cyan]Notice:[/cyan] {reason}: using the offline sample world "
            "(set RAPIDAPI_KEY, SPOTIFY_CLIENT_ID/SECRET and YOUTUBE_API_KEY for live data).",
            highlight=False,
        )


def parse_date(text: str) -> date:
    """A --date flag's value, or a ConfigError saying the format."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--date {text!r} is not a date.", hint="Use YYYY-MM-DD, e.g. --date 2026-11-24."
        ) from None
