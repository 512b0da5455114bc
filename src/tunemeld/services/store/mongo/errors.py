"""MongoDB error translation: each pymongo or BSON error, once, into a TuneMeld error with a hint.

The translation reads only what the driver raised: its type, its code and error labels, and its
text (scrubbed of the password first); never where it was raised. An error that is not the
driver's (a bug in tunemeld, say) is not translated: it propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from bson.errors import BSONError
from pydantic import ValidationError
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    InvalidOperation,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from tunemeld.config._url import REDACTED, url_passwords
from tunemeld.exceptions import ConfigError, StoreError, StoreUnavailable
from tunemeld.services.store.base import closed_error
from tunemeld.services.store.mongo.client import MongoTarget

__all__ = ["STANDALONE_HINT", "driver_errors", "scrub", "translate"]

STANDALONE_HINT = (
    "TuneMeld's MongoDB store needs transactions, which MongoDB offers on replica sets and "
    "Atlas only. A one-node replica set is enough: start mongod with --replSet rs0 and run "
    "rs.initiate() once (the devcontainer's docker-compose.yml does this), or use the "
    "embedded store (sqlite:///.tunemeld/tunemeld.db)."
)
"""How to get transactions: a replica set (even of one node), Atlas, or the embedded store."""


@contextmanager
def driver_errors(target: MongoTarget) -> Iterator[None]:
    """Translate pymongo and BSON errors, and unreadable records, into TuneMeld errors."""
    try:
        yield
    except (PyMongoError, BSONError) as exc:
        # from None: the driver's own text (scrubbed here) stays out of logged tracebacks
        raise translate(exc, target) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(record)"
        raise StoreError(
            f"{target.where} holds a record this tunemeld cannot read: {field}: {first['msg']}.",
            hint="The database was written by a newer tunemeld or edited by hand: upgrade, "
            "or restore it from a `tunemeld db.export` folder with `db.import --replace`.",
        ) from None


def translate(exc: PyMongoError | BSONError, target: MongoTarget) -> StoreError | ConfigError:
    """Name the host(s), say what went wrong in words and what to check; never the password."""
    hosts, where = target.hosts, target.where
    text = scrub(str(exc), target)
    check = (
        "Check that the server is running and reachable from this machine (host name, port, "
        "firewall, the Atlas IP access list), that MONGODB_URL / TUNEMELD_DATABASE__URL is "
        "right, and its TLS options"
    )
    if isinstance(exc, ServerSelectionTimeoutError):
        reason = text.split(", Timeout:")[0].split(" (configured timeouts")[0]
        return StoreUnavailable(
            f"Cannot reach {where} within {target.server_selection_timeout_ms} ms: {reason}.",
            hint=f"{check}; raise TUNEMELD_DATABASE__SERVER_SELECTION_TIMEOUT_MS on a slow "
            "network.",
        )
    if isinstance(exc, ConfigurationError):
        lowered = text.lower()
        if "dns" in lowered or "srv" in lowered or "resolve" in lowered:
            return StoreUnavailable(
                f"Cannot resolve the MongoDB host name {hosts}: {text}",
                hint="Check the cluster name in the mongodb+srv:// URL and that this machine "
                "can query DNS (SRV and TXT records); or use a mongodb:// URL with the hosts.",
            )
        return ConfigError(
            f"The MongoDB URL for {hosts} is not valid: {text}",
            hint="Check MONGODB_URL / TUNEMELD_DATABASE__URL: mongodb://user:password@host:"
            "27017/tunemeld, with special characters in the user name or password "
            "percent-encoded.",
        )
    if isinstance(exc, DuplicateKeyError):
        return StoreError(
            f"{where} refused a duplicate key: {text}",
            hint="Another writer stored the same record; retry.",
        )
    if isinstance(exc, OperationFailure):
        code = exc.code
        labels = exc.has_error_label("TransientTransactionError")
        if code == 18 or "authentication failed" in text.lower():
            return StoreUnavailable(
                f"{where} refused the credentials (authentication failed).",
                hint="Check the user name and password in the URL (percent-encode special "
                "characters) and authSource (the database the user was created in, often "
                "admin).",
            )
        if code == 13:
            return StoreUnavailable(
                f"{where} refused an operation: the user lacks the privilege ({text}).",
                hint=f"Grant the user the readWrite role on the database "
                f"{target.database!r} (and dbAdmin for `tunemeld db.init`).",
            )
        lowered = text.lower()
        if code == 20 and ("transaction numbers" in lowered or "retryable writes" in lowered):
            return ConfigError(
                f"{where} is a standalone server, which cannot run transactions.",
                hint=STANDALONE_HINT,
            )
        if code in (85, 86):
            return StoreError(
                f"{where} has an index that differs from the one TuneMeld creates: {text}",
                hint="Drop the conflicting index (it was not made by this tunemeld), then run "
                "`tunemeld db.init`.",
            )
        if labels or code == 112:
            return StoreUnavailable(
                f"{where} aborted a unit of work: another writer changed the same records.",
                hint="Retry; if it persists, run one ETL process at a time.",
            )
        return StoreError(
            f"{where} refused an operation: {text}",
            hint="Check the server's log and that the database was created by tunemeld "
            "(`tunemeld db.status`).",
        )
    if isinstance(exc, ConnectionFailure):
        return StoreUnavailable(
            f"Lost the connection to {where}: {text}",
            hint=f"{check}; then retry.",
        )
    if isinstance(exc, InvalidOperation) and "close" in text.lower():
        return closed_error(f"The MongoDB store {target.masked_url}")
    if isinstance(exc, BSONError):
        return StoreError(
            f"{where}: a record could not be encoded ({text}).",
            hint="This is a bug in tunemeld; please report it with the command you ran.",
        )
    return StoreError(
        f"{where} failed: {text}",
        hint="Check the server's log and its health, then retry.",
    )


def scrub(text: str, target: MongoTarget) -> str:
    """`text` without the target's password, in any form it may be quoted in."""
    forms = set(url_passwords(target.url))
    if target.password:
        forms.update((target.password, quote(target.password, safe="")))
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text
