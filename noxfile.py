"""Nox sessions: `nox` runs tests (every Python 3.10-3.13 installed), lint and typecheck.

`nox -s schemathesis` fuzzes a live API against its OpenAPI document (CI runs it too).
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_venv = "yes"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
SLOW_TESTS_PYTHON = "3.11"
"""The interpreter that also runs the tests marked `slow` (SIGKILL and two-writer trials, fault
drills, the browser, the notebook: most of the suite's time); every other one runs the rest.
Arguments after `--` replace the default selection: `nox -s tests-3.13 -- tests` runs it all."""
PYPROJECT = nox.project.load_toml("pyproject.toml")


def _install(session: nox.Session, *groups: str) -> None:
    """The package (editable) plus PEP 735 dependency groups from pyproject.toml."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, *groups))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit, integration and e2e tests (the `slow` ones on SLOW_TESTS_PYTHON); loopback only."""
    _install(session, "test")
    selection = ["tests"] if session.python == SLOW_TESTS_PYTHON else ["-m", "not slow", "tests"]
    session.run(
        "coverage",
        "run",
        "--parallel-mode",
        "-m",
        "pytest",
        "--allow-hosts=127.0.0.1",
        *(session.posargs or selection),
        env={"HYPOTHESIS_PROFILE": "ci" if session.env.get("CI") else "dev"},
    )
    session.notify("coverage")


@nox.session
def coverage(session: nox.Session) -> None:
    """Combine the test sessions' coverage data and report it."""
    session.install("coverage[toml]")
    session.run("coverage", "combine", success_codes=[0, 1])
    session.run("coverage", "report", "--fail-under=80")


@nox.session
def schemathesis(session: nox.Session) -> None:
    """Fuzz a live API on loopback (a sample ETL run's data) against its /openapi.json; bounded."""
    _install(session, "fuzz")
    session.run("python", "-m", "tests.fuzz_api", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    _install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src; tests (the typed API examples in tests/typing too), tasks.py and
    noxfile.py checked with the same config."""
    _install(session, "typecheck")
    session.run("mypy", "src")
    session.run("mypy", "tests", "tasks.py", "noxfile.py")
