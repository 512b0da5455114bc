"""One worker process of `inv api.start --workers N`: the app on an inherited listening socket.

It reads the settings of the process that started it and opens its own store, cache and metrics.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
from collections.abc import Sequence

from tunemeld.api.app import create_app
from tunemeld.api.server import LISTEN_FD_FLAG, serve_socket
from tunemeld.config import load_settings
from tunemeld.exceptions import TunemeldError
from tunemeld.services.cache import open_cache
from tunemeld.services.logging import close_log_file
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import open_store

__all__ = ["main"]

USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the API on the inherited socket until SIGTERM; 2 on a settings or store error."""
    parser = argparse.ArgumentParser(
        prog="python -m tunemeld.api.worker",
        description="A TuneMeld API worker process (started by `inv api.start --workers N`).",
    )
    parser.add_argument(LISTEN_FD_FLAG, dest="fd", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        store = open_store(settings)
    except TunemeldError as exc:
        print(f"Error: {exc.message}" + (f" Hint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return USAGE
    with contextlib.ExitStack() as closing:  # the cache, then the store, then the log file
        closing.callback(close_log_file)
        closing.enter_context(store)
        metrics = Metrics()
        cache = open_cache(settings, metrics=metrics)
        closing.callback(cache.close)
        app = create_app(settings, store, cache, metrics=metrics)
        serve_socket(app, socket.socket(fileno=args.fd), threads=settings.api.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
