"""The run's quota budget: opened on the store's `quota_usage`, and reported.

Units are recorded before the call that spends them, by the store's atomic conditional
increment, so a killed run never leaves units unrecorded and processes sharing the store never
pass a bucket's limit together.
"""

from __future__ import annotations

from datetime import date

import structlog

from tunemeld.config import Settings
from tunemeld.etl._context import RunContext
from tunemeld.models import RunReport
from tunemeld.models.run import BucketUsage
from tunemeld.services.http import CallLedger, QuotaBudget
from tunemeld.services.store import Store

__all__ = ["open_budget", "record_quota"]

log = structlog.get_logger()

_FIELDS = {
    "youtube_search": "a YouTube link and view counts",
    "youtube": "YouTube view counts",
    "spotify_web": "a Spotify match (the tracks their service listed without an ISRC)",
}


def open_budget(settings: Settings, store: Store, day: date) -> QuotaBudget:
    """A budget for `day` recording in `store`, counting what others spent (day or month)."""
    return QuotaBudget.from_usage(settings.providers, day, store.quota_usage, recorder=store)


def record_quota(report: RunReport, ledger: CallLedger, ctx: RunContext) -> None:
    """Copy units and retries per endpoint, bucket use, deferrals and notes into the record."""
    report.endpoint_units = ledger.endpoint_units()
    report.endpoint_retries = ledger.endpoint_retries()
    report.deferred = ctx.deferred_counts()
    if ctx.budget is None:
        return
    ctx.budget.refresh()  # the period's totals as the store has them now, others' runs included
    closed = ctx.budget.closed()
    for name, (units, total) in ctx.budget.usage().items():
        bucket = ctx.settings.providers.bucket(name)
        if not units and not total and bucket.limit is None:
            continue
        report.buckets[name] = BucketUsage(
            units=units,
            total=total,
            limit=bucket.limit,
            period=bucket.period,
            spent=closed.get(name),
        )
    for name, reason in sorted(closed.items()):
        deferred = report.deferred.get(name, 0)
        missing = _FIELDS.get(name, "the data this bucket pays for")
        note = f"Quota bucket {name} is spent ({reason}): the run stopped calling it."
        if deferred:
            note += (
                f" {deferred} lookup(s) deferred to the next run (aggregate tracks first);"
                f" until then those tracks are served without {missing}."
            )
        report.notes.append(note)
        log.warning("quota_bucket_spent", bucket=name, reason=reason, deferred=deferred)
    failures = sum(ctx.lookup_failures.values())
    if failures:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(ctx.lookup_failures.items()))
        report.notes.append(
            f"{failures} lookup(s) failed after retries ({kinds}); not cached, the next run "
            "tries them again."
        )
