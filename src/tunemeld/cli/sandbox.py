"""`inv sandbox.*`: serve the sample world over HTTP with injected faults, and read its counts."""

from __future__ import annotations

import json
import signal
import threading
import urllib.request
from collections.abc import Mapping

from invoke.context import Context
from invoke.tasks import task

from tunemeld._console import err_console, make_table, out_console
from tunemeld.cli._common import (
    errors_to_exit,
    load_cli_settings,
    parse_count,
    parse_date,
    parse_port,
)
from tunemeld.exceptions import TunemeldError

__all__ = ["serve", "stats"]

DEFAULT_PORT = 8765


def _print_counts(counts: Mapping[str, Mapping[str, int]], title: str) -> None:
    table = make_table(title, "endpoint", "requests", "outcomes", right=["requests"])
    for label, outcomes in sorted(counts.items()):
        table.add_row(
            label,
            str(sum(outcomes.values())),
            ", ".join(f"{outcome} {n}" for outcome, n in sorted(outcomes.items())),
        )
    out_console().print(table)


@task(
    help={
        "port": f"port to listen on, 0-65535 (default {DEFAULT_PORT}; 0 picks a free one)",
        "host": "interface to bind (default 127.0.0.1: this machine only)",
        "faults": "KIND=RATE list, e.g. 429=0.1,500=0.05,timeout=0.02,malformed=0.02,"
        "truncated=0.01,drift=0.01",
        "latency": "added delay per request, e.g. 50ms±20ms (or 50ms+-20ms)",
        "seed": "world and fault seed, a whole number 0 or more (default providers.sample_seed)",
        "date": "the simulated day, YYYY-MM-DD (default today; POST /__date changes it)",
        "hang": "how long a timeout fault sleeps (default 35s: above the 30 s read timeout)",
        "retry-after": "the Retry-After of 429s, e.g. 1s or 200ms (default 1s)",
        "threads": "worker threads, 1-256 (default 32)",
        "quiet": "do not log every request",
    }
)
def serve(
    c: Context,
    port: str = str(DEFAULT_PORT),
    host: str = "127.0.0.1",
    faults: str = "",
    latency: str = "",
    seed: str = "",
    date_: str = "",
    hang: str = "35s",
    retry_after: str = "1s",
    threads: str = "32",
    quiet: bool = False,
) -> None:
    """Serve every provider endpoint from the sample world on HTTP until Ctrl-C (or SIGTERM).

    Point TuneMeld at it: TUNEMELD_PROVIDERS__MODE=live, any non-empty keys, and
    TUNEMELD_PROVIDERS__BASE_URL=http://127.0.0.1:<port>.
    """
    from tunemeld.config import load_catalog
    from tunemeld.services.sandbox import SampleWorld
    from tunemeld.services.sandbox.server import (
        FaultPlan,
        Latency,
        Simulator,
        parse_duration,
        start_simulator,
    )

    with errors_to_exit():
        listen_port = parse_port("port", port, allow_zero=True)
        workers = parse_count("threads", threads, low=1, high=256)
        given_seed = parse_count("seed", seed) if seed else None
        settings = load_cli_settings()
        world_seed = given_seed if given_seed is not None else settings.providers.sample_seed
        simulator = Simulator(
            SampleWorld(world_seed, load_catalog(settings.etl.catalog_path)),
            faults=FaultPlan.parse(faults),
            latency=Latency.parse(latency),
            seed=world_seed,
            as_of=parse_date(date_) if date_ else None,
            hang=parse_duration(hang),
            retry_after=parse_duration(retry_after),
            quiet=quiet,
        )
        server = start_simulator(simulator, host=host, port=listen_port, threads=workers)
    err_console().print(
        f"Sandbox providers on {server.url} (seed {world_seed}, faults {simulator.faults}, "
        f"latency {simulator.latency}, day {simulator.today()}); Ctrl-C stops.\n"
        f"Use it: TUNEMELD_PROVIDERS__MODE=live TUNEMELD_PROVIDERS__BASE_URL={server.url} "
        "with any non-empty keys. Counts: GET /__stats.",
        highlight=False,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
        _print_counts(simulator.counts(), f"Requests served by {server.url}")


@task(help={"url": f"the simulator's base URL (default http://127.0.0.1:{DEFAULT_PORT})"})
def stats(c: Context, url: str = f"http://127.0.0.1:{DEFAULT_PORT}") -> None:
    """Print a running simulator's per-endpoint request counts (GET /__stats)."""
    with errors_to_exit():
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/__stats", timeout=5) as answer:  # noqa: S310 - the operator's own URL
                body = json.loads(answer.read())
        except (OSError, ValueError) as exc:
            raise TunemeldError(
                f"No simulator answered at {url}: {type(exc).__name__}.",
                hint="Start one with `inv sandbox.serve`, or pass --url.",
            ) from None
    _print_counts(
        body.get("endpoints", {}),
        f"{body.get('total', 0)} requests (faults {body.get('faults')}, day {body.get('as_of')})",
    )
