"""The ETL: extract, transform, aggregate and view_count, planned and run by `run`."""

from tunemeld.etl.aggregate import aggregate_ranks, build_aggregate
from tunemeld.etl.pipeline import Progress, Unit, plan, run
from tunemeld.etl.view_count import make_samples

__all__ = ["Progress", "Unit", "aggregate_ranks", "build_aggregate", "make_samples", "plan", "run"]
