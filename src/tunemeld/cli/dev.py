"""What `inv dev.start` runs: `api.start` in a worker process that restarts on code changes.

Here so the repo-only task in tasks.py stays one call; hupper (a dev dependency) watches every
imported module and the package's data files (the page's assets, the catalog).
"""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context

from tunemeld._console import err_console
from tunemeld.cli._common import errors_to_exit, load_cli_settings
from tunemeld.exceptions import ConfigError

__all__ = ["package_files", "page_url", "serve_with_reload"]

_PACKAGE = Path(__file__).resolve().parents[1]


def page_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens for a server bound to `host`."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 - a name, not a bind
    shown = "[::1]" if shown == "::" else f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"


def package_files() -> list[str]:
    """Every file of the installed package except bytecode: what a change restarts for."""
    return sorted(
        str(path)
        for path in _PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def serve_with_reload(host: str = "", port: int = 0) -> None:
    """Print the page's URL, then serve the API, restarting it whenever the code changes."""
    try:
        import hupper
    except ImportError:  # pragma: no cover - the dev extra installs it
        with errors_to_exit():
            raise ConfigError(
                "`inv dev.start` needs hupper, a development dependency.",
                hint='Install the dev extra: python -m pip install -e ".[dev]".',
            ) from None
    with errors_to_exit():
        settings = load_cli_settings(logs=False)
    url = page_url(host or settings.api.host, port or settings.api.port)
    err_console().print(
        f"TuneMeld page: {url}  (restarts when a file under {_PACKAGE} changes; Ctrl-C stops)"
    )
    hupper.start_reloader(
        f"{__name__}.run_worker", worker_kwargs={"host": host, "port": port}, verbose=0
    )


def run_worker(host: str, port: int) -> None:
    """The worker hupper starts: watch the package's data files too, then run `api.start`."""
    import hupper

    from tunemeld.cli.api import start

    hupper.get_reloader().watch_files(package_files())
    start(Context(), host=host, port=port)
