"""`python -m tunemeld` runs the same task collection as the `tunemeld` command."""

from tunemeld.cli import program

if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    program.run()
