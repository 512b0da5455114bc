"""The helpers behind `inv dev.start`: the URL it prints and the files it watches."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunemeld.cli.dev import package_files, page_url


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000/"),
        ("0.0.0.0", 8080, "http://127.0.0.1:8080/"),  # noqa: S104
        ("", 8000, "http://127.0.0.1:8000/"),
        ("localhost", 9000, "http://localhost:9000/"),
        ("::", 8000, "http://[::1]:8000/"),
        ("::1", 8000, "http://[::1]:8000/"),
    ],
)
def test_page_url_is_what_a_local_browser_opens(host: str, port: int, url: str) -> None:
    """A wildcard bind is shown as loopback; IPv6 hosts get brackets."""
    assert page_url(host, port) == url


def test_package_files_include_the_page_assets_and_the_catalog_but_no_bytecode() -> None:
    """A change to the page's JS or CSS, or to the catalog, restarts the server too."""
    names = {Path(path).name for path in package_files()}
    assert {"app.js", "app.css", "index.html", "catalog.toml", "page.py"} <= names
    assert not any(path.endswith(".pyc") or "__pycache__" in path for path in package_files())
