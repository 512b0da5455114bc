"""The providers' error envelopes: machine reasons and a secret-free message from an error body."""

from __future__ import annotations

from collections.abc import Mapping

import requests

__all__ = ["body_json", "reasons_and_message", "scrub", "secrets_of"]

_MESSAGE_CHARS = 160
_SECRET_NAMES = ("key", "token", "secret", "auth", "password", "signature")


def body_json(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def reasons_and_message(body: object) -> tuple[set[str], str]:
    """Machine reasons and the human message of the error envelopes in providers.md.

    Spotify `{error: {status, message, reason?}}`, OAuth `{error: str, error_description: str}`,
    Google `{error: {code, message, errors: [{reason}]}}`, RapidAPI `{message: str}`.
    """
    reasons: set[str] = set()
    messages: list[str] = []
    if not isinstance(body, dict):
        return reasons, ""
    error = body.get("error")
    if isinstance(error, str):
        reasons.add(error)
        if isinstance(body.get("error_description"), str):
            messages.append(body["error_description"])
    elif isinstance(error, dict):
        if isinstance(error.get("reason"), str):
            reasons.add(error["reason"])
        if isinstance(error.get("message"), str):
            messages.append(error["message"])
        details = error.get("errors")
        if isinstance(details, list):
            reasons.update(
                d["reason"]
                for d in details
                if isinstance(d, dict) and isinstance(d.get("reason"), str)
            )
    if isinstance(body.get("message"), str):
        messages.append(body["message"])
    return reasons, " ".join(messages)


def _is_secret_name(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_NAMES)


def secrets_of(
    params: Mapping[str, str | int] | None,
    headers: Mapping[str, str] | None,
    auth: tuple[str, str] | None,
) -> list[str]:
    """The credentials of one request (key params, auth headers, basic auth), longest first."""
    found = [str(v) for k, v in (params or {}).items() if _is_secret_name(k)]
    for name, value in (headers or {}).items():
        if _is_secret_name(name):
            found += [value, *value.split()[1:]]  # "Bearer <token>": the token alone too
    found += list(auth or ())
    return sorted({s for s in found if s.strip()}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """Drop every secret from a provider's message and keep it short."""
    for secret in secrets:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text[:_MESSAGE_CHARS]
