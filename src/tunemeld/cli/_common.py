"""What every task module shares: settings, the sample-world notice, errors to exit codes."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, TextIO, TypeVar

from invoke.exceptions import Exit

from tunemeld._console import LiveStderr, err_console
from tunemeld.config import Settings, TunemeldDeprecationWarning, load_catalog, load_settings
from tunemeld.exceptions import (
    ConfigError,
    NotFound,
    RunLeaseHeld,
    StoreUnavailable,
    TunemeldError,
)
from tunemeld.models import Genre, Service, Stage
from tunemeld.services.logging import configure_logging

__all__ = [
    "FAILED",
    "USAGE",
    "catalog_genres",
    "errors_to_exit",
    "load_cli_settings",
    "parse_count",
    "parse_date",
    "parse_genres",
    "parse_port",
    "parse_seconds",
    "parse_services",
    "parse_stages",
    "print_error",
    "sample_notice",
    "split_list",
]

USAGE = 2
FAILED = 1
_T = TypeVar("_T")


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
    """Bad settings or names, an unreachable or busy store: exit 2; other TuneMeld errors: 1."""
    try:
        yield
    except (ConfigError, NotFound, StoreUnavailable, RunLeaseHeld) as exc:
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
    """`load_settings(**overrides)` with deprecations shown briefly, then logging set up."""
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


# Task arguments fail as a ConfigError (exit 2). Numeric flags are declared `str`: invoke casts
# `int` flags itself and ends a bad value in a traceback.


def _flag(name: str) -> str:
    return f"-{name}" if len(name) == 1 else f"--{name}"


def _usage(flag: str, text: str, expected: str) -> ConfigError:
    return ConfigError(f"{_flag(flag)} {text!r} is not {expected}.")


def _whole(flag: str, text: str | int, low: int, high: int | None, expected: str) -> int:
    shown = str(text).strip()
    try:
        value = int(shown)
    except ValueError:
        raise _usage(flag, shown, expected) from None
    if value < low or (high is not None and value > high):
        raise _usage(flag, shown, expected)
    return value


def parse_count(flag: str, text: str | int, *, low: int = 0, high: int | None = None) -> int:
    """A whole number from `low` to `high` (inclusive), e.g. `-n`, `--workers`, `--threads`."""
    if high is None:
        return _whole(flag, text, low, high, f"a whole number of at least {low}")
    return _whole(flag, text, low, high, f"a whole number from {low} to {high}")


def parse_port(flag: str, text: str | int, *, allow_zero: bool = False) -> int:
    """A TCP port, 1-65535 (0 too, meaning any free one, when `allow_zero`)."""
    if allow_zero:
        return _whole(flag, text, 0, 65535, "a port from 1 to 65535 (or 0 for any free port)")
    return _whole(flag, text, 1, 65535, "a port from 1 to 65535")


def parse_seconds(flag: str, text: str | float, *, high: float | None = None) -> float:
    """A finite number of seconds, 0 or more (and at most `high`), e.g. `--wait`, `--seconds`."""
    shown = str(text).strip()
    expected = "a number of seconds, 0 or more" + (f" and at most {high:g}" if high else "")
    try:
        value = float(shown)
    except ValueError:
        raise _usage(flag, shown, expected) from None
    if not math.isfinite(value) or value < 0 or (high is not None and value > high):
        raise _usage(flag, shown, expected)
    return value


def parse_date(text: str, flag: str = "date") -> date:
    """A `--date` flag's value (YYYY-MM-DD)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _usage(flag, text, "a date: use YYYY-MM-DD, e.g. 2026-11-24") from None


def split_list(flag: str, values: str | Iterable[str] | None) -> list[str]:
    """A repeatable or comma-separated flag's items (`--genre pop,rap --genre dance`)."""
    if values is None:
        return []
    items: list[str] = []
    for value in [values] if isinstance(values, str) else values:
        for item in value.split(","):
            if not item.strip():
                raise ConfigError(
                    f"{_flag(flag)} {value!r} has an empty item: separate names with single commas."
                )
            items.append(item.strip())
    return items


def _names(flag: str, values: str | Iterable[str] | None, parse: Callable[[str], _T]) -> list[_T]:
    found: list[_T] = []
    for item in split_list(flag, values):
        try:
            value = parse(item)
        except NotFound as exc:
            raise ConfigError(
                f"{_flag(flag)} {item!r}: {exc.message} {exc.hint or ''}".strip()
            ) from None
        if value not in found:
            found.append(value)
    return found


def parse_genres(
    values: str | Iterable[str] | None, known: Sequence[Genre], flag: str = "genre"
) -> list[Genre]:
    """`--genre` names (repeatable or comma-separated), each one of `known`; [] when none given."""
    return _names(flag, values, lambda text: Genre.parse(text, known))


def catalog_genres(settings: Settings) -> tuple[Genre, ...]:
    """The genres of the playlist catalog the settings name (the only list of them)."""
    return load_catalog(settings.etl.catalog_path).genres


def parse_services(values: str | Iterable[str] | None, flag: str = "service") -> list[Service]:
    """`--service` names (repeatable or comma-separated), each checked; [] when none given."""
    return _names(flag, values, Service.parse)


def parse_stages(values: str | Iterable[str] | None, flag: str = "stage") -> list[Stage]:
    """`--stage` names (comma-separated, `full` for every stage), in pipeline order."""
    names = split_list(flag, values)
    try:
        return Stage.parse_many(names)
    except NotFound as exc:
        raise ConfigError(f"{_flag(flag)}: {exc.message} {exc.hint or ''}".strip()) from None
