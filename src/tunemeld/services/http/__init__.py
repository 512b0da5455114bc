"""HTTP for every provider call, one idea per module; import from here.

`client` (sessions, errors translated), `retry` (the one retry engine), `ledger` (calls
counted), `quota` (the budget), `envelope` (error bodies). Only `retry` imports tenacity.
"""

from __future__ import annotations

from tunemeld.services.http.client import HttpClient, build_session, route_url
from tunemeld.services.http.ledger import CallLedger, CallObserver, Status
from tunemeld.services.http.quota import QuotaBudget, QuotaRecorder, period_start

__all__ = [
    "CallLedger",
    "CallObserver",
    "HttpClient",
    "QuotaBudget",
    "QuotaRecorder",
    "Status",
    "build_session",
    "period_start",
    "route_url",
]
