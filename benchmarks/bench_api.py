"""Benchmark the API against its floor: a bare bottle app on waitress returning the same bytes.

Both servers run as children of this script, on 127.0.0.1, with the same waitress settings and
thread count, on 1 and 2 worker processes. For each route (`/playlist-data/pop`,
`/graph-data/pop`, a 304 revalidation of `/playlist-data/pop`, `/health`) the floor and
TuneMeld are loaded in turn (the order alternates every round; the machine may be shared, so
the medians of several rounds are printed) with wrk when it is installed, else with a bounded
Python load generator. Prints req/s, p50/p99 latency and the TuneMeld/floor ratios, then loads
TuneMeld for `--rss-seconds` (default 60) and prints its processes' RSS and the errors seen.

    python benchmarks/bench_api.py [--duration 10] [--rounds 3] [--workers 1,2]
        [--connections 16] [--threads 2] [--rss-seconds 60] [--loader auto|wrk|python] [--paired]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 24)
GENRE = "pop"
ROUTES = {  # name -> (path, revalidate with the answer's ETag)
    "playlist-data": (f"/playlist-data/{GENRE}", False),
    "graph-data": (f"/graph-data/{GENRE}", False),
    "304 playlist-data": (f"/playlist-data/{GENRE}", True),
    "health": ("/health", False),
}
JSON_TYPE = "application/json; charset=utf-8"
_START_TIMEOUT = 60.0


# -- the floor: a bare bottle app returning TuneMeld's bytes ------------------------------------


def floor_app(bodies: Path) -> object:
    """A bare bottle app answering each benchmarked path with the bytes TuneMeld answers."""
    import bottle

    answers = json.loads((bodies / "answers.json").read_text())
    data = {path: (bodies / entry["file"]).read_bytes() for path, entry in answers.items()}
    etags = {path: entry["etag"] for path, entry in answers.items()}
    app = bottle.Bottle()

    def answer(path: str) -> object:
        etag = etags.get(path)
        if etag and bottle.request.environ.get("HTTP_IF_NONE_MATCH") == etag:
            return bottle.HTTPResponse(status=304, headers={"ETag": etag})
        bottle.response.content_type = JSON_TYPE
        if etag:
            bottle.response.set_header("ETag", etag)
        return data[path]

    app.route("/playlist-data/<genre>", callback=lambda genre: answer(f"/playlist-data/{genre}"))
    app.route("/graph-data/<genre>", callback=lambda genre: answer(f"/graph-data/{genre}"))
    app.route("/health", callback=lambda: answer("/health"))
    return app


def floor_main(args: argparse.Namespace) -> int:
    """Serve the floor: one waitress process, or `--workers` of them on one socket."""
    from tunemeld.api.server import LISTEN_FD_FLAG, serve, serve_socket, serve_workers

    bodies = Path(args.bodies)
    if args.listen_fd is not None:
        sock = socket.socket(fileno=args.listen_fd)
        serve_socket(floor_app(bodies), sock, threads=args.server_threads)
        return 0
    workers = int(args.workers)
    if workers == 1:
        serve(floor_app(bodies), host="127.0.0.1", port=args.port, threads=args.server_threads)
        return 0
    command = [sys.executable, __file__, "--floor", "--bodies", str(bodies)]
    command += ["--server-threads", str(args.server_threads)]
    assert LISTEN_FD_FLAG == "--listen-fd"  # the flag this script's parser reads
    return serve_workers(command, host="127.0.0.1", port=args.port, workers=workers)


# -- load generation ----------------------------------------------------------------------------


@dataclass
class Load:
    """One load run's result."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_us: float | None = None
    """The server's CPU time per request (microseconds): steadier than req/s on a busy machine."""


Loader = Callable[[str, dict[str, str], float, int, int], Load]

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str, headers: dict[str, str], seconds: float, connections: int, threads: int
) -> Load:
    """Load `url` with wrk and parse its summary (req/s, latency percentiles, errors)."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return Load(rps, p50, p99, total, errors)


def run_python(
    url: str, headers: dict[str, str], seconds: float, connections: int, threads: int
) -> Load:
    """A bounded load generator: `connections` keep-alive clients for `seconds` (no wrk)."""
    host_port = url.split("//", 1)[1].split("/", 1)
    host, port = host_port[0].rsplit(":", 1)
    path = "/" + host_port[1]
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status >= 400:
                        errors[index] += 1
                except (OSError, http.client.HTTPException):
                    errors[index] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
                    continue
                latencies[index].append((time.perf_counter() - started) * 1000)
        finally:
            conn.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    every = sorted(value for values in latencies for value in values)
    if not every:
        return Load(0.0, 0.0, 0.0, 0, sum(errors))
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))]
    return Load(len(every) / elapsed, every[len(every) // 2], p99, len(every), sum(errors))


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Poll until the server answers /health (a benchmark may poll; tests never do)."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start within {_START_TIMEOUT} s")


@contextmanager
def running(command: Sequence[str], env: dict[str, str], log: Path) -> Iterator[tuple[int, int]]:
    """Start a server command on a free port (`--port` appended); SIGTERM it afterwards."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen([*command, "--port", str(port)], env=env, stderr=out, stdout=out)
    try:
        wait_listening(port, process)
        yield process.pid, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_mib(pid: int) -> dict[int, float]:
    """RSS in MiB of `pid` and its child processes (`ps`, so Linux and macOS)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    pids = [pid, *(int(p) for p in children.split())]
    found: dict[int, float] = {}
    for each in pids:
        out = subprocess.run(["ps", "-o", "rss=", "-p", str(each)], capture_output=True, text=True)
        if out.stdout.strip():
            found[each] = int(out.stdout.strip()) / 1024
    return found


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid` and its children so far (Linux `/proc`; else None)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    total = 0.0
    for each in [pid, *(int(p) for p in children.split())]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("ETag") or ""
    finally:
        conn.close()


# -- the benchmark ------------------------------------------------------------------------------


def prepare(folder: Path) -> dict[str, str]:
    """A sample-world store for one genre; returns the environment both servers read."""
    from tunemeld import etl
    from tunemeld.config import Settings

    env = {
        **os.environ,
        "TUNEMELD_ENV": "production",
        "TUNEMELD_DATABASE__URL": f"sqlite:///{folder / 'bench.db'}",
        "TUNEMELD_PROVIDERS__MODE": "sample",
        "TUNEMELD_CACHE__BACKEND": "memory",
        "TUNEMELD_CACHE__TTL_SECONDS": "3600",
        "TUNEMELD_LOGGING__FORMAT": "json",
    }
    settings = Settings(
        _env_file=None,
        database={"url": env["TUNEMELD_DATABASE__URL"]},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
        logging={"level": "WARNING"},
    )
    report = etl.run(settings, genres=[GENRE], as_of=AS_OF)
    if not report.ok:
        raise RuntimeError(f"the sample-world run failed: {report.status}")
    return env


def save_bodies(port: int, folder: Path) -> dict[str, str]:
    """TuneMeld's answers (bytes and ETags) for the floor to send; returns path -> ETag."""
    answers: dict[str, dict[str, str]] = {}
    for index, (path, _) in enumerate(ROUTES.values()):
        if path in answers:
            continue
        status, body, etag = get(port, path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        name = f"body{index}.json"
        (folder / name).write_bytes(body)
        answers[path] = {"file": name, "etag": etag if path != "/health" else ""}
    (folder / "answers.json").write_text(json.dumps(answers))
    return {path: entry["etag"] for path, entry in answers.items()}


def answers(port: int, tries: int = 8) -> dict[str, tuple[int, bytes, str]]:
    """Each data route's status, body and ETag, asked `tries` times on new connections (so,
    with several workers, of more than one worker); RuntimeError when two tries differ."""
    found: dict[str, tuple[int, bytes, str]] = {}
    for path, revalidate in ROUTES.values():
        if revalidate or path == "/health" or path in found:
            continue  # /health carries its check times: not the same twice
        seen = {get(port, path) for _ in range(tries)}
        if len(seen) != 1:
            raise RuntimeError(f"GET {path} answered {len(seen)} different ways")
        found[path] = seen.pop()
    return found


def check_same_answers(tunemeld: int, floor: int, etags: dict[str, str]) -> None:
    """Both servers send the same bytes for every data route (the floor is a fair floor)."""
    for path, etag in etags.items():
        if path == "/health":
            continue
        ours, theirs = get(tunemeld, path), get(floor, path)
        if ours[:2] != theirs[:2] or ours[2] != etag:
            raise RuntimeError(f"TuneMeld and the floor answer {path} differently")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="load generator threads (wrk -t)")
    parser.add_argument("--rss-seconds", type=float, default=60.0)
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--routes", default=",".join(ROUTES), help=f"comma list of: {', '.join(ROUTES)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="load the floor and TuneMeld at the same time (steadier ratios on a shared machine)",
    )
    # internal: run the floor server
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bodies", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--server-threads", dest="server_threads", type=int, default=8, help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.floor:
        return floor_main(args)

    loader = args.loader
    if loader == "auto":
        loader = "wrk" if shutil.which("wrk") else "python"
    load: Loader = run_wrk if loader == "wrk" else run_python
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    folder = Path(tempfile.mkdtemp(prefix="tunemeld-bench-api-"))
    try:
        return _bench(args, load, loader, workers, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")


def _bench(
    args: argparse.Namespace, load: Loader, loader: str, workers: list[int], folder: Path
) -> int:
    from tunemeld.config import Settings

    env = prepare(folder)
    server_threads = Settings(_env_file=None).api.threads
    script = Path(sys.executable).parent / "tunemeld"  # this interpreter's own, not PATH's
    tunemeld = [str(script) if script.exists() else sys.executable, "api.start"]
    if not script.exists():
        tunemeld[1:1] = ["-m", "tunemeld"]
    print(
        f"loader {loader}, {args.connections} connections, {args.threads} load threads, "
        f"{args.duration:g} s a run, {args.rounds} rounds, server threads {server_threads}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    failures = 0
    first: tuple[int, dict[str, tuple[int, bytes, str]]] | None = None
    for count in workers:
        tm_cmd = [*tunemeld, "--workers", str(count)]
        with running(tm_cmd, env, folder / f"tunemeld-{count}.log") as (tm_pid, tm_port):
            tm = (tm_pid, tm_port)
            etags = save_bodies(tm_port, folder)
            before = answers(tm_port)
            if first is None:
                first = (count, before)
            same = before == first[1]
            floor_cmd = [sys.executable, __file__, "--floor", "--bodies", str(folder)]
            floor_cmd += ["--workers", str(count), "--server-threads", str(server_threads)]
            with running(floor_cmd, env, folder / f"floor-{count}.log") as floor:
                check_same_answers(tm_port, floor[1], etags)
                failures += _rounds(args, load, count, tm, floor, etags)
            failures += _sustained(args, load, count, tm_pid, tm_port)
            same = same and answers(tm_port) == before
            print(
                f"answers of {count} worker(s), before and after the load, byte for byte as "
                f"{first[0]} worker(s): {'same' if same else 'DIFFERENT'}"
            )
            failures += 0 if same else 1
    return 1 if failures else 0


def _load_average() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared)."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _rounds(
    args: argparse.Namespace,
    load: Loader,
    count: int,
    tm: tuple[int, int],
    floor: tuple[int, int],
    etags: dict[str, str],
) -> int:
    tm_pid, tm_port = tm
    floor_pid, floor_port = floor
    results: dict[tuple[str, str], list[Load]] = {}
    started_load = _load_average()
    names = [name.strip() for name in args.routes.split(",") if name.strip() in ROUTES]
    for round_number in range(args.rounds):
        for name in names:
            path, revalidate = ROUTES[name]
            headers = {"If-None-Match": etags[path]} if revalidate else {}
            order = [("floor", floor_port, floor_pid), ("tunemeld", tm_port, tm_pid)]
            if round_number % 2:
                order.reverse()
            if args.paired:
                for who, result in _paired(args, load, order, path, headers).items():
                    results.setdefault((name, who), []).append(result)
                continue
            for who, port, pid in order:
                url = f"http://127.0.0.1:{port}{path}"
                before = cpu_seconds(pid)
                result = load(url, headers, args.duration, args.connections, args.threads)
                after = cpu_seconds(pid)
                if before is not None and after is not None and result.requests:
                    result.cpu_us = (after - before) / result.requests * 1e6
                results.setdefault((name, who), []).append(result)
    how = "both loaded at once" if args.paired else "one after the other"
    print(
        f"\n{count} worker process{'es' if count > 1 else ''} (medians of {args.rounds} rounds, "
        f"{how}; load average {started_load} at the start, {_load_average()} at the end)"
    )
    print(
        f"{'route':<20}{'floor req/s':>12}{'TuneMeld':>10}{'ratio':>7}"
        f"{'floor p50/p99 ms':>19}{'TuneMeld p50/p99':>19}{'p99 ratio':>10}{'errors':>8}"
        f"{'CPU us/req floor/TM':>21}"
    )
    errors = 0
    for name in names:
        floor = results[(name, "floor")]
        ours = results[(name, "tunemeld")]
        f_rps = statistics.median(r.requests_per_second for r in floor)
        t_rps = statistics.median(r.requests_per_second for r in ours)
        f50 = statistics.median(r.p50_ms for r in floor)
        f99 = statistics.median(r.p99_ms for r in floor)
        t50 = statistics.median(r.p50_ms for r in ours)
        t99 = statistics.median(r.p99_ms for r in ours)
        err = sum(r.errors for r in ours)
        errors += err
        f_cpu = [r.cpu_us for r in floor if r.cpu_us is not None]
        t_cpu = [r.cpu_us for r in ours if r.cpu_us is not None]
        cpu = (
            f"{statistics.median(f_cpu):.0f} / {statistics.median(t_cpu):.0f}"
            if f_cpu and t_cpu
            else "-"
        )
        print(
            f"{name:<20}{f_rps:>12,.0f}{t_rps:>10,.0f}{t_rps / f_rps:>7.2f}"
            f"{f'{f50:.2f} / {f99:.2f}':>19}{f'{t50:.2f} / {t99:.2f}':>19}"
            f"{t99 / f99 if f99 else 0:>10.2f}{err:>8}{cpu:>21}"
        )
    return errors


def _paired(
    args: argparse.Namespace,
    load: Loader,
    servers: list[tuple[str, int, int]],
    path: str,
    headers: dict[str, str],
) -> dict[str, Load]:
    """Load every server at the same time, one load generator each (`--paired`): whatever else
    the machine does then slows them alike, so their ratio is steadier than one after the other
    (each server gets about half of what it would get alone)."""
    found: dict[str, Load] = {}
    before = {who: cpu_seconds(pid) for who, _, pid in servers}

    def run(who: str, port: int) -> None:
        url = f"http://127.0.0.1:{port}{path}"
        found[who] = load(url, headers, args.duration, args.connections, args.threads)

    threads = [threading.Thread(target=run, args=(who, port)) for who, port, _ in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for who, _, pid in servers:
        start, end, result = before[who], cpu_seconds(pid), found[who]
        if start is not None and end is not None and result.requests:
            result.cpu_us = (end - start) / result.requests * 1e6
    return found


def _sustained(args: argparse.Namespace, load: Loader, count: int, pid: int, port: int) -> int:
    path = ROUTES["playlist-data"][0]
    result = load(
        f"http://127.0.0.1:{port}{path}", {}, args.rss_seconds, args.connections, args.threads
    )
    rss = rss_mib(pid)
    listed = ", ".join(f"{mib:.0f}" for mib in rss.values())
    print(
        f"sustained {args.rss_seconds:g} s on {path}, {count} worker(s): "
        f"{result.requests_per_second:,.0f} req/s, {result.requests:,} requests, "
        f"{result.errors} errors; RSS MiB (supervisor/process first): {listed}; "
        f"load average {_load_average()}"
    )
    return result.errors


if __name__ == "__main__":
    sys.exit(main())
