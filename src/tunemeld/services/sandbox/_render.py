"""What every provider's public pages share: the page frame, a 404 page, a playlist's texts.

Pure functions from sample-world values to HTML text (reference/providers.md §6).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["PlaylistText", "not_found_html", "page"]


@dataclass(frozen=True)
class PlaylistText:
    """The name, description and curator a service shows for one genre's flagship playlist."""

    name: str
    description: str
    curator: str


def page(title: str, metas: dict[str, str], body: str, *, site: str) -> str:
    """A public site's HTML page: its title, site name and og/description meta tags, and body."""
    tags = "\n".join(
        f'    <meta {"name" if key == "description" else "property"}="{key}" '
        f'content="{html.escape(value)}">'
        for key, value in metas.items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        f"    <title>{html.escape(title, quote=False)}</title>\n"
        f'    <meta property="og:site_name" content="{site}">\n'
        f"{tags}\n"
        "  </head>\n"
        f"  <body>\n{body}\n  </body>\n"
        "</html>\n"
    )


def not_found_html(url: str) -> str:
    """A plain 404 page for a public site."""
    body = f"    <h1>Page not found</h1>\n    <p>{html.escape(url, quote=False)}</p>"
    return page("Page not found", {}, body, site="Sample world")
