"""A small stdlib HTML reader for playlist pages: meta tags, the first <h1>, the description <p>.

html.parser is enough for the few tags read, and tolerates the broken markup of real pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from tunemeld.config import CatalogEntry
from tunemeld.models import PlaylistMeta, Service
from tunemeld.services.providers._payload import Reader

__all__ = ["PageHead", "parse_page", "playlist_meta"]

_TRUNCATE_TEXT = "truncate-text"
_EDITORIAL_VIDEO = "editorial-video"
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


def _clean(parts: list[str]) -> str | None:
    text = " ".join(" ".join(parts).split())
    return text or None


@dataclass
class PageHead:
    """What a playlist page says about itself; `meta` maps property or name to content."""

    meta: dict[str, str] = field(default_factory=dict)
    h1: str | None = None
    truncate_text: str | None = None
    editorial_video: str | None = None
    """The `src` of the first `<amp-ambient-video class="editorial-video">` (Apple Music)."""

    def get(self, *keys: str) -> str | None:
        """The first non-blank meta content among `keys` (`og:title`, `description`, ...)."""
        for key in keys:
            value = " ".join(self.meta.get(key, "").split())
            if value:
                return value
        return None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.head = PageHead()
        self._h1: list[str] | None = None
        self._h1_depth = 0
        self._p: list[str] | None = None
        self._p_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and key not in self.head.meta:
                self.head.meta[key] = values.get("content", "")
            return
        if (
            tag == "amp-ambient-video"
            and self.head.editorial_video is None
            and _EDITORIAL_VIDEO in values.get("class", "").split()
            and values.get("src", "").strip()
        ):
            self.head.editorial_video = values["src"].strip()
        if tag in _VOID:
            return
        if self._h1 is not None:
            self._h1_depth += 1
        elif tag == "h1" and self.head.h1 is None:
            self._h1, self._h1_depth = [], 1
        if self._p is not None:
            self._p_depth += 1
        elif (
            tag == "p"
            and self.head.truncate_text is None
            and values.get("data-testid") == _TRUNCATE_TEXT
        ):
            self._p, self._p_depth = [], 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self._h1 is not None:
            self._h1_depth -= 1
            if self._h1_depth <= 0 or tag == "h1":
                self.head.h1 = _clean(self._h1)
                self._h1 = None
        if self._p is not None:
            self._p_depth -= 1
            if self._p_depth <= 0 or tag == "p":
                self.head.truncate_text = _clean(self._p)
                self._p = None

    def handle_data(self, data: str) -> None:
        if self._h1 is not None:
            self._h1.append(data)
        if self._p is not None:
            self._p.append(data)

    def result(self) -> PageHead:
        """The head read so far; an element still open at the end of the page counts."""
        if self._h1 is not None and self.head.h1 is None:
            self.head.h1 = _clean(self._h1)
        if self._p is not None and self.head.truncate_text is None:
            self.head.truncate_text = _clean(self._p)
        return self.head


def parse_page(text: str) -> PageHead:
    """Read the meta tags, first <h1> and truncate-text <p> of an HTML page; never raises."""
    parser = _Parser()
    # Marked sections (`<![CDATA[`) only occur in inline SVG; as text they cannot trip the parser.
    try:
        parser.feed(text.replace("<![", "&lt;!["))
        parser.close()
    except AssertionError:  # pragma: no cover - _markupbase asserts on malformed declarations
        pass  # keep what was read before the broken markup
    return parser.result()


def playlist_meta(
    page: str,
    entry: CatalogEntry,
    *,
    service: Service,
    name: Callable[[PageHead], str | None],
    description: Callable[[PageHead], str | None],
    video: Callable[[PageHead], str | None] | None = None,
) -> PlaylistMeta:
    """A playlist page's header as PlaylistMeta; `name`, `description` and `video` pick tags.

    The cover is always og:image; a page without a name is a ProviderPayloadError.
    """
    head = parse_page(page)
    title = name(head)
    if title is None:
        raise Reader(service.value, "playlist_page").error(
            "the page has no playlist name (og:title meta tag)"
        )
    return PlaylistMeta(
        service=service,
        genre=entry.genre,
        playlist_id=entry.playlist_id,
        name=title,
        url=entry.url,
        cover_url=head.get("og:image"),
        description=description(head),
        video_url=video(head) if video is not None else None,
    )
