"""`inv cache.*`: purge and warm the API answer cache by hand (the ETL does both after a run)."""

from __future__ import annotations

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tunemeld._console import out_console
from tunemeld.cli._common import (
    FAILED,
    catalog_genres,
    errors_to_exit,
    load_cli_settings,
    parse_genres,
)
from tunemeld.config import Settings
from tunemeld.models import Genre
from tunemeld.services.store import open_store

__all__ = ["clear", "warm"]


def _genres(settings: Settings, names: list[str] | None) -> list[Genre]:
    known = catalog_genres(settings)
    return parse_genres(names, known) or list(known)


@task(
    iterable=["genre"],
    help={
        "genre": "only this genre (repeatable or a comma list); default: everything the cache holds"
    },
)
def clear(c: Context, genre: list[str] | None = None) -> None:
    """Forget cached API answers (all, or the given genres'); the API then reads the store."""
    from tunemeld.api.answers import purge_genres
    from tunemeld.services.cache import open_cache

    with errors_to_exit():
        settings = load_cli_settings()
        genres = _genres(settings, genre) if genre else None
        cache = open_cache(settings)
        try:
            errors_before = cache.stats().errors or 0
            if genres is None:
                cache.clear()
                shown = "every answer"
            else:
                result = purge_genres(cache, genres)
                shown = f"{result.total_removed} answer(s) of {', '.join(g.value for g in genres)}"
            failed = (cache.stats().errors or 0) > errors_before
        finally:
            cache.close()
    if failed:
        out_console().print(
            f"[red]The {cache.name} cache did not answer[/red]: "
            f"{cache.stats().last_error or 'see the log'}."
        )
        raise Exit(code=FAILED)
    out_console().print(f"Cleared {shown} from the {cache.name} cache.")


@task(
    iterable=["genre"],
    help={"genre": "only this genre (repeatable or a comma list); default every genre"},
)
def warm(c: Context, genre: list[str] | None = None) -> None:
    """Fill the cache with every route's answer for every genre, from the stored views."""
    from tunemeld.api.answers import warm_genres
    from tunemeld.services.cache import open_cache

    with errors_to_exit():
        settings = load_cli_settings()
        genres = _genres(settings, genre)
        with open_store(settings) as store:
            cache = open_cache(settings)
            try:
                errors_before = cache.stats().errors or 0
                result = warm_genres(store, cache, genres, settings.cache.ttl_seconds)
                failed = (cache.stats().errors or 0) > errors_before
            finally:
                cache.close()
    console = out_console()
    for name, count in result.warmed.items():
        console.print(f"{name}: {count} answer(s) warmed in the {cache.name} cache")
    if result.total_warmed == 0:
        console.print("Nothing to warm yet: run `inv etl.run --stage full` first.")
    if failed:
        console.print(
            f"[red]Some writes failed[/red]: {cache.stats().last_error or 'see the log'}."
        )
        raise Exit(code=FAILED)
