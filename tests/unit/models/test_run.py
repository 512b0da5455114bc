"""The run record: statuses nest provider -> endpoint -> outcome, old records included."""

from __future__ import annotations

from datetime import date, datetime, timezone

from tunemeld.models import RunReport

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)


def _record(statuses: object) -> dict[str, object]:
    return {
        "run_id": "r1",
        "as_of": date(2026, 11, 23).isoformat(),
        "started_at": NOW.isoformat(),
        "stages": ["extract"],
        "genres": [],
        "services": [],
        "statuses": statuses,
    }


class TestStatuses:
    """Outcomes are counted per endpoint; a record in the older joined-key shape still reads."""

    def test_record_when_nested_round_trips(self) -> None:
        statuses = {"YouTube": {"videos": {"200": 3, "429": 1}, "search": {"timeout": 2}}}
        report = RunReport.model_validate(_record(statuses))
        assert report.statuses == statuses
        assert RunReport.model_validate_json(report.model_dump_json()).statuses == statuses

    def test_record_when_written_with_joined_keys_reads_nested(self) -> None:
        old = {"YouTube": {"videos 200": 3, "videos 429": 1, "play_count timeout": 2}}
        report = RunReport.model_validate(_record(old))
        assert report.statuses == {
            "YouTube": {"videos": {"200": 3, "429": 1}, "play_count": {"timeout": 2}}
        }
