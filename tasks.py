"""Invoke tasks: `inv --list`. The operations tasks live in the library (tunemeld.cli);
the `dev` tasks below exist only in a checkout."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from tunemeld.cli import build_namespace


@task(help={"python": "one interpreter version, e.g. 3.11 (default: every one installed)"})
def test(c: Context, python: str = "") -> None:
    """Run the test suite through nox."""
    c.run(f"nox -s tests{'-' + python if python else ''}", pty=False)


@task
def lint(c: Context) -> None:
    """Run ruff (check and format check) and mypy --strict through nox."""
    c.run("nox -s lint typecheck", pty=False)


@task
def format(c: Context) -> None:
    """Format and autofix the code with ruff."""
    c.run("ruff format . && ruff check --fix .", pty=False)


@task(
    name="start",
    help={"host": "interface to bind (default from settings)", "port": "port (default 8000)"},
)
def dev_start(c: Context, host: str = "", port: int = 0) -> None:
    """Serve the API and the page, restarting on code changes; prints the page's URL."""
    from tunemeld.cli.dev import serve_with_reload

    serve_with_reload(host=host, port=port)


ns = build_namespace()
ns.add_collection(Collection("dev", test, lint, format, dev_start))
