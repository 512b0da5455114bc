"""The one URL masker: every URL TuneMeld prints, logs or reports passes through `mask_url`.

It splits by hand, because `urlsplit` raises on several hosts (`db1:27017,db2:27017`). The
user-info ends at the URL's **last** `@`, so a password whose `@`, `/`, `?` or `#` was not
percent-encoded is still masked whole (a wrong guess can only hide more, never less).
"""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["REDACTED", "mask_url", "unencoded_userinfo", "url_passwords"]

REDACTED = "**********"

_HEX = frozenset("0123456789abcdefABCDEF")
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "signature")
_SECRET_NAMES = frozenset({"sig", "auth", "authmechanismproperties"})


def _split(url: str) -> tuple[str, str, str, str] | None:
    """(`scheme://`, the user-info, the hosts and the rest, `@` or ""), or None."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    userinfo, at, tail = rest.rpartition("@")
    return f"{scheme}{sep}", userinfo, tail, at


def _is_secret_option(name: str) -> bool:
    lowered = unquote(name).lower().replace("_", "").replace("-", "")
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


def _mask_query(tail: str) -> str:
    """`hosts/path?query#fragment` with secret-looking option values masked."""
    head, qmark, query = tail.partition("?")
    if not qmark:
        return tail
    query, hash_, fragment = query.partition("#")
    options = []
    for option in query.split("&"):
        name, eq, value = option.partition("=")
        options.append(f"{name}={REDACTED}" if eq and value and _is_secret_option(name) else option)
    return f"{head}?{'&'.join(options)}{hash_}{fragment}"


def mask_url(url: str) -> str:
    """`url` with its password and secret-looking query values replaced by `REDACTED`.

    Safe on any text: it never raises.
    """
    parts = _split(url)
    if parts is None:
        return url
    scheme, userinfo, tail, at = parts
    user, colon, password = userinfo.partition(":")
    if not (at and colon and password):  # no password: the query may still hold secrets
        return f"{scheme}{_mask_query(userinfo + at + tail)}"
    return f"{scheme}{user}:{REDACTED}{at}{_mask_query(tail)}"


def url_passwords(url: str) -> list[str]:
    """The URL's password, as written and percent-decoded, for the log redactor; [] if none.

    Two readings are returned when they differ: up to the URL's last `@` (what `mask_url`
    hides) and up to the last `@` before the first `/` (how a driver reads an encoded URL).
    """
    _scheme, sep, rest = url.partition("://")
    if not sep:
        return []
    found: set[str] = set()
    for authority in (rest, rest.partition("/")[0]):
        userinfo, at, _hosts = authority.rpartition("@")
        _user, colon, password = userinfo.partition(":")
        if at and colon and password:
            found.update((password, unquote(password)))
    return sorted(found, key=len, reverse=True)


def unencoded_userinfo(url: str) -> bool:
    """True when the user name or password holds a character a driver would misread.

    `@`, `/`, `?`, `#`, a second `:` or a `%` not starting an escape must be percent-encoded:
    drivers split such a URL in the wrong place and may quote the password in their errors.
    """
    parts = _split(url)
    if parts is None or not parts[3]:
        return False
    authority = url.partition("://")[2].partition("/")[0].partition("?")[0]
    userinfo, at, _hosts = authority.rpartition("@")
    if not at:  # an @ only after the first /: a password with a raw / (or an @ in the query)
        return parts[1].partition("/")[0].count(":") > 0 and not _ports_only(authority)
    if userinfo != parts[1] or any(char in userinfo for char in "@/?#"):
        return True
    if userinfo.count(":") > 1:
        return True
    return any(
        char == "%" and not (len(userinfo) > i + 2 and set(userinfo[i + 1 : i + 3]) <= _HEX)
        for i, char in enumerate(userinfo)
    )


def _ports_only(hosts: str) -> bool:
    """True when every `host:port` of a host list has a numeric port (or none)."""
    for host in hosts.split(","):
        _name, colon, port = host.rpartition(":")
        if colon and not port.isdigit() and not host.endswith("]"):
            return False
    return True
